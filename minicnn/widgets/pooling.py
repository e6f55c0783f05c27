"""Chapter 05 figures and widget: pooling windows, and what a small shift does to the output.

- :func:`feature_canvas` puts a small feature (a single peak, or a blob) on a blank map.
- :func:`pool` applies max or average pooling by name.
- :func:`plot_pooling` draws the input with its pooling windows outlined and the pooled output,
  both with their numbers written in.
- :func:`pooling_shift_widget` moves the feature with sliders and compares the pooled output
  with the one at the starting position.

Arrays here are single 2-D maps (H, W): pooling treats every channel the same way.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn import pooling
from minicnn.images import place
from minicnn.plotting import show_values
from minicnn.shapes import pool_output_shape
from minicnn.widgets._base import CourseWidget

__all__ = ["FEATURES", "feature_canvas", "pool", "plot_pooling", "pooling_shift_widget"]

#: Small patterns to move around: a single strong response, and a blob with a peak.
FEATURES = {
    "peak": np.array([[9.0]]),
    "blob": np.array([[1.0, 3.0, 1.0], [3.0, 9.0, 3.0], [1.0, 3.0, 1.0]]),
}


def feature_canvas(top: int, left: int, shape: tuple[int, int] = (8, 8),
                   feature: str = "peak") -> np.ndarray:
    """A blank (H, W) map with one of ``FEATURES`` pasted, its top-left corner at (top, left)."""
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {', '.join(map(repr, FEATURES))}, "
                         f"got {feature!r}")
    return place(FEATURES[feature], tuple(shape), top, left)


def pool(x: np.ndarray, mode: str = "max", size: int = 2, stride: int = 2) -> np.ndarray:
    """Max (``mode="max"``) or average (``mode="avg"``) pooling of an (H, W) or (H, W, C) array."""
    if mode == "max":
        return pooling.max_pool(x, size, stride)
    if mode == "avg":
        return pooling.avg_pool(x, size, stride)
    raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")


def plot_pooling(x: np.ndarray, mode: str = "max", size: int = 2, stride: int = 2,
                 title: str | None = None):
    """The input (H, W) with each pooling window outlined, and the pooled output beside it.

    Windows are drawn in alternating colours so overlapping ones (stride < size) stay visible;
    when there are many, only the first row's and first column's are drawn.
    Returns the figure.
    """
    x = np.asarray(x, dtype=np.float64)
    out = pool(x, mode, size, stride)
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(0.45 * (x.shape[1] + out.shape[1]) + 2.5, 0.45 * x.shape[0] + 1.2),
        gridspec_kw={"width_ratios": [x.shape[1], max(out.shape[1], 2)]})
    show_values(x, ax=ax1, title="input", fmt="{:g}")
    colours = ["red", "orange", "green", "purple"]
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            if out.size > 16 and i and j:
                continue
            colour = colours[(i % 2) * 2 + j % 2]
            ax1.add_patch(plt.Rectangle((j * stride - 0.5 + 0.05, i * stride - 0.5 + 0.05),
                                        size - 0.1, size - 0.1, fill=False, ec=colour, lw=1.5))
    show_values(out, ax=ax2, title=f"{mode} pool {size}x{size}, stride {stride}",
                fmt="{:.3g}", cmap="Oranges")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def pooling_shift_widget(shape: tuple[int, int] = (8, 8), top: int = 2,
                         left: int = 2) -> CourseWidget:
    """A widget: move a feature with two sliders and watch the pooled output.

    The text says whether the pooled output equals the one with the feature at its starting
    place (``top``, ``left``) for the same pooling settings, and how many values differ.
    """
    h, w = shape

    def draw(feature, row, col, mode, size, stride):
        pool_output_shape((h, w), size, stride)  # a clear error for a window larger than the map
        fh, fw = FEATURES[feature].shape
        if row > h - fh or col > w - fw:
            raise ValueError(f"the {fh} x {fw} {feature} does not fit at row {row}, column "
                             f"{col}: move it to row <= {h - fh} and column <= {w - fw}")
        x = feature_canvas(row, col, shape, feature)
        out = pool(x, mode, size, stride)
        start = pool(feature_canvas(top, left, shape, feature), mode, size, stride)
        changed = int(np.sum(~np.isclose(out, start)))
        if changed == 0:
            text = (f"feature at ({row}, {col}): the pooled output is the same as with "
                    f"the feature at ({top}, {left})")
        else:
            text = (f"feature at ({row}, {col}): {changed} of {out.size} pooled values "
                    f"differ from those with the feature at ({top}, {left})")
        return plot_pooling(x, mode, size, stride), text

    controls = {
        "feature": widgets.Dropdown(options=list(FEATURES), value="peak", description="feature"),
        "row": widgets.IntSlider(value=top, min=0, max=h - 1, description="row"),
        "col": widgets.IntSlider(value=left, min=0, max=w - 1, description="column"),
        "mode": widgets.Dropdown(options=["max", "avg"], value="max", description="pooling"),
        "size": widgets.IntSlider(value=2, min=2, max=4, description="size"),
        "stride": widgets.IntSlider(value=2, min=1, max=4, description="stride"),
    }
    return CourseWidget(controls, draw, "Pooling: move the feature, watch the pooled output")
