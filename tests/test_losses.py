"""Chapter 06: softmax and cross-entropy."""

import numpy as np
import pytest

from minicnn import losses
from minicnn.gradcheck import numerical_gradient, relative_error

pytestmark = pytest.mark.ch06


def test_softmax_hand_computed():
    p = losses.softmax(np.array([[np.log(92.0), np.log(8.0)]]))
    np.testing.assert_allclose(p, [[0.92, 0.08]])
    np.testing.assert_allclose(losses.softmax(np.zeros((2, 4))), np.full((2, 4), 0.25))


def test_softmax_is_stable_and_per_row():
    p = losses.softmax(np.array([[1000.0, 1001.0], [-1000.0, -1000.0]]))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), [1, 1])
    np.testing.assert_allclose(p[0], [1 / (1 + np.e), np.e / (1 + np.e)])


def test_cross_entropy_87_percent_dog():
    probs = np.array([[0.87, 0.13]])
    assert losses.cross_entropy(probs, np.array([0])) == pytest.approx(-np.log(0.87))


def test_mean_not_sum():
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    expected = -(np.log(0.5) + np.log(0.75)) / 2
    assert losses.cross_entropy(probs, [1, 1]) == pytest.approx(expected)


def test_combined_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    loss, d = losses.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(losses.cross_entropy(losses.softmax(logits), labels))
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(d, (losses.softmax(logits) - onehot) / 5)
    numeric = numerical_gradient(lambda: losses.softmax_cross_entropy(logits, labels)[0], logits)
    assert relative_error(d, numeric) < 1e-8


def test_label_errors():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\].*got 4 at index 1"):
        losses.softmax_cross_entropy(logits, [0, 4, 1])
    with pytest.raises(ValueError, match=r"got -1"):
        losses.softmax_cross_entropy(logits, [0, -1, 1])
    with pytest.raises(ValueError, match=r"shape \(3,\).*one-hot"):
        losses.softmax_cross_entropy(logits, np.eye(4)[:3])
    with pytest.raises(ValueError, match="whole class indices"):
        losses.softmax_cross_entropy(logits, [0.5, 1, 2])


def test_the_gradient_alone_is_softmax_minus_one_hot_over_n():
    logits = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]])
    labels = np.array([0, 2])
    expected = losses.softmax(logits)
    expected[[0, 1], labels] -= 1
    np.testing.assert_allclose(losses.softmax_cross_entropy_grad(logits, labels), expected / 2)
    loss, dlogits = losses.softmax_cross_entropy(logits, labels)
    np.testing.assert_array_equal(losses.softmax_cross_entropy_grad(logits, labels), dlogits)
    assert loss == pytest.approx(losses.cross_entropy(losses.softmax(logits), labels))
