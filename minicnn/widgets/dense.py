"""Chapter 06 figures and widget: the fully connected layer and softmax.

- :func:`draw_dense_graph` draws a fully connected layer as a graph: inputs x_a, x_b, ...
  on the left, outputs y_a, y_b, ... on the right, one line (one weight) per connection.
- :func:`plot_probabilities` shows scores (logits) and the probabilities softmax makes of them.
- :func:`softmax_explorer` is the widget: a slider per class score, a choice of the true class,
  and the resulting probabilities and cross-entropy loss.
"""

from __future__ import annotations

import string

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn.losses import softmax
from minicnn.plotting import _axes
from minicnn.widgets._base import CourseWidget

__all__ = ["draw_dense_graph", "plot_probabilities", "softmax_explorer"]


def draw_dense_graph(weights: np.ndarray, ax=None, show_values: bool = True):
    """A fully connected layer as a graph, one line per weight.

    Parameters
    ----------
    weights : ndarray, shape (D, M)
        ``weights[i, j]`` connects input i to output j (the layout of ``Dense.params["w"]``).
        Line width grows with ``|weight|``; red is positive, blue negative.
    show_values : bool
        Write each weight on its line (readable up to about 6 x 5).

    Returns
    -------
    matplotlib.figure.Figure
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or max(weights.shape) > 26:
        raise ValueError(f"weights must have shape (D, M) with D, M <= 26, got {weights.shape}")
    d, m = weights.shape
    fig, ax = _axes(ax, figsize=(6, 0.9 * max(d, m) + 0.6))
    y_in = np.linspace(0, 1, d)[::-1]
    y_out = np.linspace(0.1, 0.9, m)[::-1] if m > 1 else np.array([0.5])
    scale = float(np.abs(weights).max()) or 1.0
    for i in range(d):
        for j in range(m):
            wij = weights[i, j]
            ax.plot([0, 1], [y_in[i], y_out[j]], color="C3" if wij > 0 else "C0",
                    lw=0.5 + 2.5 * abs(wij) / scale, alpha=0.75, zorder=1)
            if show_values:
                t = 0.22 + 0.56 * (j + 0.5) / m  # spread labels along the lines
                ax.text(t, y_in[i] + t * (y_out[j] - y_in[i]), f"{wij:.1f}", fontsize=6,
                        ha="center", va="center", zorder=3,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"})
    letters = string.ascii_lowercase
    for i in range(d):
        ax.scatter(0, y_in[i], s=700, color="lightgray", ec="k", zorder=2)
        ax.text(0, y_in[i], f"$x_{letters[i]}$", ha="center", va="center", zorder=4)
    for j in range(m):
        ax.scatter(1, y_out[j], s=700, color="wheat", ec="k", zorder=2)
        ax.text(1, y_out[j], f"$y_{letters[j]}$", ha="center", va="center", zorder=4)
    ax.set(xlim=(-0.15, 1.15), ylim=(-0.1, 1.1), xticks=[], yticks=[],
           title=f"fully connected: {d} inputs x {m} outputs = {d * m} weights")
    for side in ax.spines.values():
        side.set_visible(False)
    return fig


def plot_probabilities(logits, class_names, true_class: int | None = None):
    """Scores (left) and their softmax probabilities (right) as bar charts.

    The true class, if given, is outlined in black and its probability written on the title.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or len(logits) != len(class_names):
        raise ValueError(f"logits must be a 1-D array with one score per class "
                         f"({len(class_names)}), got shape {logits.shape}")
    probs = softmax(logits)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 2.8))
    pos = np.arange(len(logits))
    edges = ["k" if k == true_class else "none" for k in pos]
    ax1.bar(pos, logits, color="C7", edgecolor=edges, lw=2)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set(xticks=pos, xticklabels=class_names, title="scores (logits)")
    ax2.bar(pos, probs, color="C1", edgecolor=edges, lw=2)
    for k, p in enumerate(probs):
        ax2.text(k, p + 0.02, f"{p:.2f}", ha="center", fontsize=9)
    title = "softmax probabilities"
    if true_class is not None:
        title += f"; loss = -log {probs[true_class]:.2f} = {-np.log(probs[true_class]):.3f}"
    ax2.set(xticks=pos, xticklabels=class_names, ylim=(0, 1.12), title=title)
    fig.tight_layout()
    return fig


def softmax_explorer(class_names=("dog", "cat"), logits=(1.5, -0.8)) -> CourseWidget:
    """A widget: one slider per class score, a true class; see probabilities and the loss.

    Parameters
    ----------
    class_names : sequence of 2 to 4 str
    logits : sequence of float
        Starting scores, one per class, each between -5 and 5.
    """
    class_names = tuple(class_names)
    if not 2 <= len(class_names) <= 4 or len(logits) != len(class_names):
        raise ValueError(f"give 2 to 4 class_names and one starting logit per class, got "
                         f"{len(class_names)} names and {len(logits)} logits")

    def draw(true_class, **scores):
        z = np.array([scores[f"z{k}"] for k in range(len(class_names))])
        k = class_names.index(true_class)
        probs = softmax(z)
        shares = ", ".join(f"{p:.2f} {name}" for p, name in zip(probs, class_names, strict=True))
        text = (f"probabilities: {shares} (sum {probs.sum():.2f}); true class "
                f"{true_class}: loss = -log {probs[k]:.3f} = {-np.log(probs[k]):.3f}")
        return plot_probabilities(z, class_names, k), text

    controls = {"true_class": widgets.Dropdown(options=list(class_names), value=class_names[0],
                                               description="true class")}
    for k, (name, z) in enumerate(zip(class_names, logits, strict=True)):
        controls[f"z{k}"] = widgets.FloatSlider(value=float(z), min=-5.0, max=5.0, step=0.1,
                                                description=f"score {name}")
    return CourseWidget(controls, draw, "Softmax explorer: scores to probabilities to loss")
