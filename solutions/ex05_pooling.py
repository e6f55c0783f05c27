"""Exercise 5: max pooling and its gradient.

A window slides over each channel separately and keeps the largest value. Height and width
shrink, the number of channels does not. Windows that do not fit inside the input are dropped.
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
    out_h = (x.shape[0] - size) // stride + 1
    out_w = (x.shape[1] - size) // stride + 1
    out = np.zeros((out_h, out_w) + x.shape[2:])
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            out[i, j] = window.max(axis=(0, 1))
    return out


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
    x, size, stride = cache
    dx = np.zeros(x.shape)
    channels = x.shape[2] if x.ndim == 3 else None
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            top, left = i * stride, j * stride
            for c in range(channels or 1):
                if channels is None:
                    window, grad = x[top:top + size, left:left + size], dout[i, j]
                else:
                    window, grad = x[top:top + size, left:left + size, c], dout[i, j, c]
                # argmax returns the first maximum in row-major order.
                r, s = np.unravel_index(np.argmax(window), window.shape)
                if channels is None:
                    dx[top + r, left + s] += grad
                else:
                    dx[top + r, left + s, c] += grad
    return dx
