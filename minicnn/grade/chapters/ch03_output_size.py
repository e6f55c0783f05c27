"""Chapter 03, the output-size formula: ``output_size``."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, is_real_number, seeded, with_traits

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
    ok += [((7, 3), {"stride": 3, "padding": 1}), ((1, 1), {}), ((2, 4), {"padding": 1}),
           ((9, 3), {"stride": 3, "padding": 3})]
    bad += [((10, 0), {}, "range"), ((10, 2), {"stride": -2}, "range"),
            ((-4, 2), {}, "range"), ((10, -3), {"padding": 2}, "range"),
            ((6, 3), {"stride": 3, "padding": 1}, "fraction"),
            ((2, 5), {"padding": 1}, "too_big")]
    ok, bad = ok + _wide_ok(), bad + _wide_bad()
    cases = [Case(_call_label(a, k), a, k) for a, k in ok]
    cases += [Case(_call_label(a, k) + " (should raise ValueError)", a, k, raises=True, tag=t)
              for a, k, t in bad]
    return with_traits(cases, _size_traits)


def _wide_ok() -> list:
    """Seeded settings that tile: sizes up to 64, strides up to 4, padding up to 3."""
    r = seeded(f"{MODULE}.output_size")
    found = []
    while len(found) < 16:
        f, s, p = int(r.integers(1, 8)), int(r.integers(1, 5)), int(r.integers(0, 4))
        w = (int(r.integers(0, 12))) * s + f - 2 * p
        if w >= 1:
            found.append(((w, f), {"stride": s, "padding": p}))
    return found


def _wide_bad() -> list:
    """Seeded settings to refuse: fractions, filters too big, each argument out of range."""
    r = seeded(f"{MODULE}.output_size.bad")
    found = []
    while len(found) < 8:
        w, f, s, p = (int(r.integers(4, 40)), int(r.integers(1, 6)), int(r.integers(2, 5)),
                      int(r.integers(0, 3)))
        if (w - f + 2 * p) % s:
            found.append(((w, f), {"stride": s, "padding": p}, "fraction"))
    found += [((3, 9), {"padding": 2}, "too_big"), ((5, 2), {"stride": -1}, "range"),
              ((0, 0), {}, "range"), ((8, 2), {"padding": -3}, "range")]
    return found


def _size_traits(case: Case) -> list[str]:
    w, f = case.args
    s, p = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
    traits = []
    if f < 1:
        traits.append(f"filter_size={f}, below 1")
    if s < 0:
        traits.append(f"a negative stride ({s})")
    if s == 0:
        traits.append("stride=0")
    if w < 1:
        traits.append(f"input_size={w}, below 1")
    if p < 0:
        traits.append("a negative padding")
    if f > w and f <= w + 2 * p:
        traits.append("a filter larger than the input but not than the padded input")
    if s > 0 and p > 0 and (w - f) % s and not (w - f + 2 * p) % s:
        traits.append("a stride that divides W - F + 2P but not W - F")
    if case.tag == "fraction":
        traits.append("a stride that does not divide W - F + 2P")
    if p > 0:
        traits.append("padding")
    return traits


def _call_label(args: tuple, kwargs: dict) -> str:
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
    return f"output_size({', '.join(parts)})"


def _formula(case: Case, padding_factor: int = 2, plus_one: int = 1, use_padding=True):
    """What a wrong formula gives, divided with / and with // (a learner writes either)."""
    w, f = case.args
    s, p = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0) if use_padding else 0
    if s < 1:
        return None
    span = w - f + padding_factor * p
    return span / s + plus_one, span // s + plus_one


def _refused(condition):
    """A ValueError on a valid case whose arguments meet ``condition(w, f, s, p)``."""
    def test(case: Case, out: Outcome) -> bool:
        w, f = case.args
        s, p = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
        return (not case.raises and out.status == "raised"
                and bool(out.error.get("value_error")) and condition(w, f, s, p))
    return test


def _tiling_without_padding(case: Case, out: Outcome) -> bool:
    w, f = case.args
    s, p = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
    if s < 1 or p < 1 or w < 1 or f < 1:
        return False
    if case.raises:
        return case.tag == "fraction" and out.status == "returned" and (w - f) % s == 0
    return _refused(lambda *_: (w - f) % s != 0)(case, out)


def _returned_number_for(tag: str):
    return lambda c, o: c.tag == tag and o.status == "returned"


def _returned(formula):
    def test(case: Case, out: Outcome) -> bool:
        if case.raises or out.status != "returned" or not is_real_number(out.value):
            return False
        wants = formula(case)
        right = output_size(*case.args, **case.kwargs)
        return wants is not None and any(want != right and abs(float(out.value) - want) < 1e-9
                                         for want in wants)
    return test


OUTPUT_SIZE = Exercise(
    "3.1", MODULE, "output_size", 1.0,
    "return (W - F + 2P) / S + 1 as an int, and raise ValueError when it is not whole or an "
    "argument is out of range", ("input_size", "filter_size", "stride", "padding"),
    _size_cases(), output_size, kind="int",
    mistakes=(
        Mistake("filter_size_not_checked", "no error for a filter_size below 1: raise "
                "ValueError when filter_size < 1, as for the other arguments",
                test=lambda c, o: c.tag == "range" and c.args[1] < 1 and c.args[0] >= 1
                and o.status == "returned"),
        Mistake("negative_stride_not_checked", "no error for a negative stride: a stride "
                "must be at least 1, so refuse stride < 1 (not only stride == 0)",
                test=lambda c, o: c.tag == "range" and c.kwargs.get("stride", 1) < 0
                and o.status == "returned"),
        Mistake("too_big_ignores_padding", "you refused a filter larger than the input, but "
                "the padding makes room: refuse it only when W - F + 2P < 0",
                test=_refused(lambda w, f, s, p: w < f <= w + 2 * p)),
        Mistake("tiling_ignores_padding", "your tiling check leaves out the padding: the "
                "stride must divide W - F + 2P, not W - F",
                test=_tiling_without_padding),
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
