"""Figures of chapter 02: why convolution beats a dense layer, the patch matrix (im2col), and
which outputs one input pixel touched (the convolution's backward pass).

Two small helpers let the notebook write the backward pass's formulas as they read:
:func:`slide_1d` (a 1-D cross-correlation, the 1-D twin of :func:`minicnn.conv.convolve`) and
:func:`spread_out` (``dout`` with ``stride - 1`` zeros between its values). The package's
own backward pass is :func:`minicnn.conv.conv_backward`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Rectangle

__all__ = ["dense_vs_conv", "patch_matrix", "slide_1d", "spread_out", "touched_outputs"]


def slide_1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slide ``w`` along ``x`` and take a dot product at each position (no flip, no padding).

    ``out[i] = sum_k x[i + k] * w[k]``, for i = 0 .. len(x) - len(w).
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if w.ndim != 1 or x.ndim != 1 or len(w) > len(x):
        raise ValueError(f"need 1-D x and w with len(w) <= len(x), got shapes {x.shape} and "
                         f"{w.shape}")
    return np.array([np.dot(x[i:i + len(w)], w) for i in range(len(x) - len(w) + 1)])


def spread_out(dout: np.ndarray, stride: int) -> np.ndarray:
    """``dout`` (length L, or H' x W') with ``stride - 1`` zeros put between its values.

    With stride s an output position i read the window starting at i * s; spread out, the
    gradient ``dout[i]`` sits at index i * s, where that window starts.
    """
    dout = np.asarray(dout, dtype=float)
    shape = tuple((n - 1) * stride + 1 for n in dout.shape)
    spread = np.zeros(shape)
    spread[tuple(slice(None, None, stride) for _ in shape)] = dout
    return spread


def _grid(ax, shape, x0=0.0, y0=0.0, fc="white", labels=None, fontsize=8):
    cells = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    ax.add_collection(PatchCollection(
        [Rectangle((x0 + j, y0 + i), 1, 1) for i, j in cells], edgecolors="0.4",
        linewidths=0.8, facecolors=[fc(i, j) if callable(fc) else fc for i, j in cells]))
    for i, j in cells if labels is not None else ():
        text = labels(i, j)
        if text:
            ax.text(x0 + j + 0.5, y0 + i + 0.5, text, ha="center", va="center",
                    fontsize=fontsize)


def touched_outputs(size: int, k: int, pixel: tuple[int, int], stride: int = 1,
                    padding: int = 0, ax=None):
    """Which output positions read one input pixel, and with which filter weight.

    Left: the (size x size) input (its padding in grey), the pixel in orange. Right: the
    output; each position whose window covered the pixel is orange and says which weight
    ``w[a, b]`` of the filter met the pixel there, ``(a, b) = pixel + padding - stride * (i,
    j)``. Read the right grid: the weights appear rotated by 180 degrees, which is why dx is a
    convolution with the rotated filter.

    Returns
    -------
    matplotlib.figure.Figure
    """
    padded = size + 2 * padding
    out = (padded - k) // stride + 1
    r, c = pixel[0] + padding, pixel[1] + padding
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.42 * (padded + out) + 2.2, 0.42 * padded + 1.0))
    else:
        fig = ax.figure

    def weight(i, j):
        a, b = r - stride * i, c - stride * j
        return (a, b) if 0 <= a < k and 0 <= b < k else None

    def input_colour(i, j):
        if (i, j) == (r, c):
            return "tab:orange"
        inside = padding <= i < padding + size and padding <= j < padding + size
        return "white" if inside else "0.85"

    _grid(ax, (padded, padded), fc=input_colour)
    x0 = padded + 1.5
    _grid(ax, (out, out), x0=x0, fc=lambda i, j: "#fdd0a2" if weight(i, j) else "white",
          labels=lambda i, j: "w[{},{}]".format(*weight(i, j)) if weight(i, j) else "",
          fontsize=7)
    touched = sum(weight(i, j) is not None for i in range(out) for j in range(out))
    ax.text(padded / 2, -0.4, f"input {size} x {size}" + (f", padding {padding}" if padding
                                                           else "") + f"; pixel {pixel}",
            ha="center", va="bottom", fontsize=9)
    ax.text(x0 + out / 2, -0.4, f"output {out} x {out}: {touched} position"
            f"{'s' if touched != 1 else ''} read it", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.2, x0 + out + 0.2)
    ax.set_ylim(padded + 0.2, -1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def dense_vs_conv(h: int, w: int, k: int, n_filters: int):
    """One output value's connections, and the weights of both layers, on an h x w image.

    Left: a dense layer's output value is wired to all h * w pixels; a conv layer's to the
    k x k patch under its filter, with the same k * k weights at every position. Right: the
    parameter counts of the two layers (biases included) giving the same number of outputs,
    on a log scale.

    Returns
    -------
    fig : matplotlib.figure.Figure
    counts : dict
        ``{"dense": ..., "conv": ...}``, the numbers drawn.
    """
    out_h, out_w = h - k + 1, w - k + 1
    outputs = out_h * out_w * n_filters
    counts = {"dense": h * w * outputs + outputs, "conv": n_filters * (k * k + 1)}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1, 1.2]})
    for ax, kind in zip(axes[:2], ("dense", "conv"), strict=True):
        # the pixels as one image (a patch per pixel would be slow to draw), grid lines on top
        colours = np.ones((h, w, 3))
        if kind == "dense":
            colours[:] = (0.78, 0.86, 0.94)
        else:
            colours[4:4 + k, 5:5 + k] = (0.99, 0.68, 0.42)
        ax.imshow(colours, extent=(0, w, h, 0), interpolation="nearest")
        ax.add_collection(LineCollection(
            [[(0, i), (w, i)] for i in range(h + 1)] + [[(j, 0), (j, h)] for j in range(w + 1)],
            colors="0.4", linewidths=0.5))
        target = (w + 3, h / 2)
        cells = [(i, j) for i in range(h) for j in range(w)] if kind == "dense" else [
            (i, j) for i in range(4, 4 + k) for j in range(5, 5 + k)]
        ax.add_collection(LineCollection(
            [[(j + 0.5, i + 0.5), target] for i, j in cells], colors="tab:blue",
            linewidths=0.15 if kind == "dense" else 0.8, alpha=0.5 if kind == "dense" else 1))
        ax.add_patch(plt.Circle(target, 0.9, fc="tab:orange", ec="0.2"))
        wired = h * w if kind == "dense" else k * k
        ax.set_title(f"{kind}: one output value reads {wired} pixels", fontsize=10)
        ax.set_xlim(-0.5, w + 4.5)
        ax.set_ylim(h + 0.5, -0.5)
        ax.set_aspect("equal")
        ax.axis("off")
    ax = axes[2]
    bars = ax.bar(["dense layer", "conv layer"], [counts["dense"], counts["conv"]],
                  color=["tab:blue", "tab:orange"])
    ax.set_yscale("log")
    for bar, n in zip(bars, (counts["dense"], counts["conv"]), strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, n * 1.3, f"{n:,}", ha="center", fontsize=9)
    ax.set_ylim(10, counts["dense"] * 20)
    ax.set_ylabel("parameters (log scale)")
    ax.set_title(f"{h} x {w} image -> {out_h} x {out_w} x {n_filters} outputs", fontsize=10)
    fig.tight_layout()
    return fig, counts


def patch_matrix(image: np.ndarray, kernel: np.ndarray, rows_shown: int = 10):
    """im2col on a small 2-D image: every k x k patch becomes one row of a matrix.

    Left: the image with the first two patches outlined. Middle: the first ``rows_shown`` rows
    of the patch matrix (one row per output position, k * k columns). Right: the matrix times
    the flattened kernel gives one number per row: the feature map, read row by row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from minicnn import conv

    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    cols = conv.im2col(image[None, :, :, None], kh, kw, 1, out_h, out_w).reshape(-1, kh * kw)
    scores = cols @ kernel.ravel()
    fig, axes = plt.subplots(1, 4, figsize=(13, 4.6),
                             gridspec_kw={"width_ratios": [image.shape[1], kh * kw, 1.6, 1.2]})
    ax = axes[0]
    ax.imshow(image, cmap="Blues", vmin=0, vmax=1.5)
    for (top, left), color in (((0, 0), "tab:orange"), ((0, 1), "tab:green")):
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), kw, kh, fill=False, ec=color, lw=2.5))
    ax.set_title(f"image {image.shape[0]} x {image.shape[1]}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax = axes[1]
    shown = cols[:rows_shown]
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1.5, aspect="auto")
    for (i, j), v in np.ndenumerate(shown):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7)
    for row, color in ((0, "tab:orange"), (1, "tab:green")):
        ax.add_patch(Rectangle((-0.5, row - 0.5), kh * kw, 1, fill=False, ec=color, lw=2.5))
    ax.set_title(f"patch matrix {cols.shape[0]} x {cols.shape[1]}\n(first {rows_shown} rows)",
                 fontsize=10)
    ax.set_xticks(range(kh * kw))
    ax.set_xticklabels([f"{a}{b}" for a in range(kh) for b in range(kw)], fontsize=6)
    ax.set_xlabel("patch cell (row, column)", fontsize=8)
    ax.set_yticks(range(rows_shown))
    ax.set_yticklabels([f"({i // out_w},{i % out_w})" for i in range(rows_shown)], fontsize=7)
    ax.set_ylabel("output position", fontsize=8)
    ax = axes[2]
    ax.imshow(kernel.reshape(-1, 1), cmap="Oranges", vmin=0, vmax=1.5, aspect="auto")
    for i, v in enumerate(kernel.ravel()):
        ax.text(0, i, f"{v:g}", ha="center", va="center", fontsize=8)
    ax.set_title("@ kernel,\nflattened", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax = axes[3]
    ax.imshow(scores[:rows_shown, None], cmap="Oranges", vmin=0, vmax=3, aspect="auto")
    for i, v in enumerate(scores[:rows_shown]):
        ax.text(0, i, f"{v:g}", ha="center", va="center", fontsize=8)
    ax.set_title(f"= {len(scores)} scores\n(first {rows_shown})", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig
