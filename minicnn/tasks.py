"""Predict first, then check: the small tasks inside the notebooks.

A notebook poses a question, the learner writes an answer in a cell and runs it; the task says
whether it is right and, when it is not, what is wrong with it, without showing the answer at
first. Each wrong try gives a little more help; the third shows the answer and why::

    task = Task("The value at row 1, column 2 of the feature map",
                answer=lambda: feature_map[1, 2],
                hint="Lay the filter on the 3 x 3 patch whose top-left corner is (1, 2), "
                     "multiply cell by cell and add the nine products.",
                mistakes={0: "0 is what an empty patch gives: check which patch you used."})
    task.check(...)          # the learner replaces ... with a number

``answer`` may be a value or a function that computes it (so the notebook's code, not a number
typed into the cell, decides what is right). Answers can be numbers, shapes (tuples), arrays or
short words ("yes", "b").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

#: Wrong tries before the answer is shown.
TRIES_BEFORE_ANSWER = 3


def _as_array(value):
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _same(guess, answer, rtol: float, atol: float) -> bool:
    if isinstance(answer, str):
        return isinstance(guess, str) and guess.strip().lower() == answer.strip().lower()
    if isinstance(answer, tuple):
        return (isinstance(guess, (tuple, list)) and len(guess) == len(answer)
                and all(_same(g, a, rtol, atol) for g, a in zip(guess, answer, strict=True)))
    g, a = _as_array(guess), _as_array(answer)
    if g is None or a is None or g.shape != a.shape:
        return False
    return bool(np.allclose(g, a, rtol=rtol, atol=atol))


class Task:
    """One question with a checked answer.

    Parameters
    ----------
    question : str
        What is asked, in a few words (shown in every reply).
    answer : value or callable
        The right answer, or a function of no arguments that computes it.
    hint : str
        Help given with the first wrong try.
    mistakes : mapping or sequence of pairs, optional
        ``{wrong answer: what it suggests}`` (or ``[(wrong array, what it suggests), ...]``
        when the wrong answers are arrays) for mistakes worth naming.
    explain : str, optional
        Why the answer is what it is: shown when the answer is right or finally shown.
    rtol, atol : float
        How close a number must be (answers rounded to two decimals pass by default).
    """

    def __init__(self, question: str, answer: Any | Callable[[], Any], *, hint: str,
                 mistakes: Mapping[Any, str] | list[tuple[Any, str]] | None = None,
                 explain: str = "",
                 rtol: float = 1e-3, atol: float = 0.006):
        self.question, self.hint, self.explain = question, hint, explain
        self._answer = answer
        pairs = mistakes.items() if isinstance(mistakes, Mapping) else (mistakes or [])
        self.mistakes = [(wrong, why) for wrong, why in pairs]
        self.rtol, self.atol = rtol, atol
        self.tries = 0
        self.solved = False

    @property
    def answer(self):
        """The right answer (computed on first use when given as a function)."""
        if callable(self._answer):
            self._answer = self._answer()
        if isinstance(self._answer, np.generic):
            self._answer = self._answer.item()
        return self._answer

    def check(self, guess: Any) -> None:
        """Print whether ``guess`` is right, and help when it is not (``solved`` says which).

        Returns nothing, so that the cell shows the reply alone."""
        print(self.reply(guess))

    def reply(self, guess: Any) -> str:
        """The text :meth:`check` prints (and counts the try)."""
        if guess is None or guess is Ellipsis:
            return f"{self.question}: write your answer in place of `...`, then run the cell again."
        answer = self.answer
        if _same(guess, answer, self.rtol, self.atol):
            self.solved = True
            return f"Right: {self._q()} is {self._show(answer)}." + self._why()
        self.tries += 1
        an_array = np.ndim(guess) and not isinstance(guess, (tuple, str))
        shown = "that" if an_array else self._show(guess)
        lines = [f"Not yet: {shown} is not {self._q()}."]
        lines += self._what_is_wrong(guess, answer)
        left = TRIES_BEFORE_ANSWER - self.tries
        if left <= 0:
            lines.append(f"The answer is {self._show(answer)}." + self._why())
        else:
            lines.append(f"Hint: {self.hint}")
            lines.append("One more try, then the answer is shown." if left == 1
                         else f"{left} more tries before the answer is shown.")
        return "\n".join(lines)

    def _q(self) -> str:
        return self.question[:1].lower() + self.question[1:]

    def _why(self) -> str:
        return f" {self.explain}" if self.explain else ""

    def _what_is_wrong(self, guess, answer) -> list[str]:
        for wrong, why in self.mistakes:
            if _same(guess, wrong, self.rtol, self.atol):
                return [why]
        if isinstance(answer, str):
            return []
        if isinstance(answer, tuple):
            if not isinstance(guess, (tuple, list)):
                return [f"The answer is a shape: {len(answer)} numbers in brackets, like (3, 3)."]
            if len(guess) != len(answer):
                return [f"The answer has {len(answer)} numbers; yours has {len(guess)}."]
            wrong = [i for i, (g, a) in enumerate(zip(guess, answer, strict=True))
                     if not _same(g, a, self.rtol, self.atol)]
            names = ", ".join(("first", "second", "third", "fourth")[i] for i in wrong[:4])
            return [f"The {names} number {'is' if len(wrong) == 1 else 'are'} off."]
        g, a = _as_array(guess), _as_array(answer)
        if g is None:
            kind = f"an array of shape {a.shape}" if a.ndim else "a number"
            return [f"The answer is {kind}, not {type(guess).__name__}."]
        if g.shape != a.shape:
            return [f"The answer has shape {a.shape}; yours has shape {g.shape}."]
        if a.ndim == 0:
            if not math.isfinite(float(g)):
                return ["That is not a finite number."]
            return ["Too high." if float(g) > float(a) else "Too low."]
        bad = np.argwhere(~np.isclose(g, a, rtol=self.rtol, atol=self.atol))
        first = tuple(int(i) for i in bad[0])
        return [f"{len(bad)} of {a.size} values are off, the first at position {first}."]

    @staticmethod
    def _show(value) -> str:
        if isinstance(value, str):
            return repr(value)
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.4g}"
        if isinstance(value, np.ndarray):
            return np.array2string(value, precision=3, suppress_small=True)
        return str(value)

    def __repr__(self) -> str:
        state = "solved" if self.solved else f"{self.tries} wrong tries"
        return f"Task({self.question!r}, {state})"
