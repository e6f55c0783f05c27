"""Chapter 02, convolution: ``convolve`` (one channel) and ``conv2d`` (channels-last).

Both refuse a stride that does not tile the input, as ``output_size`` (chapter 03) and the
package's ``minicnn.conv`` do: a ValueError that names ``stride``.
"""

from __future__ import annotations

import numpy as np

from minicnn.grade.chapters.ch01_images import integer_result
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, size_text, with_traits

MODULE = "ex02_convolution"


# ---------------------------------------------------------------------------- reference
def check_tiling(height: int, width: int, kh: int, kw: int, stride: int, padding: int) -> None:
    """ValueError naming ``stride`` unless the kernel tiles the padded input exactly."""
    for axis, size, k in (("height", height, kh), ("width", width, kw)):
        span = size - k + 2 * padding
        if span < 0 or span % stride:
            raise ValueError(f"stride={stride} does not tile the input along the {axis}: "
                             f"({size} - {k} + 2 * {padding}) / {stride} is not a whole "
                             "number")


def correlate(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, *,
              flip: bool = False, step: int | None = None, short: int = 0,
              pad_before_only: bool = False) -> np.ndarray:
    """2-D cross-correlation of x (H, W) with w (kh, kw) -> (H', W'); options reproduce
    mistakes.

    ``flip`` flips the kernel (true convolution); ``step`` moves the window by ``step``
    while the output keeps the size given by ``stride``; ``short`` drops that many rows and
    columns from the output; ``pad_before_only`` pads the top and left only.
    """
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(w, dtype=np.float64)
    check_tiling(*x.shape, *k.shape, stride, padding)
    if flip:
        k = k[::-1, ::-1]
    x = np.pad(x, ((padding, 0), (padding, 0)) if pad_before_only else padding)
    step = stride if step is None else step
    kh, kw = k.shape
    out_h = (x.shape[0] - kh) // stride + 1 - short
    out_w = (x.shape[1] - kw) // stride + 1 - short
    out = np.zeros((max(out_h, 0), max(out_w, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i * step:i * step + kh, j * step:j * step + kw] * k)
    return out


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0,
           **mistake) -> np.ndarray:
    """x (H, W, C), w (F, kh, kw, C) -> (H', W', F), summing over the channels."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    maps = []
    for f in range(w.shape[0]):
        maps.append(sum(correlate(x[:, :, c], w[f, :, :, c], stride, padding, **mistake)
                        for c in range(x.shape[2])))
    return np.stack(maps, axis=-1)


# ---------------------------------------------------------------------------- cases
NOT_TILING = " (should raise a ValueError naming stride)"


def _convolve_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(2)
    img = r.normal(size=(7, 9))
    return (
        Case("a 5x6 image and a 3x3 kernel", (r.normal(size=(5, 6)), r.normal(size=(3, 3)))),
        Case("a 7x9 image, a 3x3 kernel, stride=2", (img, r.normal(size=(3, 3))),
             {"stride": 2}),
        Case("a 5x5 image, a 3x3 kernel, padding=1",
             (r.normal(size=(5, 5)), r.normal(size=(3, 3))), {"padding": 1}),
        Case("a 7x9 image, a 3x3 kernel, stride=2, padding=1", (img, r.normal(size=(3, 3))),
             {"stride": 2, "padding": 1}),
        Case("a 4x5 image and a 2x3 kernel", (r.normal(size=(4, 5)), r.normal(size=(2, 3)))),
        Case("a 4x5 image, a 2x3 kernel, padding=2",
             (r.normal(size=(4, 5)), r.normal(size=(2, 3))), {"padding": 2}),
        Case("a 4x4 int64 image and a 2x2 float kernel",
             (r.integers(0, 256, (4, 4)), np.array([[0.25, 0.5], [-0.75, 0.125]]))),
        Case("a 6x6 image, a 3x3 kernel, stride=2: (6 - 3) / 2 is not whole" + NOT_TILING,
             (r.normal(size=(6, 6)), r.normal(size=(3, 3))), {"stride": 2}, raises=True,
             tag="not_tiling", names="stride"),
    )


def _conv2d_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(3)
    return (
        Case("a 5x6x3 image and 4 filters of 3x3x3",
             (r.normal(size=(5, 6, 3)), r.normal(size=(4, 3, 3, 3)))),
        Case("a 7x9x2 image, 3 filters of 3x3x2, stride=2, padding=1",
             (r.normal(size=(7, 9, 2)), r.normal(size=(3, 3, 3, 2))),
             {"stride": 2, "padding": 1}),
        Case("a 6x6x2 image, 2 filters of 3x3x2, stride=3",
             (r.normal(size=(6, 6, 2)), r.normal(size=(2, 3, 3, 2))), {"stride": 3}),
        Case("a 4x5x1 image, 2 filters of 2x3x1, padding=2",
             (r.normal(size=(4, 5, 1)), r.normal(size=(2, 2, 3, 1))), {"padding": 2}),
        Case("a 5x5x4 image, 1 filter of 3x3x4, padding=1",
             (r.normal(size=(5, 5, 4)), r.normal(size=(1, 3, 3, 4))), {"padding": 1}),
        Case("a 4x4x3 uint8 image and 2 filters of 2x2x3",
             (r.integers(0, 256, (4, 4, 3)).astype(np.uint8),
              np.round(r.normal(size=(2, 2, 2, 3)), 2))),
        Case("a 6x7x2 image, 2 filters of 2x2x2, stride=2: the width gives (7 - 2) / 2, not "
             "whole" + NOT_TILING, (r.normal(size=(6, 7, 2)), r.normal(size=(2, 2, 2, 2))),
             {"stride": 2}, raises=True, tag="not_tiling", names="stride"),
    )


# ---------------------------------------------------------------------------- wide checks
DTYPES = ("float64", "int64", "float32", "float64", "uint8", "float64")


def _image(r: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return r.integers(0, 256, shape).astype(np.uint8)
    if dtype == "int64":
        return r.integers(-9, 10, shape)
    x = r.normal(size=shape)
    x[r.random(shape) < 0.15] = 0.0  # exact zeros
    return x.astype(dtype)


def _side(r: np.random.Generator, k: int, stride: int, padding: int) -> int:
    """A side length the kernel tiles: (size - k + 2 * padding) % stride == 0, size >= 1."""
    out = int(r.integers(1, 6))
    while (out - 1) * stride + k - 2 * padding < 1:
        out += 1
    return (out - 1) * stride + k - 2 * padding


def _settings(r: np.random.Generator) -> tuple[int, int, int, int]:
    """(kh, kw, stride, padding) with non-square kernels, strides up to 3, padding up to 2."""
    kh = int(r.integers(1, 5))
    kw = kh if r.random() < 0.5 else int(r.integers(1, 5))
    return kh, kw, int(r.integers(1, 4)), int(r.integers(0, 3))


def _conv_label(x, w, stride: int, padding: int) -> str:
    kind = "" if x.dtype == np.float64 else f" {x.dtype}"
    if w.ndim == 2:
        what = f"a {size_text(x)}{kind} image and a {size_text(w)} kernel"
    else:
        what = (f"a {size_text(x)}{kind} image and {w.shape[0]} filter"
                f"{'s' if w.shape[0] > 1 else ''} of {size_text(w[0])}")
    return what + f", stride={stride}, padding={padding}"


def _not_tiling(r: np.random.Generator, channels: bool) -> list[Case]:
    """Settings whose stride does not tile: one axis or both, with and without padding."""
    out = []
    for (h, w, k, stride, padding) in ((7, 8, 3, 2, 1), (9, 7, 3, 3, 0), (6, 6, 3, 3, 1),
                                        (8, 7, 3, 2, 1), (5, 7, 2, 3, 2)):
        spans = (h - k + 2 * padding, w - k + 2 * padding)
        assert any(span % stride for span in spans), "a not-tiling case that tiles"
        shape = (h, w, 2) if channels else (h, w)
        x = r.normal(size=shape)
        kern = r.normal(size=(2, k, k, 2) if channels else (k, k))
        out.append(Case(_conv_label(x, kern, stride, padding) + NOT_TILING, (x, kern),
                        {"stride": stride, "padding": padding}, raises=True, tag="not_tiling",
                        names="stride"))
    return out


def _wide_conv_cases(key: str, channels: bool, count: int) -> list[Case]:
    r = seeded(key)
    cases = []
    for n in range(count):
        kh, kw, stride, padding = _settings(r)
        if n == 0:  # stride 3 with padding: tiles the padded image, not the unpadded one
            kh, kw, stride, padding = 3, 3, 3, 1
        h, w = _side(r, kh, stride, padding), _side(r, kw, stride, padding)
        c, f = int(r.integers(1, 4)), int(r.integers(1, 4))
        x = _image(r, (h, w, c) if channels else (h, w), DTYPES[n % len(DTYPES)])
        kern = np.round(r.normal(size=(f, kh, kw, c) if channels else (kh, kw)), 2)
        cases.append(_float_case(Case(_conv_label(x, kern, stride, padding), (x, kern),
                                      {"stride": stride, "padding": padding})))
    big = (32, 32, 3) if channels else (60, 60)
    x = r.normal(size=big)
    kern = r.normal(size=(2, 3, 3, 3) if channels else (3, 3))
    cases.append(Case(_conv_label(x, kern, 1, 1), (x, kern), {"stride": 1, "padding": 1}))
    return cases + _not_tiling(r, channels)


def _float_case(case: Case) -> Case:
    """float32 inputs: float32 arithmetic is right too, to float32's precision."""
    if case.args[0].dtype == np.float32:
        return Case(case.label, case.args, case.kwargs, rtol=1e-4, atol=1e-4)
    return case


