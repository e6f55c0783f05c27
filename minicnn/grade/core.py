"""Grade one submission folder: copy it, run each module in its own process, judge."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from minicnn.grade import isolation, registry, sandbox, static
from minicnn.grade.judge import Result, forbidden_result, grade_function


@dataclass
class Submission:
    """The grade of one submission folder."""

    submission: str
    results: list[Result] = field(default_factory=list)
    isolation: str = ""  # what the kernel enforced while this submission ran
    unsafe: bool = False  # graded without isolation because the instructor asked to

    @property
    def score(self) -> float:
        return round(sum(r.points for r in self.results), 2)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_points for r in self.results), 2)

    def result(self, function: str) -> Result:
        return next(r for r in self.results if r.function == function)

    def as_dict(self) -> dict:
        return {"submission": self.submission, "score": self.score,
                "max_score": self.max_score, "isolation": self.isolation,
                "unsafe_no_isolation": self.unsafe,
                "results": [r.as_dict() for r in self.results]}


COURSE_EXERCISES = sandbox.REPO / "exercises"
_noted = []
_PARSING = threading.Lock()  # CPython 3.11's ast.parse is not safe in several threads at once


def is_own(folder) -> bool:
    """Whether ``folder`` is the course's own ``exercises/`` (a learner checking their work)."""
    return Path(folder).resolve() == COURSE_EXERCISES.resolve()


def _note_once(iso: isolation.Isolation) -> None:
    if not _noted:
        _noted.append(True)
        print(f"Note: the grader runs your code without isolation on this machine "
              f"({iso.reason}); it still has time and memory limits.", file=sys.stderr)


def grade_submission(folder, only=None, jobs: int = 2, name: str | None = None, *,
                     others: bool | None = None, unsafe: bool = False) -> Submission:
    """Grade the exercise modules in ``folder`` (laid out like ``exercises/``).

    Parameters
    ----------
    folder : str or Path
        A folder laid out like ``exercises/`` (``ex01_images.py``, ``ex02_convolution.py``, ...;
        missing files score 0).
    only : str or list of str, optional
        Grade only these modules, chapters ("ex02") or "module.function" keys.
    jobs : int
        How many modules to run at the same time.
    name : str, optional
        The name shown in the report (default: ``folder`` as given).
    others : bool, optional
        Whether this is other people's code; by default, any folder but the course's own
        ``exercises/``. Other people's code is graded only in isolation (see
        :mod:`minicnn.grade.isolation`) ...
    unsafe : bool
        ... unless this is true; the result then records it.

    Returns
    -------
    Submission
        One :class:`~minicnn.grade.judge.Result` per graded function.
    """
    source = Path(folder)
    if not source.is_dir():
        raise FileNotFoundError(f"submission folder {str(folder)!r} does not exist; pass a "
                                "folder laid out like exercises/")
    exercises = registry.select(only)
    others = not is_own(source) if others is None else others
    iso = isolation.require(others, unsafe)
    if not iso.isolated and not others:
        _note_once(iso)
    workdir = sandbox.new_workdir()
    try:
        copy = sandbox.copy_submission(source, workdir)
        sandbox.prepare_harness(workdir)
        deadline = time.monotonic() + sandbox.SUBMISSION_SECONDS
        modules = list(dict.fromkeys(ex.module for ex in exercises))
        with isolation.process_cap(iso, jobs) as cgroups, \
                ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            runs = dict(zip(modules, pool.map(
                lambda m: _grade_module(source, copy, workdir, m, exercises, deadline, iso,
                                        cgroups), modules), strict=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = [runs[ex.module][ex.function] for ex in exercises]
    return Submission(str(folder) if name is None else name, results, iso.describe(),
                      unsafe and not iso.isolated)


def _grade_module(source: Path, copy: Path, workdir: Path, module: str, exercises: list,
                  deadline: float, iso: isolation.Isolation,
                  cgroups: list[str] | None = None) -> dict[str, Result]:
    mine = [ex for ex in exercises if ex.module == module]
    original = source / f"{module}.py"
    if not original.is_file():
        message = f"{module}.py is not in the submission folder"
        return {ex.function: grade_function(ex, None, message, "missing") for ex in mine}
    if original.is_symlink() and not original.resolve().is_relative_to(source.resolve()):
        message = (f"scores 0: {module}.py is a link to a file outside the submission "
                   "folder; submit your own file")
        return {ex.function: grade_function(ex, None, message, "forbidden") for ex in mine}
    with _PARSING:
        findings = static.scan((copy / f"{module}.py").read_text(errors="replace"),
                               {ex.function: ex.numpy_convolution_banned for ex in mine})
    cases = {ex.function: sandbox.encode_cases(ex.cases) for ex in mine}
    run = sandbox.run_module(copy, workdir, module, cases, [ex.function for ex in mine],
                             deadline, sandbox.forbidden_dirs(), iso, cgroups)
    graded = {}
    for ex in mine:
        if ex.function in findings:
            graded[ex.function] = forbidden_result(ex, findings[ex.function])
        elif ex.function in run.failures:
            status, message = run.failures[ex.function]
            graded[ex.function] = grade_function(ex, None, message, status)
        else:
            graded[ex.function] = grade_function(ex, run.reports.get(ex.function))
    return graded


def grade_functions(functions: dict, name: str = "functions") -> Submission:
    """Grade callables in this process, with the same checks (no sandbox, no limits).

    For trusted code only, e.g. the package's own functions:
    ``grade_functions({"ex02_convolution.conv2d": minicnn.conv.conv2d})``.
    """
    from minicnn.grade._child import Watcher, run_case

    results = []
    watcher = Watcher({})
    for ex in registry.select(list(functions)):
        func = functions.get(ex.key)
        outcomes = [run_case(func, case, watcher, "\0") for case in
                    sandbox.encode_cases(ex.cases)]
        results.append(grade_function(ex, {"results": outcomes, "used": []}))
    return Submission(name, results)
