"""Every backward function refuses a ``dout`` that is not shaped like its forward output, with
the expected shape and the one it got (before, numpy's broadcasting either raised about
"operands" and "core dimensions", or quietly gave a wrong gradient; one number still stands for
the same gradient everywhere); every layer refuses a backward pass before any forward pass."""

from __future__ import annotations

import re

import numpy as np
import pytest

from minicnn import activations, conv, dense, pooling
from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh
from minicnn.network import Sequential

rng = np.random.default_rng(0)


def _pool(kind, x, size, stride):
    forward = getattr(pooling, f"{kind}_pool_forward")
    backward = getattr(pooling, f"{kind}_pool_backward")
    _, cache = forward(x, size, stride)
    return lambda dout: backward(dout, cache)


def _conv(n, h, w, c, f, k, stride, padding):
    x = rng.standard_normal((n, h, w, c))
    _, cache = conv.conv_forward(x, rng.standard_normal((f, k, k, c)), np.zeros(f),
                                 stride, padding)
    return lambda dout: conv.conv_backward(dout, cache)


def _dense(n, d, m):
    _, cache = dense.dense_forward(rng.standard_normal((n, d)), rng.standard_normal((d, m)),
                                   np.zeros(m))
    return lambda dout: dense.dense_backward(dout, cache)


x23 = rng.standard_normal((2, 3))
CASES = [  # (backward with its forward's cache, the right dout shape, wrong douts)
    pytest.param(lambda d: activations.relu_backward(d, x23), (2, 3), [(3, 2), (1, 3), (3,)],
                 marks=pytest.mark.ch04, id="relu"),
    pytest.param(lambda d: activations.sigmoid_backward(d, x23), (2, 3), [(2, 1), (6,)],
                 marks=pytest.mark.ch04, id="sigmoid"),
    pytest.param(lambda d: activations.tanh_backward(d, x23), (2, 3), [(1,), (2, 3, 1)],
                 marks=pytest.mark.ch04, id="tanh"),
    pytest.param(_pool("max", rng.standard_normal((4, 4)), 2, 2), (2, 2), [(4, 4), (1, 2, 2)],
                 marks=pytest.mark.ch05, id="max-2d"),
    pytest.param(_pool("max", rng.standard_normal((7, 7, 3)), 3, 2), (3, 3, 3),
                 [(3, 3, 1), (3, 3), (1, 3, 3, 3)], marks=pytest.mark.ch05, id="max-3d-overlap"),
    pytest.param(_pool("avg", rng.standard_normal((2, 6, 5, 2)), 2, 2), (2, 3, 2, 2),
                 [(1, 3, 2, 2), (2, 3, 3, 2)], marks=pytest.mark.ch05, id="avg-4d"),
    pytest.param(_dense(3, 4, 2), (3, 2), [(3, 4), (1, 2), (2,)], marks=pytest.mark.ch06,
                 id="dense"),
    pytest.param(_conv(2, 5, 5, 1, 3, 3, 1, 1), (2, 5, 5, 3), [(2, 3, 3, 3), (1, 5, 5, 3)],
                 marks=pytest.mark.ch07, id="conv-pad"),
    pytest.param(_conv(1, 7, 5, 2, 4, 3, 2, 0), (1, 3, 2, 4), [(1, 3, 2, 2), (3, 2, 4)],
                 marks=pytest.mark.ch07, id="conv-stride"),
]


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize(("backward", "right", "wrong"), CASES)
def test_a_dout_of_the_wrong_shape_is_named(backward, right, wrong):
    backward(rng.standard_normal(right))  # the right shape goes through
    # one number is the same gradient everywhere: the same as an array of it
    for got, full in zip(_as_tuple(backward(0.5)), _as_tuple(backward(np.full(right, 0.5))),
                         strict=True):
        np.testing.assert_array_equal(got, full)
    for shape in wrong:
        with pytest.raises(ValueError) as info:
            backward(rng.standard_normal(shape))
        text = str(info.value)
        assert text.startswith(f"dout must have shape {right}"), text
        assert f"got shape {shape}" in text
        assert "operands" not in text and "gufunc" not in text


LAYERS = [
    pytest.param(lambda: Conv2D(1, 2, 3), marks=pytest.mark.ch07, id="Conv2D"),
    pytest.param(ReLU, marks=pytest.mark.ch04, id="ReLU"),
    pytest.param(Sigmoid, marks=pytest.mark.ch04, id="Sigmoid"),
    pytest.param(Tanh, marks=pytest.mark.ch04, id="Tanh"),
    pytest.param(MaxPool2D, marks=pytest.mark.ch05, id="MaxPool2D"),
    pytest.param(AvgPool2D, marks=pytest.mark.ch05, id="AvgPool2D"),
    pytest.param(Flatten, marks=pytest.mark.ch06, id="Flatten"),
    pytest.param(lambda: Dense(3, 2), marks=pytest.mark.ch06, id="Dense"),
    pytest.param(lambda: BatchNorm(3), marks=pytest.mark.ch10, id="BatchNorm"),
    pytest.param(Dropout, marks=pytest.mark.ch10, id="Dropout"),
]


@pytest.mark.parametrize("make", LAYERS)
def test_backward_before_forward_says_so(make):
    layer = make()
    name = type(layer).__name__
    with pytest.raises(RuntimeError, match=rf"^{name}\.backward was called before forward: "
                                           r"call forward\(x\) first"):
        layer.backward(np.zeros((2, 3)))


@pytest.mark.ch07
def test_a_model_backward_before_forward_names_the_last_layer():
    model = Sequential([Flatten(), Dense(4, 2, seed=0)])
    with pytest.raises(RuntimeError, match=re.escape("Dense.backward was called before forward")):
        model.backward(np.zeros((1, 2)))
    out = model.forward(np.ones((1, 2, 2, 1)))
    assert model.backward(np.ones_like(out)).shape == (1, 2, 2, 1)
