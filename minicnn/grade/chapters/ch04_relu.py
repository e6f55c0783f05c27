"""Chapter 04, ReLU: ``relu`` and ``relu_backward``."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, size_text, with_traits

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


# ---------------------------------------------------------------------------- wide checks
SHAPES = ((7,), (1,), (3, 4), (1, 1), (2, 3, 3, 2), (4, 1, 5), (2, 2, 2, 2, 2), (6, 6))
KINDS = ("float64", "int64", "float32", "zeros", "negative", "int32", "float64", "ties")


def _values(r: np.random.Generator, shape: tuple, kind: str) -> np.ndarray:
    """Values of one kind: exact zeros and -0.0 always among them where there is room."""
    if kind in ("int64", "int32"):
        return r.integers(-4, 5, shape).astype(kind)
    x = np.round(r.normal(size=shape) * 3, 1)
    if kind == "negative":
        x = -np.abs(x) - 0.5
    if kind == "ties":
        x = np.round(x)
    flat = x.reshape(-1)
    if kind == "zeros" or flat.size > 2:
        flat[::3] = 0.0
        flat[1::5] = -0.0
    return x.astype(np.float32) if kind == "float32" else x


def _wide_relu(key: str, backward: bool) -> list[Case]:
    r = seeded(key)
    cases = []
    for n, shape in enumerate(SHAPES * 2):
        kind = KINDS[n % len(KINDS)]
        x = _values(r, shape, kind)
        label = f"x of shape {shape}" + ("" if x.dtype == np.float64 else f" ({x.dtype})")
        if kind in ("zeros", "ties"):
            label += " with values exactly 0"
        if not backward:
            cases.append(Case(label, (x,)))
            continue
        dout = _values(r, shape, KINDS[(n + 3) % len(KINDS)] if n % 4 else "float64")
        dout[dout == 0] = 1.5  # the gate, not dout, decides where the gradient is 0
        cases.append(Case(f"dout ({dout.dtype}) and {label}", (dout, x)))
    big = r.normal(size=(3, 20, 20, 3))
    big.reshape(-1)[::7] = 0.0
    args = (r.normal(size=big.shape), big) if backward else (big,)
    cases.append(Case(f"a large array of shape {big.shape}", args))
    return cases


def relu_traits(case: Case) -> list[str]:
    x = case.args[-1]
    traits = []
    if x.size >= 1000:
        traits.append(f"a large array ({x.size} values)")
    if np.any(x == 0):
        traits.append("entries of x exactly 0")
    if x.dtype.kind in "iu":
        traits.append(f"an integer ({x.dtype}) x")
    if len(case.args) > 1 and case.args[0].dtype != x.dtype:
        traits.append(f"dout ({case.args[0].dtype}) and x ({x.dtype}) of different dtypes")
    if x.dtype == np.float32:
        traits.append("a float32 x")
    if x.ndim != 2:
        traits.append(f"a {x.ndim}-D array ({size_text(x)})")
    if np.all(x <= 0):
        traits.append("no positive entry")
    return traits


def _raised_on_ndim(case: Case, out: Outcome) -> bool:
    return out.status == "raised" and np.ndim(case.args[-1]) != 2 and out.error.get(
        "type") in ("IndexError", "ValueError", "TypeError")


def _truncated_gradient(case: Case):
    dout, x = case.args
    if x.dtype.kind not in "iu" or dout.dtype.kind != "f":
        return None
    right = relu_backward(dout, x)
    wrong = np.trunc(right)
    return None if np.array_equal(wrong, right) else wrong


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
    with_traits((*_relu_cases(), *_wide_relu(f"{MODULE}.relu", False)), relu_traits), relu,
    change_messages={0: "relu changed its input x in place (e.g. x[x < 0] = 0): the caller "
                        "still needs x; return a new array, e.g. np.maximum(x, 0)"},
    mistakes=(
        Mistake("assumes_2d", "your relu works only for 2-D arrays (two nested loops over "
                "rows and columns?): ReLU is element-wise, so write it for any shape, e.g. "
                "np.maximum(x, 0)", test=_raised_on_ndim, needs_a_pass=True),
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
    with_traits((*_relu_backward_cases(), *_wide_relu(f"{MODULE}.relu_backward", True)),
                relu_traits), relu_backward,
    mistakes=(
        Mistake("gate_at_zero", "the gradient passes where x == 0 too: ReLU's slope at 0 is "
                "taken as 0 (as in the forward pass, which returns 0 there), so keep dout "
                "only where x > 0, not x >= 0",
                output=lambda c: np.where(c.args[1] >= 0, c.args[0], 0.0)
                if np.any(c.args[1] == 0) else None),
        Mistake("integer_gradient", "the gradient has lost its fractions: it was stored in "
                "an integer array made from x (np.zeros_like(x) on an integer x); make dx "
                "from dout, e.g. dout * (x > 0), or give it a float dtype",
                output=_truncated_gradient),
        Mistake("assumes_2d", "your relu_backward works only for 2-D arrays: use element-"
                "wise numpy, e.g. dout * (x > 0), which works for any shape",
                test=_raised_on_ndim, needs_a_pass=True),
        Mistake("sign_gate", "you multiplied dout by np.sign(x): where x < 0 that gives "
                "-dout, but ReLU's slope there is 0, not -1; use dout * (x > 0)",
                output=lambda c: c.args[0] * np.sign(c.args[1])),
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
        Mistake("times_output", "you multiplied dout by ReLU's output (or by x where x > "
                "0): the local gradient is ReLU's slope, 1 where x > 0 and 0 elsewhere, not "
                "its value; use dout * (x > 0)",
                output=lambda c: c.args[0] * np.maximum(c.args[1], 0)),
        Mistake("forward_again", "you returned relu(x), the forward pass: the backward "
                "pass returns dout * (x > 0)", output=lambda c: np.maximum(c.args[1], 0)),
        Mistake("leaky_backward", "where x < 0 you pass a fraction of dout (a leaky ReLU's "
                "gradient): ReLU's slope there is exactly 0",
                test=_leaky(lambda c: (c.args[0], c.args[1] > 0))),
    ),
)

EXERCISES = (RELU, RELU_BACKWARD)
