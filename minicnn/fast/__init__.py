"""The fast backend: the same numbers as the core, computed for speed.

The core modules (:mod:`minicnn.conv`, :mod:`minicnn.layers`, ...) are written to be read;
nothing in them knows about this package. ``Sequential(..., fast=True)`` (or ``model.fast =
True``) runs a model through it instead:

- :mod:`minicnn.fast.layers`: stand-ins for the core layers, picked by :func:`plan`; each
  Conv2D -> ReLU -> MaxPool2D run becomes one fused block (:mod:`minicnn.fast.fused`: pool
  first, then ReLU on a map four times smaller);
- :mod:`minicnn.fast.conv`: the convolution with scratch arrays kept between batches
  (:mod:`minicnn.fast.columns`);
- :mod:`minicnn.fast.threads`: the two halves of every batch at once, one per CPU core;
- :mod:`minicnn.fast.memory`: glibc's malloc told to keep freed memory for the next step.

Gradients agree with the core to float rounding (tests/test_fast.py holds them to it). See
docs/benchmarks.md for what each piece is worth.
"""

from __future__ import annotations

from minicnn.fast import layers
from minicnn.fast.memory import keep_freed_memory

_tuned = False


def plan(model_layers) -> list:
    """The fast steps for a list of core layers (see :func:`minicnn.fast.layers.plan`); the
    first call also tunes the allocator for the process (:func:`keep_freed_memory`)."""
    global _tuned
    if not _tuned:
        keep_freed_memory()
        _tuned = True
    return layers.plan(model_layers)


__all__ = ["keep_freed_memory", "plan"]
