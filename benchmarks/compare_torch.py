"""Time minicnn against PyTorch (CPU) on the same small CNN, side by side.

    python benchmarks/compare_torch.py            5 alternating rounds on the full training set
    python benchmarks/compare_torch.py --quick    1 round, 10,000 training images, 1 epoch
    python3 course.py bench                       installs PyTorch 2.13 (CPU) first, then this

The model: conv 3x3 1->8 (pad 1), ReLU, max pool 2, conv 3x3 8->16 (pad 1), ReLU, max pool 2,
dense 784->10; batch 128; SGD with momentum 0.9; the same initial weights (minicnn's, transposed
to channels-first for PyTorch) and the same batch order on both sides.

Each side runs in its own fresh process (``_minicnn_side.py``, ``_torch_side.py``), one after
the other, round after round: in one process the two would slow each other down (OpenBLAS
threads keep spinning after numpy's matrix products). Every figure is the median over rounds,
with its spread (max - min). The ratio is minicnn / PyTorch: below 1 means minicnn is faster.
minicnn runs twice per round: with the fast backend (``fast=True``, as ``python -m minicnn
train`` does) and with the plain core (``fast=False``, every layer's own forward and backward)
on one thread (``minicnn-plain``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIDES = {"minicnn": ["_minicnn_side.py"], "minicnn-plain": ["_minicnn_side.py", "--plain"],
         "torch": ["_torch_side.py"], "torch-nhwc": ["_torch_side.py", "--channels-last"]}
#: Sides that always run on one thread, whatever --threads says.
ONE_THREAD = {"minicnn-plain"}
# Targets: (figure, largest allowed minicnn / PyTorch ratio), for the fast backend...
TARGETS = {"epoch (s)": 1.0, "conv1 fwd+bwd (ms)": 1.5, "conv2 fwd+bwd (ms)": 1.5}
# ... and for the plain core on one thread.
PLAIN_TARGETS = {"epoch (s)": 1.5}
MAX_PEAK_MIB = 400
MAX_ACCURACY_GAP = 0.5  # percentage points


def run_side(side: str, extra: list[str], threads: int = 2) -> dict:
    """Run one side in a fresh process with ``threads`` BLAS / OpenMP threads; return its
    JSON result."""
    cmd = [sys.executable, str(HERE / SIDES[side][0]), *SIDES[side][1:], *extra,
           "--threads", str(threads)]
    return run_fresh(cmd, threads, side)


def run_fresh(cmd: list[str], threads: int, name: str) -> dict:
    """Run ``cmd`` in a fresh process, in this folder, with ``threads`` BLAS / OpenMP / minicnn
    threads; return the JSON line it prints last, or stop with its stderr if it fails."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MINICNN_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({' '.join(cmd)}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def figures(result: dict) -> dict[str, float]:
    """The numbers of one run that the table shows."""
    out = {f"{name} fwd+bwd (ms)": statistics.median(ts) * 1e3
           for name, ts in result["conv"].items()}
    if "epoch_s" in result:
        # seconds per epoch over the training set used (60,000 images unless --limit)
        out["epoch (s)"] = statistics.mean(result["epoch_s"])
        out["test accuracy (%)"] = 100 * result["test_accuracy"]
    out["peak memory (MiB)"] = result["peak_rss_mib"]
    return out


def summarise(runs: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """figure -> (median, spread) over rounds."""
    keys = runs[0].keys()
    return {k: (statistics.median(r[k] for r in runs),
                max(r[k] for r in runs) - min(r[k] for r in runs)) for k in keys}


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import numpy as np

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # noqa: BLE001 (older numpy: no dict mode)
        pass
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "MALLOC_"))}
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas,
            "environment": ", ".join(f"{k}={v}" for k, v in env.items()) or "none set"}


