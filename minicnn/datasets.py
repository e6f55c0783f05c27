"""Fashion-MNIST and MNIST, offline first.

``load_fashion_mnist()`` needs no network: by default it reads the subset of the real
Fashion-MNIST (8000 training and 2000 test images, 10 classes, balanced) that ships inside the
package. ``load_fashion_mnist("full")`` reads the full 60000 + 10000 images from the first
folder holding all four IDX files, in this order:

1. ``$MINICNN_DATA/fashion-mnist``, then ``$MINICNN_DATA`` itself;
2. the user's cache, ``$XDG_CACHE_HOME/minicnn/fashion-mnist`` (default
   ``~/.cache/minicnn/fashion-mnist``);
3. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package).

Otherwise it downloads the files from the official location into the cache, checks their
checksums and shows a progress bar. Each file is written under a temporary name and renamed
only once it is complete and verified, so an interrupted download never leaves a broken file.
Offline, :class:`DatasetNotFoundError` says exactly what to do instead.

``load_mnist()`` does the same for the handwritten digits (``$MINICNN_DATA/mnist``, then the
cache ``.../minicnn/mnist``, then download; there is no shipped subset).

Both return a :class:`Dataset`: ``(x_train, y_train), (x_test, y_test)`` with images float32
in [0, 1] shaped (N, 28, 28, 1) and labels int64 shaped (N,), plus ``.class_names``.
"""

from __future__ import annotations

import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minicnn.download import ChecksumError, download_file
from minicnn.idx import IDXFormatError, read_idx

__all__ = ["FASHION_MNIST_CLASSES", "MNIST_CLASSES", "Dataset", "DatasetNotFoundError",
           "ChecksumError", "RemoteFile", "Source", "FASHION_MNIST", "MNIST",
           "load_fashion_mnist", "load_mnist", "download_file", "cache_root", "SUBSET_DIR",
           "find_local", "missing_files"]

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MNIST_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

#: Where the shipped subset lives (made by ``scripts/make_subset.py``).
SUBSET_DIR = Path(__file__).resolve().parent / "data" / "fashion-mnist-subset"


class DatasetNotFoundError(RuntimeError):
    """The data set is not on this machine and could not be downloaded."""


@dataclass(frozen=True)
class RemoteFile:
    """One of a data set's four files and its checksums (either one proves it intact).

    ``md5`` is the published MD5 of the ``.gz`` file as served; ``sha256`` is the SHA-256 of
    the decompressed IDX content, which does not change when a file is re-compressed.
    """

    name: str
    md5: str | None = None
    sha256: str | None = None

    @property
    def stem(self) -> str:
        """The name without ``.gz`` (an uncompressed copy may carry it)."""
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class Source:
    """Where a data set comes from: its files (train images, train labels, test images, test
    labels), download mirrors, class names, folder name and system-wide folders."""

    title: str
    folder: str
    files: tuple[RemoteFile, RemoteFile, RemoteFile, RemoteFile]
    mirrors: tuple[str, ...]
    class_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    data_subdirs: tuple[str, ...] = ()  # under $MINICNN_DATA, "" meaning the folder itself
    advice: tuple[str, ...] = ()


FASHION_MNIST = Source(
    title="Fashion-MNIST",
    folder="fashion-mnist",
    # md5: the official .gz files (as published by Zalando and used by torchvision);
    # sha256: their decompressed content, computed from Debian's dataset-fashion-mnist copies.
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                   "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
                   "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
                   "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310",
                   "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    class_names=FASHION_MNIST_CLASSES,
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    data_subdirs=("fashion-mnist", ""),
    advice=("use the subset that ships with minicnn, no download needed: "
            "load_fashion_mnist('subset') (or `python -m minicnn train` without --data full)",
            "on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist"),
)

MNIST = Source(
    title="MNIST",
    folder="mnist",
    # The published MD5s of the four classic .gz files (not verified offline here).
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
    class_names=MNIST_CLASSES,
    data_subdirs=("mnist",),
    advice=("use Fashion-MNIST instead, whose subset ships with minicnn: load_fashion_mnist()",),
)


