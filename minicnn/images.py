"""Images as arrays (chapter 01): real photographs, toy images, letters, grayscale, shuffling.

Everything here is channels-last: a grayscale image is ``(H, W)`` (or ``(H, W, 1)``), a colour
image ``(H, W, 3)`` with the depth holding red, green and blue.

- :func:`sample_photo` loads a real photograph that ships with matplotlib, and
  :func:`shipped_photo` one of the small photographs that ship with minicnn (chapter 09).
- :func:`diagonal_image` and :func:`diagonal_filter` are the 10 x 10 toy image of 0s and 1s with
  right-sloping diagonal lines, and the 3 x 3 filter that finds them.
- :func:`letter` and :func:`place` draw a small letter anywhere on a blank canvas, to shift it
  around and watch a feature map follow.
- :func:`to_grayscale` and :func:`shuffle_pixels` transform an image.
"""

from __future__ import annotations

import gzip
import numbers
from pathlib import Path

import numpy as np

from ._checks import positive_int

__all__ = ["SAMPLE_PHOTOS", "SHIPPED_PHOTOS", "LETTERS", "sample_photo", "shipped_photo",
           "diagonal_image", "diagonal_filter", "letter", "place", "to_grayscale",
           "shuffle_pixels"]

#: Names accepted by :func:`sample_photo`, with what they show.
SAMPLE_PHOTOS: dict[str, str] = {
    "grace_hopper": "portrait of the computer scientist Grace Hopper, colour, 600 x 512",
    "brain_mri": "a slice of a brain MRI scan, grayscale (R = G = B), 256 x 256",
}

#: Names accepted by :func:`shipped_photo`: (what it shows, where it comes from, its licence).
#: minicnn/data/photos/README.md says more.
SHIPPED_PHOTOS: dict[str, tuple[str, str, str]] = {
    "chelsea": ("Chelsea the cat", "scikit-image's sample data (photo: Stefan van der Walt)",
                "CC0"),
    "coffee": ("a cup of coffee", "scikit-image's sample data (photo: Rachel Michetti)",
               "CC0"),
    "rocket": ("the launch of Falcon 9 carrying DSCOVR", "scikit-image's sample data "
               "(photo: SpaceX)", "public domain"),
    "skin_moles": ("a phone photo of skin with two small moles (not a dermoscopy image)",
                   "the dermapred package's example image, cropped", "Apache License 2.0"),
}


def sample_photo(name: str = "grace_hopper") -> np.ndarray:
    """A real photograph from matplotlib's sample data, as an array.

    Parameters
    ----------
    name : str
        One of ``SAMPLE_PHOTOS``: ``"grace_hopper"`` (a colour portrait, ``grace_hopper.jpg``)
        or ``"brain_mri"`` (``s1045.ima.gz``, a 256 x 256 MRI slice stored as 16-bit
        big-endian values in 0..215; its single channel is repeated into R, G and B).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        Intensities 0 (dark) to 255 (bright) for red, green and blue.
    """
    import matplotlib.cbook as cbook  # imported here: the rest of the module needs only numpy
    import matplotlib.image as mpimg

    if name not in SAMPLE_PHOTOS:
        choices = ", ".join(repr(n) for n in SAMPLE_PHOTOS)
        raise ValueError(f"name must be one of {choices}, got {name!r}")
    if name == "grace_hopper":
        x = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        return np.ascontiguousarray(x[..., :3], dtype=np.uint8)
    with gzip.open(cbook.get_sample_data("s1045.ima.gz", asfileobj=False), "rb") as f:
        scan = np.frombuffer(f.read(), dtype=">u2").reshape(256, 256)
    gray = np.clip(scan, 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, np.newaxis], 3, axis=2)


def shipped_photo(name: str) -> np.ndarray:
    """One of the small photographs that ship with minicnn (``minicnn/data/photos``).

    Parameters
    ----------
    name : str
        One of ``SHIPPED_PHOTOS`` (``"chelsea"``, ``"coffee"``, ``"rocket"``,
        ``"skin_moles"``); each entry says what the photo shows, its source and its licence.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        At most 192 pixels on a side: 128 x 192 for the three scikit-image photos,
        192 x 192 for ``"skin_moles"``.
    """
    import matplotlib.image as mpimg  # imported here: the rest of the module needs only numpy

    if name not in SHIPPED_PHOTOS:
        choices = ", ".join(repr(n) for n in SHIPPED_PHOTOS)
        raise ValueError(f"name must be one of {choices}, got {name!r}")
    path = Path(__file__).resolve().parent / "data" / "photos" / f"{name}.png"
    x = mpimg.imread(path)  # PNG: floats in 0..1
    return np.round(x[..., :3] * 255).astype(np.uint8)


