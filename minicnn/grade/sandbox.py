"""Running a submission's code safely: a temporary copy, one child process per module,
time and memory limits, and restarts after a crash or a time-out.

Limits (also in the report a learner sees): each module gets ``IMPORT_SECONDS`` to import,
each function ``FUNCTION_SECONDS`` for all its checks (a time-out keeps the results of the
checks before the one that hung, and names it), the child ``MEMORY_BYTES`` of address
space, and a whole submission ``SUBMISSION_SECONDS``. A child that overruns is killed (its
whole process group); a new child then grades the module's remaining functions.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from minicnn.grade import isolation
from minicnn.grade._codec import encode

HERE = Path(__file__).parent
IMPORT_SECONDS = 5.0
FUNCTION_SECONDS = 4.0
SUBMISSION_SECONDS = 55.0
MEMORY_BYTES = 2 * 2**30
MAX_EVENT_BYTES = 256 * 2**20  # one report line from the child, at most
MAX_CASES = 1000  # case events accepted per function (more than any exercise has)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class ModuleRun:
    """What happened when one module's functions were run."""

    reports: dict = field(default_factory=dict)  # function -> report from the child
    failures: dict = field(default_factory=dict)  # function -> (status, message)


def copy_submission(folder: Path, dest: Path) -> Path:
    """Copy the ``*.py`` files at the top of the submission into ``dest/submission``.

    Subfolders (``backup/``, caches), other files and links (symbolic or hard) are left out:
    only a learner's own modules are graded, and a link could point at anybody's file.
    """
    target = dest / "submission"
    target.mkdir()
    for path in sorted(folder.glob("*.py")):
        if path.is_file() and not path.is_symlink() and path.stat().st_nlink == 1:
            shutil.copyfile(path, target / path.name)
    return target


def prepare_harness(workdir: Path) -> Path:
    """``workdir/harness``: the child's code and its cases, which the child may only read."""
    harness = workdir / "harness"
    harness.mkdir()
    for name in ("_child.py", "_codec.py", "_confine.py", "_keeper.py"):
        shutil.copyfile(HERE / name, harness / name)
    return harness


def _child_folder(workdir: Path, module: str, copy: Path) -> tuple[Path, Path]:
    """A fresh folder for one child: ``code/`` (a copy of the submission) and ``tmp/``."""
    own = Path(tempfile.mkdtemp(prefix=f"{module}-", dir=workdir))
    shutil.copytree(copy, own / "code")
    (own / "tmp").mkdir()
    return own, own / "code"


def _child_env(home: Path) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "TMPDIR": str(home), "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


class _Lines:
    """Read JSON lines from a pipe with a deadline."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)

    def next(self, deadline: float):
        """The next event, None at end of file, or "timeout"."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(timeout=left):
                return "timeout"
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > MAX_EVENT_BYTES:  # a flood on the pipe, not an event
                self.buffer = b""
                return {"event": "garbled"}
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return {"event": "garbled"}

    def close(self) -> None:
        self.selector.close()


def _kill(proc: subprocess.Popen, grace: float = 0.0) -> int:
    """End a child and all it started: wait ``grace`` seconds for it to end by itself, then
    ask its keeper (which kills and reaps everything below it), then kill the whole process
    group if the keeper does not answer. Returns the exit status."""
    try:
        return proc.wait(timeout=grace) if grace else _stop(proc)
    except subprocess.TimeoutExpired:
        return _stop(proc)


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
            return proc.wait(timeout=5)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.wait()


def _exit_text(code: int | None) -> str:
    if code is None:
        return "it stopped"
    if code < 0:
        try:
            return f"it was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"it was killed by signal {-code}"
    return f"it ended the Python process with exit code {code} (sys.exit or os._exit?)"


def _out_of_time(run: ModuleRun, names: list[str]) -> None:
    for name in names:
        run.failures[name] = ("timeout", "not graded: the submission used up its "
                              f"{SUBMISSION_SECONDS:.0f} s time budget")


def run_module(copy: Path, workdir: Path, module: str, cases: dict, functions: list[str],
               deadline: float, forbidden_dirs: dict[str, str],
               iso: isolation.Isolation | None = None,
               cgroups: list[str] | None = None) -> ModuleRun:
    """Run ``functions`` of ``module`` in child processes; ``cases`` are encoded inputs.

    ``copy`` is the submission's pristine copy; each child gets a fresh copy of its own.
    ``workdir/harness`` must have been made by :func:`prepare_harness`. With ``iso`` isolated,
    each child confines itself (see :mod:`minicnn.grade.isolation`), in the ``cgroups``
    given (see :func:`minicnn.grade.isolation.process_cap`).
    """
    run = ModuleRun()
    cases_file = workdir / "harness" / f"cases-{module}.json"
    cases_file.write_text(json.dumps(cases))
    remaining = list(functions)
    while remaining:
        if time.monotonic() >= deadline:
            _out_of_time(run, remaining)
            break
        own, code = _child_folder(workdir, module, copy)
        config = {"module": module, "folder": str(code), "cases": str(cases_file),
                  "functions": remaining, "memory_bytes": MEMORY_BYTES,
                  "forbidden_dirs": forbidden_dirs,
                  "debug": bool(os.environ.get("MINICNN_GRADE_DEBUG"))}
        if iso is not None and iso.keeper:
            config["keeper"] = isolation.limits(iso, cgroups or [])
        if iso is not None and iso.isolated:
            config["confine"] = {"read": isolation.read_paths(workdir / "harness"),
                                 "write": [str(own), os.devnull], "min_abi": iso.landlock}
        command = [sys.executable, "-I", "-B", str(workdir / "harness" / "_child.py")]
        remaining = _one_child(config, own, command, remaining, deadline, run)
    return run


