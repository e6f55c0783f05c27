"""The grading child process: imports one submitted module and calls its functions.

Run as a script (``python -I -B _child.py``) by :mod:`minicnn.grade.sandbox`, from a
harness folder beside a temporary copy of the submission. It
uses only the standard library and numpy and never imports ``minicnn``. Before it imports the
learner's module it confines itself with the kernel (:mod:`_confine`) when the configuration
asks for it, and checks that the confinement holds.

Protocol: one JSON line on stdin (the configuration), then one JSON line per event on the
original stdout (the learner's own prints go to /dev/null): ``start``, one ``case`` per case
(so that the parent keeps the results before a time-out), then ``done`` for each function.
The child only *runs* code: the expected answers stay in the parent, which judges the
outputs.

The parent also imports :func:`run_case` from here to grade trusted code in-process.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import numpy as np

if __package__:  # imported by the grader
    from minicnn.grade._codec import decode, encode
else:  # run as a script: load the codec beside this file without importing minicnn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _codec import decode, encode
    del sys.path[0]

FORBIDDEN_NAMES = ("minicnn", "solutions", "scipy", "torch", "tensorflow", "jax", "jaxlib",
                   "keras", "sklearn", "skimage", "cv2", "PIL", "numba", "cupy", "tinygrad",
                   "mxnet", "paddle", "theano", "chainer", "imageio")
# numpy helpers that do a whole convolution for you.
NUMPY_CONVOLUTIONS = ("convolve", "correlate", "correlate2")


# ---------------------------------------------------------------------------- watching
class Watcher:
    """Profile hook: which forbidden code ran during a call, and what np.pad was asked."""

    def __init__(self, forbidden_dirs: dict[str, str]):
        self.forbidden_dirs = forbidden_dirs  # directory prefix -> display name
        self.cache: dict = {}
        self.used: set[str] = set()
        self.pads: list = []

    def classify(self, code) -> str | None:
        filename = code.co_filename
        if filename == THIS_FILE:
            return ""
        for prefix, name in self.forbidden_dirs.items():
            if filename.startswith(prefix):
                rel = os.path.relpath(filename, os.path.dirname(prefix.rstrip(os.sep)))
                return f"{name}: {code.co_name} in {rel}"
        if filename.startswith(NUMPY_DIR):
            if code.co_name in NUMPY_CONVOLUTIONS:
                return f"numpy: np.{code.co_name}"
            if code.co_name == "pad" and "arraypad" in filename:
                return "PAD"
        return ""

    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            label = self.cache.get(code)
            if label is None:
                label = self.cache[code] = self.classify(code)
            if label == "PAD":
                self._probe_pad(frame)
            elif label:
                self.used.add(label)
        elif event == "c_call":
            name = getattr(arg, "__name__", "")
            if name in NUMPY_CONVOLUTIONS and "numpy" in str(getattr(arg, "__module__", "")):
                self.used.add(f"numpy: np.{name}")

    def _probe_pad(self, frame) -> None:
        try:
            shape = tuple(np.shape(frame.f_locals["array"]))
            widths = np.broadcast_to(np.asarray(frame.f_locals["pad_width"]), (len(shape), 2))
            self.pads.append({"shape": list(shape), "widths": widths.astype(int).tolist()})
        except Exception:  # a probe must never break the learner's call
            pass


THIS_FILE = os.path.abspath(__file__)
NUMPY_DIR = os.path.dirname(np.__file__) + os.sep


# ---------------------------------------------------------------------------- running
def _where(exc: BaseException, folder: str) -> str:
    """'ex02_convolution.py, line 12' for the deepest frame inside the submission."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename).startswith(folder):
            where = f"{os.path.basename(frame.filename)}, line {frame.lineno}"
    return where


def _error(exc: BaseException, folder: str) -> dict:
    try:
        message = str(exc)
    except Exception:
        message = ""
    return {"type": type(exc).__name__, "message": message[:500],
            "value_error": isinstance(exc, ValueError),
            "not_implemented": isinstance(exc, NotImplementedError),
            "memory": isinstance(exc, MemoryError), "where": _where(exc, folder)}


def _snapshot(args: list) -> list:
    """Copies of the array arguments (and of the arrays inside list arguments)."""
    snap = []
    for a in args:
        if isinstance(a, np.ndarray):
            snap.append(a.copy())
        elif isinstance(a, list):
            snap.append((list(a), [x.copy() if isinstance(x, np.ndarray) else x for x in a]))
        else:
            snap.append(None)
    return snap


def _changes(args: list, snap: list) -> dict:
    """What the call did to its arguments: changed arrays, replaced list entries."""
    changed = {}
    for k, (a, s) in enumerate(zip(args, snap, strict=True)):
        if isinstance(s, np.ndarray):
            if not _same(a, s):
                changed[str(k)] = {"array": encode(a)}
        elif isinstance(s, tuple):
            objects, copies = s
            entry = {"replaced": [i >= len(a) or a[i] is not objects[i]
                                  for i in range(len(objects))],
                     "length": len(a),
                     "originals": [encode(o) if not _same(o, c) else None
                                   for o, c in zip(objects, copies, strict=True)]}
            if any(entry["replaced"]) or entry["length"] != len(objects) or any(
                    o is not None for o in entry["originals"]):
                changed[str(k)] = entry
    return changed


