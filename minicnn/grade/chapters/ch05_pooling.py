"""Chapter 05, pooling: ``max_pool`` and ``max_pool_backward(dout, cache)``.

The cache is ``(x, size, stride)``, what the package's ``max_pool_forward`` returns beside its
output; the grader builds it for each case.
"""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, size_text, with_traits

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
             ceil: bool = False, window: int | None = None) -> np.ndarray:
    """Pool x (H, W) or (H, W, C) channel by channel; ``reduce=np.mean`` is average pooling;
    ``window`` reads windows of that size (a mistake) at the positions ``size`` gives."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(pool_shape(x.shape, size, stride, ceil))
    for i, j, rows, cols in _windows(x.shape, size, stride, ceil):
        if window is not None:
            rows, cols = (slice(i * stride, i * stride + window),
                          slice(j * stride, j * stride + window))
        out[i, j] = reduce(x[rows, cols], axis=(0, 1))
    return out


def max_pool_backward(dout: np.ndarray, cache: tuple, *, rule: str = "first",
                      accumulate: bool = True, offset: bool = True) -> np.ndarray:
    """Route each window's gradient; ``rule`` is "first", "last", "ties", "split", "spread"
    or "copy".

    ``cache`` is ``(x, size, stride)``; ``accumulate=False`` overwrites where windows overlap;
    ``offset=False`` forgets the window's corner and adds every share at the top left of x.
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
            if rule == "first" or (rule == "zero_start" and flat.max() > 0):
                share.flat[np.argmax(flat)] = 1.0
            elif rule == "zero_start":  # best = 0 to start with: no value beats it
                share.flat[0] = 1.0
            elif rule == "last":
                share.flat[flat.size - 1 - np.argmax(flat[::-1])] = 1.0
            elif rule == "ties":
                share[window == window.max()] = 1.0
            elif rule == "split":
                share[window == window.max()] = 1.0
                share /= share.sum()
            elif rule == "spread":
                share[:] = 1.0 / window.size
            else:  # "copy"
                share[:] = 1.0
            if not offset:  # window (i, j)'s shares land on x[0:size, 0:size]
                dx[:size, :size, c][:share.shape[0], :share.shape[1]] += share * d3[i, j, c]
            elif accumulate:
                dx[rows, cols, c] += share * d3[i, j, c]
            else:
                target = dx[rows, cols, c]
                target[share != 0] = (share * d3[i, j, c])[share != 0]
    return dx[:, :, 0] if squeeze else dx


# ---------------------------------------------------------------------------- wide checks
POOL_KINDS = ("distinct", "negative", "int64", "float32", "ties", "distinct", "negative")


def _pool_input(r: np.random.Generator, shape: tuple, kind: str) -> np.ndarray:
    if kind == "int64":
        return r.integers(-20, 21, shape)
    if kind == "ties":
        return r.integers(0, 3, shape).astype(float)
    x = _distinct(r, shape) * 1.5
    if kind == "negative":
        x = x - x.max() - 0.5
    return x.astype(np.float32) if kind == "float32" else x


def _wide_pool(key: str, count: int) -> list[tuple]:
    """(x, size, stride) settings: 2-D and 3-D, overlapping windows, gaps, ragged edges."""
    r = seeded(key)
    found = []
    for n in range(count):
        size, stride = int(r.integers(1, 5)), int(r.integers(1, 5))
        h, w = int(r.integers(size, 13)), int(r.integers(size, 13))
        shape = (h, w) if n % 4 == 1 else (h, w, int(r.integers(1, 4)))
        found.append((_pool_input(r, shape, POOL_KINDS[n % len(POOL_KINDS)]), size, stride))
    found.append((_distinct(r, (40, 40, 2)), 2, 2))
    found.append((_pool_input(r, (6, 6, 2), "negative"), 3, 3))
    return found


def _pool_label(x: np.ndarray, size: int, stride: int) -> str:
    kind = "" if x.dtype == np.float64 else f" {x.dtype}"
    return f"a {size_text(x)}{kind} input x, size={size}, stride={stride}"


def pool_traits(case: Case) -> list[str]:
    x, size, stride = (case.args[1] if len(case.args) == 2 else
                       (case.args[0], *_pool_args(case)))
    x = np.asarray(x)
    traits = []
    windows = [x[rows, cols] for _, _, rows, cols in _windows(x.shape, size, stride)]
    if any(np.any(np.max(win, axis=(0, 1)) < 0) for win in windows):
        traits.append("a window whose maximum is negative")
    if x.ndim == 2:
        traits.append("a 2-D (H, W) input without a channel axis")
    if x.dtype.kind in "iu":
        traits.append(f"an integer ({x.dtype}) input")
    if x.size >= 1000:
        traits.append(f"a large input ({x.size} values)")
    if stride < size:
        traits.append("overlapping windows (stride < size)")
    if stride > size:
        traits.append("gaps between the windows (stride > size)")
    if (x.shape[0] - size) % stride or (x.shape[1] - size) % stride:
        traits.append("windows that do not fit at the edge")
    if any(np.sum(win == np.max(win, axis=(0, 1))) > (1 if win.ndim == 2 else win.shape[2])
           for win in windows):
        traits.append("ties for the maximum in a window")
    if size != stride:
        traits.append("size != stride")
    return traits