# Three right-sloping lines (bottom-left to top-right) on the anti-diagonals row + col = 5,
# 10 and 15: 5, 8 and 4 pixels long. They are far enough apart that a 3 x 3 window never
# sees two of them on its own anti-diagonal.
_DIAGONAL_LINES = (((5, 0), 5), ((8, 2), 8), ((9, 6), 4))  # (start row, start col), length


def diagonal_image(with_channel: bool = False) -> np.ndarray:
    """The 10 x 10 toy image: 0s with a few right-sloping diagonal lines of 1s.

    A line runs from bottom-left to top-right (row decreases as column increases). There are
    three lines, of 5, 8 and 4 pixels.

    Parameters
    ----------
    with_channel : bool
        If True, return shape (10, 10, 1) (one channel, channels-last) instead of (10, 10).

    Returns
    -------
    ndarray of float64, shape (10, 10) or (10, 10, 1)

    Notes
    -----
    Sliding :func:`diagonal_filter` over it (stride 1, no padding) gives an 8 x 8 feature map
    whose maximum, 3, appears wherever three pixels of a line fill the filter's anti-diagonal:
    ``length - 2`` times per line, 3 + 6 + 2 = 11 times in all. Nowhere else reaches 3.
    """
    x = np.zeros((10, 10))
    for (row, col), length in _DIAGONAL_LINES:
        for k in range(length):
            x[row - k, col + k] = 1.0
    return x[:, :, np.newaxis] if with_channel else x


def diagonal_filter(with_channel: bool = False) -> np.ndarray:
    """The 3 x 3 filter of 0s and 1s that detects right-sloping diagonal lines.

    Ones on the anti-diagonal (top-right to bottom-left), zeros elsewhere::

        0 0 1
        0 1 0
        1 0 0

    Parameters
    ----------
    with_channel : bool
        If True, return shape (1, 3, 3, 1): one filter as deep as a one-channel image, in the
        package's (F, kh, kw, C) layout.

    Returns
    -------
    ndarray of float64, shape (3, 3) or (1, 3, 3, 1)
    """
    w = np.fliplr(np.eye(3))
    return w[np.newaxis, :, :, np.newaxis] if with_channel else w


# Hand-drawn 7 x 7 letters: '#' is ink (1), '.' is background (0).
_LETTER_ROWS = {
    "a": (".......", ".#####.", "......#", ".######", "#.....#", "#....##", ".####.#"),
    "o": (".......", ".#####.", "#.....#", "#.....#", "#.....#", "#.....#", ".#####."),
    "x": ("#.....#", ".#...#.", "..#.#..", "...#...", "..#.#..", ".#...#.", "#.....#"),
    "t": ("...#...", "...#...", "#######", "...#...", "...#...", "...#..#", "....##."),
}
#: The letters :func:`letter` can draw.
LETTERS: tuple[str, ...] = tuple(_LETTER_ROWS)


