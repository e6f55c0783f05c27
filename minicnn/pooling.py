"""Pooling (chapter 05): shrink height and width, keep depth.

A window of ``size`` x ``size`` slides with ``stride`` over each channel separately; max pooling
keeps the window's largest value, average pooling its mean. Windows that would hang over the
edge are dropped, so the output is ``(H - size) // stride + 1`` high (likewise wide).

Because a window reports the same maximum wherever inside it the maximum sits, a feature may move
a little and the pooled output stays the same: a small amount of translation invariance.

The vectorised version never loops over pixels: it takes ``size * size`` strided views of the
input (one per position inside the window) and combines them with ``np.maximum`` or ``+``;
:func:`max_pool_loop` is the readable reference.

Shapes: every function accepts (H, W), (H, W, C) or (N, H, W, C) and returns the same rank.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks
from minicnn.shapes import pool_output_shape


def _views(x: np.ndarray, size: int, stride: int):
    """Yield ((i, j), view) for each offset inside the window; each view is (N, H', W', C)."""
    out_h, out_w, _ = pool_output_shape(x.shape[1:], size, stride)
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    for i in range(size):
        for j in range(size):
            yield (i, j), x[:, i:i + h_end:stride, j:j + w_end:stride, :]


def _as_batch(x, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """``x`` checked, and ``x`` as an (N, H, W, C) batch (a view)."""
    x = _checks.array(name, x, (2, 3, 4), "(H, W), (H, W, C) or (N, H, W, C)")
    if x.ndim == 2:
        return x, x[np.newaxis, :, :, np.newaxis]
    return x, (x[np.newaxis] if x.ndim == 3 else x)


def _dout_batch(dout, ndim: int, batch: np.ndarray, size: int, stride: int) -> np.ndarray:
    """``dout`` checked against the shape of the pooled output, as an (N, H', W', C) batch."""
    full = (len(batch), *pool_output_shape(batch.shape[1:], size, stride))
    shape = {2: full[1:3], 3: full[1:], 4: full}[ndim]
    return _as_batch(_checks.grad_like(dout, shape, "the pooled output"), "dout")[1]


def _check_window(size, stride) -> tuple[int, int]:
    return _checks.positive_int("size", size), _checks.positive_int("stride", stride)


def max_pool(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling of an (H, W), (H, W, C) or (N, H, W, C) array; returns the same rank.

    Each ``size`` x ``size`` window, moved by ``stride``, keeps its largest value, channel by
    channel: the output is ``(H - size) // stride + 1`` high (likewise wide).
    """
    return max_pool_forward(x, size, stride)[0]


def max_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> tuple[np.ndarray, tuple]:
    """Max pooling of each window: ``out[n, i, j, c] = max(x[n, rows, cols, c])`` with
    ``rows = i*stride : i*stride+size`` and likewise ``cols``.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C), (H, W, C) or (H, W)
    size, stride : int

    Returns
    -------
    out : ndarray, shape (N, H', W', C) (or the rank of x), ``H' = (H - size) // stride + 1``
    cache : tuple ``(x, size, stride)`` for :func:`max_pool_backward`
    """
    x, batch = _as_batch(x)
    size, stride = _check_window(size, stride)
    return _restore(_max_of_views(batch, size, stride), x.ndim), (x, size, stride)


def max_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of max pooling: each window's gradient goes to its maximum.

    When a window holds its maximum more than once, the first in row-major order takes it all
    (so the gradient is exactly the derivative of the forward pass, never split). Where windows
    overlap (stride < size) the gradients they send to the same input add up. Each window
    offset adds ``dout * hit`` (hit: 1 where that offset holds the maximum), so ``dout`` should
    be finite (``0 * inf`` is NaN).

    Parameters
    ----------
    dout : ndarray, shape of the forward output
    cache : tuple from :func:`max_pool_forward`

    Returns
    -------
    dx : ndarray, shape of x
    """
    x, size, stride = cache
    x, batch = _as_batch(x)
    dout = _dout_batch(dout, x.ndim, batch, size, stride)
    # offset k of every window, one contiguous (N, H', W', C) array per offset
    windows = np.stack([view for _, view in _views(batch, size, stride)])
    out = windows.max(axis=0)
    dx = np.zeros(batch.shape, np.result_type(dout, x))
    taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum has had its gradient
    for window, (_, dx_view) in zip(windows, _views(dx, size, stride), strict=True):
        hit = window == out
        hit &= ~taken  # only the first maximum of each window
        taken |= hit
        dx_view += dout * hit  # where windows overlap (stride < size), the gradients add up
    return _restore(dx, x.ndim)


def avg_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> tuple[np.ndarray, tuple]:
    """Average pooling: the mean of each window; shapes as in :func:`max_pool_forward`.

    Returns
    -------
    out : ndarray, shape (N, H', W', C) (or the rank of x)
    cache : tuple ``(x, size, stride)`` for :func:`avg_pool_backward`
    """
    x, batch = _as_batch(x)
    size, stride = _check_window(size, stride)
    out = None
    for _, view in _views(batch, size, stride):
        out = view.copy() if out is None else np.add(out, view, out=out)
    out /= size * size
    return _restore(out, x.ndim), (x, size, stride)


def avg_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of average pooling: each window shares its gradient equally among its inputs."""
    x, size, stride = cache
    x, batch = _as_batch(x)
    dout = _dout_batch(dout, x.ndim, batch, size, stride)
    dx = np.zeros(batch.shape, dtype=np.result_type(dout, x))
    share = dout / (size * size)
    for _, view in _views(dx, size, stride):
        view += share
    return _restore(dx, x.ndim)


def _max_of_views(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """The largest value of every window of the (N, H, W, C) batch ``x``.

    A window's maximum is the largest of its rows' maxima, so the window's ``size`` rows are
    compared first (whole image rows at a time), then the ``size`` columns of what is left.
    """
    out_h, out_w, _ = pool_output_shape(x.shape[1:], size, stride)
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    rows = x[:, 0:h_end:stride].copy()  # (N, H', W, C)
    for i in range(1, size):
        np.maximum(rows, x[:, i:i + h_end:stride], out=rows)
    out = rows[:, :, 0:w_end:stride].copy()  # (N, H', W', C)
    for j in range(1, size):
        np.maximum(out, rows[:, :, j:j + w_end:stride], out=out)
    return out


def avg_pool(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Average pooling of an (H, W), (H, W, C) or (N, H, W, C) array; returns the same rank."""
    return avg_pool_forward(x, size, stride)[0]


def _restore(out: np.ndarray, ndim: int) -> np.ndarray:
    if ndim == 2:
        return out[0, :, :, 0]
    if ndim == 3:
        return out[0]
    return out


def max_pool_loop(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """The readable reference: max pooling of one (H, W, C) array with explicit loops."""
    x = _checks.array("x", x, 3, "(H, W, C)")
    out_h, out_w, channels = pool_output_shape(x.shape, size, stride)
    out = np.empty((out_h, out_w, channels), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size, :]
            out[i, j, :] = window.max(axis=(0, 1))
    return out
