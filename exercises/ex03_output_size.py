"""Exercise 3: the output-size formula.

A filter of size F slid with stride S over an input of size W, padded with P zeros on each
side, fits at (W - F + 2P) / S + 1 positions. When that is not a whole number the filter does
not tile the input, and we refuse the configuration instead of silently dropping pixels.

Replace each ``raise NotImplementedError(...)`` line with your own numpy code (keep the
signature), then check your work from the notebook with::

    from minicnn.grade import check
    check("ex03")
"""

from __future__ import annotations


def output_size(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> int:
    """Number of positions a filter takes along one axis (width or height).

    Parameters
    ----------
    input_size : int
        W, the input's width, at least 1.
    filter_size : int
        F, the filter's width, at least 1.
    stride : int
        S, the step between positions, at least 1.
    padding : int
        P, zeros added on each side, at least 0.

    Returns
    -------
    int
        ``(W - F + 2P) / S + 1``, an ``int`` (never a float), only when the division is
        whole: no rounding down.

    Raises
    ------
    ValueError
        If an argument is out of range (``input_size < 1``, ``filter_size < 1``,
        ``stride < 1``, negative strides included, or ``padding < 0``), if the filter is
        larger than the padded input (``W - F + 2P < 0``; a filter larger than ``W`` is fine
        when the padding makes room), or if ``W - F + 2P`` (the padded size, not
        ``W - F``) is not divisible by ``S``.

    Examples
    --------
    >>> output_size(10, 2, stride=2)
    5
    """
    raise NotImplementedError("Exercise 3.1: output_size")
