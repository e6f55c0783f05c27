"""Checks for chapters 04-05: ReLU and max pooling, forward and backward."""

from __future__ import annotations

import numpy as np

from minicnn.grade import reference as ref
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome


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
    "4.1", "ex04_relu", "relu", 1.0,
    "return max(0, x) element-wise as a new array, leaving x unchanged", ("x",),
    _relu_cases(), ref.relu,
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
    "4.2", "ex04_relu", "relu_backward", 1.0,
    "pass dout through where x > 0 and return 0 elsewhere", ("dout", "x"),
    _relu_backward_cases(), ref.relu_backward,
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


# ---------------------------------------------------------------------------- 5.1, 5.2
def _distinct(r: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return r.permutation(int(np.prod(shape))).reshape(shape) / 4.0 - 3.0


def _pool_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(6)
    return (Case("a 4x4 (H, W) array, size=2, stride=2", (_distinct(r, (4, 4)),)),
            Case("a 4x6x3 image, size=2, stride=2", (_distinct(r, (4, 6, 3)),)),
            Case("a 5x7x2 image (windows that do not fit), size=2, stride=2",
                 (_distinct(r, (5, 7, 2)),)),
            Case("a 7x7x2 image, size=3, stride=2 (overlapping windows)",
                 (_distinct(r, (7, 7, 2)),), {"size": 3, "stride": 2}),
            Case("a 5x5x1 image, size=2, stride=1", (_distinct(r, (5, 5, 1)),),
                 {"size": 2, "stride": 1}))


def _pool_args(case: Case) -> tuple[int, int]:
    return case.kwargs.get("size", 2), case.kwargs.get("stride", 2)


def _pool_variant(**options):
    def output(case: Case):
        size, stride = _pool_args(case)
        if "stride" in options:
            stride = size if options["stride"] == "size" else options["stride"]
            if stride == _pool_args(case)[1]:
                return None
        extra = {k: v for k, v in options.items() if k != "stride"}
        return ref.max_pool(case.args[0], size, stride, **extra)
    return output


def _pooled_across_channels(case: Case, out: Outcome) -> bool:
    x = case.args[0]
    v = out.value
    if x.ndim != 3 or x.shape[2] == 1 or not isinstance(v, np.ndarray):
        return False
    both = ref.max_pool(x, *_pool_args(case)).max(axis=2)
    return (v.shape == both.shape and np.allclose(v, both)) or (
        v.shape == both.shape + (x.shape[2],) and np.allclose(v, both[:, :, None]))


MAX_POOL = Exercise(
    "5.1", "ex05_pooling", "max_pool", 2.0,
    "keep the largest value of each size x size window, channel by channel",
    ("x", "size", "stride"), _pool_cases(), lambda x, size=2, stride=2: ref.max_pool(
        x, size, stride),
    mistakes=(
        Mistake("average", "your output is the average of each window (average pooling): "
                "max pooling keeps the largest value", output=_pool_variant(reduce=np.mean)),
        Mistake("partial_windows", "you kept windows that hang over the edge: drop the "
                "windows that do not fit, (H - size) // stride + 1 rows",
                output=_pool_variant(ceil=True)),
        Mistake("stride_is_size", "the window moves by `size`, not by `stride`",
                output=_pool_variant(stride="size")),
        Mistake("ignored_stride", "the window moves by one pixel: move it by `stride`",
                output=_pool_variant(stride=1)),
        Mistake("across_channels", "the maximum is taken over the channels too: pool each "
                "channel separately (max over axes 0 and 1 of the window only)",
                test=_pooled_across_channels),
        Mistake("one_too_small", "your output is one row and one column too small: there "
                "are (H - size) // stride + 1 windows per column",
                output=lambda c: ref.max_pool(c.args[0], *_pool_args(c))[:-1, :-1]),
        Mistake("channels_first", "your output is channels-first: keep the channels last",
                output=lambda c: np.moveaxis(ref.max_pool(c.args[0], *_pool_args(c)), -1, 0)
                if c.args[0].ndim == 3 else None),
        Mistake("min_pool", "you kept the smallest value of each window: keep the largest",
                output=_pool_variant(reduce=np.min)),
    ),
)


def _pool_backward_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(7)
    ties = np.array([[1, 1, 0, 2], [0, 0, 2, 2], [3, 1, 1, 1], [1, 3, 1, 1]], float)[:, :, None]
    overlap = _distinct(r, (5, 5, 1))
    overlap[2, 2, 0] = 100.0  # the maximum of all four overlapping windows
    cases = [("a 4x4x2 input, size=2, stride=2", (4, 4, 2), None, {}),
             ("a 5x5 (H, W) input, size=2, stride=2", (5, 5), None, {}),
             ("a 4x4x1 input with ties in the windows, size=2, stride=2", None, ties, {}),
             ("a 5x5x1 input, size=3, stride=2: the maximum is shared by overlapping windows",
              None, overlap, {"size": 3, "stride": 2}),
             ("a 4x6x3 input, size=2, stride=1", (4, 6, 3), None, {"size": 2, "stride": 1})]
    out = []
    for label, shape, x, kwargs in cases:
        x = _distinct(r, shape) if x is None else x
        pooled = ref.max_pool(x, kwargs.get("size", 2), kwargs.get("stride", 2))
        dout = np.round(r.normal(size=pooled.shape), 3)
        out.append(Case(label, (dout, x), kwargs))
    return tuple(out)


def _route(rule: str, accumulate: bool = True):
    def output(case: Case):
        size, stride = _pool_args(case)
        return ref.max_pool_backward(*case.args, size, stride, rule=rule, accumulate=accumulate)
    return output


MAX_POOL_BACKWARD = Exercise(
    "5.2", "ex05_pooling", "max_pool_backward", 2.0,
    "send each window's gradient to the first position of its maximum; add up where "
    "windows overlap", ("dout", "x", "size", "stride"), _pool_backward_cases(),
    lambda dout, x, size=2, stride=2: ref.max_pool_backward(dout, x, size, stride),
    mistakes=(
        Mistake("spread_over_window", "the gradient is spread evenly over each window (the "
                "gradient of average pooling): only the maximum influenced the output, so it "
                "gets all of dout and the others get 0", output=_route("spread")),
        Mistake("copied_to_window", "dout is copied to every position of the window: only "
                "the position of the maximum gets it", output=_route("copy")),
        Mistake("all_ties", "when several values tie for the maximum, every one of them got "
                "the gradient: give it to the first maximum only (np.argmax)",
                output=_route("ties")),
        Mistake("last_tie", "on ties the gradient went to the last maximum: give it to the "
                "first one in row-major order (np.argmax does)", output=_route("last")),
        Mistake("overwrote_overlaps", "where windows overlap, the gradients must add up "
                "(+=), not overwrite each other (=)", output=_route("first", accumulate=False)),
    ),
)

EXERCISES = (RELU, RELU_BACKWARD, MAX_POOL, MAX_POOL_BACKWARD)
