"""Argument checks shared by the package: each error names the argument, shows its value
and says how to fix it."""

from __future__ import annotations

import numbers

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
                         f"{x.shape} ({x.shape[3]} channels, last axis); set "
                         f"in_channels={x.shape[3]} or check the layer before")
    return x