class Dataset(tuple):
    """``((x_train, y_train), (x_test, y_test))`` that also knows its ``class_names``.

    Unpack it like a tuple: ``(x_train, y_train), (x_test, y_test) = load_fashion_mnist()``.
    ``.train`` and ``.test`` are the two pairs; ``class_names[y]`` names label ``y``.
    """

    def __new__(cls, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                class_names: tuple[str, ...]):
        self = super().__new__(cls, (tuple(train), tuple(test)))
        self.class_names = tuple(class_names)
        return self

    def __getnewargs__(self):
        return (self[0], self[1], self.class_names)

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self[0]

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self[1]

    def __repr__(self) -> str:
        (xtr, _), (xte, _) = self
        return (f"Dataset(train={len(xtr)} images, test={len(xte)} images, "
                f"image shape={tuple(xtr.shape[1:])}, {len(self.class_names)} classes)")


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.125, seed: int = 0
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Carve a validation split out of training data, the same share of every class.

    Choices (settings, epochs, which model to keep) are made on the validation split; the test
    set is evaluated once, for the final model.

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    fraction : float
        Share of each class set aside, 0 < fraction < 1 (default 1/8: 1000 of the subset's
        8000 training images).
    seed : int
        Which images go where; the same seed gives the same split.

    Returns
    -------
    ((x_train, y_train), (x_val, y_val))
        Disjoint; each keeps the order the images had in ``x``.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must hold as many items, got {len(x)} images and {len(y)} "
                         f"labels")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        take = int(round(fraction * len(where)))
        val[rng.choice(where, size=take, replace=False)] = True
    if not val.any() or val.all():
        raise ValueError(f"fraction={fraction!r} leaves an empty split for {len(y)} images; "
                         f"use more images or a fraction nearer 0.5")
    return (x[~val], y[~val]), (x[val], y[val])


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/minicnn``, or ``~/.cache/minicnn`` when that variable is unset."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "minicnn"


def load_fashion_mnist(data: str = "subset", *, cache_dir: str | os.PathLike | None = None,
                       download: bool = True, progress: bool = True) -> Dataset:
    """Load Fashion-MNIST: 28 x 28 grayscale photos of clothes in 10 classes.

    Parameters
    ----------
    data : {"subset", "full"}
        ``"subset"`` (default): 8000 training and 2000 test images shipped with minicnn, 800
        and 200 per class. ``"full"``: the 60000 training and 10000 test images, found or
        downloaded as the module docstring describes.
    cache_dir : str or path-like, optional
        Use this folder instead of ``$XDG_CACHE_HOME/minicnn`` (files go in its
        ``fashion-mnist`` subfolder).
    download : bool
        Download the full set when no folder holds it (``data="full"`` only).
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    Dataset
        ``(x_train, y_train), (x_test, y_test)``; x float32 in [0, 1], shape (N, 28, 28, 1),
        C-contiguous; y int64 in 0..9, shape (N,); ``.class_names`` is
        ``FASHION_MNIST_CLASSES``.
    """
    if data == "subset":
        return _load_dir(SUBSET_DIR, FASHION_MNIST)
    if data == "full":
        return _load_full(FASHION_MNIST, cache_dir, download, progress)
    raise ValueError(f"data must be 'subset' (the small copy shipped with minicnn) or 'full' "
                     f"(all 70000 images), got {data!r}")


def load_mnist(*, cache_dir: str | os.PathLike | None = None, download: bool = True,
               progress: bool = True) -> Dataset:
    """Load MNIST, the 28 x 28 handwritten digits (60000 training, 10000 test images).

    Reads ``$MINICNN_DATA/mnist`` or the cache (``cache_dir`` or ``$XDG_CACHE_HOME/minicnn``,
    subfolder ``mnist``), otherwise downloads the four files there (MD5-checked, atomic).
    Parameters and return value as :func:`load_fashion_mnist`; labels are the digits 0..9.
    """
    return _load_full(MNIST, cache_dir, download, progress)


# --- finding and reading the files ---------------------------------------------------------

def _candidate_dirs(source: Source, cache_dir) -> list[tuple[str, Path | None]]:
    """(description, folder) in search order; folder None when $MINICNN_DATA is unset."""
    dirs: list[tuple[str, Path | None]] = []
    env = os.environ.get("MINICNN_DATA", "")
    for sub in source.data_subdirs:
        label = "$MINICNN_DATA" + (f"/{sub}" if sub else "")
        dirs.append((label, Path(env) / sub if env else None))
    dirs.append(("cache", _cache_dir(source, cache_dir)))
    dirs.extend(("system", Path(d)) for d in source.system_dirs)
    return dirs


def _cache_dir(source: Source, cache_dir) -> Path:
    """Where ``source`` is downloaded to: ``cache_dir`` or :func:`cache_root`, then its folder."""
    return (Path(cache_dir) if cache_dir is not None else cache_root()) / source.folder


def _find_files(folder: Path, source: Source) -> tuple[list[Path], list[str]]:
    """The files found in ``folder`` (``name.gz`` or uncompressed) and the names missing."""
    found, missing = [], []
    for rf in source.files:
        path = next((folder / n for n in (rf.name, rf.stem) if (folder / n).is_file()), None)
        if path is None:
            missing.append(rf.name)
        else:
            found.append(path)
    return found, missing