def letter(char: str = "a", size: int = 7) -> np.ndarray:
    """A small binary bitmap of a lower-case letter.

    Parameters
    ----------
    char : str
        One of ``LETTERS`` (``"a"``, ``"o"``, ``"x"``, ``"t"``).
    size : int
        Side in pixels: 7, or a multiple of 7 (each pixel becomes a ``size // 7`` square).

    Returns
    -------
    ndarray of float64, shape (size, size)
        1.0 where the letter is drawn, 0.0 elsewhere.
    """
    if char not in _LETTER_ROWS:
        raise ValueError(f"char must be one of {', '.join(map(repr, LETTERS))}, got {char!r}")
    size = positive_int("size", size)
    if size % 7:
        raise ValueError(f"size must be a multiple of 7 (7, 14, 21, 28, ...), got {size}; "
                         f"the letters are drawn on a 7 x 7 grid and scaled by whole numbers")
    small = np.array([[c == "#" for c in row] for row in _LETTER_ROWS[char]], dtype=np.float64)
    return np.kron(small, np.ones((size // 7, size // 7)))


def place(pattern, canvas_shape: tuple[int, ...], top: int, left: int) -> np.ndarray:
    """Paste ``pattern`` on a blank (all-zero) canvas with its top-left corner at (top, left).

    Parameters
    ----------
    pattern : array_like, shape (h, w) or (h, w, C)
        What to paste, e.g. ``letter("a")``.
    canvas_shape : tuple of int, (H, W) or (H, W, C)
        Shape of the canvas. A 2-D pattern on a 3-D canvas is copied into every channel.
    top, left : int
        Row and column of the pattern's top-left pixel; the pattern must fit inside:
        ``0 <= top <= H - h`` and ``0 <= left <= W - w``.

    Returns
    -------
    ndarray of float64, shape (H, W) or (H, W, C)
    """
    pattern = np.asarray(pattern, dtype=np.float64)
    if pattern.ndim not in (2, 3):
        raise ValueError(f"pattern must have shape (h, w) or (h, w, C), got {pattern.shape}")
    shape = tuple(canvas_shape) if isinstance(canvas_shape, tuple | list) else None
    if shape is None or len(shape) not in (2, 3) or not all(
            isinstance(n, numbers.Integral) and n > 0 for n in shape):
        raise ValueError(f"canvas_shape must be (H, W) or (H, W, C) of positive integers, "
                         f"got {canvas_shape!r}")
    if pattern.ndim == 3:
        if len(shape) == 2:
            shape = (*shape, pattern.shape[2])
        elif shape[2] != pattern.shape[2]:
            raise ValueError(f"pattern has {pattern.shape[2]} channels but canvas_shape "
                             f"{canvas_shape!r} has {shape[2]}; make them equal")
    top = positive_int("top", top, allow_zero=True)
    left = positive_int("left", left, allow_zero=True)
    h, w = pattern.shape[:2]
    for arg, value, room, side in (("top", top, shape[0] - h, "height"),
                                   ("left", left, shape[1] - w, "width")):
        if value > room:
            hint = (f"use {arg} between 0 and {room}" if room >= 0
                    else f"the pattern's {side} is larger than the canvas: use a bigger canvas")
            raise ValueError(f"the {h} x {w} pattern does not fit on the {shape[0]} x "
                             f"{shape[1]} canvas at {arg}={value}; {hint}")
    canvas = np.zeros(shape)
    canvas[top:top + h, left:left + w] = pattern if pattern.ndim == len(shape) \
        else pattern[:, :, np.newaxis]
    return canvas


#: ITU-R BT.601 luma weights for red, green and blue.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def to_grayscale(image) -> np.ndarray:
    """Convert a colour image to grayscale: ``0.299 R + 0.587 G + 0.114 B``.

    Parameters
    ----------
    image : array_like, shape (H, W, 3) or (H, W, 4)
        Any numeric dtype (uint8 0..255 or floats 0..1). An alpha channel (RGBA) is dropped.

    Returns
    -------
    ndarray of float64, shape (H, W)
        In the same scale as the input (0..255 for uint8).
    """
    image = np.asarray(image)
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise TypeError(f"image must hold numbers, got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        hint = ("it looks grayscale already" if image.ndim == 2 or
                (image.ndim == 3 and image.shape[2] == 1) else "use one (H, W, C) image")
        raise ValueError(f"image must have shape (H, W, 3) or (H, W, 4) (RGB or RGBA), "
                         f"got {image.shape}; {hint}")
    return image[:, :, :3].astype(np.float64) @ LUMA_WEIGHTS


def shuffle_pixels(image, seed: int | np.random.Generator = 0) -> np.ndarray:
    """The same pixels in a random order: same shape, same values, no longer a picture.

    Each pixel moves as a whole (its channels stay together); the permutation is drawn with
    ``np.random.default_rng(seed)``, so a seed always gives the same shuffle.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    seed : int or numpy.random.Generator

    Returns
    -------
    ndarray, shape and dtype of ``image``
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {image.shape}")
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    pixels = image.reshape(h * w, -1)
    return pixels[rng.permutation(h * w)].reshape(image.shape)
