"""Chapter 09, what the network sees: the two halves of an occlusion map.

``occlude(image, patch, stride, fill)`` makes one covered copy of the image per patch position;
``average_drops(drops, height, width, patch, stride)`` turns the drop of the class score for
each position into a map: each pixel's mean drop over the positions whose patch covered it.
The network in between (``model.forward`` on the copies) is not graded.
"""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, size_text, with_traits
from minicnn.grade.spec import matches as _matches

MODULE = "ex09_what_the_network_sees"


# ---------------------------------------------------------------------------- reference
def _corners(height: int, width: int, patch: int, stride: int, *, last: bool = True,
             order: str = "rows") -> list[tuple[int, int]]:
    """Top-left corners of the patch positions, row by row (``order="columns"``: column by
    column; ``last=False`` leaves out the last position of each axis, a mistake)."""
    stop_h, stop_w = height - patch + (1 if last else 0), width - patch + (1 if last else 0)
    tops, lefts = range(0, stop_h, stride), range(0, stop_w, stride)
    if order == "columns":
        return [(t, left) for left in lefts for t in tops]
    return [(t, left) for t in tops for left in lefts]


def occlude(image: np.ndarray, patch: int = 6, stride: int = 2, fill: float = 0.0, *,
            last: bool = True, order: str = "rows", shared: str = "", cover: int = 0,
            use_fill: bool = True) -> np.ndarray:
    """(H, W, C) -> (N, H, W, C): one copy per position, its patch set to ``fill``.

    The keywords make the mistakes: ``shared="earlier"`` keeps the earlier patches in every
    later copy, ``shared="all"`` puts every patch in every copy (one array appended N times),
    ``cover`` changes the side of the square covered, ``use_fill=False`` covers with 0.
    """
    x = np.asarray(image, dtype=np.float64)
    h, w = x.shape[:2]
    corners = _corners(h, w, patch, stride, last=last, order=order)
    out = np.empty((len(corners), *x.shape))
    current = x.copy()
    side = patch + cover
    for k, (t, left) in enumerate(corners):
        copy = current if shared else x.copy()
        copy[t:t + side, left:left + side, :] = fill if use_fill else 0.0
        out[k] = copy
    if shared == "all":
        out[:] = current
    return out


def average_drops(drops: np.ndarray, height: int, width: int, patch: int = 6, stride: int = 2,
                  *, mean: str = "count", accumulate: bool = True, order: str = "rows",
                  empty: float = 0.0) -> np.ndarray:
    """(N,) drops -> (height, width): each pixel's mean drop over the patches covering it.

    The keywords make the mistakes: ``mean="sum"`` or ``"area"`` (divide by nothing or by
    patch * patch), ``accumulate=False`` (a later patch overwrites), ``order="columns"``,
    ``empty=nan`` (0 / 0 where no patch reached).
    """
    d = np.asarray(drops, dtype=np.float64)
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for k, (t, left) in enumerate(_corners(height, width, patch, stride, order=order)):
        if accumulate:
            total[t:t + patch, left:left + patch] += d[k]
        else:
            total[t:t + patch, left:left + patch] = d[k]
        count[t:t + patch, left:left + patch] += 1
    if mean == "sum" or not accumulate:
        return total
    if mean == "area":
        return total / (patch * patch)
    out = np.full((height, width), empty)
    np.divide(total, count, out=out, where=count > 0)
    return out