def _raised_without_channels(case: Case, out: Outcome) -> bool:
    x = case.args[1][0] if len(case.args) == 2 else case.args[0]
    return out.status == "raised" and np.ndim(x) == 2 and out.error.get("type") in (
        "IndexError", "ValueError")


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
                 {"size": 2, "stride": 1}),
            *(Case(_pool_label(x, size, stride), (x,), {"size": size, "stride": stride},
                   rtol=1e-5 if x.dtype == np.float32 else None)
              for x, size, stride in _wide_pool(f"{MODULE}.max_pool", 16)))


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


def _changed(wrong, right):
    return None if np.array_equal(wrong, right) else wrong


def _window_is_stride(case: Case):
    size, stride = _pool_args(case)
    if size == stride:
        return None
    with np.errstate(all="ignore"):
        try:
            return max_pool(case.args[0], size, stride, window=stride)
        except ValueError:  # an empty window
            return None


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
    ("x", "size", "stride"), with_traits(_pool_cases(), pool_traits),
    lambda x, size=2, stride=2: max_pool(
        x, size, stride),
    mistakes=(
        Mistake("max_starts_at_zero", "in a window whose values are all negative you return "
                "0: your running maximum starts at 0, which beats every negative value; "
                "start it at the window's first value (or use window.max())",
                output=lambda c: _changed(np.maximum(max_pool(c.args[0], *_pool_args(c)), 0),
                                          max_pool(c.args[0], *_pool_args(c)))),
        Mistake("needs_channels", "your max_pool fails on a 2-D (H, W) input: it must "
                "accept (H, W) as well as (H, W, C), e.g. by taking the max over axes 0 and "
                "1 of each window (window.max(axis=(0, 1)))", test=_raised_without_channels,
                needs_a_pass=True),
        Mistake("window_is_stride", "your windows are `stride` wide, not `size`: window "
                "(i, j) is x[i * stride : i * stride + size, ...] (not (i + 1) * stride)",
                output=_window_is_stride),
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
    for x, size, stride in _wide_pool(f"{MODULE}.max_pool_backward", 16):
        dout = np.round(r.normal(size=max_pool(x, size, stride).shape), 3)
        out.append(Case(f"dout and cache = (x, {size}, {stride}) with "
                        f"{_pool_label(x, size, stride).split(', size')[0]}",
                        (dout, (x, size, stride))))
    return tuple(out)


def _truncated(case: Case):
    x = case.args[1][0]
    if np.asarray(x).dtype.kind not in "iu":
        return None
    right = max_pool_backward(*case.args)
    return _changed(np.trunc(right), right)


def _route(rule: str, accumulate: bool = True):
    return lambda case: max_pool_backward(*case.args, rule=rule, accumulate=accumulate)


def _differs(**options):
    """The mistake's output where it differs from the right answer, else None."""
    def output(case: Case):
        return _changed(max_pool_backward(*case.args, **options), max_pool_backward(*case.args))
    return output


MAX_POOL_BACKWARD = Exercise(
    "5.2", MODULE, "max_pool_backward", 2.0,
    "send each window's gradient to the first position of its maximum; add up where "
    "windows overlap", ("dout", "cache"), with_traits(_pool_backward_cases(), pool_traits),
    max_pool_backward,
    mistakes=(
        Mistake("max_starts_at_zero", "in a window whose values are all negative the "
                "gradient went to its first position: your running maximum starts at 0, "
                "which no negative value beats; start it at the window's first value (or "
                "use np.argmax)", output=lambda c: _changed(_route("zero_start")(c),
                                                            max_pool_backward(*c.args))),
        Mistake("integer_gradient", "the gradient has lost its fractions: dx was made with "
                "np.zeros_like(x) on an integer x; make it a float array, "
                "np.zeros(x.shape)", output=_truncated),
        Mistake("needs_channels", "your max_pool_backward fails on a 2-D (H, W) input: it "
                "must accept (H, W) as well as (H, W, C)", test=_raised_without_channels,
                needs_a_pass=True),
        Mistake("spread_over_window", "the gradient is spread evenly over each window (the "
                "gradient of average pooling): only the maximum influenced the output, so it "
                "gets all of dout and the others get 0", output=_route("spread")),
        Mistake("copied_to_window", "dout is copied to every position of the window: only "
                "the position of the maximum gets it (and even average pooling, which shares "
                "it out, divides it by size * size)", output=_route("copy")),
        Mistake("all_ties", "when several values tie for the maximum, every one of them got "
                "the gradient: give it to the first maximum only (np.argmax)",
                output=_route("ties")),
        Mistake("last_tie", "on ties the gradient went to the last maximum: give it to the "
                "first one in row-major order (np.argmax does)", output=_route("last")),
        Mistake("split_ties", "when several values tie for the maximum you split dout among "
                "them: a fair choice in itself, but this exercise (like the package) gives all "
                "of it to the first maximum in row-major order (np.argmax)",
                output=_differs(rule="split")),
        Mistake("no_window_offset", "every window's gradient landed in the top-left window: "
                "the position of the maximum inside the window, (r, c), must be shifted by the "
                "window's corner, dx[i * stride + r, j * stride + c] += dout[i, j]",
                output=_differs(offset=False)),
        Mistake("overwrote_overlaps", "where windows overlap, the gradients must add up "
                "(+=), not overwrite each other (=)", output=_route("first", accumulate=False)),
    ),
)

EXERCISES = (MAX_POOL, MAX_POOL_BACKWARD)
