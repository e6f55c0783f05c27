"""Chapter 08: a stack of layers on paper, its parameters and its receptive field.

A stack is a list of plain tuples, one per layer that has weights or moves the window::

    [("conv", 8, 3, 1, 1),    # filters, kernel size, stride, padding
     ("pool", 2, 2),          # window size, stride
     ("conv", 16, 3, 1, 1),
     ("pool", 2, 2),
     ("dense", 10)]           # units

(ReLU and Flatten are left out: they have no parameters and do not widen the view.)

- :func:`count_params` adds up the weights and biases, working out each layer's output shape:
  a conv layer of ``F`` filters ``k x k`` on a ``C``-deep map has ``F * (k * k * C + 1)``, a
  dense layer of ``M`` units on ``D`` inputs has ``D * M + M``.
- :func:`receptive_field` says how many input pixels (along one side) one unit of the last
  layer sees. Start from ``r = 1`` and a jump of ``j = 1`` input pixel between neighbouring
  units; each layer with kernel (or window) ``k`` and stride ``s`` does ``r += (k - 1) * j``,
  then ``j *= s``. :func:`receptive_field_steps` lists ``(r, j)`` after every layer.
- :func:`layer_tuples` describes a :class:`~minicnn.network.Sequential` this way, so the hand
  count can be checked against ``model.n_params``.
"""

from __future__ import annotations

import math

from minicnn.layers import AvgPool2D, Conv2D, Dense, MaxPool2D
from minicnn.shapes import conv_output_shape, pool_output_shape

__all__ = ["count_params", "receptive_field", "receptive_field_steps", "layer_tuples",
           "output_shapes"]

_LENGTHS = {"conv": 5, "pool": 3, "dense": 2}


def _checked(layers) -> list[tuple]:
    """The layers as tuples, each of a known kind and length with whole numbers in range."""
    if not isinstance(layers, (list, tuple)):
        raise ValueError(f"layers must be a list of tuples such as ('conv', 8, 3, 1, 1), "
                         f"got {type(layers).__name__}")
    out = []
    for i, layer in enumerate(layers):
        where = f"layers[{i}]={layer!r}"
        if not isinstance(layer, (list, tuple)) or not layer or layer[0] not in _LENGTHS:
            raise ValueError(f"{where}: each layer is a tuple starting with 'conv', 'pool' or "
                             f"'dense'")
        kind = layer[0]
        if len(layer) != _LENGTHS[kind]:
            raise ValueError(f"{where}: a {kind} layer has {_LENGTHS[kind] - 1} numbers after "
                             f"its name, e.g. {_EXAMPLES[kind]}")
        numbers = layer[1:]
        lowest = [1] * len(numbers) if kind != "conv" else [1, 1, 1, 0]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < low
               for n, low in zip(numbers, lowest, strict=True)):
            raise ValueError(f"{where}: sizes and strides are whole numbers of at least 1 "
                             f"(padding at least 0)")
        out.append(tuple(layer))
    return out


_EXAMPLES = {"conv": "('conv', 8, 3, 1, 1)", "pool": "('pool', 2, 2)", "dense": "('dense', 10)"}


def output_shapes(layers, input_shape: tuple[int, int, int]) -> list[tuple[int, ...]]:
    """The shape after each layer: ``(H', W', F)`` for conv, ``(H', W', C)`` for pool,
    ``(M,)`` for dense, with ``H' = (H - k + 2P) / S + 1`` (conv, must be whole) and
    ``H' = (H - size) // stride + 1`` (pool, the windows that fit)."""
    layers = _checked(layers)
    if (not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1
                   for n in input_shape)):
        raise ValueError(f"input_shape must be (H, W, C), three whole numbers of at least 1, "
                         f"got {input_shape!r}")
    shape, shapes = tuple(input_shape), []
    for i, layer in enumerate(layers):
        kind, where = layer[0], f"layers[{i}]={layer!r} gets shape {shape}"
        if kind in ("conv", "pool") and len(shape) != 3:
            raise ValueError(f"{where}: a {kind} layer needs an (H, W, C) map, but a dense "
                             f"layer before it gave a flat vector")
        try:  # the formulas of chapter 03 (minicnn.shapes), their errors said for this layer
            if kind == "conv":
                _, f, k, s, p = layer
                shape = conv_output_shape(shape, f, k, s, p)
            elif kind == "pool":
                shape = pool_output_shape(shape, layer[1], layer[2])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if kind == "dense":
            shape = (layer[1],)
        shapes.append(shape)
    return shapes


def count_params(layers, input_shape: tuple[int, int, int]) -> int:
    """Weights and biases of a stack of layers.

    Parameters
    ----------
    layers : list of tuples
        ``("conv", filters, kernel_size, stride, padding)``, ``("pool", size, stride)``,
        ``("dense", units)`` (see the module's docstring).
    input_shape : (H, W, C)

    Returns
    -------
    int
        The sum over layers: conv ``F * (k * k * C + 1)`` with ``C`` the depth coming in;
        dense ``D * M + M`` with ``D`` the number of values coming in (``H * W * C`` after a
        map); pool 0.

    Raises
    ------
    ValueError
        Naming ``layers`` when a layer is malformed, does not fit the shape before it, or is a
        conv or pool after a dense layer.
    """
    shapes = [tuple(input_shape), *output_shapes(layers, input_shape)]
    total = 0
    for layer, before in zip(layers, shapes, strict=False):
        if layer[0] == "conv":
            _, f, k = layer[:3]
            total += f * (k * k * before[2] + 1)
        elif layer[0] == "dense":
            total += math.prod(before) * layer[1] + layer[1]
    return total


def receptive_field_steps(layers) -> list[tuple[int, int]]:
    """``(r, j)`` after each layer: the receptive field (input pixels along one side) of one
    unit, and the jump (input pixels between neighbouring units). Padding changes neither."""
    r, j, steps = 1, 1, []
    for i, layer in enumerate(_checked(layers)):
        if layer[0] == "dense":
            raise ValueError(f"layers[{i}]={layer!r}: a dense unit is connected to every value "
                             f"before it, so it sees the whole input; receptive_field takes "
                             f"conv and pool layers only")
        k, s = (layer[2], layer[3]) if layer[0] == "conv" else (layer[1], layer[2])
        r += (k - 1) * j
        j *= s
        steps.append((r, j))
    return steps


def receptive_field(layers) -> int:
    """Receptive field of one unit of the last layer, in input pixels along one side.

    Parameters
    ----------
    layers : list of tuples
        ``("conv", filters, kernel_size, stride, padding)`` and ``("pool", size, stride)``.

    Returns
    -------
    int
        ``r``, from ``r = 1, j = 1`` and, for each layer in order, ``r += (k - 1) * j`` then
        ``j *= s``. An empty stack gives 1 (a pixel sees itself).

    Raises
    ------
    ValueError
        Naming ``layers`` when a layer is malformed or dense (a dense unit sees everything).
    """
    steps = receptive_field_steps(layers)
    return steps[-1][0] if steps else 1


def layer_tuples(model) -> list[tuple]:
    """The tuples describing a :class:`~minicnn.network.Sequential` (its Conv2D, pooling and
    Dense layers; activations and Flatten have no parameters and do not widen the view)."""
    out = []
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            out.append(("conv", layer.out_channels, layer.kernel_size, layer.stride,
                        layer.padding))
        elif isinstance(layer, (MaxPool2D, AvgPool2D)):
            out.append(("pool", layer.size, layer.stride))
        elif isinstance(layer, Dense):
            out.append(("dense", layer.out_features))
    return out
