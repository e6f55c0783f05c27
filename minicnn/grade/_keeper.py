"""The grading child's keeper: it forks the child, then ends it and everything it started.

Standard library only: the grading process (``_child.py``) calls :func:`keep` after reading
its configuration and before it confines itself or touches a learner's code. :func:`keep`
forks: the child returns from it and goes on grading; the parent stays behind as the keeper,
runs no learner code, and never returns.

* It becomes a *child subreaper* (Linux), so a process the child starts that detaches itself
  (``setsid``, a double fork) is re-parented here rather than to init, and cannot escape.
* The child runs in a session of its own, with a cap on processes: in the pids (and memory)
  cgroups the grader made for the submission when run as root (``RLIMIT_NPROC`` does not bind
  root), with ``RLIMIT_NPROC`` otherwise.
* When the child ends, or the grader sends SIGTERM (its time limit), or the grader itself
  dies, it kills every process below it, waits for them all, and exits with the child's
  status (killing itself with the child's signal if a signal ended it).

The child confines itself with Landlock, which also stops it from signalling this keeper.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36


def _prctl(option: int, value: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _descendants() -> list[int]:
    """Every process whose chain of parents leads here."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parents[int(name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
    found, frontier = [], {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found.extend(frontier)
    return found


def kill_all() -> None:
    """SIGKILL every descendant and reap them, until none is left."""
    for _ in range(10000):
        pids = _descendants()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reaped = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped = True
        if not pids and not reaped:
            return
        if pids and not reaped:
            time.sleep(0.001)


def _join_cap(limits: dict) -> None:
    for cgroup in limits.get("cgroups", []):
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    if limits.get("nproc"):
        import resource

        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))


_SIGNALS = {signal.SIGTERM, signal.SIGCHLD}


def keep(limits: dict) -> None:
    """Fork; return in the child (capped, in a session of its own); be the keeper otherwise.

    Raises OSError (before forking) where the kernel cannot make this process a subreaper.
    """
    if os.getppid() == 1 or not _prctl(_PR_SET_CHILD_SUBREAPER, 1):
        raise OSError("could not become a child subreaper")
    # The keeper takes SIGTERM (the grader's "stop") only when it asks for it, never in the
    # middle of cleaning up; blocked from here, so none arrives unseen before the fork.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    pid = os.fork()
    if pid == 0:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the keeper gone: stop at once
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        os.setsid()
        _join_cap(limits)
        return
    os._exit(_watch(pid))


def _watch(child: int) -> int:
    """The keeper's life: wait for the child (or the grader's SIGTERM), kill all that is left,
    mirror the child's status."""
    for fd in (0, 1):
        os.close(fd)  # the grader's pipes belong to the child; EOF must mean it is gone
    status = None
    while True:
        try:
            done, wait_status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            break
        if done:
            status = wait_status
            break
        got = signal.sigtimedwait(_SIGNALS, 0.05)  # SIGCHLD wakes it at once; SIGTERM stops
        if got is not None and got.si_signo == signal.SIGTERM:
            break
    kill_all()
    if status is None:
        return 124
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    return os.waitstatus_to_exitcode(status)
