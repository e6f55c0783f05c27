"""Where does a training step of minicnn spend its time? Layer by layer, forward and backward.

    python benchmarks/profile_layers.py [--batches 200] [--batch-size 128]

Trains the benchmark model (conv 1->8, ReLU, pool, conv 8->16, ReLU, pool, dense 784->10; other
channel counts with ``--channels``) on
random data for ``--batches`` steps and prints, for every layer, the mean milliseconds per batch of
its forward and backward pass (``time.perf_counter`` around each call), plus the loss and the
optimiser step. numpy only: no PyTorch needed.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from minicnn.fast import keep_freed_memory
from minicnn.fast.layers import ConvReLUPool, FastConv2D
from minicnn.layers import SoftmaxCrossEntropy
from minicnn.optim import SGD
from minicnn.train import small_cnn


def profile(batches: int, batch_size: int, seed: int = 0, clock=time.perf_counter,
            channels: tuple[int, int] = (8, 16), fast: bool = True) -> dict[str, float]:
    """Mean seconds per batch for each (step, direction), after a few warm-up steps, as a model
    with ``fast`` on (the fast backend's steps) or off (the core layers) runs them."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    model = small_cnn(seed=seed, channels=channels, fast=fast)
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(lr=0.01, momentum=0.9)
    times: dict[str, float] = defaultdict(float)
    steps = model.steps()
    names = [f"{i}:{_name(step)}" for i, step in enumerate(steps)]
    warmup = 5
    for step in range(batches + warmup):
        keep = step >= warmup
        out = x
        for name, layer in zip(names, steps, strict=True):
            t = clock()
            out = layer.forward(out)
            times[f"{name} fwd"] += (clock() - t) * keep
        t = clock()
        loss_fn.forward(out, y)
        dout = loss_fn.backward()
        times["loss"] += (clock() - t) * keep
        for i in range(len(steps) - 1, -1, -1):
            layer = steps[i]
            t = clock()
            skip = i == 0 and getattr(layer, "can_skip_input_grad", False)
            dout = layer.backward(dout, need_dx=False) if skip else layer.backward(dout)
            times[f"{names[i]} bwd"] += (clock() - t) * keep
        t = clock()
        opt.step(model)
        times["optimizer"] += (clock() - t) * keep
    return {k: v / batches for k, v in times.items()}


def _name(step) -> str:
    if isinstance(step, ConvReLUPool):
        return "Conv+ReLU+Pool"
    return "Conv2D" if isinstance(step, FastConv2D) else type(step).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--channels", type=int, nargs=2, default=(8, 16), metavar=("C1", "C2"))
    parser.add_argument("--plain", action="store_true",
                        help="time the plain core's layers one by one, as Sequential(..., "
                             "fast=False) runs them")
    parser.add_argument("--cpu", action="store_true",
                        help="measure this process's CPU time instead of wall time: steadier on "
                             "a busy machine (run with OPENBLAS_NUM_THREADS=1 then)")
    parser.add_argument("--no-malloc-tuning", action="store_true",
                        help="leave glibc's malloc as it is (a fast model tunes it)")
    args = parser.parse_args(argv)
    if not args.no_malloc_tuning:
        keep_freed_memory()
    np.empty(1 << 20, dtype=np.float32).fill(0)  # warm the allocator (see TOOLING.md)
    times = profile(args.batches, args.batch_size,
                    clock=time.process_time if args.cpu else time.perf_counter,
                    channels=tuple(args.channels), fast=not args.plain)
    total = sum(times.values())
    print(f"{'part':<22}{'ms/batch':>10}{'share':>8}")
    for name, sec in times.items():
        print(f"{name:<22}{sec * 1e3:>10.3f}{sec / total:>8.1%}")
    print(f"{'total':<22}{total * 1e3:>10.3f}   (x {60000 // args.batch_size + 1} batches = "
          f"{total * (60000 / args.batch_size):.2f} s per 60k epoch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
