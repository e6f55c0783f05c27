"""What a graded exercise is: its cases, its reference answer and its known mistakes.

A :class:`Case` is one call (arguments and a label a learner can read). An :class:`Outcome` is
what the learner's function did with it in the child process. A :class:`Mistake` knows what a
learner who made that mistake would have returned (``output``) or recognises it from the
outcome (``test``), and says so in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass(frozen=True)
class Mistake:
    """A known mistake: what it returns (``output``) or how to recognise it (``test``)."""

    key: str
    message: str
    output: Callable[[Case], Any] | None = None
    test: Callable[[Case, Outcome], bool] | None = None


@dataclass(frozen=True)
class Exercise:
    """One graded function."""

    number: str  # "2.1"
    module: str  # "ex02_convolution"
    function: str  # "convolve"
    points: float
    task: str  # one line: what to write
    arg_names: tuple[str, ...]
    cases: tuple[Case, ...]
    reference: Callable[..., Any]
    mistakes: tuple[Mistake, ...] = ()
    kind: str = "array"  # "array", "int", "float", "pair" or "inplace"
    rtol: float = 1e-6
    atol: float = 1e-8
    change_messages: dict = field(default_factory=dict)  # arg index -> message
    numpy_convolution_banned: bool = False

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    @property
    def marker(self) -> str:
        return f"Exercise {self.number}: {self.function}"

    def expected(self, case: Case) -> Any:
        return case.call(self.reference)


# ---------------------------------------------------------------------------- comparing
def is_real_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def compare(kind: str, expected: Any, value: Any, rtol: float, atol: float,
            equal_nan: bool = False) -> tuple[bool, str]:
    """(matches, what is wrong) for a returned value against an expected one."""
    if kind == "int":
        return _compare_int(expected, value)
    if kind == "float":
        return _compare_float(expected, value, rtol, atol, equal_nan)
    if kind == "pair":
        return _compare_pair(expected, value, rtol, atol, equal_nan)
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
    diff = np.abs(got - expected)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return False, (f"wrong values: at index {tuple(int(i) for i in index)} expected "
                   f"{expected[index]:.6g}, got {got[index]:.6g}")


def _compare_pair(expected: tuple, value: Any, rtol: float, atol: float,
                  equal_nan: bool) -> tuple[bool, str]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False, f"expected a pair (dimage, dfilters), got {describe(value)}"
    problems = []
    for name, want, got in zip(("dimage", "dfilters"), expected, value, strict=True):
        ok, why = _compare_array(want, got, rtol, atol, equal_nan)
        if not ok:
            problems.append(f"{name}: {why}")
    if problems:
        right = [n for n in ("dimage", "dfilters") if not any(p.startswith(n) for p in problems)]
        prefix = f"{right[0]} is right; " if right else ""
        return False, prefix + "; ".join(problems)
    return True, ""


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


def matches(kind: str, wrong: Any, value: Any, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """Whether a learner's value equals what a mistake gives (nan counts as equal)."""
    if wrong is None:
        return False
    try:
        return compare(kind, wrong, value, rtol, atol, equal_nan=True)[0]
    except (TypeError, ValueError, IndexError):
        return False
