"""Exercise 5: max pooling and its gradient.

A window slides over each channel separately and keeps the largest value. Height and width
shrink, the number of channels does not. Windows that do not fit inside the input are dropped.

Replace each ``raise NotImplementedError(...)`` line with your own numpy code (keep the
signature), then check your work from the notebook with::

    from minicnn.grade import check
    check("ex05")
"""

from __future__ import annotations

import numpy as np


def max_pool(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling of one image, channel by channel.

    Parameters
    ----------
    x : ndarray, shape (H, W) or (H, W, C)
        The input, channels last.
    size : int
        The window is ``size`` x ``size``.
    stride : int
        How far the window moves between positions.

    Returns
    -------
    ndarray, shape (H', W') or (H', W', C)
        ``H' = (H - size) // stride + 1`` and ``W' = (W - size) // stride + 1`` (floor:
        unlike a convolution, windows that do not fit at the edge are dropped);
        ``out[i, j, c]`` is the largest value of
        ``x[i*stride : i*stride+size, j*stride : j*stride+size, c]``, negative values
        included. Windows overlap when ``stride < size``. A new array; ``x`` unchanged.
    """
    raise NotImplementedError("Exercise 5.1: max_pool")


def max_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of the loss with respect to the input of max pooling.

    Only the value that was kept in each window influenced the output, so each window's
    gradient goes to the position of its maximum (the first one in row-major order when
    several values tie). Where windows overlap, the gradients add up. Derived, with the 4 x 4
    example, ties, overlapping windows and a numerical check, in notebook 05
    (``notebooks/05_pooling.ipynb``), section "Backward through max pooling: the gradient goes
    to the maximum".

    Parameters
    ----------
    dout : ndarray, shape (H', W') or (H', W', C)
        Gradient of the loss with respect to the pooled output.
    cache : tuple
        ``(x, size, stride)``, what the forward pass kept (the package's
        ``max_pool_forward(x, size, stride)`` returns it beside its output): ``x`` is the
        input of the forward pass, shape (H, W) or (H, W, C); ``size`` and ``stride`` are
        the window size and stride it used.

    Returns
    -------
    ndarray, same shape as ``x``
        Zero everywhere except at the maxima of the windows (also when a window's maximum
        is negative), a float array even for an integer ``x``; ``dout`` and ``x`` are left
        unchanged.
    """
    raise NotImplementedError("Exercise 5.2: max_pool_backward")
