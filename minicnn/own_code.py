"""Bring your own code: the chapter 07 network built from the learner's exercise functions.

Once the exercises pass, the same network the package trains can run on the learner's own
``conv2d``, ``conv_backward``, ``relu``, ``max_pool``, ``dense_forward``, their backward passes
and ``sgd_step``::

    from minicnn.own_code import network_from_exercises, train_with_own_code
    model = network_from_exercises("../exercises")          # same start as small_cnn(seed=0)
    history = train_with_own_code(model, x_train[:64], y_train[:64], epochs=2)

The layers below are thin: most loop over the batch and call the learner's per-image functions
(``conv_backward`` takes the whole batch), so they are slow (pure-Python loops), which is fine
on a small slice of the data. They follow the package's layer protocol (``forward``,
``backward``, ``params``, ``grads``, ``output_shape``, ``n_params``), so
:class:`minicnn.network.Sequential` can hold them.
Shapes are channels-last: a batch is (N, H, W, C), filters are (F, kh, kw, C).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from minicnn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU
from minicnn.network import Sequential
from minicnn.shapes import conv_output_shape, pool_output_shape

NEEDED = {"ex02_convolution": ("conv2d",), "ex04_relu": ("relu", "relu_backward"),
          "ex05_pooling": ("max_pool", "max_pool_backward"),
          "ex06_dense_and_loss": ("dense_forward", "softmax", "cross_entropy",
                                  "softmax_cross_entropy_grad"),
          "ex07_training": ("conv_backward", "sgd_step")}


def load_exercises(folder=None) -> SimpleNamespace:
    """The learner's functions, loaded from ``folder`` (default: ``exercises/`` next to the
    current folder, as :func:`minicnn.grade.check` finds it).

    Each file is loaded afresh under a private name, so edits are picked up without a
    kernel restart and the learner's modules never shadow the package's.
    """
    from minicnn.grade import find_exercises

    folder = find_exercises(folder)
    functions = {}
    for module, names in NEEDED.items():
        mod = _load(folder / f"{module}.py")
        for name in names:
            if not callable(getattr(mod, name, None)):
                raise AttributeError(f"{folder.name}/{module}.py has no function {name}(); "
                                     "keep the names of the starter file")
            functions[name] = getattr(mod, name)
    return SimpleNamespace(**functions)


def missing_exercises(folder=None) -> list[str]:
    """The exercise functions the network needs that do not pass the grader yet.

    Use it to decide whether to train with your own code or, for now, with ``solutions/``::

        folder = "../exercises" if not missing_exercises() else "../solutions"
    """
    from minicnn.grade import find_exercises, grade_submission

    needed = [f"{module}.{name}" for module, names in NEEDED.items() for name in names]
    sub = grade_submission(find_exercises(folder), only=needed)
    return [f"{r.exercise}.{r.function}" for r in sub.results if not r.passed]


def _load(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: bring-your-own-code needs the exercise "
                                "files of chapters 02 to 07")
    name = f"_minicnn_own_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(name, None)
    spec.loader.exec_module(module)
    return module


def _resolve(code) -> SimpleNamespace:
    """Functions from a namespace, a folder path or None (the default folder)."""
    if isinstance(code, SimpleNamespace):
        return code
    return load_exercises(code)


class OwnConv2D(Layer):
    """Convolution with the learner's ``conv2d`` (one image at a time) and ``conv_backward``.

    x (N, H, W, C) -> (N, H', W', F); w (F, k, k, C), b (F,), float64.
    """

    def __init__(self, code: SimpleNamespace, w: np.ndarray, b: np.ndarray, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.code, self.stride, self.padding = code, stride, padding
        self.params = {"w": np.array(w, dtype=np.float64), "b": np.array(b, dtype=np.float64)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        maps = [self.code.conv2d(image, self.params["w"], self.stride, self.padding)
                for image in x]
        return np.stack(maps) + self.params["b"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        cache = (self._x, self.params["w"], self.params["b"], self.stride, self.padding)
        dx, dw, db = self.code.conv_backward(dout, cache)
        self.grads = {"w": dw, "b": db}
        return dx

    def output_shape(self, input_shape):
        f, k = self.params["w"].shape[0], self.params["w"].shape[1]
        return conv_output_shape(input_shape, f, k, self.stride, self.padding)

    def label(self) -> str:
        f, k, _, c = self.params["w"].shape
        return f"OwnConv2D {k}x{k}, {c}->{f}, stride {self.stride}, pad {self.padding}"


class OwnReLU(Layer):
    """The learner's ``relu`` and ``relu_backward``."""

    def __init__(self, code: SimpleNamespace) -> None:
        super().__init__()
        self.code = code

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return self.code.relu(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.code.relu_backward(dout, self._x)


class OwnMaxPool2D(Layer):
    """The learner's ``max_pool`` and ``max_pool_backward``, one image at a time."""

    def __init__(self, code: SimpleNamespace, size: int = 2, stride: int = 2) -> None:
        super().__init__()
        self.code, self.size, self.stride = code, size, stride

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return np.stack([self.code.max_pool(image, self.size, self.stride) for image in x])

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.stack([self.code.max_pool_backward(d, (image, self.size, self.stride))
                         for d, image in zip(dout, self._x, strict=True)])

    def output_shape(self, input_shape):
        return pool_output_shape(tuple(input_shape), self.size, self.stride)


class OwnDense(Layer):
    """The learner's ``dense_forward``; the backward pass is x.T @ dout and dout @ w.T."""

    def __init__(self, code: SimpleNamespace, w: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.code = code
        self.params = {"w": np.array(w, dtype=np.float64), "b": np.array(b, dtype=np.float64)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        out, _ = self.code.dense_forward(x, self.params["w"], self.params["b"])
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.grads = {"w": self._x.T @ dout, "b": dout.sum(axis=0)}
        return dout @ self.params["w"].T

    def output_shape(self, input_shape):
        return (self.params["w"].shape[1],)


class OwnSoftmaxCrossEntropy:
    """The loss with the learner's ``softmax``, ``cross_entropy`` and their gradient."""

    def __init__(self, code: SimpleNamespace) -> None:
        self.code = code

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        self._logits, self._labels = logits, labels
        return float(self.code.cross_entropy(self.code.softmax(logits), labels))

    def backward(self) -> np.ndarray:
        return self.code.softmax_cross_entropy_grad(self._logits, self._labels)


def layers_from_exercises(code=None, model: Sequential | None = None,
                          seed: int = 0) -> list[Layer]:
    """The layers of ``model`` (default :func:`minicnn.train.small_cnn`) rebuilt on the
    learner's functions, starting from the same weights.

    Parameters
    ----------
    code : str, Path or SimpleNamespace, optional
        The exercise folder (default ``exercises/``) or functions from :func:`load_exercises`.
    model : Sequential, optional
        A network of ``Conv2D``, ``ReLU``, ``MaxPool2D``, ``Flatten`` and ``Dense`` layers.
    seed : int
        Seed of the default model.
    """
    code = _resolve(code)
    if model is None:
        from minicnn.train import small_cnn
        model = small_cnn(seed=seed)
    layers = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Conv2D):
            layers.append(OwnConv2D(code, layer.params["w"], layer.params["b"], layer.stride,
                                    layer.padding))
        elif isinstance(layer, ReLU):
            layers.append(OwnReLU(code))
        elif isinstance(layer, MaxPool2D):
            layers.append(OwnMaxPool2D(code, layer.size, layer.stride))
        elif isinstance(layer, Flatten):
            layers.append(Flatten())
        elif isinstance(layer, Dense):
            layers.append(OwnDense(code, layer.params["w"], layer.params["b"]))
        else:
            raise TypeError(f"model.layers[{i}] is {type(layer).__name__}; the exercises cover "
                            "Conv2D, ReLU, MaxPool2D, Flatten and Dense only")
    return layers


def network_from_exercises(code=None, model: Sequential | None = None,
                           seed: int = 0) -> Sequential:
    """A :class:`~minicnn.network.Sequential` of :func:`layers_from_exercises`."""
    return Sequential(layers_from_exercises(code, model, seed))


def train_with_own_code(model, x: np.ndarray, y: np.ndarray, epochs: int = 1,
                        batch_size: int = 16, learning_rate: float = 0.05, seed: int = 0,
                        code=None, callback=None) -> dict:
    """Train ``model`` with the learner's loss, gradients and ``sgd_step``.

    Parameters
    ----------
    model : Sequential or str or Path
        A network from :func:`network_from_exercises`, or an exercise folder (the network is
        then built from it, starting like ``small_cnn(seed)``).
    x : ndarray, shape (N, H, W, C)
    y : ndarray of int, shape (N,)
    epochs, batch_size, learning_rate, seed
        The usual hyperparameters; ``seed`` shuffles the batches.
    code : optional
        Where the loss and ``sgd_step`` come from (default: the folder of ``model``'s
        functions, or ``exercises/``).
    callback : callable, optional
        Called as ``callback(step, loss)`` after each batch (e.g. to print progress).

    Returns
    -------
    dict
        ``{"loss": [mean loss per epoch], "batch_loss": [loss per batch], "model": model}``.
    """
    if not isinstance(model, Sequential):
        code = _resolve(model if code is None else code)
        model = network_from_exercises(code)
    code = _resolve(code) if code is not None else _code_of(model)
    loss_layer = OwnSoftmaxCrossEntropy(code)
    rng = np.random.default_rng(seed)
    history = {"loss": [], "batch_loss": [], "model": model}
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_layer.forward(model.forward(x[idx]), y[idx])
            model.backward(loss_layer.backward())
            params = [p for layer in model.layers for p in layer.params.values()]
            grads = [layer.grads[k] for layer in model.layers for k in layer.params]
            code.sgd_step(params, grads, learning_rate)
            losses.append(loss)
            step += 1
            if callback is not None:
                callback(step, loss)
        history["batch_loss"].extend(losses)
        history["loss"].append(float(np.mean(losses)))
    return history


def _code_of(model: Sequential) -> SimpleNamespace:
    for layer in model.layers:
        if hasattr(layer, "code"):
            return layer.code
    return load_exercises()
