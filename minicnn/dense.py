"""The fully connected (dense) layer's maths (chapter 06).

Every output is a weighted sum of every input plus a bias: ``out = x @ w + b``. Going back,
each weight's gradient is its input times the output's gradient, summed over the batch.

Shapes: x (N, D) for N samples of D features, w (D, M), b (M,), out and dout (N, M).
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """``out = x @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A 1-D ``x`` (one sample without the batch axis) raises ValueError naming ``x``:
        pass ``x[None, :]`` for one row.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple ``(x, w, b)`` for :func:`dense_backward`
    """
    x = _checks.rows("x", x, "(N, D)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features (shape {x.shape}) but w expects "
                         f"{w.shape[0]} (shape {w.shape}); w must be shaped "
                         f"({x.shape[1]}, M)")
    return x @ w + b, (x, w, b)


def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`dense_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple from :func:`dense_forward`

    Returns
    -------
    dx : ndarray, shape (N, D), ``dout @ w.T``
    dw : ndarray, shape (D, M), ``x.T @ dout``
    db : ndarray, shape (M,), ``dout.sum(axis=0)``
    """
    x, w, _ = cache
    dout = _checks.grad_like(dout, (len(x), w.shape[1]), "the output x @ w + b")
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)
