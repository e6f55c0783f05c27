"""Headless tests of the chapter 02 and 03 widgets: set a control, check what would be shown."""

from __future__ import annotations

import numpy as np
import pytest

from minicnn import conv, images
from minicnn.widgets import convolution, output_size


def _cell_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


# ---------------------------------------------------------------------------------------------
# Chapter 02: the filter stepper
# ---------------------------------------------------------------------------------------------

@pytest.mark.ch02
def test_stepper_starts_at_the_top_left_with_one_value():
    w = convolution.conv_stepper()
    assert w.error is None
    assert w.controls["step"].max == 63  # 8 x 8 positions of a 3 x 3 filter on 10 x 10
    image_ax, products_ax, map_ax = w.figure.axes[:3]
    assert _cell_texts(map_ax) == ["0"]  # only the first position is filled in
    assert "step 1 of 64" in w.text and "position (0, 0)" in w.text
    rect = image_ax.patches[0]
    assert rect.get_xy() == (-0.5, -0.5) and (rect.get_width(), rect.get_height()) == (3, 3)


@pytest.mark.ch02
def test_stepper_moves_right_then_down_and_fills_the_map():
    x, k = images.diagonal_image(), images.diagonal_filter()
    expected = conv.convolve(x, k)
    w = convolution.conv_stepper()
    w.controls["step"].value = 10  # row 1, column 2
    image_ax, products_ax, map_ax = w.figure.axes[:3]
    assert image_ax.patches[0].get_xy() == (2 - 0.5, 1 - 0.5)
    assert map_ax.patches[0].get_xy() == (2 - 0.5, 1 - 0.5)
    assert len(map_ax.texts) == 11
    shown = map_ax.images[0].get_array()
    np.testing.assert_allclose(np.ma.filled(shown, np.nan).ravel()[:11],
                               expected.ravel()[:11], atol=0)
    assert np.all(np.isnan(np.ma.filled(shown, np.nan).ravel()[11:]))
    patch = x[1:4, 2:5]
    np.testing.assert_allclose(products_ax.images[0].get_array(), patch * k, atol=0)
    assert f"<b>{expected[1, 2]:g}</b>" in w.text


@pytest.mark.ch02
def test_stepper_finds_the_diagonal_value_three():
    w = convolution.conv_stepper()
    expected = conv.convolve(images.diagonal_image(), images.diagonal_filter())
    i, j = np.argwhere(expected == 3)[0]
    w.controls["step"].value = int(i * 8 + j)
    assert w.text.endswith("= <b>3</b>")


@pytest.mark.ch02
def test_stepper_stride_and_padding_change_the_positions():
    w = convolution.conv_stepper()
    w.controls["stride"].value = 2  # (10 - 3) / 2 is not whole
    assert w.figure is None and "does not tile" in w.error
    assert w.text.startswith("Not possible:")
    w.controls["padding"].value = 1
    w.controls["stride"].value = 3  # (10 - 3 + 2) / 3 + 1 = 4
    assert w.error is None
    assert w.controls["step"].max == 15
    w.controls["step"].value = 5  # row 1, column 1 -> the patch starts at (3, 3) of the padded
    image_ax = w.figure.axes[0]
    assert image_ax.images[0].get_array().shape == (12, 12)
    assert image_ax.patches[0].get_xy() == (3 - 0.5, 3 - 0.5)
    assert "feature map 4 x 4" in w.figure.axes[2].get_title()


@pytest.mark.ch02
def test_stepper_clamps_a_step_past_the_end():
    w = convolution.conv_stepper()
    w.controls["step"].value = 63
    w.controls["padding"].value = 1
    w.controls["stride"].value = 3
    assert w.controls["step"].value == 15
    assert "step 16 of 16" in w.text


@pytest.mark.ch02
def test_stepper_rejects_a_colour_image():
    with pytest.raises(ValueError, match="image must be 2-D"):
        convolution.conv_stepper(np.zeros((5, 5, 3)))


@pytest.mark.ch02
def test_filter_chooser_shows_each_filters_feature_map():
    rng = np.random.default_rng(0)
    x = rng.random((12, 9))
    w = convolution.filter_chooser(x)
    for name, kernel in convolution.FILTERS.items():
        w.controls["name"].value = name
        shown = w.figure.axes[2].images[0].get_array()
        np.testing.assert_allclose(shown, conv.convolve(x, kernel, padding=1), rtol=1e-12)
        assert w.figure.axes[1].get_title() == name
        assert w.text.startswith(f"{name}: feature map 12 x 9")


@pytest.mark.ch02
def test_vertical_edge_filter_lights_up_a_vertical_edge():
    x = np.zeros((6, 8))
    x[:, 4:] = 1.0  # dark left half, bright right half
    _, out = convolution.filter_figure(x, convolution.FILTERS["vertical edge (dark to bright)"])
    assert set(np.argmax(out[1:-1], axis=1)) <= {3, 4}
    np.testing.assert_allclose(out[1:-1, 3], 3.0)


# ---------------------------------------------------------------------------------------------
# Chapter 03: the output-size explorer
# ---------------------------------------------------------------------------------------------

@pytest.mark.ch03
def test_explorer_starts_with_the_posts_example():
    w = output_size.output_size_explorer()
    assert w.error is None
    assert "= 9" in w.text and "9 x 9" in w.text
    ax = w.figure.axes[0]
    bars = ax.patches[10:]  # after the 10 input cells
    assert len(bars) == 9
    assert "9 positions" in ax.get_title()


@pytest.mark.ch03
def test_explorer_stride_two_gives_five_positions_starting_every_second_cell():
    w = output_size.output_size_explorer()
    w.controls["stride"].value = 2
    assert "(10 - 2 + 2*0) / 2 + 1 = 5" in w.text
    bars = w.figure.axes[0].patches[10:]
    np.testing.assert_allclose([b.get_x() for b in bars], np.arange(5) * 2 + 0.1)


@pytest.mark.ch03
def test_explorer_shows_padding_cells_and_reports_impossible_settings():
    w = output_size.output_size_explorer()
    w.controls["filter_size"].value = 3
    w.controls["stride"].value = 2
    assert w.figure is None
    assert "does not tile" in w.error and "3.5" in w.error
    w.controls["padding"].value = 1  # (10 - 3 + 2) / 2 = 4.5: still impossible
    assert "4.5" in w.error
    w.controls["stride"].value = 3  # (10 - 3 + 2) / 3 + 1 = 4
    assert w.error is None and "= 4" in w.text
    cells = w.figure.axes[0].patches[:12]
    shaded = [c.get_hatch() == "//" for c in cells]
    assert shaded == [True] + [False] * 10 + [True]


@pytest.mark.ch03
def test_explorer_filter_larger_than_input():
    w = output_size.output_size_explorer(input_size=3, filter_size=5)
    assert "larger than the padded input" in w.error
    w.controls["padding"].value = 1
    assert w.error is None and "= 1" in w.text


@pytest.mark.ch03
@pytest.mark.parametrize("size, filt, stride, pad, n",
                         [(10, 2, 1, 0, 9), (10, 2, 2, 0, 5), (5, 3, 2, 1, 3), (7, 3, 1, 1, 7)])
def test_positions_figure_draws_one_bar_per_position(size, filt, stride, pad, n):
    fig = output_size.positions_figure(size, filt, stride, pad)
    ax = fig.axes[0]
    assert len(ax.patches) == size + 2 * pad + n
    assert output_size.formula_text(size, filt, stride, pad).endswith(f"= {n}")
