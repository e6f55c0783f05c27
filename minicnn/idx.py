"""Read and write IDX files, the simple binary format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the raw array, all big-endian::

    byte 0-1   0x00 0x00                  (the magic number starts with two zero bytes)
    byte 2     dtype code                 (0x08 = uint8, see ``DTYPE_CODES``)
    byte 3     number of dimensions d
    d x 4      each dimension as a big-endian uint32
    ...        prod(dims) values, row-major (C order)

Images come as ``(N, 28, 28)`` uint8 and labels as ``(N,)`` uint8. The files are usually
gzipped (``*.gz``); :func:`read_idx` accepts both and rejects truncated or corrupt files with
an :class:`IDXFormatError` that names the file and what is wrong.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["DTYPE_CODES", "IDXFormatError", "atomic_write", "is_gzip", "read_idx", "write_idx"]

#: IDX dtype code -> numpy dtype (big-endian, as stored in the file).
DTYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """An IDX file is truncated, corrupt or not the array that was expected."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{self.path}: {problem}. The file is damaged or not the expected IDX file: "
            f"delete it and download it again (or copy a good one in its place).")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success.

    The temporary file (``.<name>.<random>.part`` in the same directory) is removed if the
    ``with`` block raises, so a half-written file never carries the final name.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:  # f.name is the temporary path
            yield f
        os.chmod(tmp, 0o644)  # mkstemp makes it private; data files are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_gzip(path: str | os.PathLike) -> bool:
    """Return True when the file starts with the gzip magic bytes ``1f 8b``."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip (checked by its magic bytes, not its name)."""
    gzipped = is_gzip(path)
    if path.suffix == ".gz" and not gzipped:
        raise IDXFormatError(path, "its name ends in .gz but it is not a gzip file "
                                   "(it does not start with the bytes 1f 8b)")
    if not gzipped:
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except EOFError as exc:
        raise IDXFormatError(path, "the gzip stream ends early (the file is truncated)") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise IDXFormatError(path, f"the gzip data is corrupt ({exc})") from exc


def _parse(path: Path, data: bytes) -> np.ndarray:
    if len(data) < 4:
        raise IDXFormatError(path, f"it holds {len(data)} bytes, too few for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IDXFormatError(path, f"bad magic number 0x{data[:4].hex()}: an IDX file starts "
                                   f"with two zero bytes")
    if code not in DTYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPE_CODES)
        raise IDXFormatError(path, f"unknown dtype code 0x{code:02X} in the header "
                                   f"(known codes: {known})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(path, f"the header announces {ndim} dimensions but the file "
                                   f"ends after {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = DTYPE_CODES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise IDXFormatError(path, f"the header says shape {shape} ({expected} data bytes) "
                                   f"but the file holds {len(data) - header} data bytes")
    x = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return x.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def read_idx(path: str | os.PathLike, *, dtype: np.dtype | str | None = None,
             ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a new native-byte-order array.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte.gz``.
    dtype : dtype, optional
        Expected element type (e.g. ``np.uint8``); another type in the header is an error.
    ndim : int, optional
        Expected number of dimensions (3 for images (N, H, W), 1 for labels (N,)).

    Returns
    -------
    ndarray
        The array with the shape written in the header.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    IDXFormatError
        When the file is truncated, corrupt (bad gzip data or CRC, bad magic number, unknown
        dtype code, size not matching the header) or not of the expected dtype/ndim.
    """
    path = Path(path)
    x = _parse(path, _read_bytes(path))
    if dtype is not None and x.dtype != np.dtype(dtype):
        raise IDXFormatError(path, f"it holds {x.dtype} values, expected {np.dtype(dtype)}")
    if ndim is not None and x.ndim != ndim:
        raise IDXFormatError(path, f"it holds a {x.ndim}-D array of shape {x.shape}, "
                                   f"expected {ndim}-D")
    return x


def write_idx(path: str | os.PathLike, x: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``x`` as an IDX file, atomically and byte-for-byte reproducibly.

    Parameters
    ----------
    path : str or path-like
        Destination. The file appears under this name only once it is complete.
    x : ndarray
        Array of a dtype listed in ``DTYPE_CODES`` (uint8, int8, int16, int32, float32,
        float64), with at most 255 dimensions.
    compress : bool, optional
        Gzip the file. Default: when ``path`` ends in ``.gz``. The gzip header stores no
        file name and mtime 0, so the same array always gives the same bytes.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    x = np.asarray(x)
    codes = {dt.newbyteorder("="): code for code, dt in DTYPE_CODES.items()}
    code = codes.get(x.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"x must have one of the IDX dtypes {sorted(map(str, codes))}, "
                        f"got {x.dtype}; convert it with x.astype(np.uint8) or similar")
    if compress is None:
        compress = path.suffix == ".gz"
    header = struct.pack(f">HBB{x.ndim}I", 0, code, x.ndim, *x.shape)
    body = header + np.ascontiguousarray(x, dtype=DTYPE_CODES[code]).tobytes()
    with atomic_write(path) as raw:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9,
                               mtime=0) as gz:
                gz.write(body)
        else:
            raw.write(body)
    return path
