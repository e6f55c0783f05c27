"""The exercise grader.

In a notebook, one line checks a chapter's exercise file::

    from minicnn.grade import check
    check("ex02")

From a shell, ``python -m minicnn.grade PATH [PATH ...] [--json] [--csv FILE]`` grades whole
submission folders (see :mod:`minicnn.grade.__main__`).

Each submission is graded on a temporary copy, each module in its own process with time and
memory limits (:mod:`minicnn.grade.sandbox`). Everything the grader knows about a chapter's
exercises (cases, reference answers, named mistakes, how to compare) sits in that chapter's file
in :mod:`minicnn.grade.chapters`; :mod:`minicnn.grade.registry` collects them.
"""

from __future__ import annotations

from pathlib import Path

from minicnn.grade.core import Submission, grade_submission
from minicnn.grade.registry import EXERCISES, MODULES, TOTAL_POINTS

__all__ = ["EXERCISES", "MODULES", "TOTAL_POINTS", "Submission", "check", "find_exercises",
           "grade_chapter", "grade_submission"]


def find_exercises(path=None, *, option: str = "path=") -> Path:
    """The learner's exercise folder: ``path``, or ``exercises/`` in the current folder or
    its parent (notebooks run from ``notebooks/``).

    ``option`` is how the caller's user passes the folder (``"path="`` in Python,
    ``"--exercises "`` on a command line), so the error message can say it their way.
    """
    if path is not None:
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"{option}{str(path)!r} is not a folder; pass the folder "
                                    "holding your ex01_images.py ... files")
        return folder
    for base in (Path.cwd(), Path.cwd().parent):
        if (base / "exercises").is_dir():
            return base / "exercises"
    raise FileNotFoundError("no exercises/ folder in the current folder or its parent; "
                            f"pass {option}'path/to/exercises'")


def _module_for(chapter) -> str:
    key = f"ex{int(chapter):02d}" if isinstance(chapter, int) or str(chapter).isdigit() \
        else str(chapter).removesuffix(".py")
    for module in MODULES:
        if module == key or module.split("_")[0] == key:
            return module
    raise ValueError(f"chapter={chapter!r} has no graded exercise; use one of "
                     f"{[m.split('_')[0] for m in MODULES]}")


def grade_chapter(chapter, path=None) -> Submission:
    """Grade one chapter's file (e.g. ``"ex02"`` or ``2``) of the exercise folder."""
    module = _module_for(chapter)
    folder = find_exercises(path)
    return grade_submission(folder, only=module, name=f"{folder.name}/{module}.py")


def check(chapter, path=None) -> None:
    """Grade one chapter's exercises and print a short table with feedback.

    Parameters
    ----------
    chapter : str or int
        ``"ex02"``, ``"ex02_convolution"`` or ``2``.
    path : str or Path, optional
        The exercise folder; default ``exercises/`` next to the notebook.
    """
    from minicnn.grade.report import table

    sub = grade_chapter(chapter, path)
    print(table(sub, f"Checking {sub.submission}"))
