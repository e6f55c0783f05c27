"""Chapter 03, the output-size formula: ``output_size``."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, is_real_number

MODULE = "ex03_output_size"


# ---------------------------------------------------------------------------- reference
def output_size(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> int:
    """(W - F + 2P) / S + 1, or ValueError when it is not a whole number or out of range."""
    if input_size < 1 or filter_size < 1 or stride < 1 or padding < 0:
        raise ValueError("argument out of range")
    span = input_size - filter_size + 2 * padding
    if span < 0 or span % stride:
        raise ValueError("the filter does not tile the input")
    return span // stride + 1


# ---------------------------------------------------------------------------- 3.1


def _size_cases() -> tuple[Case, ...]:
    ok = [((10, 2), {}), ((10, 2), {"stride": 2}), ((5, 3), {"stride": 2, "padding": 1}),
          ((32, 5), {"stride": 1, "padding": 2}), ((7, 3), {"stride": 2}),
          ((3, 5), {"padding": 1}), ((28, 28), {})]
    bad = [((6, 3), {"stride": 2, "padding": 1}, "fraction"),
           ((10, 3), {"stride": 2}, "fraction"), ((3, 5), {}, "too_big"),
           ((10, 2), {"stride": 0}, "range"), ((10, 2), {"padding": -1}, "range"),
           ((0, 1), {}, "range")]
    cases = [Case(_call_label(a, k), a, k) for a, k in ok]
    cases += [Case(_call_label(a, k) + " (should raise ValueError)", a, k, raises=True, tag=t)
              for a, k, t in bad]
    return tuple(cases)


def _call_label(args: tuple, kwargs: dict) -> str:
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
    return f"output_size({', '.join(parts)})"


def _formula(case: Case, padding_factor: int = 2, plus_one: int = 1, use_padding=True):
    w, f = case.args
    s, p = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0) if use_padding else 0
    if s < 1:
        return None
    return (w - f + padding_factor * p) / s + plus_one


def _returned_number_for(tag: str):
    return lambda c, o: c.tag == tag and o.status == "returned"


def _returned(formula):
    def test(case: Case, out: Outcome) -> bool:
        if case.raises or out.status != "returned" or not is_real_number(out.value):
            return False
        want = formula(case)
        right = output_size(*case.args, **case.kwargs)
        return want is not None and want != right and abs(float(out.value) - want) < 1e-9
    return test


OUTPUT_SIZE = Exercise(
    "3.1", MODULE, "output_size", 1.0,
    "return (W - F + 2P) / S + 1 as an int, and raise ValueError when it is not whole or an "
    "argument is out of range", ("input_size", "filter_size", "stride", "padding"),
    _size_cases(), output_size, kind="int",
    mistakes=(
        Mistake("no_error_non_integer", "no error for a configuration that does not tile "
                "the input: when (W - F + 2P) is not divisible by the stride, raise "
                "ValueError instead of rounding", test=_returned_number_for("fraction")),
        Mistake("no_error_filter_too_big", "no error when the filter is larger than the "
                "padded input (W - F + 2P < 0): raise ValueError",
                test=_returned_number_for("too_big")),
        Mistake("no_error_out_of_range", "no error for an argument out of range: raise "
                "ValueError when input_size or filter_size < 1, stride < 1 or padding < 0",
                test=_returned_number_for("range")),
        Mistake("wrong_exception", "the right case fails, but with the wrong exception: "
                "check the arguments yourself and raise ValueError with a message",
                test=lambda c, o: c.raises and o.status == "raised"
                and not o.error.get("value_error")),
        Mistake("returns_float", "you return a float (the / operator always does): return "
                "an int, e.g. with // once you know the division is whole",
                test=lambda c, o: not c.raises and isinstance(o.value, (float, np.floating))
                and o.value == output_size(*c.args, **c.kwargs)),
        Mistake("padding_ignored", "the padding is ignored: use (W - F + 2 * padding)",
                test=_returned(lambda c: _formula(c, use_padding=False))),
        Mistake("padding_once", "the padding is counted once: zeros go on both sides, so "
                "add 2 * padding", test=_returned(lambda c: _formula(c, padding_factor=1))),
        Mistake("missing_plus_one", "the + 1 is missing: the first position counts too",
                test=_returned(lambda c: _formula(c, plus_one=0))),
    ),
)

EXERCISES = (OUTPUT_SIZE,)