def _one_child(config: dict, own: Path, command: list[str], remaining: list[str],
               deadline: float, run: ModuleRun) -> list[str]:
    """Start one child; return the functions still to grade after it stops."""
    stderr = None if config["debug"] else subprocess.DEVNULL
    proc = subprocess.Popen(command, cwd=config["folder"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                            env=_child_env(own / "tmp"), start_new_session=True)
    lines = _Lines(proc.stdout)
    try:
        proc.stdin.write((json.dumps(config) + "\n").encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    try:
        return _follow(proc, lines, config["module"], remaining, deadline, run)
    finally:
        lines.close()
        if proc.poll() is None:
            _kill(proc)
        proc.stdout.close()
        shutil.rmtree(own, ignore_errors=True)


def _follow(proc, lines: _Lines, module: str, remaining: list[str], deadline: float,
            run: ModuleRun) -> list[str]:
    started = time.monotonic()
    event = lines.next(min(deadline, started + IMPORT_SECONDS + 5.0))  # start-up
    if isinstance(event, dict) and event.get("event") == "sandbox-error":
        _kill(proc)
        raise isolation.IsolationError(f"the grader could not isolate {module}.py, so none of "
                                       f"it was run: {event.get('error')}")
    if isinstance(event, dict) and event.get("event") == "import":
        event = lines.next(min(deadline, time.monotonic() + IMPORT_SECONDS))
    if event == "timeout" or event is None or event.get("event") not in ("imported",
                                                                         "import-error"):
        if event == "timeout":
            message = (f"importing {module}.py did not finish within {IMPORT_SECONDS:.0f} s "
                       "(an endless loop or a long computation at the top level of the file?)")
            status = "timeout"
        else:
            message = (f"importing {module}.py stopped the grading process: "
                       f"{_exit_text(_kill(proc, grace=2.0))}; code at the top level of the "
                       "file must not exit")
            status = "error"
        for name in remaining:
            run.failures[name] = (status, message)
        return []
    if event["event"] == "import-error":
        error = event["error"]
        text = f"{error['type']}: {error['message']}".rstrip(": ")
        if error["type"] == "PermissionError":
            text = ("it tried to reach a file, folder or connection outside its own folder, "
                    f"which the grader does not allow ({text})")
        where = f" ({error['where']})" if error.get("where") else ""
        for name in remaining:
            run.failures[name] = ("error", f"{module}.py could not be imported, so this "
                                  f"function could not be graded: {text}{where}")
        return []
    todo = list(remaining)
    while todo:
        name = todo[0]
        event = lines.next(min(deadline, time.monotonic() + FUNCTION_SECONDS))
        started = time.monotonic()
        limit = min(deadline, started + FUNCTION_SECONDS)
        if isinstance(event, dict) and event.get("event") == "start":
            event = lines.next(limit)
        results, used = [], []
        while isinstance(event, dict) and event.get("event") == "case" and len(results) < \
                MAX_CASES:
            results.append(event.get("result") or {})
            used = event.get("used") or used
            event = lines.next(limit)
        if isinstance(event, dict) and event.get("event") == "done":
            run.reports[name] = {**event, "results": results}
            todo.pop(0)
            if not todo:
                _let_finish(proc, lines)
            continue
        if event == "timeout" and time.monotonic() >= deadline and not results:
            _kill(proc)
            _out_of_time(run, todo)
            return []
        if event == "timeout":
            _kill(proc)
            # the cases before the one that hung keep their results (and their credit)
            run.reports[name] = {"function": name, "results": results, "used": used,
                                 "timeout": time.monotonic() - started}
            if time.monotonic() >= deadline:
                _out_of_time(run, todo[1:])
                return []
        else:
            run.failures[name] = ("error", f"{name} stopped the grading process: "
                                  f"{_exit_text(_kill(proc, grace=2.0))}")
        return todo[1:]
    return []


def _let_finish(proc: subprocess.Popen, lines: _Lines, grace: float = 2.0) -> None:
    """All graded: give the child and its keeper a moment to end by themselves.

    The keeper kills what the child left behind once the child has exited; a SIGTERM that
    reaches it in that very moment could cut its clean-up short, so it is sent (by
    :func:`_kill`) only if they do not end within ``grace`` seconds.
    """
    limit = time.monotonic() + grace
    while lines.next(limit) not in (None, "timeout"):  # "finished", or stray lines
        pass
    try:
        proc.wait(timeout=max(0.0, limit - time.monotonic()) + 0.5)
    except subprocess.TimeoutExpired:
        pass  # _one_child kills it


def forbidden_dirs() -> dict[str, str]:
    """Folders whose code a submission must not run: the repository's answers."""
    dirs = {str(REPO / "solutions"): "solutions"}
    package = Path(__file__).resolve().parents[1]
    dirs[str(package)] = "minicnn"
    return dirs


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="minicnn-grade-"))


def encode_cases(cases) -> list[dict]:
    return [{"args": [encode(a) for a in c.args],
             "kwargs": {k: encode(v) for k, v in c.kwargs.items()}} for c in cases]
