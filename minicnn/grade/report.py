"""Showing grades: the notebook table, the terminal report, JSON and the CSV gradebook."""

from __future__ import annotations

import csv
import json
import re
import textwrap
from pathlib import Path

from minicnn.grade import isolation
from minicnn.grade.core import Submission

WIDTH = 92
_STATUS = {"not implemented": "not implemented yet", "forbidden": "not your own code",
           "timeout": "time limit", "missing": "missing"}


def _points(x: float) -> str:
    return f"{x:g}"


def table(sub: Submission, title: str = "") -> str:
    """A short fixed-width table: one line per function, feedback wrapped below it.

    Deterministic: no timings, no addresses, no absolute paths.
    """
    rows = [(r.number, r.function, f"{_points(r.points)}/{_points(r.max_points)}",
             "passed" if r.passed else _STATUS.get(r.status, r.status)) for r in sub.results]
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [title] if title else []
    for r, row in zip(sub.results, rows, strict=True):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, w,
                                                                        strict=True)).rstrip())
        if not r.passed:
            for line in r.feedback.removeprefix("not implemented yet: ").split("\n"):
                lines.extend(_wrap(line))
    lines.append(f"Score: {_points(sub.score)}/{_points(sub.max_score)}")
    return "\n".join(lines)


def _wrap(text: str) -> list[str]:
    """Wrap feedback, never inside a `code span`."""
    protected = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), text)
    lines = textwrap.wrap(protected, WIDTH, initial_indent="    ", subsequent_indent="    ",
                          break_long_words=False, break_on_hyphens=False)
    return [line.replace("\0", " ") for line in lines]


def text_report(sub: Submission) -> str:
    """The terminal report of one submission (saying so if it ran without isolation)."""
    title = f"Submission: {sub.submission}"
    if sub.unsafe:
        title += (f"\nUNSAFE: graded without isolation ({isolation.UNSAFE_FLAG}); "
                  f"{sub.isolation}")
    return table(sub, title)


def as_json(subs: list[Submission]) -> str:
    data = subs[0].as_dict() if len(subs) == 1 else [s.as_dict() for s in subs]
    return json.dumps(data, indent=2)


def short_names(paths: list[str]) -> list[str]:
    """Unique, file-name-safe names: the fewest trailing path parts that tell them apart."""
    parts = [Path(p).resolve().parts for p in paths]
    for k in range(1, max(len(p) for p in parts) + 1):
        names = ["-".join(p[-k:]) for p in parts]
        if len(set(names)) == len(names):
            break
    names = [re.sub(r"[^A-Za-z0-9_.-]+", "_", n).strip("._") or "submission" for n in names]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return unique


def write_csv(subs: list[Submission], path) -> Path:
    """Gradebook: one row per submission, one column per function, then the total.

    A feedback file per submission goes to ``<stem>-feedback/<name>.txt`` beside the CSV.
    Returns the feedback folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.with_name(f"{path.stem}-feedback")
    folder.mkdir(exist_ok=True)
    names = short_names([s.submission for s in subs])
    columns = [f"{r.exercise}.{r.function}" for r in subs[0].results] if subs else []
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["submission", *columns, "total", "max_total"])
        for name, sub in zip(names, subs, strict=True):
            writer.writerow([name, *(_points(r.points) for r in sub.results),
                             _points(sub.score), _points(sub.max_score)])
    for name, sub in zip(names, subs, strict=True):
        (folder / f"{name}.txt").write_text(text_report(sub) + "\n")
    return folder