def n_positions(height: int, width: int, patch: int, stride: int) -> int:
    return ((height - patch) // stride + 1) * ((width - patch) // stride + 1)


# ---------------------------------------------------------------------------- 9.1 occlude
def _ramp(h: int, w: int, c: int = 1) -> np.ndarray:
    """An image whose every value is different (so a misplaced patch always shows)."""
    return (np.arange(h * w * c, dtype=np.float64).reshape(h, w, c) + 1) / (h * w * c)


def _occlude_cases() -> tuple[Case, ...]:
    cases = [
        Case("the notebook's 4x4x1 image, patch 2, stride 2 (four copies)", (_ramp(4, 4), 2, 2)),
        Case("a 3x3x1 image, patch 2, stride 1 (overlapping patches)", (_ramp(3, 3), 2, 1)),
        Case("a 4x4x1 image, patch 2, stride 2, fill 0.5", (_ramp(4, 4), 2, 2, 0.5)),
        Case("a 5x5x1 image, patch 2, stride 2 (the last row and column are never covered)",
             (_ramp(5, 5), 2, 2)),
        Case("a 4x6x3 image, patch 3, stride 1", (_ramp(4, 6, 3), 3, 1, 0.25)),
        Case("a 7x5x1 image, patch 2, stride 3 (gaps between the patches)",
             (_ramp(7, 5), 2, 3, -1.0)),
        Case("a 3x3x1 image with a 4x4 patch (should raise ValueError)", (_ramp(3, 3), 4, 1),
             raises=True, names="patch"),
        *_wide_images(),
    ]
    return tuple(cases)


def _wide_images() -> list[Case]:
    """Seeded images 2x2 to 9x9 with 1 or 3 channels, float32 among them, patches 2 to 4,
    strides 1 to 3, fills 0 and others, and a 16x16 image with the notebook's settings."""
    r = seeded(f"{MODULE}.occlude")
    cases = []
    for k in range(10):
        h, w = int(r.integers(2, 10)), int(r.integers(2, 10))
        patch = int(r.integers(2, min(h, w, 4) + 1))
        stride = int(r.integers(1, 4))
        c = (1, 3)[k % 2]
        x = r.uniform(0.05, 1, (h, w, c))
        fill = (0.0, float(np.round(r.uniform(-1, 1), 2)))[k % 3 == 1]
        kind = "float32" if k % 4 == 3 else "float64"
        x = x.astype(kind)
        cases.append(Case(f"a {size_text(x)} {kind} image, patch {patch}, stride {stride}, "
                          f"fill {fill:g}", (x, patch, stride, fill),
                          atol=1e-6 if kind == "float32" else None))
    big = r.uniform(0.05, 1, (16, 16, 1))
    cases.append(Case("a large 16x16x1 image, patch 6, stride 2 (36 copies)", (big, 6, 2)))
    return cases


def _occlude_traits(case: Case) -> list[str]:
    if case.raises:
        return []
    x, patch, stride = case.args[:3]
    fill = case.args[3] if len(case.args) > 3 else 0.0
    h, w = x.shape[:2]
    traits = []
    if stride < patch:
        traits.append("overlapping patches (stride < patch)")
    if stride > patch:
        traits.append("gaps between the patches (stride > patch)")
    if (h - patch) % stride or (w - patch) % stride:
        traits.append("patch positions that leave the last rows or columns uncovered")
    if fill != 0:
        traits.append(f"a fill other than 0 ({fill:g})")
    if x.shape[2] > 1:
        traits.append(f"{x.shape[2]} channels")
    if h != w:
        traits.append(f"a non-square image ({h}x{w})")
    return traits


def _occlude_variant(**keywords):
    def output(case: Case):
        return None if case.raises else occlude(*case.args, **keywords)
    return output


def _shared_copies(case: Case, out: Outcome) -> bool:
    if case.raises or out.status != "returned":
        return False
    return any(_matches(OCCLUDE, occlude(*case.args, shared=how), out.value)
               for how in ("earlier", "all"))


OCCLUDE = Exercise(
    "9.1", MODULE, "occlude", 1.0,
    "for each patch position, row by row, copy the image and set its patch x patch square "
    "to fill; return the copies as one (N, H, W, C) array",
    ("image", "patch", "stride", "fill"), with_traits(_occlude_cases(), _occlude_traits),
    occlude, atol=1e-9,
    mistakes=(
        Mistake("no_error_patch_too_big", "no error for a patch larger than the image: raise "
                "ValueError naming `patch` (there is no position for it)",
                test=lambda c, o: c.raises and o.status == "returned"),
        Mistake("last_position_missing", "the last position of each axis is missing: the top "
                "corners are 0, stride, 2 * stride, ... up to and including H - patch, so "
                "use range(0, H - patch + 1, stride)", output=_occlude_variant(last=False)),
        Mistake("columns_first", "your copies come column by column; go row by row (the "
                "outer loop over the top corner, the inner over the left corner), the order "
                "in which the drops are read back", output=_occlude_variant(order="columns")),
        Mistake("copies_share_patches", "each copy still has the patches of the copies "
                "before it (or all of them, when one array is changed and appended again and "
                "again): start every copy from the intact image (image.copy())",
                test=_shared_copies),
        Mistake("patch_one_short", "your square is one pixel too small on each side: cover "
                "rows top:top + patch and columns left:left + patch",
                output=_occlude_variant(cover=-1)),
        Mistake("patch_one_long", "your square is one pixel too large on each side: cover "
                "rows top:top + patch and columns left:left + patch",
                output=_occlude_variant(cover=1)),
        Mistake("fill_ignored", "the patch is always 0: cover it with the value `fill`",
                output=_occlude_variant(use_fill=False)),
        Mistake("stride_ignored", "there is a copy for every pixel position: move the "
                "patch by `stride` pixels, not by 1",
                output=lambda c: None if c.raises else occlude(c.args[0], c.args[1], 1,
                                                               *c.args[3:])),
    ),
)


# ---------------------------------------------------------------------------- 9.2 average_drops
def _drops_cases() -> tuple[Case, ...]:
    cases = [
        Case("the notebook's four drops on a 4x4 image, patch 2, stride 2",
             (np.array([0.5, 0.0, 0.25, 1.0]), 4, 4, 2, 2)),
        Case("four drops on a 3x3 image, patch 2, stride 1 (overlapping patches)",
             (np.array([0.2, 0.0, 0.4, 0.6]), 3, 3, 2, 1)),
        Case("four drops on a 5x5 image, patch 2, stride 2 (the last row and column are "
             "never covered)", (np.array([1.0, -0.5, 0.25, 0.75]), 5, 5, 2, 2)),
        Case("six drops on a 4x6 image, patch 3, stride 2 is wrong: that makes two positions "
             "(should raise ValueError)", (np.arange(6.0), 4, 6, 3, 2), raises=True,
             names="drops"),
        Case("six drops on a 3x4 image, patch 2, stride 1 (a non-square image)",
             (np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 3, 4, 2, 1)),
        *_wide_drops(),
    ]
    return tuple(cases)


def _wide_drops() -> list[Case]:
    """Seeded maps 2x2 to 12x12, patches 2 to 5, strides 1 to 3, drops of both signs, and
    the notebook's 28x28 map with patch 6 and stride 2 (144 drops)."""
    r = seeded(f"{MODULE}.average_drops")
    cases = []
    for k in range(10):
        h, w = int(r.integers(2, 13)), int(r.integers(2, 13))
        patch = int(r.integers(2, min(h, w, 5) + 1))
        stride = int(r.integers(1, 4))
        n = n_positions(h, w, patch, stride)
        drops = np.round(r.normal(0, 1, n), 3)
        kind = "float32" if k % 4 == 3 else "float64"
        drops = drops.astype(kind)
        cases.append(Case(f"{n} {kind} drops on a {h}x{w} image, patch {patch}, stride "
                          f"{stride}", (drops, h, w, patch, stride),
                          atol=1e-5 if kind == "float32" else None))
    drops = np.round(r.uniform(-0.5, 3, 144), 3)
    cases.append(Case("the notebook's 144 drops on a 28x28 image, patch 6, stride 2",
                      (drops, 28, 28, 6, 2)))
    return cases


def _drops_traits(case: Case) -> list[str]:
    if case.raises:
        return []
    _, h, w, patch, stride = case.args
    traits = []
    if stride < patch:
        traits.append("overlapping patches (stride < patch)")
    if stride > patch:
        traits.append("gaps between the patches (stride > patch)")
    if (h - patch) % stride or (w - patch) % stride or stride > patch:
        traits.append("pixels that no patch covers")
    if h != w:
        traits.append(f"a non-square image ({h}x{w})")
    return traits


def _drops_variant(**keywords):
    def output(case: Case):
        return None if case.raises else average_drops(*case.args, **keywords)
    return output


AVERAGE_DROPS = Exercise(
    "9.2", MODULE, "average_drops", 1.0,
    "add each position's drop to the pixels its patch covers and count the patches per "
    "pixel; return total / count, 0 where no patch reached",
    ("drops", "height", "width", "patch", "stride"),
    with_traits(_drops_cases(), _drops_traits), average_drops, atol=1e-9,
    mistakes=(
        Mistake("no_error_wrong_count", "no error when the number of drops is not the number "
                "of patch positions: raise ValueError naming `drops`",
                test=lambda c, o: c.raises and o.status == "returned"),
        Mistake("summed_not_averaged", "you return each pixel's sum of drops: divide by the "
                "number of patches that covered the pixel", output=_drops_variant(mean="sum")),
        Mistake("divided_by_patch_area", "you divide by patch * patch; divide each pixel's "
                "sum by the number of patches that covered that pixel (it differs near the "
                "edges and where patches overlap)", output=_drops_variant(mean="area")),
        Mistake("later_patch_overwrites", "where patches overlap, a later drop replaces an "
                "earlier one: add the drops up (+=) and divide by the count",
                output=_drops_variant(accumulate=False)),
        Mistake("columns_first", "you read the drops column by column; drop k belongs to the "
                "k-th position row by row (outer loop over the top corner)",
                output=_drops_variant(order="columns")),
        Mistake("nan_where_uncovered", "pixels that no patch covers are nan (0 / 0): give "
                "them 0", output=_drops_variant(empty=np.nan)),
    ),
)

EXERCISES = (OCCLUDE, AVERAGE_DROPS)
