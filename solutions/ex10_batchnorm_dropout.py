"""Exercise 10: batch normalisation and dropout, forward and backward.

Batch normalisation gives every feature (every channel of an image batch) mean 0 and variance 1
over the batch while training, then a learned scale and shift; at inference it uses running
averages of the training batches' statistics instead. Inverted dropout drops values at random
while training and scales up the rest; at inference it does nothing.
"""

from __future__ import annotations

import numpy as np


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      running_mean: np.ndarray, running_var: np.ndarray,
                      training: bool = True, momentum: float = 0.1,
                      eps: float = 1e-5) -> tuple[np.ndarray, tuple]:
    """Batch normalisation of the last axis, forward.

    ``axes`` are all the axes but the last: (0,) for x (N, D), (0, 1, 2) for x (N, H, W, C).
    Training: ``mean = x.mean(axes)``, ``var = x.var(axes)`` (the batch's own, divided by m,
    not m - 1), and the running averages are updated in place,
    ``running_mean[...] = (1 - momentum) * running_mean + momentum * mean`` (likewise
    ``running_var`` with ``var``). Inference (``training=False``): ``mean = running_mean`` and
    ``var = running_var``, nothing updated. Then ``inv_std = 1 / sqrt(var + eps)``,
    ``x_hat = (x - mean) * inv_std`` and ``out = gamma * x_hat + beta``.

    Parameters
    ----------
    x : ndarray, shape (N, D) or (N, H, W, C)
    gamma, beta : ndarray, shape (D,) or (C,)
    running_mean, running_var : ndarray, shape (D,) or (C,)
    training : bool
    momentum, eps : float

    Returns
    -------
    out : ndarray, same shape as x
    cache : tuple ``(x_hat, inv_std, gamma, training)``
    """
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        running_var[...] = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma, training)


def batchnorm_backward(dout: np.ndarray, cache: tuple
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation of the last axis, backward.

    With sums over all axes but the last, ``m`` values per feature and
    ``dx_hat = dout * gamma``: ``dgamma = sum(dout * x_hat)``, ``dbeta = sum(dout)``, and in
    training mode, where the mean and the variance depend on every input,
    ``dx = (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) * inv_std / m``; in
    inference mode, where they are constants, ``dx = dx_hat * inv_std``.

    Parameters
    ----------
    dout : ndarray, shape (N, D) or (N, H, W, C)
    cache : tuple ``(x_hat, inv_std, gamma, training)`` from :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray, same shape as dout
    dgamma, dbeta : ndarray, shape (D,) or (C,)
    """
    x_hat, inv_std, gamma, training = cache
    axes = tuple(range(dout.ndim - 1))
    dgamma = (dout * x_hat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dx_hat = dout * gamma
    if not training:
        return dx_hat * inv_std, dgamma, dbeta
    m = dout.size // dout.shape[-1]
    dx = (m * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes)) \
        * inv_std / m
    return dx, dgamma, dbeta


def dropout_forward(x: np.ndarray, p: float, rng: int,
                    training: bool = True) -> tuple[np.ndarray, tuple]:
    """Inverted dropout, forward.

    Training: draw ``u = np.random.default_rng(rng).random(x.shape)`` (uniform in [0, 1)),
    keep the values where ``u >= p`` and drop the others, and divide the kept ones by
    ``1 - p``: ``mask = (u >= p) / (1 - p)``, ``out = x * mask``. Inference
    (``training=False``): ``out = x``, nothing dropped or rescaled, and the cache is
    ``(None,)``.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1), the probability of dropping a value
    rng : int, the seed of the random numbers
    training : bool

    Returns
    -------
    out : ndarray, same shape as x
    cache : tuple ``(mask,)``, or ``(None,)`` at inference
    """
    if not training:
        return x, (None,)
    u = np.random.default_rng(rng).random(x.shape)
    mask = (u >= p) / (1 - p)
    return x * mask, (mask,)
