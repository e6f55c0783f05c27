"""The fast path's patch matrices, and the matrix products on them (issue 6).

:func:`minicnn.conv.conv_forward` and the fused step of :mod:`minicnn.fused` both work this way:
copy the patches under the outputs into a matrix (im2col), multiply it by the filters, and, going
back, multiply it by the outputs' gradient. What is here is only *how* that is laid out in
memory, which decides the speed:

- :func:`patch_matrix` copies the patches, for all outputs or grouped by pooling window;
- :func:`multiply_patches` gives every conv output as one matrix product;
- :func:`weight_gradients` gives dw and db (with :func:`tall_product`); :func:`input_gradient`
  gives dx.

Shapes: padded input (N, Hp, Wp, C), filters (F, kh, kw, C), outputs' gradient (M, F) with one
row per output in the order the patch matrix has them, or (N, H', W', F) for the input gradient.
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


#: The input gradient works on a few images at a time: as many as keep its matrix product to
#: about this many numbers (1.6 MB in float32), so that what it adds is still in the CPU's cache.
#: Measured for the benchmark's conv 8 -> 16 layer (forward and backward, batch 128): 2.47 ms
#: with 400,000, 2.55 with 600,000, 2.60 with 1,200,000.
CHUNK_NUMBERS = 400_000

#: With a stride above 1 it works through this many output rows at a time (32 images of 14 x 14
#: outputs), for the same reason.
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
        dw = tall_product(cols.reshape(d2.shape[0], -1), d2).T.reshape(w.shape)
        return np.ascontiguousarray(dw), column_sums(d2)
    # (kh * kw * C + 1, F); the last row is db
    both = tall_product(cols.reshape(cols.shape[0], -1).T, d2)
    return np.ascontiguousarray(both[:-1].T).reshape(w.shape), both[-1].copy()


#: :func:`tall_product` sums over blocks of this many rows.
BLOCK_ROWS = 512


def tall_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` for tall matrices a (M, K) and b (M, F), M much larger than K and F.

    It is computed block by block, ``BLOCK_ROWS`` rows at a time, and the blocks' products are
    added: OpenBLAS is much slower on one product whose shared dimension (M) is longer than
    about 800. Measured here for the benchmark's conv layers on half a batch: 0.39 ms in one
    product against 0.27 ms in blocks (conv 8 -> 16), 0.27 against 0.13 ms (conv 1 -> 8).
    """
    full = a.shape[0] // BLOCK_ROWS * BLOCK_ROWS
    if full == 0:
        return a.T @ b
    blocks_a = a[:full].reshape(-1, BLOCK_ROWS, a.shape[1]).transpose(0, 2, 1)
    out = np.matmul(blocks_a, b[:full].reshape(-1, BLOCK_ROWS, b.shape[1])).sum(axis=0)
    if full < a.shape[0]:
        out += a[full:].T @ b[full:]
    return out


def input_gradient(dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: int,
                   padding: int) -> np.ndarray:
    """Gradient with respect to the input: the same sums as ``col2im(dout2 @ w)``, unpadded.

    Each filter offset (i, j) sends ``dout @ w[:, i, j, :]`` back to the input, shifted by
    (i, j). How the shifted products are added depends on the stride: see
    :func:`_shifted_sums` (stride 1, the usual case) and :func:`_strided_sums`.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
        The conv outputs' gradient (any memory layout).
    w : ndarray, shape (F, kh, kw, C)
    x_shape : (N, H, W, C), the unpadded input

    Returns
    -------
    ndarray, shape (N, H, W, C)
    """
    if stride == 1:
        return _shifted_sums(dout, w, x_shape, padding)
    return _strided_sums(dout, w, x_shape, stride, padding)


def _shifted_sums(dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], padding: int
                  ) -> np.ndarray:
    """The input gradient for stride 1, with one matrix product and whole-row adds.

    The outputs' gradient is laid on a grid of the padded input's pixels (zeros where no
    output is), and the grid is read as one long row of pixels. On that row, moving by filter
    offset (i, j) is moving by ``i * pitch + j`` pixels, the same for every pixel. So one
    product gives every offset's contribution, channel by channel, as rows as long as the
    batch, and each offset is added with one shifted slice. The padding's share is cut off at
    the end.

    The grid has ``H + padding`` rows of ``W + padding`` pixels per image, one padding's width
    fewer than the padded input: the bottom and right padding, where nothing is kept, fall on
    the next image's top and the next row's left padding, where nothing is kept either. That
    is 15 x 15 pixels rather than 16 x 16 for a 14 x 14 image, 12 % less work. The images are
    taken a few at a time (see ``CHUNK_NUMBERS``) so that the sums stay in the CPU's cache.
    """
    n, h, wd, c = x_shape
    _, out_h, out_w, n_filters = dout.shape
    rows, pitch = h + padding, wd + padding  # grid rows and pixels per row, per image
    per = rows * pitch
    w_t = w.reshape(n_filters, -1).T  # (kh * kw * C, F), row (i, j, c)
    shifts = [i * pitch + j for i in range(w.shape[1]) for j in range(w.shape[2])]
    # An output beyond the grid (padding wider than the filter) only reaches padding: dropped.
    kept_h, kept_w = min(out_h, rows), min(out_w, pitch)
    step = min(n, max(1, CHUNK_NUMBERS // (w_t.shape[0] * per)))  # images per chunk
    dtype = np.result_type(dout, w)
    grid = np.zeros((step, rows, pitch, n_filters), dtype)
    products = np.empty(w_t.shape[0] * step * per, dtype)
    sums = np.empty((c, step * per + shifts[-1]), dtype)  # room for the last image's overflow
    dx = np.empty(x_shape, dtype)
    for first in range(0, n, step):
        m = min(step, n - first)
        grid[:m, :kept_h, :kept_w] = dout[first:first + m, :kept_h, :kept_w]
        length = m * per
        prod = products[:w_t.shape[0] * length].reshape(-1, length)  # contiguous, for matmul
        np.matmul(w_t, grid[:m].reshape(length, n_filters).T, out=prod)
        acc = sums[:, :length + shifts[-1]]
        acc[...] = 0
        for k, shift in enumerate(shifts):
            acc[:, shift:shift + length] += prod[k * c:(k + 1) * c]
        acc4 = acc[:, :length].reshape(c, m, rows, pitch)[:, :, padding:, padding:]
        dx[first:first + m] = acc4.transpose(1, 2, 3, 0)
    return dx


def _strided_sums(dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: int,
                  padding: int) -> np.ndarray:
    """The input gradient for any stride: one matrix product per filter offset, added at once
    into the image, so every add moves whole image rows instead of C numbers at a time. What
    would land on the padding is never added: each offset's rows and columns are clipped to
    the image. The images are taken a few at a time, as in :func:`_shifted_sums`."""
    n, h, wd, c = x_shape
    _, out_h, out_w, n_filters = dout.shape
    _, kh, kw, _ = w.shape
    dout2 = np.ascontiguousarray(dout).reshape(-1, n_filters)
    w_offsets = np.ascontiguousarray(w.transpose(1, 2, 0, 3))  # (kh, kw, F, C)
    dx = np.zeros(x_shape, dtype=np.result_type(dout2, w))
    offsets = [(i, j, *_clip(i - padding, stride, out_h, h),
                *_clip(j - padding, stride, out_w, wd)) for i in range(kh) for j in range(kw)]
    per = out_h * out_w
    step = min(n, max(1, CHUNK_ROWS // per))  # images per chunk
    buf = np.empty((step * per, c), dx.dtype)
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
