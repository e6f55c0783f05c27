"""Sending values between the grader and its child process as JSON.

Arrays keep their dtype, shape and exact float values (floats travel as ``repr``
strings). Nothing is pickled, so the grader never unpickles what a submission made.
Uses only the standard library and numpy: the child loads it without ``minicnn``.
"""

from __future__ import annotations

import numpy as np

MAX_ELEMENTS = 100_000


def encode(value, depth: int = 0):
    """Turn a value into JSON-able data, keeping arrays' dtype and shape."""
    if depth > 4:
        return {"__other__": type(value).__name__}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"__int__": value} if abs(value) > 2**53 else value
    if isinstance(value, float):
        return {"__float__": repr(value)}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        kind = "int" if isinstance(value, np.integer) else "float" if isinstance(
            value, np.floating) else "bool" if isinstance(value, np.bool_) else None
        if kind == "int":
            return {"__npint__": int(value), "dtype": str(value.dtype)}
        if kind == "float":
            return {"__npfloat__": repr(float(value)), "dtype": str(value.dtype)}
        if kind == "bool":
            return bool(value)
    if isinstance(value, (list, tuple)):
        items = [encode(v, depth + 1) for v in value[:64]]
        return {"__tuple__": items} if isinstance(value, tuple) else {"__list__": items}
    return {"__other__": type(value).__name__}


def _encode_array(a):
    if a.dtype.kind not in "biuf":
        return {"__other__": f"ndarray of dtype {a.dtype}"}
    if a.size > MAX_ELEMENTS:
        return {"__bigarray__": list(a.shape), "dtype": str(a.dtype)}
    flat = a.ravel().tolist()
    if a.dtype.kind == "f":
        flat = [repr(v) for v in flat]
    return {"__nd__": flat, "dtype": str(a.dtype), "shape": list(a.shape)}


class Other:
    """A value the child could not send (a function, a generator, a huge array...)."""

    def __init__(self, description: str):
        self.description = description

    def __repr__(self) -> str:
        return self.description


def decode(data):
    """Inverse of :func:`encode`."""
    if isinstance(data, list):  # only inside containers
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__nd__" in data:
        dtype = np.dtype(data["dtype"])
        flat = data["__nd__"]
        if dtype.kind == "f":
            flat = [float(v) for v in flat]
        return np.array(flat, dtype=dtype).reshape(data["shape"])
    if "__int__" in data:
        return int(data["__int__"])
    if "__float__" in data:
        return float(data["__float__"])
    if "__npint__" in data:
        return np.dtype(data["dtype"]).type(data["__npint__"])
    if "__npfloat__" in data:
        return np.dtype(data["dtype"]).type(float(data["__npfloat__"]))
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__list__" in data:
        return [decode(v) for v in data["__list__"]]
    if "__bigarray__" in data:
        return Other(f"a very large array of shape {tuple(data['__bigarray__'])}")
    return Other(str(data.get("__other__", "an unknown object")))
