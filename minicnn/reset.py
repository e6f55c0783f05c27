"""``python -m minicnn reset ex02``: put a starter exercise back, keeping the learner's file.

The learner's current file is first copied to ``exercises/backup/<name>.<YYYYmmdd-HHMMSS>.py``
(an existing backup is never overwritten: a second reset in the same second gets ``-2``), then
the pristine starter is written in its place. The starter comes from git: the version of the
file in ``HEAD`` (or ``--ref``) of the repository that holds the exercises folder. Without git
the command refuses and changes nothing.

    python -m minicnn reset ex02                      exercises/ here or in the parent folder
    python -m minicnn reset 2 --exercises path/to/exercises
    python -m minicnn reset ex07_training --ref v1.0  the starter as tagged v1.0
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from minicnn.idx import atomic_write

MARKER = "NotImplementedError"  # every starter function raises it until the learner codes it


class ResetError(RuntimeError):
    """The starter cannot be restored; nothing was changed."""


def find_exercises(path: str | os.PathLike | None = None) -> Path:
    """``path``, or the ``exercises/`` folder in the current folder or its parent."""
    from minicnn.grade import find_exercises as find

    try:
        return find(path, option="--exercises ")
    except FileNotFoundError as exc:
        raise ResetError(str(exc)) from None


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        raise ResetError("git is not installed, and the starter files are taken from git. "
                         "Ask your instructor for a fresh copy of the starter file.")
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True)


def _key(name: str) -> str:
    """``"2"``, ``"02"``, ``"ex02"``, ``"ex02_convolution.py"`` -> ``"ex02"`` (or the stem)."""
    name = Path(name).name
    if name.endswith(".py"):
        name = name[:-3]
    if name.isdigit():
        return f"ex{int(name):02d}"
    match = re.fullmatch(r"ex(\d+)", name)
    return f"ex{int(match.group(1)):02d}" if match else name


def find_exercise(folder: Path, name: str, ref: str = "HEAD") -> Path:
    """The exercise file ``name`` means, in ``folder`` or (if deleted there) in git ``ref``."""
    key = _key(name)
    known = {p.name for p in folder.glob("ex[0-9]*.py")}
    listed = _git(folder, "ls-tree", "--name-only", ref, "./")
    if listed.returncode == 0:
        known |= {n for n in listed.stdout.decode().split() if re.match(r"ex\d+.*\.py$", n)}
    matches = sorted(n for n in known if n[:-3] == key or n.split("_")[0] == key)
    if len(matches) != 1:
        options = ", ".join(sorted(n.split("_")[0] for n in known)) or "none found"
        what = "matches several files" if matches else "matches no exercise file"
        raise ResetError(f"{name!r} {what} in {folder}; use one of: {options}")
    return folder / matches[0]


def starter_from_git(path: Path, ref: str = "HEAD") -> bytes:
    """The content of ``path`` as committed in ``ref`` of the repository that holds it."""
    shown = _git(path.parent, "show", f"{ref}:./{path.name}")
    if shown.returncode != 0:
        why = shown.stderr.decode(errors="replace").strip().splitlines()
        raise ResetError(f"cannot read the starter {path.name} from git ({ref}): "
                         f"{why[-1] if why else 'unknown error'}. Is {path.parent} inside the "
                         "course's git repository? Otherwise ask your instructor for a fresh "
                         "copy of the starter file.")
    return shown.stdout


def backup(path: Path, data: bytes, when: float | None = None) -> Path:
    """Write ``data`` to a new, unused ``backup/<stem>.<timestamp>[-k].py`` next to ``path``'s
    folder; return its path."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    folder = path.parent / "backup"
    folder.mkdir(exist_ok=True)
    for k in range(1, 1000):
        candidate = folder / f"{path.stem}.{stamp}{'' if k == 1 else f'-{k}'}.py"
        try:
            with open(candidate, "xb") as f:  # exclusive: never overwrite an earlier backup
                f.write(data)
            return candidate
        except FileExistsError:
            continue
    raise ResetError(f"too many backups of {path.name} named {stamp} in {folder}")


def reset(name: str, exercises: str | os.PathLike | None = None, ref: str = "HEAD",
          when: float | None = None) -> tuple[Path, Path | None, bool]:
    """Back up the learner's exercise file, then restore the starter from git.

    Parameters
    ----------
    name : str
        ``"ex02"``, ``"2"`` or the file name.
    exercises : path-like, optional
        The exercises folder (default: ``exercises/`` here or in the parent folder).
    ref : str
        The git commit, branch or tag holding the starter.
    when : float, optional
        The time for the backup's name (seconds since the epoch; default now).

    Returns
    -------
    (Path, Path or None, bool)
        The exercise file; its backup (None when there was nothing to keep: the file was
        missing or already the starter); whether the file was changed.
    """
    path = find_exercise(find_exercises(exercises), name, ref)
    starter = starter_from_git(path, ref)
    saved = None
    if path.exists():
        current = path.read_bytes()
        if current == starter:
            return path, None, False
        saved = backup(path, current, when)
        shutil.copystat(path, saved)
    with atomic_write(path) as f:  # a reader never sees a half-written starter
        f.write(starter)
    return path, saved, True


def main(argv: list[str] | None = None) -> int:
    """Command line of ``python -m minicnn reset``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m minicnn reset",
        description="Restore a starter exercise file from git, keeping a backup of yours in "
                    "exercises/backup/.")
    parser.add_argument("exercise", help="which exercise: ex02, 2 or ex02_convolution.py")
    parser.add_argument("--exercises", metavar="DIR",
                        help="the exercises folder (default: exercises/ here or in the parent)")
    parser.add_argument("--ref", default="HEAD",
                        help="git commit, branch or tag holding the starter (default HEAD)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        path, saved, changed = reset(args.exercise, args.exercises, args.ref)
    except ResetError as exc:
        print(f"reset: {exc}", file=sys.stderr)
        print("reset: nothing was changed.", file=sys.stderr)
        return 1
    if saved is not None:
        print(f"Your version of {path.name} is saved as {saved}")
    if changed:
        print(f"{path} is back to the starter (from git {args.ref}).")
    else:
        print(f"{path} is already the starter (from git {args.ref}): nothing to do.")
    if MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        print(f"Note: this version has no {MARKER} lines, so it may be finished work rather "
              f"than the starter; an older one: --ref <commit> (see `git log -- {path.name}`).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
