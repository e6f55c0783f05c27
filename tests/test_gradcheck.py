"""The per-layer gradient check points to the layer whose backward pass is wrong."""

import re

import numpy as np
import pytest

from minicnn.gradcheck import check_layers, check_model, relative_error
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, SoftmaxCrossEntropy
from minicnn.network import Sequential

pytestmark = pytest.mark.ch07


class EvenPool(MaxPool2D):
    """Max pooling forward, average pooling's backward: a planted bug."""

    def backward(self, dout):
        return np.repeat(np.repeat(dout, 2, axis=1), 2, axis=2) / 4


class NoOneHotLoss(SoftmaxCrossEntropy):
    """The loss gradient without the one-hot subtracted: a planted bug."""

    def backward(self):
        return self._dlogits + np.eye(self._dlogits.shape[1])[self._labels] / len(self._labels)

    def forward(self, logits, labels):
        self._labels = labels
        return super().forward(logits, labels)


def model(pool=MaxPool2D):
    return Sequential([Conv2D(1, 2, 3, padding=1, seed=0), ReLU(), pool(2, 2),
                       Conv2D(2, 3, 3, padding=1, seed=1), ReLU(), MaxPool2D(2, 2),
                       Flatten(), Dense(2 * 2 * 3, 4, seed=2)])


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, 8, 8, 1)), np.array([1, 3])


def test_a_correct_model_passes_layer_by_layer(data):
    errors = check_layers(model(), *data)
    assert list(errors) == ["0 Conv2D 3x3, 1->2, stride 1, pad 1", "1 ReLU",
                            "2 MaxPool2D 2x2, stride 2", "3 Conv2D 3x3, 2->3, stride 1, pad 1",
                            "4 ReLU", "5 MaxPool2D 2x2, stride 2", "6 Flatten",
                            "7 Dense 12->4", "loss"]
    assert set(errors["0 Conv2D 3x3, 1->2, stride 1, pad 1"]) == {"x", "w", "b"}
    assert max(e for layer in errors.values() for e in layer.values()) < 1e-7


def test_only_the_bugged_layer_stands_out(data):
    bugged = model(pool=EvenPool)
    whole = check_model(bugged, *data)
    # the whole-model check blames layer 0, whose gradient the bug in layer 2 spoils
    assert whole["0.w"] > 1e-2 and whole["3.w"] < 1e-7
    errors = check_layers(bugged, *data)
    worst = {name: max(e.values()) for name, e in errors.items()}
    assert worst.pop("2 EvenPool 2x2, stride 2") > 1e-2  # the label names the class
    assert max(worst.values()) < 1e-7, worst


def test_a_bugged_loss_stands_out(data):
    errors = check_layers(model(), *data, loss=NoOneHotLoss())
    assert errors.pop("loss")["x"] > 1e-2
    assert max(e for layer in errors.values() for e in layer.values()) < 1e-7


@pytest.mark.parametrize("seed", [0, 2])
def test_pooling_after_relu_on_real_images_passes(seed):
    """After a ReLU most pooling inputs are exactly 0 and tie: the nudge separates them."""
    from minicnn.datasets import load_fashion_mnist
    from minicnn.train import small_cnn

    (x, y), _ = load_fashion_mnist()
    errors = check_layers(small_cnn(seed=0), x[:2], y[:2], seed=seed)
    assert max(e for layer in errors.values() for e in layer.values()) < 1e-7, errors


def test_relative_error_refuses_arrays_of_different_shapes():
    """Broadcasting (1, 3) against (2, 3) would compare the wrong entries and report an error
    that means nothing; two zero arrays of different shapes would report 0."""
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(a, a + 1e-6) == pytest.approx(1e-6 * np.sqrt(6) / (2 * np.linalg.norm(a)))
    for b in (a[:1], np.zeros(4), np.zeros((3, 2))):
        expected = rf"same shape, got \(2, 3\) and {re.escape(str(b.shape))}"
        with pytest.raises(ValueError, match=expected):
            relative_error(a, b)
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(3), np.zeros(4))
