"""Run the two halves of a batch at the same time, one per CPU core.

numpy's element-wise work (copies, masks, adds) runs on one core, and OpenBLAS's own threads
help little with the thin matrix products of a small CNN. Splitting every batch in two keeps
both cores busy: the calling thread works on the first half while one worker thread works on
the second. numpy releases the GIL while it works on large arrays, so the two really run
together.

For this, minicnn asks numpy's OpenBLAS for one thread (``openblas_set_num_threads_local``,
OpenBLAS 0.3.27 and newer) in both threads the first time a fast layer runs, so that the two
halves do not fight over the cores. In the OpenBLAS that numpy ships that setting holds for the
whole process from then on, not only for the two threads. ``MINICNN_THREADS=1`` leaves
OpenBLAS as it was and runs the halves one after the other.

The split is the same on every machine: a batch of N is always cut into ``N // 2`` and the
rest, and the gradients of the two halves are added in the same order. Where the worker thread
cannot be set up (no OpenBLAS found, one core, or ``MINICNN_THREADS=1`` in the environment) the
two halves run one after the other in the calling thread: slower, but the same numbers.
docs/benchmarks.md records what each choice here was measured to be worth.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading

import numpy as np

#: Below this many samples a batch is not split (the threads would cost more than they save).
MIN_SPLIT = 16

#: The worker thread's name (it never splits again: it would wait for itself).
WORKER_NAME = "minicnn-half"


class _Job:
    """One task for the worker; :meth:`result` waits for it (like a ``Future``, lighter)."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.value = self.error = None
        self._finished = threading.Lock()
        self._finished.acquire()  # released by the worker when the task is done

    def run(self) -> None:
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # handed to whoever waits for the result
            self.error = exc
        finally:
            self._finished.release()

    def done(self) -> bool:
        return not self._finished.locked()

    def result(self, timeout: float | None = None):
        """The task's return value (or its error, raised here), once it has run."""
        if not self._finished.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"the task did not finish within {timeout} s")
        self._finished.release()  # result() may be asked again
        if self.error is not None:
            raise self.error
        return self.value


class _Worker:
    """One daemon thread running submitted tasks in turn.

    A training step hands it a task twice per conv layer, so it is kept lighter than a
    ``concurrent.futures`` pool, whose locks, conditions and bookkeeping take the GIL for
    longer, and the GIL is what the two halves wait for whenever both want it at once.
    """

    def __init__(self, initializer=None, initargs=()):
        self._tasks: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._start = (initializer, initargs)
        self.thread = threading.Thread(target=self._loop, name=WORKER_NAME, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        initializer, initargs = self._start
        if initializer is not None:
            initializer(*initargs)
        while True:
            self._tasks.get().run()

    def submit(self, fn, *args) -> _Job:
        """Run ``fn(*args)`` in the worker thread; the returned job gives its result."""
        job = _Job(fn, args)
        self._tasks.put(job)
        return job


_lock = threading.Lock()
_pool: _Worker | None = None
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


def _get_pool() -> _Worker | None:
    """The worker thread, made on first use (OpenBLAS set to one thread in it and in the
    caller); None where it cannot help."""
    global _pool, _checked
    with _lock:
        if not _checked:
            _checked = True
            usable = _threads_wanted() and (os.cpu_count() or 1) > 1
            setter = _find_blas_setter() if usable else None
            if setter is not None:  # the two halves are the threads: one OpenBLAS thread each
                setter(1)
                _pool = _Worker(initializer=setter, initargs=(1,))
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

    With two tasks and the worker thread available, the worker runs the second while the
    calling thread runs the first. An error in either reaches the caller, after both are done.
    """
    tasks = list(tasks)
    pool = _get_pool()  # made (and OpenBLAS set) on the first call, split or not
    if (pool is None or len(tasks) != 2
            or threading.current_thread().name.startswith(WORKER_NAME)):
        return [task() for task in tasks]
    second = pool.submit(tasks[1])
    try:
        first = tasks[0]()
    finally:
        done = second.result()  # wait even when the first failed: it may share arrays
    return [first, done]


def forward_halves(forward, x, *args, out: np.ndarray, scratch) -> tuple:
    """``forward(x_half, *args, out=out_half, scratch=scratch_half) -> (out_half, cache)`` on
    each half of ``x`` (N, ...), each writing its part of ``out`` (N, ...), so no joining copy
    is needed, and each working in its own of the two ``scratch`` objects (see
    :class:`minicnn.fast.columns.Scratch`).

    Returns ``out`` and the halves' caches, for :func:`backward_halves`.
    """
    parts = halves(len(x))
    results = run([lambda k=k, s=s: forward(x[s], *args, out=out[s], scratch=scratch[k])
                   for k, s in enumerate(parts)])
    return out, (parts, [cache for _, cache in results])


def backward_halves(backward, dout, caches, need_dx: bool, dx_dtype=None) -> tuple:
    """``backward(dout_half, cache, need_dx, dx_out=dx_half, dx_first=...) -> (dx_half, dw,
    db)`` on each half, each writing its part of one ``dx`` of ``dx_dtype`` (made here: each
    half's cache starts with that half's input shape); the halves' ``dw`` and ``db`` are added.
    Returns ``(dx, dw, db)``, dx None when ``need_dx`` is False.

    The second half computes dx first and dw second, the first half the other way round. The
    input gradient is many numpy calls and the weight gradient a few long ones; every call ends
    by taking back Python's GIL, and a thread that finds the other holding it sleeps. Out of
    step, the two halves meet there less often.
    """
    parts, cache_list = caches
    dx = None
    if need_dx:
        first_shape = cache_list[0][0]
        dx = np.empty((sum(c[0][0] for c in cache_list), *first_shape[1:]), dx_dtype)
    results = run([lambda s=s, c=c, k=k: backward(dout[s], c, need_dx, dx_first=k == 1,
                                                  dx_out=None if dx is None else dx[s])
                   for k, (s, c) in enumerate(zip(parts, cache_list, strict=True))])
    _, dws, dbs = zip(*results, strict=True)
    dw, db = sum(dws[1:], dws[0]), sum(dbs[1:], dbs[0])  # first half + second half
    return dx, dw, db


def status() -> tuple[bool, str]:
    """Whether batches run on two threads here, and a sentence saying so (for the doctor)."""
    if _get_pool() is not None:
        return True, ("fast training (fast=True) splits each batch over two threads (numpy's "
                      "OpenBLAS set to one thread)")
    if not _threads_wanted():
        why = "MINICNN_THREADS=1 is set"
    elif (os.cpu_count() or 1) < 2:
        why = "this machine has one core"
    else:
        why = "numpy's OpenBLAS has no per-thread setting here (openblas_set_num_threads_local)"
    return False, (f"fast training (fast=True) runs each batch on one thread: {why}; same "
                   "results, only slower")