def conv_traits(case: Case) -> list[str]:
    """What is special about a convolution case, in a learner's words."""
    x, w = case.args[0], case.args[1]
    stride, padding = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
    kh, kw = w.shape if w.ndim == 2 else w.shape[1:3]
    h, wd = x.shape[:2]
    traits = []
    if case.raises:
        traits.append("a stride that does not divide (H - kh + 2 * padding) or "
                      "(W - kw + 2 * padding)")
    if not case.raises and padding and ((h - kh) % stride or (wd - kw) % stride):
        traits.append("a stride that tiles the padded image but not the unpadded one")
    if stride == 3 and padding:
        traits.append("a stride of 3 together with padding")
    if kh != kw:
        traits.append(f"a non-square kernel ({kh}x{kw})")
    if np.asarray(x).dtype.kind in "iu":
        traits.append(f"an integer ({np.asarray(x).dtype}) image")
    if np.asarray(x).dtype == np.float32:
        traits.append("a float32 image")
    if x.size >= 2000:
        traits.append(f"a large image ({x.size} values)")
    if padding == 0:
        traits.append("padding=0")
    if padding:
        traits.append(f"padding={padding}")
    if stride > 1:
        traits.append(f"stride={stride}")
    return traits


# ---------------------------------------------------------------------------- mistakes
def params(case: Case) -> tuple[int, int]:
    """(stride, padding) of a case that passes them as keywords."""
    return case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)


