"""Layer objects: thin wrappers around the forward/backward functions (chapters 06-07).

Every layer (and any object that can stand in a :class:`~minicnn.network.Sequential`) has

- ``forward(x)`` -> output, remembering what ``backward`` needs;
- ``backward(dout)`` -> ``dx``, the gradient with respect to its input, filling ``grads``;
- ``params`` and ``grads``: dicts of arrays (``"w"`` and ``"b"`` for Conv2D and Dense, empty
  otherwise); an optimiser updates ``params`` in place from ``grads``;
- ``output_shape(input_shape)`` for one sample (no batch axis), and ``n_params``.

A layer finds its functions at every call in ``self.ops``, the module that teaches them; set
``layer.ops`` to a namespace with the same names to run it on other code (as
:mod:`minicnn.own_code` does with a learner's exercise functions). Shapes are channels-last.
"""
from __future__ import annotations

import numpy as np

from minicnn import _checks, activations, conv, dense, pooling
from minicnn.losses import SoftmaxCrossEntropy  # noqa: F401  (the loss layer lives there)
from minicnn.shapes import conv_output_shape, pool_output_shape


class Layer:
    """Base class: no parameters, identity shape."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None  # what forward keeps for backward

    def _saved(self):
        """What the last forward pass kept for backward (an error if none has run)."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward: "
                               "call forward(x) first, then backward(dout)")
        return self._cache

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} needs a forward method")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} needs a backward method")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def config(self) -> dict:
        """Constructor arguments, so a saved model can be rebuilt."""
        return {}

    def label(self) -> str:
        """A short description for ``Sequential.summary``."""
        return type(self).__name__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _he_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype):
    """Random weights with variance 2 / fan_in, which keeps ReLU activations from fading."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


class Conv2D(Layer):
    """A bank of ``out_channels`` learned filters, each (kernel_size, kernel_size, in_channels).

    Input (N, H, W, in_channels) -> output (N, H', W', out_channels) with
    ``H' = (H - kernel_size + 2 * padding) // stride + 1``, by :func:`minicnn.conv.conv_forward`
    and ``conv_backward``. Weights start random (He initialisation), biases as zeros.
    """
    ops = conv  # where forward and backward find their functions

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, seed: int | None = None, dtype=np.float32) -> None:
        super().__init__()
        self.in_channels = _checks.positive_int("in_channels", in_channels)
        self.out_channels = _checks.positive_int("out_channels", out_channels)
        self.kernel_size = _checks.positive_int("kernel_size", kernel_size)
        self.stride = _checks.positive_int("stride", stride)
        self.padding = _checks.positive_int("padding", padding, allow_zero=True)
        k, c = self.kernel_size, self.in_channels
        rng = np.random.default_rng(seed)
        self.params = {"w": _he_normal(rng, (self.out_channels, k, k, c), k * k * c, dtype),
                       "b": np.zeros(self.out_channels, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, H, W, in_channels) -> (N, H', W', out_channels)."""
        x = _checks.channels("Conv2D", x, self.in_channels)
        out, self._cache = self.ops.conv_forward(x, self.params["w"], self.params["b"],
                                                 self.stride, self.padding)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout : (N, H', W', out_channels) -> dx : (N, H, W, in_channels)."""
        dx, self.grads["w"], self.grads["b"] = self.ops.conv_backward(dout, self._saved())
        return dx

    def output_shape(self, input_shape):
        if input_shape[-1] != self.in_channels:
            raise ValueError(f"Conv2D expects {self.in_channels} input channel(s), got input "
                             f"shape {tuple(input_shape)}")
        return conv_output_shape(input_shape, self.out_channels, self.kernel_size,
                                 self.stride, self.padding)

    def label(self) -> str:
        k = self.kernel_size
        return (f"Conv2D {k}x{k}, {self.in_channels}->{self.out_channels}, "
                f"stride {self.stride}, pad {self.padding}")

    def config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


class ReLU(Layer):
    """``max(0, x)`` element-wise (:func:`minicnn.activations.relu`); shape unchanged."""
    ops = activations  # where forward and backward find their functions

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x
        return self.ops.relu(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.ops.relu_backward(dout, self._saved())


class Sigmoid(Layer):
    """``1 / (1 + exp(-x))`` element-wise (:func:`minicnn.activations.sigmoid`)."""
    ops = activations  # where forward and backward find their functions

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = self.ops.sigmoid(x)  # the output: the gradient is written with it
        return self._cache

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.ops.sigmoid_backward(dout, self._saved())


class Tanh(Layer):
    """``tanh(x)`` element-wise (:func:`minicnn.activations.tanh`)."""
    ops = activations  # where forward and backward find their functions

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = self.ops.tanh(x)  # the output: the gradient is written with it
        return self._cache

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.ops.tanh_backward(dout, self._saved())


class _Pool2D(Layer):
    ops = pooling  # where forward and backward find their functions

    def __init__(self, size: int = 2, stride: int = 2) -> None:
        super().__init__()
        self.size = _checks.positive_int("size", size)
        self.stride = _checks.positive_int("stride", stride)

    def output_shape(self, input_shape):
        return pool_output_shape(tuple(input_shape), self.size, self.stride)

    def label(self) -> str:
        return f"{type(self).__name__} {self.size}x{self.size}, stride {self.stride}"

    def config(self) -> dict:
        return {"size": self.size, "stride": self.stride}


class MaxPool2D(_Pool2D):
    """Max pooling: (N, H, W, C) -> (N, (H - size) // stride + 1, ..., C)."""

    def forward(self, x):
        out, self._cache = self.ops.max_pool_forward(x, self.size, self.stride)
        return out

    def backward(self, dout):
        return self.ops.max_pool_backward(dout, self._saved())


class AvgPool2D(_Pool2D):
    """Average pooling: (N, H, W, C) -> (N, (H - size) // stride + 1, ..., C)."""

    def forward(self, x):
        out, self._cache = self.ops.avg_pool_forward(x, self.size, self.stride)
        return out

    def backward(self, dout):
        return self.ops.avg_pool_backward(dout, self._saved())


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), row-major (channels-last order)."""

    def forward(self, x):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._saved())

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Dense(Layer):
    """Fully connected: every output is a weighted sum of every input plus a bias.

    x (N, in_features) -> x @ w + b, shape (N, out_features); w is (D, M), b is (M,).
    Forward and backward are :func:`minicnn.dense.dense_forward` and ``dense_backward``.
    """
    ops = dense  # where forward and backward find their functions

    def __init__(self, in_features: int, out_features: int, seed: int | None = None,
                 dtype=np.float32) -> None:
        super().__init__()
        self.in_features = _checks.positive_int("in_features", in_features)
        self.out_features = _checks.positive_int("out_features", out_features)
        rng = np.random.default_rng(seed)
        d, m = self.in_features, self.out_features
        self.params = {"w": _he_normal(rng, (d, m), d, dtype), "b": np.zeros(m, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def forward(self, x):
        x = _checks.features("Dense", x, self.in_features)
        out, self._cache = self.ops.dense_forward(x, self.params["w"], self.params["b"])
        return out

    def backward(self, dout):
        dx, self.grads["w"], self.grads["b"] = self.ops.dense_backward(dout, self._saved())
        return dx

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(f"Dense expects inputs of {self.in_features} features, got shape "
                             f"{tuple(input_shape)}; put a Flatten() before it or set "
                             f"in_features={int(np.prod(input_shape))}")
        return (self.out_features,)

    def label(self) -> str:
        return f"Dense {self.in_features}->{self.out_features}"

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}
