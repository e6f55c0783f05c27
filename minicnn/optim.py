"""Optimisers: how the weights move once the gradients are known (chapter 07).

Gradient descent moves every weight a small step against its gradient: ``w -= lr * dw``.
Momentum keeps a running direction so steps build up along consistent slopes; Adam also scales
each weight's step by a running estimate of its gradient's size.

:func:`sgd_step` is that step for a list of arrays; :class:`SGD` is built on it. Each
optimiser's ``step(model)`` updates, in place, every array in each layer's ``params`` from
the matching array in its ``grads``. ``model`` is a :class:`~minicnn.network.Sequential`, or any
object with a ``layers`` list, or a list of layers.
"""

from __future__ import annotations

import math

import numpy as np


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
            or lr <= 0:
        raise ValueError(f"lr (the learning rate) must be a positive number, got {lr!r}; "
                         "typical values are 0.01 to 0.1 for SGD and 0.001 for Adam")
    return float(lr)


def sgd_step(params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
    """One step of gradient descent, in place: ``param -= lr * grad`` for every pair.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (each layer's ``params`` values); changed in place.
    grads : list of ndarray
        Their gradients, in the same order and with the same shapes.
    lr : float
        The learning rate.
    """
    for param, grad in zip(params, grads, strict=True):
        param -= (lr * grad).astype(param.dtype, copy=False)


def _pairs(model):
    """Yield (key, param, grad) for every parameter of the model."""
    layers = model.layers if hasattr(model, "layers") else model
    for layer in layers:
        for name, p in layer.params.items():
            yield (id(layer), name), p, layer.grads[name]


class SGD:
    """Stochastic gradient descent, optionally with momentum (PyTorch's formulation).

    ``v = momentum * v + grad``; ``w -= lr * v``. With ``momentum=0`` this is plain
    ``w -= lr * grad``.
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        self.lr = _check_lr(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}; 0.9 is usual")
        self.momentum = float(momentum)
        self._velocity: dict = {}

    def step(self, model) -> None:
        params, grads = [], []
        for key, p, g in _pairs(model):
            if self.momentum:
                v = self._velocity.get(key)
                if v is None:
                    v = self._velocity[key] = g.astype(p.dtype, copy=True)
                else:
                    v *= self.momentum
                    v += g
                g = v
            params.append(p)
            grads.append(g)
        sgd_step(params, grads, self.lr)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, momentum={self.momentum:g})"


class Adam:
    """Adam (Kingma and Ba, 2015): momentum on the gradient and on its square, bias-corrected."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr = _check_lr(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._m: dict = {}
        self._v: dict = {}
        self.t = 0

    def step(self, model) -> None:
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for key, p, g in _pairs(model):
            m = self._m.setdefault(key, np.zeros_like(p))
            v = self._v.setdefault(key, np.zeros_like(p))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= (self.lr / c1 * m / (np.sqrt(v / c2) + self.eps)).astype(p.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g})"
