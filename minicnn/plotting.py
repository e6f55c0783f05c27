"""The course's figures, all matplotlib, all returning the ``Figure`` they draw.

Shapes are channels-last: an image (H, W) or (H, W, C), feature maps (H', W', F), filters
(F, kh, kw, C). Each function takes an optional ``ax`` (or makes its own figure), so notebooks
can combine them; a notebook ends a figure cell with ``plt.show()``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax=None, figsize=(4, 4)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def show_image(image: np.ndarray, ax=None, title: str | None = None, cmap: str = "gray",
               vmin: float | None = None, vmax: float | None = None, colorbar: bool = False):
    """Show an (H, W), (H, W, 1) or (H, W, 3) image; grayscale uses ``cmap``."""
    fig, ax = _axes(ax)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    im = ax.imshow(image, cmap=None if image.ndim == 3 else cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    if colorbar:
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def show_signed(x: np.ndarray, ax=None, title: str | None = None):
    """Show a 2-D map of signed values: blue negative, white 0, red positive, with a colorbar."""
    limit = float(np.abs(x).max()) or 1.0
    return show_image(x, ax=ax, title=title, cmap="bwr", vmin=-limit, vmax=limit, colorbar=True)


def show_values(array: np.ndarray, ax=None, title: str | None = None, cmap: str = "Blues",
                fmt: str = "{:g}", highlight=None):
    """A small 2-D array as coloured cells with each number written in it.

    ``highlight`` is an optional (top, left, height, width) rectangle to outline, e.g. the
    patch a filter currently covers.
    """
    array = np.asarray(array)
    fig, ax = _axes(ax, figsize=(0.45 * array.shape[1] + 1, 0.45 * array.shape[0] + 1))
    ax.imshow(array, cmap=cmap, interpolation="nearest")
    limit = (np.nanmax(array) + np.nanmin(array)) / 2
    for (i, j), v in np.ndenumerate(array):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                color="white" if v > limit else "black")
    if highlight is not None:
        top, left, h, w = highlight
        ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), w, h, fill=False, ec="red", lw=2))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def grid(n: int, ncols: int | None = None, size: float = 2.0):
    """A figure with at least ``n`` axes in a grid; returns (fig, flat list of the n axes)."""
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def show_images(images, titles=None, ncols: int | None = None, cmap: str = "gray",
                size: float = 2.0):
    """Several images side by side (a list, or an array shaped (N, H, W) or (N, H, W, C))."""
    fig, axes = grid(len(images), ncols, size)
    for k, (ax, image) in enumerate(zip(axes, images, strict=False)):
        show_image(image, ax=ax, title=None if titles is None else titles[k], cmap=cmap)
    fig.tight_layout()
    return fig


def show_feature_maps(maps: np.ndarray, ncols: int | None = None, title: str | None = None,
                      cmap: str = "viridis", size: float = 2.0):
    """Each channel of an (H', W', F) feature map as its own picture."""
    maps = np.asarray(maps)
    fig, axes = grid(maps.shape[2], ncols, size)
    for f, ax in enumerate(axes):
        show_image(maps[:, :, f], ax=ax, title=f"map {f}", cmap=cmap)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_filters(w: np.ndarray, ncols: int | None = None, title: str | None = None,
                 size: float = 1.5, shared_scale: bool | float = False):
    """Filters (F, kh, kw, C), one picture each: in colour when C == 3, otherwise the mean over
    depth on a blue-white-red scale (blue negative, red positive).

    By default each filter gets its own colour scale, which shows its pattern but not how
    strong it is next to the others. ``shared_scale=True`` puts every filter on one scale,
    from minus to plus the largest absolute weight, and adds a colour bar; a number sets that
    limit, so two figures (before and after training, say) can share it.
    """
    w = np.asarray(w)
    fig, axes = grid(w.shape[0], ncols, size)
    limit = _filter_limit(w, shared_scale)
    im = None
    for f, ax in enumerate(axes):
        flt = w[f]
        if flt.shape[2] == 3:
            lo, hi = (-limit, limit) if limit else (flt.min(), flt.max())
            show_image(np.clip((flt - lo) / (hi - lo + 1e-12), 0, 1), ax=ax, title=f"filter {f}")
        else:
            own = limit or np.abs(flt).max()
            show_image(flt.mean(axis=2), ax=ax, title=f"filter {f}", cmap="bwr",
                       vmin=-own, vmax=own)
            im = ax.images[-1]
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if limit and im is not None:
        fig.colorbar(im, ax=axes, fraction=0.02, pad=0.02, label="weight")
    return fig


def _filter_limit(w: np.ndarray, shared_scale: bool | float) -> float:
    if shared_scale is False or shared_scale is None:
        return 0.0
    if shared_scale is True:
        return float(np.abs(w).max()) or 1.0
    return float(shared_scale)


def compare_filters(rows: dict, size: float = 1.3, title: str | None = None):
    """Sets of filters (F, kh, kw, C) in rows, e.g. ``{"before": w0, "after": w1,
    "change": w1 - w0}``: one blue-white-red scale for every picture (the mean over depth),
    minus to plus the largest absolute value shown, and one colour bar for all of them."""
    rows = {name: np.asarray(w) for name, w in rows.items()}
    n = max(w.shape[0] for w in rows.values())
    limit = max(float(np.abs(w.mean(axis=3)).max()) for w in rows.values()) or 1.0
    fig, axes = plt.subplots(len(rows), n, figsize=(size * n + 1.2, size * len(rows)),
                             squeeze=False, layout="constrained")
    for r, (name, w) in enumerate(rows.items()):
        for f in range(n):
            ax = axes[r, f]
            if f >= w.shape[0]:
                ax.axis("off")
                continue
            im = ax.imshow(w[f].mean(axis=2), cmap="bwr", vmin=-limit, vmax=limit,
                           interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"filter {f}")
            if f == 0:
                ax.set_ylabel(name)
    fig.colorbar(im, ax=axes, fraction=0.03, pad=0.02, label="weight")
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history, title: str | None = None):
    """Loss and accuracy per epoch, from :func:`minicnn.train.fit`'s History."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax1.plot(epochs, history["loss"], "o-", label="training")
    ax2.plot(epochs, history["accuracy"], "o-", label="training")
    if "val_loss" in history:
        ax1.plot(epochs, history["val_loss"], "s--", label="validation")
        ax2.plot(epochs, history["val_accuracy"], "s--", label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts: entry [i, j] is how many samples of class i were predicted as class j."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def plot_confusion_matrix(y_true, y_pred, class_names, ax=None):
    """The confusion matrix as a labelled heat map with counts."""
    m = confusion_matrix(y_true, y_pred, len(class_names))
    fig, ax = _axes(ax, figsize=(6.5, 5.5))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > m.max() / 2 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set(xlabel="predicted", ylabel="true")
    fig.tight_layout()
    return fig


def show_predictions(x: np.ndarray, y_true, y_pred, class_names, ncols: int = 6,
                     probs: np.ndarray | None = None):
    """Images with their predicted and true labels; wrong ones titled in red."""
    fig, axes = grid(len(x), ncols, size=1.8)
    for k, ax in enumerate(axes):
        right = y_true[k] == y_pred[k]
        label = class_names[y_pred[k]]
        if probs is not None:
            label += f" {probs[k, y_pred[k]]:.0%}"
        show_image(x[k], ax=ax)
        ax.set_title(label if right else f"{label}\n(is {class_names[y_true[k]]})",
                     color="black" if right else "red", fontsize=8)
    fig.tight_layout()
    return fig
