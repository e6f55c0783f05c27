"""The plain core stays plain: short modules a learner can read in one sitting, nothing in them
about threads, scratch arrays, fusion or allocator tuning, no timings or issue numbers in their
text, and the function a notebook calls first near the top."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minicnn"

#: module -> (chapter marker, the function or class its notebook calls first)
CORE = {
    "conv": (pytest.mark.ch02, "convolve"),
    "activations": (pytest.mark.ch04, "relu"),
    "pooling": (pytest.mark.ch05, "max_pool"),
    "losses": (pytest.mark.ch06, "softmax"),
    "layers": (pytest.mark.ch06, "Layer"),
    "network": (pytest.mark.ch07, "Sequential"),
    "saving": (pytest.mark.ch07, "save"),
    "train": (pytest.mark.ch07, "small_cnn"),
}
SPEED_MODULES = {"threading", "concurrent", "ctypes", "multiprocessing", "minicnn.fast"}


def _params():
    return [pytest.param(name, first, marks=mark, id=name)
            for name, (mark, first) in CORE.items()]


def _imports(nodes) -> set[str]:
    """The modules (and ``module.name``) that the import statements among ``nodes`` import."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _check_module(path: Path, first: str) -> None:
    """Assert that the module at ``path`` follows the plain core's rules."""
    name, source = path.stem, path.read_text()
    assert len(source.splitlines()) <= 250, f"minicnn/{name}.py is longer than 250 lines"
    tree = ast.parse(source)
    speed = {imp for imp in _imports(ast.walk(tree))
             if any(imp == m or imp.startswith(m + ".") for m in SPEED_MODULES)}
    # the one exception: Sequential imports the fast backend when it is switched on
    lazy = {"minicnn.fast"} if name == "network" else set()
    assert not speed - lazy, f"minicnn/{name}.py imports {sorted(speed - lazy)}"
    assert not {imp for imp in _imports(tree.body) if imp.startswith("minicnn.fast")}, name
    assert not re.search(r"\bScratch\b|mallopt|\bprange\b", source), name
    text = "\n".join(ast.get_docstring(node) or "" for node in ast.walk(tree)
                     if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)))
    assert not re.search(r"\bissue \d+|\bsession \d+|\d\s?(ms|s) (per|an?) (step|epoch)", text), \
        f"minicnn/{name}.py's docstrings hold timings or issue numbers"
    public = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
              and not node.name.startswith("_")]
    assert first in public[:4], f"{first} should be among the first definitions of {name}.py"


@pytest.mark.parametrize(("name", "first"), _params())
def test_core_module_is_short_and_plain(name, first):
    _check_module(PACKAGE / f"{name}.py", first)


@pytest.mark.ch07
def test_the_checks_catch_what_they_look_for(tmp_path):
    """A module that breaks each rule fails the test above."""
    cases = {
        "long": "def convolve():\n    pass\n" + "# filler\n" * 260,
        "threads": "import threading\n\ndef convolve():\n    pass\n",
        "fast": "from minicnn.fast import layers\n\ndef convolve():\n    pass\n",
        "lazy": "def convolve():\n    import threading\n",
        "timing": 'def convolve():\n    """Takes 4 ms per step since issue 14."""\n',
        "late": "".join(f"def f{i}():\n    pass\n" for i in range(5))
                + "def convolve():\n    pass\n",
    }
    for name, source in cases.items():
        (tmp_path / f"{name}.py").write_text(source)
        with pytest.raises(AssertionError):
            _check_module(tmp_path / f"{name}.py", "convolve")
    (tmp_path / "fine.py").write_text('"""Convolution."""\n\ndef convolve():\n    pass\n')
    _check_module(tmp_path / "fine.py", "convolve")
