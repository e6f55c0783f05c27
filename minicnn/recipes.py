"""The network of chapter 10's best recipe: ``python -m minicnn train --data full --recipe best``.

Chapter 07's network (two conv -> ReLU -> max pool blocks, then one dense layer) with what
chapter 10 adds: batch normalisation after each block and after a hidden dense layer, dropout
before the last layer. Batch norm sits after each pool (not between the convolution and its
ReLU), so that the fast backend still runs each conv -> ReLU -> pool as one fused step, and it
normalises a map four times smaller than the convolution's.

The settings were chosen on a validation split of the training set (docs/benchmarks.md, "A 92 %
recipe"); the test set was evaluated once, for the final model.
"""

from __future__ import annotations

from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.network import Sequential


def better_cnn(seed: int = 0, channels: tuple[int, int] = (16, 32), hidden: int = 128,
               dropout: float = 0.3, n_classes: int = 10,
               input_shape: tuple[int, int, int] = (28, 28, 1), fast: bool = False
               ) -> Sequential:
    """conv 3x3 -> ReLU -> pool 2 -> BatchNorm, twice, then Dense(hidden) -> BatchNorm -> ReLU
    -> Dropout(dropout) -> Dense(n_classes), for (H, W, C) images with H and W divisible by 4.

    Multiply-adds per 28 x 28 image, forward, with the defaults: 112,896 (conv 1) + 903,168
    (conv 2) + 200,704 (dense 1568 -> 128) + 1,280 (dense 128 -> 10) = 1,218,048; a training
    step costs about three times that per image (forward, and two products backward).
    """
    c1, c2 = channels
    h, w, c = input_shape
    flat = (h // 4) * (w // 4) * c2
    return Sequential([
        Conv2D(c, c1, 3, padding=1, seed=seed), ReLU(), MaxPool2D(2, 2), BatchNorm(c1),
        Conv2D(c1, c2, 3, padding=1, seed=seed + 1), ReLU(), MaxPool2D(2, 2), BatchNorm(c2),
        Flatten(), Dense(flat, hidden, seed=seed + 2), BatchNorm(hidden), ReLU(),
        Dropout(dropout, seed=seed + 3), Dense(hidden, n_classes, seed=seed + 4),
    ], fast=fast)


def from_recipe(recipe: dict, seed: int = 0, fast: bool = False) -> Sequential:
    """:func:`better_cnn` with a recipe's ``channels``, ``hidden`` and ``dropout`` (for example
    ``BEST`` in ``minicnn/__main__.py``)."""
    return better_cnn(seed=seed, channels=tuple(recipe["channels"]), hidden=recipe["hidden"],
                      dropout=recipe["dropout"], fast=fast)
