"""Downloading a file safely: atomically, and kept only if its checksum matches.

Used by :mod:`minicnn.datasets` for the full data sets. The bytes go to a temporary file next
to the final name, which is renamed only once the transfer is complete and a checksum matches,
so an interrupted or corrupted download never leaves a file that looks finished.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from pathlib import Path

from minicnn.idx import atomic_write


class ChecksumError(RuntimeError):
    """A downloaded file does not have the published checksum (it was not kept)."""


def _content_sha256(path: Path) -> str | None:
    """SHA-256 of the file's gunzipped content (None if it is not valid gzip)."""
    sha = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
    except (OSError, EOFError, zlib.error):
        return None
    return sha.hexdigest()


def download_file(url: str, path: str | os.PathLike, *, md5: str | None = None,
                  sha256: str | None = None, progress: bool = True,
                  timeout: float = 60.0) -> Path:
    """Download ``url`` to ``path`` atomically, keeping it only if a checksum matches.

    Parameters
    ----------
    url : str
    path : str or path-like
        Final name. The data go to a temporary file in the same folder, renamed to ``path``
        only after the checksum check passes; on any failure the temporary file is deleted.
    md5 : str, optional
        Expected MD5 of the downloaded bytes.
    sha256 : str, optional
        Expected SHA-256 of the gunzipped bytes (for a ``.gz`` download). The file is kept
        when either given checksum matches; with neither, nothing is checked.
    progress : bool
        Show a tqdm progress bar (bytes).
    timeout : float
        Seconds to wait for the server.

    Raises
    ------
    urllib.error.URLError, OSError
        When the server cannot be reached or the transfer fails or stops early
        (``ConnectionError``, an ``OSError``).
    ChecksumError
        When the data do not match the checksums.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with atomic_write(path) as out, tqdm(total=total, unit="B", unit_scale=True,
                                             desc=path.name, disable=not progress,
                                             leave=False) as bar:
            received, seen = 0, hashlib.md5(usedforsecurity=False)
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                seen.update(block)
                received += len(block)
                bar.update(len(block))
            out.flush()
            if total is not None and received != total:
                raise ConnectionError(f"the transfer of {url} stopped after {received} of "
                                      f"{total} bytes")
            got_md5 = seen.hexdigest()
            if (md5 or sha256) and not (md5 and got_md5 == md5):
                # the content's SHA-256 only when the MD5 did not already settle it
                got_sha = _content_sha256(Path(out.name))
                if not (sha256 and got_sha == sha256):
                    raise ChecksumError(
                        f"{url} does not have the expected checksum (md5 {got_md5}, expected "
                        f"{md5}; sha256 of its content {got_sha}, expected {sha256}); the "
                        f"download was corrupted or the server sent another file. Nothing was "
                        f"saved: try again later.")
    return path
