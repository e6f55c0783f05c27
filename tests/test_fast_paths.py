"""Property tests: the core's vectorised functions give the same numbers as plain loops.

im2col, ``conv_forward`` / ``conv_backward`` (im2col + one matrix product; dx offset by offset) in
``minicnn.conv`` and max pooling's backward pass in ``minicnn.pooling`` are checked against loop
references over shapes, strides, paddings and channel counts that hypothesis draws, including
overlapping pooling windows and ties. The fast backend is held to the core in tests/test_fast.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_strategies import conv_cases

from minicnn import conv, pooling
from minicnn.grade import reference

TOL = {"rtol": 1e-10, "atol": 1e-10}


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
def test_max_pool_backward_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    out, cache = pooling.max_pool_forward(x, 2, 2)
    dx = pooling.max_pool_backward(np.ones_like(out), cache)
    assert dx.dtype == np.float32
    assert dx.sum() == out.size  # one gradient per window, no more


