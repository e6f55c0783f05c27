"""Batch normalisation, dropout and the train / evaluate switch (chapter 10)."""

import numpy as np
import pytest

from minicnn.batchnorm import batchnorm_backward, batchnorm_forward
from minicnn.dropout import dropout_backward, dropout_forward
from minicnn.extra_layers import BatchNorm, Dropout
from minicnn.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, SoftmaxCrossEntropy
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import evaluate, fit

pytestmark = pytest.mark.ch10
TOL = 1e-7


def _stats(d):
    return np.zeros(d), np.ones(d)


# --- batch norm: hand-computed cases ----------------------------------------------------------

def test_batchnorm_forward_hand_computed():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])  # means (2, 4), variances (1, 4)
    mean, var = _stats(2)
    out, _ = batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.0, 1.0]), mean, var,
                               eps=0.0)
    np.testing.assert_allclose(out, [[-2.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(mean, [0.2, 0.4])         # 0.9 * 0 + 0.1 * (2, 4)
    np.testing.assert_allclose(var, [1.0, 1.3])          # 0.9 * 1 + 0.1 * (1, 4)


def test_batchnorm_backward_hand_computed():
    # one feature, x = (-1, -1, 1, 1): mean 0, variance 1, x_hat = x
    x = np.array([[-1.0], [-1.0], [1.0], [1.0]])
    _, cache = batchnorm_forward(x, np.ones(1), np.zeros(1), *_stats(1), eps=0.0)
    dx, dgamma, dbeta = batchnorm_backward(np.array([[1.0], [0.0], [0.0], [0.0]]), cache)
    # (4 * (1, 0, 0, 0) - 1 - x_hat * (-1)) / 4
    np.testing.assert_allclose(dx[:, 0], [0.5, -0.5, 0.0, 0.0])
    np.testing.assert_allclose(dgamma, [-1.0])
    np.testing.assert_allclose(dbeta, [1.0])


def test_batchnorm_normalises_each_channel_of_an_image_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5, 2)) * np.array([1.0, 10.0]) + np.array([5.0, -3.0])
    out, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), *_stats(2), eps=0.0)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 1, 2)), 1.0)
    flat, _ = batchnorm_forward(x.reshape(-1, 2), np.ones(2), np.zeros(2), *_stats(2), eps=0.0)
    np.testing.assert_allclose(out.reshape(-1, 2), flat)   # a channel = a feature over N*H*W


def test_inference_uses_the_running_statistics():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    mean, var = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    out, cache = batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.0, 1.0]), mean, var,
                                   training=False, eps=0.0)
    np.testing.assert_allclose(out, [[0.0, 7.0], [2.0, 15.0]])  # 2 (x - 1) / 2; (x + 1) / 0.5 + 1
    np.testing.assert_array_equal(mean, [1.0, -1.0])            # not updated
    dx, _, _ = batchnorm_backward(np.ones((2, 2)), cache)
    np.testing.assert_allclose(dx, [[1.0, 2.0], [1.0, 2.0]])    # gamma / sqrt(var)


def test_running_statistics_approach_the_data_statistics():
    rng = np.random.default_rng(1)
    layer = BatchNorm(3, momentum=0.5)
    x = rng.standard_normal((64, 3)).astype(np.float32) * 3 + 2
    for _ in range(40):
        layer.forward(x)
    np.testing.assert_allclose(layer.buffers["running_mean"], x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.buffers["running_var"], x.var(axis=0), rtol=1e-5)
    layer.training = False
    np.testing.assert_allclose(layer.forward(x[:1]), ((x[:1] - x.mean(0)) / x.std(0)), atol=1e-3)


def test_one_sample_is_its_own_only_at_inference():
    rng = np.random.default_rng(2)
    layer = BatchNorm(4)
    x = rng.standard_normal((5, 4))
    assert not np.allclose(layer.forward(x)[:1], layer.forward(x[:2])[:1])
    layer.training = False
    np.testing.assert_array_equal(layer.forward(x)[:1], layer.forward(x[:2])[:1])


# --- numerical gradients, float64 ------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 4), (1, 3, 3, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(shape, training):
    layer = BatchNorm(4, dtype=np.float64)
    rng = np.random.default_rng(3)
    layer.params["gamma"] = rng.standard_normal(4)
    layer.params["beta"] = rng.standard_normal(4)
    layer.buffers["running_mean"] = rng.standard_normal(4)
    layer.buffers["running_var"] = rng.random(4) + 0.5
    layer.training = training
    x = rng.standard_normal(shape) * 2 + 1
    errors = check_layer(layer, x, max_checks=None)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 3, 4)])
