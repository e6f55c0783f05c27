"""Data augmentation on the fly (chapter 10): every batch a little different.

A photo of a shirt moved two pixels to the left, or mirrored left to right, is still a photo of a
shirt. Training on such variants, a fresh random one of every image in every epoch, shows the
network more of what its classes look like without a single new photo. Both changes suit
Fashion-MNIST: its clothes are centred only roughly, and a mirrored shoe or shirt is as plausible
as the original (an upside-down one is not, nor a mirrored digit, which is why the choice depends
on the data).

:func:`shift_images` and :func:`flip_images` do one change with the offsets you give;
:class:`Augment` draws them at random and is what ``fit(..., augment=Augment())`` calls on every
batch with a generator seeded from ``fit``'s seed, so that a run can be repeated exactly.

Shapes: a batch x (N, H, W, C), channels-last; the result has the same shape and dtype.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def shift_images(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Move image ``i`` down by ``dy[i]`` and right by ``dx[i]`` pixels, filling with zeros.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    dy, dx : ndarray of int, shape (N,)
        Negative values move up and left. The pixels moved out of the frame are lost.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        ``out[i, r, c] = x[i, r - dy[i], c - dx[i]]`` where that is inside the image, else 0.
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    n, h, w, _ = x.shape
    dy, dx = np.asarray(dy, dtype=int), np.asarray(dx, dtype=int)
    if dy.shape != (n,) or dx.shape != (n,):
        raise ValueError(f"dy and dx must hold one offset per image, shape ({n},); got shapes "
                         f"{dy.shape} and {dx.shape}")
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(x, ((0, 0), (s, s), (s, s), (0, 0)))
    rows = (s - dy)[:, None] + np.arange(h)  # (N, H): the padded row each output row reads
    cols = (s - dx)[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def flip_images(x: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Mirror left to right the images where ``which`` is True; the others stay as they are.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    which : ndarray of bool, shape (N,)

    Returns
    -------
    ndarray, shape (N, H, W, C), a copy
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    which = np.asarray(which, dtype=bool)
    if which.shape != (len(x),):
        raise ValueError(f"which must hold one True/False per image, shape ({len(x)},); got "
                         f"shape {which.shape}")
    out = x.copy()
    out[which] = x[which, :, ::-1]
    return out


class Augment:
    """Random shifts and horizontal flips, a fresh choice for every image of every batch.

    ``Augment(max_shift=2, flip=True)(x, rng)`` moves each image by a whole number of pixels
    from ``-max_shift`` to ``max_shift`` along each axis (uniformly, independently), then
    mirrors it left to right with probability ``flip_probability`` if ``flip`` is on.

    Parameters
    ----------
    max_shift : int
        The largest shift in pixels (0: no shifts).
    flip : bool
        Whether to mirror images left to right at random.
    flip_probability : float in [0, 1]
    """

    def __init__(self, max_shift: int = 2, flip: bool = True,
                 flip_probability: float = 0.5) -> None:
        self.max_shift = _checks.positive_int("max_shift", max_shift, allow_zero=True)
        if not 0 <= flip_probability <= 1:
            raise ValueError(f"flip_probability must be in [0, 1], got {flip_probability!r}")
        self.flip, self.flip_probability = bool(flip), float(flip_probability)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A randomly changed copy of the batch x (N, H, W, C), drawn from ``rng``."""
        x = _checks.array("x", x, 4, "(N, H, W, C)")
        if self.max_shift:
            dy, dx = rng.integers(-self.max_shift, self.max_shift + 1, size=(2, len(x)))
            x = shift_images(x, dy, dx)
        if self.flip:
            x = flip_images(x, rng.random(len(x)) < self.flip_probability)
        return x

    def __repr__(self) -> str:
        return (f"Augment(max_shift={self.max_shift}, flip={self.flip}, "
                f"flip_probability={self.flip_probability:g})")
