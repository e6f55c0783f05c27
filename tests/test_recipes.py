"""Chapter 10's best recipe: its network, its cost and the command line (chapter 10)."""

import numpy as np
import pytest

from minicnn import __main__ as cli
from minicnn.experiments import multiply_adds
from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.network import Sequential
from minicnn.recipes import better_cnn
from minicnn.train import small_cnn

pytestmark = pytest.mark.ch10


def test_better_cnn_shapes_and_cost():
    model = better_cnn(seed=0)
    assert "(7, 7, 32)" in model.summary((28, 28, 1))
    # 28*28*16*9*1 + 14*14*32*9*16 + 1568*128 + 128*10
    assert multiply_adds(model, (28, 28, 1)) == 112_896 + 903_168 + 200_704 + 1_280
    # chapter 07's network: the same two convolutions, then 1568 -> 10
    assert multiply_adds(small_cnn(channels=(16, 32)), (28, 28, 1)) == \
        112_896 + 903_168 + 15_680
    assert [type(la) for la in model.layers].count(BatchNorm) == 3


def test_batch_norm_after_the_pool_keeps_the_fused_steps():
    from minicnn.fast.layers import ConvReLUPool

    steps = better_cnn(fast=True).steps()
    assert [type(s).__name__ for s in steps[:4]] == ["ConvReLUPool", "BatchNorm",
                                                     "ConvReLUPool", "BatchNorm"]
    assert sum(isinstance(s, ConvReLUPool) for s in steps) == 2


def test_train_the_best_recipe_briefly(tmp_path, capsys):
    out = tmp_path / "best.npz"
    code = cli.main(["train", "--recipe", "best", "--epochs", "1", "--limit", "600",
                     "--no-progress", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "BatchNorm 128" in text and "Dropout p=0.3" in text and "test accuracy" in text
    model = Sequential.load(out)
    assert isinstance(model.layers[-2], Dropout) and model.training
    assert not np.array_equal(model.layers[3].buffers["running_mean"], np.zeros(16))
