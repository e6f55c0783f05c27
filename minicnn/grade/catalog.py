"""Every graded function, in course order."""

from __future__ import annotations

from minicnn.grade import catalog_images, catalog_layers, catalog_shapes, catalog_training
from minicnn.grade.spec import Exercise

EXERCISES: tuple[Exercise, ...] = (catalog_images.EXERCISES + catalog_shapes.EXERCISES
                                   + catalog_layers.EXERCISES + catalog_training.EXERCISES)
MODULES: tuple[str, ...] = tuple(dict.fromkeys(ex.module for ex in EXERCISES))


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
