"""Kernel-enforced confinement of the grading child (Linux): Landlock, seccomp, no capabilities.

Standard library only: the grader copies this file beside ``_child.py`` into a folder the child
may read, and the child calls :func:`confine` on itself before it imports a learner's module.
Everything it sets is irrevocable and inherited by every process the child starts:

* **Landlock** (Linux 5.13+, ABI 6+ for the whole set): files and folders can be read only
  under ``read`` paths and written only under ``write`` paths; TCP bind and connect are refused
  (ABI 4+); signals to processes outside the sandbox and abstract Unix sockets are refused
  (ABI 6+).
* **seccomp** (x86-64): ``socket()`` fails for every address family (so no UDP, no Unix
  sockets either), and so do the calls that change namespaces, mounts, kernel modules, ptrace
  and io_uring (which would bypass the filter).
* **capabilities**: all dropped, also from the bounding set, so a grader run as root gives the
  child none of root's powers.

The parent imports :func:`landlock_abi` and :func:`seccomp_supported` to report what a machine
offers. Nothing here is specific to minicnn.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

# Landlock (include/uapi/linux/landlock.h)
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_VERSION_FLAG = 1
_RULE_PATH_BENEATH = 1
FS = {name: 1 << bit for bit, name in enumerate(
    ("execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
     "make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block", "make_sym",
     "refer", "truncate", "ioctl_dev"))}
_FS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # how many of FS each ABI knows
_NET_TCP = 0b11  # bind and connect
_SCOPE_ALL = 0b11  # abstract Unix sockets and signals
_FILE_ONLY = FS["execute"] | FS["write_file"] | FS["read_file"] | FS["truncate"] | FS["ioctl_dev"]
READ = FS["read_file"] | FS["read_dir"]
WRITE = READ | FS["write_file"] | FS["remove_dir"] | FS["remove_file"] | FS["make_dir"] | \
    FS["make_reg"] | FS["make_sym"] | FS["make_fifo"] | FS["refer"] | FS["truncate"]

# prctl (include/uapi/linux/prctl.h)
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_SET_SECCOMP, _PR_CAP_AMBIENT = 38, 24, 22, 47
_PR_CAP_AMBIENT_CLEAR_ALL, _SECCOMP_MODE_FILTER = 4, 2

# seccomp on x86-64: syscalls refused with EPERM (clone3 with ENOSYS, so libc falls back to
# clone, whose flags the filter can read)
_AUDIT_ARCH_X86_64 = 0xC000003E
_X86_64_DENIED = {
    "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321,
    "perf_event_open": 298, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "swapon": 167, "swapoff": 168, "reboot": 169, "init_module": 175, "delete_module": 176,
    "kexec_load": 246, "finit_module": 313, "kexec_file_load": 320, "userfaultfd": 323,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442}
_X86_64_CLONE, _X86_64_CLONE3 = 56, 435
_CLONE_NEW_ANY = 0x7E020080  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID
#                              | NEWNET | NEWTIME
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


class ConfineError(RuntimeError):
    """The sandbox could not be put in place; no learner code may run."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _syscall(libc, *args) -> int:
    result = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0: none, or not Linux)."""
    if platform.system() != "Linux":
        return 0
    try:
        return _syscall(_libc(), _CREATE_RULESET, None, 0, _VERSION_FLAG)
    except (OSError, AttributeError):
        return 0


def seccomp_supported() -> bool:
    """Whether :func:`confine` can install its seccomp filter on this machine."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def _ruleset(libc, abi: int) -> tuple[int, int]:
    handled = sum(list(FS.values())[:_FS_BY_ABI.get(abi, len(FS))])
    attr = struct.pack("QQQ", handled, _NET_TCP if abi >= 4 else 0,
                       _SCOPE_ALL if abi >= 6 else 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    return _syscall(libc, _CREATE_RULESET, buf, len(attr), 0), handled


def _allow(libc, ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
        _syscall(libc, _ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0)
    finally:
        os.close(fd)


def _landlock(libc, abi: int, read: list[str], write: list[str]) -> None:
    ruleset, handled = _ruleset(libc, abi)
    try:
        for paths, access in ((read, READ), (write, WRITE)):
            for path in paths:
                if os.path.exists(path):
                    _allow(libc, ruleset, path, access & handled)
        _syscall(libc, _RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)


def _drop_capabilities(libc) -> None:
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0), 8)  # version 3
    data = ctypes.create_string_buffer(bytes(24), 24)  # effective, permitted, inheritable = 0
    _syscall(libc, 126 if platform.machine() in ("x86_64", "AMD64") else 91, header, data)


def _seccomp_program() -> list[tuple[int, int, int, int]]:
    """The BPF program: (code, jump if true, jump if false, k) per instruction."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    denied = sorted(_X86_64_DENIED.values())
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, _AUDIT_ARCH_X86_64), (ret, 0, 0, _RET_KILL),
            (ld, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, _RET_ERRNO | errno.ENOSYS),
            (jeq, 0, 1, _X86_64_CLONE3), (ret, 0, 0, _RET_ERRNO | errno.ENOSYS)]
    for k, nr in enumerate(denied):  # each jumps to the EPERM return after the list
        prog.append((jeq, len(denied) - k + 3, 0, nr))
    prog += [(jeq, 0, 2, _X86_64_CLONE), (ld, 0, 0, 16), (jset, 1, 0, _CLONE_NEW_ANY),
             (ret, 0, 0, _RET_ALLOW), (ret, 0, 0, _RET_ERRNO | errno.EPERM)]
    return prog


def _seccomp(libc) -> None:
    prog = _seccomp_program()
    filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in prog))
    fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxP", len(prog),
                                                    ctypes.addressof(filters)), 16)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fprog, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def confine(read: list[str], write: list[str], min_abi: int = 6) -> int:
    """Confine this process and all it will start; return the Landlock ABI used.

    Parameters
    ----------
    read : list of str
        Folders (and single files) whose contents may be read.
    write : list of str
        Folders that may be read and written (files made, changed, removed).
    min_abi : int
        The lowest Landlock ABI accepted; below it, :class:`ConfineError` is raised and
        nothing is changed.
    """
    abi = landlock_abi()
    if abi < min_abi:
        raise ConfineError(f"this kernel offers Landlock ABI {abi}; the sandbox needs "
                           f"{min_abi} or newer (Linux 6.12+)")
    if not seccomp_supported():
        raise ConfineError(f"no seccomp filter for this machine ({platform.machine()})")
    libc = _libc()
    try:
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _landlock(libc, abi, read, write)
        _drop_capabilities(libc)
        _seccomp(libc)
    except OSError as exc:
        raise ConfineError(f"the sandbox could not be set up: {exc}") from exc
    return abi
