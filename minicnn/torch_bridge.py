"""The road to PyTorch: the same network, with the same weights, as a ``torch.nn`` module.

``to_torch(model)`` (also ``model.to_torch()``) builds an ``nn.Sequential`` that gives the same
logits as the minicnn model; ``from_torch(module)`` (also ``Sequential.from_torch(module)``) does
the reverse for the layer types minicnn has. PyTorch is optional: ``pip install minicnn[torch]``.
Only this module imports it, and only when one of the two is called (the two ``Sequential``
methods import this module when they are called, not before).

What changes on the way, and why:

- **Channels-first.** PyTorch's images are (N, C, H, W), minicnn's (N, H, W, C): feed the
  PyTorch module ``x.transpose(0, 3, 1, 2)``. Filters go from (F, kh, kw, C) to (F, C, kh, kw)
  by the same transpose.
- **Flatten order.** Flattening a (H, W, C) map lists the numbers as (h, w, c); PyTorch's
  (C, H, W) map gives (c, h, w). The dense layer after a flatten has its weights' rows
  reordered to match, so the module computes exactly the same sums.
- **Dense weights.** minicnn's w is (D, M), ``x @ w``; ``nn.Linear``'s weight is (M, D),
  ``x @ weight.T``.
- **Batch norm.** ``BatchNorm1d`` after a flatten or dense layer, ``BatchNorm2d`` on image
  maps; gamma and beta are ``weight`` and ``bias``, and the running statistics are copied.
  The two agree in evaluation mode. In training mode PyTorch updates ``running_var`` with the
  unbiased batch variance (divided by m - 1), minicnn with the biased one.
"""

from __future__ import annotations

import numpy as np

from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the road to PyTorch needs PyTorch: pip install 'minicnn[torch]' "
                          "(or pip install torch); nothing else in minicnn needs it") from exc
    return torch


def _flat_order(shape: tuple[int, int, int]) -> np.ndarray:
    """For a (H, W, C) map: index into the (h, w, c) flattening of each (c, h, w) position."""
    h, w, c = shape
    return np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)


