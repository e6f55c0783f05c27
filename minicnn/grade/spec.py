"""What a graded exercise is: its cases, its reference answer and its known mistakes.

A :class:`Case` is one call (arguments and a label a learner can read). An :class:`Outcome` is
what the learner's function did with it in the child process. A :class:`Mistake` knows what a
learner who made that mistake would have returned (``output``) or recognises it from the
outcome (``test``), and says so in plain words. A :class:`Verdict` is the judgement of one case.

Nothing here knows a particular exercise: each chapter's file in :mod:`minicnn.grade.chapters`
fills these in, and says how its answers are compared (``kind``, ``parts``, ``rtol``...).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: ``function(*args, **kwargs)``."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    raises: bool = False  # the right answer is a ValueError
    tag: str = ""  # what kind of case it is, for mistakes that only apply to some
    names: str = ""  # with ``raises``: the argument the ValueError's message must name
    traits: tuple[str, ...] = ()  # what is special about the input, in a learner's words
    rtol: float | None = None  # this case's tolerance, when not the exercise's (float32)
    atol: float | None = None

    def call(self, func: Callable) -> Any:
        return func(*self.args, **self.kwargs)


@dataclass
class Outcome:
    """What the learner's function did with one case."""

    status: str  # "returned" or "raised"
    value: Any = None
    error: dict = field(default_factory=dict)
    changed: dict = field(default_factory=dict)  # arg index (str) -> what happened to it
    pads: list = field(default_factory=list)  # np.pad calls: {"shape", "widths"}

    @property
    def error_text(self) -> str:
        text = f"{self.error.get('type', 'Exception')}: {self.error.get('message', '')}".strip()
        where = self.error.get("where")
        return f"{text.rstrip(':')} ({where})" if where else text.rstrip(":")


@dataclass
class Verdict:
    """The judgement of one case: right or not, why, and the named mistake if any."""

    ok: bool
    message: str = ""
    mistake: str = ""  # key of the named mistake, if any
    credit: float | None = None  # share of the case's points; None: 1 if ok else 0
    plain: str = ""  # with a named mistake: what is wrong, without the guess
    candidates: tuple[str, ...] = ()  # every known mistake that explains this case

    @property
    def share(self) -> float:
        return (1.0 if self.ok else 0.0) if self.credit is None else self.credit


