"""Saving and loading a ``Sequential`` (chapter 07): one ``.npz`` file per model.

The file holds the architecture (each layer's type and constructor arguments, as JSON, under
``__architecture__``), the mode (``__training__``), and every parameter and buffer under
``"<layer index>.<name>"`` (``"0.w"``, ``"3.running_mean"``). It is written atomically: an
interrupted save never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.idx import atomic_write
from minicnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh

# The layers a saved model may hold: save writes their names and configs, load rebuilds them.
LAYER_TYPES = {cls.__name__: cls for cls in
               (Conv2D, ReLU, Sigmoid, Tanh, MaxPool2D, AvgPool2D, Flatten, Dense,
                BatchNorm, Dropout)}


def _saved_file(path: str | os.PathLike) -> Path:
    """The file :func:`save` wrote for ``path`` (it adds ``.npz`` when missing)."""
    path = Path(path)
    if path.exists():
        return path
    if _npz_name(path).exists():
        return _npz_name(path)
    raise FileNotFoundError(f"no saved model at {str(path)!r}; save one first with "
                            "model.save(path)")


@contextlib.contextmanager
def _model_file(path: str | os.PathLike):
    """The arrays of a file :func:`save` wrote, or a clear error if it is not one."""
    file = _saved_file(path)

    def refuse(why: str) -> ValueError:
        return ValueError(f"{str(file)!r} is not a minicnn model file ({why}); load a file "
                          "written by model.save(path), or check the path")
    try:
        data = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise refuse("numpy cannot read it as an .npz archive: truncated, or another kind of "
                     "file") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise refuse("it holds a single array, not an .npz archive")
    with data:
        if "__architecture__" not in data.files:
            raise refuse(f"it has arrays {sorted(data.files)[:5]} but no architecture")
        try:
            yield data
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise refuse("part of it cannot be read: the file is damaged") from exc


def _npz_name(path: Path) -> Path:
    """``path`` with ``.npz`` added, as :func:`save` names its file."""
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save(model, path: str | os.PathLike) -> Path:
    """Write ``model``'s architecture, weights, buffers and mode to ``path`` (``.npz`` added
    when missing), atomically: to a temporary name in the same folder, then renamed."""
    path = _npz_name(Path(path))
    arch = [{"type": type(layer).__name__, "config": layer.config()}
            if type(layer).__name__ in LAYER_TYPES else {"type": type(layer).__name__}
            for layer in model.layers]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez(f, __architecture__=np.array(json.dumps(arch)),
                 __training__=np.array(model.training), **model.state(), **_buffers(model))
    return path


def load(path: str | os.PathLike, cls):
    """Rebuild the model saved at ``path`` as a ``cls`` (a :class:`~minicnn.network.Sequential`)."""
    with _model_file(path) as data:
        arch = json.loads(str(data["__architecture__"]))
        unknown = [a["type"] for a in arch if a["type"] not in LAYER_TYPES]
        if unknown:
            raise ValueError(f"{path} holds custom layers {unknown}; build the model "
                             "yourself and call model.load_weights(path)")
        model = cls([LAYER_TYPES[a["type"]](**a["config"]) for a in arch])
        _set_state(model, data)
    return model


def load_weights(model, path: str | os.PathLike) -> None:
    """Load the weights saved at ``path`` into ``model`` (the shapes must match)."""
    with _model_file(path) as data:
        _set_state(model, data)


def _buffers(model) -> dict[str, np.ndarray]:
    """Every layer's buffers (batch norm's running statistics), keyed like ``model.state()``."""
    return {f"{i}.{name}": b for i, layer in enumerate(model.layers)
            for name, b in getattr(layer, "buffers", {}).items()}


def _set_state(model, data) -> None:
    if "__training__" in data.files:  # files saved before the mode existed: training
        model.train(bool(data["__training__"]))
    buffers = _buffers(model)
    for key, p in {**model.state(), **buffers}.items():
        if key not in data:
            raise ValueError(f"the saved file has no parameter {key!r}: was it saved from "
                             "a different architecture?")
        saved = data[key]
        if saved.shape != p.shape:
            raise ValueError(f"parameter {key!r} has shape {p.shape} here but {saved.shape} "
                             "in the file: the architectures differ")
        i, name = key.split(".", 1)
        store = "buffers" if key in buffers else "params"
        getattr(model.layers[int(i)], store)[name] = saved.astype(p.dtype)
