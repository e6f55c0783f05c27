"""Chapter 09, what the network sees: a network trained on the full Fashion-MNIST, and tools to
look inside it (:func:`layer_outputs`, :func:`occlusion_map` with its two halves
:func:`occlude` and :func:`average_drops`, :func:`saliency_map`).

Looking inside a network is more rewarding when it has learned well, and training on all 60000
images takes minutes, so the course ships the weights of one such network (about 100 KB).
They are made by ``scripts/train_shipped_model.py`` from the recipe below, with fixed seeds;
re-running the script rebuilds them::

    python scripts/train_shipped_model.py            # needs the full data set (see datasets)

The network, channels-last, for (28, 28, 1) images:

    conv 5x5, 1->16, pad 2 -> ReLU -> max pool 2 -> conv 3x3, 16->32, pad 1 -> ReLU
    -> max pool 2 -> flatten -> dense 1568->10

The first layer uses 5 x 5 filters (the chapter 07 network uses 3 x 3) so the learned filters
are large enough to read as pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minicnn import _checks
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.losses import softmax
from minicnn.network import Sequential

__all__ = ["PRETRAINED_DIR", "MODELS", "RECIPE", "fashion_cnn", "weights_path", "load_pretrained",
           "layer_outputs", "occlude", "average_drops", "occlusion_map", "saliency_map"]

#: Where the shipped weights live.
PRETRAINED_DIR = Path(__file__).resolve().parent / "data" / "pretrained"

#: Names accepted by :func:`load_pretrained`, with what they are.
MODELS: dict[str, str] = {
    "fashion_cnn": "conv5x5(16)-relu-pool-conv3x3(32)-relu-pool-dense(10), full Fashion-MNIST",
}

#: How the shipped weights were trained (read by scripts/train_shipped_model.py).
RECIPE: dict = {
    "data": "full",          # all 60000 training images
    "epochs": 6,             # passes over the training set
    "batch_size": 128,
    "lr": 0.05,              # SGD with momentum
    "momentum": 0.9,
    "seed": 0,               # weights and shuffling
}


def fashion_cnn(seed: int = 0) -> Sequential:
    """The architecture of the shipped network, with fresh random (He) weights.

    Input (N, 28, 28, 1) -> logits (N, 10).
    """
    return Sequential([
        Conv2D(1, 16, 5, padding=2, seed=seed), ReLU(), MaxPool2D(2, 2),
        Conv2D(16, 32, 3, padding=1, seed=seed + 1), ReLU(), MaxPool2D(2, 2),
        Flatten(), Dense(7 * 7 * 32, 10, seed=seed + 2),
    ])


def weights_path(name: str = "fashion_cnn") -> Path:
    """The ``.npz`` file holding the weights of ``name`` (one of ``MODELS``)."""
    if name not in MODELS:
        choices = ", ".join(repr(n) for n in MODELS)
        raise ValueError(f"name must be one of {choices}, got {name!r}")
    return PRETRAINED_DIR / f"{name}.npz"


def load_pretrained(name: str = "fashion_cnn") -> Sequential:
    """The shipped trained network ``name``, ready to predict.

    Returns
    -------
    Sequential
        Input (N, 28, 28, 1) float32 in [0, 1], output logits (N, 10) in the order of
        ``minicnn.datasets.FASHION_MNIST_CLASSES``.

    Raises
    ------
    FileNotFoundError
        When the weights file is missing; the message says how to rebuild it.
    """
    path = weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall minicnn, or rebuild it with "
                                "`python scripts/train_shipped_model.py` (needs the full "
                                "Fashion-MNIST, see minicnn.datasets)")
    return Sequential.load(path)


# --- looking inside ------------------------------------------------------------------------

def _one_image(image) -> np.ndarray:
    image = _checks.array("image", image, (2, 3), "(H, W) or (H, W, C)")
    return image[:, :, np.newaxis] if image.ndim == 2 else image


def _check_label(label, n_classes: int) -> int:
    label = _checks.positive_int("label", label, allow_zero=True)
    if label >= n_classes:
        raise ValueError(f"label must be a class number 0..{n_classes - 1}, got {label}")
    return label


def layer_outputs(model: Sequential, image: np.ndarray) -> list[np.ndarray]:
    """What each layer of ``model`` makes of one image.

    Parameters
    ----------
    image : ndarray, shape (H, W, C) or (H, W)

    Returns
    -------
    list of ndarray
        One per layer, without the batch axis: feature maps (H', W', F) after conv, ReLU and
        pooling layers, vectors after flatten and dense layers.
    """
    x = _one_image(image)[np.newaxis].astype(np.float32)
    outs = []
    for layer in model.layers:
        x = layer.forward(x)
        outs.append(x[0])
    return outs


def _corners(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the patch positions, row by row."""
    return [(top, left) for top in range(0, height - patch + 1, stride)
            for left in range(0, width - patch + 1, stride)]


