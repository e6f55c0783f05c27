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

#: The input gradient works on at most this many numbers of its matrix product at a time (6.4 MB
#: in float32): the benchmark's half batch of 64 images in one go. Each chunk is four numpy
#: calls, and fewer calls is what counts while the other half of the batch runs at the same time
#: (each call ends by asking for Python's GIL). Measured for that layer's half-batch backward
#: alongside the other half (Intel Xeon VM, 2 cores): 1.19 to 1.32 ms in one chunk, 1.42 to
#: 1.55 ms in chunks of 400,000 (the best size on the AMD VM of session 3, with nine adds per
#: chunk instead of one sum).
CHUNK_NUMBERS = 1_600_000

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
        (size, size, N, H'', W'', kh * kw * C + 1): one patch per row, in (kh, kw, C) order,
        then a 1, for several channels (each copy then moves runs of kw * C numbers); or
        (kh * kw * C + 1, size, size, N, H'', W''): one patch offset per row, then a row of
        ones, for few channels, where patch rows would be too short to copy quickly. Either
        way the ones meet the bias in the forward product and give db in the backward one.
    """
    _, kh, kw, c = w_shape
    pool_h, pool_w = pool_hw
    step = stride * size  # from one window to the next, in input pixels
    rows = slice(0, step * (pool_h - 1) + 1, step)
    cols_ = slice(0, step * (pool_w - 1) + 1, step)
    n = xp.shape[0]
    if c > FEW_CHANNELS:
        k = kh * kw * c
        out = np.empty((size, size, n, pool_h, pool_w, k + 1), dtype=xp.dtype)
        out[..., k] = 1
        patches = out[..., :k].reshape(size, size, n, pool_h, pool_w, kh, kw, c)  # a view
        for a in range(size):
            for b in range(size):
                patches[a, b] = _patches(xp, (kh, kw), stride * a, stride * b, step,
                                         (pool_h, pool_w))
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


def _patches(xp: np.ndarray, k_hw: tuple[int, int], top: int, left: int, step: int,
             out_hw: tuple[int, int]) -> np.ndarray:
    """A read-only view (N, H'', W'', kh, kw, C) of ``xp`` (N, Hp, Wp, C): the (kh, kw) patch
    whose corner is at row ``top + step * i``, column ``left + step * j``, for every (i, j).

    The same view as ``sliding_window_view(xp, k_hw, axis=(1, 2))`` sliced and transposed, made
    directly: a training step makes several, and that function's checks take longer than the
    view itself."""
    if top + step * (out_hw[0] - 1) + k_hw[0] > xp.shape[1] or (
            left + step * (out_hw[1] - 1) + k_hw[1] > xp.shape[2]):
        raise ValueError(f"patches of {k_hw} from ({top}, {left}) every {step} pixels for "
                         f"{out_hw} outputs do not fit in an input of shape {xp.shape}")
    s_n, s_h, s_w, s_c = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp[:, top:, left:], (xp.shape[0], *out_hw, *k_hw, xp.shape[3]),
        (s_n, step * s_h, step * s_w, s_h, s_w, s_c), writeable=False)


def _rows(cols: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The patch matrix as (rows, kh * kw * C + 1), one patch and its 1 per row (a view)."""
    if w.shape[3] > FEW_CHANNELS:  # already one patch per row
        return cols.reshape(-1, cols.shape[-1])
    return cols.reshape(cols.shape[0], -1).T


def multiply_patches(cols: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                     out: np.ndarray | None = None) -> np.ndarray:
    """All conv outputs as one matrix product, bias included: shape (rows of ``cols``, F),
    written into ``out`` when it is given."""
    n_filters = w.shape[0]
    bias = np.zeros((n_filters, 1), w.dtype) if b is None else b.reshape(-1, 1).astype(w.dtype)
    w_aug = np.concatenate([w.reshape(n_filters, -1), bias], axis=1)  # (F, kh * kw * C + 1)
    return np.matmul(_rows(cols, w), w_aug.T, out=out)


