"""The fast backend's patch matrices, and the matrix products on them.

:func:`minicnn.fast.conv.conv_forward` and the fused step of :mod:`minicnn.fast.fused` both work
this way: copy the patches under the outputs into a matrix (im2col), multiply it by the
filters, and, going back, multiply it by the outputs' gradient. What is here is only *how* that
is laid out in memory, which decides the speed:

- :meth:`Scratch.patch_matrix` copies the patches, for all outputs or grouped by pooling window,
  into arrays that a layer keeps from one batch to the next (:class:`Scratch`);
- :func:`multiply_patches` gives every conv output as one matrix product;
- :func:`weight_gradients` gives dw and db (with :func:`tall_product`); :func:`input_gradient`
  gives dx.

Shapes: input (N, H, W, C), filters (F, kh, kw, C), outputs' gradient (M, F) with one
row per output in the order the patch matrix has them, or (N, H', W', F) for the input gradient.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: The input gradient works on at most this many numbers of its matrix product at a time (6.4 MB
#: in float32): the benchmark's half batch of 64 images in one go. Each chunk is four numpy
#: calls, and fewer calls is what counts while the other half of the batch runs at the same time
#: (each call ends by asking for Python's GIL); docs/benchmarks.md has the measurements.
CHUNK_NUMBERS = 1_600_000

#: With a stride above 1 it works through this many output rows at a time (32 images of 14 x 14
#: outputs), for the same reason.
CHUNK_ROWS = 32 * 196

#: With this few input channels the columns are stored one patch offset per row.
FEW_CHANNELS = 1


class Scratch:
    """The arrays one convolution works in, kept from one batch to the next.

    Each step needs a zero-padded copy of the input, the patch matrix with its column of ones
    and, going back, the input gradient's grid with its zero border (see
    :func:`_shifted_sums`). Made afresh for every batch, they cost an allocation, zeroing or a
    fill each, and the views onto them a little Python each; kept here, a step only copies in
    the numbers that change. The arrays are made on first use and again whenever a shape or
    dtype changes. A layer keeps one Scratch per half batch (see :mod:`minicnn.fast.threads`).
    The arrays stay as long as the Scratch (the layer) does.

    The patch matrix lives here, so the cache of a forward pass holds only until the next
    forward pass through the same Scratch; :meth:`check_current` says when it is stale. A copy
    (``copy.deepcopy``, pickling) starts empty: its arrays are views of one another.
    """

    def __init__(self) -> None:
        self._patch_key = self._grid_key = None
        self._grid: _Grid | None = None
        #: How many patch matrices this Scratch has made; a cache records it.
        self.forwards = 0

    def __reduce__(self):
        return (Scratch, ())

    def patch_matrix(self, x: np.ndarray, w_shape: tuple[int, ...], stride: int, padding: int,
                     size: int, pool_hw: tuple[int, int]) -> np.ndarray:
        """The patches under the conv outputs of ``x`` (N, H, W, C), padded by ``padding``, as
        the fast path multiplies them.

        With ``size`` 1 these are all the conv's outputs, in (n, h', w') order. With a pooling
        window ``size`` > 1 (see :mod:`minicnn.fast.fused`) they are only the outputs that a window
        covers, block by block: block (a, b) holds the output at (a, b) inside every window.

        Parameters
        ----------
        w_shape : (F, kh, kw, C)
        pool_hw : (H'', W''), the number of windows (or of outputs, when ``size`` is 1)

        Returns
        -------
        cols : ndarray, owned by this Scratch
            (size, size, N, H'', W'', kh * kw * C + 1): one patch per row, in (kh, kw, C)
            order, then a 1, for several channels (each copy then moves runs of kw * C
            numbers); or (kh * kw * C + 1, size, size, N, H'', W''): one patch offset per row,
            then a row of ones, for few channels, where patch rows would be too short to copy
            quickly. Either way the ones meet the bias in the forward product and give db in
            the backward one.
        """
        key = (x.shape, x.dtype, tuple(w_shape), stride, padding, size, tuple(pool_hw))
        if key != self._patch_key:
            # Until the new arrays are complete; the old grid goes too (a new shape of input
            # needs its own), so a layer does not hold arrays for two shapes of batch.
            self._patch_key = self._grid_key = self._grid = None
            self._padded = np.zeros((x.shape[0], x.shape[1] + 2 * padding,
                                     x.shape[2] + 2 * padding, x.shape[3]), x.dtype)
            self._interior = self._padded[:, padding:padding + x.shape[1],
                                          padding:padding + x.shape[2]]
            self._cols, self._copies = _patch_layout(self._padded, w_shape, stride, size,
                                                     pool_hw)
            self._patch_key = key
        np.copyto(self._interior, x)
        for dst, src in self._copies:
            np.copyto(dst, src)
        self.forwards += 1
        return self._cols

    def check_current(self, forwards: int) -> None:
        """An error unless the patch matrix is still the one made as forward pass number
        ``forwards`` (a later forward pass through this Scratch overwrote it)."""
        if forwards != self.forwards:
            raise RuntimeError(
                f"this cache is from an earlier forward pass (number {forwards} of "
                f"{self.forwards}) whose patch matrix a later forward pass through the same "
                f"scratch arrays has overwritten; run forward again on this batch, then "
                f"backward")

    def input_gradient(self, dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...],
                       stride: int, padding: int, out: np.ndarray | None = None) -> np.ndarray:
        """:func:`input_gradient`, with the grid of a stride-1 convolution kept here."""
        if stride != 1:
            return _strided_sums(dout, w, x_shape, stride, padding, out)
        key = (tuple(x_shape), dout.shape, w.shape, padding, np.result_type(dout, w))
        if key != self._grid_key:
            self._grid_key = None
            self._grid = _Grid(x_shape, dout.shape, w.shape, padding, key[-1])
            self._grid_key = key
        return self._grid.run(dout, w, out)


def check_scratch(scratch) -> Scratch:
    """``scratch``, or a new :class:`Scratch` when it is None; an error for anything else."""
    if scratch is None:
        return Scratch()
    if not isinstance(scratch, Scratch):
        raise TypeError(f"scratch must be a minicnn.fast.columns.Scratch or None, got "
                        f"{type(scratch).__name__}; leave scratch=None to use new arrays")
    return scratch


def _patch_layout(xp: np.ndarray, w_shape: tuple[int, ...], stride: int, size: int,
                  pool_hw: tuple[int, int]) -> tuple[np.ndarray, list]:
    """An empty patch matrix for the padded input ``xp`` (see :meth:`Scratch.patch_matrix`),
    its ones already in place, and the ``(destination, source)`` views whose copies fill it."""
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
        windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))  # (N, H', W', C, kh, kw)
        return out, [(patches[a, b],
                      windows[:, stride * a:, stride * b:][:, rows, cols_].transpose(
                          0, 1, 2, 4, 5, 3))
                     for a in range(size) for b in range(size)]
    out = np.empty((kh * kw * c + 1, size, size, n, pool_h, pool_w), dtype=xp.dtype)
    out[-1] = 1
    copies = []
    for k, (i, j, ch) in enumerate(np.ndindex(kh, kw, c)):
        for a in range(size):
            for b in range(size):
                copies.append((out[k, a, b],
                               xp[:, stride * a + i:, stride * b + j:, ch][:, rows, cols_]))
    return out, copies


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


#: :func:`tall_product` sums over blocks of this many rows (the fastest measured; see
#: docs/benchmarks.md). 256 also divides the benchmark's half batches (12,544 and 50,176 rows)
#: exactly, so no rows are left for a product of their own.
BLOCK_ROWS = 256


def tall_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` for tall matrices a (M, K) and b (M, F), M much larger than K and F.

    It is computed block by block, ``BLOCK_ROWS`` rows at a time, and the blocks' products are
    added: OpenBLAS is much slower on one product whose shared dimension (M) is longer than
    about 800.
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
    return Scratch().input_gradient(dout, w, x_shape, stride, padding, out)


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
    return _Grid(x_shape, dout.shape, w.shape, padding, np.result_type(dout, w)).run(dout, w, out)


class _Grid:
    """The arrays of :func:`_shifted_sums` for one shape of input, outputs' gradient and
    filters: the grid (its zeros set once), the products and the sums, and the views that each
    chunk of images works on."""

    def __init__(self, x_shape: tuple[int, ...], dout_shape: tuple[int, ...],
                 w_shape: tuple[int, ...], padding: int, dtype) -> None:
        n, h, wd, c = x_shape
        _, out_h, out_w, n_filters = dout_shape
        _, kh, kw, _ = w_shape
        self.x_shape, self.dtype = tuple(x_shape), np.dtype(dtype)
        rows, pitch = h + padding, wd + padding  # grid rows and pixels per row, per image
        per = rows * pitch
        n_rows = kh * kw * c  # rows of the product, one per (i, j, c)
        lead = (kh - 1) * pitch + (kw - 1)  # the largest shift
        # An output beyond the grid (padding wider than the filter) only reaches padding: dropped.
        self.kept_h, self.kept_w = min(out_h, rows), min(out_w, pitch)
        step = min(n, max(1, CHUNK_NUMBERS // (n_rows * per)))  # images per chunk
        # Zeros, then the images' pixels; only the cells outputs land on are ever written.
        grid = np.zeros((lead + step * per, n_filters), self.dtype)
        images = grid[lead:].reshape(step, rows, pitch, n_filters)
        products = np.empty(n_rows * (lead + step * per), self.dtype)
        sums = np.empty((c, step * per), self.dtype)
        item = self.dtype.itemsize
        self.chunks = []
        for first in range(0, n, step):
            m = min(step, n - first)
            width = lead + m * per  # grid pixels in use
            prod = products[:n_rows * width].reshape(n_rows, width)  # contiguous, for matmul
            # shifted[i, j, ch, p] = prod[row (i, j, ch), lead + p - (i * pitch + j)]
            shifted = np.lib.stride_tricks.as_strided(
                prod[:, lead:], (kh, kw, c, m * per),
                ((kw * c * width - pitch) * item, (c * width - 1) * item, width * item, item),
                writeable=False)
            acc = sums[:, :m * per]
            image_sums = acc.reshape(c, m, rows, pitch)[:, :, padding:, padding:]
            self.chunks.append((first, m, images[:m, :self.kept_h, :self.kept_w],
                                grid[:width].T, prod, shifted, acc,
                                image_sums.transpose(1, 2, 3, 0)))

    def run(self, dout: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """dx (N, H, W, C) from ``dout`` (N, H', W', F) and ``w`` (F, kh, kw, C), written into
        ``out`` when it is given."""
        w_t = w.reshape(w.shape[0], -1).T  # (kh * kw * C, F), row (i, j, c)
        dx = np.empty(self.x_shape, self.dtype) if out is None else out
        kept = dout[:, :self.kept_h, :self.kept_w]
        for first, m, on_grid, grid_t, prod, shifted, acc, image_sums in self.chunks:
            np.copyto(on_grid, kept[first:first + m])
            np.matmul(w_t, grid_t, out=prod)
            np.sum(shifted, axis=(0, 1), out=acc)  # (C, pixels)
            np.copyto(dx[first:first + m], image_sums)
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
