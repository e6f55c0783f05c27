"""Bad input a new user will try: each error names the argument, shows the value and says
what to do (channels-first batches, empty batches, files that are not models, a learning rate
so high that the loss explodes without becoming NaN, images that hold NaN or infinities)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from minicnn.layers import Conv2D, Dense, Flatten, ReLU
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import evaluate, fit, small_cnn

pytestmark = pytest.mark.ch07


@pytest.mark.parametrize("channels", [1, 3])
def test_channels_first_batch_suggests_the_transpose(channels):
    model = Sequential([Conv2D(channels, 4, 3, seed=0), ReLU(), Flatten(),
                        Dense(4 * 26 * 26, 2, seed=0)])
    x = np.zeros((2, channels, 28, 28), np.float32)
    with pytest.raises(ValueError) as info:
        model.forward(x)
    text = str(info.value)
    assert "channels-first" in text and "x.transpose(0, 2, 3, 1)" in text
    assert str(x.shape) in text
    assert model.forward(x.transpose(0, 2, 3, 1)).shape == (2, 2)


def test_wrong_channel_count_that_is_not_a_transpose_keeps_its_advice():
    model = Sequential([Conv2D(1, 4, 3, seed=0)])
    with pytest.raises(ValueError, match="set in_channels=3"):
        model.forward(np.zeros((2, 28, 28, 3)))


@pytest.mark.parametrize("call", ["forward", "predict", "evaluate", "fit"])
def test_empty_batch_is_named(call):
    model = small_cnn(seed=0)
    x, y = np.zeros((0, 28, 28, 1), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError) as info:
        if call == "fit":
            fit(model, x, y, epochs=1, batch_size=8, optimizer=SGD(0.1), progress=False)
        elif call == "evaluate":
            evaluate(model, x, y)
        else:
            getattr(model, call)(x)
    text = str(info.value)
    assert "empty" in text and "(0, 28, 28, 1)" in text and "at least one" in text
    assert "reshape" not in text and "concatenate" not in text


@pytest.fixture
def bad_files(tmp_path):
    good = tmp_path / "model.npz"
    small_cnn(seed=0).save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:500])
    arrays = tmp_path / "arrays.npz"
    np.savez(arrays, a=np.zeros(3))
    text = tmp_path / "notes.npz"
    text.write_text("these are my notes, not a model")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    return {"truncated": truncated, "arrays": arrays, "text": text, "single": single}


@pytest.mark.parametrize("which", ["truncated", "arrays", "text", "single"])
def test_loading_a_file_that_is_not_a_model_says_so(bad_files, which):
    path = bad_files[which]
    with pytest.raises(ValueError) as info:
        Sequential.load(path)
    text = str(info.value)
    assert "not a minicnn model file" in text and path.name in text
    assert "model.save" in text
    assert "allow_pickle" not in text


def test_exploding_loss_warns_once_with_a_smaller_learning_rate(recwarn):
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    model = small_cnn(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        try:
            fit(model, x, y, epochs=3, batch_size=16, optimizer=SGD(5.0, 0.9), progress=False)
        except FloatingPointError:
            pass  # it may also end in NaN later; the warning must have come first
    grown = [w for w in recwarn if "the loss grew" in str(w.message)]
    assert len(grown) == 1
    assert "lr=0.5" in str(grown[0].message)


def test_a_sensible_learning_rate_does_not_warn(recwarn):
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    fit(small_cnn(seed=0), x, rng.integers(0, 10, 64), epochs=2, batch_size=16,
        optimizer=SGD(0.05, 0.9), progress=False)
    assert not [w for w in recwarn if "the loss grew" in str(w.message)]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_data_with_nan_or_inf_is_refused_before_training(bad):
    """A NaN or infinity in the images is named (value, index, how many samples) before any
    step, instead of ending as "the loss became nan ... smaller learning rate", which would
    send the learner to the wrong fix; the model is left untouched."""
    rng = np.random.default_rng(0)
    x = rng.random((12, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 12)
    x[7, 3, 4, 0] = bad
    x[9, 0, 0, 0] = bad
    model = small_cnn(seed=0)
    before = {k: v.copy() for k, v in model.state().items()}
    for call, name in ((lambda: fit(model, x, y, 1, 4, SGD(0.1), progress=False), "x"),
                       (lambda: evaluate(model, x, y), "x"),
                       (lambda: fit(model, x[:6], y[:6], 1, 4, SGD(0.1), progress=False,
                                    validation=(x, y)), "validation x")):
        with pytest.raises(ValueError) as info:
            call()
        text = str(info.value)
        assert text.startswith(f"{name} holds {bad} at index (7, 3, 4, 0)")
        assert "2 of its 12 samples hold NaN or infinite values" in text
        assert "np.isfinite(x)" in text and "learning rate" not in text
    for k, v in model.state().items():  # every call stopped before a step
        np.testing.assert_array_equal(v, before[k])


def test_huge_finite_data_is_not_mistaken_for_nan():
    """float64 values so large that their sum overflows are still finite: they pass the check
    (what such inputs do to the network is another matter)."""
    from minicnn._checks import finite

    finite("x", np.full((3, 2, 2, 1), 1e308))
    with pytest.raises(ValueError, match=r"x holds nan at index \(2, 1, 0, 0\)"):
        x = np.full((3, 2, 2, 1), 1e308)
        x[2, 1, 0, 0] = np.nan
        finite("x", x)
