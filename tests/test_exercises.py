"""The one suite that grades any exercise folder with the grader's checks.

By default it grades ``solutions/`` (everything must pass). Point it elsewhere with the
environment variable ``MINICNN_SUBMISSION``::

    MINICNN_SUBMISSION=exercises python -m pytest tests/test_exercises.py

The starters then fail every test with "not implemented yet"; a learner's folder fails with
the grader's feedback for each function that is not right yet. ``pytest -m ch05`` checks one
chapter. The last tests train the chapter 07 network with the folder's own functions.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minicnn.grade import EXERCISES, grade_submission

REPO = Path(__file__).resolve().parents[1]
FOLDER = Path(os.environ.get("MINICNN_SUBMISSION") or REPO / "solutions").resolve()


def chapter_mark(module: str):
    return getattr(pytest.mark, f"ch{module[2:4]}")


@pytest.fixture(scope="module")
def graded():
    """Grade the folder once (each module in its own process, with limits)."""
    return grade_submission(FOLDER)


@pytest.mark.parametrize("ex", [pytest.param(ex, marks=chapter_mark(ex.module), id=ex.key)
                                for ex in EXERCISES])
def test_graded_function(graded, ex):
    result = graded.result(ex.function)
    assert result.max_points == ex.points
    if not result.passed:
        pytest.fail(f"Exercise {ex.number} ({ex.function}) in {FOLDER.name}/{ex.module}.py: "
                    f"{result.feedback}", pytrace=False)
    assert result.points == ex.points


# ---------------------------------------------------------------------------- own code
@pytest.fixture(scope="module")
def own():
    from minicnn.own_code import load_exercises

    return load_exercises(FOLDER)


def small_models(seed: int = 0):
    from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from minicnn.network import Sequential

    return Sequential([Conv2D(1, 2, 3, padding=1, seed=seed), ReLU(), MaxPool2D(2, 2),
                       Conv2D(2, 3, 3, stride=2, padding=1, seed=seed + 1), ReLU(), Flatten(),
                       Dense(3 * 3 * 3, 4, seed=seed + 2)])


@pytest.mark.ch07
def test_own_layers_match_the_package_for_the_same_weights(own):
    from minicnn.layers import SoftmaxCrossEntropy
    from minicnn.own_code import exercise_ops, network_from_exercises

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 10, 10, 1))
    labels = np.array([0, 3, 1])
    package = small_models()
    mine = network_from_exercises(own, model=package)
    out_package = package.forward(x.astype(np.float32))
    out_mine = mine.forward(x)
    np.testing.assert_allclose(out_mine, out_package, rtol=1e-4, atol=1e-5)
    loss_package = SoftmaxCrossEntropy()
    loss_mine = SoftmaxCrossEntropy(ops=exercise_ops(own)["loss"])
    np.testing.assert_allclose(loss_mine.forward(out_mine, labels),
                               loss_package.forward(out_package, labels), rtol=1e-5)
    dx_package = package.backward(loss_package.backward())
    dx_mine = mine.backward(loss_mine.backward())
    np.testing.assert_allclose(dx_mine, dx_package, rtol=1e-4, atol=1e-6)
    shape_mine = shape_package = (10, 10, 1)
    for a, b in zip(mine.layers, package.layers, strict=True):
        assert set(a.params) == set(b.params)
        shape_mine, shape_package = a.output_shape(shape_mine), b.output_shape(shape_package)
        assert shape_mine == shape_package
        for key in a.params:
            np.testing.assert_allclose(a.grads[key], b.grads[key], rtol=1e-4, atol=1e-6)
    assert mine.n_params == package.n_params


@pytest.mark.ch07
def test_own_network_is_the_packages_layers_on_the_learners_functions(own):
    """No adapter classes: the package's own layers, each given the learner's functions."""
    from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from minicnn.own_code import network_from_exercises

    package = small_models()
    mine = network_from_exercises(own, model=package)
    assert [type(a) for a in mine.layers] == [type(b) for b in package.layers]
    assert {type(a) for a in mine.layers} <= {Conv2D, ReLU, MaxPool2D, Flatten, Dense}
    relu = mine.layers[1]
    assert relu.ops.relu is own.relu and relu.ops.relu_backward is own.relu_backward
    assert mine.layers[3].ops.conv_backward is own.conv_backward
    assert mine.layers[6].ops.dense_forward is own.dense_forward
    assert package.layers[1].ops is not relu.ops  # the package's network is left alone
    calls = []
    relu.ops.relu = lambda x: calls.append(x.shape) or own.relu(x)
    mine.forward(np.zeros((2, 10, 10, 1)))
    assert calls == [(2, 10, 10, 2), (2, 3, 3, 3)]  # both ReLUs run the learner's function


@pytest.mark.ch07
@pytest.mark.slow
def test_training_with_own_code_lowers_the_loss(own):
    from minicnn.datasets import load_fashion_mnist
    from minicnn.layers import SoftmaxCrossEntropy
    from minicnn.own_code import exercise_ops, network_from_exercises, train_with_own_code
    from minicnn.train import small_cnn

    (x, y), _ = load_fashion_mnist()
    x, y = x[:24].astype(np.float64), y[:24]
    model = network_from_exercises(own, model=small_cnn(seed=0, channels=(4, 8)))
    loss = SoftmaxCrossEntropy(ops=exercise_ops(own)["loss"])
    before = loss.forward(model.forward(x), y)
    history = train_with_own_code(model, x, y, epochs=3, batch_size=8, lr=0.1, code=own)
    after = loss.forward(model.forward(x), y)
    assert len(history["batch_loss"]) == 9 and len(history["loss"]) == 3
    assert np.all(np.isfinite(history["batch_loss"]))
    assert after < before - 0.1, (before, after)


@pytest.mark.ch07
def test_the_network_needs_no_missing_exercise():
    from minicnn.own_code import missing_exercises

    assert missing_exercises(FOLDER) == []


@pytest.mark.ch06
def test_own_dense_layer_runs_the_learners_dense_backward(own):
    from minicnn.own_code import network_from_exercises

    mine = network_from_exercises(own, model=small_models())
    assert mine.layers[6].ops.dense_backward is own.dense_backward
    calls = []
    mine.layers[6].ops.dense_backward = lambda d, c: calls.append(d.shape) or \
        own.dense_backward(d, c)
    mine.forward(np.zeros((2, 10, 10, 1)))
    mine.backward(np.ones((2, 4)))
    assert calls == [(2, 4)]


@pytest.mark.ch06
def test_a_file_without_dense_backward_runs_the_packages(tmp_path):
    """An exercise file from before dense_backward was an exercise: the package's is used,
    and missing_exercises() does not ask for it; once the file has it, it is graded."""
    import shutil

    from minicnn import dense
    from minicnn.layers import Dense
    from minicnn.own_code import exercise_ops, load_exercises, missing_exercises

    folder = tmp_path / "exercises"
    shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "ex06_dense_and_loss.py"
    text = path.read_text()
    start = text.index("def dense_backward")
    end = text.index("def softmax(")
    path.write_text(text[:start] + text[end:])
    code = load_exercises(folder)
    assert not hasattr(code, "dense_backward")
    assert exercise_ops(code)[Dense].dense_backward is dense.dense_backward
    assert missing_exercises(folder) == []
    path.write_text(text[:start] + "def dense_backward(dout, cache):\n"
                    "    x, w, _ = cache\n    return dout @ w.T, x.T @ dout, dout\n\n\n"
                    + text[end:])
    assert missing_exercises(folder) == ["ex06_dense_and_loss.dense_backward"]
