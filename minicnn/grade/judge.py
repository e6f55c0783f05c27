"""Judging: turn what the child reported into points and feedback that names the mistake."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from minicnn.grade._codec import decode
from minicnn.grade.spec import Case, Exercise, Outcome, compare, describe, matches

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")


@dataclass
class Verdict:
    """The judgement of one case."""

    ok: bool
    message: str = ""
    mistake: str = ""  # key of the named mistake, if any


@dataclass
class Result:
    """The grade of one function: what the JSON report and the table show."""

    exercise: str  # module name, e.g. "ex02_convolution"
    function: str
    number: str
    points: float
    max_points: float
    passed: bool
    feedback: str
    status: str  # passed, failed, not implemented, error, timeout, forbidden, missing
    mistakes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def clean(text: str) -> str:
    """Remove memory addresses so that feedback is the same on every run."""
    return _ADDRESS.sub("0x...", text)


def outcome_from(data: dict) -> Outcome:
    return Outcome(status=data.get("status", "raised"), value=decode(data.get("value")),
                   error=data.get("error", {}), changed=data.get("changed", {}),
                   pads=data.get("pads", []))


def judge_case(ex: Exercise, case: Case, out: Outcome) -> Verdict:
    """Is the learner's answer to this case right? If not, which mistake is likely?"""
    if ex.kind == "inplace":
        return _judge_inplace(ex, case, out)
    changed = _unexpected_change(ex, out)
    if out.status == "raised":
        if case.raises and out.error.get("value_error"):
            return Verdict(True)
        return _explain(ex, case, out, f"raised {clean(out.error_text)}")
    if case.raises:
        return _explain(ex, case, out, "expected a ValueError, but it returned "
                                       f"{_short(out.value)}")
    ok, why = compare(ex.kind, ex.expected(case), out.value, ex.rtol, ex.atol)
    if ok and not changed:
        return Verdict(True)
    if ok:
        index, message = changed
        return Verdict(False, message, f"changed_{ex.arg_names[index]}")
    if out.value is None:
        return Verdict(False, "returned None: did you forget the `return` statement?",
                       "returned_none")
    return _explain(ex, case, out, why, changed)


def _explain(ex: Exercise, case: Case, out: Outcome, why: str, changed=None) -> Verdict:
    for mistake in ex.mistakes:
        try:
            hit = (mistake.test is not None and bool(mistake.test(case, out))) or (
                mistake.output is not None and out.status == "returned"
                and matches(ex.kind, mistake.output(case), out.value, 1e-5, 1e-7))
        except Exception:  # a detector must never crash the grader
            hit = False
        if hit:
            return Verdict(False, f"likely mistake: {mistake.message}", mistake.key)
    if changed:
        index, message = changed
        return Verdict(False, f"{why}; also, {message}", f"changed_{ex.arg_names[index]}")
    return Verdict(False, why)


def _unexpected_change(ex: Exercise, out: Outcome):
    for key in sorted(out.changed):
        index = int(key)
        if index >= len(ex.arg_names):
            continue
        name = ex.arg_names[index]
        message = ex.change_messages.get(index, (
            f"your function changed its argument `{name}` in place: leave the inputs "
            "unchanged and return a new array"))
        return index, message
    return None


def _short(value) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return describe(value)


