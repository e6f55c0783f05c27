"""Every layer's backward pass against numerical gradients, in float64 (chapters 04-07)."""

import numpy as np
import pytest

from minicnn.gradcheck import check_layer, check_model
from minicnn.layers import (
    AvgPool2D,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
)
from minicnn.network import Sequential

pytestmark = pytest.mark.ch07  # until these tests are marked one by one
TOL = 1e-7

LAYERS = [
    (Conv2D(3, 4, 3, padding=1, seed=0), (2, 6, 6, 3)),
    (Conv2D(2, 3, 3, stride=2, padding=1, seed=1), (2, 7, 7, 2)),
    (Conv2D(1, 2, 2, stride=2, seed=2), (3, 6, 8, 1)),
    (Conv2D(4, 5, 1, seed=3), (1, 3, 3, 4)),
    (ReLU(), (2, 4, 4, 3)),
    (Sigmoid(), (2, 4, 4, 3)),
    (Tanh(), (2, 4, 4, 3)),
    (MaxPool2D(2, 2), (2, 6, 6, 3)),
    (AvgPool2D(2, 2), (2, 6, 6, 3)),
    (Flatten(), (2, 3, 3, 2)),
    (Dense(7, 5, seed=4), (4, 7)),
]


@pytest.mark.ch07
@pytest.mark.parametrize(("layer", "shape"), LAYERS, ids=[repr(la) for la, _ in LAYERS])
def test_backward_matches_numerical_gradient(layer, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    errors = check_layer(layer, x, max_checks=None)
    assert set(errors) == {"x", *layer.params}
    assert max(errors.values()) < TOL, errors


@pytest.mark.ch07
def test_gradcheck_catches_a_wrong_backward():
    class BrokenDense(Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["w"] = self.grads["w"] * 1.01   # a 1 % error
            return dx

    errors = check_layer(BrokenDense(4, 3, seed=0), np.random.default_rng(0).random((2, 4)))
    assert errors["w"] > 1e-3 and errors["x"] < TOL


@pytest.mark.ch07
def test_whole_model_gradients():
    model = Sequential([Conv2D(1, 3, 3, padding=1, seed=0), ReLU(), MaxPool2D(2, 2),
                        Conv2D(3, 4, 3, padding=1, seed=1), Tanh(), AvgPool2D(2, 2),
                        Flatten(), Dense(16, 5, seed=2)])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 8, 8, 1))
    errors = check_model(model, x, np.array([0, 4, 2]), max_checks=None)
    assert max(errors.values()) < TOL, errors


@pytest.mark.ch06
def test_dense_hand_computed():
    layer = Dense(2, 2)
    layer.params["w"] = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer.params["b"] = np.array([0.5, -0.5])
    out = layer.forward(np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(out, [[4.5, 5.5]])
    dx = layer.backward(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(dx, [[1.0, 3.0]])
    np.testing.assert_allclose(layer.grads["w"], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(layer.grads["b"], [1.0, 0.0])


@pytest.mark.ch06
def test_softmax_cross_entropy_layer():
    loss_layer = SoftmaxCrossEntropy()
    loss = loss_layer.forward(np.array([[0.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(loss_layer.backward(), [[0.5, -0.5]])


@pytest.mark.ch07
def test_parameter_shapes_and_init():
    conv = Conv2D(3, 8, 5, seed=0)
    assert conv.params["w"].shape == (8, 5, 5, 3) and conv.params["b"].shape == (8,)
    assert conv.n_params == 8 * 5 * 5 * 3 + 8
    np.testing.assert_allclose(conv.params["w"].std(), np.sqrt(2 / 75), rtol=0.15)
    dense = Dense(10, 4, seed=0)
    assert dense.params["w"].shape == (10, 4) and dense.params["b"].shape == (4,)
    np.testing.assert_array_equal(Conv2D(1, 2, 3, seed=5).params["w"],
                                  Conv2D(1, 2, 3, seed=5).params["w"])


@pytest.mark.ch07
def test_layer_errors():
    with pytest.raises(ValueError, match=r"Conv2D expects 3 input channel\(s\).*in_channels=1"):
        Conv2D(3, 4, 3).forward(np.ones((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"Dense expects 10 input features.*in_features=12"):
        Dense(10, 2).forward(np.ones((2, 12)))
    with pytest.raises(ValueError, match="out_channels must be a positive integer, got 0"):
        Conv2D(1, 0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(1, 2, 2.5)


@pytest.mark.ch07
def test_layers_are_thin_wrappers_over_the_functions(monkeypatch):
    """Each layer calls its module's functions: replacing one changes the layer."""
    from minicnn import activations, conv, dense, pooling

    calls = []

    def spy(module, name):
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)

    for module, names in ((conv, ("conv_forward", "conv_backward")),
                          (activations, ("relu", "relu_backward")),
                          (pooling, ("max_pool_forward", "max_pool_backward")),
                          (dense, ("dense_forward", "dense_backward"))):
        for name in names:
            spy(module, name)
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 1))
    layers = [Conv2D(1, 2, 3, padding=1, seed=0), ReLU(), MaxPool2D(2, 2), Flatten(),
              Dense(18, 2, seed=0)]
    out = x
    for layer in layers:
        out = layer.forward(out)
    dout = np.ones_like(out)
    for layer in layers[::-1]:
        dout = layer.backward(dout)
    assert calls == ["conv_forward", "relu", "max_pool_forward", "dense_forward",
                     "dense_backward", "max_pool_backward", "relu_backward", "conv_backward"]
