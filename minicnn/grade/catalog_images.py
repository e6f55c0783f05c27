"""Checks for chapters 01-02: grayscale and convolution."""

from __future__ import annotations

import numpy as np

from minicnn.grade import reference as ref
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome


def integer_result(out: Outcome, expected) -> bool:
    """Whole numbers where the answer has fractions (np.zeros_like on an int image...)."""
    v = out.value
    if not isinstance(v, np.ndarray) or v.shape != np.shape(expected):
        return False
    if v.dtype.kind in "iu" or np.all(v == np.round(v)):
        e = np.asarray(expected)
        for guess in (np.floor(e), np.round(e), np.trunc(e), np.floor(e) % 256,
                      np.round(e) % 256, np.trunc(e) % 256):
            if np.allclose(v, guess, atol=1e-9):
                return True
    return False


# ---------------------------------------------------------------------------- 1.1
def _grayscale_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(1)
    return (
        Case("a 4x5x3 float image", (r.uniform(0, 255, (4, 5, 3)),)),
        Case("a 3x4x3 uint8 image with bright pixels",
             (r.integers(150, 256, (3, 4, 3)).astype(np.uint8),), tag="uint8"),
        Case("a 1x3x3 uint8 image: pure red, green, blue",
             (np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8),),
             tag="uint8"),
        Case("a 2x3x3 int64 image", (r.integers(0, 256, (2, 3, 3)),)),
    )


def _mean_wrapped(image):
    if np.asarray(image).dtype != np.uint8:
        return None
    x = image
    with np.errstate(over="ignore"):
        return (x[:, :, 0] + x[:, :, 1] + x[:, :, 2]) / 3


def _kept_channel_axis(case: Case, out: Outcome) -> bool:
    v, e = out.value, ref.to_grayscale(*case.args)
    return (isinstance(v, np.ndarray) and v.ndim == 3 and v.shape[:2] == e.shape
            and v.dtype.kind in "biuf" and np.allclose(v[:, :, 0], e, atol=1e-6))


GRAYSCALE = Exercise(
    "1.1", "ex01_images", "to_grayscale", 1.0,
    "weight the channels 0.299 R + 0.587 G + 0.114 B and return an (H, W) float array",
    ("image",), _grayscale_cases(), ref.to_grayscale, atol=1e-6,
    mistakes=(
        Mistake("uint8_overflow", "the sum of uint8 values wrapped around at 256 (uint8 "
                "arithmetic overflows): convert with image.astype(np.float64) before adding, "
                "and use the luminance weights",
                output=lambda c: _mean_wrapped(*c.args)),
        Mistake("channel_mean", "you took the plain mean of the three channels; grayscale "
                "uses the luminance weights 0.299 R + 0.587 G + 0.114 B (the eye is most "
                "sensitive to green)", output=lambda c: np.asarray(c.args[0], float).mean(2)),
        Mistake("integer_result", "your result holds whole numbers (an integer dtype), so "
                "the fractions were cut off; return floats (np.zeros_like(image) keeps the "
                "image's uint8 dtype: convert with image.astype(np.float64) first)",
                test=lambda c, o: integer_result(o, ref.to_grayscale(*c.args))),
        Mistake("reversed_weights", "the weights are applied in reverse order (as if the "
                "image were BGR): red gets 0.299, green 0.587 and blue 0.114",
                output=lambda c: ref.to_grayscale(*c.args, weights=(0.114, 0.587, 0.299))),
        Mistake("scaled_to_one", "your values are divided by 255; keep the 0 to 255 scale",
                output=lambda c: ref.to_grayscale(*c.args) / 255),
        Mistake("kept_channel_axis", "the channel axis is still there: return an (H, W) "
                "array, not (H, W, 1) or (H, W, 3)", test=_kept_channel_axis),
    ),
)


# ---------------------------------------------------------------------------- 2.1, 2.2
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
    )


def _params(case: Case) -> tuple[int, int]:
    return case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)


def _conv_variant(func, **mistake):
    """What ``func`` gives on a case with one mistake switched on (None: not applicable)."""
    def output(case: Case):
        stride, padding = _params(case)
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
        stride, padding = _params(case)
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
    image, filters = case.args
    stride, padding = _params(case)
    if padding == 0:
        return None
    c = image.shape[2]
    shifted = np.pad(np.asarray(image, float), padding)[:, :, :c]
    return ref.conv2d(shifted, filters, stride, 0)


def _pads_channel_axis(case: Case, out: Outcome) -> bool:
    image = case.args[1] if len(case.args) == 3 else case.args[0]
    return any(len(p["shape"]) == 3 and tuple(p["shape"]) == image.shape
               and any(p["widths"][2]) for p in out.pads)


def conv_mistakes(func, transpose) -> tuple[Mistake, ...]:
    """The mistakes of convolve and conv2d (the same loops, one with a channel axis)."""
    return (
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


CONVOLVE = Exercise(
    "2.1", "ex02_convolution", "convolve", 2.0,
    "slide the kernel over the (zero-padded) image with the given stride, multiply and sum",
    ("image", "kernel", "stride", "padding"), _convolve_cases(), ref.correlate,
    kind="array", numpy_convolution_banned=True,
    mistakes=conv_mistakes(ref.correlate, lambda a: a.T) + (
        Mistake("integer_output", "your output holds whole numbers, so the fractions were "
                "cut off: make the output a float array (np.zeros(...), not "
                "np.zeros_like(image) on an integer image)",
                test=lambda c, o: integer_result(o, ref.correlate(*c.args, **c.kwargs))),
        Mistake("kernel_transposed", "you used the kernel transposed (kernel.T)",
                output=lambda c: ref.correlate(c.args[0], c.args[1].T, **c.kwargs)
                if c.args[1].shape[0] == c.args[1].shape[1] else None),
    ),
)

CONV2D = Exercise(
    "2.2", "ex02_convolution", "conv2d", 2.0,
    "for each filter, slide it over the padded image and sum over height, width and "
    "channels; stack the F maps on the last axis", ("image", "filters", "stride", "padding"),
    _conv2d_cases(), ref.conv2d, numpy_convolution_banned=True,
    mistakes=(
        Mistake("padding_channels", "the padding was added to the channel axis too: pad "
                "only height and width, np.pad(image, ((p, p), (p, p), (0, 0)))",
                output=_padded_channels, test=_pads_channel_axis),
        Mistake("channels_first", "your output is channels-first (F, H', W'); the course "
                "is channels-last: return (H', W', F), e.g. np.stack(maps, axis=-1)",
                output=lambda c: ref.conv2d(*c.args, **c.kwargs).transpose(2, 0, 1)),
        *conv_mistakes(ref.conv2d, lambda a: a.transpose(1, 0, 2)),
        Mistake("first_channel_only", "only the first channel counts in your output: sum "
                "the products over all C channels of the window",
                output=lambda c: ref.conv2d(c.args[0][:, :, :1], c.args[1][..., :1],
                                            **c.kwargs) if c.args[0].shape[2] > 1 else None),
        Mistake("integer_output", "your output holds whole numbers, so the fractions were "
                "cut off: make the output a float array",
                test=lambda c, o: integer_result(o, ref.conv2d(*c.args, **c.kwargs))),
    ),
)

EXERCISES = (GRAYSCALE, CONVOLVE, CONV2D)
