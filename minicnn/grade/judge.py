"""Judging: turn what the child reported into points and feedback that names the mistake."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from minicnn.grade._codec import decode
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, Verdict, describe, matches

__all__ = ["Result", "Verdict", "clean", "forbidden_result", "grade_function", "judge_case"]

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")


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
    if ex.judge is not None:
        return ex.judge(ex, case, out)
    changed = _unexpected_change(ex, out)
    if out.status == "raised":
        if case.raises and out.error.get("value_error"):
            return _names_argument(case, out)
        return _explain(ex, case, out, "your function raised an error on this input: "
                        f"{clean(out.error_text)}")
    if case.raises:
        return _explain(ex, case, out, "expected a ValueError, but it returned "
                                       f"{_short(out.value)}")
    expected = ex.expected(case)
    ok, why = ex.compare(expected, out.value, case=case)
    if ok and not changed:
        return Verdict(True)
    if ok:
        index, message = changed
        return Verdict(False, message, f"changed_{ex.arg_names[index]}")
    if out.value is None:
        return Verdict(False, "returned None: did you forget the `return` statement?",
                       "returned_none")
    verdict = _explain(ex, case, out, why, changed)
    verdict.credit = ex.credit(expected, out.value, case)
    return verdict


def _names_argument(case: Case, out: Outcome) -> Verdict:
    """A ValueError is right; when the case says which argument is wrong, so must it."""
    message = out.error.get("message", "")
    if not case.names or case.names in message:
        return Verdict(True)
    shown = f"'{clean(message)[:80]}'" if message else "no message"
    return Verdict(False, f"the ValueError is right, but its message ({shown}) does not name "
                   f"the argument `{case.names}`: say which argument is wrong and show its "
                   f"value, e.g. f\"{case.names}={{{case.names}!r}} ...\"",
                   "error_not_named")


def _explain(ex: Exercise, case: Case, out: Outcome, why: str, changed=None) -> Verdict:
    hits = [mistake for mistake in ex.mistakes if _explains(ex, mistake, case, out)]
    if hits:  # the first for now; grade_function may prefer one that explains more cases
        return Verdict(False, f"likely mistake: {hits[0].message}", hits[0].key, plain=why,
                       candidates=tuple(m.key for m in hits))
    if changed:
        index, message = changed
        return Verdict(False, f"{why}; also, {message}", f"changed_{ex.arg_names[index]}")
    return Verdict(False, why)


def _explains(ex: Exercise, mistake, case: Case, out: Outcome) -> bool:
    """Does ``mistake`` explain the outcome? (An ``output`` model gives the wrong value of a
    case that returns one; it says nothing about a case that must raise.)"""
    try:
        return (mistake.test is not None and bool(mistake.test(case, out))) or (
            mistake.output is not None and out.status == "returned" and not case.raises
            and matches(ex, mistake.output(case), out.value))
    except Exception:  # a detector must never crash the grader
        return False


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
    outcomes = [outcome_from(d) for d in report.get("results", [])][:len(ex.cases)]
    if any(o.error.get("not_implemented") for o in outcomes if o.status == "raised"):
        return result(0.0, False, f"not implemented yet: replace the line "
                      f"`raise NotImplementedError(\"{ex.marker}\")` in {ex.module}.py with "
                      f"your code. Task: {ex.task}.", "not implemented")
    if ex.separate_parts and len(outcomes) == len(ex.cases):
        return _grade_parts(ex, outcomes, result)
    return _grade_outcomes(ex, outcomes, report, result)


def _grade_outcomes(ex: Exercise, outcomes: list[Outcome], report: dict, result) -> Result:
    verdicts = [judge_case(ex, c, o) for c, o in zip(ex.cases, outcomes, strict=False)]
    n_ok = sum(v.ok for v in verdicts)
    earned = sum(v.share for v in verdicts)
    points = ex.points * earned / len(ex.cases)
    _prefer_most_telling(ex, verdicts)
    _prefer_broader(ex, verdicts)
    graded = list(zip(ex.cases, verdicts, strict=False))
    if len(outcomes) < len(ex.cases):  # the child stopped (a time-out) before the end
        return _stopped(ex, graded, report, points, result)
    if n_ok == len(verdicts):
        return result(ex.points, True, f"passed all {n_ok} checks", "passed")
    failed = [(c, v) for c, v in graded if not v.ok]
    named = [(c, v) for c, v in failed if v.mistake]
    # Shown: the function's main job first (what it returns, then what it refuses); there, a
    # named mistake, the one that explains the most cases, on a case nothing else explains.
    pool = [(c, v) for c, v in failed if not c.raises] or failed
    explained = [v.mistake for _, v in named]
    shown = min(pool, key=lambda cv: (not cv[1].mistake, -explained.count(cv[1].mistake),
                                      len(cv[1].candidates) > 1))
    lines = [f"{n_ok} of {len(verdicts)} checks passed. With {shown[0].label}: "
             f"{shown[1].message}"]
    hint = _hint(graded, shown[0], named=bool(shown[1].mistake))
    if hint:
        lines.append(hint)
    others = sorted({v.mistake for _, v in named} - {shown[1].mistake})
    if others:
        lines.append(f"(also seen: {', '.join(k.replace('_', ' ') for k in others)})")
    if earned > n_ok:
        lines.append("(partial credit for the parts of the answers that are right)")
    memory = [o for o in outcomes if o.error.get("memory")]
    if memory:
        lines.append("(it ran out of memory: the grader allows 2 GiB)")
    mistakes = sorted({v.mistake for _, v in named})
    return result(points, False, " ".join(lines), "failed", mistakes)


def _grade_parts(ex: Exercise, outcomes: list[Outcome], result) -> Result:
    """A tuple answer graded part by part: each part (dx, dw, db) its own checks, points and
    feedback line, so that a learner knows which part is wrong."""
    lines, points, mistakes, right = [], 0.0, set(), []
    expected = {_key(c.args): ex.expected(c) for c in ex.cases}
    for i, (name, share) in enumerate(zip(ex.parts, ex.part_credit, strict=True)):
        part = _part_exercise(ex, i, outcomes, expected)
        got = _grade_outcomes(part, [_part_outcome(o, i, len(ex.parts)) for o in outcomes],
                              {}, result)
        points += got.points
        mistakes |= set(got.mistakes)
        if got.passed:
            right.append(name)
        lines.append(f"{name} ({_number(share * ex.points)} of {_number(ex.points)} points): "
                     f"{got.feedback}")
    passed = len(right) == len(ex.parts)
    if passed:
        return result(ex.points, True, f"passed all {len(ex.cases)} checks of "
                      f"{', '.join(ex.parts[:-1])} and {ex.parts[-1]}", "passed")
    wrong = [name for name in ex.parts if name not in right]
    if right:
        lines.insert(0, f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right; "
                     f"{' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not:")
    return result(points, False, "\n".join(lines), "failed", sorted(mistakes))


def _number(x: float) -> str:
    return f"{round(x, 2):g}"


def _part_exercise(ex: Exercise, i: int, outcomes: list[Outcome], expected: dict) -> Exercise:
    """Item ``i`` of the tuple as an exercise of its own: its reference (the whole answers in
    ``expected``, worked out once for all the parts), its mistakes."""
    name = ex.parts[i]
    whole = {id(c): o for c, o in zip(ex.cases, outcomes, strict=True)}

    def item(value):
        return value[i] if isinstance(value, (tuple, list)) and len(value) == len(
            ex.parts) else None

    def project(m: Mistake) -> Mistake:
        """A part's mistake is judged on its item; any other is a mistake of the whole
        answer, named on each wrong part only when the whole answer is what it gives."""
        if m.parts:
            output = None if m.output is None else (lambda c, f=m.output: item(f(c)))
            test = None if m.test is None else (lambda c, o, f=m.test: f(c, whole[id(c)]))
            return dataclasses.replace(m, output=output, test=test)

        return dataclasses.replace(m, output=None,
                                   test=lambda c, o: _explains(ex, m, c, whole[id(c)]))

    mistakes = tuple(project(m) for m in ex.mistakes if not m.parts or name in m.parts)
    return dataclasses.replace(ex, kind="array", parts=(), part_credit=(),
                               points=ex.points * ex.part_credit[i], separate_parts=False,
                               reference=lambda *a, **k: expected[_key(a)][i],
                               mistakes=mistakes)


def _key(args: tuple) -> tuple:
    return tuple(id(a) for a in args)


def _part_outcome(out: Outcome, i: int, n: int) -> Outcome:
    """What the learner returned as item ``i`` (the whole value when it is no n-tuple)."""
    value = out.value
    if out.status == "returned" and isinstance(value, (tuple, list)) and len(value) == n:
        value = value[i]
    return dataclasses.replace(out, value=value)


def _prefer_broader(ex: Exercise, verdicts: list[Verdict]) -> None:
    """Rename a finer mistake to the broader one it ``yields_to`` when that one is seen too."""
    seen = {v.mistake for v in verdicts}
    by_key = {m.key: m for m in ex.mistakes}
    if not any(v.ok for v in verdicts):
        for v in verdicts:
            if v.mistake in by_key and by_key[v.mistake].needs_a_pass:
                v.mistake, v.message = "", v.plain
    for v in verdicts:
        finer = by_key.get(v.mistake)
        if finer is not None and finer.yields_to and finer.yields_to in seen:
            v.mistake = finer.yields_to
            v.message = f"likely mistake: {by_key[finer.yields_to].message}"


def _prefer_most_telling(ex: Exercise, verdicts: list[Verdict]) -> None:
    """Where several known mistakes explain a case, name the one that explains the most
    failing cases (the first in the chapter's list on a tie).

    A mistake often explains a few cases by coincidence (padding on one side only gives the
    unpadded size for some settings); the learner's own mistake explains nearly all of them.
    """
    by_key = {m.key: m for m in ex.mistakes}
    order = {m.key: i for i, m in enumerate(ex.mistakes)}
    anything_passed = any(v.ok for v in verdicts)
    counts: dict[str, int] = {}
    for v in verdicts:  # a mistake recognised from an error alone needs a passing case
        v.candidates = tuple(k for k in v.candidates
                             if anything_passed or not by_key[k].needs_a_pass)
        for key in v.candidates:
            counts[key] = counts.get(key, 0) + 1
    for v in verdicts:
        if v.candidates and v.mistake in by_key:
            best = min(v.candidates, key=lambda k: (-counts[k], order[k]))
            v.mistake, v.message = best, f"likely mistake: {by_key[best].message}"


def _hint(graded: list, shown: Case, named: bool = False) -> str:
    """What the failing input has that no passing one had, in a learner's words (beside a
    named mistake, only a trait that every failing input shares)."""
    # like with like: a case that must raise passes for other reasons than one that returns
    alike = [(c, v) for c, v in graded if c.raises == shown.raises]
    passing = {t for c, v in alike if v.ok for t in c.traits}
    if not any(v.ok for _, v in alike):
        return ""
    failing = [c for c, v in alike if not v.ok]
    common = [t for t in shown.traits if t not in passing
              and all(t in c.traits for c in failing)]
    if common:
        return (f"Hint: every failing check has {' and '.join(common[:2])}, and none of the "
                "passing ones does.")
    own = [t for t in shown.traits if t not in passing]
    if own and not named:
        return f"Hint: this input has {own[0]}, which none of the passing ones has."
    return ""


def _stopped(ex: Exercise, graded: list, report: dict, points: float, result) -> Result:
    """A function that hung on one case: name that case, keep the credit of those before."""
    hung = ex.cases[len(graded)]
    n_ok = sum(v.ok for _, v in graded)
    seconds = report.get("timeout", 0)
    lines = [f"stopped after {seconds:.0f} s on the check with {hung.label}: "
             f"{ex.function} did not return (an endless loop?); the checks take well under "
             f"a second. {n_ok} of the {len(graded)} checks before it passed; the "
             f"{len(ex.cases) - len(graded)} from it on score 0."]
    named = [(c, v) for c, v in graded if not v.ok and v.mistake]
    if named:
        lines.append(f"Before it, with {named[0][0].label}: {named[0][1].message}")
    if hung.traits:
        lines.append(f"(that input has {hung.traits[0]})")
    return result(points, False, " ".join(lines), "timeout",
                  sorted({v.mistake for _, v in named}))


def forbidden_result(ex: Exercise, reason: str) -> Result:
    """Zero points for a function that used forbidden code (``reason`` says which)."""
    return Result(ex.module, ex.function, ex.number, 0.0, ex.points, False,
                  clean(f"scores 0: {reason}; the graded functions must do the work "
                        "themselves with numpy"), "forbidden", ["forbidden_library"])


def _forbidden(ex: Exercise, used: list[str]) -> str:
    hits = [u for u in used if not u.startswith("numpy:") or ex.numpy_convolution_banned]
    return "; ".join(sorted(hits)[:3])
