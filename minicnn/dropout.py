"""Dropout's maths (chapter 10): inverted dropout.

While training, every value is kept with probability ``1 - p`` and set to 0 otherwise, a fresh
random choice for every sample of every batch, so no unit can rely on any one other unit being
there. The kept values are divided by ``1 - p``, which keeps each value's expected size what it
was (inverted dropout): at inference nothing is dropped and nothing is rescaled, ``out = x``.

Going back, a dropped value passed nothing on, so it gets no gradient; a kept one passed its
input on times ``1 / (1 - p)``, so ``dx = dout * mask`` with the same ``mask`` as forward.

Shapes: x, out, dout and dx any shape, all the same.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"p (the probability of dropping a value) must be a number in [0, 1), "
                         f"got {p!r}; 0.5 is usual before a dense layer, 0.1 to 0.25 after "
                         "a convolution")
    return float(p)


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator | int,
                    training: bool = True) -> tuple[np.ndarray, tuple]:
    """Drop each value with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1)
        The probability that a value is dropped (PyTorch's convention; 0 drops nothing).
    rng : numpy.random.Generator or int
        Where the random numbers come from: a generator (it moves on, so the next call draws a
        new mask), or a seed for a new one (``np.random.default_rng(rng)``). The same state or
        seed gives the same mask.
    training : bool
        False (inference): ``out = x``, nothing dropped, nothing rescaled, no random number drawn.

    Returns
    -------
    out : ndarray, same shape as x
        ``x * mask`` with ``mask = (u >= p) / (1 - p)`` for ``u`` uniform in [0, 1).
    cache : tuple ``(mask,)`` for :func:`dropout_backward`; ``mask`` is None at inference.
    """
    x = _checks.array("x", x, tuple(range(1, 6)), "(N, ...)")
    p = _check_p(p)
    if not training:
        return x, (None,)
    keep = np.random.default_rng(rng).random(x.shape) >= p
    mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
    return x * mask, (mask,)


def dropout_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Gradient of :func:`dropout_forward`: ``dx = dout * mask`` (``dout`` at inference).

    Parameters
    ----------
    dout : ndarray, same shape as the forward pass's x
    cache : tuple from :func:`dropout_forward`

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    (mask,) = cache
    return dout if mask is None else dout * mask
