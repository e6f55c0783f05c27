"""Batch normalisation's maths (chapter 10), channels-last.

During training each feature (each channel of an image batch) is shifted and scaled to mean 0
and variance 1 over the batch, then given a learned scale ``gamma`` and shift ``beta``:

    mean = x.mean(axes)              var = x.var(axes)
    x_hat = (x - mean) / sqrt(var + eps)
    out = gamma * x_hat + beta

with ``axes`` every axis but the last: the batch for (N, D) inputs, the batch and both spatial
axes for (N, H, W, C) inputs, so every channel has one mean and one variance. Running averages of
the batch means and variances, kept while training, stand in for them at inference (evaluation),
where the output of one sample must not depend on the other samples in its batch.

Going back, ``mean`` and ``var`` depend on every sample, so each input's gradient has three parts:
its own, the mean's and the variance's. With ``m`` the number of values per feature and
``dx_hat = dout * gamma``:

    dx = (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (m * sqrt(var + eps))

Shapes: x and out (N, D) or (N, H, W, C); gamma, beta, running_mean, running_var (D,) or (C,).
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def _axes(x: np.ndarray) -> tuple[int, ...]:
    """Every axis but the last (the feature or channel axis)."""
    return tuple(range(x.ndim - 1))


def _check(x, gamma, beta) -> np.ndarray:
    x = _checks.array("x", x, (2, 4), "(N, D) or (N, H, W, C)")
    for name, p in (("gamma", gamma), ("beta", beta)):
        if np.shape(p) != (x.shape[-1],):
            raise ValueError(f"{name} must have shape ({x.shape[-1]},), one number per feature "
                             f"of x (shape {x.shape}, last axis), got shape {np.shape(p)}")
    return x


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      running_mean: np.ndarray, running_var: np.ndarray,
                      training: bool = True, momentum: float = 0.1,
                      eps: float = 1e-5) -> tuple[np.ndarray, tuple]:
    """Normalise every feature, then scale by ``gamma`` and shift by ``beta``.

    Parameters
    ----------
    x : ndarray, shape (N, D) or (N, H, W, C)
    gamma, beta : ndarray, shape (D,) or (C,)
        The learned scale and shift.
    running_mean, running_var : ndarray, shape (D,) or (C,)
        Running averages of the batch statistics. In training mode they are updated **in
        place**: ``running = (1 - momentum) * running + momentum * batch_statistic``.
    training : bool
        True: normalise with this batch's mean and (biased) variance. False (inference): with
        ``running_mean`` and ``running_var``, so each sample's output is its own.
    momentum : float in (0, 1]
        How much of each new batch goes into the running averages (PyTorch's convention).
    eps : float
        Added to the variance so that a constant feature does not divide by zero.

    Returns
    -------
    out : ndarray, same shape as x
        ``gamma * (x - mean) / sqrt(var + eps) + beta``.
    cache : tuple ``(x_hat, inv_std, gamma, training)`` for :func:`batchnorm_backward`,
        with ``inv_std = 1 / sqrt(var + eps)``.
    """
    x = _check(x, gamma, beta)
    if not 0 < momentum <= 1:
        raise ValueError(f"momentum must be in (0, 1], got {momentum!r}; 0.1 is usual")
    if training:
        axes = _axes(x)
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out.astype(np.result_type(x, gamma), copy=False), (x_hat, inv_std, gamma, training)


def batchnorm_backward(dout: np.ndarray, cache: tuple
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`batchnorm_forward`.

    Parameters
    ----------
    dout : ndarray, same shape as the forward pass's x
    cache : tuple from :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray, same shape as dout
        Training mode: ``(m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) * inv_std / m``
        with ``dx_hat = dout * gamma``, sums over every axis but the last and ``m`` values per
        feature. Inference mode (constant statistics): ``dout * gamma * inv_std``.
    dgamma : ndarray, shape (D,) or (C,), ``sum(dout * x_hat)``
    dbeta : ndarray, shape (D,) or (C,), ``sum(dout)``
    """
    x_hat, inv_std, gamma, training = cache
    axes = _axes(dout)
    dgamma = (dout * x_hat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dx_hat = dout * gamma
    if not training:
        return dx_hat * inv_std, dgamma, dbeta
    m = dout.size // dout.shape[-1]
    dx = (m * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes)) \
        * (inv_std / m)
    return dx, dgamma, dbeta
