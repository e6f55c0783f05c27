"""Widget for chapter 03: choose input size, filter size, stride and padding; see the positions.

:func:`positions_figure` draws one row of the input (padding zeros shaded) and, under it, every
position the filter takes along that row, one bar per position. :func:`output_size_explorer`
puts it behind four sliders, with the formula worked out in the text, or the reason the setting
is impossible (the message of :func:`minicnn.shapes.output_size`).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from minicnn.plotting import _axes
from minicnn.shapes import output_size
from minicnn.widgets._base import CourseWidget

__all__ = ["formula_text", "positions_figure", "output_size_explorer"]


def formula_text(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> str:
    """The output-size formula with the numbers filled in, e.g. ``(10 - 2 + 2*0) / 2 + 1 = 5``.

    Raises
    ------
    ValueError
        When the setting is impossible (see :func:`minicnn.shapes.output_size`).
    """
    n = output_size(input_size, filter_size, stride, padding)
    return (f"W' = ({input_size} - {filter_size} + 2*{padding}) / {stride} + 1 = {n}")


def positions_figure(input_size: int, filter_size: int, stride: int = 1, padding: int = 0,
                     ax=None):
    """Every position of a filter along one row of the input, one bar per position.

    Parameters
    ----------
    input_size, filter_size, stride, padding : int
        W, F, S and P of the formula ``W' = (W - F + 2P) / S + 1``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The top row is the input: ``padding`` shaded zeros on each side of ``input_size`` white
        cells. Below it, bar k covers the cells the filter sees at position k (it starts at cell
        ``k * stride`` of the padded row). The title gives the number of positions.

    Raises
    ------
    ValueError
        When the setting is impossible (the filter would hang over the edge, or is too large).
    """
    n = output_size(input_size, filter_size, stride, padding)
    width = input_size + 2 * padding
    _, ax = _axes(ax, figsize=(max(4.0, 0.42 * width + 1), 0.38 * n + 1.0))
    for c in range(width):
        is_pad = c < padding or c >= padding + input_size
        ax.add_patch(Rectangle((c, 0), 1, 1, fc="0.8" if is_pad else "white", ec="black",
                               hatch="//" if is_pad else None))
        ax.text(c + 0.5, 0.5, "0" if is_pad else str(c - padding), ha="center", va="center",
                fontsize=7, color="0.35" if is_pad else "black")
    colours = plt.get_cmap("tab10")
    for k in range(n):
        y = -(k + 1) * 0.9
        ax.add_patch(Rectangle((k * stride + 0.1, y + 0.15), filter_size - 0.2, 0.6,
                               fc=colours(k % 10), alpha=0.8))
        ax.text(-0.3, y + 0.45, str(k + 1), ha="right", va="center", fontsize=7)
    ax.set_xlim(-1.2, width + 0.2)
    ax.set_ylim(-n * 0.9 - 0.1, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"W={input_size}, F={filter_size}, S={stride}, P={padding}: "
                 f"{n} position{'s' if n != 1 else ''}", fontsize=9)
    return ax.figure


def output_size_explorer(input_size: int = 10, filter_size: int = 2, stride: int = 1,
                         padding: int = 0) -> CourseWidget:
    """Four sliders (W, F, S, P) and the filter's positions along one row, or why none exist.

    Parameters
    ----------
    input_size, filter_size, stride, padding : int
        Starting values (the defaults are the 2 x 2 filter on a 10 x 10 image).

    Returns
    -------
    CourseWidget
        Controls ``input_size`` (1..16), ``filter_size`` (1..7), ``stride`` (1..5) and
        ``padding`` (0..3). The text gives the formula with the numbers and the output shape; an
        impossible setting sets ``.error`` and shows the reason.
    """
    def slider(value: int, low: int, high: int, label: str) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=low, max=high, description=label,
                                 style={"description_width": "initial"})

    controls = {
        "input_size": slider(input_size, 1, 16, "input W"),
        "filter_size": slider(filter_size, 1, 7, "filter F"),
        "stride": slider(stride, 1, 5, "stride S"),
        "padding": slider(padding, 0, 3, "padding P"),
    }

    def draw(input_size: int, filter_size: int, stride: int, padding: int):
        text = formula_text(input_size, filter_size, stride, padding)
        fig = positions_figure(input_size, filter_size, stride, padding)
        n = output_size(input_size, filter_size, stride, padding)
        return fig, (f"{text}; a {input_size} x {input_size} image gives a "
                     f"<b>{n} x {n}</b> feature map per filter")

    return CourseWidget(controls, draw, title="Output size: W' = (W - F + 2P) / S + 1")
