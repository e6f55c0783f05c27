"""Make the small Fashion-MNIST subset that ships inside minicnn, from the real files.

The subset is a class-balanced random sample of the real Fashion-MNIST: 800 training images of
each class (8000 in all) from the 60000 training images, and 200 test images of each class
(2000) from the 10000 test images, drawn with a fixed seed and kept in their original order.
It is written as gzipped IDX files (the same format and names as the full set, read by the same
code) into ``minicnn/data/fashion-mnist-subset/``, with a ``SHA256SUMS`` file.

The output is byte-for-byte reproducible: the same source files and seed give the same
indices, and the gzip streams store no file name and mtime 0 (with the same zlib version).

Re-run it (from the repository root) with::

    python scripts/make_subset.py                      # reads /usr/share/datasets/fashion-mnist
    python scripts/make_subset.py --source DIR         # or any folder with the four files
    python scripts/make_subset.py --check              # rebuild in memory, compare, write nothing

The source files are checked against the checksums of the official Fashion-MNIST content in
``minicnn.datasets`` before anything is written. On Debian/Ubuntu the source comes from
``apt-get install dataset-fashion-mnist``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # use this checkout's minicnn, installed or not

from minicnn.datasets import FASHION_MNIST, SUBSET_DIR, _find_files  # noqa: E402
from minicnn.idx import _read_bytes, read_idx, write_idx  # noqa: E402

DEFAULT_SOURCE = Path("/usr/share/datasets/fashion-mnist")
SEED = 0
TRAIN_PER_CLASS = 800
TEST_PER_CLASS = 200
MAX_BYTES = 4_500_000  # the whole subset must stay below 4.5 MB


def balanced_sample(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` examples of each class 0..9, drawn without replacement, sorted."""
    picks = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False)
             for c in range(10)]
    return np.sort(np.concatenate(picks))


def build(source: Path, out: Path, seed: int = SEED) -> dict[str, str]:
    """Write the four subset files into ``out``; return {file name: sha256 of the .gz file}."""
    rng = np.random.default_rng(seed)
    files = [rf.name for rf in FASHION_MNIST.files]
    paths, missing = _find_files(source, FASHION_MNIST)
    if missing:
        raise SystemExit(f"{source} has no {missing[0]}: pass --source with a folder holding the "
                         f"four Fashion-MNIST files (apt-get install dataset-fashion-mnist)")
    for rf, path in zip(FASHION_MNIST.files, paths, strict=True):
        if hashlib.sha256(_read_bytes(path)).hexdigest() != rf.sha256:  # content, gunzipped
            raise SystemExit(f"{path} is not the official Fashion-MNIST file (its content has "
                             f"another SHA-256): use the real files")
    sums = {}
    for images_name, labels_name, images_path, labels_path, per_class in (
            (files[0], files[1], paths[0], paths[1], TRAIN_PER_CLASS),
            (files[2], files[3], paths[2], paths[3], TEST_PER_CLASS)):
        images = read_idx(images_path, dtype=np.uint8, ndim=3)
        labels = read_idx(labels_path, dtype=np.uint8, ndim=1)
        keep = balanced_sample(labels, per_class, rng)
        for name, array in ((images_name, images[keep]), (labels_name, labels[keep])):
            path = write_idx(out / name, array)
            sums[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"folder with the four real Fashion-MNIST files "
                             f"(default {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=SUBSET_DIR,
                        help="where to write the subset (default: the package's data folder)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temporary folder and compare with --out; "
                             "exit 1 if any file differs")
    args = parser.parse_args(argv)

    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            sums = build(args.source, Path(tmp))
        differ = [n for n, s in sums.items()
                  if not (args.out / n).is_file()
                  or hashlib.sha256((args.out / n).read_bytes()).hexdigest() != s]
        for name in differ:
            print(f"differs: {args.out / name}")
        print("subset is reproducible" if not differ else "subset differs from a rebuild")
        return 1 if differ else 0

    args.out.mkdir(parents=True, exist_ok=True)
    sums = build(args.source, args.out)
    (args.out / "SHA256SUMS").write_text("".join(f"{s}  {n}\n" for n, s in sums.items()))
    total = sum((args.out / n).stat().st_size for n in sums)
    for name in sums:
        print(f"{(args.out / name).stat().st_size:>10,d}  {args.out / name}")
    print(f"{total:>10,d}  bytes in all (limit {MAX_BYTES:,d})")
    if total > MAX_BYTES:
        print("the subset is too large: lower TRAIN_PER_CLASS/TEST_PER_CLASS", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
