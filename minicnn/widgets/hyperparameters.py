"""Chapter 08: explore the results of small experiments, and build networks interactively.

The experiments themselves (:func:`build_stack`, :func:`run_trial`, :func:`run_seeds`,
:func:`seeds_table`, ...) live in :mod:`minicnn.experiments` and are importable from here too.

- :func:`plot_results` shows settings run over several seeds (every run and their mean);
  :func:`plot_lr_curves` the loss curves of single runs; :func:`plot_shapes` how big each
  layer's output is.
- Widgets: :func:`architecture_builder` (choose the order and sizes, see ``summary()`` or the
  error) and :func:`learning_rate_explorer` (pick a learning rate among trained runs).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn.experiments import (
    ORDERS,
    TOKENS,
    build_stack,
    difference,
    multiply_adds,
    parse_order,
    relabel,
    results_table,
    run_seeds,
    run_trial,
    seeds_table,
    spread,
)
from minicnn.network import Sequential
from minicnn.plotting import _axes
from minicnn.widgets._base import CourseWidget

__all__ = ["TOKENS", "ORDERS", "parse_order", "build_stack", "multiply_adds", "run_trial",
           "run_seeds", "relabel", "difference", "spread", "results_table", "seeds_table",
           "plot_results", "plot_lr_curves", "plot_shapes", "architecture_builder",
           "learning_rate_explorer"]


def plot_results(groups: list[dict], title: str | None = None, baseline: str | None = None):
    """Validation accuracy of settings run over several seeds (:func:`run_seeds`): one dot per
    run, a bar from the lowest to the highest, a tick at the mean; the ``baseline``'s mean +-
    one standard deviation is shaded across the plot. Diverged runs are left out (and said)."""
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(groups) + 1.3))
    base = next((g for g in groups if g["name"] == baseline and g["val"]), None)
    if base is not None:
        v = base["val"]
        ax.axvspan(v["mean"] - v["std"], v["mean"] + v["std"], color="tab:orange", alpha=0.15,
                   label=f"baseline mean +- sd ({100 * v['std']:.1f} points)")
    for k, g in enumerate(groups):
        color = "tab:orange" if g["name"] == baseline else "tab:blue"
        accs = [r["val_accuracy"] for r in g["runs"] if not r["diverged"]]
        if accs:
            ax.plot([min(accs), max(accs)], [k, k], color=color, lw=3, alpha=0.35)
            ax.plot(accs, [k] * len(accs), "o", color=color, ms=4)
            ax.plot([g["val"]["mean"]] * 2, [k - 0.3, k + 0.3], color="black", lw=1.5)
            ax.text(max(accs) + 0.005, k, f"{100 * g['val']['mean']:.1f}", va="center",
                    fontsize=7)
        if g["diverged"]:
            ax.text(max(accs, default=0.1) + 0.04, k, f"{g['diverged']} diverged",
                    va="center", fontsize=7, color="tab:red")
    ax.set_yticks(range(len(groups)), [g["name"] for g in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"validation accuracy (dots: the {len(groups[0]['runs'])} seeds; "
                  "black tick: their mean)")
    ax.grid(axis="x", alpha=0.3)
    if base is not None:
        ax.legend(fontsize=7, loc="lower left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_lr_curves(results: list[dict], highlight: str | None = None, ax=None):
    """Training loss per epoch of each trial; ``highlight`` (a name) drawn bold, others faint."""
    fig, ax = _axes(ax, figsize=(6.5, 3.4))
    for r in results:
        loss = r["history"]["loss"]
        epochs = np.arange(1, len(loss) + 1)
        strong = highlight is None or r["name"] == highlight
        label = r["name"] + (" (diverged)" if r["diverged"] else "")
        ax.plot(epochs, loss, "o-", lw=2.5 if strong else 1, alpha=1 if strong else 0.3,
                label=label, ms=4)
    longest = max((len(r["history"]["loss"]) for r in results), default=1)
    ax.set_xticks(np.arange(1, longest + 1))
    ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_shapes(model: Sequential, input_shape: tuple[int, ...]):
    """How many numbers describe one image after each layer (log scale), labelled with shapes.

    The title gives the parameter count and the multiply-adds of one forward pass.
    """
    shapes, shape = [tuple(input_shape)], tuple(input_shape)
    for layer in model.layers:
        shape = tuple(layer.output_shape(shape))
        shapes.append(shape)
    names = ["input"] + [type(layer).__name__ for layer in model.layers]
    sizes = [int(np.prod(s)) for s in shapes]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ax.bar(range(len(sizes)), sizes, color=["0.5"] + ["tab:blue"] * (len(sizes) - 1))
    ax.set_yscale("log")
    ax.set_xticks(range(len(sizes)), names, rotation=35, ha="right", fontsize=8)
    for k, (s, n) in enumerate(zip(shapes, sizes, strict=True)):
        ax.text(k, n * 1.15, "x".join(map(str, s)), ha="center", fontsize=7)
    ax.set_ylabel("numbers per image")
    ax.set_ylim(1, max(sizes) * 6)
    ax.set_title(f"{model.n_params:,} parameters, "
                 f"{multiply_adds(model, input_shape):,} multiply-adds per image")
    fig.tight_layout()
    return fig


def architecture_builder(input_shape: tuple[int, int, int] = (28, 28, 1)) -> CourseWidget:
    """Choose a layer order and sizes; see ``summary()`` and a picture of the shapes, or why
    the choice does not fit.

    Controls: ``order`` (one of :data:`ORDERS`), ``filters``, ``kernel_size``, ``stride``,
    ``padding`` (for every conv) and ``pool_size``.
    """
    def draw(order, filters, kernel_size, stride, padding, pool_size):
        model = build_stack(order, input_shape, filters, kernel_size, stride, padding,
                            pool_size)
        return plot_shapes(model, input_shape), f"<pre>{model.summary(input_shape)}</pre>"

    controls = {
        "order": widgets.Dropdown(options=list(ORDERS), value=ORDERS[2], description="order",
                                  layout=widgets.Layout(width="420px")),
        "filters": widgets.Dropdown(options=[2, 4, 8, 16, 32], value=8, description="filters"),
        "kernel_size": widgets.Dropdown(options=[1, 2, 3, 4, 5, 7], value=3,
                                        description="kernel"),
        "stride": widgets.IntSlider(value=1, min=1, max=3, description="stride"),
        "padding": widgets.IntSlider(value=1, min=0, max=3, description="padding"),
        "pool_size": widgets.Dropdown(options=[2, 3, 4], value=2, description="pool"),
    }
    return CourseWidget(controls, draw, "Build a network: does it fit, and how big is it?")


def learning_rate_explorer(results: list[dict]) -> CourseWidget:
    """Pick one of several trained runs (e.g. one per learning rate) and compare its loss curve
    with the others'. Control: ``name`` (the runs' names)."""
    if not results:
        raise ValueError("results must hold at least one trial from run_trial")
    by_name = {r["name"]: r for r in results}

    def draw(name):
        r = by_name[name]
        fig = plot_lr_curves(results, highlight=name)
        if r["diverged"]:
            text = (f"<b>{name}</b>: the loss became NaN/infinite after "
                    f"{len(r['history']['loss'])} full epoch(s): the steps overshoot")
        else:
            text = (f"<b>{name}</b>: final training loss {r['history']['loss'][-1]:.3f}, "
                    f"validation accuracy {r['val_accuracy']:.1%}")
        return fig, text

    names = [r["name"] for r in results]
    controls = {"name": widgets.ToggleButtons(options=names, value=names[0], description="run")}
    return CourseWidget(controls, draw, "Learning rate: which run learns best?")
