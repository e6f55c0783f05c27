"""Property tests: the fast numpy paths give the same numbers as plain loops, on random shapes.

The fast paths (sliding-window im2col, offset-by-offset input gradient, bias and bias-gradient
tricks in ``minicnn.conv``; write-in-place max-pool backward in ``minicnn.pooling``) are checked
against loop references over shapes, strides, paddings and channel counts that hypothesis draws,
including one channel (a separate patch-matrix layout), overlapping pooling windows and ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn import columns, conv, pooling
from minicnn.grade import reference
from minicnn.layers import Conv2D

TOL = {"rtol": 1e-10, "atol": 1e-10}


@st.composite
def conv_cases(draw):
    """(x, w, b, stride, padding) in float64 with a stride and padding that tile the input."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    out_h, out_w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # H = (H' - 1) * stride + kh - 2 * padding must be at least 1 (and at least kh - 2 * padding)
    h = (out_h - 1) * stride + kh - 2 * padding
    w_ = (out_w - 1) * stride + kw - 2 * padding
    if h < 1 or w_ < 1:
        padding = 0
        h, w_ = (out_h - 1) * stride + kh, (out_w - 1) * stride + kw
    n, c, f = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 3, 8])), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.standard_normal((n, h, w_, c)), rng.standard_normal((f, kh, kw, c)),
            rng.standard_normal(f), stride, padding)


def im2col_loop(xp, kh, kw, stride, out_h, out_w):
    """One patch at a time: cols[n, i, j] is the (kh, kw, C) patch under output (i, j)."""
    cols = np.empty((xp.shape[0], out_h, out_w, kh, kw, xp.shape[3]), dtype=xp.dtype)
    for i in range(out_h):
        for j in range(out_w):
            cols[:, i, j] = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
    return cols


@pytest.mark.ch02
@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_im2col_equals_patch_by_patch(case):
    x, w, _, stride, padding = case
    _, kh, kw, _ = w.shape
    xp = conv.pad(x, padding)
    out_h = (xp.shape[1] - kh) // stride + 1
    out_w = (xp.shape[2] - kw) // stride + 1
    cols = conv.im2col(xp, kh, kw, stride, out_h, out_w)
    assert cols.flags.c_contiguous
    np.testing.assert_array_equal(cols, im2col_loop(xp, kh, kw, stride, out_h, out_w))


@pytest.mark.ch02
@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv_forward_and_backward_equal_loops(case):
    x, w, b, stride, padding = case
    out, cache = conv.conv_forward(x, w, b, stride, padding)
    expected = np.stack([conv.conv2d_loop(xi, w, stride, padding, b) for xi in x])
    np.testing.assert_allclose(out, expected, **TOL)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    dx, dw, db = conv.conv_backward(dout, cache)
    ref_dx, ref_dw, ref_db = conv.conv_backward_loop(dout, x, w, stride, padding)
    np.testing.assert_allclose(dx, ref_dx, **TOL)
    np.testing.assert_allclose(dw, ref_dw, **TOL)
    np.testing.assert_allclose(db, ref_db, **TOL)
    assert dx.shape == x.shape
    none_dx, dw2, db2 = conv.conv_backward(dout, cache, need_dx=False)
    assert none_dx is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.ch02
