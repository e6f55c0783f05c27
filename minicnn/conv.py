"""Convolution (chapter 02), channels-last.

What convnets call convolution is cross-correlation: the filter is slid over the image as it is,
not flipped. At each position the filter and the patch under it are multiplied element-wise and
summed (a dot product), and the sum goes into the feature map.

Two implementations of the same maths live here:

- :func:`conv2d_loop` and :func:`conv_backward_loop` are plain loops, written to be read; they are
  the reference that the tests hold the fast path to.
- :func:`conv_forward` and :func:`conv_backward` are the fast path used by the layers: the patches
  are copied into a matrix of columns (im2col) so that all the dot products become one matrix
  product that numpy hands to BLAS.

Shapes: image (H, W, C), batch (N, H, W, C), filters (F, kh, kw, C), bias (F,), feature map
(H', W', F) with ``H' = (H - kh + 2 * padding) // stride + 1``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minicnn import _checks
from minicnn.shapes import output_size


def _out_hw(h: int, w: int, kh: int, kw: int, stride: int, padding: int) -> tuple[int, int]:
    """Output height and width; the error says which axis does not fit."""
    try:
        out_h = output_size(h, kh, stride, padding)
    except ValueError as exc:
        raise type(exc)(f"along the height: {exc}") from None
    try:
        out_w = output_size(w, kw, stride, padding)
    except ValueError as exc:
        raise type(exc)(f"along the width: {exc}") from None
    return out_h, out_w


def _check_depth(x_channels: int, filters: np.ndarray, name: str = "filters") -> None:
    if filters.shape[3] != x_channels:
        raise ValueError(
            f"{name} have depth {filters.shape[3]} (shape {filters.shape}) but the input has "
            f"{x_channels} channel(s): each filter must be exactly as deep as its input; "
            f"use filters shaped (F, kh, kw, {x_channels})")


def _check_bias(bias, n_filters: int) -> np.ndarray | None:
    if bias is None:
        return None
    bias = np.asarray(bias)
    if bias.shape != (n_filters,):
        raise ValueError(f"bias must have shape ({n_filters},), one value per filter, "
                         f"got shape {bias.shape}")
    return bias


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the height and width axes of an (N, H, W, C) batch by ``padding`` on each side."""
    if padding == 0:
        return x
    n, h, w, c = x.shape
    out = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=x.dtype)
    out[:, padding:padding + h, padding:padding + w, :] = x  # np.pad, without its overhead
    return out


# ----------------------------------------------------------------------------------------------
# The readable reference: plain loops.
# ----------------------------------------------------------------------------------------------

def conv2d_loop(image: np.ndarray, filters: np.ndarray, stride: int = 1, padding: int = 0,
                bias: np.ndarray | None = None) -> np.ndarray:
    """Convolve one image with a bank of filters, one dot product at a time.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)
    filters : ndarray, shape (F, kh, kw, C)
    stride, padding : int
    bias : ndarray, shape (F,), optional

    Returns
    -------
    ndarray, shape (H', W', F)
    """
    image = _checks.array("image", image, 3, "(H, W, C)")
    filters = _checks.array("filters", filters, 4, "(F, kh, kw, C)")
    _check_depth(image.shape[2], filters)
    bias = _check_bias(bias, filters.shape[0])
    n_filters, kh, kw, _ = filters.shape
    out_h, out_w = _out_hw(image.shape[0], image.shape[1], kh, kw, stride, padding)
    padded = pad(image[np.newaxis], padding)[0]
    out = np.zeros((out_h, out_w, n_filters), dtype=np.result_type(image, filters))
    for f in range(n_filters):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                patch = padded[top:top + kh, left:left + kw, :]
                out[i, j, f] = np.sum(patch * filters[f])
        if bias is not None:
            out[:, :, f] += bias[f]
    return out


