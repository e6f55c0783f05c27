"""Chapter 09: the shipped trained network and the tools that look inside it."""

import numpy as np
import pytest

from minicnn import pretrained
from minicnn.datasets import load_fashion_mnist
from minicnn.layers import Dense, Flatten
from minicnn.network import Sequential
from minicnn.train import evaluate

pytestmark = pytest.mark.ch09


def test_shipped_weights_are_small_and_match_the_architecture():
    path = pretrained.weights_path("fashion_cnn")
    assert path.is_file() and path.stat().st_size < 200_000
    model = pretrained.load_pretrained()
    fresh = pretrained.fashion_cnn()
    assert model.summary((28, 28, 1)) == fresh.summary((28, 28, 1))
    for key, p in fresh.state().items():
        assert model.state()[key].shape == p.shape
        assert not np.array_equal(model.state()[key], p) or key.endswith(".b")  # trained


def test_shipped_network_classifies_real_test_images():
    (_, _), (x_test, y_test) = load_fashion_mnist()  # drawn from the official test split
    _, acc = evaluate(pretrained.load_pretrained(), x_test, y_test)
    assert acc > 0.87  # 89.7 % on the full 10000 test images when it was trained


def test_unknown_model_name():
    with pytest.raises(ValueError, match="fashion_cnn"):
        pretrained.load_pretrained("resnet")


def one_pixel_model(row: int, col: int) -> Sequential:
    """Two classes; class 0's score is 5 times pixel (row, col), class 1's is constant."""
    dense = Dense(28 * 28, 2, seed=0, dtype=np.float64)
    dense.params["w"][:] = 0.0
    dense.params["w"][row * 28 + col, 0] = 5.0
    return Sequential([Flatten(), dense])


def test_occlusion_map_finds_the_only_pixel_that_matters():
    image = np.zeros((28, 28, 1))
    image[10, 13] = 1.0
    heat = pretrained.occlusion_map(one_pixel_model(10, 13), image, label=0, patch=4, stride=2)
    assert heat.shape == (28, 28)
    drop = 1 / (1 + np.exp(-5.0)) - 0.5  # p(class 0) falls from sigmoid(5) to 1/2
    # 4 x 4 patches at rows 8 or 10 and columns 10 or 12 cover (10, 13): every patch that covers
    # that pixel hides it, so its mean drop is the full drop; nothing outside those patches moves
    assert heat[10, 13] == pytest.approx(drop, rel=1e-6)
    assert heat.max() == pytest.approx(drop, rel=1e-6) and heat.min() == 0
    assert 0 < heat[8, 10] < drop  # covered by one patch that hides the pixel, and others
    outside = np.ones((28, 28), bool)
    outside[8:14, 10:16] = False
    assert np.all(heat[outside] == 0)
    score = pretrained.occlusion_map(one_pixel_model(10, 13), image, 0, 4, 2, measure="score")
    np.testing.assert_allclose(score, heat / drop * 5.0, rtol=1e-6)  # the logit falls by 5
    with pytest.raises(ValueError, match="measure must be"):
        pretrained.occlusion_map(one_pixel_model(0, 0), image, 0, measure="loss")
    with pytest.raises(ValueError, match="patch=40"):
        pretrained.occlusion_map(one_pixel_model(0, 0), image, 0, patch=40)


def test_occlude_and_average_drops_by_hand():
    """The notebook's 4 x 4 example: patch 2, stride 2 gives four copies, one per quarter."""
    image = np.arange(1.0, 17.0).reshape(4, 4, 1)
    copies = pretrained.occlude(image, patch=2, stride=2, fill=-1.0)
    assert copies.shape == (4, 4, 4, 1)
    np.testing.assert_array_equal(copies[1, :, :, 0], [[1, 2, -1, -1], [5, 6, -1, -1],
                                                       [9, 10, 11, 12], [13, 14, 15, 16]])
    assert np.count_nonzero(copies == -1) == 16 and image.min() == 1  # image unchanged
    heat = pretrained.average_drops(np.array([0.5, 0.0, 0.25, 1.0]), 4, 4, patch=2, stride=2)
    np.testing.assert_array_equal(heat, [[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0],
                                         [0.25, 0.25, 1, 1], [0.25, 0.25, 1, 1]])
    # 3 x 3, patch 2, stride 1: the centre is under all four patches, a corner under one
    heat = pretrained.average_drops(np.array([0.2, 0.0, 0.4, 0.6]), 3, 3, patch=2, stride=1)
    assert heat[1, 1] == pytest.approx(0.3) and heat[0, 0] == pytest.approx(0.2)
    assert heat[0, 1] == pytest.approx(0.1) and heat[2, 2] == pytest.approx(0.6)
    # 5 x 5, patch 2, stride 2: the last row and column are never covered
    heat = pretrained.average_drops(np.ones(4), 5, 5, patch=2, stride=2)
    assert np.all(heat[4] == 0) and np.all(heat[:, 4] == 0) and heat[:4, :4].min() == 1
    with pytest.raises(ValueError, match="drops must hold one value per patch position, 2"):
        pretrained.average_drops(np.arange(6.0), 4, 6, patch=3, stride=2)


def test_saliency_of_a_linear_model_is_its_weights():
    rng = np.random.default_rng(0)
    dense = Dense(28 * 28, 3, seed=0, dtype=np.float64)
    model = Sequential([Flatten(), dense])
    image = rng.random((28, 28))
    sal = pretrained.saliency_map(model, image, label=2)
    np.testing.assert_allclose(sal, np.abs(dense.params["w"][:, 2]).reshape(28, 28), rtol=1e-6)
    with pytest.raises(ValueError, match="label must be a class number 0..2"):
        pretrained.saliency_map(model, image, label=3)


def test_layer_outputs_follow_the_summary():
    model = pretrained.fashion_cnn()
    image = np.random.default_rng(0).random((28, 28, 1)).astype(np.float32)
    outs = pretrained.layer_outputs(model, image)
    assert [o.shape for o in outs] == [(28, 28, 16), (28, 28, 16), (14, 14, 16), (14, 14, 32),
                                       (14, 14, 32), (7, 7, 32), (1568,), (10,)]
    np.testing.assert_allclose(outs[-1], model.forward(image[np.newaxis])[0], rtol=1e-6)
    assert outs[1].min() >= 0  # after ReLU
