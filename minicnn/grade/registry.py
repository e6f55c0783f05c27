"""Every graded function, in course order, gathered from the chapter files.

Each ``minicnn/grade/chapters/chNN_*.py`` ends with ``EXERCISES``; this module only collects
them (in file-name order, which is course order) and selects among them. It knows no exercise.
"""

from __future__ import annotations

import importlib
import pkgutil

from minicnn.grade import chapters
from minicnn.grade.spec import Exercise


def _collect() -> tuple[Exercise, ...]:
    names = sorted(info.name for info in pkgutil.iter_modules(chapters.__path__)
                   if info.name.startswith("ch"))
    found: list[Exercise] = []
    for name in names:
        found.extend(importlib.import_module(f"{chapters.__name__}.{name}").EXERCISES)
    keys = [ex.key for ex in found]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"two chapter files grade the same function: {sorted(keys)}")
    return tuple(found)


EXERCISES: tuple[Exercise, ...] = _collect()
MODULES: tuple[str, ...] = tuple(dict.fromkeys(ex.module for ex in EXERCISES))
TOTAL_POINTS: float = sum(ex.points for ex in EXERCISES)


def select(only=None) -> list[Exercise]:
    """The exercises named by ``only``: module names ("ex02_convolution"), chapter prefixes
    ("ex02") or "module.function" keys; all of them when ``only`` is None."""
    if only is None:
        return list(EXERCISES)
    wanted = {only} if isinstance(only, str) else set(only)
    chosen = [ex for ex in EXERCISES if ex.key in wanted or ex.module in wanted
              or ex.module.split("_")[0] in wanted]
    if not chosen:
        raise ValueError(f"no graded exercise matches {sorted(wanted)!r}; use a chapter such "
                         f"as 'ex02' or a module name from {list(MODULES)}")
    return chosen
