"""Tests for minicnn.idx and minicnn.datasets (chapter 07's data). No real network: downloads
are served by a local http.server on 127.0.0.1."""

import dataclasses
import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from minicnn import datasets, idx
from minicnn.datasets import (
    FASHION_MNIST_CLASSES,
    ChecksumError,
    DatasetNotFoundError,
    RemoteFile,
    download_file,
    load_fashion_mnist,
    load_mnist,
)
from minicnn.idx import IDXFormatError, read_idx, write_idx

pytestmark = pytest.mark.ch07

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
NAMES = [rf.name for rf in datasets.FASHION_MNIST.files]


def need_full_set():
    """Skip when Debian's dataset-fashion-mnist is absent, but fail on CI, which installs it."""
    if all((SYSTEM_DIR / n).is_file() for n in NAMES):
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide the full Fashion-MNIST in {SYSTEM_DIR} "
                    f"(apt-get install dataset-fashion-mnist)")
    pytest.skip(f"full Fashion-MNIST not installed in {SYSTEM_DIR} "
                f"(apt-get install dataset-fashion-mnist)")


def write_set(folder: Path, n_train: int, n_test: int, *, gz: bool = True, seed: int = 0):
    """Four small valid IDX files in ``folder``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_test, dtype=np.uint8)]
    for name, a in zip(NAMES, arrays, strict=True):
        write_idx(folder / (name if gz else name.removesuffix(".gz")), a)
    return arrays


def use_fashion_source(monkeypatch, **changes) -> None:
    """Replace fields of datasets.FASHION_MNIST (files, mirrors, system_dirs) for one test."""
    monkeypatch.setattr(datasets, "FASHION_MNIST",
                        dataclasses.replace(datasets.FASHION_MNIST, **changes))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $MINICNN_DATA, a private cache, a private 'system' folder, no real mirrors."""
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    use_fashion_source(monkeypatch, system_dirs=(str(tmp_path / "system"),),
                       mirrors=(f"http://127.0.0.1:{closed_port()}/",))
    return tmp_path


