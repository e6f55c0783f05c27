"""What both sides of the benchmark share: data, initial weights, batch order, timing helpers.

numpy only (no PyTorch here), so the minicnn side never loads torch. Each side runs in its own
process and prints one JSON line of results on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from minicnn.fast import keep_freed_memory  # noqa: E402
from minicnn.train import small_cnn  # noqa: E402

BATCH_SIZE = 128
#: The two convolutions timed on their own: (input shape without N, filters out).
CONV_CASES = {"conv1": ((28, 28, 1), 8), "conv2": ((14, 14, 8), 16)}


def warm_allocator() -> None:
    """Set up malloc as a fast minicnn model does, on every side alike (glibc keeps freed
    memory instead of faulting it in again every step), then touch and free a few MB so the
    first timed calls do not pay for fresh pages."""
    keep_freed_memory()
    np.ones(1 << 20, dtype=np.float32).sum()
    np.ones((8, 1 << 20), dtype=np.uint8).sum()


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """The benchmark model's starting weights, channels-last, as minicnn's ``small_cnn`` makes
    them: ``conv1.w`` (8, 3, 3, 1), ``conv2.w`` (16, 3, 3, 8), ``dense.w`` (784, 10), biases."""
    model = small_cnn(seed=seed)
    conv1, conv2, dense = model.layers[0], model.layers[3], model.layers[7]
    return {"conv1.w": conv1.params["w"], "conv1.b": conv1.params["b"],
            "conv2.w": conv2.params["w"], "conv2.b": conv2.params["b"],
            "dense.w": dense.params["w"], "dense.b": dense.params["b"]}


def load_data(limit: int | None):
    """Full Fashion-MNIST, float32 (N, 28, 28, 1) in [0, 1]; the first ``limit`` training
    images only when ``limit`` is given."""
    from minicnn.datasets import load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data="full", download=False,
                                                              progress=False)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return x_train, y_train, x_test, y_test


def epoch_orders(n: int, epochs: int, seed: int = 0) -> list[np.ndarray]:
    """The shuffles ``minicnn.train.fit(..., seed=seed)`` uses, one permutation per epoch."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def time_repeats(fn, repeats: int, warmup: int = 3) -> list[float]:
    """Seconds per call of ``fn()``, ``repeats`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def side_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="use the first LIMIT train images")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--conv-repeats", type=int, default=30)
    p.add_argument("--only-conv", action="store_true", help="skip training")
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads (numpy's OpenBLAS "
                   "takes OPENBLAS_NUM_THREADS from the environment)")
    return p


def emit(result: dict) -> None:
    """Print the side's results as the last line of stdout."""
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result), flush=True)

