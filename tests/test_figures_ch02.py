"""Chapter 02's explanatory figures and the two helpers the notebook writes its formulas with."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minicnn import conv, gradcheck, images
from minicnn.figures import backprop
from minicnn.figures import convolution as cf

pytestmark = pytest.mark.ch02


def test_slide_1d_by_hand():
    # out[i] = sum_k x[i + k] w[k]: [1*2 + 2*-1 + -1*1, 2*2 + -1*-1 + 0*1, -1*2 + 0*-1 + 3*1]
    assert cf.slide_1d([1, 2, -1, 0, 3], [2, -1, 1]).tolist() == [-1, 5, 1]
    with pytest.raises(ValueError, match="len"):
        cf.slide_1d([1, 2], [1, 2, 3])


def test_spread_out_puts_stride_minus_one_zeros_between():
    assert cf.spread_out([1, 2, 3], 3).tolist() == [1, 0, 0, 2, 0, 0, 3]
    spread = cf.spread_out([[1, 2], [3, 4]], 2)
    assert spread.tolist() == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]


def test_the_backward_formulas_of_notebook_02_match_conv_backward():
    """db = sum of dout, dw = padded x correlated with spread dout, dx = full convolution of
    spread dout with the rotated filter, cropped (stride 2, padding 1)."""
    r = np.random.default_rng(5)
    x, w, dout = r.normal(size=(5, 5)), r.normal(size=(3, 3)), r.normal(size=(3, 3))
    _, cache = conv.conv_forward(x[None, :, :, None], w[None, :, :, None], np.zeros(1), 2, 1)
    dx, dw, db = conv.conv_backward(dout[None, :, :, None], cache)
    spread = cf.spread_out(dout, 2)
    np.testing.assert_allclose(dx[0, :, :, 0],
                               conv.convolve(spread, w[::-1, ::-1], padding=2)[1:6, 1:6])
    np.testing.assert_allclose(dw[0, :, :, 0], conv.convolve(np.pad(x, 1), spread))
    np.testing.assert_allclose(db, [dout.sum()])


def test_neuron_gradients_by_hand_and_numerically():
    values, local, grads = backprop.neuron_values(2.0, -1.0, 0.5, 1.5, 0.25, 1.0)
    assert values["z"] == -0.25 and values["L"] == 1.5625
    assert local[("w1", "p1")] == 2.0 and local[("e", "L")] == -2.5
    assert (grads["w1"], grads["w2"], grads["b"], grads["x1"]) == (-5.0, 2.5, -2.5, -1.25)
    p = np.array([0.5, 1.5, 0.25])
    numeric = gradcheck.numerical_gradient(lambda: (p[0] * 2 - p[1] + p[2] - 1) ** 2, p)
    assert gradcheck.relative_error(numeric, [grads["w1"], grads["w2"], grads["b"]]) < 1e-8


def test_figures_draw_and_count():
    fig, counts = cf.dense_vs_conv(28, 28, 3, 8)
    assert counts == {"dense": 784 * 26 * 26 * 8 + 26 * 26 * 8, "conv": 8 * 10}
    plt.close(fig)
    fig = cf.touched_outputs(5, 3, (1, 2), stride=2, padding=1)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "w[2,1]" in texts and "w[0,1]" in texts and "output 3 x 3: 2 positions read it" in texts
    plt.close(fig)
    fig = cf.patch_matrix(images.diagonal_image(), images.diagonal_filter())
    assert fig.axes[1].get_title().startswith("patch matrix 64 x 9")
    plt.close(fig)
    values, local, grads = backprop.neuron_values(2.0, -1.0, 0.5, 1.5, 0.25, 1.0)
    fig = backprop.neuron_graph(values, local, grads)
    assert "dL/dw1 = -5" in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)
