"""Exercise 2: convolution.

A filter (kernel) slides over the image; at each position the overlapping values are multiplied
element by element and summed, and the sum goes into the feature map. Like every deep-learning
library, we do *not* flip the kernel: strictly speaking this is cross-correlation.

As in chapter 03, a stride that does not tile the padded input is refused with a ValueError
instead of silently dropping the last rows or columns.

Replace each ``raise NotImplementedError(...)`` line with your own numpy code (keep the
signature), then check your work from the notebook with::

    from minicnn.grade import check
    check("ex02")
"""

from __future__ import annotations

import numpy as np


def convolve(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Slide a 2-D kernel over a 2-D image (cross-correlation, no flip).

    Parameters
    ----------
    x : ndarray, shape (H, W)
        The input image.
    w : ndarray, shape (kh, kw)
        The kernel's weights.
    stride : int
        How many pixels the kernel moves between positions, right and down.
    padding : int
        Rows and columns of zeros added on every side of the image first.

    Returns
    -------
    ndarray, shape (H', W')
        ``out[i, j] = sum(padded[i*stride : i*stride+kh, j*stride : j*stride+kw] * w)``
        with ``H' = (H - kh + 2 * padding) / stride + 1`` and
        ``W' = (W - kw + 2 * padding) / stride + 1``, whole numbers (otherwise see
        Raises). The kernel may be non-square (``kh != kw``) and any stride may go with
        any padding. A new float array for any numeric ``x`` (integers, ``float32``);
        ``x`` and ``w`` are left unchanged.

    Raises
    ------
    ValueError
        If the stride does not tile the padded input, that is if ``H - kh + 2 * padding``
        or ``W - kw + 2 * padding`` is not divisible by ``stride``; the message names
        ``stride`` and shows its value.

    Examples
    --------
    >>> convolve(np.arange(9).reshape(3, 3), np.array([[1, 0], [0, 1]]))
    array([[ 4.,  6.],
           [10., 12.]])
    """
    raise NotImplementedError("Exercise 2.1: convolve")


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Apply several filters to a multi-channel image (channels-last).

    Each filter is as deep as the image; products are summed over height, width *and* depth,
    so each filter gives one 2-D feature map. The maps are stacked on the last axis.

    Parameters
    ----------
    x : ndarray, shape (H, W, C)
        The input image, channels last.
    w : ndarray, shape (F, kh, kw, C)
        F filters, each kh x kw and C deep.
    stride : int
        How many pixels the filters move between positions.
    padding : int
        Zeros added around the height and width (not the channels).

    Returns
    -------
    ndarray, shape (H', W', F)
        ``out[i, j, f] = sum(padded[i*stride : i*stride+kh, j*stride : j*stride+kw, :]
        * w[f])``, ``H' = (H - kh + 2 * padding) / stride + 1``, likewise ``W'`` (whole
        numbers, otherwise see Raises). As in :func:`convolve`: non-square kernels, any
        numeric dtype, a new float array, the inputs unchanged.

    Raises
    ------
    ValueError
        If the stride does not tile the padded input (as in :func:`convolve`); the message
        names ``stride`` and shows its value.
    """
    raise NotImplementedError("Exercise 2.2: conv2d")
