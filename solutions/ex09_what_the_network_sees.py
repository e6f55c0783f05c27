"""Exercise 9: an occlusion map, the two halves around the network.

Cover one square patch of an image at a time and watch the class score: where covering the
image costs the score most, the network was looking. ``occlude`` makes the covered copies (one
batch for one forward pass of the network); ``average_drops`` turns each copy's drop of the
score back into a map of the image.
"""

from __future__ import annotations

import numpy as np


def occlude(image: np.ndarray, patch: int = 6, stride: int = 2, fill: float = 0.0) -> np.ndarray:
    """Copies of ``image``, each with one square patch covered: the inputs of an occlusion map.

    The patch's top-left corner visits the rows ``0, stride, 2*stride, ...`` up to
    ``H - patch`` and the same columns up to ``W - patch``, row by row (the outer loop over the
    rows): ``n_rows = (H - patch) // stride + 1`` and ``n_cols = (W - patch) // stride + 1``
    positions, as many as a pooling window has (positions that do not fit are dropped). Copy
    ``k`` is the image with ``copy[top:top+patch, left:left+patch, :] = fill`` for the k-th
    position; every copy starts from the intact image.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)
        The image to cover, channels last.
    patch : int
        The side of the square patch.
    stride : int
        How far the patch moves between positions.
    fill : float
        The value of the covered pixels (0 is Fashion-MNIST's black background).

    Returns
    -------
    ndarray, shape (n_rows * n_cols, H, W, C)
        The covered copies, in row-by-row order of the positions; ``image`` unchanged.

    Raises
    ------
    ValueError
        When ``patch`` is larger than the image's height or width (the message names
        ``patch``).
    """
    x = np.asarray(image)
    h, w = x.shape[:2]
    if patch > min(h, w):
        raise ValueError(f"patch={patch!r} is larger than the image ({h} x {w}); use at most "
                         f"{min(h, w)}")
    n_rows = (h - patch) // stride + 1
    n_cols = (w - patch) // stride + 1
    out = np.empty((n_rows * n_cols, *x.shape), dtype=np.result_type(x, float))
    k = 0
    for i in range(n_rows):
        for j in range(n_cols):
            top, left = i * stride, j * stride
            out[k] = x
            out[k, top:top + patch, left:left + patch, :] = fill
            k += 1
    return out


def average_drops(drops: np.ndarray, height: int, width: int, patch: int = 6,
                  stride: int = 2) -> np.ndarray:
    """The occlusion map: each pixel's mean drop over the patch positions that covered it.

    ``drops[k]`` is how much the class score fell when the k-th patch position was covered
    (the positions of ``occlude``, row by row). Every pixel of that patch gets ``drops[k]``;
    a pixel covered by several patches (``stride < patch``) gets the mean of their drops; a
    pixel that no patch covered gets 0.

    Parameters
    ----------
    drops : ndarray, shape (N,)
        One drop per position, ``N = ((height - patch) // stride + 1) * ((width - patch) //
        stride + 1)``.
    height, width : int
        The size of the image that was covered.
    patch, stride : int
        The patch's side and step, as given to ``occlude``.

    Returns
    -------
    ndarray, shape (height, width)
        ``total / count`` per pixel, where ``total`` adds up the drops of the patches covering
        the pixel and ``count`` counts them; 0 where ``count`` is 0.

    Raises
    ------
    ValueError
        When ``drops`` does not hold one value per position (the message names ``drops``).
    """
    drops = np.asarray(drops, dtype=np.float64)
    n_rows = (height - patch) // stride + 1
    n_cols = (width - patch) // stride + 1
    if drops.shape != (n_rows * n_cols,):
        raise ValueError(f"drops must hold one value per patch position, {n_rows * n_cols} "
                         f"for a {height} x {width} image with patch={patch} and "
                         f"stride={stride}; got shape {drops.shape}")
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    k = 0
    for i in range(n_rows):
        for j in range(n_cols):
            top, left = i * stride, j * stride
            total[top:top + patch, left:left + patch] += drops[k]
            count[top:top + patch, left:left + patch] += 1
            k += 1
    out = np.zeros((height, width))
    np.divide(total, count, out=out, where=count > 0)
    return out
