"""The minicnn side of ``compare_torch.py``: run in its own process, prints one JSON line.

    python benchmarks/_minicnn_side.py [--epochs 3] [--limit N]

It times the two convolution layers alone (forward + backward, batch 128), and each with its
ReLU and max pool as training runs them (one fused step, :mod:`minicnn.fused`), then trains the
benchmark model with :func:`minicnn.train.fit` (the real training loop) and reports the time of
each epoch, the test accuracy and the process's peak memory.
"""

from __future__ import annotations

import time

import numpy as np
from _common import (
    BATCH_SIZE,
    CONV_CASES,
    emit,
    load_data,
    side_parser,
    time_repeats,
    warm_allocator,
)

from minicnn.fused import plan
from minicnn.layers import Conv2D, MaxPool2D, ReLU
from minicnn.optim import SGD
from minicnn.train import evaluate, fit, small_cnn


def conv_times(repeats: int) -> dict[str, list[float]]:
    """Seconds per forward + backward of each benchmark convolution on a batch of 128."""
    rng = np.random.default_rng(0)
    out = {}
    for name, ((h, w, c), f) in CONV_CASES.items():
        layer = Conv2D(c, f, 3, padding=1, seed=0)
        x = rng.random((BATCH_SIZE, h, w, c), dtype=np.float32)
        dout = rng.standard_normal((BATCH_SIZE, h, w, f)).astype(np.float32)
        need_dx = name != "conv1"  # the first layer never needs its input gradient

        def step(layer=layer, x=x, dout=dout, need_dx=need_dx):
            layer.forward(x)
            layer.backward(dout, need_dx=need_dx)

        out[name] = time_repeats(step, repeats)
        # The same convolution with its ReLU and 2x2 max pool, as training runs them (fused).
        block = plan([layer, ReLU(), MaxPool2D(2, 2)])[0]
        dpool = dout[:, ::2, ::2].copy()

        def block_step(block=block, x=x, dpool=dpool, need_dx=need_dx):
            block.forward(x)
            block.backward(dpool, need_dx=need_dx)

        out[f"{name}+relu+pool"] = time_repeats(block_step, repeats)
    return out


def main(argv: list[str] | None = None) -> int:
    args = side_parser(__doc__).parse_args(argv)
    warm_allocator()
    result: dict = {"side": "minicnn", "conv": conv_times(args.conv_repeats)}
    if not args.only_conv:
        x_train, y_train, x_test, y_test = load_data(args.limit)
        model = small_cnn(seed=0)  # the weights _torch_side.py starts from (initial_weights)
        stamps = [time.perf_counter()]
        fit(model, x_train, y_train, args.epochs, BATCH_SIZE,
            SGD(args.lr, momentum=args.momentum), seed=0, progress=False,
            callback=lambda epoch, history: stamps.append(time.perf_counter()))
        result["epoch_s"] = list(np.diff(stamps))
        result["test_accuracy"] = evaluate(model, x_test, y_test)[1]
        result["train_n"] = len(x_train)
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
