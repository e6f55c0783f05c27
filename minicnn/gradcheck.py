"""Numerical gradient checks: is a backward pass right? (chapters 06-07)

A backward pass can be subtly wrong while the network still trains, only worse. The check:
nudge one number by a tiny ``eps`` up and down, see how much the loss moves, and compare that
slope, ``(f(x + eps) - f(x - eps)) / (2 * eps)``, with the gradient the backward pass gave.
In float64 a correct gradient agrees to a relative error around 1e-7 or better; a wrong one is
off by 1e-2 or more.
"""

from __future__ import annotations

import copy

import numpy as np

from minicnn.layers import SoftmaxCrossEntropy


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``|a - b| / max(|a| + |b|, tiny)`` with norms over all entries (0 for two zero arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:  # broadcasting would compare the wrong entries, or none
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}; compare "
                         "two gradients of the same array (e.g. dw and the numerical gradient "
                         "of w)")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6, indices=None) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` with respect to ``x``.

    ``x`` is changed in place while probing and restored afterwards, so ``f`` should read the
    same array (for example a layer's ``params["w"]``).

    Parameters
    ----------
    f : callable() -> float
    x : ndarray, float64
    indices : iterable of index tuples, optional
        Probe only these entries (the others are left 0); by default every entry.
    """
    if x.dtype != np.float64:
        raise TypeError(f"x must be float64 for a meaningful check, got {x.dtype}; "
                        "use x.astype(np.float64)")
    grad = np.zeros_like(x)
    for idx in (np.ndindex(x.shape) if indices is None else indices):
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def _sample(shape, max_checks: int | None, rng) -> list | None:
    size = int(np.prod(shape))
    if max_checks is None or size <= max_checks:
        return None
    flat = rng.choice(size, max_checks, replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def _compare(analytic, f, x, max_checks, rng, eps) -> float:
    idx = _sample(x.shape, max_checks, rng)
    numeric = numerical_gradient(f, x, eps, idx)
    if idx is not None:
        analytic = np.array([analytic[i] for i in idx])
        numeric = np.array([numeric[i] for i in idx])
    return relative_error(analytic, numeric)


def check_layer(layer, x: np.ndarray, seed: int = 0, max_checks: int | None = 200,
                eps: float = 1e-6) -> dict[str, float]:
    """Compare a layer's backward pass with numerical gradients, in float64.

    The layer is copied (the original is untouched) and its parameters turned to float64. The
    scalar checked is ``sum(forward(x) * r)`` for a fixed random ``r``, whose gradient with
    respect to the output is ``r``.

    Returns
    -------
    dict
        Relative error for ``"x"`` and for each parameter name, e.g. ``{"x": 3e-10, "w": ...}``.
    """
    rng = np.random.default_rng(seed)
    layer = copy.deepcopy(layer)
    for name, p in layer.params.items():
        layer.params[name] = p.astype(np.float64)
    x = np.array(x, dtype=np.float64)
    r = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(r)
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}

    def f():
        return float(np.sum(layer.forward(x) * r))

    errors = {"x": _compare(analytic["x"], f, x, max_checks, rng, eps)}
    for name, p in layer.params.items():
        errors[name] = _compare(analytic[name], f, p, max_checks, rng, eps)
    return errors


def check_model(model, x: np.ndarray, y: np.ndarray, seed: int = 0,
                max_checks: int | None = 50, eps: float = 1e-6) -> dict[str, float]:
    """Check every parameter's gradient of a whole model under softmax cross-entropy.

    The model is copied and turned to float64. Returns relative errors keyed
    ``"<layer index>.<param>"`` plus ``"x"`` for the input.
    """
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(model).astype(np.float64)
    x = np.array(x, dtype=np.float64)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    dx = model.backward(loss_fn.backward())
    analytic = {f"{i}.{k}": g.copy() for i, layer in enumerate(model.layers)
                for k, g in layer.grads.items()}

    def f():
        return loss_fn.forward(model.forward(x), y)

    errors = {"x": _compare(dx, f, x, max_checks, rng, eps)}
    for i, layer in enumerate(model.layers):
        for name, p in layer.params.items():
            errors[f"{i}.{name}"] = _compare(analytic[f"{i}.{name}"], f, p, max_checks, rng, eps)
    return errors


def check_layers(model, x: np.ndarray, y: np.ndarray | None = None, loss=None, seed: int = 0,
                 max_checks: int | None = 50, eps: float = 1e-6) -> dict[str, dict[str, float]]:
    """Check each layer of a model on its own, at the input it sees inside the model.

    :func:`check_model` checks the whole chain at once: a wrong backward pass in one layer
    spoils the gradients of every layer before it, so all of those show large errors. Here
    ``x`` is run forward through the model (copied, in float64), and each layer's backward
    pass is compared with numerical gradients (:func:`check_layer`) on the array that reached
    it, nudged by about 0.01 so that no two numbers tie. Only the layer with the bug shows a
    large error.

    Parameters
    ----------
    model : Sequential
    x : ndarray, shape (N, H, W, C)
    y : ndarray of int, shape (N,), optional
        With labels, the loss layer is checked too (its gradient with respect to the logits).
    loss : optional
        The loss layer (default :class:`~minicnn.layers.SoftmaxCrossEntropy`).

    Returns
    -------
    dict
        ``{"<index> <layer label>": {"x": ..., "w": ..., "b": ...}, ..., "loss": {"x": ...}}``,
        in the order of the layers: relative errors, each about 1e-7 or less when right.
    """
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(model).astype(np.float64)
    out = np.array(x, dtype=np.float64)
    errors = {}
    for i, layer in enumerate(model.layers):
        # After a ReLU many inputs are exactly 0 and tie inside a pooling window, where the
        # slope is not defined; a nudge of about 0.01 (far above eps) separates them.
        probe = out + 0.01 * rng.standard_normal(out.shape)
        errors[f"{i} {layer.label()}"] = check_layer(layer, probe, seed, max_checks, eps)
        out = layer.forward(out)
    if y is not None:
        errors["loss"] = _check_loss(SoftmaxCrossEntropy() if loss is None else loss, out, y,
                                     seed, max_checks, eps)
    return errors


def _check_loss(loss, logits: np.ndarray, y: np.ndarray, seed: int, max_checks, eps) -> dict:
    rng = np.random.default_rng(seed)
    loss = copy.deepcopy(loss)
    logits = np.array(logits, dtype=np.float64)
    loss.forward(logits, y)
    analytic = np.array(loss.backward(), dtype=np.float64)

    def f():
        return float(loss.forward(logits, y))

    return {"x": _compare(analytic, f, logits, max_checks, rng, eps)}
