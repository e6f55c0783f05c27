"""Exercise 4: the ReLU non-linearity and its gradient.

ReLU keeps positive values and replaces negative ones by zero: f(x) = max(0, x).
"""

from __future__ import annotations

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    """Apply ReLU element-wise, without changing ``x``.

    Parameters
    ----------
    x : ndarray, any shape
        For example a feature map (H, W, F) or a batch (N, H, W, C).

    Returns
    -------
    ndarray, same shape as ``x``
        ``max(0, x)`` for every element (0 where ``x == 0``), for any shape (1-D to N-D)
        and any numeric dtype; a new array (``x`` itself is left unchanged, however large).
    """
    return np.where(x > 0, x, 0)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of the loss with respect to the input of ReLU.

    By the chain rule, ``dx = dout * (x > 0)``: the mask comes from the forward input ``x``,
    not from ``dout``. Derived, with a worked example and a numerical check, in notebook 04
    (``notebooks/04_relu.ipynb``), section "Backward through ReLU: the mask".

    Parameters
    ----------
    dout : ndarray, same shape as ``x``
        Gradient of the loss with respect to ReLU's output.
    x : ndarray
        The input ReLU received in the forward pass.

    Returns
    -------
    ndarray, same shape as ``x``
        ``dout`` where ``x > 0`` and 0 elsewhere (ReLU's slope is 1 for positive inputs and
        0 for negative ones; at ``x == 0`` it is taken as 0). Any shape; with an integer
        ``x`` the gradient keeps ``dout``'s fractions. A new array: ``dout`` and ``x`` are
        left unchanged.
    """
    slope = (x > 0).astype(np.float64)
    return dout * slope
