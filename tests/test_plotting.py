"""The filter pictures: each on its own scale by default, or one shared scale with a bar."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minicnn import plotting  # noqa: E402

pytestmark = pytest.mark.ch07


def _limits(fig):
    return [ax.images[0].get_clim() for ax in fig.axes if ax.images]


def test_show_filters_own_scale_by_default():
    w = np.zeros((2, 3, 3, 1))
    w[0, 0, 0, 0], w[1, 1, 1, 0] = 0.5, -2.0
    fig = plotting.show_filters(w)
    assert _limits(fig) == [(-0.5, 0.5), (-2.0, 2.0)]
    assert len(fig.axes) == 2  # no colour bar
    plt.close(fig)


def test_show_filters_shared_scale_and_colour_bar():
    w = np.zeros((2, 3, 3, 1))
    w[0, 0, 0, 0], w[1, 1, 1, 0] = 0.5, -2.0
    fig = plotting.show_filters(w, shared_scale=True)
    assert _limits(fig)[:2] == [(-2.0, 2.0), (-2.0, 2.0)]
    assert len(fig.axes) == 3  # the two filters and the colour bar
    plt.close(fig)
    fig = plotting.show_filters(w, shared_scale=4.0)
    assert _limits(fig)[:2] == [(-4.0, 4.0), (-4.0, 4.0)]
    plt.close(fig)


def test_compare_filters_one_scale_for_every_row():
    before = np.full((3, 3, 3, 2), 0.1)
    after = before.copy()
    after[1] = -0.7
    fig = plotting.compare_filters({"before": before, "after": after, "change": after - before})
    pictures = [ax for ax in fig.axes if ax.images]
    assert len(pictures) == 9 and len(fig.axes) == 10  # 3 rows of 3 and one colour bar
    np.testing.assert_allclose([ax.images[0].get_clim() for ax in pictures], [(-0.8, 0.8)] * 9)
    assert [pictures[i].get_ylabel() for i in (0, 3, 6)] == ["before", "after", "change"]
    plt.close(fig)
