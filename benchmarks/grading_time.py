"""How long the grader takes: the worked answers alone, and a whole class.

    python benchmarks/grading_time.py [--class-size 40] [--rounds 3]

Grades ``solutions/`` ``--rounds`` times (one submission, as a learner's ``check()`` does) and
then a class of ``--class-size`` submissions, half copies of ``solutions/`` and half of
``exercises/``, through the command instructors use (``python -m minicnn.grade``). Prints each
time beside its target (2 s for one submission, 60 s for a class of 40) and the load average,
since a busy machine stretches both. The targets live here, not in a timed unit test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minicnn.grade import grade_submission

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"one submission": 2.0, "class of 40": 60.0}


def time_solutions(rounds: int) -> list[float]:
    """Seconds to grade ``solutions/`` once, ``rounds`` times."""
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = grade_submission(ROOT / "solutions")
        seconds.append(time.perf_counter() - start)
        if result.score != result.max_score:
            sys.exit(f"the worked answers scored {result.score}/{result.max_score}: fix that "
                     f"first")
    return seconds


def time_class(size: int, csv: Path) -> float:
    """Seconds for ``python -m minicnn.grade`` on a class of ``size`` folders."""
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for i in range(size):
            source = ROOT / ("solutions" if i % 2 == 0 else "exercises")
            folder = Path(tmp) / f"learner{i:02d}"
            shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__"))
            folders.append(str(folder))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "minicnn.grade", *folders, "--csv",
                               str(csv)], capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"grading the class failed (exit {done.returncode}):\n{done.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    one = time_solutions(args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        whole = time_class(args.class_size, Path(tmp) / "grades.csv")
    load = os.getloadavg()[0]
    print(f"load average (1 min): {load:.1f} on {os.cpu_count()} cores")
    print(f"one submission (solutions/): {min(one):.2f} s best, {max(one):.2f} s worst of "
          f"{len(one)}  (target {TARGETS['one submission']:.0f} s)")
    scaled = whole * 40 / args.class_size
    print(f"class of {args.class_size}: {whole:.1f} s  ({scaled:.1f} s per 40; target "
          f"{TARGETS['class of 40']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
