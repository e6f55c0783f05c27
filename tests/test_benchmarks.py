"""The benchmark scripts still run (numpy side only: PyTorch is not a test dependency)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import compare_torch  # noqa: E402
import profile_layers  # noqa: E402

pytestmark = pytest.mark.ch07


@pytest.mark.parametrize("fast", [True, False])
def test_profile_times_every_step(fast):
    """A clock that moves by one at every reading: each timed part then takes exactly one
    tick per batch, so the profile must time every step, and each once per batch."""
    ticks = iter(range(10**6))
    times = profile_layers.profile(batches=2, batch_size=8, fast=fast,
                                   clock=lambda: next(ticks))
    names = [k for k in times if k.endswith(" fwd")]
    assert len(names) == (4 if fast else 8)
    assert ("0:Conv+ReLU+Pool fwd" in times) == fast
    assert set(times) == {*names, *(n[:-3] + "bwd" for n in names), "loss", "optimizer"}
    assert all(v == 1.0 for v in times.values()), times


def test_minicnn_side_prints_one_json_line_with_every_figure():
    done = subprocess.run([sys.executable, str(BENCH / "_minicnn_side.py"), "--only-conv",
                           "--conv-repeats", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result["conv"]) == {"conv1", "conv1+relu+pool", "conv2", "conv2+relu+pool"}
    assert all(len(ts) == 2 and min(ts) > 0 for ts in result["conv"].values())
    figures = compare_torch.figures(result)
    assert "conv2 fwd+bwd (ms)" in figures and "peak memory (MiB)" in figures


def test_plain_side_runs_the_core_on_one_thread():
    done = subprocess.run([sys.executable, str(BENCH / "_minicnn_side.py"), "--only-conv",
                           "--conv-repeats", "1", "--plain"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["side"] == "minicnn-plain" and len(result["conv"]) == 4
    assert "minicnn-plain" in compare_torch.ONE_THREAD


def test_table_gives_ratios_and_targets():
    stats = {"minicnn": {"epoch (s)": (3.3, 0.1), "conv2+relu+pool fwd+bwd (ms)": (4.0, 0.1),
                         "test accuracy (%)": (86.7, 0.0)},
             "torch": {"epoch (s)": (3.0, 0.2), "conv2+relu+pool fwd+bwd (ms)": (3.2, 0.1),
                       "test accuracy (%)": (86.9, 0.0)}}
    table = compare_torch.table(stats, ["minicnn", "torch"])
    assert "| epoch (s) | 3.30 (0.10) | 3.00 (0.20) | 1.10 | <= 1.0 |" in table
    assert "| 1.25 | (for information) |" in table
    assert "-0.20 points" in table
    stats["minicnn-plain"] = {"epoch (s)": (4.2, 0.1), "conv2+relu+pool fwd+bwd (ms)": (6.4, 0.1),
                              "test accuracy (%)": (86.8, 0.0)}
    table = compare_torch.table(stats, ["minicnn", "minicnn-plain", "torch"])
    assert "| 3.00 (0.20) | 1.10 | 1.40 (<= 1.5) | <= 1.0 |" in table
    assert "| 1.25 | 2.00 | (for information) |" in table
    assert "| -0.20 points | -0.10 points | within 0.5 points |" in table


def _on_the_subset() -> dict:
    """An environment in which ``load_fashion_mnist("full")`` reads the shipped subset."""
    from minicnn import datasets

    return {**os.environ, "MINICNN_DATA": str(datasets.SUBSET_DIR),
            "OPENBLAS_NUM_THREADS": "1", "MINICNN_THREADS": "1"}


@pytest.mark.ch10
def test_choose_recipe_compares_two_learning_rates_over_seeds(tmp_path):
    runs = tmp_path / "runs.json"
    done = subprocess.run([sys.executable, str(BENCH / "choose_recipe.py"), "--limit", "900",
                           "--epochs", "2", "--seeds", "0", "1", "--json", str(runs)],
                          capture_output=True, text=True, timeout=300,
                          env=_on_the_subset())
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert ("787 training and 113 validation images, 2 epochs, batch size 128, "
            "128 hidden units") in out
    assert out.count("validation accuracy per epoch") == 4
    assert "lr 0.05: final validation accuracy" in out and "2 runs" in out
    assert "lr 0.1 minus lr 0.05:" in out and "the larger spread" in out
    curves = json.loads(runs.read_text())
    assert [(r["lr"], r["seed"]) for r in curves] == [(0.05, 0), (0.1, 0), (0.05, 1), (0.1, 1)]
    assert all(len(r["val_accuracy"]) == 2 for r in curves)
    assert curves[0]["val_accuracy"] != curves[2]["val_accuracy"]  # the seed matters


@pytest.mark.ch10
def test_recipe_vs_torch_minicnn_side_trains_one_epoch():
    done = subprocess.run([sys.executable, str(BENCH / "recipe_vs_torch.py"), "--side",
                           "minicnn", "--limit", "512", "--threads", "1"],
                          capture_output=True, text=True, timeout=300,
                          env=_on_the_subset())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["epoch_s"] > 0 and 0 < result["loss"] < 10 and result["peak_rss_mib"] > 0