def _conv_variant(func, **mistake):
    """What ``func`` gives on a case with one mistake switched on (None: not applicable)."""
    def output(case: Case):
        stride, padding = params(case)
        try:
            wrong = func(*case.args, stride=stride, padding=padding, **mistake)
            right = func(*case.args, stride=stride, padding=padding)
        except (ValueError, IndexError):
            return None
        if wrong.shape == right.shape and np.allclose(wrong, right):
            return None  # the mistake makes no difference on this case
        return wrong
    return output


def _ignored(func, what: str):
    """What ``func`` gives when the stride (or the padding) is left out."""
    def output(case: Case):
        stride, padding = params(case)
        if (what == "stride" and stride == 1) or (what == "padding" and padding == 0):
            return None
        kwargs = ({"stride": 1, "padding": padding} if what == "stride"
                  else {"stride": stride, "padding": 0})
        try:
            return func(*case.args, **kwargs)
        except (ValueError, IndexError):
            return None
    return output


def _padded_channels(case: Case):
    """conv2d where np.pad also padded the channel axis, then channels 0..C-1 were read."""
    x, w = case.args
    stride, padding = params(case)
    if padding == 0:
        return None
    c = x.shape[2]
    shifted = np.pad(np.asarray(x, float), padding)[:, :, :c]
    return conv2d(shifted, w, stride, 0)


