"""Choose the ``--recipe best`` learning rate on a validation split, over several seeds.

    python benchmarks/choose_recipe.py                       lr 0.05 and 0.1, seeds 0 1 2
    python benchmarks/choose_recipe.py --lr 0.1 --seeds 3 4   more runs of one setting
    python benchmarks/choose_recipe.py --limit 4000 --epochs 1   a quick try of the script

Every run trains ``minicnn.recipes.better_cnn`` with the settings of ``BEST`` in
``minicnn/__main__.py`` (the learning rates compared; ``--epochs``, ``--batch-size``,
``--hidden`` and ``--lr-decay`` change the others for every run) on 7/8 of the full Fashion-MNIST
training set and reports its accuracy on the other 1/8 (``split_validation``, seed 0, the same
split for every run). The seed sets the initial weights, the shuffling and dropout. No model is
evaluated on the test set here: that happens once, in ``python -m minicnn train --data full
--recipe best``, for the setting chosen.

Prints one line per run, then the mean +- sd over seeds of each setting's final validation
accuracy and whether the gap between the two beats the larger spread
(``minicnn.experiments.difference``). ``--json FILE`` keeps every run's per-epoch curve.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _common import load_data  # also puts the checkout on sys.path

from minicnn.__main__ import BEST  # noqa: E402
from minicnn.datasets import split_validation  # noqa: E402
from minicnn.experiments import difference, spread  # noqa: E402
from minicnn.optim import SGD  # noqa: E402
from minicnn.recipes import from_recipe  # noqa: E402
from minicnn.train import fit  # noqa: E402


def one_run(train, val, lr: float, seed: int, epochs: int, hidden: int, lr_decay: float,
            batch_size: int) -> dict:
    """Train the best recipe's network at ``lr`` from ``seed``; validation accuracy per epoch."""
    model = from_recipe({**BEST, "hidden": hidden}, seed=seed, fast=True)
    start = time.process_time()
    history = fit(model, *train, epochs, batch_size, SGD(lr=lr, momentum=0.9),
                  validation=val, seed=seed, progress=False, lr_decay=lr_decay)
    return {"lr": lr, "seed": seed, "val_accuracy": list(history["val_accuracy"]),
            "cpu_s": time.process_time() - start}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lr", type=float, nargs="+", default=[0.05, 0.1])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=BEST["epochs"])
    p.add_argument("--hidden", type=int, default=BEST["hidden"], help="hidden dense units")
    p.add_argument("--batch-size", type=int, default=BEST["batch_size"])
    p.add_argument("--lr-decay", type=float, default=BEST["lr_decay"],
                   help="learning rate x this after every epoch")
    p.add_argument("--limit", type=int, help="use the first LIMIT training images only")
    p.add_argument("--json", type=Path, help="write every run's curve here")
    args = p.parse_args(argv)

    x, y, _, _ = load_data(args.limit)  # the test images are not used here
    train, val = split_validation(x, y, fraction=0.125, seed=0)
    print(f"{len(train[1])} training and {len(val[1])} validation images, {args.epochs} epochs, "
          f"batch size {args.batch_size}, {args.hidden} hidden units, lr x {args.lr_decay:g} per "
          f"epoch, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs = []
    for seed in args.seeds:  # seeds outermost: an interrupted run still compares the settings
        for lr in args.lr:
            run = one_run(train, val, lr, seed, args.epochs, args.hidden, args.lr_decay,
                          args.batch_size)
            runs.append(run)
            curve = ", ".join(f"{100 * a:.2f}" for a in run["val_accuracy"])
            print(f"lr {lr:g}, seed {seed}: validation accuracy per epoch {curve} "
                  f"({run['cpu_s']:.0f} s of CPU)", flush=True)
    groups = {}
    for lr in args.lr:
        finals = [r["val_accuracy"][-1] for r in runs if r["lr"] == lr]
        groups[lr] = {"name": f"lr {lr:g}", "val": spread(finals)}
        print(f"lr {lr:g}: final validation accuracy {groups[lr]['val']}")
    if len(args.lr) == 2 and len(args.seeds) > 1:
        a, b = (groups[lr] for lr in args.lr)
        d = difference(b, a)
        verdict = "beats" if d["real"] else "does not beat"
        print(f"{b['name']} minus {a['name']}: {100 * d['gap']:+.2f} points, which {verdict} "
              f"the larger spread ({100 * d['noise']:.2f} points)")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
