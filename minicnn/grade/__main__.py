"""Command line: ``python -m minicnn.grade PATH [PATH ...] [--json] [--csv FILE]``.

Grades each submission folder (laid out like ``exercises/``) and prints a report per
submission, or one JSON object (a list of them for several paths) with ``--json``. ``--csv``
also writes a gradebook and a feedback file per submission beside it. The exit status is 0
whenever grading ran, whatever the scores; 2 for bad arguments, or when other people's code
would have to run without isolation. Paths that are not folders (a stray zip in
``submissions/*``) are skipped with a warning.

Each submission's code runs confined by the kernel (:mod:`minicnn.grade.isolation`). Where the
machine cannot do that, grading several folders, or one that is not the course's own
``exercises/``, is refused unless ``--unsafe-no-isolation`` is given; the reports then say so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minicnn.grade import isolation, report
from minicnn.grade.core import grade_submission


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minicnn.grade",
        description="Grade minicnn exercise folders (laid out like exercises/).")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="submission folder(s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--csv", metavar="FILE", help="write a gradebook CSV and a feedback "
                        "file per submission into FILE's stem + '-feedback/'")
    parser.add_argument("--only", action="append", metavar="CHAPTER",
                        help="grade only this chapter (ex02) or module; may be repeated")
    parser.add_argument("--jobs", type=int, default=2, help="modules graded at the same time")
    parser.add_argument(isolation.UNSAFE_FLAG, dest="unsafe", action="store_true",
                        help="grade other people's code even where this machine cannot "
                        "isolate it (it then runs with your rights; the report says so)")
    args = parser.parse_args(argv)
    folders = [p for p in args.paths if Path(p).is_dir()]
    for path in args.paths:
        if path not in folders:
            print(f"skipping {path}: not a folder", file=sys.stderr)
    if not folders:
        parser.error("not a folder: pass submission folders laid out like exercises/")
    others = True if len(folders) > 1 else None
    try:
        subs = [grade_submission(p, only=args.only, jobs=args.jobs, others=others,
                                 unsafe=args.unsafe) for p in folders]
    except isolation.IsolationError as exc:
        print(f"python -m minicnn.grade: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        parser.error(str(exc))
    if args.json:
        print(report.as_json(subs))
    else:
        print("\n\n".join(report.text_report(s) for s in subs))
    if args.csv:
        folder = report.write_csv(subs, args.csv)
        print(f"gradebook written to {args.csv}, feedback to {folder}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
