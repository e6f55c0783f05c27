"""Exercise 7: the pieces training needs.

Backpropagation through a convolution gives the gradients of the loss with respect to the
batch of images, the filters and the biases; stochastic gradient descent then moves each weight
a little against its gradient.
"""

from __future__ import annotations

import numpy as np


def conv_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a batched convolution with respect to its input, filters and biases.

    In the forward pass each output value is
    ``out[n, i, j, f] = sum(padded[n, i*stride : i*stride+kh, j*stride : j*stride+kw, :]
    * w[f]) + b[f]``. So ``dout[n, i, j, f]`` flows back to that window of the (padded)
    image ``n``, weighted by ``w[f]``; to ``w[f]``, weighted by the window; and to ``b[f]``.

    Derived, with numbers to redo by hand, in notebook 02 (``notebooks/02_convolution.ipynb``),
    sections "The convolution's backward pass in 1-D", "The backward pass in 2-D" and "Stride
    and padding, going back": ``db`` is ``dout`` summed; ``dw`` is the (padded) input
    correlated with ``dout``; ``dx`` is the full convolution of ``dout``, spread out by the
    stride, with the filter rotated by 180 degrees, the padding cropped off. dx, dw and db are
    graded as separate checks.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
        Gradient of the loss with respect to the convolution's output.
    cache : tuple
        ``(x, w, b, stride, padding)``, what the forward pass kept (the package's
        ``conv_forward(x, w, b, stride, padding)`` returns it beside its output): the batch
        ``x`` of shape (N, H, W, C), the filters ``w`` of shape (F, kh, kw, C), the biases
        ``b`` of shape (F,), and the stride and padding of the forward pass.

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
        Gradient with respect to the batch (the padding cropped off again, also when
        ``padding`` is 0), a float array even for an integer ``x``. N may be 1; kernels
        may be non-square.
    dw : ndarray, shape (F, kh, kw, C)
        Gradient with respect to the filters, summed over the batch.
    db : ndarray, shape (F,)
        Gradient with respect to the biases: ``dout`` summed over N, H' and W'.
    """
    x, w, b, stride, padding = cache
    x = np.asarray(x, dtype=np.float64)
    p = padding
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    dpadded = np.zeros_like(padded)
    dw = np.zeros(w.shape)
    n_filters, kh, kw, _ = w.shape
    out_h, out_w = dout.shape[1], dout.shape[2]
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            windows = padded[:, top:top + kh, left:left + kw, :]  # this window of every image
            for f in range(n_filters):
                g = dout[:, i, j, f]  # (N,): one gradient per image
                # every image's window counts towards the shared filter: sum over the batch
                dw[f] += np.tensordot(g, windows, axes=(0, 0))
                dpadded[:, top:top + kh, left:left + kw, :] += g[:, None, None, None] * w[f]
    height, width = x.shape[1], x.shape[2]
    dx = dpadded[:, p:p + height, p:p + width, :]
    db = dout.sum(axis=(0, 1, 2))
    return dx, dw, db


def sgd_step(params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
    """One step of gradient descent, updating every parameter array in place.

    Parameters
    ----------
    params : list of ndarray
        The weights, e.g. ``[conv_w, conv_b, dense_w, dense_b]``. Each array is changed in
        place (the layers keep references to these very arrays).
    grads : list of ndarray
        The gradients, in the same order and with the same shapes as ``params``.
    lr : float
        The learning rate: the step size.

    Returns
    -------
    None
        ``param <- param - lr * grad`` for every pair.
    """
    for param, grad in zip(params, grads, strict=True):
        param -= lr * grad
