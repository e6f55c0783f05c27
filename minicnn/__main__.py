"""Command line: ``python -m minicnn train | doctor | reset``.

    python -m minicnn train                 train the course's CNN on the shipped subset
    python -m minicnn train --data full     ... on the full Fashion-MNIST (60,000 images)
    python -m minicnn doctor                check this machine is ready for the course
    python -m minicnn reset ex02            restore a starter exercise, keeping a backup
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Defaults per data set: a few quick epochs on the subset; the full recipe reaches 90 % or more
# (90.53 to 90.57 % measured; see docs/benchmarks.md). "lr_decay" multiplies
# the learning rate after every epoch (fit's lr_decay); without it the test accuracy wobbles
# between 89 % and 90.4 % from epoch to epoch.
RECIPES = {
    "subset": {"epochs": 5, "batch_size": 64, "lr": 0.05, "channels": (8, 16), "lr_decay": 1.0},
    "full": {"epochs": 7, "batch_size": 128, "lr": 0.05, "channels": (16, 32), "lr_decay": 0.7},
}
# ``--recipe best``: chapter 10's network (minicnn.recipes.better_cnn: batch norm, a hidden
# dense layer, dropout), chosen on a validation split (the learning rate over three seeds:
# benchmarks/choose_recipe.py); 92.53 % test accuracy in 2 min 21 s for the whole command (seed
# 0, 2 cores, load average about 1); see docs/benchmarks.md, "A 92 % recipe".
BEST = {"epochs": 10, "batch_size": 128, "lr": 0.1, "channels": (16, 32), "lr_decay": 0.75,
        "hidden": 128, "dropout": 0.3, "max_shift": 0, "flip": False}


def _positive(kind):
    """An argparse type: a positive ``kind`` (int or float), or a usage error naming the value."""
    what = "a whole number" if kind is int else "a finite number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be {what} greater than 0, got {text}")
        return value
    return parse


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a small CNN on Fashion-MNIST",
                       description="Train conv-ReLU-pool-conv-ReLU-pool-dense on Fashion-MNIST, "
                                   "print test accuracy and save the weights.")
    p.add_argument("--data", choices=["subset", "full"], default="subset",
                   help="the subset shipped with the package (default) or the full data set")
    p.add_argument("--recipe", choices=["standard", "best"], default="standard",
                   help="standard: chapter 07's network (default); best: chapter 10's, with "
                        "batch norm and dropout (92.5%% measured on --data full)")
    p.add_argument("--epochs", type=_positive(int), help="passes over the training set")
    p.add_argument("--batch-size", type=_positive(int), help="images per gradient step")
    p.add_argument("--lr", type=_positive(float), help="learning rate (SGD with momentum 0.9)")
    p.add_argument("--channels", type=_positive(int), nargs=2, metavar=("C1", "C2"),
                   help="filters in the first and second convolution")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    p.add_argument("--limit", type=_positive(int),
                   help="use only the first LIMIT training images")
    p.add_argument("--out", default="minicnn-fashion.npz", help="where to save the weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def train_command(args: argparse.Namespace) -> int:
    from minicnn.datasets import load_fashion_mnist
    from minicnn.optim import SGD
    from minicnn.train import evaluate, fit, small_cnn

    recipe = dict(BEST if args.recipe == "best" else RECIPES[args.data])
    for key in ("epochs", "batch_size", "lr", "channels"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data=args.data)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    print(f"data: {args.data}, {len(x_train):,} training and {len(x_test):,} test images")
    if args.recipe == "best":
        from minicnn.recipes import from_recipe
        model = from_recipe(recipe, seed=args.seed, fast=True)
    else:
        model = small_cnn(seed=args.seed, channels=tuple(recipe["channels"]), fast=True)
    print(model.summary(x_train.shape[1:]))
    optimizer = SGD(lr=recipe["lr"], momentum=0.9)
    print(f"training: {recipe['epochs']} epochs, batch size {recipe['batch_size']}, {optimizer}, "
          f"lr x {recipe['lr_decay']:g} after each epoch")
    start = time.perf_counter()

    def report(epoch, history):
        print(f"epoch {epoch}: loss {history['loss'][-1]:.4f}, "
              f"train accuracy {history['accuracy'][-1]:.2%}", flush=True)

    augment = None
    if recipe.get("max_shift") or recipe.get("flip"):
        from minicnn.augment import Augment
        augment = Augment(recipe["max_shift"], flip=recipe["flip"])
        print(f"augmentation: {augment}")
    fit(model, x_train, y_train, recipe["epochs"], recipe["batch_size"], optimizer,
        seed=args.seed, progress=not args.no_progress, callback=report,
        lr_decay=recipe["lr_decay"], augment=augment)
    seconds = time.perf_counter() - start
    loss, acc = evaluate(model, x_test, y_test)
    print(f"test accuracy: {acc:.2%} (loss {loss:.4f}), training took {seconds:.0f} s "
          f"(load average {os.getloadavg()[0]:.1f}: other processes slow it down)")
    path = model.save(args.out)
    print(f"weights saved to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minicnn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    sub.add_parser("doctor", help="check this machine is ready for the course", add_help=False)
    sub.add_parser("reset", help="restore a starter exercise file, keeping a backup",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "doctor":
        from minicnn import doctor
        return doctor.main(rest)
    if args.command == "reset":
        from minicnn import reset
        return reset.main(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    return train_command(args)


if __name__ == "__main__":
    sys.exit(main())
