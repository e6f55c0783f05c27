"""Chapter 04, ReLU: ``relu`` and ``relu_backward``."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome

MODULE = "ex04_relu"


# ---------------------------------------------------------------------------- reference
def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x)."""
    x = np.asarray(x)
    return np.where(x > 0, x, 0.0 * x)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dout where x > 0, else 0."""
    return np.where(np.asarray(x) > 0, dout, 0.0)


# ---------------------------------------------------------------------------- mistakes


def _leaky(expected_positive):
    """Recognise a constant slope 0 < a < 1 where the answer is 0 (a leaky ReLU)."""
    def test(case: Case, out: Outcome) -> bool:
        v = out.value
        base, positive = expected_positive(case)
        if not isinstance(v, np.ndarray) or v.shape != base.shape or v.dtype.kind not in "iuf":
            return False
        neg = ~positive & (base != 0)
        if not neg.any() or not np.allclose(v[positive], base[positive]):
            return False
        ratios = v[neg] / base[neg]
        return bool(0 < ratios[0] < 1 and np.allclose(ratios, ratios[0]))
    return test


# ---------------------------------------------------------------------------- 4.1, 4.2
def _relu_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(4)
    return (Case("a 1-D array of 8 values", (r.normal(size=8),)),
            Case("a 3x4 feature map", (r.normal(size=(3, 4)),)),
            Case("a batch of shape (2, 3, 3, 2)", (r.normal(size=(2, 3, 3, 2)),)),
            Case("an int64 array", (r.integers(-5, 6, size=(3, 3)),)))


RELU = Exercise(
    "4.1", MODULE, "relu", 1.0,
    "return max(0, x) element-wise as a new array, leaving x unchanged", ("x",),
    _relu_cases(), relu,
    change_messages={0: "relu changed its input x in place (e.g. x[x < 0] = 0): the caller "
                        "still needs x; return a new array, e.g. np.maximum(x, 0)"},
    mistakes=(
        Mistake("leaky_relu", "negative inputs are multiplied by a small slope (a leaky "
                "ReLU): ReLU sets them to exactly 0",
                test=_leaky(lambda c: (c.args[0], c.args[0] > 0))),
        Mistake("mask_returned", "you returned the mask x > 0 instead of the values: "
                "multiply it with x, or use np.maximum(x, 0)",
                output=lambda c: (c.args[0] > 0).astype(float)),
        Mistake("absolute_value", "you returned |x|: negative values must become 0, not "
                "positive", output=lambda c: np.abs(c.args[0])),
        Mistake("kept_negatives", "you kept the negative values and zeroed the positive "
                "ones: the comparison is the wrong way round",
                output=lambda c: np.minimum(c.args[0], 0)),
    ),
)


def _relu_backward_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(5)
    shapes = ((3, 4), (2, 3, 3, 2), (10,))
    labels = ("dout and x of shape (3, 4)", "dout and x of shape (2, 3, 3, 2)",
              "dout and x of shape (10,)")
    return tuple(Case(lab, (r.normal(size=s), r.normal(size=s)))
                 for lab, s in zip(labels, shapes, strict=True))


RELU_BACKWARD = Exercise(
    "4.2", MODULE, "relu_backward", 1.0,
    "pass dout through where x > 0 and return 0 elsewhere", ("dout", "x"),
    _relu_backward_cases(), relu_backward,
    mistakes=(
        Mistake("used_dout_sign", "you kept dout where dout > 0; the gate is the forward "
                "input: keep dout where x > 0",
                output=lambda c: np.where(c.args[0] > 0, c.args[0], 0.0)),
        Mistake("swapped_arguments", "the arguments are swapped: the signature is "
                "relu_backward(dout, x)", output=lambda c: np.where(c.args[0] > 0, c.args[1],
                                                                     0.0)),
        Mistake("mask_only", "you returned the slope (x > 0) without multiplying it by dout",
                output=lambda c: (c.args[1] > 0).astype(float)),
        Mistake("ignored_x", "you returned dout unchanged: zero it where x <= 0",
                output=lambda c: c.args[0]),
        Mistake("forward_again", "you returned relu(x), the forward pass: the backward "
                "pass returns dout * (x > 0)", output=lambda c: np.maximum(c.args[1], 0)),
        Mistake("leaky_backward", "where x < 0 you pass a fraction of dout (a leaky ReLU's "
                "gradient): ReLU's slope there is exactly 0",
                test=_leaky(lambda c: (c.args[0], c.args[1] > 0))),
    ),
)

EXERCISES = (RELU, RELU_BACKWARD)
