"""Exercise 6: the fully-connected layer, softmax and cross-entropy.

A dense layer gives every output a weighted sum of all inputs plus a bias. Softmax turns the
last layer's scores (logits) into probabilities, and cross-entropy measures how little
probability the network gave to the right class.
"""

from __future__ import annotations

import numpy as np


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Fully-connected layer: a weighted sum of all inputs plus a bias.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        N samples with D features each (flatten feature maps first). A 1-D ``x`` (one
        sample without the batch axis) raises ValueError naming ``x``: pass ``x[None, :]``
        for one row.
    w : ndarray, shape (D, M)
        One column of weights per output neuron.
    b : ndarray, shape (M,)
        One bias per output neuron.

    Returns
    -------
    out : ndarray, shape (N, M)
        ``out[n, m] = sum_d x[n, d] * w[d, m] + b[m]``.
    cache : tuple
        ``(x, w, b)``, the inputs in that order, kept for the backward pass. N may be 1; an
        integer or ``float32`` ``x`` works too.
    """
    if np.ndim(x) == 1:
        raise ValueError(f"x must be a batch of shape (N, D), got shape {np.shape(x)}: "
                         "pass x[None, :] for one row")
    out = x @ w + b
    return out, (x, w, b)


def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`dense_forward`: the dense layer's backward pass.

    Derived in notebook 06, section "The dense layer's backward pass" (worked with N = 2,
    D = 3, M = 2, then checked numerically).

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        The loss's gradient with respect to the layer's output ``out``. It already carries
        the loss's ``1 / N`` (it comes from a mean over the batch): do not divide again.
    cache : tuple
        ``(x, w, b)``, what :func:`dense_forward` returned beside ``out``: x (N, D),
        w (D, M), b (M,).

    Returns
    -------
    dx : ndarray, shape (N, D)
        ``dx = dout @ w.T``: ``dx[n, d] = sum_m dout[n, m] * w[d, m]``.
    dw : ndarray, shape (D, M)
        ``dw = x.T @ dout``: ``dw[d, m] = sum_n x[n, d] * dout[n, m]``, summed over the
        batch because every row used the same w.
    db : ndarray, shape (M,)
        ``db = dout.sum(axis=0)``: every row used the same b, so the rows' gradients add up.
        N may be 1; an integer x gives float gradients.
    """
    x, w, _ = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Turn each row of scores into probabilities that sum to 1.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        One row of K class scores per sample; values may be in the thousands. A 1-D
        ``logits`` of shape (K,) is one row and gives K probabilities, shape (K,).

    Returns
    -------
    ndarray, shape (N, K), or (K,) for a 1-D row
        ``exp(logits[n, k]) / sum_j exp(logits[n, j])``, computed without overflow even
        when a row's logits differ by thousands; N may be 1, logits may be integers. A new
        array: ``logits`` is left unchanged.
    """
    # Subtracting each row's maximum leaves the result unchanged and keeps exp() finite.
    # axis=-1, the last axis: each row of a batch, or the one row of a 1-D vector.
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the correct classes.

    Parameters
    ----------
    probs : ndarray, shape (N, K)
        Predicted probabilities, each row summing to 1. A 1-D ``probs`` raises ValueError
        naming ``probs``: pass ``probs[None, :]`` for one row.
    labels : ndarray of int, shape (N,)
        The correct class of each sample, from 0 to K - 1.

    Returns
    -------
    float
        ``-mean_n log(probs[n, labels[n]])``, exactly (no epsilon that changes it, even for
        a probability of 1e-6). K is ``probs.shape[1]``: a batch need not contain every
        class. N may be 1.
    """
    if np.ndim(probs) == 1:
        raise ValueError(f"probs must be a batch of shape (N, K), got shape "
                         f"{np.shape(probs)}: pass probs[None, :] for one row")
    n = probs.shape[0]
    picked = probs[np.arange(n), labels]
    return float(-np.mean(np.log(picked)))


def softmax_cross_entropy_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Gradient of ``cross_entropy(softmax(logits), labels)`` with respect to the logits.

    Derived, two classes first and then K, in notebook 06
    (``notebooks/06_fully_connected_and_loss.ipynb``), section "The loss's gradient: p - y,
    derived".

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        Class scores. A 1-D ``logits`` raises ValueError naming ``logits``: pass
        ``logits[None, :]`` for one row.
    labels : ndarray of int, shape (N,)
        The correct classes.

    Returns
    -------
    ndarray, shape (N, K)
        ``(softmax(logits) - one_hot(labels)) / N``: the loss is a mean over N samples.
        K is ``logits.shape[1]`` (a batch need not contain every class); stable for logits
        in the thousands; ``logits`` is left unchanged.
    """
    if np.ndim(logits) == 1:
        raise ValueError(f"logits must be a batch of shape (N, K), got shape "
                         f"{np.shape(logits)}: pass logits[None, :] for one row")
    n = logits.shape[0]
    grad = softmax(logits)
    grad[np.arange(n), labels] -= 1.0
    return grad / n
