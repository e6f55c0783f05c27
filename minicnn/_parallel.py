"""Speed: run the two halves of a batch at the same time, one per CPU core (issue 6).

numpy's element-wise work (copies, masks, adds) runs on one core, and OpenBLAS's own threads
help little with the thin matrix products of a small CNN. Splitting every batch in two and
handing each half to its own thread keeps both cores busy all the time: numpy releases the GIL
while it works on large arrays, so the two threads really run together.

Each worker thread asks OpenBLAS to use one thread for its own calls
(``openblas_set_num_threads_local``, OpenBLAS 0.3.27 and newer), so the two halves do not fight
over cores; the rest of the program keeps its BLAS settings.

A Conv2D layer whose input has a single channel is not split (it passes ``split=False``): its
matrix products are so thin that the two threads mostly wait for memory. Measured here for the
first layer of the benchmark model, conv 1 -> 8 on a batch of 128: 1.44 ms whole against 1.53 to
1.68 ms split; for the second, conv 8 -> 16: 4.5 ms whole against 3.1 ms split. The fused
conv-ReLU-pool step always splits: its pooling work gains more than the products lose (one
training epoch 3.2 to 3.7 s with the first block split, 3.5 to 4.3 s without).

The split is the same on every machine: a batch of N is always cut into ``N // 2`` and the
rest, and the gradients of the two halves are added in the same order. Where the worker threads
cannot be set up (no OpenBLAS found, or ``MINICNN_THREADS=1`` in the environment) the two halves
run one after the other in the calling thread: slower, but the same numbers.
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Below this many samples a batch is not split (the threads would cost more than they save).
MIN_SPLIT = 16

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_checked = False


def _threads_wanted() -> bool:
    """False when the environment asks for one thread (``MINICNN_THREADS=1``)."""
    return os.environ.get("MINICNN_THREADS", "2").strip() != "1"


def _find_blas_setter():
    """OpenBLAS's per-thread thread-count setter, from the library numpy loaded, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        try:
            setter = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


def _get_pool() -> ThreadPoolExecutor | None:
    """The two worker threads, made on first use; None where they cannot help."""
    global _pool, _checked
    with _lock:
        if not _checked:
            _checked = True
            usable = _threads_wanted() and (os.cpu_count() or 1) > 1
            setter = _find_blas_setter() if usable else None
            if setter is not None:  # each worker sets one OpenBLAS thread for its own calls
                _pool = ThreadPoolExecutor(2, thread_name_prefix="minicnn",
                                           initializer=setter, initargs=(1,))
        return _pool


def _forget_pool() -> None:
    """After a fork the child has no worker threads: make new ones when next needed."""
    global _pool, _checked
    _pool, _checked = None, False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def halves(n: int) -> list[slice]:
    """How a batch of ``n`` samples is split: two slices, or one when ``n`` is small."""
    if n < MIN_SPLIT:
        return [slice(0, n)]
    return [slice(0, n // 2), slice(n // 2, n)]


def run(tasks) -> list:
    """Call each zero-argument function in ``tasks``; return their results in order.

    With two tasks and the worker threads available, both run at once.
    """
    tasks = list(tasks)
    pool = _get_pool() if len(tasks) == 2 else None
    if pool is None:
        return [task() for task in tasks]
    return [future.result() for future in [pool.submit(task) for task in tasks]]


def forward_halves(forward, x, *args, split: bool = True) -> tuple:
    """``forward(x_half, *args) -> (out, cache)`` on each half of ``x`` (N, ...).

    Returns the whole output (N, ...) and the halves' caches, for :func:`backward_halves`.
    ``split=False`` runs the whole batch at once, in the calling thread.
    """
    parts = halves(len(x)) if split else [slice(0, len(x))]
    results = run([lambda s=s: forward(x[s], *args) for s in parts])
    return _join([out for out, _ in results]), (parts, [cache for _, cache in results])


def backward_halves(backward, dout, caches, need_dx: bool) -> tuple:
    """``backward(dout_half, cache, need_dx) -> (dx, dw, db)`` on each half; the halves'
    gradients ``dw`` and ``db`` are added, their ``dx`` joined (None when ``need_dx`` is False)."""
    parts, cache_list = caches
    results = run([lambda s=s, c=c: backward(dout[s], c, need_dx)
                   for s, c in zip(parts, cache_list, strict=True)])
    dxs, dws, dbs = zip(*results, strict=True)
    dw, db = sum(dws[1:], dws[0]), sum(dbs[1:], dbs[0])  # first half + second half
    return (_join(dxs) if need_dx else None), dw, db


def _join(halves_out) -> np.ndarray:
    """The halves' outputs as one batch (no copy when there is one)."""
    return halves_out[0] if len(halves_out) == 1 else np.concatenate(halves_out)


def status() -> tuple[bool, str]:
    """Whether batches run on two threads here, and a sentence saying so (for the doctor)."""
    if _get_pool() is not None:
        return True, "training splits each batch over two threads (one OpenBLAS thread each)"
    if not _threads_wanted():
        why = "MINICNN_THREADS=1 is set"
    elif (os.cpu_count() or 1) < 2:
        why = "this machine has one core"
    else:
        why = "numpy's OpenBLAS has no per-thread setting here (openblas_set_num_threads_local)"
    return False, f"training runs each batch on one thread: {why}; same results, only slower"
