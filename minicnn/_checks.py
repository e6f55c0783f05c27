"""Argument checks shared by the package: each error names the argument, shows its value
and says how to fix it."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np


class ArgumentError(TypeError, ValueError):
    """A bad argument: both a TypeError and a ValueError, so either ``except`` catches it."""


def positive_int(name: str, value, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, or raise if it is not a positive (or non-negative) integer."""
    lowest = 0 if allow_zero else 1
    if type(value) is int and value >= lowest:  # the usual case, checked quickly
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ArgumentError(f"{name} must be {kind} integer, got {value!r} "
                        f"({type(value).__name__}); pass a whole number such as {lowest + 1}")
    if value < lowest:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}; "
                         f"use {lowest} or more")
    return int(value)


def array(name: str, x, ndim: int | tuple[int, ...], layout: str) -> np.ndarray:
    """Return ``x`` as a float ndarray with ``ndim`` dimensions (``layout`` names them)."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and (
            x.ndim == ndim if isinstance(ndim, int) else x.ndim in ndim):
        return x  # the usual case, checked quickly (a training step checks many arrays)
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an array of numbers shaped {layout}, "
                            f"got {type(x).__name__}") from exc
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in allowed:
        raise ValueError(f"{name} must have shape {layout} ({' or '.join(map(str, allowed))}-D), "
                         f"got shape {x.shape}; "
                         + _reshape_hint(name, x.shape, allowed))
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def rows(name: str, x, layout: str) -> np.ndarray:
    """``x`` as a float (N, ...) batch of rows; a 1-D array (one row without its batch axis)
    is refused, so that ``x @ w`` never quietly returns one row's shape."""
    if np.ndim(x) == 1:
        raise ValueError(f"{name} must be a batch of rows shaped {layout}, got a 1-D array of "
                         f"shape {np.shape(x)}: pass {name}[None, :] for one row")
    return array(name, x, 2, layout)


def _reshape_hint(name: str, shape: tuple, allowed: tuple[int, ...]) -> str:
    if len(shape) + 1 in allowed:
        return (f"add an axis, e.g. {name}[..., np.newaxis] for one channel or "
                f"{name}[np.newaxis] for a batch of one")
    if len(shape) - 1 in allowed and 1 in shape:
        return f"drop the length-1 axis with np.squeeze({name}, axis=...)"
    return "check the layout: channels-last, (N, H, W, C) for a batch"


def channels(layer: str, x, in_channels: int) -> np.ndarray:
    """``x`` as an array, or an error if it is not an (N, H, W, in_channels) batch."""
    x = array("x", x, 4, "(N, H, W, C)")
    if x.shape[3] != in_channels:
        raise ValueError(f"{layer} expects {in_channels} input channel(s) but x has shape "
                         f"{x.shape} ({x.shape[3]} channels, last axis); "
                         + channels_hint(x.shape, in_channels))
    return x


def features(layer: str, x, in_features: int) -> np.ndarray:
    """``x`` as an array, or an error if it is not an (N, in_features) batch of rows."""
    x = array("x", x, 2, "(N, in_features)")
    if x.shape[1] != in_features:
        raise ValueError(f"{layer} expects {in_features} input features but x has shape "
                         f"{x.shape}; set in_features={x.shape[1]} (model.summary(...) "
                         "shows each layer's output size)")
    return x


def grad_like(dout, shape: tuple, what: str) -> np.ndarray:
    """``dout`` as an array of shape ``shape`` (the shape of ``what``), or an error.

    A single number stands for the same gradient at every value (``relu_backward(1.0, x)`` is
    ReLU's derivative at every x).
    """
    dout = np.asarray(dout)
    if dout.ndim == 0:
        return np.broadcast_to(dout, shape)
    if dout.shape != tuple(shape):
        raise ValueError(f"dout must have shape {tuple(shape)}, the shape of {what} (one gradient "
                         f"per value), or be one number, got shape {dout.shape}; pass the "
                         "gradient of the loss with respect to the forward pass's output")
    return dout


def channels_hint(shape: tuple, in_channels: int) -> str:
    """Advice for a 4-D batch whose last axis is not ``in_channels`` channels.

    A channels-first batch (N, C, H, W), as PyTorch lays it out, shows up here with C on axis 1.
    """
    if len(shape) == 4 and shape[1] == in_channels and shape[3] != in_channels:
        return (f"it looks channels-first (N, C, H, W) = {shape}; minicnn is channels-last, "
                "so pass x.transpose(0, 2, 3, 1)")
    return f"set in_channels={shape[-1]} or check the layer before"


def nonempty_batch(name: str, x) -> None:
    """Raise if the batch ``x`` holds no samples."""
    n = np.shape(x)[0] if np.ndim(x) else None
    if n == 0:
        raise ValueError(f"{name} is an empty batch (shape {np.shape(x)}): there is nothing to "
                         "run; pass at least one sample, e.g. x[:1]")


def finite(name: str, x: np.ndarray) -> None:
    """Raise if the float array ``x`` holds a NaN or an infinity, naming the first one.

    One float64 sum finds out (no temporary as large as ``x``); only then is the culprit looked
    for.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x, dtype=np.float64)):
            return
    bad = ~np.isfinite(x)
    if not bad.any():  # finite numbers whose sum overflows float64
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad = int(bad.reshape(len(x), -1).any(axis=1).sum())
    var = name.split()[-1]  # "validation x" -> x
    raise ValueError(f"{name} holds {x[first]} at index {first} ({n_bad} of its {len(x)} samples "
                     f"{'holds' if n_bad == 1 else 'hold'} NaN or infinite values): on them the "
                     "network's outputs and the loss are NaN, so it can neither learn nor be "
                     f"scored. Drop those samples, e.g. keep = np.isfinite({var}).reshape("
                     f"len({var}), -1).all(axis=1), then keep only x[keep] and y[keep], or "
                     "replace the values")


class LossWatch:
    """Warn once when the training loss grows by orders of magnitude (but stays finite).

    Parameters
    ----------
    lr : float or None
        The learning rate, for the advice.
    factor : float
        How many times the smallest loss seen counts as blowing up.
    """

    def __init__(self, lr: float | None, factor: float = 100.0) -> None:
        self.lr, self.factor = lr, factor
        self.lowest = math.inf
        self.warned = False

    def see(self, loss: float, epoch: int, batch: int) -> None:
        self.lowest = min(self.lowest, loss)
        if self.warned or not loss > self.factor * max(self.lowest, 1e-3):
            return
        self.warned = True
        advice = (f"try a smaller learning rate, e.g. lr={self.lr / 10:g}" if self.lr
                  else "try a smaller learning rate")
        warnings.warn(f"the loss grew from {self.lowest:.3g} to {loss:.3g} (epoch {epoch}, "
                      f"batch {batch}): the steps are far too large; {advice}",
                      RuntimeWarning, stacklevel=3)