# ---------------------------------------------------------------------------- sgd_step
def _judge_inplace(ex: Exercise, case: Case, out: Outcome) -> Verdict:
    params, grads, lr = case.args
    if out.status == "raised":
        return Verdict(False, f"raised {clean(out.error_text)}")
    if "1" in out.changed:
        return Verdict(False, "your sgd_step changed the gradients: only params change",
                       "changed_grads")
    entry = out.changed.get("0")
    if entry is None:
        return Verdict(False, "likely mistake: the arrays in params are unchanged. "
                       "`p = p - learning_rate * g` only makes the name p point to a new "
                       "array; update the array itself: p -= learning_rate * g (or "
                       "p[...] = ...)", "rebinds_name")
    if any(entry.get("replaced", [])) or entry.get("length") != len(params):
        return Verdict(False, "likely mistake: you replaced the entries of the list params "
                       "(params[i] = ...): the layers still hold the old arrays, which did not "
                       "change; update each array in place with -=", "replaced_entries")
    after = [p if v is None else decode(v) for p, v in zip(params, entry["originals"],
                                                            strict=True)]
    right = ex.expected(case)
    candidates = (
        ("gradient_ascent", "the parameters moved along the gradient: subtract "
         "learning_rate * grad", [p + lr * g for p, g in zip(params, grads, strict=True)]),
        ("ignored_learning_rate", "the learning rate is missing: subtract "
         "learning_rate * grad, not grad", [p - g for p, g in zip(params, grads, strict=True)]),
        ("only_first", "only the first array changed: update every array in the list "
         "(is there a return inside your loop?)", [right[0], *params[1:]]),
    )
    if _all_close(after, right):
        return Verdict(True)
    for key, message, wrong in candidates:
        if _all_close(after, wrong):
            return Verdict(False, f"likely mistake: {message}", key)
    return Verdict(False, "the updated parameters have wrong values: expected "
                   "param - learning_rate * grad")


def _all_close(got: list, want: list) -> bool:
    return all(isinstance(g, np.ndarray) and g.shape == np.shape(w)
               and np.allclose(g, w, rtol=1e-6, atol=1e-9) for g, w in zip(got, want,
                                                                           strict=True))


# ---------------------------------------------------------------------------- a function
def grade_function(ex: Exercise, report: dict | None, failure: str = "",
                   status: str = "") -> Result:
    """Grade one function from the child's report (or from a failure message)."""
    def result(points, passed, feedback, status, mistakes=()):
        return Result(ex.module, ex.function, ex.number, round(points, 2), ex.points, passed,
                      clean(feedback), status, list(mistakes))

    if failure:
        return result(0.0, False, failure, status or "error")
    if report is None or report.get("missing"):
        return result(0.0, False, f"there is no function `{ex.function}` in "
                      f"{ex.module}.py: keep the name and signature of the starter file",
                      "missing")
    used = _forbidden(ex, report.get("used", []))
    if used:
        return forbidden_result(ex, f"it got its answer from {used}")
    outcomes = [outcome_from(d) for d in report["results"]]
    if any(o.error.get("not_implemented") for o in outcomes if o.status == "raised"):
        return result(0.0, False, f"not implemented yet: replace the line "
                      f"`raise NotImplementedError(\"{ex.marker}\")` in {ex.module}.py with "
                      f"your code. Task: {ex.task}.", "not implemented")
    verdicts = [judge_case(ex, c, o) for c, o in zip(ex.cases, outcomes, strict=True)]
    n_ok = sum(v.ok for v in verdicts)
    if n_ok == len(verdicts):
        return result(ex.points, True, f"passed all {n_ok} checks", "passed")
    failed = [(c, v) for c, v in zip(ex.cases, verdicts, strict=True) if not v.ok]
    named = [(c, v) for c, v in failed if v.mistake]
    shown = (named or failed)[0]
    lines = [f"{n_ok} of {len(verdicts)} checks passed. With {shown[0].label}: "
             f"{shown[1].message}"]
    others = sorted({v.mistake for _, v in named} - {shown[1].mistake})
    if others:
        lines.append(f"(also seen: {', '.join(k.replace('_', ' ') for k in others)})")
    memory = [o for o in outcomes if o.error.get("memory")]
    if memory:
        lines.append("(it ran out of memory: the grader allows 2 GiB)")
    mistakes = sorted({v.mistake for _, v in named})
    return result(ex.points * n_ok / len(verdicts), False, " ".join(lines), "failed", mistakes)


def forbidden_result(ex: Exercise, reason: str) -> Result:
    """Zero points for a function that used forbidden code (``reason`` says which)."""
    return Result(ex.module, ex.function, ex.number, 0.0, ex.points, False,
                  clean(f"scores 0: {reason}; the graded functions must do the work "
                        "themselves with numpy"), "forbidden", ["forbidden_library"])


def _forbidden(ex: Exercise, used: list[str]) -> str:
    hits = [u for u in used if not u.startswith("numpy:") or ex.numpy_convolution_banned]
    return "; ".join(sorted(hits)[:3])
