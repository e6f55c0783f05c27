"""The dense layer's backward pass drawn as products: the numbers shown are the gradients."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minicnn.figures.dense import plot_dense_backward  # noqa: E402

pytestmark = pytest.mark.ch06


def test_the_outlined_entries_are_worked_out_in_words():
    x = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 1.0]])
    w = np.array([[1.0, -1.0], [0.0, 2.0], [-2.0, 1.0]])
    dout = np.array([[1.0, -1.0], [2.0, 0.5]])
    fig = plot_dense_backward(x, w, dout, n=1, d=2, m=1)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    # dW[2, 1] = 0*(-1) + 1*0.5; dX[1, 2] = 2*(-2) + 0.5*1; db[1] = -1 + 0.5
    assert "dW[2, 1] = 0·(-1) + 1·0.5\n= 0.5: one term per sample" in texts
    assert "dX[1, 2] = 2·(-2) + 0.5·1\n= -3.5: one term per output" in texts
    assert any(t.startswith("db[1] = (-1) + 0.5 = -0.5") for t in texts)
    assert {"3 x 2", "2 x 3", "1 x 2"} <= set(texts)
    plt.close(fig)