def pads_channel_axis(x: np.ndarray, out: Outcome) -> bool:
    """Whether the learner's code asked np.pad to pad the last (channel) axis of ``x``."""
    return any(tuple(p["shape"]) == x.shape and any(p["widths"][-1]) for p in out.pads)


def _kernel_hw(case: Case) -> tuple[int, int]:
    w = case.args[1]
    return w.shape if w.ndim == 2 else w.shape[1:3]


def _tiling_without_padding(case: Case, out: Outcome) -> bool:
    """Refuses what tiles once padded, or accepts what tiles only unpadded."""
    x = case.args[0]
    stride, padding = params(case)
    kh, kw = _kernel_hw(case)
    unpadded = (x.shape[0] - kh) % stride == 0 and (x.shape[1] - kw) % stride == 0
    if not padding:
        return False
    if case.raises:
        return out.status == "returned" and unpadded
    return out.status == "raised" and bool(out.error.get("value_error")) and not unpadded


def _height_only(case: Case, out: Outcome) -> bool:
    x = case.args[0]
    stride, padding = params(case)
    kh, _ = _kernel_hw(case)
    return (case.tag == "not_tiling" and out.status == "returned"
            and (x.shape[0] - kh + 2 * padding) % stride == 0)


def _slice_at_zero(case: Case, out: Outcome) -> bool:
    message = out.error.get("message", "")
    return (params(case)[1] == 0 and out.status == "raised" and "broadcast" in message
            and "(0," in message)


def _square_kernel(case: Case, out: Outcome) -> bool:
    kh, kw = _kernel_hw(case)
    if kh == kw:
        return False
    message = out.error.get("message", "")
    return out.status == "raised" and "broadcast" in message and (
        f"({kh},{kh}" in message or f"({kw},{kw}" in message)


def _unpadded_size(func):
    def output(case: Case):
        x = case.args[0]
        stride, padding = params(case)
        kh, kw = _kernel_hw(case)
        rows, cols = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
        if not padding or rows < 1 or cols < 1:
            return None
        try:
            return func(*case.args, stride=stride, padding=padding)[:rows, :cols]
        except ValueError:
            return None
    return output


def _returned_for_not_tiling(case: Case, out: Outcome) -> bool:
    return case.tag == "not_tiling" and out.status == "returned"


def conv_mistakes(func, transpose) -> tuple[Mistake, ...]:
    """The mistakes of convolve and conv2d (the same loops, one with a channel axis)."""
    return (
        Mistake("tiling_ignores_padding", "your tiling check leaves out the padding: the "
                "stride must divide (H - kh + 2 * padding), the padded size, not H - kh "
                "(check the padded image, e.g. padded.shape[0] - kh)",
                test=_tiling_without_padding, yields_to="no_error_not_tiling"),
        Mistake("tiling_checks_height_only", "no error when the stride tiles the height but "
                "not the width: check (W - kw + 2 * padding) % stride too",
                test=_height_only, yields_to="no_error_not_tiling"),
        Mistake("padding_slice_at_zero", "with padding=0 your zero-and-copy padding copies "
                "into an empty slice: padded[p:-p, p:-p] is empty when p is 0 (-0 is 0); "
                "copy into padded[p:p + H, p:p + W] instead", test=_slice_at_zero,
                needs_a_pass=True),
        Mistake("square_kernel", "you assumed a square kernel: a kernel may be kh x kw with "
                "kh != kw, so read both sizes (kh, kw = the kernel's shape) and use kw for "
                "the columns", test=_square_kernel, needs_a_pass=True),
        Mistake("size_without_padding", "the output has the size of the unpadded case: with "
                "padding it has (H - kh + 2 * padding) // stride + 1 rows; compute the size "
                "from the padded image", output=_unpadded_size(func)),
        Mistake("no_error_not_tiling", "no error for a stride that does not tile the input: "
                "when (H - kh + 2 * padding) or (W - kw + 2 * padding) is not divisible by "
                "the stride, raise ValueError naming `stride` (as output_size does in "
                "chapter 03) instead of dropping the last rows or columns",
                test=_returned_for_not_tiling),
        Mistake("flipped_kernel", "your output equals a true convolution: the kernel is "
                "flipped; slide it as it is (cross-correlation, as in every deep-learning "
                "library)", output=_conv_variant(func, flip=True)),
        Mistake("ignored_stride", "your output is what stride=1 gives: the stride is "
                "ignored; move the window by `stride` pixels and compute "
                "(H - kh + 2 * padding) // stride + 1 positions",
                output=_ignored(func, "stride")),
        Mistake("window_step", "the output has the right size but the window moves by one "
                "pixel: start window (i, j) at row i * stride and column j * stride",
                output=_conv_variant(func, step=1)),
        Mistake("one_too_small", "your output is one row and one column too small: there "
                "are (H - kh + 2 * padding) // stride + 1 positions, not one fewer (check "
                "your range(...))", output=_conv_variant(func, short=1)),
        Mistake("padding_ignored", "your output is what padding=0 gives: the padding is "
                "ignored; add `padding` rows and columns of zeros on every side first "
                "(np.pad)", output=_ignored(func, "padding")),
        Mistake("padding_one_side", "the zeros were added on the top and left only: pad "
                "both sides", output=_conv_variant(func, pad_before_only=True)),
        Mistake("transposed_output", "rows and columns are swapped in your output: "
                "out[i, j] is row i (down) and column j (across)",
                output=lambda c: transpose(func(*c.args, **c.kwargs))),
    )


