"""Chapter 05, pooling: ``max_pool`` and ``max_pool_backward(dout, cache)``.

The cache is ``(x, size, stride)``, what the package's ``max_pool_forward`` returns beside its
output; the grader builds it for each case.
"""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome

MODULE = "ex05_pooling"


# ---------------------------------------------------------------------------- reference
def _windows(shape: tuple[int, ...], size: int, stride: int, ceil: bool = False):
    """(i, j, rows, cols) of every pooling window; ``ceil`` keeps windows that do not fit."""
    out_h, out_w = pool_shape(shape[:2], size, stride, ceil)  # range() of a negative is empty
    for i in range(out_h):
        for j in range(out_w):
            yield i, j, slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)


def pool_shape(shape: tuple[int, ...], size: int, stride: int, ceil: bool = False) -> tuple:
    extra = stride - 1 if ceil else 0
    return ((shape[0] - size + extra) // stride + 1, (shape[1] - size + extra) // stride + 1,
            *shape[2:])


def max_pool(x: np.ndarray, size: int = 2, stride: int = 2, *, reduce=np.max,
             ceil: bool = False) -> np.ndarray:
    """Pool x (H, W) or (H, W, C) channel by channel; ``reduce=np.mean`` is average pooling."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(pool_shape(x.shape, size, stride, ceil))
    for i, j, rows, cols in _windows(x.shape, size, stride, ceil):
        out[i, j] = reduce(x[rows, cols], axis=(0, 1))
    return out


def max_pool_backward(dout: np.ndarray, cache: tuple, *, rule: str = "first",
                      accumulate: bool = True) -> np.ndarray:
    """Route each window's gradient; ``rule`` is "first", "last", "ties", "spread" or "copy".

    ``cache`` is ``(x, size, stride)``; ``accumulate=False`` overwrites where windows overlap.
    """
    x, size, stride = cache
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    squeeze = x.ndim == 2
    x3 = x[:, :, None] if squeeze else x
    d3 = dout[:, :, None] if squeeze else dout
    dx = np.zeros(x3.shape)
    for i, j, rows, cols in _windows(x3.shape, size, stride):
        for c in range(x3.shape[2]):
            window = x3[rows, cols, c]
            share = np.zeros(window.shape)
            flat = window.ravel()
            if rule == "first":
                share.flat[np.argmax(flat)] = 1.0
            elif rule == "last":
                share.flat[flat.size - 1 - np.argmax(flat[::-1])] = 1.0
            elif rule == "ties":
                share[window == window.max()] = 1.0
            elif rule == "spread":
                share[:] = 1.0 / window.size
            else:  # "copy"
                share[:] = 1.0
            if accumulate:
                dx[rows, cols, c] += share * d3[i, j, c]
            else:
                target = dx[rows, cols, c]
                target[share != 0] = (share * d3[i, j, c])[share != 0]
    return dx[:, :, 0] if squeeze else dx


# ---------------------------------------------------------------------------- 5.1
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
        return max_pool(case.args[0], size, stride, **extra)
    return output


def _pooled_across_channels(case: Case, out: Outcome) -> bool:
    x = case.args[0]
    v = out.value
    if x.ndim != 3 or x.shape[2] == 1 or not isinstance(v, np.ndarray):
        return False
    both = max_pool(x, *_pool_args(case)).max(axis=2)
    return (v.shape == both.shape and np.allclose(v, both)) or (
        v.shape == both.shape + (x.shape[2],) and np.allclose(v, both[:, :, None]))


MAX_POOL = Exercise(
    "5.1", MODULE, "max_pool", 2.0,
    "keep the largest value of each size x size window, channel by channel",
    ("x", "size", "stride"), _pool_cases(), lambda x, size=2, stride=2: max_pool(
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
                output=lambda c: max_pool(c.args[0], *_pool_args(c))[:-1, :-1]),
        Mistake("channels_first", "your output is channels-first: keep the channels last",
                output=lambda c: np.moveaxis(max_pool(c.args[0], *_pool_args(c)), -1, 0)
                if c.args[0].ndim == 3 else None),
        Mistake("min_pool", "you kept the smallest value of each window: keep the largest",
                output=_pool_variant(reduce=np.min)),
    ),
)


# ---------------------------------------------------------------------------- 5.2
def _pool_backward_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(7)
    ties = np.array([[1, 1, 0, 2], [0, 0, 2, 2], [3, 1, 1, 1], [1, 3, 1, 1]], float)[:, :, None]
    overlap = _distinct(r, (5, 5, 1))
    overlap[2, 2, 0] = 100.0  # the maximum of all four overlapping windows
    cases = [("a 4x4x2 input x", (4, 4, 2), None, 2, 2, ""),
             ("a 5x5 (H, W) input x", (5, 5), None, 2, 2, ""),
             ("a 4x4x1 input x with ties in the windows", None, ties, 2, 2, ""),
             ("a 5x5x1 input x", None, overlap, 3, 2,
              ": the maximum is shared by overlapping windows"),
             ("a 4x6x3 input x", (4, 6, 3), None, 2, 1, "")]
    out = []
    for label, shape, x, size, stride, note in cases:
        x = _distinct(r, shape) if x is None else x
        dout = np.round(r.normal(size=max_pool(x, size, stride).shape), 3)
        out.append(Case(f"{label} and cache = (x, {size}, {stride}){note}",
                        (dout, (x, size, stride))))
    return tuple(out)


def _route(rule: str, accumulate: bool = True):
    return lambda case: max_pool_backward(*case.args, rule=rule, accumulate=accumulate)


MAX_POOL_BACKWARD = Exercise(
    "5.2", MODULE, "max_pool_backward", 2.0,
    "send each window's gradient to the first position of its maximum; add up where "
    "windows overlap", ("dout", "cache"), _pool_backward_cases(),
    max_pool_backward,
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

EXERCISES = (MAX_POOL, MAX_POOL_BACKWARD)
