"""The minicnn side of ``compare_torch.py``: run in its own process, prints one JSON line.

    python benchmarks/_minicnn_side.py [--epochs 3] [--limit N] [--plain]

It times the two convolution layers alone (forward + backward, batch 128), and each with its
ReLU and max pool as training runs them (with ``fast`` on, one fused step of
:mod:`minicnn.fast`), then trains the benchmark model with :func:`minicnn.train.fit` (the real
training loop) and reports the time of each epoch, the test accuracy and the process's peak
memory. ``--plain`` does all of it with the plain core (``fast=False``): every layer's own
forward and backward.
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

from minicnn.layers import Conv2D, MaxPool2D, ReLU
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import evaluate, fit, small_cnn


def conv_times(repeats: int, fast: bool = True) -> dict[str, list[float]]:
    """Seconds per forward + backward of each benchmark convolution on a batch of 128, alone
    and with its ReLU and 2x2 max pool, as a ``Sequential(..., fast=fast)`` runs them."""
    rng = np.random.default_rng(0)
    out = {}
    for name, ((h, w, c), f) in CONV_CASES.items():
        x = rng.random((BATCH_SIZE, h, w, c), dtype=np.float32)
        dout = rng.standard_normal((BATCH_SIZE, h, w, f)).astype(np.float32)
        # the first layer never needs its input gradient (only the fast path can skip it)
        need_dx = name != "conv1"
        for key, layers, grad in (
                (name, [Conv2D(c, f, 3, padding=1, seed=0)], dout),
                (f"{name}+relu+pool", [Conv2D(c, f, 3, padding=1, seed=0), ReLU(),
                                       MaxPool2D(2, 2)], dout[:, ::2, ::2].copy())):
            model = Sequential(layers, fast=fast)

            def step(model=model, x=x, grad=grad, need_dx=need_dx):
                model.forward(x)
                model.backward(grad, need_input_grad=need_dx)

            out[key] = time_repeats(step, repeats)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = side_parser(__doc__)
    parser.add_argument("--plain", action="store_true",
                        help="the plain core (fast=False) instead of the fast backend")
    args = parser.parse_args(argv)
    warm_allocator()
    fast = not args.plain
    result: dict = {"side": "minicnn" if fast else "minicnn-plain",
                    "conv": conv_times(args.conv_repeats, fast)}
    if not args.only_conv:
        x_train, y_train, x_test, y_test = load_data(args.limit)
        # the weights _torch_side.py starts from (initial_weights)
        model = small_cnn(seed=0, fast=fast)
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
