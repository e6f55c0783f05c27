"""Chapter 01, images as arrays: ``to_grayscale``."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, size_text, with_traits

MODULE = "ex01_images"
LUMA = (0.299, 0.587, 0.114)


# ---------------------------------------------------------------------------- reference
def to_grayscale(image: np.ndarray, weights=LUMA) -> np.ndarray:
    """(H, W, 3) -> (H, W) float: the weighted sum of the channels (``weights`` for mistakes)."""
    x = np.asarray(image, dtype=np.float64)
    return weights[0] * x[:, :, 0] + weights[1] * x[:, :, 1] + weights[2] * x[:, :, 2]


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
        *_wide_images(),
    )


def _wide_images() -> list[Case]:
    """Seeded images: 1x1 to 12x12, uint8 (extremes 0 and 255 among them), int64, float32
    and float64, and a large one."""
    r = seeded(f"{MODULE}.to_grayscale")
    cases = []
    for k in range(12):
        shape = (int(r.integers(1, 13)), int(r.integers(1, 13)), 3)
        kind = ("uint8", "float64", "int64", "float32")[k % 4]
        x = r.integers(0, 256, shape) if kind != "float64" else r.uniform(0, 255, shape)
        x.reshape(-1, 3)[::4] = 255
        x.reshape(-1, 3)[1::5] = 0
        x = x.astype(kind)
        cases.append(Case(f"a {size_text(x)} {kind} image", (x,),
                          tag="uint8" if kind == "uint8" else "",
                          atol=1e-3 if kind == "float32" else None))
    big = r.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    cases.append(Case("a large 40x50x3 uint8 image", (big,), tag="uint8"))
    return cases


def _image_traits(case: Case) -> list[str]:
    x = case.args[0]
    traits = []
    if x.dtype == np.uint8:
        traits.append("a uint8 image")
    if x.dtype.kind in "iu" and x.dtype != np.uint8:
        traits.append(f"an integer ({x.dtype}) image")
    if x.size >= 1000:
        traits.append(f"a large image ({x.size} values)")
    if x.shape[0] == 1 or x.shape[1] == 1:
        traits.append("an image one pixel high or wide")
    return traits


def _mean_wrapped(image):
    """(R + G + B) / 3 added in the image's own dtype: a uint8 sum wraps around at 256 (and
    a float image gives the plain mean, the other half of the same code's mistake)."""
    x = np.asarray(image)
    with np.errstate(over="ignore"):
        return (x[:, :, 0] + x[:, :, 1] + x[:, :, 2]) / 3


def _kept_channel_axis(case: Case, out: Outcome) -> bool:
    v, e = out.value, to_grayscale(*case.args)
    return (isinstance(v, np.ndarray) and v.ndim == 3 and v.shape[:2] == e.shape
            and v.dtype.kind in "biuf" and np.allclose(v[:, :, 0], e, atol=1e-6))


GRAYSCALE = Exercise(
    "1.1", MODULE, "to_grayscale", 1.0,
    "weight the channels 0.299 R + 0.587 G + 0.114 B and return an (H, W) float array",
    ("image",), with_traits(_grayscale_cases(), _image_traits), to_grayscale, atol=1e-6,
    mistakes=(
        Mistake("rounded_weights", "your weights are rounded (0.3, 0.59, 0.11): use the "
                "exact luminance weights 0.299 R + 0.587 G + 0.114 B",
                output=lambda c: to_grayscale(*c.args, weights=(0.3, 0.59, 0.11))),
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
                test=lambda c, o: integer_result(o, to_grayscale(*c.args))),
        Mistake("reversed_weights", "the weights are applied in reverse order (as if the "
                "image were BGR): red gets 0.299, green 0.587 and blue 0.114",
                output=lambda c: to_grayscale(*c.args, weights=(0.114, 0.587, 0.299))),
        Mistake("scaled_to_one", "your values are divided by 255; keep the 0 to 255 scale",
                output=lambda c: to_grayscale(*c.args) / 255),
        Mistake("kept_channel_axis", "the channel axis is still there: return an (H, W) "
                "array, not (H, W, 1) or (H, W, 3)", test=_kept_channel_axis),
    ),
)

EXERCISES = (GRAYSCALE,)
