"""Execute the course notebooks in place and store their outputs (what nbval compares against).

    python scripts/run_notebooks.py                      all of notebooks/[0-9][0-9]_*.ipynb
    python scripts/run_notebooks.py notebooks/02_*.ipynb  just these

Run it through ``python3 course.py notebooks`` so the project's environment is used. Each
notebook runs in a fresh kernel with ``notebooks/`` as its working directory; the time each took
is printed, and a notebook that fails is left unchanged on disk.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class Client(NotebookClient):
    """nbclient, polling the kernel's channels in short slices.

    With ipywidgets in a notebook, plain nbclient 0.11 sometimes misses a reply that has already
    arrived and waits out the whole cell timeout (nbclient issue #312); asking again every 0.1 s
    picks the reply up at once.
    """

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for chan in (kc.shell_channel, kc.iopub_channel):
            chan.get_msg = _polling(chan.get_msg)
        return kc


def _polling(get_msg):
    async def poll(timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.1 if end is None else min(0.1, max(0.0, end - time.monotonic()))
            try:
                return await get_msg(timeout=left)
            except queue.Empty:
                if end is not None and time.monotonic() >= end:
                    raise
    return poll


def execute(path: Path, timeout: int) -> float:
    """Run one notebook top to bottom and save it; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    client = Client(nb, timeout=timeout, kernel_name="python3",
                    resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    failed, total = [], 0.0
    for path in paths:
        try:
            seconds = execute(path.resolve(), args.timeout)
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"FAILED {path.name}:\n{str(exc)[-2000:]}", file=sys.stderr)
            continue
        total += seconds
        print(f"{seconds:6.1f} s  {path.name}", flush=True)
    print(f"{total:6.1f} s  in all ({len(paths) - len(failed)} notebooks)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
