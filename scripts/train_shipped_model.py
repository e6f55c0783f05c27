"""Train the network whose weights ship in ``minicnn/data/pretrained/`` (used in chapter 09).

    python scripts/train_shipped_model.py              write minicnn/data/pretrained/fashion_cnn.npz
    python scripts/train_shipped_model.py --out F.npz  write elsewhere

The architecture and recipe (epochs, batch size, learning rate, seed) are those of
``minicnn.pretrained`` (``fashion_cnn()`` and ``RECIPE``), so the script and the package cannot
drift apart. It trains on the full Fashion-MNIST training set (60000 images, found as
``minicnn.datasets.load_fashion_mnist("full")`` describes, e.g. Debian's
``dataset-fashion-mnist`` package), then prints the accuracy on the full 10000-image test set
and the SHA-256 of the weights. Seeds are fixed: on the same machine and library versions a
re-run gives the same weights; other BLAS builds may differ in the last bits.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # use this checkout's minicnn, installed or not

from minicnn.datasets import load_fashion_mnist  # noqa: E402
from minicnn.optim import SGD  # noqa: E402
from minicnn.pretrained import RECIPE, fashion_cnn, weights_path  # noqa: E402
from minicnn.train import evaluate, fit  # noqa: E402


def weights_digest(model) -> str:
    """SHA-256 of every parameter's bytes, in order (independent of the .npz container)."""
    h = hashlib.sha256()
    for key, p in model.state().items():
        h.update(key.encode())
        h.update(np.ascontiguousarray(p).tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=weights_path("fashion_cnn"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    r = RECIPE
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data=r["data"])
    print(f"training on {len(x_train)} images: {r}", flush=True)
    model = fashion_cnn(seed=r["seed"])
    start = time.perf_counter()

    def report(epoch, history):
        print(f"epoch {epoch}: loss {history['loss'][-1]:.4f}, train accuracy "
              f"{history['accuracy'][-1]:.2%} ({time.perf_counter() - start:.0f} s)", flush=True)

    fit(model, x_train, y_train, r["epochs"], r["batch_size"],
        SGD(lr=r["lr"], momentum=r["momentum"]), seed=r["seed"],
        progress=not args.no_progress, callback=report)
    loss, acc = evaluate(model, x_test, y_test)
    print(f"test accuracy on {len(x_test)} images: {acc:.2%} (loss {loss:.4f})")
    path = model.save(args.out)
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KB), "
          f"weights sha256 {weights_digest(model)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
