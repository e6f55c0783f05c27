"""Chapter 04: ReLU, sigmoid, tanh and their gradients."""

import numpy as np
import pytest

from minicnn import activations as act
from minicnn.gradcheck import numerical_gradient, relative_error

pytestmark = pytest.mark.ch04


def test_relu_hand_computed_and_input_unchanged():
    x = np.array([[-2.0, 0.0, 3.5], [1.0, -0.1, 0.0]])
    before = x.copy()
    np.testing.assert_array_equal(act.relu(x), [[0, 0, 3.5], [1, 0, 0]])
    np.testing.assert_array_equal(x, before)
    dout = np.full_like(x, 2.0)
    np.testing.assert_array_equal(act.relu_backward(dout, x), [[0, 0, 2], [2, 0, 0]])


def test_sigmoid_tanh_values():
    np.testing.assert_allclose(act.sigmoid(np.array([0.0, 2.0, -2.0])),
                               [0.5, 1 / (1 + np.exp(-2)), 1 / (1 + np.exp(2))])
    assert np.all(np.isfinite(act.sigmoid(np.array([-1000.0, 1000.0]))))
    np.testing.assert_allclose(act.tanh(np.array([0.0, 1.0])), [0.0, np.tanh(1.0)])


@pytest.mark.parametrize(("f", "back", "uses_out"), [
    (act.relu, act.relu_backward, False),
    (act.sigmoid, act.sigmoid_backward, True),
    (act.tanh, act.tanh_backward, True),
])
def test_gradients_numerically(f, back, uses_out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    dout = rng.standard_normal(x.shape)
    analytic = back(dout, f(x) if uses_out else x)
    numeric = numerical_gradient(lambda: float(np.sum(f(x) * dout)), x)
    assert relative_error(analytic, numeric) < 1e-7


def test_stacked_linear_maps_stay_linear_relu_does_not():
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose((a + b) @ w1 @ w2, a @ (w1 @ w2) + b @ (w1 @ w2))
    nonlin = lambda v: act.relu(v @ w1) @ w2  # noqa: E731
    assert not np.allclose(nonlin(a + b), nonlin(a) + nonlin(b))
