"""Chapter 07: Sequential, summary, save and load."""

import os

import numpy as np
import pytest

from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.network import Sequential
from minicnn.train import small_cnn

pytestmark = pytest.mark.ch07


def test_summary_shapes_and_counts():
    text = small_cnn().summary((28, 28, 1))
    lines = text.splitlines()
    assert "(28, 28, 8)" in lines[3] and lines[3].rstrip().endswith("80")
    assert "(14, 14, 8)" in text and "(7, 7, 16)" in text and "(784,)" in text
    assert "1,168" in text and "7,850" in text
    assert lines[-1].split()[-1] == "9,098"
    assert repr(text) == str(text)  # shows as a table in a notebook


def test_summary_catches_a_wrong_architecture():
    model = Sequential([Conv2D(1, 4, 3), ReLU(), MaxPool2D(2, 2), Flatten(), Dense(100, 10)])
    with pytest.raises(ValueError, match=r"Dense expects inputs of 100 features.*in_features=676"):
        model.summary((28, 28, 1))
    with pytest.raises(ValueError, match="stride=2 does not tile"):
        Sequential([Conv2D(1, 2, 3, stride=2)]).summary((28, 28, 1))


def test_predict():
    model = small_cnn(seed=1)
    x = np.random.default_rng(0).random((7, 28, 28, 1)).astype(np.float32)
    probs = model.predict_proba(x, batch_size=3)
    assert probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(x), probs.argmax(axis=1))


def test_save_load_roundtrip(tmp_path):
    model = small_cnn(seed=3)
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    path = model.save(tmp_path / "model")
    assert path.name == "model.npz" and path.exists()
    assert not [p for p in os.listdir(tmp_path) if p != "model.npz"]  # no temp file left
    loaded = Sequential.load(tmp_path / "model")  # the same name as given to save
    with pytest.raises(FileNotFoundError, match="no saved model"):
        Sequential.load(tmp_path / "other.npz")
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    other = small_cnn(seed=9).load_weights(path)
    np.testing.assert_array_equal(other.forward(x), model.forward(x))


def test_save_is_atomic(tmp_path, monkeypatch):
    model = small_cnn()
    path = model.save(tmp_path / "m.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        small_cnn(seed=5).save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_load_rejects_other_architecture(tmp_path):
    path = small_cnn().save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="architectures differ"):
        small_cnn(channels=(4, 16)).load_weights(path)


def test_not_a_layer():
    with pytest.raises(TypeError, match=r"layers\[1\].*lacks forward, backward"):
        Sequential([ReLU(), object()])
