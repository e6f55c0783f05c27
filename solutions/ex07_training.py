"""Exercise 7: the pieces training needs.

Backpropagation through a convolution gives the gradients of the loss with respect to the image
and the filters; stochastic gradient descent then moves each weight a little against its
gradient.
"""

from __future__ import annotations

import numpy as np


def conv2d_backward(dout: np.ndarray, image: np.ndarray, filters: np.ndarray, stride: int = 1,
                    padding: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of a convolution (as in ``conv2d``) with respect to its inputs.

    In the forward pass each output value is
    ``out[i, j, f] = sum(padded[i*stride : i*stride+kh, j*stride : j*stride+kw, :] * filters[f])``.
    So ``dout[i, j, f]`` flows back to that window of the (padded) image, weighted by
    ``filters[f]``, and to ``filters[f]``, weighted by the window.

    Parameters
    ----------
    dout : ndarray, shape (H', W', F)
        Gradient of the loss with respect to the convolution's output.
    image : ndarray, shape (H, W, C)
        The input of the forward pass.
    filters : ndarray, shape (F, kh, kw, C)
        The filters of the forward pass.
    stride, padding : int
        As in the forward pass.

    Returns
    -------
    dimage : ndarray, shape (H, W, C)
        Gradient with respect to the image (the padding cropped off again).
    dfilters : ndarray, shape (F, kh, kw, C)
        Gradient with respect to the filters.
    """
    image = np.asarray(image, dtype=np.float64)
    p = padding
    padded = np.pad(image, ((p, p), (p, p), (0, 0)))
    dpadded = np.zeros_like(padded)
    dfilters = np.zeros(filters.shape)
    n_filters, kh, kw, _ = filters.shape
    out_h, out_w = dout.shape[0], dout.shape[1]
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = padded[top:top + kh, left:left + kw, :]
            for f in range(n_filters):
                dfilters[f] += dout[i, j, f] * window
                dpadded[top:top + kh, left:left + kw, :] += dout[i, j, f] * filters[f]
    height, width = image.shape[0], image.shape[1]
    dimage = dpadded[p:p + height, p:p + width, :]
    return dimage, dfilters


def sgd_step(params: list[np.ndarray], grads: list[np.ndarray], learning_rate: float) -> None:
    """One step of gradient descent, updating every parameter array in place.

    Parameters
    ----------
    params : list of ndarray
        The weights, e.g. ``[filters, bias, dense_weights, dense_bias]``. Each array is
        changed in place (the layers keep references to these very arrays).
    grads : list of ndarray
        The gradients, in the same order and with the same shapes as ``params``.
    learning_rate : float
        The step size.

    Returns
    -------
    None
        ``param <- param - learning_rate * grad`` for every pair.
    """
    for param, grad in zip(params, grads, strict=True):
        param -= learning_rate * grad
