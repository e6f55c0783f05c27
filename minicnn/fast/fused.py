"""A convolution, its ReLU and a max pool computed as one block.

Nothing new is computed here: the numbers are those of :func:`minicnn.conv.conv_forward`, then
ReLU, then :func:`minicnn.pooling.max_pool_forward`, and the gradients those of their three
backward passes. Only the order of the work changes, in two ways.

1. **Pool first, then ReLU.** ReLU never changes which value of a window is the largest, so
   ``relu(max(a, b)) == max(relu(a), relu(b))`` exactly. Taking the ReLU after pooling works on
   a map ``size * size`` times smaller.
2. **Window-offset order.** The convolution's outputs are computed block by block: block (a, b)
   holds, for every pooling window, the output at row a and column b inside that window. Each
   block is one contiguous (N, H'', W'', F) array, so max pooling is ``size * size - 1`` calls of
   ``np.maximum`` on whole arrays, and its backward pass writes each block in one go.

Only non-overlapping pools (``size == stride``) are fused; with ``fast`` on,
:class:`minicnn.network.Sequential` runs every Conv2D -> ReLU -> MaxPool2D run it finds as one
:class:`minicnn.fast.layers.ConvReLUPool` and the other layers one by one. Conv outputs that no
pooling window covers (an odd edge row) are never computed: their values are dropped by the pool
and their gradients are zero.

Shapes: x (N, H, W, C), filters w (F, kh, kw, C), bias b (F,), output (N, H'', W'', F) with
``H'' = H' // size`` and ``H'`` the convolution's output height.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks
from minicnn.fast.columns import Scratch, check_scratch, multiply_patches, weight_gradients
from minicnn.fast.conv import check_out, gradients_in_order
from minicnn.shapes import check_conv_args, pool_output_shape


def conv_relu_pool_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                           stride: int = 1, padding: int = 0, size: int = 2, *,
                           out: np.ndarray | None = None, scratch: Scratch | None = None
                           ) -> tuple[np.ndarray, tuple]:
    """``max_pool(relu(conv(x, w) + b), size, stride=size)`` for a batch, in one pass.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    b : ndarray, shape (F,), optional
    stride, padding : int
        Of the convolution.
    size : int
        Pooling window and stride (non-overlapping windows).
    out : ndarray, shape (N, H'', W'', F), C-contiguous, optional
        Where to write the output (the halves of a batch write into one array).
    scratch : minicnn.fast.columns.Scratch, optional
        Arrays to work in, kept from one call to the next (see
        :func:`minicnn.fast.conv.conv_forward`).

    Returns
    -------
    out : ndarray, shape (N, H'', W'', F)
    cache : tuple for :func:`conv_relu_pool_backward`
    """
    x, w, b, (out_h, out_w) = check_conv_args(x, w, b, stride, padding)
    size = _checks.positive_int("size", size)
    pool_h, pool_w, _ = pool_output_shape((out_h, out_w, w.shape[0]), size, size)
    check_out("out", out, (x.shape[0], pool_h, pool_w, w.shape[0]))
    scratch = check_scratch(scratch)
    cols = scratch.patch_matrix(x, w.shape, stride, padding, size, (pool_h, pool_w))
    blocks = multiply_patches(cols, w, b).reshape(size * size, x.shape[0], pool_h, pool_w, -1)
    pooled, where = _max_of_blocks(blocks)
    out = np.maximum(pooled, 0, out=out)
    return out, (x.shape, w, cols, where, pooled, stride, padding, size, scratch,
                 scratch.forwards)


def conv_relu_pool_backward(dout: np.ndarray, cache: tuple, need_dx: bool = True, *,
                            dx_out: np.ndarray | None = None, dx_first: bool = False
                            ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv_relu_pool_forward`.

    Each window's gradient goes to its largest conv output (the first, in row-major order, when
    the largest appears twice), and only where that largest value is positive (ReLU).

    Parameters
    ----------
    dout : ndarray, shape (N, H'', W'', F)
    need_dx, dx_out, dx_first
        As in :func:`minicnn.fast.conv.conv_backward`, which returns the same
        ``(dx, dw, db)``.
    """
    x_shape, w, cols, where, pooled, stride, padding, size, scratch, forwards = cache
    scratch.check_current(forwards)
    check_out("dx_out", dx_out, x_shape)
    dblocks = _route_to_maxima(dout, where, pooled, size * size)
    return gradients_in_order(
        lambda: _block_input_gradient(dblocks, cache, dx_out) if need_dx else None,
        lambda: weight_gradients(cols, dblocks.reshape(-1, w.shape[0]), w), dx_first)


def _block_input_gradient(dblocks: np.ndarray, cache: tuple, dx_out: np.ndarray | None
                          ) -> np.ndarray:
    """dx (N, H, W, C) from the conv outputs' gradient in block order (see
    :meth:`minicnn.fast.columns.Scratch.patch_matrix`): back to the convolution's own
    (row, column) order, then the usual input gradient."""
    x_shape, w, _, _, pooled, stride, padding, size, scratch, _ = cache
    n, pool_h, pool_w, n_filters = pooled.shape
    dconv = dblocks.reshape(size, size, n, pool_h, pool_w, n_filters).transpose(2, 3, 0, 4, 1, 5)
    dconv = np.ascontiguousarray(dconv).reshape(n, size * pool_h, size * pool_w, n_filters)
    return scratch.input_gradient(dconv, w, x_shape, stride, padding, dx_out)


def _max_of_blocks(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling over the blocks: the largest value of each window, and in which block it
    sits (the first block holding it, for ties).

    Parameters
    ----------
    blocks : ndarray, shape (size * size, N, H'', W'', F)

    Returns
    -------
    pooled : ndarray, shape (N, H'', W'', F)
    where : ndarray of ints, same shape: the index of the block holding each maximum
    """
    index = np.int8 if len(blocks) <= 127 else np.int32  # one byte per window for 2x2 pools
    pooled = blocks[0].copy()
    where = np.zeros(pooled.shape, dtype=index)
    bigger = np.empty(pooled.shape, dtype=bool)
    k_or_0 = np.empty(pooled.shape, dtype=index)
    for k, block in enumerate(blocks[1:], start=1):
        np.greater(block, pooled, out=bigger)  # strictly: a tie keeps the earlier block
        # where = k where bigger: k exceeds every index so far, so a maximum does it (far
        # quicker than a masked copy)
        np.multiply(bigger, index(k), out=k_or_0)
        np.maximum(where, k_or_0, out=where)
        np.maximum(pooled, block, out=pooled)
    return pooled, where


def _route_to_maxima(dout: np.ndarray, where: np.ndarray, pooled: np.ndarray,
                     n_blocks: int) -> np.ndarray:
    """The gradient of every block: ``dout`` where the block holds its window's maximum and
    that maximum is positive (ReLU), 0 elsewhere. Shape (n_blocks, N, H'', W'', F)."""
    dtype = np.result_type(dout, pooled)
    # Multiplying by a 0/1 mask is exact unless dout holds inf or NaN; then use np.where.
    finite = bool(np.isfinite(dout).all())
    positive = pooled > 0
    g = np.multiply(dout, positive, dtype=dtype) if finite else np.where(positive, dout, 0)
    dblocks = np.empty((n_blocks, *pooled.shape), dtype)
    hit = np.empty(where.shape, dtype=bool)
    for k, dblock in enumerate(dblocks):
        np.equal(where, k, out=hit)
        if finite:
            np.multiply(g, hit, out=dblock)
        else:
            dblock[...] = np.where(hit, g, 0)
    return dblocks