def test_dropout_gradient_with_a_fixed_mask(shape):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    r = rng.standard_normal(shape)
    out, cache = dropout_forward(x, 0.3, np.random.default_rng(9))
    dx = dropout_backward(r, cache)

    def f():  # the same generator state, so the same mask at every probe
        return float(np.sum(dropout_forward(x, 0.3, np.random.default_rng(9))[0] * r))

    assert relative_error(dx, numerical_gradient(f, x)) < TOL
    # the layer draws a fresh mask at every forward pass, probes included: no agreement
    assert check_layer(Dropout(0.3, seed=0), x, max_checks=None)["x"] > 1e-2
    evaluating = Dropout(0.3)
    evaluating.training = False
    assert check_layer(evaluating, x, max_checks=None)["x"] < TOL


def test_whole_model_with_batchnorm_gradients():
    model = Sequential([Conv2D(1, 3, 3, padding=1, seed=0), BatchNorm(3), ReLU(),
                        MaxPool2D(2, 2), Flatten(), Dense(48, 6, seed=1), BatchNorm(6),
                        ReLU(), Dense(6, 4, seed=2)])
    x = np.random.default_rng(5).standard_normal((5, 8, 8, 1))
    y = np.array([0, 3, 2, 1, 3])
    errors = check_model(model, x, y, max_checks=None)
    assert {"0.w", "1.gamma", "1.beta", "6.gamma", "6.beta"} <= set(errors)
    # a bias just before batch norm is subtracted again with the mean: its gradient is 0
    # (to rounding), so the relative error of two tiny numbers says nothing
    assert max(v for k, v in errors.items() if k not in {"0.b", "5.b"}) < TOL, errors
    model.astype(np.float64)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    assert np.abs(model.layers[0].grads["b"]).max() < 1e-12
    assert np.abs(model.layers[5].grads["b"]).max() < 1e-12


# --- dropout ---------------------------------------------------------------------------------

def test_dropout_rescales_the_kept_values():
    x = np.full((200, 500), 3.0)
    out, (mask,) = dropout_forward(x, 0.25, np.random.default_rng(0))
    assert set(np.unique(out)) == {0.0, 4.0}                 # 3 / (1 - 0.25)
    assert abs((out == 0).mean() - 0.25) < 0.005             # 100,000 draws: sd 0.0014
    assert abs(out.mean() - 3.0) < 0.03                      # the expected value is kept
    np.testing.assert_array_equal(dropout_backward(np.ones_like(x), (mask,)), mask)


def test_dropout_is_seeded_and_off_at_inference():
    x = np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32)
    a, b, c = Dropout(0.5, seed=1), Dropout(0.5, seed=1), Dropout(0.5, seed=2)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, c.forward(x))
    assert not np.array_equal(first, a.forward(x))           # a fresh mask every batch
    assert first.dtype == np.float32
    a.training = False
    state = a.rng.bit_generator.state
    assert a.forward(x) is x and np.array_equal(a.backward(x), x)
    assert a.rng.bit_generator.state == state                # no random number drawn
    with pytest.raises(ValueError, match=r"p \(the probability.*got 1"):
        Dropout(1)


# --- the train / evaluate switch -------------------------------------------------------------

def _model(seed=0, fast=False):
    return Sequential([Conv2D(1, 4, 3, padding=1, seed=seed), ReLU(), MaxPool2D(2, 2),
                       BatchNorm(4), Flatten(), Dropout(0.5, seed=seed), Dense(64, 3, seed=1)],
                      fast=fast)


def test_train_and_eval_set_every_layer():
    model = _model()
    assert model.training and model.layers[3].training and model.layers[5].training
    assert model.eval() is model
    assert not model.training and not model.layers[3].training and not model.layers[5].training
    model.train()
    assert model.layers[5].training
    with model.mode(False):
        assert not model.layers[3].training
    assert model.training and model.layers[3].training


