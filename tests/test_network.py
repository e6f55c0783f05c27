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


# --- the fast switch: off by default, so a learner's edit to a layer takes effect ---------

def test_fast_is_off_by_default_and_not_saved(tmp_path):
    model = small_cnn(seed=0)
    assert model.fast is False and Sequential([Flatten()]).fast is False
    assert "fast" not in repr(model)
    model.fast = True
    assert repr(model).endswith("], fast=True)")
    assert Sequential.load(model.save(tmp_path / "m")).fast is False


def test_an_edited_layer_changes_the_output_only_with_fast_off(monkeypatch):
    """With fast off every layer's own forward runs, so editing ReLU.forward changes the
    logits; with fast on the fused conv-ReLU-pool block runs instead and ignores the edit."""
    x = np.random.default_rng(0).standard_normal((20, 28, 28, 1)).astype(np.float32)
    model = small_cnn(seed=0)
    before = model.forward(x)
    monkeypatch.setattr(ReLU, "forward", lambda self, x: x)  # "what if there were no ReLU?"
    edited = model.forward(x)
    assert np.abs(edited - before).max() > 0.1
    model.fast = True
    np.testing.assert_allclose(model.forward(x), before, rtol=1e-4, atol=1e-4)
    model.fast = False
    np.testing.assert_allclose(model.forward(x), edited, rtol=1e-5, atol=1e-5)


def test_with_fast_off_every_layer_runs_its_own_forward_and_backward(monkeypatch):
    calls = []
    for cls in (Conv2D, ReLU, MaxPool2D, Flatten, Dense):
        for name in ("forward", "backward"):
            real = getattr(cls, name)

            def spy(self, *args, real=real, name=name, **kwargs):
                calls.append((type(self).__name__, name))
                return real(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, spy)
    model = small_cnn(seed=0)
    out = model.forward(np.zeros((2, 28, 28, 1), np.float32))
    model.backward(np.ones_like(out), need_input_grad=False)
    names = [type(layer).__name__ for layer in model.layers]
    assert calls == [(n, "forward") for n in names] + [(n, "backward") for n in names[::-1]]
    calls.clear()
    model.fast = True  # the fast steps stand in for the Conv2D, ReLU and MaxPool2D layers
    out = model.forward(np.zeros((2, 28, 28, 1), np.float32))
    model.backward(np.ones_like(out), need_input_grad=False)
    assert calls == [("Flatten", "forward"), ("Dense", "forward"), ("Dense", "backward"),
                     ("Flatten", "backward")]


def test_fast_steps_leave_the_core_layers_state_alone():
    """The fused block keeps its own cache; the Conv2D, ReLU and MaxPool2D it stands for are
    not written to, except the Conv2D's public grads, where the optimiser finds them."""
    model = small_cnn(seed=0, fast=True)
    before = [dict(vars(layer)) for layer in model.layers]
    out = model.forward(np.ones((4, 28, 28, 1), np.float32))
    model.backward(np.ones_like(out))
    for layer, old in zip(model.layers, before, strict=True):
        changed = {k for k in vars(layer) if vars(layer)[k] is not old.get(k)}
        if isinstance(layer, Conv2D):
            assert changed == set() and layer._cache is None
            assert {k: g.shape for k, g in layer.grads.items()} == {
                k: p.shape for k, p in layer.params.items()}
        elif isinstance(layer, (ReLU, MaxPool2D)):
            assert changed == set()
    steps = model.steps()
    assert steps is model.steps()  # kept from one batch to the next, with their scratch arrays
    assert steps[0].params is model.layers[0].params
    assert steps[0].grads is model.layers[0].grads
    model.layers[3] = Conv2D(8, 16, 3, padding=1, seed=5)  # new layers: new steps
    assert model.steps() is not steps


def test_the_plain_core_never_imports_the_fast_backend():
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from minicnn.train import small_cnn, fit\n"
            "from minicnn.optim import SGD\n"
            "import minicnn.conv, minicnn.pooling, minicnn.layers, minicnn.network\n"
            "m = small_cnn(seed=0)\n"
            "x = np.zeros((16, 28, 28, 1), np.float32)\n"
            "fit(m, x, np.zeros(16, int), 1, 8, SGD(0.1), progress=False)\n"
            "assert not [k for k in sys.modules if k.startswith('minicnn.fast')], 'imported'\n"
            "m.fast = True\n"
            "m.forward(x)\n"
            "assert 'minicnn.fast' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
