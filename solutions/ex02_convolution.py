"""Exercise 2: convolution.

A filter (kernel) slides over the image; at each position the overlapping values are multiplied
element by element and summed, and the sum goes into the feature map. Like every deep-learning
library, we do *not* flip the kernel: strictly speaking this is cross-correlation.
"""

from __future__ import annotations

import numpy as np


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1,
             padding: int = 0) -> np.ndarray:
    """Slide a 2-D kernel over a 2-D image (cross-correlation, no flip).

    Parameters
    ----------
    image : ndarray, shape (H, W)
        The input.
    kernel : ndarray, shape (kh, kw)
        The filter's weights.
    stride : int
        How many pixels the kernel moves between positions, right and down.
    padding : int
        Rows and columns of zeros added on every side of the image first.

    Returns
    -------
    ndarray, shape (H', W')
        ``out[i, j] = sum(padded[i*stride : i*stride+kh, j*stride : j*stride+kw] * kernel)``
        with ``H' = (H - kh + 2 * padding) // stride + 1`` and
        ``W' = (W - kw + 2 * padding) // stride + 1``.

    Examples
    --------
    >>> convolve(np.arange(9).reshape(3, 3), np.array([[1, 0], [0, 1]]))
    array([[ 4.,  6.],
           [10., 12.]])
    """
    padded = np.pad(np.asarray(image, dtype=np.float64), padding)
    kh, kw = kernel.shape
    out_h = (padded.shape[0] - kh) // stride + 1
    out_w = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = padded[top:top + kh, left:left + kw]
            out[i, j] = np.sum(window * kernel)
    return out


def conv2d(image: np.ndarray, filters: np.ndarray, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Apply several filters to a multi-channel image (channels-last).

    Each filter is as deep as the image; products are summed over height, width *and* depth,
    so each filter gives one 2-D feature map. The maps are stacked on the last axis.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)
        The input, channels last.
    filters : ndarray, shape (F, kh, kw, C)
        F filters, each kh x kw and C deep.
    stride : int
        How many pixels the filters move between positions.
    padding : int
        Zeros added around the height and width (not the channels).

    Returns
    -------
    ndarray, shape (H', W', F)
        ``out[i, j, f] = sum(padded[i*stride : i*stride+kh, j*stride : j*stride+kw, :]
        * filters[f])``, ``H' = (H - kh + 2 * padding) // stride + 1``, likewise ``W'``.
    """
    image = np.asarray(image, dtype=np.float64)
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    n_filters, kh, kw, _ = filters.shape
    out_h = (padded.shape[0] - kh) // stride + 1
    out_w = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((out_h, out_w, n_filters))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = padded[top:top + kh, left:left + kw, :]
            for f in range(n_filters):
                out[i, j, f] = np.sum(window * filters[f])
    return out