@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_input_gradient_equals_col2im(case):
    """The offset-by-offset input gradient is the adjoint of im2col, like col2im."""
    x, w, _, stride, padding = case
    xp = conv.pad(x, padding)
    out_h = (xp.shape[1] - w.shape[1]) // stride + 1
    out_w = (xp.shape[2] - w.shape[2]) // stride + 1
    cols = conv.im2col(xp, w.shape[1], w.shape[2], stride, out_h, out_w)
    xp_shape = xp.shape
    dout = np.random.default_rng(2).standard_normal((*cols.shape[:3], w.shape[0]))
    dcols = (dout @ w.reshape(w.shape[0], -1)).reshape(cols.shape)
    h, wd = x.shape[1:3]
    full = conv.col2im(dcols, xp_shape, stride)  # padded; the padding's share is dropped
    expected = full[:, padding:padding + h, padding:padding + wd]
    np.testing.assert_allclose(columns.input_gradient(dout, w, x.shape, stride, padding),
                               expected, **TOL)
    # Both ways of adding the shifted products give it, whatever the stride.
    np.testing.assert_allclose(columns._strided_sums(dout, w, x.shape, stride, padding),
                               expected, **TOL)
    if stride == 1:
        np.testing.assert_allclose(columns._shifted_sums(dout, w, x.shape, padding), expected,
                                   **TOL)
        # any memory layout of the outputs' gradient
        flipped = np.asfortranarray(dout)
        np.testing.assert_allclose(columns._shifted_sums(flipped, w, x.shape, padding),
                                   expected, **TOL)


@pytest.mark.ch02
def test_float32_fast_path_matches_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 9, 9, 3))
    w = rng.standard_normal((5, 3, 3, 3))
    b = rng.standard_normal(5)
    out64, cache64 = conv.conv_forward(x, w, b, 1, 1)
    out32, cache32 = conv.conv_forward(x.astype(np.float32), w.astype(np.float32),
                                       b.astype(np.float32), 1, 1)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4)
    dout = rng.standard_normal(out64.shape)
    for g32, g64 in zip(conv.conv_backward(dout.astype(np.float32), cache32),
                        conv.conv_backward(dout, cache64), strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


@pytest.mark.ch02
def test_conv2d_layer_gradients_follow_the_latest_batch():
    """Conv2D drops the previous batch's cache before the next forward; backward must use the
    new batch."""
    rng = np.random.default_rng(0)
    layer = Conv2D(2, 3, 3, padding=1, seed=0)
    x1, x2 = rng.standard_normal((2, 2, 5, 5, 2))
    layer.forward(x1)
    out = layer.forward(x2)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    ref_dx, ref_dw, _ = conv.conv_backward_loop(dout, x2, layer.params["w"], 1, 1)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["w"], ref_dw, rtol=1e-5, atol=1e-5)