def conv_backward_loop(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                       padding: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a batched convolution, one patch at a time (the reference for the fast path).

    Each output value ``out[n, i, j, f]`` was the dot product of filter ``f`` with one patch, so
    its gradient ``dout[n, i, j, f]`` flows back to that patch (times the filter) and to the
    filter (times the patch).

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    dw : ndarray, shape (F, kh, kw, C)
    db : ndarray, shape (F,)
    """
    n_filters, kh, kw, _ = w.shape
    padded = pad(x, padding)
    dpadded = np.zeros_like(padded, dtype=np.result_type(dout, x, w))
    dw = np.zeros_like(w, dtype=dpadded.dtype)
    for n in range(x.shape[0]):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                top, left = i * stride, j * stride
                patch = padded[n, top:top + kh, left:left + kw, :]
                for f in range(n_filters):
                    g = dout[n, i, j, f]
                    dw[f] += g * patch
                    dpadded[n, top:top + kh, left:left + kw, :] += g * w[f]
    h, wd = x.shape[1], x.shape[2]
    dx = dpadded[:, padding:padding + h, padding:padding + wd, :]
    db = dout.sum(axis=(0, 1, 2))
    return dx, dw, db


# ----------------------------------------------------------------------------------------------
# The fast path: im2col + one matrix product.
# ----------------------------------------------------------------------------------------------

def im2col(x: np.ndarray, kh: int, kw: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """Copy every (kh, kw, C) patch of a padded batch into one row of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, Hp, Wp, C)
        The batch, already padded.

    Returns
    -------
    cols : ndarray, shape (N, H', W', kh, kw, C)
        C-contiguous, so ``cols.reshape(N * H' * W', kh * kw * C)`` is free.

    Notes
    -----
    :func:`conv_forward` copies the same patches (with ``_columns``, which also serves the
    fused conv-ReLU-pool step); with one channel it stores them one patch offset per row.
    Speed depends on how long the runs of memory are that each copy moves. With several
    channels, one copy of a sliding-window view does it all: inside a patch, each of its kh rows
    is kw * C consecutive numbers of the image. With one channel those runs would be only kw
    long, so instead kh * kw strided slice copies each move whole image rows.
    """
    n, _, _, c = x.shape
    if c > 1:
        windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (N, H'', W'', C, kh, kw)
        windows = windows[:, :stride * out_h:stride, :stride * out_w:stride]
        return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))
    cols = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i:i + h_end:stride, j:j + w_end:stride, :]
    return cols


def col2im(dcols: np.ndarray, padded_shape: tuple[int, ...], stride: int) -> np.ndarray:
    """Add patch gradients back to where their patches came from (the adjoint of :func:`im2col`).

    Parameters
    ----------
    dcols : ndarray, shape (N, H', W', kh, kw, C)
    padded_shape : tuple
        (N, Hp, Wp, C), the shape of the padded input.

    Returns
    -------
    ndarray, shape (N, Hp, Wp, C)
        Overlapping patches add up: kh * kw strided slice-adds, far faster than ``np.add.at``.
    """
    _, out_h, out_w, kh, kw, _ = dcols.shape
    dx = np.zeros(padded_shape, dtype=dcols.dtype)
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + h_end:stride, j:j + w_end:stride, :] += dcols[:, :, :, i, j, :]
    return dx


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
                 padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Batched convolution, the fast path.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    b : ndarray, shape (F,), optional
    stride, padding : int

    Returns
    -------
    out : ndarray, shape (N, H', W', F), C-contiguous
    cache : tuple
        What :func:`conv_backward` needs (the columns are kept, not recomputed).
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    w = _checks.array("w", w, 4, "(F, kh, kw, C)")
    _check_depth(x.shape[3], w, "w")
    b = _check_bias(b, w.shape[0])
    out_hw = _out_hw(x.shape[1], x.shape[2], w.shape[1], w.shape[2], stride, padding)
    cols = _columns(pad(x, padding), w.shape, stride, 1, out_hw)
    out = _matmul_columns(cols, w, b)
    cache = (x.shape, w, cols, stride, padding, out_hw)
    return out.reshape(x.shape[0], *out_hw, w.shape[0]), cache


def conv_backward(dout: np.ndarray, cache: tuple, need_dx: bool = True
                  ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
        Gradient of the loss with respect to the output.
    cache : tuple
        From :func:`conv_forward`.
    need_dx : bool
        False skips the input gradient (the first layer of a network never needs it).

    Returns
    -------
    dx : ndarray, shape (N, H, W, C), or None when ``need_dx`` is False
    dw : ndarray, shape (F, kh, kw, C)
    db : ndarray, shape (F,)
    """
    x_shape, w, cols, stride, padding, out_hw = cache
    dout2 = np.ascontiguousarray(dout).reshape(-1, w.shape[0])
    dw, db = _weight_gradients(cols, dout2, w)
    if not need_dx:
        return None, dw, db
    return _input_gradient(dout2, w, out_hw, x_shape, stride, padding), dw, db