def to_torch(model, input_shape: tuple[int, ...] = (28, 28, 1)):
    """An ``nn.Sequential`` with ``model``'s layers and weights (float32), in its mode.

    Parameters
    ----------
    model : Sequential
    input_shape : tuple
        One sample's shape, channels-last (H, W, C), needed to reorder the dense weights after a
        flatten.

    Returns
    -------
    torch.nn.Sequential
        Takes (N, C, H, W) images (``torch.from_numpy(x.transpose(0, 3, 1, 2))``).
    """
    torch = _torch()
    nn = torch.nn
    shape, flattened_from, modules = tuple(input_shape), None, []

    def tensor(a):
        return torch.tensor(np.ascontiguousarray(a), dtype=torch.float32)

    for layer in model.layers:
        kind = type(layer)
        if kind is Conv2D:
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          layer.stride, layer.padding)
            m.weight.data = tensor(layer.params["w"].transpose(0, 3, 1, 2))
            m.bias.data = tensor(layer.params["b"])
        elif kind is Dense:
            m = nn.Linear(layer.in_features, layer.out_features)
            w = layer.params["w"]
            if flattened_from is not None:  # rows in (h, w, c) order -> (c, h, w) order
                w = w[_flat_order(flattened_from)]
                flattened_from = None
            m.weight.data = tensor(w.T)
            m.bias.data = tensor(layer.params["b"])
        elif kind is BatchNorm:
            cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            m = cls(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            m.weight.data = tensor(layer.params["gamma"])
            m.bias.data = tensor(layer.params["beta"])
            m.running_mean.data = tensor(layer.buffers["running_mean"])
            m.running_var.data = tensor(layer.buffers["running_var"])
        elif kind is Flatten:
            m = nn.Flatten()
            flattened_from = shape if len(shape) == 3 else None
        elif kind in (MaxPool2D, AvgPool2D):
            m = (nn.MaxPool2d if kind is MaxPool2D else nn.AvgPool2d)(layer.size, layer.stride)
        elif kind in (ReLU, Sigmoid, Tanh):
            m = {ReLU: nn.ReLU, Sigmoid: nn.Sigmoid, Tanh: nn.Tanh}[kind]()
        elif kind is Dropout:
            m = nn.Dropout(layer.p)
        else:
            raise TypeError(f"to_torch does not know {kind.__name__}; it converts "
                            "Conv2D, Dense, BatchNorm, Flatten, pooling, activations, Dropout")
        modules.append(m)
        shape = tuple(layer.output_shape(shape))
    module = nn.Sequential(*modules)
    module.train(getattr(model, "training", True))
    return module


def from_torch(module, input_shape: tuple[int, ...] = (28, 28, 1)):
    """A minicnn :class:`~minicnn.network.Sequential` with the weights of an ``nn.Sequential``
    (or any module whose children run in order), in its mode; the inverse of
    :func:`to_torch`. ``input_shape`` is one sample's shape, channels-last (H, W, C)."""
    torch = _torch()
    nn = torch.nn
    from minicnn.network import Sequential

    shape, flattened_from, layers = tuple(input_shape), None, []

    def array(t):
        return t.detach().cpu().numpy().astype(np.float32)

    def pair(v):
        a, b = (v, v) if isinstance(v, int) else tuple(v)
        if a != b:
            raise ValueError(f"minicnn's layers use the same size along both axes, got {v}")
        return int(a)

    for m in module.children():
        if isinstance(m, nn.Conv2d):
            if m.groups != 1 or pair(m.dilation) != 1 or not isinstance(m.padding, tuple):
                raise ValueError(f"{m}: only plain convolutions (no groups, no dilation, "
                                 "numeric padding) have a minicnn Conv2D")
            layer = Conv2D(m.in_channels, m.out_channels, pair(m.kernel_size), pair(m.stride),
                           pair(m.padding))
            layer.params["w"] = array(m.weight).transpose(0, 2, 3, 1).copy()
            layer.params["b"] = array(m.bias) if m.bias is not None else \
                np.zeros(m.out_channels, np.float32)
        elif isinstance(m, nn.Linear):
            layer = Dense(m.in_features, m.out_features)
            w = array(m.weight).T
            if flattened_from is not None:  # rows in (c, h, w) order -> (h, w, c) order
                w = w[np.argsort(_flat_order(flattened_from))]
                flattened_from = None
            layer.params["w"] = np.ascontiguousarray(w)
            layer.params["b"] = array(m.bias) if m.bias is not None else \
                np.zeros(m.out_features, np.float32)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            layer = BatchNorm(m.num_features, momentum=m.momentum or 0.1, eps=m.eps)
            layer.params["gamma"], layer.params["beta"] = array(m.weight), array(m.bias)
            layer.buffers["running_mean"] = array(m.running_mean)
            layer.buffers["running_var"] = array(m.running_var)
        elif isinstance(m, nn.Flatten):
            layer = Flatten()
            flattened_from = shape if len(shape) == 3 else None
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            cls = MaxPool2D if isinstance(m, nn.MaxPool2d) else AvgPool2D
            if pair(m.padding) != 0:
                raise ValueError(f"{m}: minicnn's pooling has no padding")
            layer = cls(pair(m.kernel_size), pair(m.stride or m.kernel_size))
        elif isinstance(m, nn.ReLU | nn.Sigmoid | nn.Tanh):
            layer = {nn.ReLU: ReLU, nn.Sigmoid: Sigmoid, nn.Tanh: Tanh}[type(m)]()
        elif isinstance(m, nn.Dropout):
            layer = Dropout(m.p)
        else:
            raise TypeError(f"minicnn has no layer for {type(m).__name__}; from_torch converts "
                            "Conv2d, Linear, BatchNorm1d/2d, Flatten, MaxPool2d, AvgPool2d, "
                            "ReLU, Sigmoid, Tanh and Dropout")
        for name, p in layer.params.items():
            layer.grads[name] = np.zeros_like(p)
        layers.append(layer)
        shape = tuple(layer.output_shape(shape))
    return Sequential(layers).train(module.training)
