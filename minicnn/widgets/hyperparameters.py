"""Chapter 08: build networks from a layer order, run small experiments, explore the results.

- :func:`build_stack` turns an order such as ``"conv>>relu>>pool>>conv>>pool>>flatten>>fc"``
  into a :class:`~minicnn.network.Sequential`, working out each layer's input size, and refuses
  an order or setting that does not fit, saying at which layer and why.
- :func:`run_trial` trains one setting briefly and measures it; :func:`results_table` and
  :func:`plot_results` show a set of trials; :func:`plot_lr_curves` their loss curves;
  :func:`plot_shapes` how big each layer's output is.
- Widgets: :func:`architecture_builder` (choose the order and sizes, see ``summary()`` or the
  error) and :func:`learning_rate_explorer` (pick a learning rate among trained runs).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import evaluate, fit
from minicnn.widgets._base import CourseWidget

__all__ = ["TOKENS", "ORDERS", "parse_order", "build_stack", "multiply_adds", "run_trial",
           "results_table", "plot_results", "plot_lr_curves", "plot_shapes",
           "architecture_builder",
           "learning_rate_explorer"]

#: The words an order may use, and what each becomes.
TOKENS = {
    "conv": "Conv2D: `filters` filters (doubling at each later conv), kernel_size, stride, padding",
    "relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "pool": "MaxPool2D(pool_size, pool_size)", "avgpool": "AvgPool2D(pool_size, pool_size)",
    "flatten": "Flatten: (H, W, C) map -> vector of H * W * C numbers",
    "fc": "Dense: `units` outputs, or one per class when it is the last layer",
    "loss": "softmax + cross-entropy (only last; applied by fit, not a layer here)",
}

#: Layer orders offered by the architecture builder (the first three follow the post's chain).
ORDERS = (
    "conv>>relu>>pool>>conv>>pool>>fc>>conv>>fc>>loss",
    "conv>>relu>>pool>>conv>>pool>>flatten>>fc>>loss",
    "conv>>relu>>pool>>conv>>relu>>pool>>flatten>>fc>>loss",
    "conv>>relu>>conv>>relu>>flatten>>fc>>loss",
    "conv>>relu>>pool>>flatten>>fc>>relu>>fc>>loss",
    "conv>>pool>>conv>>pool>>flatten>>fc>>loss",
)


def parse_order(order: str) -> list[str]:
    """Split ``"conv>>relu>>pool"`` into ``["conv", "relu", "pool"]``, checking each word."""
    if not isinstance(order, str):
        raise TypeError(f"order must be a string such as 'conv>>relu>>pool>>flatten>>fc', "
                        f"got {type(order).__name__}")
    tokens = [t.strip().lower() for t in order.split(">>")]
    for i, t in enumerate(tokens):
        if t not in TOKENS:
            raise ValueError(f"order has an unknown layer {t!r} at position {i + 1}; use "
                             f"words from {', '.join(TOKENS)} separated by '>>'")
        if t == "loss" and i != len(tokens) - 1:
            raise ValueError("'loss' can only be the last word of order: the loss compares the "
                             "final scores with the labels, nothing comes after it")
    return [t for t in tokens if t != "loss"]


def build_stack(order: str, input_shape: tuple[int, int, int] = (28, 28, 1), filters: int = 8,
                kernel_size: int = 3, stride: int = 1, padding: int = 1, pool_size: int = 2,
                units: int = 32, n_classes: int = 10, seed: int = 0) -> Sequential:
    """Build the network an order of words describes, sizing each layer from the one before.

    Parameters
    ----------
    order : str
        Words of :data:`TOKENS` joined by ``>>``, e.g. ``"conv>>relu>>pool>>flatten>>fc"``.
    input_shape : (H, W, C)
    filters : int
        Filters of the first conv; each later conv has twice as many as the one before.
    kernel_size, stride, padding : int
        For every conv.
    pool_size : int
        Window and stride of every pooling layer.
    units : int
        Outputs of every fc layer except the last, which has ``n_classes``.
    seed : int
        Seeds the random initial weights.

    Returns
    -------
    Sequential
        Its ``summary(input_shape)`` works (every shape was checked).

    Raises
    ------
    ValueError
        Naming the layer (position and word) that does not fit the shape before it, and why.
    """
    tokens = parse_order(order)
    if not tokens or tokens[-1] != "fc":
        raise ValueError(f"order must end with 'fc' (then optionally 'loss'): the last layer "
                         f"gives one score per class, {n_classes} in all; got {order!r}")
    shape = tuple(input_shape)
    layers, n_conv = [], 0
    for i, token in enumerate(tokens):
        where = f"layer {i + 1} ({token}) gets input shape {shape}"
        if token == "conv":
            if len(shape) != 3:
                raise ValueError(f"{where}: a convolution slides over an (H, W, C) map, but the "
                                 "layer before outputs a flat vector, with no rows or columns "
                                 "left to slide over. Put conv layers before flatten/fc")
            layer = Conv2D(shape[2], filters * 2 ** n_conv, kernel_size, stride, padding,
                           seed=seed + i)
            n_conv += 1
        elif token == "fc":
            last = i == len(tokens) - 1
            layer = Dense(int(np.prod(shape)), n_classes if last else units, seed=seed + i)
        elif token in ("pool", "avgpool"):
            if len(shape) != 3:
                raise ValueError(f"{where}: pooling shrinks the rows and columns of an "
                                 "(H, W, C) map, and a flat vector has none")
            layer = (MaxPool2D if token == "pool" else AvgPool2D)(pool_size, pool_size)
        else:
            layer = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "flatten": Flatten}[token]()
        try:
            shape = tuple(layer.output_shape(shape))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        layers.append(layer)
    return Sequential(layers)


def multiply_adds(model: Sequential, input_shape: tuple[int, ...]) -> int:
    """Multiplications (each with an addition) of one forward pass of one image.

    A conv layer does ``H' * W' * F * kh * kw * C``; a dense layer ``D * M``; the rest ~0.
    """
    shape, total = tuple(input_shape), 0
    for layer in model.layers:
        out = tuple(layer.output_shape(shape))
        if isinstance(layer, Conv2D):
            k = layer.kernel_size
            total += out[0] * out[1] * out[2] * k * k * shape[2]
        elif isinstance(layer, Dense):
            total += layer.in_features * layer.out_features
        shape = out
    return int(total)


def run_trial(name: str, data, order: str = "conv>>relu>>pool>>conv>>relu>>pool>>flatten>>fc",
              epochs: int = 2, batch_size: int = 32, lr: float = 0.05, momentum: float = 0.9,
              seed: int = 0, **arch) -> dict:
    """Build, train briefly and test one setting.

    Parameters
    ----------
    name : str
        A label for tables and plots.
    data : ((x_train, y_train), (x_test, y_test))
        Images (N, H, W, C) and labels.
    order, **arch
        Passed to :func:`build_stack` (``filters``, ``kernel_size``, ``stride``, ...).
    epochs, batch_size, lr, momentum, seed
        Training: SGD with momentum, seeded weights and shuffling.

    Returns
    -------
    dict
        ``name``, ``settings`` (dict), ``params``, ``mult_adds``, ``history`` (loss and
        accuracy per epoch, as far as training got), ``test_accuracy`` and ``test_loss``
        (NaN when training diverged) and ``diverged`` (bool: the loss became NaN or infinite).
    """
    (x_train, y_train), (x_test, y_test) = data
    model = build_stack(order, input_shape=x_train.shape[1:], seed=seed, **arch)
    history: dict = {"loss": [], "accuracy": []}

    def keep(epoch, h):  # a copy per epoch, so a run that diverges keeps its first epochs
        history.update({k: list(v) for k, v in h.items()})

    diverged = False
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows
            fit(model, x_train, y_train, epochs, batch_size, SGD(lr, momentum), seed=seed,
                progress=False, callback=keep)
        test_loss, test_acc = evaluate(model, x_test, y_test)
    except FloatingPointError:
        diverged, test_loss, test_acc = True, math.nan, math.nan
    return {"name": name, "settings": {"order": order, "lr": lr, "epochs": epochs, **arch},
            "params": model.n_params, "mult_adds": multiply_adds(model, x_train.shape[1:]),
            "history": history, "test_accuracy": test_acc, "test_loss": test_loss,
            "diverged": diverged}


def results_table(results: list[dict]) -> str:
    """A text table: name, parameters, multiply-adds per image, train and test accuracy."""
    rows = [("setting", "params", "mult-adds", "train acc", "test acc")]
    for r in results:
        train = r["history"]["accuracy"][-1] if r["history"]["accuracy"] else math.nan
        test = "diverged" if r["diverged"] else f"{r['test_accuracy']:.1%}"
        rows.append((r["name"], f"{r['params']:,}", f"{r['mult_adds']:,}",
                     "diverged" if r["diverged"] else f"{train:.1%}", test))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_results(results: list[dict], title: str | None = None, baseline: str | None = None):
    """Test accuracy of each trial as a horizontal bar (diverged runs shown as 0, marked)."""
    names = [r["name"] for r in results]
    acc = [0.0 if r["diverged"] else r["test_accuracy"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(results) + 1.2))
    colors = ["tab:orange" if n == baseline else "tab:blue" for n in names]
    ax.barh(range(len(names)), acc, color=colors)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    for k, (r, a) in enumerate(zip(results, acc, strict=True)):
        ax.text(a + 0.005, k, "diverged" if r["diverged"] else f"{a:.1%}", va="center",
                fontsize=7)
    low = min([a for a in acc if a > 0] or [0.0])
    ax.set_xlim(max(0.0, low - 0.15), 1.0)
    ax.set_xlabel("test accuracy")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_lr_curves(results: list[dict], highlight: str | None = None, ax=None):
    """Training loss per epoch of each trial; ``highlight`` (a name) drawn bold, others faint."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.4))
    fig = ax.figure
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
                    f"test accuracy {r['test_accuracy']:.1%}")
        return fig, text

    names = [r["name"] for r in results]
    controls = {"name": widgets.ToggleButtons(options=names, value=names[0], description="run")}
    return CourseWidget(controls, draw, "Learning rate: which run learns best?")