def find_local(source: Source | None = None, cache_dir=None) -> Path | None:
    """The folder that ``load_fashion_mnist("full")`` (or ``source``) would read, or None.

    None means the full data set is not on this machine: loading it would download it.
    """
    source = FASHION_MNIST if source is None else source
    for _, folder in _candidate_dirs(source, cache_dir):
        if folder is not None and not _find_files(folder, source)[1]:
            return folder
    return None


def missing_files(folder: str | os.PathLike, source: Source | None = None) -> list[str]:
    """Names of the data set's four files that ``folder`` lacks (empty when complete)."""
    return _find_files(Path(folder), FASHION_MNIST if source is None else source)[1]


def _read_split(images_path: Path, labels_path: Path, n_classes: int):
    images = read_idx(images_path, dtype=np.uint8, ndim=3)
    if images.shape[1:] != (28, 28):
        raise IDXFormatError(images_path, f"it holds images of {images.shape[1:]} pixels, "
                                          f"expected 28 x 28")
    labels = read_idx(labels_path, dtype=np.uint8, ndim=1)
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise IDXFormatError(labels_path, f"label {labels[bad[0]]} at index {bad[0]} is not a "
                                          f"class number 0..{n_classes - 1}")
    if len(images) != len(labels):
        raise IDXFormatError(labels_path, f"it holds {len(labels)} labels but {images_path} "
                                          f"holds {len(images)} images")
    x = images.astype(np.float32)[:, :, :, np.newaxis]
    x /= 255.0  # in place: the full training set is 188 MB as float32
    return x, labels.astype(np.int64)


def _load_dir(folder: Path, source: Source) -> Dataset:
    paths, missing = _find_files(folder, source)
    if missing:
        raise DatasetNotFoundError(f"{folder} lacks {', '.join(missing)}; reinstall minicnn "
                                   f"or re-run scripts/make_subset.py")
    n = len(source.class_names)
    return Dataset(_read_split(paths[0], paths[1], n), _read_split(paths[2], paths[3], n),
                   source.class_names)


def _load_full(source: Source, cache_dir, download: bool, progress: bool) -> Dataset:
    looked = []
    for label, folder in _candidate_dirs(source, cache_dir):
        if folder is None:
            looked.append(f"{label}: not set")
            continue
        _, missing = _find_files(folder, source)
        if not missing:
            return _load_dir(folder, source)
        looked.append(f"{label}: {folder} " + ("(no such folder)" if not folder.is_dir()
                                                 else f"(missing {', '.join(missing)})"))
    cache = _cache_dir(source, cache_dir)
    if not download:
        raise DatasetNotFoundError(_help(source, cache, looked, "download=False was given"))
    cache.mkdir(parents=True, exist_ok=True)
    _, missing = _find_files(cache, source)
    for rf in source.files:
        if rf.name in missing:  # files already cached were verified when downloaded
            _fetch(source, rf, cache, looked, progress)
    return _load_dir(cache, source)


# --- downloading ---------------------------------------------------------------------------

def _fetch(source: Source, rf: RemoteFile, cache: Path, looked: list[str], progress: bool):
    """Download ``rf`` into ``cache`` from the first mirror that works."""
    errors: list[str] = []
    bad_checksum = None
    for base in source.mirrors:
        url = base.rstrip("/") + "/" + rf.name
        try:
            return download_file(url, cache / rf.name, md5=rf.md5, sha256=rf.sha256,
                                 progress=progress)
        except ChecksumError as exc:
            bad_checksum = exc
            errors.append(f"{url}: {exc}")
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
    if bad_checksum is not None:
        raise ChecksumError("\n".join(errors)) from bad_checksum
    raise DatasetNotFoundError(_help(source, cache, looked, "the download failed:\n    "
                                     + "\n    ".join(errors)))


def _help(source: Source, cache: Path, looked: list[str], why: str) -> str:
    names = ", ".join(rf.name for rf in source.files)
    base = source.mirrors[0]
    steps = [*source.advice,
             f"on a machine with internet, download {names} from {base} and copy the four "
             f"files into a folder, then point MINICNN_DATA at it "
             f"(export MINICNN_DATA=/path/to/folder), or copy them into {cache}"]
    return (f"{source.title} (full) is not on this machine and {why}\n"
            f"Looked in:\n  " + "\n  ".join(looked) + "\n"
            "Do one of these:\n  - " + "\n  - ".join(steps))
