"""The fast backend's layers: stand-ins that :class:`minicnn.network.Sequential` runs in place
of the core layers when ``fast`` is on.

Each is a layer of its own (``forward``, ``backward``, ``params``, ``grads``) that keeps its own
cache and scratch arrays. It computes with the parameters of the core :class:`Conv2D` it stands
for and stores the gradients in that layer's ``grads``, where the optimiser looks for them; it
never touches the core layers' private state. :func:`plan` picks the stand-ins for a list of
layers.

Shapes: x (N, H, W, C); a Conv2D's output (N, H', W', F); a fused block's (N, H'', W'', F).
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks
from minicnn.fast import conv, fused, threads
from minicnn.fast.columns import Scratch
from minicnn.layers import Conv2D, MaxPool2D, ReLU
from minicnn.shapes import check_conv_args, pool_output_shape


class _StandIn:
    """The parameters and gradients are the core Conv2D's own dicts."""

    #: ``backward(dout, need_dx=False)`` skips the input gradient (Sequential uses it for the
    #: first layer, whose input gradient nobody needs).
    can_skip_input_grad = True

    def __init__(self, conv_layer: Conv2D) -> None:
        self.conv = conv_layer
        self._cache = None
        #: Arrays the convolution works in, one set per half batch, kept between batches.
        self.scratch = (Scratch(), Scratch())

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.conv.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.conv.grads

    def _check(self, x) -> tuple[np.ndarray, tuple[int, int]]:
        """``x`` checked as the Conv2D checks it, and the convolution's (H', W')."""
        layer = self.conv
        x = _checks.channels("Conv2D", x, layer.in_channels)
        _, _, _, out_hw = check_conv_args(x, layer.params["w"], layer.params["b"],
                                          layer.stride, layer.padding)
        return x, out_hw

    def _backward(self, backward, dout, need_dx: bool, dx_dtype) -> np.ndarray | None:
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        dx, self.conv.grads["w"], self.conv.grads["b"] = threads.backward_halves(
            backward, dout, self._cache, need_dx, dx_dtype)
        return dx


class FastConv2D(_StandIn):
    """A :class:`minicnn.layers.Conv2D`, computed by :func:`minicnn.fast.conv.conv_forward` on
    the two halves of each batch at once (:mod:`minicnn.fast.threads`)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, H, W, C) -> (N, H', W', F)."""
        x, out_hw = self._check(x)
        self._cache = None  # the last batch's cache: its columns are about to be overwritten
        layer, w = self.conv, self.conv.params["w"]
        out = np.empty((len(x), *out_hw, w.shape[0]), np.result_type(x, w))
        out, self._cache = threads.forward_halves(
            conv.conv_forward, x, w, layer.params["b"], layer.stride, layer.padding, out=out,
            scratch=self.scratch)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout : (N, H', W', F) -> dx : (N, H, W, C), or None."""
        dout = np.asarray(dout)
        return self._backward(conv.conv_backward, dout, need_dx,
                              np.result_type(dout, self.conv.params["w"]))


class ConvReLUPool(_StandIn):
    """A Conv2D, the ReLU after it and a MaxPool2D (size == stride) as one step
    (:func:`minicnn.fast.fused.conv_relu_pool_forward`), on both halves of a batch at once."""

    def __init__(self, conv_layer: Conv2D, relu: ReLU, pool: MaxPool2D) -> None:
        super().__init__(conv_layer)
        self.layers = (conv_layer, relu, pool)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, H, W, C) -> (N, H'', W'', F)."""
        layer, _, pool = self.layers
        x, out_hw = self._check(x)
        self._cache = None  # the last batch's cache: its columns are about to be overwritten
        w = layer.params["w"]
        pooled_shape = pool_output_shape((*out_hw, w.shape[0]), pool.size, pool.size)
        out = np.empty((len(x), *pooled_shape), np.result_type(x, w))
        out, self._cache = threads.forward_halves(
            fused.conv_relu_pool_forward, x, w, layer.params["b"], layer.stride,
            layer.padding, pool.size, out=out, scratch=self.scratch)
        self._out_dtype = out.dtype
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout : (N, H'', W'', F) -> dx : (N, H, W, C), or None."""
        dout = np.asarray(dout)
        dx_dtype = np.result_type(dout, getattr(self, "_out_dtype", dout.dtype),
                                  self.conv.params["w"])
        return self._backward(fused.conv_relu_pool_backward, dout, need_dx, dx_dtype)


def _own_ops(layer) -> bool:
    """Whether ``layer`` was given functions of its own (``layer.ops``): it then runs as it is."""
    return "ops" in vars(layer)


def plan(layers) -> list:
    """The steps that run ``layers`` fast: each Conv2D -> ReLU -> MaxPool2D run with
    non-overlapping windows becomes one :class:`ConvReLUPool`, every other Conv2D a
    :class:`FastConv2D`; any other layer, and any layer given functions of its own
    (``layer.ops``, as :mod:`minicnn.own_code` does), is a step of its own, run as it is."""
    steps, i = [], 0
    while i < len(layers):
        run = layers[i:i + 3]
        if ([type(layer) for layer in run] == [Conv2D, ReLU, MaxPool2D]
                and run[2].size == run[2].stride and not any(map(_own_ops, run))):
            steps.append(ConvReLUPool(*run))
            i += 3
        else:
            fast = type(layers[i]) is Conv2D and not _own_ops(layers[i])
            steps.append(FastConv2D(layers[i]) if fast else layers[i])
            i += 1
    return steps