def closed_port() -> int:
    """A local port with nothing listening on it (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the shipped subset -------------------------------------------------------------------

def test_subset_shapes_dtypes_and_ranges():
    ds = load_fashion_mnist()
    (x_train, y_train), (x_test, y_test) = ds
    assert x_train.shape == (8000, 28, 28, 1) and x_test.shape == (2000, 28, 28, 1)
    assert y_train.shape == (8000,) and y_test.shape == (2000,)
    for x in (x_train, x_test):
        assert x.dtype == np.float32 and x.flags.c_contiguous
        assert x.min() == 0.0 and x.max() == 1.0
        # 8-bit intensities divided by 255: every value is k / 255 for a whole k
        k = x * 255
        np.testing.assert_allclose(k, np.round(k), rtol=0, atol=1e-4)
    for y in (y_train, y_test):
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    assert ds.class_names == FASHION_MNIST_CLASSES
    assert ds.train[0] is x_train and ds.test[1] is y_test
    assert repr(ds) == ("Dataset(train=8000 images, test=2000 images, image shape=(28, 28, 1), "
                        "10 classes)")


def test_class_names():
    assert FASHION_MNIST_CLASSES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def test_subset_is_class_balanced():
    (_, y_train), (_, y_test) = load_fashion_mnist("subset")
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [800] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [200] * 10)
    # spread through the file, not sorted by class: the first 1000 hold every class
    assert len(np.unique(y_train[:1000])) == 10


def test_subset_files_match_their_checksums_size_and_licence():
    folder = datasets.SUBSET_DIR
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 4
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total <= 4_500_000
    licence = (folder / "LICENSE").read_text()
    assert "MIT" in licence and "2017 Zalando SE" in licence
    assert "make_subset.py" in (folder / "README.md").read_text()


def test_subset_images_are_real_fashion_mnist():
    need_full_set()
    full_images = read_idx(SYSTEM_DIR / NAMES[0])
    full_labels = read_idx(SYSTEM_DIR / NAMES[1])
    sub_images = read_idx(datasets.SUBSET_DIR / NAMES[0])
    sub_labels = read_idx(datasets.SUBSET_DIR / NAMES[1])
    index = {img.tobytes(): i for i, img in enumerate(full_images)}
    where = np.array([index[img.tobytes()] for img in sub_images])  # KeyError if not real
    assert np.all(np.diff(where) > 0)  # distinct, in the original order
    np.testing.assert_array_equal(full_labels[where], sub_labels)


@pytest.mark.slow
def test_make_subset_is_reproducible():
    need_full_set()
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_subset.py"),
                             "--check", "--source", str(SYSTEM_DIR)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "subset is reproducible" in result.stdout


def test_unknown_data_argument():
    with pytest.raises(ValueError, match=r"data must be 'subset' .* or 'full' .* got 'tiny'"):
        load_fashion_mnist("tiny")


# --- the full set -------------------------------------------------------------------------

def test_full_set_loads(monkeypatch, tmp_path):
    need_full_set()
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    ds = load_fashion_mnist("full", cache_dir=tmp_path, download=False)
    (x_train, y_train), (x_test, y_test) = ds
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.flags.c_contiguous
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert ds.class_names == FASHION_MNIST_CLASSES


def test_system_files_match_the_published_content_checksums():
    need_full_set()
    for rf in datasets.FASHION_MNIST.files:
        with gzip.open(SYSTEM_DIR / rf.name, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == rf.sha256, rf.name


# --- search order -------------------------------------------------------------------------

def loaded_sizes(**kwargs):
    (x_train, _), (x_test, _) = load_fashion_mnist("full", download=False, **kwargs)
    return len(x_train), len(x_test)


def test_search_order(isolated, monkeypatch):
    tmp = isolated
    write_set(tmp / "env", 3, 2)
    write_set(tmp / "xdg" / "minicnn" / "fashion-mnist", 4, 2)
    write_set(tmp / "system", 5, 2)
    monkeypatch.setenv("MINICNN_DATA", str(tmp / "env"))
    assert loaded_sizes() == (3, 2)                         # $MINICNN_DATA first
    write_set(tmp / "env" / "fashion-mnist", 6, 2)
    assert loaded_sizes() == (6, 2)                         # its fashion-mnist subfolder first
    monkeypatch.delenv("MINICNN_DATA")
    assert loaded_sizes() == (4, 2)                         # then the cache
    write_set(tmp / "mine" / "fashion-mnist", 7, 2)
    assert loaded_sizes(cache_dir=tmp / "mine") == (7, 2)   # cache_dir replaces the cache
    assert loaded_sizes(cache_dir=tmp / "nothing") == (5, 2)  # then the system folder


def test_incomplete_folder_is_skipped_and_uncompressed_files_are_read(isolated, monkeypatch):
    tmp = isolated
    write_set(tmp / "env", 3, 2)
    (tmp / "env" / NAMES[3]).unlink()
    monkeypatch.setenv("MINICNN_DATA", str(tmp / "env"))
    expected = write_set(tmp / "system", 5, 2, gz=False)
    (x_train, y_train), _ = load_fashion_mnist("full", download=False)
    assert len(x_train) == 5
    np.testing.assert_allclose(x_train[..., 0] * 255, expected[0], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(y_train, expected[1])


def test_nothing_found_without_download_says_what_to_do(isolated, monkeypatch):
    monkeypatch.setenv("MINICNN_DATA", str(isolated / "empty"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("full", download=False)
    msg = str(info.value)
    assert "download=False" in msg
    assert "$MINICNN_DATA" in msg and str(isolated / "empty") in msg and "no such folder" in msg
    assert "load_fashion_mnist('subset')" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "export MINICNN_DATA=" in msg
    assert all(n in msg for n in NAMES)


# --- corrupt files ------------------------------------------------------------------------

def raw_idx(a: np.ndarray) -> bytes:
    return (b"\x00\x00\x08" + bytes([a.ndim]) + b"".join(int(n).to_bytes(4, "big")
                                                       for n in a.shape) + a.tobytes())


def test_idx_header_by_hand(tmp_path):
    path = write_idx(tmp_path / "a.idx", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    path = write_idx(tmp_path / "b.idx", np.array([1, -2], dtype=np.int32))
    assert path.read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2,
                                       0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    x = (np.random.default_rng(0).normal(size=(4, 3, 2)) * 50).astype(dtype)
    back = read_idx(write_idx(tmp_path / f"x{suffix}", x))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, x)
    assert not list(tmp_path.glob(".*.part"))


def test_gzip_output_is_reproducible(tmp_path):
    x = np.arange(100, dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", x).read_bytes()
    b = write_idx(tmp_path / "b.gz", x).read_bytes()
    assert a == b
    assert a[4:8] == b"\x00\x00\x00\x00"  # gzip mtime field
    assert a[3] & 0x08 == 0               # no file name stored


def test_write_idx_rejects_unknown_dtype(tmp_path):
    with pytest.raises(TypeError, match="IDX dtypes .* got int64"):
        write_idx(tmp_path / "x.idx", np.arange(3))


LABELS = np.array([1, 2, 3], dtype=np.uint8)


@pytest.mark.parametrize("content, problem", [
    (b"", r"holds 0 bytes, too few for an IDX header"),
    (b"\x08\x03\x08\x01" + bytes(7), r"bad magic number 0x08030801"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x03abc", r"unknown dtype code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00", r"announces 3 dimensions but the file ends after 6 bytes"),
    (raw_idx(LABELS)[:-1], r"shape \(3,\) \(3 data bytes\) but the file holds 2 data bytes"),
    (raw_idx(LABELS) + b"\x00", r"but the file holds 4 data bytes"),
], ids=["empty", "bad-magic", "bad-dtype-code", "short-header", "truncated", "trailing"])
def test_corrupt_idx_is_rejected(tmp_path, content, problem):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError, match=problem) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "delete it and download it again" in str(info.value)


def test_corrupt_gzip_is_rejected(tmp_path):
    good = gzip.compress(raw_idx(np.arange(200, dtype=np.uint8)), mtime=0)
    path = tmp_path / "x.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXFormatError, match="gzip stream ends early"):
        read_idx(path)
    path.write_bytes(good[:-8] + bytes(8))  # CRC and length trailer zeroed
    with pytest.raises(IDXFormatError, match="gzip data is corrupt .*CRC"):
        read_idx(path)
    path.write_bytes(raw_idx(LABELS))       # named .gz but not gzip
    with pytest.raises(IDXFormatError, match="not a gzip file"):
        read_idx(path)


def test_read_idx_checks_expected_dtype_and_ndim(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros((2, 2), dtype=np.int16))
    with pytest.raises(IDXFormatError, match="holds int16 values, expected uint8"):
        read_idx(path, dtype=np.uint8)
    with pytest.raises(IDXFormatError, match=r"2-D array of shape \(2, 2\), expected 3-D"):
        read_idx(path, ndim=3)


def corrupt_full_set(folder: Path, which: str):
    write_set(folder, 3, 2)
    if which == "truncated":
        data = (folder / NAMES[0]).read_bytes()
        (folder / NAMES[0]).write_bytes(data[: len(data) - 100])
    elif which == "label-10":
        write_idx(folder / NAMES[1], np.array([0, 10, 3], dtype=np.uint8))
    elif which == "count":
        write_idx(folder / NAMES[3], np.array([0, 1, 2], dtype=np.uint8))
    elif which == "image-size":
        write_idx(folder / NAMES[2], np.zeros((2, 27, 28), dtype=np.uint8))
    return folder


@pytest.mark.parametrize("which, bad_file, problem", [
    ("truncated", 0, "gzip stream ends early"),
    ("label-10", 1, r"label 10 at index 1 is not a class number 0..9"),
    ("count", 3, r"holds 3 labels but .*t10k-images-idx3-ubyte.gz holds 2 images"),
    ("image-size", 2, r"images of \(27, 28\) pixels, expected 28 x 28"),
])
def test_loader_rejects_corrupt_full_set(isolated, monkeypatch, which, bad_file, problem):
    folder = corrupt_full_set(isolated / "env", which)
    monkeypatch.setenv("MINICNN_DATA", str(folder))
    with pytest.raises(IDXFormatError, match=problem) as info:
        load_fashion_mnist("full", download=False)
    assert str(folder / NAMES[bad_file]) in str(info.value)


# --- downloading, served from 127.0.0.1 ---------------------------------------------------

class Server:
    """A local HTTP server: ``files`` maps a URL path to bytes; ``lie`` adds bytes to the
    announced Content-Length; ``requests`` logs the paths asked for."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.lie = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + outer.lie))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_download_success_is_atomic(server, tmp_path, monkeypatch):
    body = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    seen = []
    real_urlopen = urllib.request.urlopen

    def spying_urlopen(*args, **kwargs):
        response = real_urlopen(*args, **kwargs)
        read = response.read

        def spy(n=-1):
            seen.append((dest.exists(), leftovers(tmp_path)))
            return read(n)
        response.read = spy
        return response

    monkeypatch.setattr(urllib.request, "urlopen", spying_urlopen)
    assert download_file(server.url + "/f.gz", dest, md5=md5(body), progress=False) == dest
    assert dest.read_bytes() == body
    assert leftovers(tmp_path) == ["f.gz"]
    # while the data arrived, the final name did not exist; a temporary file beside it did
    assert len(seen) > 2
    middle_exists, middle_files = seen[2]
    assert not middle_exists
    assert len(middle_files) == 1 and middle_files[0].startswith(".f.gz.")
    assert middle_files[0].endswith(".part")


