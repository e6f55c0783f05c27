"""Convolution (chapter 02), channels-last.

What convnets call convolution is cross-correlation: the filter is slid over the image as it is,
not flipped. At each position the filter and the patch under it are multiplied element-wise and
summed (a dot product), and the sum goes into the feature map.

:func:`convolve`, :func:`conv2d` and the batched pair :func:`conv_forward` / :func:`conv_backward`
copy every patch into one row of a matrix (:func:`im2col`), so that all the dot products become
one matrix product that numpy hands to BLAS. :func:`conv2d_loop` and :func:`conv_backward_loop`
are plain loops, the reference the tests hold the vectorised version to.

Shapes: image x (H, W, C), batch x (N, H, W, C), filters w (F, kh, kw, C), bias b (F,),
feature map (H', W', F) with ``H' = (H - kh + 2 * padding) // stride + 1`` (likewise W').
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minicnn import _checks
from minicnn.shapes import check_conv_args, output_size


def convolve(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Slide one 2-D kernel over one 2-D image (one channel): cross-correlation, no flip.

    Parameters
    ----------
    x : ndarray, shape (H, W)
    w : ndarray, shape (kh, kw)
    stride, padding : int

    Returns
    -------
    ndarray, shape (H', W')

    Examples
    --------
    >>> convolve(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))
    array([[ 8., 12.],
           [20., 24.]])
    """
    x = _checks.array("x", x, 2, "(H, W)")
    w = _checks.array("w", w, 2, "(kh, kw)")
    return conv2d(x[:, :, np.newaxis], w[np.newaxis, :, :, np.newaxis], stride, padding)[:, :, 0]


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolve one image with a bank of filters (im2col + one matrix product).

    Each filter is as deep as the image; its products are summed over height, width and depth,
    so each filter gives one 2-D map and F filters give a feature map of depth F.

    Parameters
    ----------
    x : ndarray, shape (H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    stride : int
        Step between positions, the same along both axes.
    padding : int
        Zeros added around the height and width (never the depth).

    Returns
    -------
    ndarray, shape (H', W', F)
        ``out[i, j, f] = sum(x_padded[i*stride:i*stride+kh, j*stride:j*stride+kw, :] * w[f])``.
    """
    x = _checks.array("x", x, 3, "(H, W, C)")
    w = _checks.array("w", w, 4, "(F, kh, kw, C)")
    out, _ = conv_forward(x[np.newaxis], w, None, stride, padding)
    return out[0]


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
                 padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Batched convolution: ``out = im2col(x) @ w.reshape(F, -1).T + b``.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    b : ndarray, shape (F,), or None for no bias
    stride, padding : int

    Returns
    -------
    out : ndarray, shape (N, H', W', F)
    cache : tuple ``(x, w, b, stride, padding, cols)``
        For :func:`conv_backward`: exercise 7.1's five values, then the patch matrix ``cols``
        (N * H' * W', kh * kw * C), so that the backward pass need not copy the patches again.
    """
    x, w, b, (out_h, out_w) = check_conv_args(x, w, b, stride, padding)
    n_filters, kh, kw, _ = w.shape
    patches = im2col(pad(x, padding), kh, kw, stride, out_h, out_w)  # (N, H', W', kh, kw, C)
    cols = patches.reshape(-1, kh * kw * x.shape[3])
    out = (cols @ w.reshape(n_filters, -1).T).reshape(x.shape[0], out_h, out_w, n_filters)
    if b is not None:  # the same bias for every position: added one row of W' positions at a time
        out.reshape(-1, out_w * n_filters)[...] += np.tile(b, out_w)
    return out, (x, w, b, stride, padding, cols)


def conv_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv_forward`.

    With ``dout2 = dout.reshape(N * H' * W', F)``: ``dw = dout2.T @ cols`` and
    ``db = dout2.sum(0)``. For ``dx``, the patches' gradient is ``dout2 @ w.reshape(F, -1)``,
    added back to where each patch came from; this is done one filter offset (i, j) at a time:
    offset (i, j) of every patch met the weights ``w[:, i, j, :]``, so its gradient is
    ``dout2 @ w[:, i, j, :]`` (N * H' * W', C), and it goes back to the image shifted by (i, j),
    where overlapping patches add up. Then the padding is cut off.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
        Gradient of the loss with respect to the output.
    cache : tuple
        From :func:`conv_forward`; ``(x, w, b, stride, padding)`` alone (as in exercise 7.1)
        works too, the patch matrix is then built again.

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    dw : ndarray, shape (F, kh, kw, C)
    db : ndarray, shape (F,)
    """
    x, w, _, stride, padding = cache[:5]
    n, h, wd, c = x.shape
    n_filters, kh, kw, _ = w.shape
    out_h, out_w = output_size(h, kh, stride, padding), output_size(wd, kw, stride, padding)
    dout = _checks.grad_like(dout, (n, out_h, out_w, n_filters), "conv_forward's output")
    cols = cache[5] if len(cache) > 5 else im2col(  # the five values alone: build it again
        pad(x, padding), kh, kw, stride, out_h, out_w).reshape(-1, kh * kw * c)
    dout2 = dout.reshape(-1, n_filters)
    dw = (dout2.T @ cols).reshape(w.shape)
    db = np.einsum("mf->f", dout2)  # the column sums, dout2.sum(axis=0)
    dxp = np.zeros((n, h + 2 * padding, wd + 2 * padding, c), np.result_type(dout, w))
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    for i in range(kh):
        for j in range(kw):  # the gradient of offset (i, j) of every patch, shifted back
            dpatch = (dout2 @ w[:, i, j, :]).reshape(n, out_h, out_w, c)
            dxp[:, i:i + h_end:stride, j:j + w_end:stride, :] += dpatch
    return dxp[:, padding:padding + h, padding:padding + wd, :].copy(), dw, db


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the height and width axes of an (N, H, W, C) batch by ``padding`` on each side."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """Copy every (kh, kw, C) patch of a padded batch into one row of a matrix.

    ``x`` (N, Hp, Wp, C) is the batch, already padded. Returns ``cols`` (N, H', W', kh, kw, C),
    ``cols[n, i, j] = x[n, i*stride:i*stride+kh, j*stride:j*stride+kw, :]``, C-contiguous, so
    ``cols.reshape(N * H' * W', kh * kw * C)`` is the patch matrix, one patch per row.
    """
    n, _, _, c = x.shape
    h_end, w_end = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    if c > 1:  # every patch as a view (N, H', W', C, kh, kw), no copy; then one copy
        patches = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, :h_end:stride, :w_end:stride]
        return patches.transpose(0, 1, 2, 4, 5, 3).copy()
    # one channel: a patch row is only kw numbers, so copy offset by offset (the same matrix,
    # faster): offset (i, j) of every patch is the image shifted by (i, j)
    cols = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i:i + h_end:stride, j:j + w_end:stride, :]
    return cols


def conv2d_loop(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0,
                b: np.ndarray | None = None) -> np.ndarray:
    """Convolve one image with a bank of filters, one dot product at a time (the reference).

    Parameters
    ----------
    x : ndarray, shape (H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    stride, padding : int
    b : ndarray, shape (F,), optional

    Returns
    -------
    ndarray, shape (H', W', F)
    """
    x = _checks.array("x", x, 3, "(H, W, C)")
    x, w, b, (out_h, out_w) = check_conv_args(x[np.newaxis], w, b, stride, padding)
    n_filters, kh, kw, _ = w.shape
    padded = pad(x, padding)[0]
    out = np.zeros((out_h, out_w, n_filters), dtype=np.result_type(x, w))
    for f in range(n_filters):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                patch = padded[top:top + kh, left:left + kw, :]
                out[i, j, f] = np.sum(patch * w[f])
        if b is not None:
            out[:, :, f] += b[f]
    return out


def conv_backward_loop(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                       padding: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a batched convolution, one patch at a time (the reference).

    Each output ``out[n, i, j, f]`` was the dot product of filter ``f`` with one patch, so its
    gradient ``dout[n, i, j, f]`` flows back to that patch (times the filter) and to the filter
    (times the patch).

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
    return dpadded[:, padding:padding + h, padding:padding + wd, :], dw, dout.sum(axis=(0, 1, 2))

