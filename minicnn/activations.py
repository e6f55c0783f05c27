"""Activation functions (chapter 04), applied to every value of a feature map.

Convolution and dense layers, with their biases, are affine (a linear map plus a constant):
stacking them gives another affine map. A non-linear function between them is what lets a
network bend its decision boundaries.

- ReLU, ``max(0, x)``: cheap, and its gradient is 1 wherever the unit is active, so it does not
  fade through many layers. The usual choice.
- sigmoid, ``1 / (1 + exp(-x))``: squashes to (0, 1); its gradient is at most 0.25.
- tanh: squashes to (-1, 1); zero-centred, gradient at most 1.

Each ``*_backward`` takes the upstream gradient ``dout`` (the same shape as the input) and
returns the gradient with respect to the input. None of them changes its input.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks


def relu(x: np.ndarray) -> np.ndarray:
    """``max(0, x)`` element-wise, any shape; returns a new array (the input is unchanged)."""
    return np.maximum(x, 0)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of ReLU: ``dout`` where ``x > 0``, 0 elsewhere (at 0 itself we take 0).

    Computed as ``dout * (x > 0)``, in the dtype of ``dout``.
    """
    dout = _checks.grad_like(dout, np.shape(x), "x")
    return np.multiply(dout, x > 0, dtype=np.result_type(dout))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` element-wise, computed without overflow for large ``|x|``."""
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of sigmoid given its output ``out``: ``dout * out * (1 - out)``."""
    dout = _checks.grad_like(dout, np.shape(out), "out")
    return dout * out * (1 - out)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent element-wise."""
    return np.tanh(x)


def tanh_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of tanh given its output ``out``: ``dout * (1 - out ** 2)``."""
    dout = _checks.grad_like(dout, np.shape(out), "out")
    return dout * (1 - out * out)
