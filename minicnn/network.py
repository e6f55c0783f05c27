"""``Sequential``: a network as a list of layers applied one after another (chapter 07).

The forward pass feeds each layer's output to the next; the backward pass walks the list in
reverse, handing each layer the gradient of the one after it (backpropagation).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from minicnn import _checks, saving
from minicnn.losses import softmax


class Summary(str):
    """A text table that shows as itself in a notebook (no quotes, real line breaks)."""

    def __repr__(self) -> str:
        return str(self)


class Sequential:
    """Layers applied in order. Input (N, H, W, C) -> logits (N, K).

    Parameters
    ----------
    layers : list
        Layer objects (see :mod:`minicnn.layers`), or any objects with ``forward``,
        ``backward``, ``params`` and ``grads``.
    fast : bool
        False (the default) runs every layer's own ``forward`` and ``backward``, as written, so
        an edit to a layer takes effect. True runs the model through the fast backend
        (:mod:`minicnn.fast`, imported only then): each Conv2D -> ReLU -> MaxPool2D as one
        fused step, every batch's two halves on two threads; the same numbers up to float
        rounding. ``model.fast`` can be changed at any time; it is not saved with the model
        (:meth:`load` gives ``fast=False``).

    Attributes
    ----------
    training : bool
        The mode: True (training, as built) or False (evaluation). Layers that behave
        differently in the two (:class:`~minicnn.extra_layers.BatchNorm`, ``Dropout``) follow
        it; :meth:`train` and :meth:`eval` set it. ``fit`` trains in training mode;
        ``evaluate``, ``predict`` and ``predict_proba`` run in evaluation mode. Each of them
        leaves the mode as it found it. Saved and loaded with the model.
    """

    def __init__(self, layers, fast: bool = False) -> None:
        layers = list(layers)
        for i, layer in enumerate(layers):
            missing = [m for m in ("forward", "backward", "params", "grads")
                       if not hasattr(layer, m)]
            if missing:
                raise TypeError(f"layers[{i}] ({layer!r}) is not a layer: it lacks "
                                f"{', '.join(missing)}")
        self.layers = layers
        self.fast = fast
        self._steps = layers
        self._fast_plan: tuple = (None, [])
        self.train()

    def train(self, mode: bool = True) -> Sequential:
        """Training mode (``mode=True``) or evaluation mode (``mode=False``) for the model
        and each layer with a ``training`` attribute; returns the model."""
        self.training = bool(mode)
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = self.training
        return self

    def eval(self) -> Sequential:
        """Evaluation mode: batch norm uses its running statistics, dropout drops nothing.
        The same as ``train(False)``; returns the model."""
        return self.train(False)

    @contextlib.contextmanager
    def mode(self, training: bool):
        """``with model.mode(False): ...`` runs the block in that mode, then restores the
        mode the model had before."""
        before = self.training
        self.train(training)
        try:
            yield self
        finally:
            self.train(before)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run every layer in order; returns the last layer's output (the logits)."""
        _checks.nonempty_batch("x", x)
        self._steps = self.steps()
        for step in self._steps:
            x = step.forward(x)
        return x

    def steps(self) -> list:
        """What :meth:`forward` runs, in order: the layers themselves with ``fast`` off; with
        it on, the fast backend's steps for them, kept while the layers stay the same (each
        step keeps its scratch arrays from one batch to the next)."""
        if not self.fast:
            return list(self.layers)
        from minicnn import fast  # only when asked for: the core never needs it

        key = tuple((id(layer), getattr(layer, "size", None), getattr(layer, "stride", None))
                    for layer in self.layers)
        if self._fast_plan[0] != key:
            self._fast_plan = (key, fast.plan(self.layers))
        return self._fast_plan[1]

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dout`` (gradient w.r.t. the output) through every layer.

        Fills each layer's ``grads`` and returns the gradient with respect to the input.
        ``need_input_grad=False`` lets a fast first step skip that last, unused gradient (and
        returns None).
        """
        steps = self._steps  # as the last forward pass ran them
        for i, step in enumerate(reversed(steps)):
            first = i == len(steps) - 1
            if first and not need_input_grad and getattr(step, "can_skip_input_grad", False):
                step.backward(dout, need_dx=False)
                return None
            dout = step.backward(dout)
        return dout

    def predict_proba(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Class probabilities, shape (N, K), in evaluation mode, in batches to bound
        memory."""
        _checks.nonempty_batch("x", x)
        with self.mode(False):
            parts = [softmax(self.forward(x[i:i + batch_size]))
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    def predict(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """The most likely class of each sample, shape (N,), in evaluation mode."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    @property
    def n_params(self) -> int:
        return int(sum(p.size for layer in self.layers for p in layer.params.values()))

    def summary(self, input_shape: tuple[int, ...]) -> Summary:
        """A table of each layer's output shape and parameter count for one input sample.

        Shapes come from :func:`minicnn.shapes.output_size`, so a layer that does not fit the
        shape before it raises a clear error here, before any training.
        """
        shape = tuple(input_shape)
        rows = [("input", str(shape), "")]
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
            n = sum(p.size for p in layer.params.values())
            label = layer.label() if hasattr(layer, "label") else type(layer).__name__
            rows.append((label, str(shape), f"{n:,}"))
        rows.append(("total", "", f"{self.n_params:,}"))
        widths = [max(len(r[i]) for r in rows + [("layer", "output shape", "params")])
                  for i in range(3)]
        line = "  ".join("-" * w for w in widths)
        fmt = "{{:<{}}}  {{:<{}}}  {{:>{}}}".format(*widths)
        body = [fmt.format(*r) for r in rows]
        return Summary("\n".join([fmt.format("layer", "output shape", "params"), line,
                                  *body[:-1], line, body[-1]]))

    def astype(self, dtype) -> Sequential:
        """Convert every parameter to ``dtype`` in place (float64 for gradient checks)."""
        for layer in self.layers:
            for name, p in layer.params.items():
                layer.params[name] = p.astype(dtype)
                layer.grads[name] = np.zeros_like(layer.params[name])
            for name, buf in getattr(layer, "buffers", {}).items():
                layer.buffers[name] = buf.astype(dtype)
        return self

    def state(self) -> dict[str, np.ndarray]:
        """Every parameter, keyed ``"<layer index>.<name>"``."""
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers)
                for name, p in layer.params.items()}

    def save(self, path: str | os.PathLike) -> Path:
        """Save the architecture, weights, buffers and mode to an ``.npz`` file, atomically
        (see :func:`minicnn.saving.save`); returns the file's path."""
        return saving.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sequential:
        """Rebuild a model saved with :meth:`save`."""
        return saving.load(path, cls)

    def load_weights(self, path: str | os.PathLike) -> Sequential:
        """Load weights saved with :meth:`save` into this model (shapes must match)."""
        saving.load_weights(self, path)
        return self

    def to_torch(self, input_shape: tuple[int, ...] = (28, 28, 1)):
        """The same network with the same weights as a ``torch.nn.Sequential`` (needs PyTorch,
        ``pip install minicnn[torch]``); see :func:`minicnn.torch_bridge.to_torch`."""
        from minicnn.torch_bridge import to_torch
        return to_torch(self, input_shape)

    @classmethod
    def from_torch(cls, module, input_shape: tuple[int, ...] = (28, 28, 1)) -> Sequential:
        """A minicnn model with the layers and weights of a ``torch.nn.Sequential``; see
        :func:`minicnn.torch_bridge.from_torch`."""
        from minicnn.torch_bridge import from_torch
        return from_torch(module, input_shape)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner},\n]{', fast=True' if self.fast else ''})"
