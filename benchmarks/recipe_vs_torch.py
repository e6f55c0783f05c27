"""Time one epoch of the ``--recipe best`` network in minicnn and in PyTorch, side by side.

    python benchmarks/recipe_vs_torch.py               3 alternating rounds, full training set
    python benchmarks/recipe_vs_torch.py --limit 5000 --rounds 1   a quick try

The network is ``minicnn.recipes.better_cnn`` (conv, ReLU, pool, batch norm, twice; dense,
batch norm, ReLU, dropout, dense). PyTorch gets the very same network and initial weights
through ``minicnn.torch_bridge.to_torch``, in training mode. Both sides train one epoch with the
recipe's batch size and learning rate (SGD, momentum 0.9) over the same shuffle (``fit``'s, seed
0); minicnn with the fast backend, as ``python -m minicnn train`` runs it. Each side runs in a
fresh process, taking turns and alternating who goes first (as ``compare_torch.py`` does), with
2 threads each. Prints every epoch's seconds, the medians and minicnn / PyTorch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import emit, epoch_orders, load_data, warm_allocator  # noqa: E402
from compare_torch import run_fresh  # noqa: E402

from minicnn.__main__ import BEST  # noqa: E402
from minicnn.recipes import from_recipe  # noqa: E402


def minicnn_epoch(limit: int | None) -> dict:
    """One epoch of ``fit`` with the fast backend; its seconds and the training loss."""
    from minicnn.optim import SGD
    from minicnn.train import fit

    x, y, _, _ = load_data(limit)
    model = from_recipe(BEST, fast=True)
    start = time.perf_counter()
    history = fit(model, x, y, 1, BEST["batch_size"], SGD(BEST["lr"], momentum=0.9), seed=0,
                  progress=False)
    return {"epoch_s": time.perf_counter() - start, "loss": history["loss"][-1]}


def torch_epoch(limit: int | None, threads: int) -> dict:
    """The same epoch in PyTorch, on the network ``to_torch`` makes of the same model."""
    import torch
    import torch.nn.functional as F

    from minicnn.torch_bridge import to_torch

    torch.set_num_threads(threads)
    x, y, _, _ = load_data(limit)
    x = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(y.astype("int64"))
    module = to_torch(from_recipe(BEST)).train()
    opt = torch.optim.SGD(module.parameters(), lr=BEST["lr"], momentum=0.9)
    (order,) = epoch_orders(len(x), 1)
    order = torch.from_numpy(order)
    start, total, batches = time.perf_counter(), 0.0, 0
    for b in range(0, len(order), BEST["batch_size"]):
        idx = order[b:b + BEST["batch_size"]]
        loss = F.cross_entropy(module(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total, batches = total + float(loss), batches + 1
    return {"epoch_s": time.perf_counter() - start, "loss": total / batches}


def run_side(side: str, limit: int | None, threads: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--side", side,
           "--threads", str(threads)] + (["--limit", str(limit)] if limit else [])
    return run_fresh(cmd, threads, side)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, help="train on the first LIMIT images")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--side", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side:  # one side, in this fresh process
        warm_allocator()
        result = (minicnn_epoch(args.limit) if args.side == "minicnn"
                  else torch_epoch(args.limit, args.threads))
        emit(result)
        return 0
    start = time.perf_counter()
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for r in range(args.rounds):
        order = ["minicnn", "torch"] if r % 2 == 0 else ["torch", "minicnn"]
        for side in order:
            result = run_side(side, args.limit, args.threads)
            times[side].append(result["epoch_s"])
            print(f"round {r + 1}/{args.rounds} {side}: epoch {result['epoch_s']:.2f} s, "
                  f"training loss {result['loss']:.4f}, peak memory "
                  f"{result['peak_rss_mib']:.0f} MiB", flush=True)
    med = {side: statistics.median(ts) for side, ts in times.items()}
    print(f"\nmedian epoch: minicnn {med['minicnn']:.2f} s, PyTorch {med['torch']:.2f} s; "
          f"minicnn / PyTorch = {med['minicnn'] / med['torch']:.2f} "
          f"({args.rounds} rounds, {time.perf_counter() - start:.0f} s in all, load average "
          f"{os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
