"""Chapter 05: pooling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn import pooling
from minicnn.gradcheck import check_layer
from minicnn.layers import AvgPool2D, MaxPool2D

pytestmark = pytest.mark.ch05


def test_max_pool_hand_computed():
    x = np.array([[1, 3, 2, 0],
                  [4, 2, 1, 5],
                  [0, 1, 7, 2],
                  [2, 6, 3, 3]], dtype=float)
    np.testing.assert_array_equal(pooling.max_pool(x), [[4, 5], [6, 7]])
    np.testing.assert_allclose(pooling.avg_pool(x), [[2.5, 2.0], [2.25, 3.75]])


def test_depth_is_kept_and_odd_edges_drop():
    x = np.random.default_rng(0).random((7, 9, 5))
    assert pooling.max_pool(x).shape == (3, 4, 5)
    assert pooling.max_pool(x[None]).shape == (1, 3, 4, 5)


def test_small_shift_inside_a_window_gives_the_same_output():
    x = np.zeros((4, 4))
    x[0, 0] = 1
    shifted = np.zeros((4, 4))
    shifted[1, 1] = 1
    np.testing.assert_array_equal(pooling.max_pool(x), pooling.max_pool(shifted))


def test_backward_first_maximum_gets_all():
    x = np.array([[[[1.0], [5.0]], [[5.0], [2.0]]]])   # (1, 2, 2, 1), two maxima
    out, cache = pooling.max_pool_forward(x, 2, 2)
    dx = pooling.max_pool_backward(np.array([[[[3.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 3], [0, 0]])


def test_overlapping_windows_add():
    x = np.array([[1.0, 9.0, 2.0]])[:, :, None][None]   # (1, 1, 3, 1)
    x = np.repeat(x, 2, axis=1)                           # (1, 2, 3, 1)
    out, cache = pooling.max_pool_forward(x, 2, 1)        # two windows share the 9
    dx = pooling.max_pool_backward(np.ones_like(out), cache)
    assert dx[0, 0, 1, 0] == 2.0 and dx.sum() == 2.0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_fast_equals_loop(size, stride, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size + 5, size + 4, c))
    np.testing.assert_array_equal(pooling.max_pool(x, size, stride),
                                  pooling.max_pool_loop(x, size, stride))


@pytest.mark.parametrize(("layer", "shape"), [
    (MaxPool2D(2, 2), (2, 6, 6, 3)), (MaxPool2D(3, 2), (2, 7, 7, 2)),
    (MaxPool2D(2, 1), (1, 5, 5, 2)), (AvgPool2D(2, 2), (2, 6, 6, 3)),
    (AvgPool2D(3, 1), (1, 5, 6, 2)),
])
def test_gradients_numerically(layer, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    errors = check_layer(layer, x)
    assert errors["x"] < 1e-7, errors


def test_errors():
    with pytest.raises(ValueError, match="pool size=5 is larger than the input"):
        pooling.max_pool(np.ones((4, 4)), 5)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        pooling.max_pool(np.ones((4, 4)), 2, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(H, W\), \(H, W, C\)"):
        pooling.max_pool(np.ones(4))


@pytest.mark.parametrize("forward, backward", [
    (pooling.max_pool_forward, pooling.max_pool_backward),
    (pooling.avg_pool_forward, pooling.avg_pool_backward),
])
def test_forward_and_backward_accept_every_rank(forward, backward):
    """(H, W), (H, W, C) and (N, H, W, C) in, the same rank out; the cache is (x, size,
    stride), and the numbers are those of the batch of one."""
    rng = np.random.default_rng(5)
    batch = rng.standard_normal((1, 6, 6, 3))
    out4, cache4 = forward(batch, 3, 2)
    dout4 = rng.standard_normal(out4.shape)
    dx4 = backward(dout4, cache4)
    assert cache4[0] is batch and cache4[1:] == (3, 2)
    for x, pick in ((batch[0], np.s_[0]), (batch[0, :, :, 1], np.s_[0, :, :, 1])):
        out, cache = forward(x, 3, 2)
        assert out.ndim == x.ndim and cache[1:] == (3, 2)
        np.testing.assert_array_equal(out, out4[pick])
        np.testing.assert_array_equal(backward(dout4[pick], cache), dx4[pick])
