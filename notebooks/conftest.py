"""pytest set-up for the notebooks' regression run (``pytest notebooks --nbval``).

The kernels nbval starts inherit this process's environment. numpy's OpenBLAS gives results
that differ in the last bits from one thread count to another, so the stored outputs were made
with one BLAS thread (``python3 course.py notebooks`` asks for it) and are checked with one.
"""

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

#: Notebooks that need PyTorch (``pip install -e '.[torch]'``); CI installs it.
TORCH_NOTEBOOKS = ("11_*.ipynb",)
HAS_TORCH = importlib.util.find_spec("torch") is not None
_skipped: list[str] = []


def pytest_ignore_collect(collection_path: Path, config):
    """Leave out the PyTorch chapter when PyTorch is not installed, and say so at the end."""
    if HAS_TORCH or not any(collection_path.match(p) for p in TORCH_NOTEBOOKS):
        return None
    _skipped.append(f"notebooks/{collection_path.name}")
    return True


def pytest_terminal_summary(terminalreporter):
    for name in sorted(set(_skipped)):
        terminalreporter.write_line(f"{name}: skipped, PyTorch is not installed "
                                    "(pip install -e '.[torch]')", yellow=True)


def pytest_collection_modifyitems(config, items):
    """A PyTorch notebook named on the command line is collected anyway: skip its cells."""
    if HAS_TORCH:
        return
    for item in items:
        path = Path(str(item.fspath))
        if any(path.match(p) for p in TORCH_NOTEBOOKS):
            _skipped.append(f"notebooks/{path.name}")
            item.add_marker(pytest.mark.skip(reason=f"notebooks/{path.name}: skipped, PyTorch "
                                                    "is not installed (pip install -e '.[torch]')"))
