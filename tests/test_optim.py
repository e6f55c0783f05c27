"""Chapter 07: optimisers, hand-computed steps."""

import numpy as np
import pytest

from minicnn import optim
from minicnn.layers import Dense
from minicnn.optim import SGD, Adam

pytestmark = pytest.mark.ch07


def _layer(w, g):
    layer = Dense(1, 2)
    layer.params = {"w": np.array(w, dtype=float)}
    layer.grads = {"w": np.array(g, dtype=float)}
    return layer


def test_sgd_in_place():
    layer = _layer([[1.0, 2.0]], [[0.5, -1.0]])
    w = layer.params["w"]
    SGD(lr=0.1).step([layer])
    assert layer.params["w"] is w   # updated in place, not rebound
    np.testing.assert_allclose(w, [[0.95, 2.1]])


def test_sgd_momentum_two_steps():
    layer = _layer([[0.0]], [[1.0]])
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step([layer])   # v = 1, w = -0.1
    opt.step([layer])   # v = 0.9 + 1 = 1.9, w = -0.1 - 0.19
    np.testing.assert_allclose(layer.params["w"], [[-0.29]])


def test_adam_first_step_is_lr_times_sign():
    layer = _layer([[1.0, 1.0]], [[3.0, -0.001]])
    Adam(lr=0.01).step([layer])
    np.testing.assert_allclose(layer.params["w"], [[0.99, 1.01]], rtol=1e-5)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "0.1", None])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr .*must be a positive number"):
        SGD(lr=lr)


def test_bad_momentum():
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD(lr=0.1, momentum=1.5)


def test_sgd_step_updates_every_array_in_place_and_sgd_is_built_on_it():
    params = [np.array([1.0, 2.0]), np.ones((2, 2), np.float32)]
    grads = [np.array([0.5, -1.0]), np.full((2, 2), 2.0)]
    same = [id(p) for p in params]
    assert optim.sgd_step(params, grads, lr=0.1) is None
    np.testing.assert_allclose(params[0], [0.95, 2.1])
    np.testing.assert_allclose(params[1], np.full((2, 2), 0.8))
    assert [id(p) for p in params] == same and params[1].dtype == np.float32
    layer = Dense(3, 2, seed=0)
    layer.grads = {"w": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)}
    expected = [p - np.float32(0.1) for p in layer.params.values()]
    SGD(0.1).step([layer])
    for p, e in zip(layer.params.values(), expected, strict=True):
        np.testing.assert_array_equal(p, e)
    with pytest.raises(ValueError):
        optim.sgd_step([np.ones(2)], [], 0.1)