@dataclass(frozen=True)
class Mistake:
    """A known mistake: what it returns (``output``) or how to recognise it (``test``)."""

    key: str
    message: str
    output: Callable[[Case], Any] | None = None
    test: Callable[[Case, Outcome], bool] | None = None
    # a finer name for a broader mistake: when that one (its key) is seen on another case,
    # the broader one explains this case too (no tiling check at all, not a partial one)
    yields_to: str = ""
    # recognised from an error alone ("fails on 2-D input"): named only if some case passed,
    # since a function that raises on every input says nothing about which inputs
    needs_a_pass: bool = False
    # with an exercise graded part by part: the parts this mistake gets wrong, each judged
    # on its own (empty: a mistake of the whole answer, named only when all of it matches)
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exercise:
    """One graded function, with everything the grader knows about it.

    ``kind`` says how a returned value is compared with the reference's: "array", "int",
    "float" or "tuple" (then ``parts`` names the items, and ``part_credit``, if given, is the
    share of a case's points each right item earns; with ``separate_parts``, each item is
    graded as checks of its own). ``judge``, if given, replaces the
    comparison altogether: ``judge(exercise, case, outcome) -> Verdict`` (for a function that
    works in place, say).
    """

    number: str  # "2.1"
    module: str  # "ex02_convolution"
    function: str  # the name the learner writes and the package uses
    points: float
    task: str  # one line: what to write
    arg_names: tuple[str, ...]
    cases: tuple[Case, ...]
    reference: Callable[..., Any]
    mistakes: tuple[Mistake, ...] = ()
    kind: str = "array"
    parts: tuple[str, ...] = ()
    part_credit: tuple[float, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-8
    change_messages: dict = field(default_factory=dict)  # arg index -> message
    numpy_convolution_banned: bool = False
    judge: Callable[[Exercise, Case, Outcome], Verdict] | None = None
    # grade each part of a tuple answer as checks of its own (points and a feedback line
    # per part, shares from ``part_credit``), not each case as one answer
    separate_parts: bool = False

    def __post_init__(self) -> None:
        if self.kind == "tuple" and not self.parts:
            raise ValueError(f"{self.key}: kind='tuple' needs the names of the parts")
        if self.part_credit and (len(self.part_credit) != len(self.parts)
                                 or not np.isclose(sum(self.part_credit), 1.0)):
            raise ValueError(f"{self.key}: part_credit needs one share per part, summing to 1")
        if self.separate_parts and not self.part_credit:
            raise ValueError(f"{self.key}: separate_parts needs part_credit")

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    @property
    def marker(self) -> str:
        return f"Exercise {self.number}: {self.function}"

    def expected(self, case: Case) -> Any:
        return case.call(self.reference)

    def compare(self, expected: Any, value: Any, equal_nan: bool = False,
                case: Case | None = None) -> tuple[bool, str]:
        rtol, atol = self.tolerance(case)
        return compare(self.kind, expected, value, rtol, atol, equal_nan, self.parts)

    def tolerance(self, case: Case | None = None) -> tuple[float, float]:
        """(rtol, atol) for ``case``: its own when it has them, else the exercise's."""
        if case is None:
            return self.rtol, self.atol
        return (self.rtol if case.rtol is None else case.rtol,
                self.atol if case.atol is None else case.atol)

    def credit(self, expected: Any, value: Any, case: Case | None = None) -> float:
        """The share of a case's points a wrong ``value`` still earns (its right parts)."""
        rtol, atol = self.tolerance(case)
        if not self.part_credit or not isinstance(value, (tuple, list)) or len(value) != len(
                self.parts):
            return 0.0
        return float(sum(share for share, want, got in zip(self.part_credit, expected, value,
                                                           strict=True)
                         if _compare_any(want, got, rtol, atol, False)[0]))


# ---------------------------------------------------------------------------- generating
def seeded(key: str) -> np.random.Generator:
    """The generator of one exercise's wide checks: the same seed on every run and machine,
    so a learner reads the same feedback each time."""
    return np.random.default_rng(zlib.crc32(key.encode()))


def with_traits(cases: Iterable[Case], traits: Callable[[Case], Iterable[str]]) -> tuple:
    """The cases, each with the traits ``traits(case)`` says it has (added to its own)."""
    return tuple(dataclasses.replace(c, traits=tuple(dict.fromkeys((*c.traits, *traits(c)))))
                 for c in cases)


def size_text(a: Any) -> str:
    """'a 3x4' style shape words for labels: (3, 4) -> '3x4'."""
    return "x".join(str(n) for n in np.shape(a))


# ---------------------------------------------------------------------------- comparing
def is_real_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def compare(kind: str, expected: Any, value: Any, rtol: float, atol: float,
            equal_nan: bool = False, parts: tuple[str, ...] = ()) -> tuple[bool, str]:
    """(matches, what is wrong) for a returned value against an expected one."""
    if kind == "int":
        return _compare_int(expected, value)
    if kind == "float":
        return _compare_float(expected, value, rtol, atol, equal_nan)
    if kind == "tuple":
        return _compare_tuple(expected, value, parts, rtol, atol, equal_nan)
    return _compare_array(expected, value, rtol, atol, equal_nan)


def _compare_int(expected: int, value: Any) -> tuple[bool, str]:
    if not is_real_number(value):
        return False, f"expected the int {expected}, got {describe(value)}"
    if isinstance(value, (float, np.floating)):
        if value == expected:
            return False, (f"returned {value!r}, a float: return an int (use // or int() "
                           "once you know the division is whole)")
        return False, f"expected {expected}, got {value!r}"
    if value != expected:
        return False, f"expected {expected}, got {int(value)}"
    return True, ""


def _compare_float(expected: float, value: Any, rtol: float, atol: float,
                   equal_nan: bool) -> tuple[bool, str]:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not is_real_number(value):
        return False, f"expected a single float ({expected:.6g}), got {describe(value)}"
    if not np.isclose(float(value), expected, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return False, f"expected {expected:.6g}, got {float(value):.6g}"
    return True, ""


def _compare_array(expected: np.ndarray, value: Any, rtol: float, atol: float,
                   equal_nan: bool) -> tuple[bool, str]:
    expected = np.asarray(expected)
    if isinstance(value, (list, tuple)):
        try:
            as_array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            as_array = None
        if as_array is not None and as_array.shape == expected.shape and np.allclose(
                as_array, expected, rtol=rtol, atol=atol, equal_nan=equal_nan):
            return False, ("the values are right but you returned a Python "
                           f"{type(value).__name__}: return a numpy array (np.array(...))")
        return False, f"expected an array of shape {expected.shape}, got {describe(value)}"
    if not isinstance(value, np.ndarray):
        return False, f"expected an array of shape {expected.shape}, got {describe(value)}"
    if value.shape != expected.shape:
        return False, f"expected shape {expected.shape}, got shape {value.shape}"
    if value.dtype.kind not in "biuf":
        return False, f"expected numbers, got an array of dtype {value.dtype}"
    got = value.astype(np.float64)
    if np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return True, ""
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        return False, "your output contains nan or inf where the right answer is finite"
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=equal_nan)
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = f"at index {index}" if index else "the value"
    return False, (f"{int(wrong.sum())} of {wrong.size} values are wrong; the first is {where}: "
                   f"expected {expected[index]:.6g}, got {got[index]:.6g}")


def _compare_any(expected: Any, value: Any, rtol: float, atol: float,
                 equal_nan: bool) -> tuple[bool, str]:
    """One part of a tuple: an array, a nested tuple (a cache) or a plain number."""
    if isinstance(expected, tuple):
        names = tuple(f"[{i}]" for i in range(len(expected)))
        return _compare_tuple(expected, value, names, rtol, atol, equal_nan)
    if expected is None or isinstance(expected, (bool, np.bool_)):  # a flag kept in a cache
        same = value is None if expected is None else isinstance(value, (bool, np.bool_)) \
            and bool(value) == bool(expected)
        return (True, "") if same else (False, f"expected {expected!r}, got {describe(value)}")
    if is_real_number(expected):
        if not is_real_number(value) or value != expected:
            return False, f"expected {expected!r}, got {describe(value)}"
        return True, ""
    return _compare_array(expected, value, rtol, atol, equal_nan)


def _compare_tuple(expected: tuple, value: Any, parts: tuple[str, ...], rtol: float,
                   atol: float, equal_nan: bool) -> tuple[bool, str]:
    names = ", ".join(parts)
    if not isinstance(value, (tuple, list)) or len(value) != len(parts):
        return False, f"expected a tuple ({names}), got {describe(value)}"
    problems, right = [], []
    for name, want, got in zip(parts, expected, value, strict=True):
        ok, why = _compare_any(want, got, rtol, atol, equal_nan)
        if ok:
            right.append(name)
        else:
            problems.append(f"{name}: {why}")
    if not problems:
        return True, ""
    prefix = f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right; " if right \
        else ""
    return False, prefix + "; ".join(problems)


def describe(value: Any) -> str:
    """A short, address-free description of a returned value."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (bool, np.bool_)):
        return f"the bool {bool(value)}"
    if is_real_number(value):
        return f"the number {value!r}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return str(value)


def matches(ex: Exercise, wrong: Any, value: Any, rtol: float = 1e-5,
            atol: float = 1e-7) -> bool:
    """Whether a learner's value equals what a mistake gives (nan counts as equal)."""
    if wrong is None:
        return False
    try:
        return compare(ex.kind, wrong, value, rtol, atol, True, ex.parts)[0]
    except (TypeError, ValueError, IndexError):
        return False
