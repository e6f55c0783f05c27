"""The PyTorch side of ``compare_torch.py``: run in its own process, prints one JSON line.

    python benchmarks/_torch_side.py [--epochs 3] [--limit N] [--channels-last]

The same model, initial weights, batch order, learning rate and momentum as the minicnn side,
in PyTorch's default channels-first (NCHW) layout on the CPU with 2 threads. minicnn stores
images (N, H, W, C) and filters (F, kh, kw, C); PyTorch wants (N, C, H, W) and (F, C, kh, kw),
so both are transposed with ``.transpose(0, 3, 1, 2)``. Flattening (7, 7, 16) feature maps gives
features in (h, w, c) order in minicnn and (c, h, w) order in PyTorch, so the dense layer's weight
rows are permuted to match.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's usual name)
from _common import (
    BATCH_SIZE,
    CONV_CASES,
    emit,
    epoch_orders,
    initial_weights,
    load_data,
    side_parser,
    time_repeats,
    warm_allocator,
)
from torch import nn


def dense_rows_to_torch(w: np.ndarray, hw: tuple[int, int], c: int) -> np.ndarray:
    """minicnn's dense weight (H*W*C, M), rows in (h, w, c) order -> PyTorch's Linear weight
    (M, C*H*W), columns in (c, h, w) order."""
    h, wd = hw
    m = w.shape[1]
    return w.reshape(h, wd, c, m).transpose(2, 0, 1, 3).reshape(h * wd * c, m).T.copy()


def build_model(channels_last: bool) -> nn.Module:
    weights = initial_weights(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        for idx, name in ((0, "conv1"), (3, "conv2")):
            model[idx].weight.copy_(torch.from_numpy(weights[f"{name}.w"].transpose(0, 3, 1, 2)))
            model[idx].bias.copy_(torch.from_numpy(weights[f"{name}.b"]))
        model[7].weight.copy_(torch.from_numpy(dense_rows_to_torch(weights["dense.w"], (7, 7),
                                                                   16)))
        model[7].bias.copy_(torch.from_numpy(weights["dense.b"]))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def conv_times(repeats: int, channels_last: bool) -> dict[str, list[float]]:
    """Seconds per forward + backward of each benchmark convolution on a batch of 128."""
    rng = np.random.default_rng(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = {}
    for name, ((h, w, c), f) in CONV_CASES.items():
        layer = nn.Conv2d(c, f, 3, padding=1).to(memory_format=fmt)
        x = torch.from_numpy(rng.random((BATCH_SIZE, c, h, w), dtype=np.float32))
        x = x.contiguous(memory_format=fmt).requires_grad_(name != "conv1")
        dout = torch.from_numpy(rng.standard_normal((BATCH_SIZE, f, h, w)).astype(np.float32))
        dout = dout.contiguous(memory_format=fmt)

        def step(layer=layer, x=x, dout=dout):
            layer.zero_grad(set_to_none=True)
            x.grad = None
            layer(x).backward(dout)

        out[name] = time_repeats(step, repeats)
        block = nn.Sequential(layer, nn.ReLU(), nn.MaxPool2d(2))
        dpool = dout[:, :, ::2, ::2].contiguous(memory_format=fmt)

        def block_step(block=block, x=x, dpool=dpool):
            block.zero_grad(set_to_none=True)
            x.grad = None
            block(x).backward(dpool)

        out[f"{name}+relu+pool"] = time_repeats(block_step, repeats)
    return out


def train(model, x_train, y_train, epochs, lr, momentum, channels_last) -> list[float]:
    """Mini-batch SGD over the same shuffles as minicnn's fit; seconds per epoch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    times = []
    for order in epoch_orders(len(x_train), epochs):
        t = time.perf_counter()
        order = torch.from_numpy(order)
        for b in range(0, len(order), BATCH_SIZE):
            idx = order[b:b + BATCH_SIZE]
            xb = x_train[idx].contiguous(memory_format=fmt)
            loss = F.cross_entropy(model(xb), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times


@torch.no_grad()
def accuracy(model, x, y, channels_last) -> float:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    correct = 0
    for b in range(0, len(x), 500):
        logits = model(x[b:b + 500].contiguous(memory_format=fmt))
        correct += int((logits.argmax(1) == y[b:b + 500]).sum())
    return correct / len(x)


def check_same_model() -> float:
    """Largest difference between minicnn's and PyTorch's logits for the same 64 images: shows
    that the weights, layouts and dense-row permutation were converted correctly."""
    from minicnn.train import small_cnn

    x = np.random.default_rng(1).random((64, 28, 28, 1), dtype=np.float32)
    ours = small_cnn(seed=0).forward(x)
    with torch.no_grad():
        theirs = build_model(False)(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    return float(np.abs(ours - theirs).max())


def main(argv: list[str] | None = None) -> int:
    p = side_parser(__doc__)
    p.add_argument("--channels-last", action="store_true", help="PyTorch's NHWC memory format")
    p.add_argument("--check", action="store_true", help="only compare logits with minicnn's")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.check:
        emit({"side": "check", "max_logit_diff": check_same_model()})
        return 0
    warm_allocator()
    side = "torch-nhwc" if args.channels_last else "torch"
    result: dict = {"side": side, "conv": conv_times(args.conv_repeats, args.channels_last),
                    "torch": torch.__version__, "threads": torch.get_num_threads()}
    if not args.only_conv:
        x_train, y_train, x_test, y_test = load_data(args.limit)

        def to_torch(x, y):
            return (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
                    torch.from_numpy(y))

        x_train, y_train = to_torch(x_train, y_train)
        x_test, y_test = to_torch(x_test, y_test)
        model = build_model(args.channels_last)
        result["epoch_s"] = train(model, x_train, y_train, args.epochs, args.lr, args.momentum,
                                  args.channels_last)
        result["test_accuracy"] = accuracy(model, x_test, y_test, args.channels_last)
        result["train_n"] = len(x_train)
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
