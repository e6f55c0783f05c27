"""The fast backend's convolution: :func:`minicnn.conv.conv_forward` and ``conv_backward`` with
the same arguments and numbers (to float rounding), laid out for speed.

The patches are copied into arrays kept from one batch to the next (:class:`Scratch`), the bias
rides along the matrix product as a column of ones, and the input gradient is summed offset by
offset (:mod:`minicnn.fast.columns`). The extra keyword arguments let the two halves of a batch
(:mod:`minicnn.fast.threads`) write into one output and schedule their work.

Shapes: x (N, H, W, C), w (F, kh, kw, C), b (F,), out and dout (N, H', W', F).
"""

from __future__ import annotations

import numpy as np

from minicnn.fast.columns import Scratch, check_scratch, multiply_patches, weight_gradients
from minicnn.shapes import check_conv_args


def check_out(name: str, out: np.ndarray | None, shape: tuple[int, ...]) -> None:
    """Nothing when ``out`` is None or a writeable C-contiguous array of ``shape``; else an
    error (a result written through a copy would be lost)."""
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != tuple(shape)
                            or not out.flags.c_contiguous or not out.flags.writeable):
        got = f"shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"{name} must be a writeable C-contiguous array of shape "
                         f"{tuple(shape)} to write the result into, got {got}; leave "
                         f"{name}=None to get a new array")


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
                 padding: int = 0, *, out: np.ndarray | None = None,
                 scratch: Scratch | None = None) -> tuple[np.ndarray, tuple]:
    """Batched convolution, as :func:`minicnn.conv.conv_forward`.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (F, kh, kw, C)
    b : ndarray, shape (F,), optional
    stride, padding : int
    out : ndarray, shape (N, H', W', F), C-contiguous, optional
        Where to write the output (the halves of a batch write into one array).
    scratch : minicnn.fast.columns.Scratch, optional
        Arrays to work in, kept from one call to the next (a layer passes its own); new ones
        when not given. The cache is then good until the next call with the same ``scratch``.

    Returns
    -------
    out : ndarray, shape (N, H', W', F), C-contiguous
    cache : tuple ``(x_shape, w, cols, stride, padding, scratch, forwards)``
        For :func:`conv_backward`; ``forwards`` says which forward pass made ``cols``.
    """
    x, w, b, out_hw = check_conv_args(x, w, b, stride, padding)
    shape = (x.shape[0], *out_hw, w.shape[0])
    check_out("out", out, shape)
    scratch = check_scratch(scratch)
    cols = scratch.patch_matrix(x, w.shape, stride, padding, 1, out_hw)
    rows = None if out is None else out.reshape(-1, w.shape[0])  # a view: out is C-contiguous
    rows = multiply_patches(cols, w, b, rows)
    cache = (x.shape, w, cols, stride, padding, scratch, scratch.forwards)
    return (rows.reshape(shape) if out is None else out), cache


def conv_backward(dout: np.ndarray, cache: tuple, need_dx: bool = True, *,
                  dx_out: np.ndarray | None = None, dx_first: bool = False
                  ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv_forward`, as :func:`minicnn.conv.conv_backward`.

    Parameters
    ----------
    dout : ndarray, shape (N, H', W', F)
    cache : tuple
        From :func:`conv_forward`.
    need_dx : bool
        False skips the input gradient (the first layer of a network never needs it).
    dx_out : ndarray, shape (N, H, W, C), C-contiguous, optional
        Where to write dx.
    dx_first : bool
        Compute dx before dw and db (same numbers; see
        :func:`minicnn.fast.threads.backward_halves`).

    Returns
    -------
    dx : ndarray, shape (N, H, W, C), or None when ``need_dx`` is False
    dw : ndarray, shape (F, kh, kw, C)
    db : ndarray, shape (F,)
    """
    x_shape, w, cols, stride, padding, scratch, forwards = cache
    scratch.check_current(forwards)
    dout = np.ascontiguousarray(dout)
    check_out("dx_out", dx_out, x_shape)
    return gradients_in_order(
        lambda: (scratch.input_gradient(dout, w, x_shape, stride, padding, dx_out)
                 if need_dx else None),
        lambda: weight_gradients(cols, dout.reshape(-1, w.shape[0]), w), dx_first)


def gradients_in_order(input_grad, weight_grads, dx_first: bool) -> tuple:
    """``(dx, dw, db)`` from ``input_grad() -> dx`` and ``weight_grads() -> (dw, db)``, called
    in the order ``dx_first`` asks for (the numbers are the same either way)."""
    if dx_first:
        dx = input_grad()
        return (dx, *weight_grads())
    dw, db = weight_grads()
    return input_grad(), dw, db
