"""Chapter 07: fit and evaluate on the real (shipped) Fashion-MNIST subset, and fit's
learning-rate decay (on tiny random data)."""

import numpy as np
import pytest

from minicnn.datasets import load_fashion_mnist
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.network import Sequential
from minicnn.optim import SGD, Adam
from minicnn.train import evaluate, fit, small_cnn

pytestmark = pytest.mark.ch07


@pytest.fixture(scope="module")
def data():
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    return x_train[:2000], y_train[:2000], x_test[:1000], y_test[:1000]


def test_training_learns_real_images(data):
    x, y, xt, yt = data
    model = small_cnn(seed=0)
    loss0, acc0 = evaluate(model, xt, yt)
    history = fit(model, x, y, epochs=2, batch_size=32, optimizer=SGD(0.05, momentum=0.9),
                  validation=(xt, yt), progress=False)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.values())
    assert history["loss"][1] < history["loss"][0] < loss0
    assert history["val_accuracy"][-1] > 0.65 > acc0 + 0.3
    assert evaluate(model, xt, yt) == pytest.approx((history["val_loss"][-1],
                                                     history["val_accuracy"][-1]))


def test_same_seed_same_result(data):
    x, y, _, _ = data
    runs = []
    for _ in range(2):
        model = small_cnn(seed=1)
        fit(model, x[:256], y[:256], 1, 64, Adam(1e-3), seed=7, progress=False)
        runs.append(model.state())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_nan_loss_stops_with_advice(data):
    x, y, _, _ = data
    model = Sequential([Flatten(), Dense(784, 10, seed=0)])
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf).*smaller learning rate"):
        with np.errstate(all="ignore"):
            fit(model, x[:512] * 1e4, y[:512], 3, 64, SGD(lr=1e30), progress=False)


def test_label_out_of_range(data):
    x, _, _, _ = data
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\].*got 10"):
        fit(small_cnn(), x[:8], np.full(8, 10), 1, 4, SGD(0.1), progress=False)


def test_data_errors(data):
    x, y, _, _ = data
    with pytest.raises(ValueError, match="one label per sample"):
        fit(small_cnn(), x[:8], y[:7], 1, 4, SGD(0.1), progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        fit(small_cnn(), x[:8], y[:8], 1, 0, SGD(0.1), progress=False)
    with pytest.raises(ValueError, match=r"Conv2D expects 1 input channel"):
        fit(small_cnn(), np.ones((8, 28, 28, 3)), y[:8], 1, 4, SGD(0.1), progress=False)


def test_progress_bar_text_and_callback(data, capsys):
    x, y, _, _ = data
    seen = []
    model = Sequential([Conv2D(1, 2, 3, stride=1, padding=1, seed=0), ReLU(), MaxPool2D(2, 2),
                        Flatten(), Dense(392, 10, seed=0)])
    fit(model, x[:64], y[:64], 2, 32, SGD(0.01), progress=True,
        callback=lambda epoch, h: seen.append((epoch, len(h["loss"]))))
    assert seen == [(1, 1), (2, 2)]
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "4/4" in err


def test_progress_off_by_environment(data, capsys, monkeypatch):
    x, y, _, _ = data
    monkeypatch.setenv("MINICNN_PROGRESS", "0")
    fit(Sequential([Flatten(), Dense(784, 10)]), x[:64], y[:64], 1, 32, SGD(0.01))
    assert "epoch" not in capsys.readouterr().err


# --- learning-rate decay, which the full-data training recipe uses ------------------------

def _tiny_data():
    rng = np.random.default_rng(0)
    return rng.random((32, 8, 8, 1)), rng.integers(0, 3, 32)


def test_fit_lr_decay_shrinks_the_learning_rate_every_epoch():
    x, y = _tiny_data()
    seen = []
    opt = SGD(0.1, momentum=0.9)
    fit(small_cnn(seed=0, n_classes=3, input_shape=(8, 8, 1)), x, y, 3, 16, opt,
        progress=False, lr_decay=0.5, callback=lambda epoch, history: seen.append(opt.lr))
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025], rtol=1e-12)
    np.testing.assert_allclose(opt.lr, 0.0125, rtol=1e-12)


def test_fit_without_lr_decay_keeps_the_learning_rate():
    """The default keeps lr constant: two epochs of fit equal one epoch, then another with the
    same optimiser (whose lr fit must not have touched), on the second epoch's shuffle."""
    x, y = _tiny_data()
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(x)) for _ in range(2)]  # fit's shuffles for seed 0
    model, opt = small_cnn(seed=0, n_classes=3, input_shape=(8, 8, 1)), SGD(0.05)
    seen = []
    fit(model, x, y, 2, 16, opt, progress=False, callback=lambda e, h: seen.append(opt.lr))
    assert seen == [0.05, 0.05] and opt.lr == 0.05
    by_epochs, opt2 = small_cnn(seed=0, n_classes=3, input_shape=(8, 8, 1)), SGD(0.05)
    for order in orders:  # one epoch at a time, already in fit's order, shuffled "again"
        first = np.random.default_rng(0).permutation(len(x))
        inverse = np.empty_like(first)
        inverse[first] = np.arange(len(x))
        fit(by_epochs, x[order][inverse], y[order][inverse], 1, 16, opt2, progress=False)
    for a, b in zip(model.state().values(), by_epochs.state().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    decayed = small_cnn(seed=0, n_classes=3, input_shape=(8, 8, 1))
    fit(decayed, x, y, 2, 16, SGD(0.05), progress=False, lr_decay=0.5)
    assert not np.array_equal(decayed.state()["0.w"], model.state()["0.w"])


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, True, "0.7"])
def test_fit_rejects_a_bad_lr_decay(bad):
    x, y = _tiny_data()
    with pytest.raises(ValueError, match="lr_decay"):
        fit(small_cnn(seed=0, n_classes=3, input_shape=(8, 8, 1)), x, y, 1, 16, SGD(0.1),
            progress=False, lr_decay=bad)
