"""Exercise 8: a stack of layers on paper, its parameters and its receptive field.

Before training a network you can already say how big it is and how much of the image each
unit of its last map sees. Both follow from the layers' settings alone, worked out layer by
layer as in notebook 08: the parameters from the depth coming into each layer, the receptive
field from the kernel sizes and the strides before it.

Replace each ``raise NotImplementedError(...)`` line with your own code (keep the
signature), then check your work from the notebook with::

    from minicnn.grade import check
    check("ex08")
"""

from __future__ import annotations


def count_params(layers: list, input_shape: tuple) -> int:
    """Number of weights and biases of a stack of layers.

    Parameters
    ----------
    layers : list of tuples
        One tuple per layer, in order:

        - ``("conv", filters, kernel_size, stride, padding)``: ``filters`` filters of
          ``kernel_size x kernel_size``, as deep as the map coming in, each with one bias;
        - ``("pool", size, stride)``: a ``size x size`` window, no parameters;
        - ``("dense", units)``: ``units`` outputs, each connected to every value coming in
          (a map is flattened first), each with one bias.
    input_shape : tuple (H, W, C)
        The shape of one input image (height, width, channels); H and W may differ.

    Returns
    -------
    int
        The sum over the layers of

        - conv: ``F * (k * k * C + 1)``, with ``C`` the depth of the map coming in;
        - dense: ``D * M + M``, with ``D`` the number of values coming in (``H * W * C`` of
          the map before it, or the units of the dense layer before it);
        - pool: 0.

        To know ``C``, ``H`` and ``W`` at each layer, follow the shape through the stack: a
        conv gives ``(H', W', F)`` with ``H' = (H - k + 2P) / S + 1`` (and the same for
        ``W'``); a pool gives ``(H', W', C)`` with ``H' = (H - size) // stride + 1``; a dense
        gives ``(M,)``.

    Raises
    ------
    ValueError
        With a message that names ``layers``, when a layer's first item is not "conv",
        "pool" or "dense", when a conv does not tile the map before it (``H - k + 2P`` below
        0 or not divisible by ``S``, for the height or the width), when a pool window is larger
        than the map, or when a conv or pool comes after a dense layer (there is no map left).

    Examples
    --------
    >>> count_params([("conv", 4, 3, 1, 0), ("pool", 2, 2), ("dense", 10)], (8, 8, 1))
    410
    """
    raise NotImplementedError("Exercise 8.1: count_params")


def receptive_field(layers: list) -> int:
    """How many input pixels, along one side, one unit of the last layer sees.

    Parameters
    ----------
    layers : list of tuples
        ``("conv", filters, kernel_size, stride, padding)`` and ``("pool", size, stride)``,
        in order (see :func:`count_params`).

    Returns
    -------
    int
        ``r``: start with ``r = 1`` (a pixel sees itself) and ``j = 1`` (neighbouring units
        are 1 input pixel apart); for each layer in order, with kernel (or window) size ``k``
        and stride ``s``, do ``r = r + (k - 1) * j``, then ``j = j * s``. Padding changes
        neither. An empty list gives 1. The receptive field is square, ``r x r``: this shape
        does not depend on the image's size.

    Raises
    ------
    ValueError
        With a message that names ``layers``, when a layer's first item is not "conv" or
        "pool", or when a layer is dense (a dense unit sees the whole input).

    Examples
    --------
    >>> receptive_field([("conv", 8, 3, 1, 1), ("conv", 8, 3, 1, 1)])
    5
    """
    raise NotImplementedError("Exercise 8.2: receptive_field")