def _same(a, b) -> bool:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return a is b
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def run_case(func, case: dict, watcher: Watcher, folder: str) -> dict:
    args = [decode(a) for a in case["args"]]
    kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
    snap = _snapshot(args)
    watcher.pads = []
    sys.setprofile(watcher)
    try:
        value = func(*args, **kwargs)
        result = {"status": "returned"}
    except BaseException as exc:  # noqa: B036 - learners' code may raise anything, even SystemExit
        value = None
        result = {"status": "raised", "error": _error(exc, folder)}
    finally:
        tampered = sys.getprofile() is not watcher
        sys.setprofile(None)
    if tampered:
        watcher.used.add("the profiler was replaced (sys.setprofile)")
    try:
        if result["status"] == "returned":
            result["value"] = encode(value)
        result["changed"] = _changes(args, snap)
    except BaseException as exc:  # noqa: B036 - e.g. a broken __array__
        result = {"status": "raised", "error": _error(exc, folder)}
    result["pads"] = watcher.pads[:8]
    return result


def main() -> None:
    config = json.loads(sys.stdin.readline())
    if config.get("keeper") is not None:  # from here on, this process is the keeper's child
        problem = _start_keeper(config["keeper"])
        if problem:
            sys.stdout.write(json.dumps({"event": "sandbox-error", "error": problem}) + "\n")
            sys.stdout.flush()
            os._exit(3)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - input() in a submission must not block
    channel = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if not config.get("debug"):
        os.dup2(devnull, 2)

    def send(event: dict) -> None:
        channel.write(json.dumps(event) + "\n")
        channel.flush()

    _limit_resources(config)
    watcher = Watcher(_forbidden_dirs(config.get("forbidden_dirs", {})))
    with open(config["cases"]) as fh:
        cases = json.load(fh)
    if config.get("confine"):
        problem = _confine_self(config["confine"], config["cases"])
        if problem:
            send({"event": "sandbox-error", "error": problem})
            channel.flush()
            os._exit(3)
    folder = os.path.abspath(config["folder"]) + os.sep
    sys.path.insert(0, folder)
    os.chdir(folder)
    send({"event": "import"})
    try:  # not profiled: importing scipy under a profile hook takes seconds
        module = __import__(config["module"])
    except BaseException as exc:  # noqa: B036 - SyntaxError, SystemExit, MemoryError...
        error = _error(exc, folder)
        if isinstance(exc, SyntaxError):
            error["where"] = f"{os.path.basename(exc.filename or '')}, line {exc.lineno}"
            error["message"] = exc.msg
        send({"event": "import-error", "error": error})
        return
    send({"event": "imported"})
    for name in config["functions"]:
        send({"event": "start", "function": name})
        func = getattr(module, name, None)
        if not callable(func):
            send({"event": "done", "function": name, "missing": True, "results": []})
            continue
        watcher.used = set()
        for case in cases[name]:  # one event per case: a time-out keeps the ones before
            send({"event": "case", "function": name,
                  "result": run_case(func, case, watcher, folder),
                  "used": sorted(watcher.used)})
        send({"event": "done", "function": name, "used": sorted(watcher.used)})
    send({"event": "finished"})
    channel.flush()
    os._exit(0)  # skip the learner's atexit handlers


def _beside(name: str):
    """Import a module that lies beside this file (in the harness folder), never the
    learner's module of the same name."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        return __import__(name)
    finally:
        del sys.path[0]


def _start_keeper(limits: dict) -> str:
    try:
        _beside("_keeper").keep(limits)
    except OSError as exc:
        return f"the keeper process could not start: {exc}"
    return ""


def _confine_self(rules: dict, probe_beside: str) -> str:
    """Confine this process; return what went wrong ("" when the sandbox holds)."""
    _confine = _beside("_confine")
    try:
        _confine.confine(rules["read"], rules["write"], rules.get("min_abi", 6))
    except _confine.ConfineError as exc:
        return str(exc)
    probe = os.path.join(os.path.dirname(probe_beside), "write-probe")
    try:  # a folder the child may read but not write: the sandbox must refuse
        with open(probe, "w"):
            pass
    except PermissionError:
        return ""
    except OSError as exc:
        return f"writing outside the sandbox failed oddly ({exc})"
    os.unlink(probe)
    return "a test write outside the sandbox succeeded"


def _forbidden_dirs(extra: dict[str, str]) -> dict[str, str]:
    import importlib.util

    dirs = {}
    for name in FORBIDDEN_NAMES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs[os.path.abspath(location) + os.sep] = name
    for path, name in extra.items():
        dirs[os.path.abspath(path) + os.sep] = name
    return dirs


def _limit_resources(config: dict) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    memory = int(config.get("memory_bytes", 0))
    for limit, value in ((getattr(resource, "RLIMIT_AS", None), memory),
                         (getattr(resource, "RLIMIT_CORE", None), 0),
                         (getattr(resource, "RLIMIT_FSIZE", None), 64 * 2**20)):
        if limit is None or (limit != getattr(resource, "RLIMIT_CORE", None) and value <= 0):
            continue
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


if __name__ == "__main__":
    main()
