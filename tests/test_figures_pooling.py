"""minicnn.figures.pooling: where a pooling layer's gradient goes, drawn (chapter 05)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minicnn.figures import pooling as pool_figures  # noqa: E402

pytestmark = pytest.mark.ch05

X = np.array([[1, 6, 0, 2],
              [3, 2, 7, 1],
              [0, 4, 5, 5],
              [8, 1, 3, 9]], dtype=float)


def test_window_maxima_of_the_notebooks_example():
    assert pool_figures.window_maxima(X, 2, 2) == {(0, 0): (0, 1), (0, 1): (1, 2),
                                                   (1, 0): (3, 0), (1, 1): (3, 3)}


def test_window_maxima_credits_the_first_of_tied_maxima_and_shared_ones():
    tie = np.array([[7.0, 2.0], [7.0, 5.0]])
    assert pool_figures.window_maxima(tie, 2, 2) == {(0, 0): (0, 0)}
    x5 = np.zeros((5, 5))
    x5[2, 2] = 9.0  # the maximum of all four overlapping 3 x 3 windows
    assert set(pool_figures.window_maxima(x5, 3, 2).values()) == {(2, 2)}


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_plot_pool_backward_draws_three_panels(mode):
    fig = pool_figures.plot_pool_backward(X, np.array([[1.0, -2.0], [3.0, 0.5]]), mode=mode)
    try:
        assert len(fig.axes) == 3
        shown = [t.get_text() for t in fig.axes[2].texts]
        expected = {"max": ["0", "1", "0", "0"], "avg": ["0.25", "0.25", "-0.5", "-0.5"]}[mode]
        assert shown[:4] == expected
    finally:
        plt.close(fig)


def test_plot_pool_backward_marks_a_position_fed_by_three_windows():
    x5 = np.array([[1, 0, 2, 1, 0], [3, 1, 0, 2, 1], [0, 2, 9, 1, 3], [1, 0, 1, 10, 0],
                   [2, 1, 0, 1, 2]], dtype=float)
    fig = pool_figures.plot_pool_backward(x5, np.array([[1.0, 2.0], [3.0, 4.0]]), 3, 2)
    try:
        texts = [t.get_text() for t in fig.axes[2].texts]
        assert texts.count("x3") == 1 and "6" in texts and "4" in texts
    finally:
        plt.close(fig)


def test_bad_input_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="mode"):
        pool_figures.plot_pool_backward(X, np.ones((2, 2)), mode="min")
    with pytest.raises(ValueError, match="dout"):
        pool_figures.plot_pool_backward(X, np.ones((3, 3)))
    with pytest.raises(ValueError, match="x must be one"):
        pool_figures.window_maxima(np.zeros((4, 4, 2)), 2, 2)
