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
from minicnn.columns import Scratch, check_scratch, multiply_patches, weight_gradients
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


def check_batch_args(x, w, b, stride: int, padding: int) -> tuple:
    """Check the arguments of a batched convolution; return ``(x, w, b, (H', W'))``.

    x (N, H, W, C), w (F, kh, kw, C) as deep as x, b (F,) or None, and a stride and padding
    that tile the input; each error names the argument and says how to fix it.
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    w = _checks.array("w", w, 4, "(F, kh, kw, C)")
    _check_depth(x.shape[3], w, "w")
    b = _check_bias(b, w.shape[0])
    return x, w, b, _out_hw(x.shape[1], x.shape[2], w.shape[1], w.shape[2], stride, padding)


def check_out(name: str, out: np.ndarray | None, shape: tuple[int, ...]) -> None:
    """Nothing when ``out`` is None or a writeable C-contiguous array of ``shape``; else an
    error (a result written through a copy would be lost)."""
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != tuple(shape)
                            or not out.flags.c_contiguous or not out.flags.writeable):
        got = f"shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"{name} must be a writeable C-contiguous array of shape "
                         f"{tuple(shape)} to write the result into, got {got}; leave "
                         f"{name}=None to get a new array")


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
    This is the layout to read and to test against. :func:`conv_forward` copies the same
    patches with :meth:`minicnn.columns.Scratch.patch_matrix`, which picks the layout that copies
    fastest (with one channel, one patch offset per row) and also serves the fused
    conv-ReLU-pool step.
    """
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (N, H'', W'', C, kh, kw)
    windows = windows[:, :stride * out_h:stride, :stride * out_w:stride]
    return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))


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
                 padding: int = 0, *, out: np.ndarray | None = None,
                 scratch: Scratch | None = None) -> tuple[np.ndarray, tuple]:
    """Batched convolution, the fast path.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    b : ndarray, shape (F,), optional
    stride, padding : int
    out : ndarray, shape (N, H', W', F), C-contiguous, optional
        Where to write the output (the halves of a batch write into one array).
    scratch : minicnn.columns.Scratch, optional
        Arrays to work in, kept from one call to the next (a layer passes its own); new ones
        when not given. The cache is then good until the next call with the same ``scratch``.

    Returns
    -------
    out : ndarray, shape (N, H', W', F), C-contiguous
    cache : tuple
        What :func:`conv_backward` needs (the columns are kept, not recomputed).
    """
    x, w, b, out_hw = check_batch_args(x, w, b, stride, padding)
    shape = (x.shape[0], *out_hw, w.shape[0])
    check_out("out", out, shape)
    scratch = check_scratch(scratch)
    cols = scratch.patch_matrix(x, w.shape, stride, padding, 1, out_hw)
    rows = None if out is None else out.reshape(-1, w.shape[0])  # a view: out is C-contiguous
    rows = multiply_patches(cols, w, b, rows)
    cache = (x.shape, w, cols, stride, padding, scratch, scratch.forwards)
    return (rows.reshape(shape) if out is None else out), cache


def conv_backward(dout: np.ndarray, cache: tuple, need_dx: bool = True, *,
                  dx_out: np.ndarray | None = None, dx_first: bool = False
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
    dx_out : ndarray, shape (N, H, W, C), C-contiguous, optional
        Where to write dx.
    dx_first : bool
        Compute dx before dw and db (same numbers; see :func:`minicnn._parallel.backward_halves`).

    Returns
    -------
    dx : ndarray, shape (N, H, W, C), or None when ``need_dx`` is False
    dw : ndarray, shape (F, kh, kw, C)
    db : ndarray, shape (F,)
    """
    x_shape, w, cols, stride, padding, scratch, forwards = cache
    scratch.check_current(forwards)
    dout = np.ascontiguousarray(dout)
    check_out("dx_out", dx_out, x_shape)
    return gradients_in_order(
        lambda: (scratch.input_gradient(dout, w, x_shape, stride, padding, dx_out)
                 if need_dx else None),
        lambda: weight_gradients(cols, dout.reshape(-1, w.shape[0]), w), dx_first)


def gradients_in_order(input_grad, weight_grads, dx_first: bool) -> tuple:
    """``(dx, dw, db)`` from ``input_grad() -> dx`` and ``weight_grads() -> (dw, db)``, called
    in the order ``dx_first`` asks for (the numbers are the same either way)."""
    if dx_first:
        dx = input_grad()
        return (dx, *weight_grads())
    dw, db = weight_grads()
    return input_grad(), dw, db


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
