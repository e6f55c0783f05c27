"""Bring your own code: the chapter 07 network run on the learner's exercise functions.

The package's layers find their functions in ``layer.ops`` (see :mod:`minicnn.layers`). Here
each layer of the network gets a namespace of the learner's functions instead::

    from minicnn.own_code import network_from_exercises, train_with_own_code
    model = network_from_exercises("../exercises")          # same start as small_cnn(seed=0)
    history = train_with_own_code(model, x_train[:64], y_train[:64], epochs=2)

The learner's ``conv2d``, ``max_pool`` and ``max_pool_backward`` take one image; a layer passes
a batch, so :func:`exercise_ops` runs them on each image in turn (pure-Python loops: slow, and
fine on a small slice of the data). ``conv_backward``, ``relu``, ``relu_backward``,
``dense_forward``, ``dense_backward``, the loss functions and ``sgd_step`` take the batch as
they are. An exercise file written before ``dense_backward`` was an exercise may lack it; the
dense layer then runs the package's backward pass.
Shapes are channels-last: a batch is (N, H, W, C), filters are (F, kh, kw, C).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from minicnn import dense
from minicnn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU
from minicnn.losses import SoftmaxCrossEntropy
from minicnn.network import Sequential

NEEDED = {"ex02_convolution": ("conv2d",), "ex04_relu": ("relu", "relu_backward"),
          "ex05_pooling": ("max_pool", "max_pool_backward"),
          "ex06_dense_and_loss": ("dense_forward", "softmax", "cross_entropy",
                                  "softmax_cross_entropy_grad"),
          "ex07_training": ("conv_backward", "sgd_step")}
#: Used when the learner's file has them, the package's own otherwise.
OPTIONAL = {"ex06_dense_and_loss": ("dense_backward",)}


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
        for name in OPTIONAL.get(module, ()):
            if callable(getattr(mod, name, None)):
                functions[name] = getattr(mod, name)
    return SimpleNamespace(**functions)


def missing_exercises(folder=None) -> list[str]:
    """The exercise functions the network needs that do not pass the grader yet.

    Use it to decide whether to train with your own code or, for now, with ``solutions/``::

        folder = "../exercises" if not missing_exercises() else "../solutions"
    """
    from minicnn.grade import find_exercises, grade_submission

    folder = find_exercises(folder)
    needed = [f"{module}.{name}" for module, names in NEEDED.items() for name in names]
    needed += [f"{module}.{name}" for module, names in OPTIONAL.items() for name in names
               if _defines(folder / f"{module}.py", name)]
    sub = grade_submission(folder, only=needed)
    return [f"{r.exercise}.{r.function}" for r in sub.results if not r.passed]


def _defines(path: Path, name: str) -> bool:
    """Whether the file at ``path`` defines a function ``name`` (read, not run)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


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


def exercise_ops(code) -> dict:
    """The namespaces that run each kind of layer on the learner's functions.

    Returns ``{Conv2D: ..., ReLU: ..., MaxPool2D: ..., Dense: ..., "loss": ...}``; each has the
    function names the package's layer calls (``conv_forward``, ``relu``, ...).
    """
    code = _resolve(code)

    def conv_forward(x, w, b, stride=1, padding=0):
        out = np.stack([code.conv2d(image, w, stride, padding) for image in x])
        return (out if b is None else out + b), (x, w, b, stride, padding)

    def max_pool_forward(x, size=2, stride=2):
        return np.stack([code.max_pool(image, size, stride) for image in x]), (x, size, stride)

    def max_pool_backward(dout, cache):
        x, size, stride = cache
        return np.stack([code.max_pool_backward(d, (image, size, stride))
                         for d, image in zip(dout, x, strict=True)])

    def softmax_cross_entropy(logits, labels):
        return (code.cross_entropy(code.softmax(logits), labels),
                code.softmax_cross_entropy_grad(logits, labels))

    return {Conv2D: SimpleNamespace(conv_forward=conv_forward, conv_backward=code.conv_backward),
            ReLU: SimpleNamespace(relu=code.relu, relu_backward=code.relu_backward),
            MaxPool2D: SimpleNamespace(max_pool_forward=max_pool_forward,
                                       max_pool_backward=max_pool_backward),
            Dense: SimpleNamespace(dense_forward=code.dense_forward,
                                   dense_backward=getattr(code, "dense_backward",
                                                          dense.dense_backward)),
            "loss": SimpleNamespace(softmax_cross_entropy=softmax_cross_entropy,
                                    sgd_step=code.sgd_step)}


def layers_from_exercises(code=None, model: Sequential | None = None,
                          seed: int = 0) -> list[Layer]:
    """Copies of the layers of ``model`` (default :func:`minicnn.train.small_cnn`), with the
    same weights, that run on the learner's functions.

    Parameters
    ----------
    code : str, Path or SimpleNamespace, optional
        The exercise folder (default ``exercises/``) or functions from :func:`load_exercises`.
    model : Sequential, optional
        A network of ``Conv2D``, ``ReLU``, ``MaxPool2D``, ``Flatten`` and ``Dense`` layers.
    seed : int
        Seed of the default model.
    """
    ops = exercise_ops(code)
    if model is None:
        from minicnn.train import small_cnn
        model = small_cnn(seed=seed)
    layers = []
    for i, layer in enumerate(model.layers):
        if type(layer) not in ops and type(layer) is not Flatten:
            raise TypeError(f"model.layers[{i}] is {type(layer).__name__}; the exercises cover "
                            "Conv2D, ReLU, MaxPool2D, Flatten and Dense only")
        mine = copy.deepcopy(layer)
        if type(layer) in ops:
            mine.ops = ops[type(layer)]
        layers.append(mine)
    return layers


def network_from_exercises(code=None, model: Sequential | None = None,
                           seed: int = 0) -> Sequential:
    """A :class:`~minicnn.network.Sequential` of :func:`layers_from_exercises`; it remembers
    ``code`` (as ``own_code``) for :func:`train_with_own_code`."""
    code = _resolve(code)
    network = Sequential(layers_from_exercises(code, model, seed))
    network.own_code = code
    return network


def train_with_own_code(model, x: np.ndarray, y: np.ndarray, epochs: int = 1,
                        batch_size: int = 16, lr: float = 0.05, seed: int = 0,
                        code=None, callback=None) -> dict:
    """Train ``model`` with the learner's loss, gradients and ``sgd_step``.

    Parameters
    ----------
    model : Sequential or str or Path
        A network from :func:`network_from_exercises`, or an exercise folder (the network is
        then built from it, starting like ``small_cnn(seed)``).
    x : ndarray, shape (N, H, W, C)
    y : ndarray of int, shape (N,)
    epochs, batch_size, lr, seed
        The usual hyperparameters; ``seed`` shuffles the batches.
    code : optional
        Where the loss and ``sgd_step`` come from (default: the functions ``model`` was built
        from, or ``exercises/``).
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
    code = _resolve(code if code is not None else getattr(model, "own_code", None))
    ops = exercise_ops(code)["loss"]
    loss_layer = SoftmaxCrossEntropy(ops=ops)
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
            ops.sgd_step(params, grads, lr)
            losses.append(loss)
            step += 1
            if callback is not None:
                callback(step, loss)
        history["batch_loss"].extend(losses)
        history["loss"].append(float(np.mean(losses)))
    return history
