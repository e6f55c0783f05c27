"""Chapter 08: build networks from a layer order and try settings on them, briefly.

- :func:`build_stack` turns an order such as ``"conv>>relu>>pool>>conv>>pool>>flatten>>fc"``
  into a :class:`~minicnn.network.Sequential`, working out each layer's input size, and refuses
  an order or setting that does not fit, saying at which layer and why.
- :func:`run_trial` trains one setting briefly and measures it on a validation split;
  :func:`run_seeds` repeats it over seeds, :func:`spread` summarises repeated runs and
  :func:`difference` says whether two settings differ by more than that spread;
  :func:`results_table` and :func:`seeds_table` list them; :func:`multiply_adds` counts the
  work of one forward pass.

The plots and widgets that show these results are in :mod:`minicnn.widgets.hyperparameters`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from minicnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import evaluate, fit

__all__ = ["TOKENS", "ORDERS", "parse_order", "build_stack", "multiply_adds", "run_trial",
           "run_seeds", "relabel", "difference", "results_table", "seeds_table", "spread"]

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
        elif token in ("pool", "avgpool"):  # after flatten: pool_output_shape says why not
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
              seed: int = 0, fast: bool = False, **arch) -> dict:
    """Build, train briefly and measure one setting on a validation split.

    Parameters
    ----------
    name : str
        A label for tables and plots.
    data : ((x_train, y_train), (x_val, y_val))
        Images (N, H, W, C) and labels: the images to train on and a validation split carved
        from the training data (:func:`minicnn.datasets.split_validation`). Not the test set:
        that one is kept for the setting finally chosen.
    order, **arch
        Passed to :func:`build_stack` (``filters``, ``kernel_size``, ``stride``, ...).
    epochs, batch_size, lr, momentum, seed
        Training: SGD with momentum; ``seed`` sets the initial weights and the batch order.
    fast : bool
        Train through the fast backend (:mod:`minicnn.fast`): the same arithmetic, quicker.

    Returns
    -------
    dict
        ``name``, ``settings`` (dict), ``seed``, ``params``, ``mult_adds``, ``history`` (loss
        and accuracy per epoch, as far as training got), ``val_accuracy`` and ``val_loss``
        (NaN when training diverged), ``diverged`` (bool: the loss became NaN or infinite)
        and ``model`` (the trained network, still on the fast backend when ``fast``).
    """
    (x_train, y_train), (x_val, y_val) = data
    model = build_stack(order, input_shape=x_train.shape[1:], seed=seed, **arch)
    model.fast = fast
    history: dict = {"loss": [], "accuracy": []}

    def keep(epoch, h):  # a copy per epoch, so a run that diverges keeps its first epochs
        history.update({k: list(v) for k, v in h.items()})

    diverged = False
    try:
        with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
            # a diverging run overflows, and the table reports it: no warning on top
            warnings.filterwarnings("ignore", "the loss grew", RuntimeWarning)
            fit(model, x_train, y_train, epochs, batch_size, SGD(lr, momentum), seed=seed,
                progress=False, callback=keep)
            val_loss, val_acc = evaluate(model, x_val, y_val)
    except FloatingPointError:
        diverged, val_loss, val_acc = True, math.nan, math.nan
    return {"name": name, "settings": {"order": order, "lr": lr, "epochs": epochs, **arch},
            "seed": seed, "params": model.n_params,
            "mult_adds": multiply_adds(model, x_train.shape[1:]), "history": history,
            "val_accuracy": val_acc, "val_loss": val_loss, "diverged": diverged,
            "model": model}


def run_seeds(name: str, data, seeds=(0, 1, 2), **settings) -> dict:
    """Run one setting once per seed, to see how much its result moves by chance alone.

    Parameters
    ----------
    name : str
    data : ((x_train, y_train), (x_val, y_val))
        As for :func:`run_trial`.
    seeds : sequence of int
        One run each (the seed sets the initial weights and the batch order).
    **settings
        Passed to :func:`run_trial` (``order``, ``epochs``, ``lr``, ``filters``...).

    Returns
    -------
    dict
        ``name``, ``settings``, ``params``, ``mult_adds``, ``runs`` (the :func:`run_trial`
        results), ``val`` and ``train`` (:func:`spread` of the validation accuracies and of
        the last epoch's training accuracies of the runs that did not diverge; None when all
        did) and ``diverged`` (how many runs did).
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got none")
    runs = [run_trial(name, data, seed=seed, **settings) for seed in seeds]
    ok = [r for r in runs if not r["diverged"]]
    return {"name": name, "settings": runs[0]["settings"], "params": runs[0]["params"],
            "mult_adds": runs[0]["mult_adds"], "runs": runs,
            "val": spread(r["val_accuracy"] for r in ok) if ok else None,
            "train": spread(r["history"]["accuracy"][-1] for r in ok) if ok else None,
            "diverged": len(runs) - len(ok)}