def test_download_accepts_recompressed_content_by_sha256(server, tmp_path):
    content = raw_idx(LABELS)
    server.files["/x.gz"] = gzip.compress(content, mtime=12345)
    sha = hashlib.sha256(content).hexdigest()
    download_file(server.url + "/x.gz", tmp_path / "x.gz", md5="0" * 32, sha256=sha,
                  progress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), LABELS)


def test_download_checksum_failure_leaves_no_file(server, tmp_path):
    server.files["/f.gz"] = b"not what was published"
    with pytest.raises(ChecksumError, match="does not have the expected checksum"):
        download_file(server.url + "/f.gz", tmp_path / "f.gz", md5=md5(b"the real thing"),
                      sha256="0" * 64, progress=False)
    assert leftovers(tmp_path) == []


def test_download_stopping_early_leaves_no_file(server, tmp_path):
    server.files["/f.gz"] = b"x" * 1000
    server.lie = 500  # announces 1500 bytes, sends 1000 and closes
    with pytest.raises(ConnectionError, match="stopped after 1000 of 1500 bytes"):
        download_file(server.url + "/f.gz", tmp_path / "f.gz", progress=False)
    assert leftovers(tmp_path) == []


def test_download_interrupted_leaves_no_file(server, tmp_path, monkeypatch):
    server.files["/f.gz"] = bytes(300_000)
    real_urlopen = urllib.request.urlopen

    def interrupted_urlopen(*args, **kwargs):
        response = real_urlopen(*args, **kwargs)
        read = response.read
        calls = []

        def flaky(n=-1):
            calls.append(n)
            if len(calls) == 2:
                raise KeyboardInterrupt  # the learner pressed Ctrl-C
            return read(n)
        response.read = flaky
        return response

    monkeypatch.setattr(urllib.request, "urlopen", interrupted_urlopen)
    with pytest.raises(KeyboardInterrupt):
        download_file(server.url + "/f.gz", tmp_path / "f.gz", progress=False)
    assert leftovers(tmp_path) == []


