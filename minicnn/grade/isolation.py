"""What isolation this machine gives the grader, and what a confined child may read and write.

The grader runs a submission's code in a child process that confines itself with the kernel
(:mod:`minicnn.grade._confine`: Landlock, seccomp, no capabilities) under a keeper process
(:mod:`minicnn.grade._supervise`: subreaper, process cap, kills all that is left). Which of
these the machine offers is found once per process by :func:`probe`.

``MINICNN_ISOLATION=off`` in the environment makes :func:`probe` report no isolation, to see
what a machine without it does (the grader then refuses other people's code, see
:func:`require`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import platform
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from minicnn.grade import _confine

MIN_ABI = 6
PROCESSES = 64  # tasks a submission may have at once (threads count too)
UNSAFE_FLAG = "--unsafe-no-isolation"
_serial = itertools.count()


class IsolationError(RuntimeError):
    """Grading other people's code was asked for on a machine that cannot isolate it."""


@dataclass(frozen=True)
class Isolation:
    """What the kernel enforces for a grading child on this machine."""

    landlock: int = 0  # Landlock ABI, 0 for none
    seccomp: bool = False
    processes: str = ""  # "cgroup", "rlimit" or "" (no cap on processes)
    cgroup_base: str | None = None
    reason: str = ""  # why the machine gives no isolation ("" when it does)
    keeper: bool = False  # a keeper process can end all a child leaves behind (Linux)

    @property
    def isolated(self) -> bool:
        return not self.reason

    def describe(self) -> str:
        """One line for the doctor and the reports."""
        if not self.isolated:
            return f"no isolation: {self.reason}"
        cap = "a pids cgroup" if self.processes == "cgroup" else "RLIMIT_NPROC"
        return (f"Landlock ABI {self.landlock} (files, TCP, signals), seccomp (sockets, "
                f"namespaces), no capabilities, {PROCESSES} processes at most ({cap}), "
                "a keeper that ends every process left")


def _subreaper_ok() -> bool:
    return platform.system() == "Linux" and Path("/proc/self/stat").exists()


def _pids_cgroup_base() -> str | None:
    """A pids cgroup folder this (root) process may make children in, or None."""
    if os.geteuid() != 0:
        return None
    try:
        groups = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in groups:
        _, controllers, path = line.split(":", 2)
        v2 = controllers == ""
        if not v2 and "pids" not in controllers.split(","):
            continue
        for mount in mounts:
            fields = mount.split()
            fstype = fields[fields.index("-") + 1]
            if (v2 and fstype == "cgroup2") or (not v2 and fstype == "cgroup" and
                                                 "pids" in fields[-1].split(",")):
                base = os.path.join(fields[4], path.lstrip("/"))
                if _can_make_child(base):
                    return base
    return None


def _can_make_child(base: str) -> bool:
    """Whether a child cgroup of ``base`` can be made and has a ``pids.max`` to set."""
    probe = os.path.join(base, f"minicnn-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        return os.path.exists(os.path.join(probe, "pids.max"))
    finally:
        try:
            os.rmdir(probe)
        except OSError:
            pass


@functools.cache
def probe() -> Isolation:
    """What this machine offers (cached for the process)."""
    keeper = _subreaper_ok()
    if os.environ.get("MINICNN_ISOLATION", "").lower() in ("off", "0", "none"):
        return Isolation(reason="switched off by MINICNN_ISOLATION=off", keeper=keeper)
    if platform.system() != "Linux":
        system = {"Darwin": "macOS"}.get(platform.system(), platform.system())
        return Isolation(reason=f"{system} has no Landlock (Linux only)")
    abi = _confine.landlock_abi()
    seccomp = _confine.seccomp_supported()
    if abi < MIN_ABI:
        return Isolation(abi, seccomp, reason=f"this kernel ({platform.release()}) offers "
                         f"Landlock ABI {abi}; the grader needs {MIN_ABI} or newer "
                         "(Linux 6.12+)", keeper=keeper)
    if not seccomp:
        return Isolation(abi, seccomp, reason="no seccomp filter for this processor "
                         f"({platform.machine()}; x86-64 only)", keeper=keeper)
    if not keeper:
        return Isolation(abi, seccomp, reason="/proc is not mounted")
    base = _pids_cgroup_base()
    if base:
        return Isolation(abi, seccomp, "cgroup", base, keeper=True)
    if os.geteuid() != 0:
        return Isolation(abi, seccomp, "rlimit", keeper=True)
    return Isolation(abi, seccomp, reason="running as root without a writable pids cgroup, "
                     "so nothing can cap the number of processes (RLIMIT_NPROC does not bind "
                     "root); run the grader as an ordinary user", keeper=True)


def user_tasks() -> int:
    """Processes and threads of this real user now (what RLIMIT_NPROC counts)."""
    uid, count = str(os.getuid()), 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [uid]:
            count += int(fields.get("Threads", "1"))
    return count


@contextlib.contextmanager
def process_cap(iso: Isolation, jobs: int = 1):
    """The pids cgroup shared by one submission's children while it is graded (root only).
    Yields its folder in a list (empty without one); without root, :func:`limits` gives each
    child a fresh ``RLIMIT_NPROC`` instead."""
    if not iso.isolated or iso.processes != "cgroup":
        yield []
        return
    path = os.path.join(iso.cgroup_base, f"minicnn-grade-{os.getpid()}-{next(_serial)}")
    os.mkdir(path)
    try:
        with open(os.path.join(path, "pids.max"), "w") as fh:
            fh.write(str(PROCESSES + 8 * max(1, jobs)))
        yield [path]
    finally:
        for _ in range(200):  # the keepers have reaped everything; the kernel may lag
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.01)


def limits(iso: Isolation, cgroups: list[str]) -> dict:
    """The keeper's process cap for one child."""
    if not iso.isolated:
        return {}
    if iso.processes == "cgroup":
        return {"cgroups": cgroups}
    return {"nproc": user_tasks() + PROCESSES}


def read_paths(harness: Path) -> list[str]:
    """What a confined child may read: its harness and the Python installation (the standard
    library and the installed packages, numpy among them)."""
    paths = {str(harness), "/etc/ld.so.cache"}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_path(name)
        if path:
            paths.add(path)
    return sorted(paths)


def require(others: bool, unsafe: bool) -> Isolation:
    """Check that grading may start; return what the machine offers.

    ``others``: the code is not the learner's own (several folders, or one outside the
    course's ``exercises/``). Without isolation that is refused unless ``unsafe``.
    """
    iso = probe()
    if others and not iso.isolated and not unsafe:
        raise IsolationError(
            f"refusing to grade other people's code without isolation ({iso.reason}): their "
            "code would run with your rights on your files and network. Grade on a Linux "
            f"6.12+ machine, or pass {UNSAFE_FLAG} to run it anyway (the report will say so)")
    return iso

