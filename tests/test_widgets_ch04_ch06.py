"""Headless tests of the chapter 04-06 widgets and figures: set a control, check what is shown."""

from __future__ import annotations

import numpy as np
import pytest

from minicnn.grade import reference
from minicnn.widgets import activations as wa
from minicnn.widgets import dense as wd
from minicnn.widgets import pooling as wp


def _image_data(fig, panel: int) -> np.ndarray:
    return np.asarray(fig.axes[panel].images[0].get_array())


# ----- chapter 04: activation explorer -------------------------------------------------------

@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return rng.random((20, 24))


@pytest.mark.ch04
def test_edge_feature_map_matches_hand_convolution(photo):
    out = wa.edge_feature_map(photo, "vertical edges")
    k = wa.EDGE_FILTERS["vertical edges"]
    expected = reference.correlate(photo, k)  # the grader's plain loop
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert out.min() < 0 < out.max()


@pytest.mark.ch04
def test_activation_explorer_relu_removes_negatives(photo):
    w = wa.activation_explorer(photo)
    before = _image_data(w.figure, 0)
    after = _image_data(w.figure, 1)  # axes: before, after, curve, then the colorbars
    assert before.min() < 0
    assert after.min() >= 0
    np.testing.assert_allclose(after, np.maximum(before, 0), atol=1e-12)
    assert "after ReLU: 0% negative" in w.text
    assert w.figure.axes[1].get_title() == "after ReLU"


@pytest.mark.ch04
def test_activation_explorer_switches_function_filter_and_bias(photo):
    w = wa.activation_explorer(photo)
    w.controls["activation"].value = "sigmoid"
    after = _image_data(w.figure, 1)
    assert 0 < after.min() and after.max() < 1
    assert w.figure.axes[1].get_title() == "after sigmoid"
    w.controls["activation"].value = "tanh"
    w.controls["filter_name"].value = "horizontal edges"
    w.controls["bias"].value = 0.5
    expected = np.tanh(wa.edge_feature_map(photo, "horizontal edges") + 0.5)
    np.testing.assert_allclose(_image_data(w.figure, 1), expected, rtol=1e-12)
    curve = w.figure.axes[2].lines[0]
    np.testing.assert_allclose(curve.get_ydata(), np.tanh(curve.get_xdata()), rtol=1e-12)
    assert "after tanh" in w.text and w.error is None


@pytest.mark.ch04
def test_activation_explorer_rejects_colour_image():
    with pytest.raises(ValueError, match="grayscale"):
        wa.activation_explorer(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="activation must be one of"):
        wa.activate("softplus", np.zeros(3))


@pytest.mark.ch04
def test_derivatives_match_finite_differences():
    x = np.linspace(-4, 4, 81) + 0.05  # avoid ReLU's kink at 0
    for name, f in wa.ACTIVATIONS.items():
        numeric = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
        np.testing.assert_allclose(wa.DERIVATIVES[name](x), numeric, atol=1e-6)
    fig = wa.plot_activation_curves()
    assert len(fig.axes[1].lines) == 3


# ----- chapter 05: pooling shift widget ------------------------------------------------------

def _pooled(fig) -> np.ndarray:
    return _image_data(fig, 1)


@pytest.mark.ch05
def test_pool_shift_within_window_keeps_output():
    w = wp.pooling_shift_widget(shape=(8, 8), top=2, left=2)
    start = _pooled(w.figure).copy()
    assert start.shape == (4, 4) and start[1, 1] == 9 and start.sum() == 9
    w.controls["row"].value = 3
    w.controls["col"].value = 3
    np.testing.assert_array_equal(_pooled(w.figure), start)
    assert "the same" in w.text


@pytest.mark.ch05
def test_pool_shift_across_windows_changes_output():
    w = wp.pooling_shift_widget(shape=(8, 8), top=2, left=2)
    w.controls["col"].value = 4
    out = _pooled(w.figure)
    assert out[1, 2] == 9 and out[1, 1] == 0
    assert "2 of 16 pooled values differ" in w.text


@pytest.mark.ch05
def test_pool_widget_avg_size_stride_and_errors():
    w = wp.pooling_shift_widget(shape=(8, 8), top=2, left=2)
    w.controls["mode"].value = "avg"
    np.testing.assert_allclose(_pooled(w.figure)[1, 1], 9 / 4)
    w.controls["size"].value = 3
    w.controls["stride"].value = 1
    assert _pooled(w.figure).shape == (6, 6)
    assert "3x3, stride 1" in w.figure.axes[1].get_title()
    w.controls["feature"].value = "blob"
    w.controls["row"].value = 7
    assert w.figure is None and "does not fit" in w.error
    assert w.text.startswith("Not possible")


@pytest.mark.ch05
def test_plot_pooling_matches_package():
    x = np.random.default_rng(0).integers(0, 10, (6, 6)).astype(float)
    fig = wp.plot_pooling(x, "max", 2, 2)
    expected = x.reshape(3, 2, 3, 2).max(axis=(1, 3))
    np.testing.assert_array_equal(_pooled(fig), expected)
    with pytest.raises(ValueError, match="mode must be"):
        wp.pool(x, "min")


# ----- chapter 06: softmax explorer and the dense graph --------------------------------------

@pytest.mark.ch06
def test_softmax_explorer_two_classes():
    w = wd.softmax_explorer(("dog", "cat"), (1.5, -0.8))
    p_dog = 1 / (1 + np.exp(-2.3))
    assert f"{p_dog:.2f} dog" in w.text
    heights = [bar.get_height() for bar in w.figure.axes[1].patches]
    np.testing.assert_allclose(heights, [p_dog, 1 - p_dog], rtol=1e-12)
    assert f"loss = -log {p_dog:.3f} = {-np.log(p_dog):.3f}" in w.text


@pytest.mark.ch06
def test_softmax_explorer_true_class_and_sliders():
    w = wd.softmax_explorer(("dog", "cat", "bird"), (0.0, 0.0, 0.0))
    heights = [bar.get_height() for bar in w.figure.axes[1].patches]
    np.testing.assert_allclose(heights, [1 / 3] * 3, rtol=1e-12)
    w.controls["true_class"].value = "bird"
    w.controls["z2"].value = 3.0
    p = np.exp(3.0) / (2 + np.exp(3.0))
    heights = [bar.get_height() for bar in w.figure.axes[1].patches]
    np.testing.assert_allclose(heights[2], p, rtol=1e-12)
    assert f"true class bird: loss = -log {p:.3f}" in w.text
    assert w.figure.axes[1].patches[2].get_edgecolor()[:3] == (0.0, 0.0, 0.0)


@pytest.mark.ch06
def test_softmax_explorer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="2 to 4 class_names"):
        wd.softmax_explorer(("dog",), (1.0,))
    with pytest.raises(ValueError, match="one starting logit per class"):
        wd.softmax_explorer(("dog", "cat"), (1.0,))


@pytest.mark.ch06
def test_dense_graph_one_line_per_weight():
    weights = np.random.default_rng(0).standard_normal((5, 4))
    fig = wd.draw_dense_graph(weights)
    ax = fig.axes[0]
    assert len(ax.lines) == 20
    labels = {t.get_text() for t in ax.texts}
    assert {"$x_a$", "$x_e$", "$y_a$", "$y_d$"} <= labels
    widths = np.array([line.get_linewidth() for line in ax.lines]).reshape(5, 4)
    assert widths.argmax() == np.abs(weights).argmax()
    with pytest.raises(ValueError, match="weights must have shape"):
        wd.draw_dense_graph(np.zeros(5))
