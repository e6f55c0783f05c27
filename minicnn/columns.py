"""The fast path's patch matrices, and the matrix products on them (issue 6).

:func:`minicnn.conv.conv_forward` and the fused step of :mod:`minicnn.fused` both work this way:
copy the patches under the outputs into a matrix (im2col), multiply it by the filters, and, going
back, multiply it by the outputs' gradient. What is here is only *how* that is laid out in
memory, which decides the speed:

- :func:`patch_matrix` copies the patches, for all outputs or grouped by pooling window;
- :func:`multiply_patches` gives every conv output as one matrix product;
- :func:`weight_gradients` gives dw and db; :func:`input_gradient` gives dx.

Shapes: padded input (N, Hp, Wp, C), filters (F, kh, kw, C), outputs' gradient (M, F) with one
row per output in the order the patch matrix has them.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` for a tall (M, F) matrix; as a matrix-vector product for floats, which
    is many times faster than numpy's reduction across rows when F is small."""
    if a.dtype.kind == "f":
        return np.ones(a.shape[0], dtype=a.dtype) @ a
    return a.sum(axis=0)


#: The input gradient works through this many output rows at a time (whole images; 32 images of
#: 14 x 14 outputs), so that what it adds stays in the CPU's cache.
CHUNK_ROWS = 32 * 196

#: With this few input channels the columns are stored one patch offset per row.
FEW_CHANNELS = 1


def patch_matrix(xp: np.ndarray, w_shape: tuple[int, ...], stride: int, size: int,
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
    if c > FEW_CHANNELS:
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


def multiply_patches(cols: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
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


def weight_gradients(cols: np.ndarray, d2: np.ndarray, w: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """dw (F, kh, kw, C) and db (F,) from the columns and the conv outputs' gradient (M, F)."""
    if cols.ndim == 8:
        cols2 = cols.reshape(d2.shape[0], -1)
        # (K, M) @ (M, F) is quicker for BLAS than (F, M) @ (M, K) when F is small.
        dw = (cols2.T @ d2).T.reshape(w.shape)
        return np.ascontiguousarray(dw), column_sums(d2)
    both = cols.reshape(cols.shape[0], -1) @ d2  # (kh * kw * C + 1, F); the last row is db
    return np.ascontiguousarray(both[:-1].T).reshape(w.shape), both[-1].copy()


def input_gradient(dout2: np.ndarray, w: np.ndarray, out_hw: tuple[int, int],
                   x_shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
    """Gradient with respect to the input: the same sums as ``col2im(dout2 @ w)``, unpadded.

    Each filter offset (i, j) sends ``dout2 @ w[:, i, j, :]`` back to the input shifted by
    (i, j): one matrix product per offset, added at once into the image, so every add moves
    whole image rows instead of C numbers at a time. The images are taken a few at a time
    (``CHUNK_ROWS`` outputs), so that each product is still in the CPU's cache when it is added
    (about 10 % faster for the benchmark's second conv layer than all images at once). What
    would land on the padding is never added: each offset's rows and columns are clipped to the
    image.

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
    w_offsets = np.ascontiguousarray(w.transpose(1, 2, 0, 3))  # (kh, kw, F, C)
    dx = np.zeros(x_shape, dtype=np.result_type(dout2, w))
    offsets = [(i, j, *_clip(i - padding, stride, out_h, h),
                *_clip(j - padding, stride, out_w, wd)) for i in range(kh) for j in range(kw)]
    per = out_h * out_w
    step = max(1, CHUNK_ROWS // per)  # images per chunk: small enough to stay in cache
    buf = np.empty((min(step, n) * per, c), dx.dtype)
    for first in range(0, n, step):
        m = min(step, n - first)
        d = dout2[first * per:(first + m) * per]
        part, dpart = buf[:m * per], dx[first:first + m]
        part4 = part.reshape(m, out_h, out_w, c)
        for i, j, rows_out, rows_in, cols_out, cols_in in offsets:
            np.matmul(d, w_offsets[i, j], out=part)
            dpart[:, rows_in, cols_in, :] += part4[:, rows_out, cols_out, :]
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
