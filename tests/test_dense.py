"""Chapter 06: the dense layer's forward and backward functions."""

import numpy as np
import pytest

from minicnn.dense import dense_backward, dense_forward
from minicnn.gradcheck import numerical_gradient, relative_error
from minicnn.layers import Dense

pytestmark = pytest.mark.ch06


def test_hand_computed_and_the_cache():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])  # (D, M) = (2, 3)
    b = np.array([0.0, 1.0, 0.5])
    out, cache = dense_forward(x, w, b)
    np.testing.assert_allclose(out, [[2.0, 5.0, 1.5]])
    assert type(cache) is tuple and cache[0] is x and cache[1] is w and cache[2] is b
    dx, dw, db = dense_backward(np.array([[1.0, 0.0, 2.0]]), cache)
    np.testing.assert_allclose(dx, [[-1.0, 2.5]])
    np.testing.assert_allclose(dw, [[1.0, 0.0, 2.0], [2.0, 0.0, 4.0]])
    np.testing.assert_allclose(db, [1.0, 0.0, 2.0])


def test_gradients_numerically_in_float64():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    _, cache = dense_forward(x, w, b)
    dx, dw, db = dense_backward(dout, cache)

    def f():
        return float(np.sum(dense_forward(x, w, b)[0] * dout))

    for got, arr in ((dx, x), (dw, w), (db, b)):
        assert relative_error(got, numerical_gradient(f, arr)) < 1e-7


def test_the_layer_is_a_thin_wrapper():
    layer = Dense(5, 3, seed=1)
    x = np.random.default_rng(1).standard_normal((2, 5)).astype(np.float32)
    out, cache = dense_forward(x, layer.params["w"], layer.params["b"])
    np.testing.assert_array_equal(layer.forward(x), out)
    dout = np.ones_like(out)
    dx, dw, db = dense_backward(dout, cache)
    np.testing.assert_array_equal(layer.backward(dout), dx)
    np.testing.assert_array_equal(layer.grads["w"], dw)
    np.testing.assert_array_equal(layer.grads["b"], db)


def test_a_feature_count_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match=r"x has 4 features \(shape \(2, 4\)\) but w expects 5"):
        dense_forward(np.ones((2, 4)), np.ones((5, 3)), np.zeros(3))
