"""Pooling (chapter 05): shrink height and width, keep depth.

A window of ``size`` x ``size`` slides with ``stride`` over each channel separately; max pooling
keeps the window's largest value, average pooling its mean. Windows that would hang over the
edge are dropped, so the output is ``(H - size) // stride + 1`` high (likewise wide).

Because a window reports the same maximum wherever inside it the maximum sits, a feature may move
a little and the pooled output stays the same: a small amount of translation invariance.

The fast path never loops over pixels: it takes ``size * size`` strided views of the input (one
per position inside the window) and combines them with ``np.maximum`` or ``+``.

Shapes: ``max_pool`` / ``avg_pool`` accept (H, W), (H, W, C) or (N, H, W, C); the batched
``*_forward`` / ``*_backward`` pairs work on (N, H, W, C).
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


def _as_batch(x, name: str = "x") -> tuple[np.ndarray, tuple]:
    x = _checks.array(name, x, (2, 3, 4), "(H, W), (H, W, C) or (N, H, W, C)")
    shape = x.shape
    if x.ndim == 2:
        x = x[np.newaxis, :, :, np.newaxis]
    elif x.ndim == 3:
        x = x[np.newaxis]
    return x, shape


def _check_window(size, stride) -> tuple[int, int]:
    return _checks.positive_int("size", size), _checks.positive_int("stride", stride)


def max_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> tuple[np.ndarray, tuple]:
    """Max pooling of a batch.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    size, stride : int

    Returns
    -------
    out : ndarray, shape (N, H', W', C), ``H' = (H - size) // stride + 1``
    cache : tuple for :func:`max_pool_backward`
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    size, stride = _check_window(size, stride)
    out = None
    for _, view in _views(x, size, stride):
        out = view.copy() if out is None else np.maximum(out, view, out=out)
    return out, (x, out, size, stride)


def max_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of max pooling: each window's gradient goes to its maximum.

    When a window holds its maximum more than once, the first in row-major order takes it all
    (so the gradient is exactly the derivative of the forward pass, never split). Where windows
    overlap (stride < size) the gradients they send to the same input add up.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', C)

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    """
    x, out, size, stride = cache
    dtype = np.result_type(dout, x)
    covered = size == stride and x.shape[1] == out.shape[1] * size \
        and x.shape[2] == out.shape[2] * size
    # Without overlaps, each input takes its gradient from one window only, so the gradient of
    # each window offset can be written straight into place (no zeros first, no adds): this is
    # where most of the speed comes from. Multiplying by the 0/1 mask is exact unless ``dout``
    # holds inf or NaN; then take the slower ``np.where``.
    overlap = stride < size
    write = not overlap and bool(np.isfinite(dout).all())
    dx = np.empty(x.shape, dtype) if covered and write else np.zeros(x.shape, dtype)
    dx_views = dict(_views(dx, size, stride))
    hit = np.empty(out.shape, dtype=bool)
    taken = None
    for ij, view in _views(x, size, stride):
        np.equal(view, out, out=hit)
        if taken is None:
            taken = hit.copy()
        else:
            hit &= ~taken  # only the first maximum of each window
            taken |= hit
        if write:
            np.multiply(dout, hit, out=dx_views[ij])
        else:
            dx_views[ij] += np.where(hit, dout, 0)
    return dx


def avg_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> tuple[np.ndarray, tuple]:
    """Average pooling of a batch: (N, H, W, C) -> (N, H', W', C)."""
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    size, stride = _check_window(size, stride)
    out = None
    for _, view in _views(x, size, stride):
        out = view.copy() if out is None else np.add(out, view, out=out)
    out /= size * size
    return out, (x.shape, x.dtype, size, stride)


def avg_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of average pooling: each window shares its gradient equally among its inputs."""
    shape, dtype, size, stride = cache
    dx = np.zeros(shape, dtype=np.result_type(dout, dtype))
    share = dout / (size * size)
    for _, view in _views(dx, size, stride):
        view += share
    return dx


def max_pool(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling of an (H, W), (H, W, C) or (N, H, W, C) array; returns the same rank."""
    batch, shape = _as_batch(x)
    out, _ = max_pool_forward(batch, size, stride)
    return _restore(out, len(shape))


def avg_pool(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Average pooling of an (H, W), (H, W, C) or (N, H, W, C) array; returns the same rank."""
    batch, shape = _as_batch(x)
    out, _ = avg_pool_forward(batch, size, stride)
    return _restore(out, len(shape))


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