def weight_gradients(cols: np.ndarray, d2: np.ndarray, w: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """dw (F, kh, kw, C) and db (F,) from the columns and the conv outputs' gradient (M, F)."""
    both = tall_product(_rows(cols, w), d2)  # (kh * kw * C + 1, F); the last row is db
    return np.ascontiguousarray(both[:-1].T).reshape(w.shape), both[-1].copy()


#: :func:`tall_product` sums over blocks of this many rows. Measured on the Intel Xeon VM for
#: the conv 8 -> 16 layer's half batch (12,544 rows of 73): 0.31 ms with 128 to 256 rows, 0.36
#: with 512 (the best on the AMD VM), 0.41 in one product. 256 also divides that half batch
#: (and conv 1 -> 8's, 50,176 rows) exactly, so no rows are left for a product of their own.
BLOCK_ROWS = 256


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
                   padding: int, out: np.ndarray | None = None) -> np.ndarray:
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
    out : ndarray, shape (N, H, W, C), optional
        Written in place of a new array (the halves of a batch write into one array).

    Returns
    -------
    ndarray, shape (N, H, W, C)
    """
    if stride == 1:
        return _shifted_sums(dout, w, x_shape, padding, out)
    return _strided_sums(dout, w, x_shape, stride, padding, out)


def _shifted_sums(dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], padding: int,
                  out: np.ndarray | None = None) -> np.ndarray:
    """The input gradient for stride 1, with one matrix product and one sum.

    The outputs' gradient is laid on a grid of the padded input's pixels (zeros where no
    output is), and the grid is read as one long row of pixels. On that row, moving by filter
    offset (i, j) is moving by ``i * pitch + j`` pixels, the same for every pixel. So one
    product gives every offset's contribution, channel by channel, as rows as long as the
    batch, and a pixel's gradient is the sum, over the offsets, of its row entry ``i * pitch +
    j`` pixels back. Reading row (i, j) that far back is a fixed step in memory for each of i
    and j, so the nine shifted rows are one strided view, summed over (i, j) in one call. The
    grid starts with that many zero pixels (``lead``) so that no read falls before it, and the
    padding's share is cut off at the end.

    The grid has ``H + padding`` rows of ``W + padding`` pixels per image, one padding's width
    fewer than the padded input: the bottom and right padding, where nothing is kept, fall on
    the next image's top and the next row's left padding, where nothing is kept either. That
    is 15 x 15 pixels rather than 16 x 16 for a 14 x 14 image, 12 % less work. Large batches
    are taken a few images at a time (see ``CHUNK_NUMBERS``).
    """
    n, h, wd, c = x_shape
    _, out_h, out_w, n_filters = dout.shape
    _, kh, kw, _ = w.shape
    rows, pitch = h + padding, wd + padding  # grid rows and pixels per row, per image
    per = rows * pitch
    w_t = w.reshape(n_filters, -1).T  # (kh * kw * C, F), row (i, j, c)
    lead = (kh - 1) * pitch + (kw - 1)  # the largest shift
    # An output beyond the grid (padding wider than the filter) only reaches padding: dropped.
    kept_h, kept_w = min(out_h, rows), min(out_w, pitch)
    step = min(n, max(1, CHUNK_NUMBERS // (w_t.shape[0] * per)))  # images per chunk
    dtype = np.result_type(dout, w)
    grid = np.empty((lead + step * per, n_filters), dtype)  # zeros, then the images' pixels
    images = grid[lead:].reshape(step, rows, pitch, n_filters)
    grid[:lead] = 0  # only the cells no output lands on need clearing, once
    images[:, kept_h:] = 0
    images[:, :, kept_w:] = 0
    products = np.empty(w_t.shape[0] * (lead + step * per), dtype)
    sums = np.empty((c, step * per), dtype)
    dx = np.empty(x_shape, dtype) if out is None else out
    item = dtype.itemsize
    for first in range(0, n, step):
        m = min(step, n - first)
        images[:m, :kept_h, :kept_w] = dout[first:first + m, :kept_h, :kept_w]
        width = lead + m * per  # grid pixels in use
        prod = products[:w_t.shape[0] * width].reshape(-1, width)  # contiguous, for matmul
        np.matmul(w_t, grid[:width].T, out=prod)
        # shifted[i, j, ch, p] = prod[row (i, j, ch), lead + p - (i * pitch + j)]
        shifted = np.lib.stride_tricks.as_strided(
            prod[:, lead:], (kh, kw, c, m * per),
            ((kw * c * width - pitch) * item, (c * width - 1) * item, width * item, item),
            writeable=False)
        acc = np.sum(shifted, axis=(0, 1), out=sums[:, :m * per])  # (C, pixels)
        acc4 = acc.reshape(c, m, rows, pitch)[:, :, padding:, padding:]
        dx[first:first + m] = acc4.transpose(1, 2, 3, 0)
    return dx


def _strided_sums(dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: int,
                  padding: int, out: np.ndarray | None = None) -> np.ndarray:
    """The input gradient for any stride: one matrix product per filter offset, added at once
    into the image, so every add moves whole image rows instead of C numbers at a time. What
    would land on the padding is never added: each offset's rows and columns are clipped to
    the image. The images are taken a few at a time, as in :func:`_shifted_sums`."""
    n, h, wd, c = x_shape
    _, out_h, out_w, n_filters = dout.shape
    _, kh, kw, _ = w.shape
    dout2 = np.ascontiguousarray(dout).reshape(-1, n_filters)
    w_offsets = np.ascontiguousarray(w.transpose(1, 2, 0, 3))  # (kh, kw, F, C)
    if out is None:
        dx = np.zeros(x_shape, dtype=np.result_type(dout2, w))
    else:
        dx = out
        dx[...] = 0
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
