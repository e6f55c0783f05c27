"""The receptive field: which input pixels one unit of a later layer sees (chapter 08).

A stack is described by the tuples of :mod:`minicnn.stacks` (``("conv", F, k, s, p)``,
``("pool", size, s)``). Along one side, unit ``i`` of a layer sees the input pixels
``i * j - P`` to ``i * j - P + r - 1``, where ``r`` is the receptive field, ``j`` the jump
(the product of the strides before) and ``P`` the padding of the layers before, each counted
in input pixels (``P += p * j`` at each conv).

- :func:`plot_receptive_field_1d`: one row of units per layer, and the lines from one unit of
  the last layer down to every input pixel it depends on.
- :func:`plot_receptive_field_on_image`: the square each layer's unit sees, drawn on an image.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from minicnn.plotting import _axes
from minicnn.stacks import receptive_field_steps

__all__ = ["geometry", "plot_receptive_field_1d", "plot_receptive_field_on_image"]

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def geometry(layers, n: int) -> list[dict]:
    """For the input and each layer, along one side of ``n`` input pixels: ``size`` (units),
    ``k``, ``s``, ``p``, ``r`` (receptive field), ``j`` (jump), ``offset`` (where unit 0's view
    starts, in input pixels) and ``label``."""
    rows = [{"size": n, "k": 1, "s": 1, "p": 0, "r": 1, "j": 1, "offset": 0, "label": "input"}]
    for layer, (r, j) in zip(layers, receptive_field_steps(layers), strict=True):
        before = rows[-1]
        if layer[0] == "conv":
            k, s, p = layer[2:5]
            label = f"conv {k}x{k}, stride {s}" + (f", pad {p}" if p else "")
        else:
            (k, s), p = layer[1:3], 0
            label = f"pool {k}x{k}, stride {s}"
        size = (before["size"] - k + 2 * p) // s + 1
        if size < 1:
            raise ValueError(f"layers: {layer!r} leaves no units of {before['size']}; use a "
                             f"larger n")
        rows.append({"size": size, "k": k, "s": s, "p": p, "r": r, "j": j,
                     "offset": before["offset"] - p * before["j"], "label": label})
    return rows


def _seen(rows, unit: int) -> list[set[int]]:
    """The units of each row that ``unit`` of the last row depends on (last row first)."""
    seen = [{unit}]
    for upper, lower in zip(rows[:0:-1], rows[-2::-1], strict=True):
        below = set()
        for i in seen[-1]:
            start = i * upper["s"] - upper["p"]
            below |= {m for m in range(start, start + upper["k"]) if 0 <= m < lower["size"]}
        seen.append(below)
    return seen[::-1]


def plot_receptive_field_1d(layers, n: int = 16, unit: int | None = None, ax=None):
    """One row of units per layer (input at the bottom), each unit drawn at the centre of the
    pixels it sees; the units that one unit of the last layer depends on are coloured and
    joined. Each row is labelled with its receptive field ``r`` and jump ``j``.

    Parameters
    ----------
    layers : list of tuples
        Conv and pool layers as in :mod:`minicnn.stacks`.
    n : int
        Input pixels along the side drawn.
    unit : int, optional
        Which unit of the last layer (default: the middle one).
    """
    rows = geometry(layers, n)
    if unit is None:
        unit = (rows[-1]["size"] - 1) // 2
    seen = _seen(rows, unit)
    fig, ax = _axes(ax, figsize=(8, 0.9 * len(rows) + 0.8))

    def x_of(row, i):
        return row["offset"] + i * row["j"] + (row["r"] - 1) / 2

    for level, (row, used) in enumerate(zip(rows, seen, strict=True)):
        color = COLORS[(level - 1) % len(COLORS)] if level else "0.2"
        if level:
            below = rows[level - 1]
            for i in used:
                start = i * row["s"] - row["p"]
                for m in seen[level - 1] & set(range(start, start + row["k"])):
                    ax.plot([x_of(row, i), x_of(below, m)], [level, level - 1], color=color,
                            lw=0.8, alpha=0.6, zorder=1)
        for i in range(row["size"]):
            on = i in used
            ax.add_patch(Rectangle((x_of(row, i) - 0.4, level - 0.2), 0.8, 0.4, zorder=2,
                                   facecolor=color if on else "white",
                                   edgecolor=color if on else "0.6"))
        text = row["label"] + ("" if not level else f":  r = {row['r']}, j = {row['j']}")
        ax.text(-1.2, level, text, ha="right", va="center", fontsize=8)
    ax.set_xlim(-1, n)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.axis("off")
    ax.set_title(f"one unit of the last layer sees {rows[-1]['r']} input pixels "
                 f"({len(seen[0])} of them inside the image, the rest padding)"
                 if len(seen[0]) < rows[-1]["r"] else
                 f"one unit of the last layer sees {rows[-1]['r']} input pixels", fontsize=9)
    fig.tight_layout()
    return fig


def plot_receptive_field_on_image(image: np.ndarray, layers, ax=None):
    """The image, with the square of pixels seen by one unit of each layer.

    The unit of the last layer is the one nearest the centre; below it, each layer's unit is
    the first one (top left) that the unit above reads, so all squares share their top-left
    corner and each holds the one before. ``image`` is (H, W) or (H, W, 1).
    """
    img = np.asarray(image)
    img = img[..., 0] if img.ndim == 3 else img
    rows = geometry(layers, min(img.shape[:2]))
    units = [(rows[-1]["size"] - 1) // 2]
    for row in rows[:0:-1]:
        units.append(max(0, units[-1] * row["s"] - row["p"]))
    units = units[::-1]  # units[l] for rows[l]
    fig, ax = _axes(ax, figsize=(6.4, 3.4))
    ax.imshow(img, cmap="gray_r")
    for level, row in enumerate(rows[1:], start=1):
        start = row["offset"] + units[level] * row["j"] - 0.5
        ax.add_patch(Rectangle((start, start), row["r"], row["r"], fill=False, lw=2,
                               edgecolor=COLORS[(level - 1) % len(COLORS)],
                               label=f"layer {level}, {row['label']}: "
                                     f"{row['r']} x {row['r']} pixels"))
    ax.set(xlim=(-0.5, img.shape[1] - 0.5), ylim=(img.shape[0] - 0.5, -0.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


if __name__ == "__main__":  # a quick look: python -m minicnn.figures.receptive_field
    plot_receptive_field_1d([("conv", 8, 3, 1, 1), ("pool", 2, 2), ("conv", 16, 3, 1, 1),
                             ("pool", 2, 2)], n=20)
    plt.show()
