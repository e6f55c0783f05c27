"""Trusted reference answers for the graded exercises, and the wrong answers of known mistakes.

These are the grader's own loops, written for clarity and independent of the rest of the
package (a bug in ``minicnn.conv`` must not make the grader wrong). Keyword options switch on
one mistake at a time, so that the grader can compute what a learner who made that mistake
would have returned: ``correlate(x, k, flip=True)`` is the true convolution, for example.
"""

from __future__ import annotations

import numpy as np

LUMA = (0.299, 0.587, 0.114)


def to_grayscale(image: np.ndarray, weights=LUMA) -> np.ndarray:
    """(H, W, 3) -> (H, W) float: the weighted sum of the channels."""
    x = np.asarray(image, dtype=np.float64)
    return weights[0] * x[:, :, 0] + weights[1] * x[:, :, 1] + weights[2] * x[:, :, 2]


def correlate(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0, *,
              flip: bool = False, step: int | None = None, short: int = 0,
              pad_before_only: bool = False) -> np.ndarray:
    """2-D cross-correlation; the options reproduce mistakes.

    ``flip`` flips the kernel (true convolution); ``step`` moves the window by ``step``
    while the output keeps the size given by ``stride``; ``short`` drops that many rows and
    columns from the output; ``pad_before_only`` pads the top and left only.
    """
    x = np.asarray(image, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    if flip:
        k = k[::-1, ::-1]
    x = np.pad(x, ((padding, 0), (padding, 0)) if pad_before_only else padding)
    step = stride if step is None else step
    kh, kw = k.shape
    out_h = (x.shape[0] - kh) // stride + 1 - short
    out_w = (x.shape[1] - kw) // stride + 1 - short
    out = np.zeros((max(out_h, 0), max(out_w, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i * step:i * step + kh, j * step:j * step + kw] * k)
    return out


def conv2d(image: np.ndarray, filters: np.ndarray, stride: int = 1, padding: int = 0,
           **mistake) -> np.ndarray:
    """(H, W, C) image, (F, kh, kw, C) filters -> (H', W', F), summing over the channels."""
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(filters, dtype=np.float64)
    maps = []
    for f in range(w.shape[0]):
        maps.append(sum(correlate(x[:, :, c], w[f, :, :, c], stride, padding, **mistake)
                        for c in range(x.shape[2])))
    return np.stack(maps, axis=-1)


def output_size(input_size: int, filter_size: int, stride: int = 1, padding: int = 0) -> int:
    """(W - F + 2P) / S + 1, or ValueError when it is not a whole number or out of range."""
    if input_size < 1 or filter_size < 1 or stride < 1 or padding < 0:
        raise ValueError("argument out of range")
    span = input_size - filter_size + 2 * padding
    if span < 0 or span % stride:
        raise ValueError("the filter does not tile the input")
    return span // stride + 1


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x)."""
    x = np.asarray(x)
    return np.where(x > 0, x, 0.0 * x)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dout where x > 0, else 0."""
    return np.where(np.asarray(x) > 0, dout, 0.0)


def _windows(shape: tuple[int, ...], size: int, stride: int, ceil: bool = False):
    """(i, j, rows, cols) of every pooling window; ``ceil`` keeps windows that do not fit."""
    out_h, out_w = pool_shape(shape[:2], size, stride, ceil)  # range() of a negative is empty
    for i in range(out_h):
        for j in range(out_w):
            yield i, j, slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)


def pool_shape(shape: tuple[int, ...], size: int, stride: int, ceil: bool = False) -> tuple:
    extra = stride - 1 if ceil else 0
    return ((shape[0] - size + extra) // stride + 1, (shape[1] - size + extra) // stride + 1,
            *shape[2:])


def max_pool(x: np.ndarray, size: int = 2, stride: int = 2, *, reduce=np.max,
             ceil: bool = False) -> np.ndarray:
    """Pool each channel; ``reduce=np.mean`` is average pooling."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(pool_shape(x.shape, size, stride, ceil))
    for i, j, rows, cols in _windows(x.shape, size, stride, ceil):
        out[i, j] = reduce(x[rows, cols], axis=(0, 1))
    return out


def max_pool_backward(dout: np.ndarray, x: np.ndarray, size: int = 2, stride: int = 2, *,
                      rule: str = "first", accumulate: bool = True) -> np.ndarray:
    """Route each window's gradient; ``rule`` is "first", "last", "ties", "spread" or "copy"."""
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    squeeze = x.ndim == 2
    x3 = x[:, :, None] if squeeze else x
    d3 = dout[:, :, None] if squeeze else dout
    dx = np.zeros(x3.shape)
    for i, j, rows, cols in _windows(x3.shape, size, stride):
        for c in range(x3.shape[2]):
            window = x3[rows, cols, c]
            share = np.zeros(window.shape)
            flat = window.ravel()
            if rule == "first":
                share.flat[np.argmax(flat)] = 1.0
            elif rule == "last":
                share.flat[flat.size - 1 - np.argmax(flat[::-1])] = 1.0
            elif rule == "ties":
                share[window == window.max()] = 1.0
            elif rule == "spread":
                share[:] = 1.0 / window.size
            else:  # "copy"
                share[:] = 1.0
            if accumulate:
                dx[rows, cols, c] += share * d3[i, j, c]
            else:
                target = dx[rows, cols, c]
                target[share != 0] = (share * d3[i, j, c])[share != 0]
    return dx[:, :, 0] if squeeze else dx


def dense_forward(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, D) @ (D, M) + (M,)."""
    return np.asarray(x, dtype=np.float64) @ weights + bias


def softmax(logits: np.ndarray, axis: int | None = 1) -> np.ndarray:
    """Stable softmax along ``axis`` (None: over the whole array)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def naive_softmax(logits: np.ndarray, shift=None) -> np.ndarray:
    """exp(z - shift) / sum, without the per-row maximum: overflows for large logits."""
    z = np.asarray(logits, dtype=np.float64)
    if shift is not None:
        z = z - shift
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """-mean log p[n, label_n]."""
    p = np.asarray(probs, dtype=np.float64)
    return float(-np.mean(np.log(p[np.arange(p.shape[0]), labels])))


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def softmax_cross_entropy_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(softmax(logits) - one_hot(labels)) / N."""
    z = np.asarray(logits, dtype=np.float64)
    return (softmax(z) - one_hot(labels, z.shape[1])) / z.shape[0]


def conv2d_backward(dout: np.ndarray, image: np.ndarray, filters: np.ndarray, stride: int = 1,
                    padding: int = 0, *, step: int | None = None,
                    crop: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(dimage, dfilters) of ``conv2d``; ``step`` and ``crop=False`` reproduce mistakes."""
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(filters, dtype=np.float64)
    d = np.asarray(dout, dtype=np.float64)
    p = padding
    step = stride if step is None else step
    xp = np.pad(x, ((p, p), (p, p), (0, 0)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    _, kh, kw, _ = w.shape
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            rows = slice(i * step, i * step + kh)
            cols = slice(j * step, j * step + kw)
            g = d[i, j]
            dw += g[:, None, None, None] * xp[None, rows, cols, :]
            dxp[rows, cols, :] += np.tensordot(g, w, axes=(0, 0))
    if not crop:
        return dxp, dw
    return dxp[p:p + x.shape[0], p:p + x.shape[1], :], dw


def sgd_step(params: list, grads: list, learning_rate: float) -> list:
    """The arrays ``params`` should hold after one step (new arrays; the grader compares)."""
    return [np.asarray(p, dtype=np.float64) - learning_rate * g
            for p, g in zip(params, grads, strict=True)]