def occlude(image: np.ndarray, patch: int = 6, stride: int = 2,
            fill: float = 0.0) -> np.ndarray:
    """Copies of ``image``, each with one square patch covered: the inputs of an occlusion map.

    The patch's top-left corner visits the rows ``0, stride, 2*stride, ...`` up to
    ``H - patch`` and the same columns up to ``W - patch``, row by row:
    ``n_rows = (H - patch) // stride + 1`` and ``n_cols = (W - patch) // stride + 1``
    positions. Copy ``k`` is the image with ``copy[top:top+patch, left:left+patch, :] = fill``
    for the k-th position.

    Parameters
    ----------
    image : ndarray, shape (H, W, C) or (H, W)
    patch, stride : int
        The side of the square patch and how far it moves between positions.
    fill : float
        The value of the covered pixels (0 is Fashion-MNIST's black background).

    Returns
    -------
    ndarray, shape (n_rows * n_cols, H, W, C)
        The covered copies, in row-by-row order of the positions; ``image`` unchanged.
    """
    x = _one_image(image)
    h, w = x.shape[:2]
    patch = _checks.positive_int("patch", patch)
    stride = _checks.positive_int("stride", stride)
    if patch > min(h, w):
        raise ValueError(f"patch={patch} is larger than the image ({h} x {w}); use at most "
                         f"{min(h, w)}")
    corners = _corners(h, w, patch, stride)
    batch = np.repeat(x[np.newaxis], len(corners), axis=0).astype(np.result_type(x, float))
    for k, (top, left) in enumerate(corners):
        batch[k, top:top + patch, left:left + patch, :] = fill
    return batch


def average_drops(drops: np.ndarray, height: int, width: int, patch: int = 6,
                  stride: int = 2) -> np.ndarray:
    """The occlusion map: each pixel's mean drop over the patch positions that covered it.

    Parameters
    ----------
    drops : ndarray, shape (N,)
        One drop per position of :func:`occlude` (row by row),
        ``N = ((height - patch) // stride + 1) * ((width - patch) // stride + 1)``.
    height, width : int
        The size of the covered image.
    patch, stride : int
        As given to :func:`occlude`.

    Returns
    -------
    ndarray, shape (height, width)
        ``total / count`` per pixel (the drops of the patches covering it, added up, over their
        number); 0 where no patch reached.
    """
    drops = np.asarray(drops, dtype=np.float64)
    patch = _checks.positive_int("patch", patch)
    stride = _checks.positive_int("stride", stride)
    corners = _corners(height, width, patch, stride)
    if drops.shape != (len(corners),):
        raise ValueError(f"drops must hold one value per patch position, {len(corners)} for a "
                         f"{height} x {width} image with patch={patch} and stride={stride}; "
                         f"got shape {drops.shape}")
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for (top, left), d in zip(corners, drops, strict=True):
        total[top:top + patch, left:left + patch] += d
        count[top:top + patch, left:left + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def occlusion_map(model: Sequential, image: np.ndarray, label: int, patch: int = 6,
                  stride: int = 2, fill: float = 0.0, measure: str = "probability") -> np.ndarray:
    """Where the network looks: how much the class loses when a patch of the image is hidden.

    A ``patch`` x ``patch`` square of value ``fill`` is slid over the image with step
    ``stride`` (:func:`occlude`); for each position the probability (or score) of class
    ``label`` is compared with that of the intact image, and each pixel gets the mean drop of
    the positions that covered it (:func:`average_drops`). Large values mark the regions the
    decision depends on.

    Parameters
    ----------
    image : ndarray, shape (H, W, C) or (H, W)
    label : int
        The class to watch (usually the true one).
    patch, stride : int
        Positions per axis: ``(H - patch) // stride + 1``.
    fill : float
        The value of the hiding patch (0 is Fashion-MNIST's black background).
    measure : {"probability", "score"}
        What drops: the softmax probability of ``label``, or its score (logit). A very sure
        network keeps a probability near 1 under most patches; its score still moves.

    Returns
    -------
    ndarray, shape (H, W)
        Each pixel's mean drop over the patch positions that covered it
        (negative where hiding the region made the network *more* sure).
    """
    if measure not in ("probability", "score"):
        raise ValueError(f"measure must be 'probability' or 'score', got {measure!r}")
    x = _one_image(image).astype(np.float32)
    batch = occlude(x, patch, stride, fill).astype(np.float32)
    f = softmax if measure == "probability" else np.asarray
    out = f(model.forward(x[np.newaxis]))
    label = _check_label(label, out.shape[1])
    drops = float(out[0, label]) - f(model.forward(batch))[:, label]
    return average_drops(drops, x.shape[0], x.shape[1], patch, stride)


def saliency_map(model: Sequential, image: np.ndarray, label: int) -> np.ndarray:
    """How strongly each pixel sways the class score: ``|d score / d pixel|``.

    The score is the logit of class ``label``; its gradient with respect to the input comes
    from ``model.backward`` (backpropagation all the way to the pixels).

    Returns
    -------
    ndarray, shape (H, W)
        The gradient's magnitude, the largest over channels.
    """
    x = _one_image(image)[np.newaxis].astype(np.float32)
    logits = model.forward(x)
    label = _check_label(label, logits.shape[1])
    dlogits = np.zeros_like(logits)
    dlogits[0, label] = 1.0
    dx = model.backward(dlogits)
    return np.abs(dx[0]).max(axis=2)
