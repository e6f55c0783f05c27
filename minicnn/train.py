"""Training: the loop that turns random filters into useful ones (chapter 07).

One step: take a mini-batch, run it forward, measure the loss, backpropagate, let the optimiser
move the weights. One epoch: one pass over the shuffled training set. Then measure the test set,
which the network never trained on, to see whether it generalises.
"""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np

from minicnn import _checks
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, SoftmaxCrossEntropy
from minicnn.network import Sequential


class History(dict):
    """Per-epoch records: ``history["loss"]``, ``["accuracy"]``, and with validation data
    ``["val_loss"]``, ``["val_accuracy"]``; each a list with one float per epoch."""

    def __repr__(self) -> str:
        cols = {k: ", ".join(f"{v:.4f}" for v in vals) for k, vals in self.items()}
        return "History(" + "; ".join(f"{k}=[{v}]" for k, v in cols.items()) + ")"


def small_cnn(seed: int = 0, channels: tuple[int, int] = (8, 16), n_classes: int = 10,
              input_shape: tuple[int, int, int] = (28, 28, 1), fast: bool = False) -> Sequential:
    """The course's standard network for (28, 28, 1) images.

    conv 3x3 (pad 1) -> ReLU -> max pool 2 -> conv 3x3 (pad 1) -> ReLU -> max pool 2 -> dense.
    ``fast=True`` runs it through the fast backend (see :class:`Sequential`).
    """
    c1, c2 = channels
    h, w, c = input_shape
    flat = (h // 4) * (w // 4) * c2
    return Sequential([
        Conv2D(c, c1, 3, padding=1, seed=seed), ReLU(), MaxPool2D(2, 2),
        Conv2D(c1, c2, 3, padding=1, seed=seed + 1), ReLU(), MaxPool2D(2, 2),
        Flatten(), Dense(flat, n_classes, seed=seed + 2),
    ], fast=fast)


def _progress_enabled(progress) -> bool:
    if progress == "auto":
        return os.environ.get("MINICNN_PROGRESS", "1").lower() not in {"0", "off", "false", "no"}
    return bool(progress)


def _make_bar(enabled: bool, total: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal
    return tqdm(total=total, unit="batch", leave=True)


def _check_data(x, y, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    x = _checks.array(name, x, (2, 3, 4), "(N, H, W, C)")
    _checks.nonempty_batch(name, x)
    _checks.finite(name, x)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"the labels must be a 1-D array with one label per sample: {name} "
                         f"has {len(x)} samples, the labels have shape {y.shape}")
    return x, y


def _mode(model, training: bool):
    """``model.mode(training)``, or nothing for a model without modes."""
    return model.mode(training) if hasattr(model, "mode") else contextlib.nullcontext()


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray,
             batch_size: int = 500) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on (x, y), computed in batches, in evaluation mode
    (``model.eval()``: batch norm's running statistics, no dropout); the mode is restored after.

    Returns
    -------
    (loss, accuracy) : tuple of float, accuracy in [0, 1]
    """
    return _evaluate(model, *_check_data(x, y), batch_size)


def _evaluate(model, x, y, batch_size: int = 500) -> tuple[float, float]:
    """:func:`evaluate` on data already checked (``fit`` checks its validation set once)."""
    loss_fn = SoftmaxCrossEntropy()
    total_loss, correct = 0.0, 0
    with _mode(model, False):
        for i in range(0, len(x), batch_size):
            logits = model.forward(x[i:i + batch_size])
            yb = y[i:i + batch_size]
            total_loss += loss_fn.forward(logits, yb) * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(x), correct / len(x)


def fit(model: Sequential, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int,
        optimizer, validation: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
        progress="auto", callback=None, lr_decay: float = 1.0, augment=None) -> History:
    """Train ``model`` on (x, y) with mini-batch gradient descent, in training mode
    (``model.train()``); the mode is restored after.

    Parameters
    ----------
    model : Sequential
    x : ndarray, shape (N, H, W, C)
    y : ndarray, shape (N,), integer class labels
    epochs, batch_size : int
    optimizer : SGD or Adam (anything with ``step(model)``)
    validation : (x_val, y_val), optional
        Evaluated after every epoch.
    seed : int
        Seeds the shuffling, so the same call gives the same result.
    progress : "auto", True or False
        A progress bar: a widget in a notebook, text in a terminal. "auto" shows it unless the
        environment variable ``MINICNN_PROGRESS=0`` is set.
    callback : callable(epoch, history), optional
        Called after every epoch (e.g. to update a live plot).
    lr_decay : float
        After every epoch the optimiser's ``lr`` is multiplied by this (default 1: constant).
        Big steps early and small steps late usually end at a better model than one constant
        step size, e.g. ``lr_decay=0.7``.
    augment : callable(x_batch, rng) -> x_batch, optional
        Applied to every training batch before the forward pass, e.g.
        :class:`minicnn.augment.Augment` (random shifts and flips). ``rng`` is a generator
        seeded from ``seed`` (separate from the shuffling's), so a run repeats exactly.

    Raises
    ------
    ValueError
        Before any step, when ``x`` (or the validation images) hold NaN or infinite values.
    FloatingPointError
        When the loss becomes NaN or infinite: the steps were too large.

    Warns
    -----
    RuntimeWarning
        Once, when the loss grows to more than 100 times the lowest loss seen so far (the
        learning rate is far too high), before it becomes NaN or while it stays finite.
    """
    x, y = _check_data(x, y)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if validation is not None:
        validation = _check_data(*validation, name="validation x")
    if isinstance(lr_decay, bool) or not isinstance(lr_decay, (int, float)) \
            or not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be a number in (0, 1], got {lr_decay!r}; 1 keeps the "
                         "learning rate constant, 0.7 shrinks it by 30 % after every epoch")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function of (x_batch, rng), such as "
                        f"minicnn.augment.Augment(), got {augment!r}")
    if lr_decay != 1 and not hasattr(optimizer, "lr"):
        raise TypeError(f"lr_decay needs an optimizer with an lr attribute, got {optimizer!r}")
    rng = np.random.default_rng(seed)
    loss_fn = SoftmaxCrossEntropy()
    history = History(loss=[], accuracy=[])
    watch = _checks.LossWatch(getattr(optimizer, "lr", None))
    n_batches = math.ceil(len(x) / batch_size)
    bar = _make_bar(_progress_enabled(progress), epochs * n_batches)
    with _mode(model, True):
        _fit_epochs(model, x, y, epochs, batch_size, optimizer, validation, rng, loss_fn,
                    history, watch, n_batches, bar, callback, lr_decay,
                    augment, np.random.default_rng([seed, 1]))
    return history


def _fit_epochs(model, x, y, epochs, batch_size, optimizer, validation, rng, loss_fn, history,
                watch, n_batches, bar, callback, lr_decay, augment, augment_rng) -> None:
    """The epochs of :func:`fit`, its arguments checked."""
    try:
        for epoch in range(1, epochs + 1):
            if bar is not None:
                bar.set_description(f"epoch {epoch}/{epochs}")
            order = rng.permutation(len(x))
            total_loss, correct = 0.0, 0
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb, yb = x[idx], y[idx]
                if augment is not None:
                    xb = augment(xb, augment_rng)
                logits = model.forward(xb)
                loss = loss_fn.forward(logits, yb)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {loss} at epoch {epoch}, batch {b + 1}: the weights "
                        f"grew too large. Try a smaller learning rate (now {optimizer!r}), "
                        "e.g. ten times smaller")
                watch.see(loss, epoch, b + 1)
                model.backward(loss_fn.backward(), need_input_grad=False)
                optimizer.step(model)
                total_loss += loss * len(idx)
                correct += int((logits.argmax(axis=1) == yb).sum())
                if bar is not None:
                    bar.update(1)
                    if b % 20 == 0 or b == n_batches - 1:
                        seen = min(len(x), (b + 1) * batch_size)
                        bar.set_postfix(loss=f"{total_loss / seen:.3f}")
            history["loss"].append(total_loss / len(x))
            history["accuracy"].append(correct / len(x))
            if validation is not None:
                val_loss, val_acc = _evaluate(model, *validation)
                history.setdefault("val_loss", []).append(val_loss)
                history.setdefault("val_accuracy", []).append(val_acc)
            if callback is not None:
                callback(epoch, history)
            if lr_decay != 1:
                optimizer.lr *= lr_decay
    finally:
        if bar is not None:
            bar.close()