# ---------------------------------------------------------------------------- 2.1, 2.2
CONVOLVE = Exercise(
    "2.1", MODULE, "convolve", 2.0,
    "slide the kernel over the (zero-padded) image with the given stride, multiply and sum",
    ("x", "w", "stride", "padding"),
    with_traits((*_convolve_cases(), *_wide_conv_cases(f"{MODULE}.convolve", False, 22)),
                conv_traits), correlate,
    kind="array", numpy_convolution_banned=True,
    mistakes=conv_mistakes(correlate, lambda a: a.T) + (
        Mistake("integer_output", "your output holds whole numbers, so the fractions were "
                "cut off: make the output a float array (np.zeros(...), not "
                "np.zeros_like(x) on an integer image)",
                test=lambda c, o: integer_result(o, correlate(*c.args, **c.kwargs))),
        Mistake("kernel_transposed", "you used the kernel transposed (w.T)",
                output=lambda c: correlate(c.args[0], c.args[1].T, **c.kwargs)
                if c.args[1].shape[0] == c.args[1].shape[1] else None),
    ),
)

CONV2D = Exercise(
    "2.2", MODULE, "conv2d", 2.0,
    "for each filter, slide it over the padded image and sum over height, width and "
    "channels; stack the F maps on the last axis", ("x", "w", "stride", "padding"),
    with_traits((*_conv2d_cases(), *_wide_conv_cases(f"{MODULE}.conv2d", True, 16)),
                conv_traits), conv2d, numpy_convolution_banned=True,
    mistakes=(
        Mistake("padding_channels", "the padding was added to the channel axis too: pad "
                "only height and width, np.pad(x, ((p, p), (p, p), (0, 0)))",
                output=_padded_channels, test=lambda c, o: pads_channel_axis(c.args[0], o)),
        Mistake("channels_first", "your output is channels-first (F, H', W'); the course "
                "is channels-last: return (H', W', F), e.g. np.stack(maps, axis=-1)",
                output=lambda c: conv2d(*c.args, **c.kwargs).transpose(2, 0, 1)),
        *conv_mistakes(conv2d, lambda a: a.transpose(1, 0, 2)),
        Mistake("first_channel_only", "only the first channel counts in your output: sum "
                "the products over all C channels of the window",
                output=lambda c: conv2d(c.args[0][:, :, :1], c.args[1][..., :1], **c.kwargs)
                if c.args[0].shape[2] > 1 else None),
        Mistake("integer_output", "your output holds whole numbers, so the fractions were "
                "cut off: make the output a float array",
                test=lambda c, o: integer_result(o, conv2d(*c.args, **c.kwargs))),
    ),
)

EXERCISES = (CONVOLVE, CONV2D)
