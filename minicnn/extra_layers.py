"""Chapter 10's layers: batch normalisation and dropout, thin wrappers like :mod:`minicnn.layers`.

Both behave differently while training and at inference. Each has a ``training`` attribute
(True when built); :meth:`minicnn.network.Sequential.train` and ``eval`` set it for every layer of
a model, and ``fit``, ``evaluate`` and ``predict`` switch it for you.

A layer finds its functions in ``self.ops`` (:mod:`minicnn.batchnorm`, :mod:`minicnn.dropout`),
as the layers of :mod:`minicnn.layers` do. Besides ``params``, a :class:`BatchNorm` has
``buffers``: arrays saved with the model that the optimiser never changes (its running mean and
variance).
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks, batchnorm, dropout
from minicnn.layers import Layer


class BatchNorm(Layer):
    """Batch normalisation of the last axis: features of (N, D), channels of (N, H, W, C).

    Training: each feature is normalised with the batch's mean and variance, then scaled by
    ``params["gamma"]`` (ones at first) and shifted by ``params["beta"]`` (zeros); the running
    averages ``buffers["running_mean"]`` and ``buffers["running_var"]`` follow the batch
    statistics. Inference (``training = False``): the running averages are used instead. See
    :func:`minicnn.batchnorm.batchnorm_forward`.
    """
    ops = batchnorm  # where forward and backward find their functions

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype=np.float32) -> None:
        super().__init__()
        self.num_features = _checks.positive_int("num_features", num_features)
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}; 0.1 is usual")
        if not eps > 0:
            raise ValueError(f"eps must be a small positive number, got {eps!r}; 1e-5 is usual")
        self.momentum, self.eps = float(momentum), float(eps)
        d = self.num_features
        self.params = {"gamma": np.ones(d, dtype), "beta": np.zeros(d, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.buffers = {"running_mean": np.zeros(d, dtype), "running_var": np.ones(d, dtype)}
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, num_features) or (N, H, W, num_features) -> the same shape."""
        x = _checks.array("x", x, (2, 4), "(N, D) or (N, H, W, C)")
        if x.shape[-1] != self.num_features:
            raise ValueError(f"BatchNorm expects {self.num_features} features (last axis) but x "
                             f"has shape {x.shape}; set num_features={x.shape[-1]}")
        out, self._cache = self.ops.batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.buffers["running_mean"],
            self.buffers["running_var"], self.training, self.momentum, self.eps)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout : the output's shape -> dx : the same shape."""
        dx, self.grads["gamma"], self.grads["beta"] = self.ops.batchnorm_backward(
            dout, self._saved())
        return dx

    def output_shape(self, input_shape):
        if input_shape[-1] != self.num_features:
            raise ValueError(f"BatchNorm expects {self.num_features} features (last axis), got "
                             f"input shape {tuple(input_shape)}; set "
                             f"num_features={input_shape[-1]}")
        return tuple(input_shape)

    def label(self) -> str:
        return f"BatchNorm {self.num_features}"

    def config(self) -> dict:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}


class Dropout(Layer):
    """Inverted dropout: while training, each value is dropped with probability ``p`` and the
    rest scaled by ``1 / (1 - p)``; at inference (``training = False``) the input passes as it
    is. ``seed`` seeds the layer's own random generator, so the same seed gives the same masks.
    See :func:`minicnn.dropout.dropout_forward`.
    """
    ops = dropout  # where forward and backward find their functions

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__()
        self.p = dropout._check_p(p)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : any shape -> the same shape."""
        out, self._cache = self.ops.dropout_forward(x, self.p, self.rng, self.training)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout : the output's shape -> dx : the same shape."""
        return self.ops.dropout_backward(dout, self._saved())

    def label(self) -> str:
        return f"Dropout p={self.p:g}"

    def config(self) -> dict:
        return {"p": self.p, "seed": self.seed}


class Residual(Layer):
    """A residual block: ``out = x + f(x)``, with ``f`` the given layers applied in order.

    He et al. (2015) added the input back to the output of a few layers so that each block
    only has to learn a correction to its input, and the gradient reaches early layers through
    the sum unchanged: ``dx = dout + (f's backward pass of dout)``. ``f`` must keep the shape
    (e.g. 3x3 convolutions with padding 1 and as many filters as input channels).

    ``params`` and ``grads`` gather the inner layers', keyed ``"<inner index>.<name>"``; the
    optimiser updates the inner arrays in place. Not saved by :meth:`Sequential.save` as a
    block: build it yourself and use ``load_weights``.
    """

    def __init__(self, layers) -> None:  # no Layer.__init__: params and grads are views
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Residual needs at least one layer, got an empty list")

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": p for i, la in enumerate(self.layers) for k, p in la.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": g for i, la in enumerate(self.layers) for k, g in la.grads.items()}

    @property
    def training(self) -> bool:
        return all(getattr(la, "training", True) for la in self.layers)

    @training.setter
    def training(self, mode: bool) -> None:
        for la in self.layers:
            if hasattr(la, "training"):
                la.training = mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : any shape that the inner layers keep -> x + f(x), the same shape."""
        out = x
        for la in self.layers:
            out = la.forward(out)
        if out.shape != np.shape(x):
            raise ValueError(f"the layers inside Residual change the shape {np.shape(x)} to "
                             f"{out.shape}; x + f(x) needs them to keep it (padding 1 for 3x3 "
                             "filters, as many filters as input channels)")
        return x + out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout -> dout + (the inner layers' backward pass of dout)."""
        d = dout
        for la in reversed(self.layers):
            d = la.backward(d)
        return dout + d

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for la in self.layers:
            shape = tuple(la.output_shape(shape))
        if shape != tuple(input_shape):
            raise ValueError(f"the layers inside Residual change the shape {tuple(input_shape)}"
                             f" to {shape}; x + f(x) needs them to keep it")
        return shape

    def label(self) -> str:
        return "Residual[" + ", ".join(la.label() for la in self.layers) + "]"

    def __repr__(self) -> str:
        return f"Residual({self.layers!r})"