def serve_set(server: Server, folder: Path, prefix: str = "/fm/"):
    """Serve the four files of ``folder``; return RemoteFiles with their MD5s."""
    files = []
    for name in NAMES:
        data = (folder / name).read_bytes()
        server.files[prefix + name] = data
        files.append(RemoteFile(name, md5=md5(data)))
    return tuple(files)


def test_load_full_downloads_into_the_cache_once(isolated, server, monkeypatch):
    expected = write_set(isolated / "served", 6, 4)
    files = serve_set(server, isolated / "served")
    use_fashion_source(monkeypatch, files=files,
                       mirrors=(server.url + "/missing/", server.url + "/fm/"))
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist("full", progress=False)
    assert x_train.shape == (6, 28, 28, 1) and x_test.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(y_test, expected[3])
    cache = isolated / "xdg" / "minicnn" / "fashion-mnist"
    assert leftovers(cache) == sorted(NAMES)
    # the first mirror answered 404, the second served each file
    assert server.requests.count("/missing/" + NAMES[0]) == 1
    assert server.requests.count("/fm/" + NAMES[0]) == 1
    n_requests = len(server.requests)
    load_fashion_mnist("full", progress=False)
    assert len(server.requests) == n_requests  # read from the cache, no new download


def test_load_full_downloads_only_missing_files(isolated, server, monkeypatch):
    write_set(isolated / "served", 6, 4)
    files = serve_set(server, isolated / "served")
    use_fashion_source(monkeypatch, files=files, mirrors=(server.url + "/fm/",))
    cache = isolated / "mycache"
    (cache / "fashion-mnist").mkdir(parents=True)
    for name in NAMES[:3]:
        (cache / "fashion-mnist" / name).write_bytes(server.files["/fm/" + name])
    load_fashion_mnist("full", cache_dir=cache, progress=False)
    assert server.requests == ["/fm/" + NAMES[3]]