def _column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` for a tall (M, F) matrix; as a matrix-vector product for floats, which
    is many times faster than numpy's reduction across rows when F is small."""
    if a.dtype.kind == "f":
        return np.ones(a.shape[0], dtype=a.dtype) @ a
    return a.sum(axis=0)


#: With this few input channels the columns are stored one patch offset per row.
_FEW_CHANNELS = 1


def _columns(xp: np.ndarray, w_shape: tuple[int, ...], stride: int, size: int,
             pool_hw: tuple[int, int]) -> np.ndarray:
    """The patches under the conv outputs, as the fast path multiplies them.

    With ``size`` 1 these are all the conv's outputs, in (n, h', w') order. With a pooling
    window ``size`` > 1 (see :mod:`minicnn.fused`) they are only the outputs that a window
    covers, block by block: block (a, b) holds the output at (a, b) inside every window.

    Parameters
    ----------
    xp : ndarray, shape (N, Hp, Wp, C), padded
    w_shape : (F, kh, kw, C)
    pool_hw : (H'', W''), the number of windows (or of outputs, when ``size`` is 1)

    Returns
    -------
    cols : ndarray
        (size, size, N, H'', W'', kh, kw, C): one patch per row, for several channels (each
        copy then moves runs of kw * C numbers); or (kh * kw * C + 1, size, size, N, H'', W''):
        one patch offset per row plus a row of ones for the bias, for few channels, where patch
        rows would be too short to copy quickly.
    """
    _, kh, kw, c = w_shape
    pool_h, pool_w = pool_hw
    step = stride * size  # from one window to the next, in input pixels
    rows = slice(0, step * (pool_h - 1) + 1, step)
    cols_ = slice(0, step * (pool_w - 1) + 1, step)
    n = xp.shape[0]
    if c > _FEW_CHANNELS:
        windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))  # (N, H', W', C, kh, kw)
        out = np.empty((size, size, n, pool_h, pool_w, kh, kw, c), dtype=xp.dtype)
        for a in range(size):
            for b in range(size):
                view = windows[:, stride * a:, stride * b:][:, rows, cols_]
                out[a, b] = view.transpose(0, 1, 2, 4, 5, 3)
        return out
    out = np.empty((kh * kw * c + 1, size, size, n, pool_h, pool_w), dtype=xp.dtype)
    out[-1] = 1
    k = 0
    for i in range(kh):
        for j in range(kw):
            for ch in range(c):
                for a in range(size):
                    for b in range(size):
                        out[k, a, b] = xp[:, stride * a + i:, stride * b + j:, ch][:, rows, cols_]
                k += 1
    return out


def _matmul_columns(cols: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """All conv outputs as one matrix product: shape (rows of ``cols``, F)."""
    n_filters = w.shape[0]
    w2 = w.reshape(n_filters, -1)
    if cols.ndim == 8:  # one patch per row
        out = cols.reshape(-1, w2.shape[1]) @ w2.T
        if b is not None:
            # a whole output row (W'' * F numbers) at a time rather than F at a time
            out.reshape(-1, cols.shape[4] * n_filters)[...] += np.tile(b, cols.shape[4])
        return out
    bias = np.zeros(n_filters, w.dtype) if b is None else b
    w_aug = np.concatenate([w2, bias[:, np.newaxis].astype(w2.dtype)], axis=1)
    return cols.reshape(cols.shape[0], -1).T @ w_aug.T


def _weight_gradients(cols: np.ndarray, d2: np.ndarray, w: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """dw (F, kh, kw, C) and db (F,) from the columns and the conv outputs' gradient (M, F)."""
    if cols.ndim == 8:
        cols2 = cols.reshape(d2.shape[0], -1)
        # (K, M) @ (M, F) is quicker for BLAS than (F, M) @ (M, K) when F is small.
        dw = (cols2.T @ d2).T.reshape(w.shape)
        return np.ascontiguousarray(dw), _column_sums(d2)
    both = cols.reshape(cols.shape[0], -1) @ d2  # (kh * kw * C + 1, F); the last row is db
    return np.ascontiguousarray(both[:-1].T).reshape(w.shape), both[-1].copy()


def _input_gradient(dout2: np.ndarray, w: np.ndarray, out_hw: tuple[int, int],
                    x_shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
    """Gradient with respect to the input: the same sums as ``col2im(dout2 @ w)``, unpadded.

    Each filter offset (i, j) sends ``dout2 @ w[:, i, j, :]`` back to the input shifted by
    (i, j). One stacked matrix product computes all kh * kw of them, laid out offset by offset,
    so every add below moves whole image rows instead of C numbers at a time. What would land
    on the padding is never added: each offset's rows and columns are clipped to the image.

    Parameters
    ----------
    dout2 : ndarray, shape (N * H' * W', F), rows in (n, h', w') order
    w : ndarray, shape (F, kh, kw, C)
    out_hw : (H', W'), the output rows and columns that ``dout2`` covers
    x_shape : (N, H, W, C), the unpadded input

    Returns
    -------
    ndarray, shape (N, H, W, C)
    """
    n, h, wd, c = x_shape
    out_h, out_w = out_hw
    _, kh, kw, _ = w.shape
    w_offsets = w.transpose(1, 2, 0, 3).reshape(kh * kw, w.shape[0], c)  # (kh*kw, F, C)
    dpatch = np.matmul(dout2, w_offsets).reshape(kh, kw, n, out_h, out_w, c)
    dx = np.zeros(x_shape, dtype=dpatch.dtype)
    for i in range(kh):
        rows_out, rows_in = _clip(i - padding, stride, out_h, h)
        for j in range(kw):
            cols_out, cols_in = _clip(j - padding, stride, out_w, wd)
            dx[:, rows_in, cols_in, :] += dpatch[i, j, :, rows_out, cols_out, :]
    return dx


def _clip(shift: int, stride: int, n_out: int, n_in: int) -> tuple[slice, slice]:
    """Output positions o whose input position ``stride * o + shift`` lies in [0, n_in), as a
    slice of outputs and the matching slice of inputs."""
    first = (-shift + stride - 1) // stride if shift < 0 else 0  # ceil(-shift / stride)
    last = min(n_out - 1, (n_in - 1 - shift) // stride)
    if last < first:
        return slice(0, 0), slice(0, 0)
    return (slice(first, last + 1),
            slice(stride * first + shift, stride * last + shift + 1, stride))


# ----------------------------------------------------------------------------------------------
# Single images, as the notebooks use them.
# ----------------------------------------------------------------------------------------------

def conv2d(image: np.ndarray, filters: np.ndarray, stride: int = 1, padding: int = 0,
           bias: np.ndarray | None = None) -> np.ndarray:
    """Convolve one image with a bank of filters (fast path; same numbers as :func:`conv2d_loop`).

    Each filter is as deep as the image; its products are summed over height, width and depth,
    so each filter gives one 2-D map and F filters give a feature map of depth F.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)
    filters : ndarray, shape (F, kh, kw, C)
    stride : int
        Step between positions, the same along both axes.
    padding : int
        Zeros added around the height and width (never the depth).
    bias : ndarray, shape (F,), optional

    Returns
    -------
    ndarray, shape (H', W', F)
        ``H' = (H - kh + 2 * padding) // stride + 1``, likewise W'.
    """
    image = _checks.array("image", image, 3, "(H, W, C)")
    filters = _checks.array("filters", filters, 4, "(F, kh, kw, C)")
    _check_depth(image.shape[2], filters)
    out, _ = conv_forward(image[np.newaxis], filters, bias, stride, padding)
    return out[0]


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1,
             padding: int = 0) -> np.ndarray:
    """Slide one 2-D kernel over one 2-D image (one channel): cross-correlation, no flip.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (kh, kw)

    Returns
    -------
    ndarray, shape (H', W')

    Examples
    --------
    >>> convolve(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))
    array([[ 8., 12.],
           [20., 24.]])
    """
    image = _checks.array("image", image, 2, "(H, W)")
    kernel = _checks.array("kernel", kernel, 2, "(kh, kw)")
    out, _ = conv_forward(image[np.newaxis, :, :, np.newaxis],
                          kernel[np.newaxis, :, :, np.newaxis], None, stride, padding)
    return out[0, :, :, 0]