def test_fit_evaluate_and_predict_use_their_modes_and_restore_the_mode():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((40, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    model = _model()
    seen = []
    model.layers[5].forward = lambda x, real=model.layers[5].forward: (
        seen.append(model.layers[5].training), real(x))[1]
    model.eval()
    fit(model, x, y, 1, 20, SGD(0.01), validation=(x[:10], y[:10]), progress=False)
    assert seen == [True, True, False] and not model.training
    model.train()
    before = model.layers[3].buffers["running_mean"].copy()
    probs = model.predict_proba(x[:5])
    np.testing.assert_array_equal(model.layers[3].buffers["running_mean"], before)
    assert model.training
    model.eval()
    expected = model.forward(x[:5])
    model.train()
    np.testing.assert_allclose(probs.argmax(1), expected.argmax(1))
    loss, _ = evaluate(model, x[:5], y[:5])
    assert model.training and np.isfinite(loss)
    np.testing.assert_array_equal(model.predict(x[:5]), model.predict(x[:5]))  # no dropout


def test_save_and_load_keep_the_mode_and_running_statistics(tmp_path):
    model = _model()
    x = np.random.default_rng(7).standard_normal((10, 8, 8, 1)).astype(np.float32)
    model.forward(x)
    model.eval()
    loaded = Sequential.load(model.save(tmp_path / "bn"))
    assert not loaded.training and not loaded.layers[3].training and not loaded.layers[5].training
    for name in ("running_mean", "running_var"):
        np.testing.assert_array_equal(loaded.layers[3].buffers[name], model.layers[3].buffers[name])
    assert not np.array_equal(loaded.layers[3].buffers["running_mean"], np.zeros(4))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert repr(loaded.layers[5]) == "Dropout(p=0.5, seed=0)"
    model.train()
    assert Sequential.load(model.save(tmp_path / "bn_train")).training


def test_files_saved_before_the_mode_still_load(tmp_path):
    plain = Sequential([Flatten(), Dense(4, 2, seed=0)])
    path = plain.save(tmp_path / "old")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "__training__"}
    np.savez(path, **arrays)                 # as the format was before the mode was saved
    loaded = Sequential.load(path)
    assert loaded.training
    np.testing.assert_array_equal(loaded.layers[1].params["w"], plain.layers[1].params["w"])


def test_the_fast_backend_runs_the_new_layers_plainly_with_the_same_numbers():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((12, 8, 8, 1)).astype(np.float32)
    plain, fast = _model(fast=False), _model(fast=True)
    steps = fast.steps()
    assert steps[1] is fast.layers[3] and steps[3] is fast.layers[5]   # BatchNorm, Dropout
    dout = rng.standard_normal((12, 3)).astype(np.float32)
    np.testing.assert_allclose(fast.forward(x), plain.forward(x), rtol=1e-5, atol=1e-5)
    fast.backward(dout)
    plain.backward(dout)
    for a, b in zip(fast.layers, plain.layers, strict=True):
        for name in a.grads:
            np.testing.assert_allclose(a.grads[name], b.grads[name], rtol=1e-4, atol=1e-5)
    fast.eval()
    plain.eval()
    np.testing.assert_allclose(fast.forward(x), plain.forward(x), rtol=1e-5, atol=1e-5)


# --- a residual block ------------------------------------------------------------------------

def test_residual_block_adds_its_input_and_its_gradient():
    from minicnn.extra_layers import Residual

    block = Residual([Conv2D(3, 3, 3, padding=1, seed=0, dtype=np.float64), ReLU(),
                      Conv2D(3, 3, 3, padding=1, seed=1, dtype=np.float64)])
    x = np.random.default_rng(10).standard_normal((2, 5, 5, 3))
    inner = block.layers[2].forward(block.layers[1].forward(block.layers[0].forward(x)))
    np.testing.assert_allclose(block.forward(x), x + inner)
    errors = check_layer(block, x, max_checks=None)
    assert set(errors) == {"x", "0.w", "0.b", "2.w", "2.b"}
    assert max(errors.values()) < TOL, errors
    zero = Residual([Dense(4, 4, seed=0)])
    zero.layers[0].params["w"][:] = 0                  # f(x) = 0: the block passes x through
    xd = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(zero.forward(xd), xd)
    np.testing.assert_array_equal(zero.backward(xd), xd)
    model = Sequential([Residual([Dense(4, 4, seed=0), BatchNorm(4)]), Dense(4, 2, seed=1)])
    model.eval()
    assert not model.layers[0].layers[1].training
    assert model.summary((4,)).count("Residual[Dense 4->4, BatchNorm 4]") == 1
    with pytest.raises(ValueError, match="change the shape"):
        Residual([Dense(4, 3)]).output_shape((4,))
