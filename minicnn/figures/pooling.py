"""Where the gradient of a pooling layer goes (chapter 05).

:func:`plot_pool_backward` draws three panels side by side: the input with each window
outlined in its own colour (for max pooling each window's maximum is ringed in that colour),
the upstream gradient ``dout`` with one cell per window in the same colours, and ``dx``, which
holds what every input position received. Max pooling sends all of a window's ``dout`` to the
first position of its maximum (row-major order); average pooling shares it out equally,
``dout / size**2`` to each position. Where windows overlap (stride < size) the shares add up,
and ``dx`` marks the positions that received from more than one window.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from minicnn import pooling
from minicnn.shapes import pool_output_shape

__all__ = ["COLOURS", "window_maxima", "plot_pool_backward"]

#: One colour per window, repeated when there are more windows than colours.
COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:purple", "tab:blue", "tab:brown",
           "tab:pink", "tab:olive", "tab:cyan")


def window_maxima(x: np.ndarray, size: int, stride: int) -> dict[tuple[int, int], tuple]:
    """``{(i, j): (row, col)}``: where in ``x`` (H, W) window (i, j) has its first maximum.

    "First" is in row-major order, the position ``np.argmax`` picks and the one
    :func:`minicnn.pooling.max_pool_backward` credits when values tie.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be one (H, W) map, got shape {x.shape}; pick a channel, "
                         "e.g. x[:, :, 0]")
    out_h, out_w = pool_output_shape(x.shape, size, stride)
    found = {}
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            found[(i, j)] = (i * stride + int(r), j * stride + int(c))
    return found


def _cells(ax, array: np.ndarray, title: str, fmt: str, signed: bool) -> None:
    """Each number in its cell, black on a light background: red positive, blue negative
    (``signed``) or light to mid grey (the input)."""
    top = float(np.max(np.abs(array))) or 1.0
    if signed:
        ax.imshow(array, cmap="RdBu_r", vmin=-1.6 * top, vmax=1.6 * top)
    else:
        ax.imshow(array, cmap="Greys", vmin=float(np.min(array)), vmax=2.2 * top)
    for (i, j), v in np.ndenumerate(array):
        ax.text(j, i, fmt.format(v + 0.0), ha="center", va="center", fontsize=9)
    ax.set(xticks=[], yticks=[], title=title)


def plot_pool_backward(x: np.ndarray, dout: np.ndarray, size: int = 2, stride: int = 2,
                       mode: str = "max", title: str | None = None):
    """Three panels: ``x`` with its windows, ``dout``, and the ``dx`` pooling's backward gives.

    Parameters
    ----------
    x : ndarray, shape (H, W)
        The input of the forward pass.
    dout : ndarray, shape (H', W')
        The upstream gradient, one number per window.
    size, stride : int
        The pooling window and its stride.
    mode : "max" or "avg"
    title : str, optional
        A title above the three panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    forward = pooling.max_pool_forward if mode == "max" else pooling.avg_pool_forward
    out, cache = forward(x, size, stride)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have the pooled shape {out.shape}, got {dout.shape}")
    backward = pooling.max_pool_backward if mode == "max" else pooling.avg_pool_backward
    dx = backward(dout, cache)

    h, w = x.shape
    fig, axes = plt.subplots(
        1, 3, figsize=(0.5 * (2 * w + out.shape[1]) + 3, 0.5 * h + 1.4),
        gridspec_kw={"width_ratios": [w, max(out.shape[1], 2), w]})
    _cells(axes[0], x, "input x, windows outlined", "{:g}", signed=False)
    _cells(axes[1], dout, "dout", "{:g}", signed=True)
    _cells(axes[2], dx, f"dx ({mode} pool backward)", "{:.3g}", signed=True)
    maxima = window_maxima(x, size, stride) if mode == "max" else {}
    receivers = np.zeros(x.shape, dtype=int)
    inset = 0.06
    for n, (i, j) in enumerate(np.ndindex(out.shape)):
        colour = COLOURS[n % len(COLOURS)]
        top, left = i * stride, j * stride
        # overlapping windows are drawn slightly inset by their index so each stays visible
        pad = inset * (1 + n % 3) if stride < size else inset
        axes[0].add_patch(plt.Rectangle((left - 0.5 + pad, top - 0.5 + pad), size - 2 * pad,
                                        size - 2 * pad, fill=False, ec=colour, lw=2))
        axes[1].add_patch(plt.Rectangle((j - 0.5 + inset, i - 0.5 + inset), 1 - 2 * inset,
                                        1 - 2 * inset, fill=False, ec=colour, lw=2.5))
        if mode == "max":
            r, c = maxima[(i, j)]
            receivers[r, c] += 1
            for ax in (axes[0], axes[2]):
                ax.add_patch(plt.Circle((c, r), 0.36 - 0.07 * (receivers[r, c] - 1),
                                        fill=False, ec=colour, lw=2))
        else:
            receivers[top:top + size, left:left + size] += 1
            axes[2].add_patch(plt.Rectangle((left - 0.5 + pad, top - 0.5 + pad),
                                            size - 2 * pad, size - 2 * pad, fill=False,
                                            ec=colour, lw=2))
    for r, c in zip(*np.nonzero(receivers > 1), strict=True):
        axes[2].text(c + 0.45, r - 0.45, f"x{receivers[r, c]}", ha="right", va="top",
                     fontsize=8, fontweight="bold",
                     bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"})
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