def relabel(group: dict, name: str) -> dict:
    """A copy of a :func:`run_seeds` result under another name (its runs renamed too), to show
    the same runs in a second comparison without training them again."""
    return {**group, "name": name, "runs": [{**r, "name": name} for r in group["runs"]]}


def difference(a: dict, b: dict) -> dict:
    """Whether setting ``a`` (a :func:`run_seeds` result) differs from ``b`` by more than
    chance: ``gap`` (a's mean validation accuracy minus b's), ``noise`` (the larger of the two
    standard deviations over seeds) and ``real`` (``abs(gap) > noise``)."""
    for name, group in (("a", a), ("b", b)):
        if group.get("val") is None or group["val"]["n"] < 2:
            raise ValueError(f"{name} ({group.get('name')!r}) needs at least 2 runs that did "
                             f"not diverge to show its spread; run it with more seeds")
    gap = a["val"]["mean"] - b["val"]["mean"]
    noise = max(a["val"]["std"], b["val"]["std"])
    return {"gap": gap, "noise": noise, "real": bool(abs(gap) > noise)}


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_table(results: list[dict]) -> str:
    """A text table of single runs: name, parameters, multiply-adds per image, training and
    validation accuracy."""
    rows = [("setting", "params", "mult-adds", "train acc", "val acc")]
    for r in results:
        train = r["history"]["accuracy"][-1] if r["history"]["accuracy"] else math.nan
        val = "diverged" if r["diverged"] else f"{r['val_accuracy']:.1%}"
        rows.append((r["name"], f"{r['params']:,}", f"{r['mult_adds']:,}",
                     "diverged" if r["diverged"] else f"{train:.1%}", val))
    return _table(rows)


def seeds_table(groups: list[dict], baseline: str | None = None) -> str:
    """A text table of settings run over several seeds (:func:`run_seeds`): parameters,
    multiply-adds, mean training accuracy, validation accuracy as mean +- standard deviation
    and lowest to highest, in percent, and (given the ``baseline``'s name) the gap to the
    baseline with the verdict of :func:`difference`: "real" only when the gap is larger than
    the spread of both settings, else "noise"."""
    base = None
    if baseline is not None:
        base = next((g for g in groups if g["name"] == baseline), None)
        if base is None:
            raise ValueError(f"baseline must name one of the settings, got {baseline!r}; "
                             f"names: {[g['name'] for g in groups]}")
    rows = [("setting", "params", "mult-adds", "train acc", "val acc (mean +- sd)",
             "lowest to highest", "vs baseline")]
    for g in groups:
        n = len(g["runs"])
        if g["val"] is None:
            val, low_high, versus, train = f"all {n} diverged", "", "", ""
        else:
            v = g["val"]
            val = f"{100 * v['mean']:.1f} +- {100 * v['std']:.1f}"
            low_high = f"{100 * v['low']:.1f} to {100 * v['high']:.1f}"
            train = f"{100 * g['train']['mean']:.1f}"
            if g["diverged"]:
                val += f" ({g['diverged']} of {n} diverged)"
            versus = ""
            if base is g:
                versus = "(baseline)"
            elif base is not None:
                d = difference(g, base)
                versus = (f"{100 * d['gap']:+.1f}, " + ("real" if d["real"] else "noise"))
        rows.append((g["name"], f"{g['params']:,}", f"{g['mult_adds']:,}", train, val,
                     low_high, versus))
    return _table(rows)


def spread(values) -> dict:
    """Mean, standard deviation (n - 1), smallest and largest of repeated runs (e.g. over seeds).

    A difference between two settings is worth a sentence only when it is larger than both
    settings' spread; ``str`` of the result reads like ``"84.1% +- 0.6 (83.5 to 84.7), 3 runs"``
    for accuracies.
    """
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        raise ValueError("spread needs at least one value, got none")
    std = float(v.std(ddof=1)) if v.size > 1 else math.nan
    return _Spread(mean=float(v.mean()), std=std, low=float(v.min()), high=float(v.max()),
                   n=int(v.size))


class _Spread(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __str__(self) -> str:
        pct = 0 <= self["low"] and self["high"] <= 1
        k = 100 if pct else 1
        unit = "%" if pct else ""
        return (f"{self['mean'] * k:.1f}{unit} +- {self['std'] * k:.1f} "
                f"({self['low'] * k:.1f} to {self['high'] * k:.1f}), {self['n']} runs")
