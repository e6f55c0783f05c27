"""Package versions for ``python -m minicnn doctor``: what is installed, what minicnn declares,
and whether one satisfies the other.

No third-party imports (not even ``packaging``): the doctor must run, and say what is wrong, in
an environment where installing went badly.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re


def _release(version: str) -> tuple[int, ...]:
    """``"2.4.0rc1"`` -> ``(2, 4, 0)``: the numeric release part of a version."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def _cmp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def satisfies(version: str, spec: str) -> bool:
    """True when ``version`` meets every clause of ``spec`` (``">=1.26,<3"``, ``"~=3.0.17"``).

    Handles ``>= > <= < == != ~=`` and ``==X.*`` on the numeric release part; pre-release and
    local tags are ignored, which is what a lower-bound check needs.
    """
    have = _release(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.fullmatch(r"(~=|==|!=|>=|<=|>|<)\s*([0-9][0-9A-Za-z.*+!-]*)", clause)
        if not match:
            raise ValueError(f"spec must be clauses like '>=1.26', got {spec!r}")
        op, text = match.groups()
        want = _release(text)
        if text.endswith(".*"):
            same = have[:len(want)] == want
            ok = same if op == "==" else not same
        elif op == "~=":
            ok = _cmp(have, want) >= 0 and have[:len(want) - 1] == want[:-1]
        else:
            c = _cmp(have, want)
            ok = {">=": c >= 0, ">": c > 0, "<=": c <= 0, "<": c < 0,
                  "==": c == 0, "!=": c != 0}[op]
        if not ok:
            return False
    return True


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def normalise(name: str) -> str:
    """PEP 503 form: lower case, runs of - _ . become one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(distribution: str = "minicnn") -> dict[str, str]:
    """Package name -> version spec that ``distribution`` declares (extras included)."""
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return {}
    found = {}
    for line in declared:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)", line)
        if match:
            found[normalise(match.group(1))] = match.group(2).replace(" ", "")
    return found
