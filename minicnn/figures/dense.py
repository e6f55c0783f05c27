"""The dense layer's backward pass as three matrix products, with their numbers (chapter 06).

:func:`plot_dense_backward` draws, one row each, ``dW = X^T dY``, ``dX = dY W^T`` and
``db = the column sums of dY``, every matrix as a grid of its numbers. In each row one result
entry is outlined together with the row and column that make it: ``dW[d, m]`` is row ``d`` of
``X^T`` (input feature ``d`` of every sample) times column ``m`` of ``dY``, a sum over the
batch; ``dX[n, d]`` is row ``n`` of ``dY`` times column ``d`` of ``W^T`` (the weights leaving
input ``d``), a sum over the outputs; ``db[m]`` adds column ``m`` of ``dY`` over the batch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from minicnn import dense

__all__ = ["plot_dense_backward"]

HIGHLIGHT = "tab:red"


def _matrix(ax, a: np.ndarray, left: float, name: str, rows=(), cols=(), cell=None) -> float:
    """Draw ``a`` with its top-left corner at (left, 0); return the x where it ends."""
    a = np.atleast_2d(a)
    for (i, j), v in np.ndenumerate(a):
        marked = i in rows or j in cols
        ax.add_patch(plt.Rectangle((left + j, -i - 1), 1, 1, fc="#fde0dd" if marked else "white",
                                   ec="0.6", lw=0.8))
        ax.text(left + j + 0.5, -i - 0.5, f"{v:g}", ha="center", va="center", fontsize=9)
    if cell is not None:
        i, j = cell
        ax.add_patch(plt.Rectangle((left + j, -i - 1), 1, 1, fill=False, ec=HIGHLIGHT, lw=2.5))
    ax.text(left + a.shape[1] / 2, 0.35, name, ha="center", va="bottom", fontsize=10)
    ax.text(left + a.shape[1] / 2, -a.shape[0] - 0.45, f"{a.shape[0]} x {a.shape[1]}",
            ha="center", va="top", fontsize=8, color="0.4")
    return left + a.shape[1]


def _num(v: float) -> str:
    """A number for a written sum: negative ones in brackets, 1·(-1)."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def _sign(ax, left: float, text: str, height: int) -> float:
    ax.text(left + 0.45, -height / 2, text, ha="center", va="center", fontsize=14)
    return left + 0.9


def plot_dense_backward(x: np.ndarray, w: np.ndarray, dout: np.ndarray, n: int = 0,
                        d: int = 0, m: int = 0):
    """The three gradients of ``out = x @ w + b`` for small ``x`` (N, D), ``w`` (D, M) and
    ``dout`` (N, M), each drawn as the product or sum that makes it.

    ``n``, ``d`` and ``m`` choose the entries outlined: ``dW[d, m]``, ``dX[n, d]``, ``db[m]``.
    Returns the figure.
    """
    x, w, dout = (np.asarray(a, dtype=np.float64) for a in (x, w, dout))
    dx, dw, db = dense.dense_backward(dout, (x, w, np.zeros(w.shape[1])))
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 6.6))
    ax = axes[0]
    h = max(x.shape[1], dout.shape[0])
    right = _matrix(ax, x.T, 0, "$X^T$", rows=(d,))
    right = _matrix(ax, dout, _sign(ax, right, "@", h), "$dY$", cols=(m,))
    right = _matrix(ax, dw, _sign(ax, right, "=", h), "$dW$", cell=(d, m))
    terms = " + ".join(f"{_num(x[k, d])}·{_num(dout[k, m])}" for k in range(x.shape[0]))
    ax.text(right + 0.4, -1, f"dW[{d}, {m}] = {terms}\n= {dw[d, m]:g}: one term per sample",
            va="center", fontsize=9, color=HIGHLIGHT)
    ax = axes[1]
    h = max(dout.shape[0], w.shape[1])
    right = _matrix(ax, dout, 0, "$dY$", rows=(n,))
    right = _matrix(ax, w.T, _sign(ax, right, "@", h), "$W^T$", cols=(d,))
    right = _matrix(ax, dx, _sign(ax, right, "=", h), "$dX$", cell=(n, d))
    terms = " + ".join(f"{_num(dout[n, k])}·{_num(w[d, k])}" for k in range(w.shape[1]))
    ax.text(right + 0.4, -1, f"dX[{n}, {d}] = {terms}\n= {dx[n, d]:g}: one term per output",
            va="center", fontsize=9, color=HIGHLIGHT)
    ax = axes[2]
    right = _matrix(ax, dout, 0, "$dY$", cols=(m,))
    right = _sign(ax, right, "→", dout.shape[0])
    right = _matrix(ax, db[None, :], right, "$db$", cell=(0, m))
    terms = " + ".join(_num(dout[k, m]) for k in range(dout.shape[0]))
    ax.text(right + 0.4, -0.5, f"db[{m}] = {terms} = {db[m]:g}: the sum of\n"
            f"column {m} of dY, the same b in every row", va="center", fontsize=9,
            color=HIGHLIGHT)
    for ax in axes:
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.set_xlim(-0.3, 16)
        ax.set_ylim(-4.2, 1.2)
        ax.axis("off")
    fig.tight_layout()
    return fig
