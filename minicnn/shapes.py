"""The output-size formula (chapter 03).

A filter of size F slid over an input of size W with stride S, after P zeros of padding on each
side, fits at

    W' = (W - F + 2P) / S + 1

positions. The same formula holds for the height. When ``W - F + 2P`` is not a multiple of ``S``
the last step would hang over the edge: the configuration does not tile the input, and
:func:`output_size` refuses it instead of silently dropping a row or column.
"""

from __future__ import annotations

import numpy as np

from minicnn import _checks
from minicnn._checks import positive_int


def output_size(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> int:
    """Number of positions a filter takes along one axis.

    Parameters
    ----------
    input_size : int
        W, the input's width (or height), >= 1.
    filter_size : int
        F, the filter's width (or height), >= 1.
    stride : int
        S, how far the filter moves each step, >= 1.
    padding : int
        P, zeros added on each side, >= 0.

    Returns
    -------
    int
        ``(W - F + 2P) // S + 1``.

    Raises
    ------
    ValueError
        If the filter is larger than the padded input, or if ``(W - F + 2P)`` is not a
        multiple of the stride (the filter would not tile the input), or an argument is out of
        range. The message says which sizes would work.

    Examples
    --------
    >>> output_size(10, 2, stride=1)
    9
    >>> output_size(10, 2, stride=2)
    5
    >>> output_size(5, 3, stride=2, padding=1)
    3
    """
    w = positive_int("input_size", input_size)
    f = positive_int("filter_size", filter_size)
    s = positive_int("stride", stride)
    p = positive_int("padding", padding, allow_zero=True)
    span = w - f + 2 * p
    if span < 0:
        raise ValueError(
            f"filter_size={f} is larger than the padded input "
            f"(input_size={w} + 2 * padding={p} = {w + 2 * p}); use a filter of at most "
            f"{w + 2 * p} or add at least {(f - w + 1) // 2} padding")
    if span % s != 0:
        raise ValueError(
            f"stride={s} does not tile the input: (input_size - filter_size + 2 * padding) / stride"
            f" = ({w} - {f} + 2 * {p}) / {s} = {span / s:g} is not a whole number; "
            f"{_suggest(w, f, s, p)}")
    return span // s + 1


def _suggest(w: int, f: int, s: int, p: int) -> str:
    """A short hint listing nearby settings that do tile the input."""
    strides = [t for t in range(1, s + 3) if (w - f + 2 * p) % t == 0 and t != s]
    pads = [q for q in range(p, p + s + 1) if (w - f + 2 * q) % s == 0]
    hints = []
    if strides:
        hints.append(f"stride {' or '.join(map(str, strides[-2:]))} would work")
    if pads:
        hints.append(f"padding={pads[0]} with stride={s} would work")
    return "; ".join(hints) if hints else "change the stride, the padding or the filter size"


def what_it_gives(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> str:
    """The formula with the numbers filled in, and what the setting gives, in words.

    For trying settings by hand: ``what_it_gives(6, 3, stride=3, padding=0)`` is
    ``"(6 - 3 + 2*0) / 3 + 1 = 2: a 2 x 2 map"``; a setting that does not tile says so
    (``= 3.5: not a whole number, the filter does not tile the input``) instead of raising.
    """
    w = positive_int("input_size", input_size)
    f = positive_int("filter_size", filter_size)
    s = positive_int("stride", stride)
    p = positive_int("padding", padding, allow_zero=True)
    text = f"({w} - {f} + 2*{p}) / {s} + 1"
    if f > w + 2 * p:
        return f"{text}: the {f}-wide filter does not fit in {w} + 2*{p} = {w + 2 * p} pixels"
    value = (w - f + 2 * p) / s + 1
    if (w - f + 2 * p) % s:
        return f"{text} = {value:g}: not a whole number, the filter does not tile the input"
    return f"{text} = {value:g}: a {value:g} x {value:g} map"


def conv_output_shape(input_shape: tuple[int, int, int], n_filters: int, kernel_size: int,
                      stride: int = 1, padding: int = 0) -> tuple[int, int, int]:
    """Output shape (H', W', F) of a convolution over an (H, W, C) input."""
    h, w = input_shape[0], input_shape[1]
    return (output_size(h, kernel_size, stride, padding),
            output_size(w, kernel_size, stride, padding), n_filters)


def pool_output_shape(input_shape: tuple[int, ...], size: int, stride: int) -> tuple[int, ...]:
    """Output shape of pooling over an (H, W, C) input: height and width shrink, depth does not.

    Pooling keeps only the windows that fit (``(H - size) // stride + 1``), as is usual.
    """
    if len(input_shape) < 2:
        raise ValueError("pooling shrinks the rows and columns of an (H, W, C) map, and a flat "
                         "vector has none")
    h, w = input_shape[0], input_shape[1]
    size = positive_int("size", size)
    stride = positive_int("stride", stride)
    if size > h or size > w:
        raise ValueError(f"pool size={size} is larger than the input ({h} x {w}); "
                         f"use a size of at most {min(h, w)}")
    return ((h - size) // stride + 1, (w - size) // stride + 1, *input_shape[2:])


def check_conv_args(x, w, b, stride: int, padding: int) -> tuple:
    """Check the arguments of a batched convolution; return ``(x, w, b, (H', W'))``.

    Each error names the argument and says how to fix it: x (N, H, W, C), w (F, kh, kw, C) as
    deep as x, b (F,) or None, and a stride and padding that tile the input.
    """
    x = _checks.array("x", x, 4, "(N, H, W, C)")
    w = _checks.array("w", w, 4, "(F, kh, kw, C)")
    if w.shape[3] != x.shape[3]:
        raise ValueError(
            f"w has depth {w.shape[3]} (shape {w.shape}) but x has {x.shape[3]} channel(s): "
            f"each filter must be exactly as deep as its input; use w shaped "
            f"(F, kh, kw, {x.shape[3]})")
    if b is not None:
        b = np.asarray(b)
        if b.shape != (w.shape[0],):
            raise ValueError(f"b must have shape ({w.shape[0]},), one bias per filter, "
                             f"got shape {b.shape}")
    out_hw = []
    for axis, size, k in (("height", x.shape[1], w.shape[1]), ("width", x.shape[2], w.shape[2])):
        try:
            out_hw.append(output_size(size, k, stride, padding))
        except ValueError as exc:
            raise type(exc)(f"along the {axis}: {exc}") from None
    return x, w, b, tuple(out_hw)
