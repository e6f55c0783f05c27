"""Exercise 1: images as arrays.

A colour image is a 3-D array (H, W, 3): height, width and depth, the depth holding the red,
green and blue intensities (0 to 255). A grayscale image keeps one intensity per pixel.
"""

from __future__ import annotations

import numpy as np


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Turn a colour image into a grayscale one with the luminance weights.

    Our eyes are most sensitive to green and least to blue, so the channels are weighted::

        gray = 0.299 * R + 0.587 * G + 0.114 * B

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        Red, green and blue intensities from 0 to 255, any numeric dtype (``uint8``
        included: beware of overflow if you add ``uint8`` values together).

    Returns
    -------
    ndarray, shape (H, W), dtype float
        The grayscale intensities, still from 0 to 255: a new float array whatever the
        image's dtype (``uint8``, ``int64``, ``float32``...), also for an image one pixel
        high or wide. ``image`` itself is left unchanged.

    Examples
    --------
    >>> to_grayscale(np.array([[[255, 255, 255], [255, 0, 0]]], dtype=np.uint8))
    array([[255.   ,  76.245]])
    """
    # Convert first: uint8 arithmetic wraps around at 256.
    pixels = np.asarray(image, dtype=np.float64)
    red, green, blue = pixels[:, :, 0], pixels[:, :, 1], pixels[:, :, 2]
    return 0.299 * red + 0.587 * green + 0.114 * blue