def table(stats: dict[str, dict], sides: list[str]) -> str:
    """A Markdown table: one row per figure, median +- spread per side, then the ratio."""
    head = ["figure", *[f"{s} median (spread)" for s in sides], "ratio minicnn/torch",
            "target"]
    rows = []
    for key in stats["minicnn"]:
        cells = [key]
        for s in sides:
            med, spread = stats[s].get(key, (float("nan"), float("nan")))
            cells.append(f"{med:.2f} ({spread:.2f})" if key != "test accuracy (%)"
                         else f"{med:.2f}")
        ratio = stats["minicnn"][key][0] / stats["torch"][key][0]
        if key in TARGETS:
            cells += [f"{ratio:.2f}", f"<= {TARGETS[key]}"]
        elif key.endswith("fwd+bwd (ms)"):
            cells += [f"{ratio:.2f}", "(for information)"]
        elif key == "test accuracy (%)":
            gap = stats["minicnn"][key][0] - stats["torch"][key][0]
            cells += [f"{gap:+.2f} points", f"within {MAX_ACCURACY_GAP} points"]
        elif key == "peak memory (MiB)":
            cells += [f"{ratio:.2f}", f"minicnn <= {MAX_PEAK_MIB}"]
        else:
            cells += ["", ""]
        rows.append(cells)
    if "minicnn-plain" in stats:
        head.insert(-1, "ratio plain/torch")
        for key, cells in zip(stats["minicnn"], rows, strict=True):
            plain = stats["minicnn-plain"].get(key)
            ratio = "" if plain is None else plain[0] / stats["torch"][key][0]
            if key == "test accuracy (%)" and plain is not None:
                ratio = f"{plain[0] - stats['torch'][key][0]:+.2f} points"
            elif plain is not None:
                ratio = f"{ratio:.2f}" + (f" (<= {PLAIN_TARGETS[key]})"
                                          if key in PLAIN_TARGETS else "")
            cells.insert(-1, ratio)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 round, 10,000 images, 1 epoch")
    p.add_argument("--rounds", type=int,
                   help="alternating rounds (default 5, as one round in three can be slow on a "
                        "shared VM; --quick 1)")
    p.add_argument("--epochs", type=int, help="epochs per run (default 3, --quick 1)")
    p.add_argument("--limit", type=int, help="train on the first LIMIT images")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate, both sides")
    p.add_argument("--channels-last", action="store_true",
                   help="also time PyTorch with its channels-last (NHWC) memory format")
    p.add_argument("--only-conv", action="store_true", help="time the conv layers only")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for OpenBLAS (numpy) and PyTorch, both sides (default 2)")
    p.add_argument("--json", type=Path, help="also write every run's raw results here")
    args = p.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 5)
    epochs = args.epochs or (1 if args.quick else 3)
    limit = args.limit or (10_000 if args.quick else None)
    extra = ["--epochs", str(epochs), "--lr", str(args.lr)]
    extra += ["--limit", str(limit)] if limit else []
    extra += ["--only-conv"] if args.only_conv else []
    sides = ["minicnn", "minicnn-plain", "torch"] + (["torch-nhwc"] if args.channels_last else [])

    check = run_side("torch", ["--check"])
    print(f"same model on both sides: largest logit difference {check['max_logit_diff']:.2e}")
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    raw: dict[str, list[dict]] = {s: [] for s in sides}
    start = time.perf_counter()
    for r in range(rounds):
        for s in (sides if r % 2 == 0 else sides[::-1]):  # alternate who goes first
            raw[s].append(run_side(s, extra, 1 if s in ONE_THREAD else args.threads))
            print(f"round {r + 1}/{rounds} {s}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in figures(raw[s][-1]).items()), flush=True)
    stats = {s: summarise([figures(res) for res in raw[s]]) for s in sides}
    print(f"\n{rounds} round(s), {epochs} epoch(s) on {raw['minicnn'][0].get('train_n', 0):,} "
          f"images, batch 128, lr {args.lr}, momentum 0.9; "
          f"torch {raw['torch'][0]['torch']}, {raw['torch'][0]['threads']} thread(s), "
          f"OpenBLAS {args.threads} thread(s) (minicnn-plain: 1); "
          f"{time.perf_counter() - start:.0f} s in all\n")
    print(table(stats, sides))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "raw": raw}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