def test_load_full_bad_checksum_keeps_nothing(isolated, server, monkeypatch):
    write_set(isolated / "served", 6, 4)
    files = serve_set(server, isolated / "served")
    files = (dataclasses.replace(files[0], md5="0" * 32), *files[1:])
    use_fashion_source(monkeypatch, files=files, mirrors=(server.url + "/fm/",))
    with pytest.raises(ChecksumError, match=NAMES[0]):
        load_fashion_mnist("full", progress=False)
    assert leftovers(isolated / "xdg" / "minicnn" / "fashion-mnist") == []


def test_offline_error_says_what_to_do(isolated):
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("full", progress=False)
    msg = str(info.value)
    assert "the download failed" in msg and "refused" in msg.lower()
    assert "load_fashion_mnist('subset')" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "MINICNN_DATA" in msg
    assert str(isolated / "xdg" / "minicnn" / "fashion-mnist") in msg
    assert leftovers(isolated / "xdg" / "minicnn" / "fashion-mnist") == []


def test_http_errors_are_reported(isolated, server, monkeypatch):
    use_fashion_source(monkeypatch, mirrors=(server.url + "/",))
    with pytest.raises(DatasetNotFoundError, match="Not Found"):
        load_fashion_mnist("full", progress=False)


def test_mnist_offline_points_to_fashion_subset(isolated, monkeypatch):
    source = dataclasses.replace(datasets.MNIST, mirrors=(f"http://127.0.0.1:{closed_port()}/",))
    monkeypatch.setattr(datasets, "MNIST", source)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(progress=False)
    msg = str(info.value)
    assert msg.startswith("MNIST (full) is not on this machine")
    assert "load_fashion_mnist()" in msg and "$MINICNN_DATA/mnist: not set" in msg


def test_mnist_reads_minicnn_data_mnist(isolated, monkeypatch):
    write_set(isolated / "data" / "mnist", 5, 3)
    monkeypatch.setenv("MINICNN_DATA", str(isolated / "data"))
    ds = load_mnist(download=False)
    assert ds.class_names == tuple("0123456789")
    assert ds.train[0].shape == (5, 28, 28, 1)


def test_cache_root_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert datasets.cache_root() == tmp_path / "minicnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert datasets.cache_root() == Path.home() / ".cache" / "minicnn"


def test_atomic_write_removes_temp_on_error(tmp_path):
    with pytest.raises(RuntimeError), idx.atomic_write(tmp_path / "out.bin") as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert leftovers(tmp_path) == []


def test_find_local_follows_the_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_DATA", str(datasets.SUBSET_DIR))
    assert datasets.find_local(cache_dir=tmp_path) == datasets.SUBSET_DIR
    assert datasets.missing_files(datasets.SUBSET_DIR) == []
    assert len(datasets.missing_files(tmp_path)) == 4
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    nowhere = dataclasses.replace(datasets.FASHION_MNIST, system_dirs=())
    assert datasets.find_local(nowhere, cache_dir=tmp_path) is None