@st.composite
def pool_cases(draw):
    size = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    h = draw(st.integers(size, 8))
    w = draw(st.integers(size, 8))
    n, c = draw(st.integers(1, 2)), draw(st.sampled_from([1, 3, 8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):  # few distinct values: many ties, as after a ReLU
        x = np.maximum(rng.integers(-2, 3, (n, h, w, c)), 0).astype(np.float64)
    else:
        x = rng.standard_normal((n, h, w, c))
    return x, size, stride


@pytest.mark.ch05
@settings(max_examples=80, deadline=None)
@given(pool_cases())
def test_max_pool_backward_equals_loop(case):
    x, size, stride = case
    out, cache = pooling.max_pool_forward(x, size, stride)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    # the grader's loop, image by image: each window's gradient goes to its first maximum in
    # row-major order (as in PyTorch)
    expected = np.stack([reference.max_pool_backward(d, xi, size, stride)
                         for d, xi in zip(dout, x, strict=True)])
    # overlapping windows add in another order than the loop: allow rounding
    np.testing.assert_allclose(pooling.max_pool_backward(dout, cache), expected, **TOL)


@pytest.mark.ch05
def test_max_pool_backward_with_infinite_gradient_keeps_zeros():
    """A non-finite upstream gradient must not turn the non-maximum positions into NaN."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    out, cache = pooling.max_pool_forward(x, 2, 2)
    dx = pooling.max_pool_backward(np.full(out.shape, np.inf), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0.0, 0.0], [0.0, np.inf]])


@pytest.mark.ch05
def test_max_pool_backward_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    out, cache = pooling.max_pool_forward(x, 2, 2)
    dx = pooling.max_pool_backward(np.ones_like(out), cache)
    assert dx.dtype == np.float32
    assert dx.sum() == out.size  # one gradient per window, no more


@pytest.mark.ch02
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("images", [1, 2, 5])
def test_input_gradient_in_chunks_of_images(stride, images, monkeypatch):
    """The input gradient takes the images a few at a time; any chunk size, including one
    that does not divide the batch, gives the same sums."""
    # 1, 2 or all 5 images per chunk, for either way of adding the shifted products
    monkeypatch.setattr(columns, "CHUNK_NUMBERS", images * 27 * 9 * 9)  # 3 * 3 * 3 x 9 * 9
    monkeypatch.setattr(columns, "CHUNK_ROWS", images * 4 * 4)
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((5, 7, 7, 3)), rng.standard_normal((4, 3, 3, 3))
    out, cache = conv.conv_forward(x, w, None, stride, 1)  # 7 x 7 or 4 x 4 outputs per image
    dout = rng.standard_normal(out.shape)
    ref_dx, _, _ = conv.conv_backward_loop(dout, x, w, stride, 1)
    np.testing.assert_allclose(conv.conv_backward(dout, cache)[0], ref_dx, **TOL)


@pytest.mark.ch02
@pytest.mark.parametrize("rows", [1, 7, 8, 16, 29])
def test_tall_product_in_blocks_equals_one_product(rows, monkeypatch):
    """a.T @ b summed block by block: fewer rows than a block, whole blocks, and a rest."""
    monkeypatch.setattr(columns, "BLOCK_ROWS", 8)
    rng = np.random.default_rng(rows)
    a, b = rng.standard_normal((rows, 5)), rng.standard_normal((rows, 3))
    np.testing.assert_allclose(columns.tall_product(a, b), a.T @ b, **TOL)
    # a transposed view (the one-channel column layout) works the same
    a_t = np.ascontiguousarray(a.T)
    np.testing.assert_allclose(columns.tall_product(a_t.T, b), a.T @ b, **TOL)


# ----------------------------------------------------------------------------------------------
# Writing into a given array (the halves of a batch share one output) and the order of the two
# backward products change nothing but where the numbers go.
# ----------------------------------------------------------------------------------------------

@pytest.mark.ch02
@pytest.mark.parametrize("channels", [1, 3])  # the one-channel layout and one patch per row
@pytest.mark.parametrize("stride", [1, 2])
def test_out_and_dx_out_hold_the_same_numbers(channels, stride):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 7, 7, channels))
    w, b = rng.standard_normal((4, 3, 3, channels)), rng.standard_normal(4)
    expected, cache = conv.conv_forward(x, w, b, stride, 1)
    out = np.full(expected.shape, np.nan)
    got, cache2 = conv.conv_forward(x, w, b, stride, 1, out=out)
    assert got is out
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv.conv_backward(dout, cache)
    for dx_first in (False, True):
        dx_out = np.full(x.shape, np.nan)
        got = conv.conv_backward(dout, cache2, dx_out=dx_out, dx_first=dx_first)
        assert got[0] is dx_out
        for a, ref in zip(got, (dx, dw, db), strict=True):
            np.testing.assert_array_equal(a, ref)
    none_dx, dw2, _ = conv.conv_backward(dout, cache2, need_dx=False, dx_first=True)
    assert none_dx is None
    np.testing.assert_array_equal(dw2, dw)


@pytest.mark.ch02
@pytest.mark.parametrize("bad, why", [
    (np.zeros((2, 5, 5, 3)), r"shape \(2, 5, 5, 3\)"),
    (np.zeros((2, 5, 5, 8))[..., ::2], "shape"),  # right shape, not contiguous
    ([[0.0]], "list"),
])
def test_a_wrong_out_array_is_refused(bad, why):
    x, w = np.ones((2, 5, 5, 1)), np.ones((4, 3, 3, 1))
    with pytest.raises(ValueError, match=rf"out must be a writeable C-contiguous array of shape "
                                         rf"\(2, 5, 5, 4\).*got {why}.*out=None"):
        conv.conv_forward(x, w, None, 1, 1, out=bad)
    _, cache = conv.conv_forward(x, w, None, 1, 1)
    read_only = np.zeros(x.shape)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="dx_out must be a writeable"):
        conv.conv_backward(np.ones((2, 5, 5, 4)), cache, dx_out=read_only)


# ----------------------------------------------------------------------------------------------
# Scratch arrays kept from one batch to the next: the same numbers as new arrays, whatever the
# batches before; a stale cache is refused; copies start empty.
# ----------------------------------------------------------------------------------------------

@pytest.mark.ch02
@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_a_reused_scratch_gives_the_numbers_of_new_arrays(case, seed):
    x, w, b, stride, padding = case
    rng = np.random.default_rng(seed)
    scratch = columns.Scratch()
    # A batch of another shape and dtype first, then two batches of this shape: the arrays are
    # made again, then reused (with other numbers in them).
    other = rng.standard_normal((x.shape[0] + 1, *x.shape[1:])).astype(np.float32)
    conv.conv_forward(other, w.astype(np.float32), None, stride, padding, scratch=scratch)
    for batch in (rng.standard_normal(x.shape), x):
        out, cache = conv.conv_forward(batch, w, b, stride, padding, scratch=scratch)
        ref_out, ref_cache = conv.conv_forward(batch, w, b, stride, padding)
        np.testing.assert_array_equal(out, ref_out)
        dout = rng.standard_normal(out.shape)
        grads = conv.conv_backward(dout, cache)
        for got, ref in zip(grads, conv.conv_backward(dout, ref_cache), strict=True):
            np.testing.assert_array_equal(got, ref)
    loops = np.stack([conv.conv2d_loop(image, w, stride, padding, b) for image in x])
    np.testing.assert_allclose(out, loops, **TOL)
    for got, ref in zip(grads, conv.conv_backward_loop(dout, x, w, stride, padding), strict=True):
        np.testing.assert_allclose(got, ref, **TOL)


@pytest.mark.ch02
def test_a_cache_overwritten_by_a_later_forward_is_refused():
    rng = np.random.default_rng(12)
    w, scratch = rng.standard_normal((2, 3, 3, 2)), columns.Scratch()
    x1, x2 = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((2, 5, 5, 2))
    out1, cache1 = conv.conv_forward(x1, w, None, 1, 1, scratch=scratch)
    _, cache2 = conv.conv_forward(x2, w, None, 1, 1, scratch=scratch)
    with pytest.raises(RuntimeError, match=r"earlier forward pass \(number 1 of 2\).*"
                                           r"overwritten; run forward again"):
        conv.conv_backward(np.ones(out1.shape), cache1)
    conv.conv_backward(np.ones(out1.shape), cache2)  # the latest one is fine


@pytest.mark.ch02
def test_scratch_must_be_a_scratch():
    with pytest.raises(TypeError, match="scratch must be a minicnn.columns.Scratch or None, got "
                                        "dict; leave scratch=None"):
        conv.conv_forward(np.ones((1, 4, 4, 1)), np.ones((1, 3, 3, 1)), scratch={})


@pytest.mark.ch02
def test_copies_of_a_layer_start_with_empty_scratch():
    import copy
    import pickle

    rng = np.random.default_rng(13)
    layer = Conv2D(2, 3, 3, padding=1, seed=0)
    x, x2 = rng.standard_normal((20, 6, 6, 2)), rng.standard_normal((20, 6, 6, 2))
    layer.forward(x)
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert all(s.forwards == 0 for s in twin.scratch)
        np.testing.assert_array_equal(twin.forward(x2), layer.forward(x2))
        dout = rng.standard_normal((20, 6, 6, 3))
        np.testing.assert_array_equal(twin.backward(dout), layer.backward(dout))
        np.testing.assert_array_equal(twin.grads["w"], layer.grads["w"])
