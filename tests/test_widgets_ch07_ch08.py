"""Chapters 07 and 08: the prediction browser, the network builder and the experiment helpers.

Widgets are driven headlessly: set a control's value, then check the figure or text it drew.
"""

import math

import numpy as np
import pytest

from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D
from minicnn.network import Sequential
from minicnn.train import small_cnn
from minicnn.widgets import hyperparameters as hp
from minicnn.widgets import training

NAMES = tuple(f"class {k}" for k in range(10))


def bar_widths(fig):
    """Widths of the horizontal bars in the figure's second axes, top to bottom as drawn."""
    return np.array([p.get_width() for p in fig.axes[1].patches])


# ---- chapter 07: prediction browser -------------------------------------------------------

@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    x = rng.random((6, 28, 28, 1)).astype(np.float32)
    probs = rng.random((6, 10))
    probs /= probs.sum(axis=1, keepdims=True)
    y = probs.argmax(axis=1)
    y[[1, 4]] = (y[[1, 4]] + 1) % 10  # images 1 and 4 are predicted wrongly
    return x, y, probs


@pytest.mark.ch07
def test_plot_prediction_bars_are_the_probabilities(predictions):
    x, y, probs = predictions
    fig = training.plot_prediction(x[0], probs[0], NAMES, true_label=int(y[0]), title="t")
    np.testing.assert_allclose(bar_widths(fig), probs[0], rtol=1e-12)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), x[0, :, :, 0], rtol=0)
    with pytest.raises(ValueError, match="probs must have shape"):
        training.plot_prediction(x[0], probs[0, :5], NAMES)


@pytest.mark.ch07
def test_browser_follows_slider_and_menu(predictions):
    x, y, probs = predictions
    w = training.prediction_browser(None, x, y, NAMES, probs=probs)
    assert "test image 0" in w.text and "right" in w.text
    w.controls["k"].value = 3
    assert w.figure.axes[0].get_title() == "test image 3"
    np.testing.assert_allclose(bar_widths(w.figure), probs[3], rtol=1e-12)
    w.controls["show"].value = "wrong only"  # k = 3 wraps around the 2 wrong ones -> image 4
    assert w.figure.axes[0].get_title() == "test image 4"
    assert "2 of 2" in w.text and "wrong" in w.text
    w.controls["k"].value = 0
    assert "test image 1" in w.text
    assert f"predicted <b>{NAMES[probs[1].argmax()]}</b>" in w.text
    assert w.error is None


@pytest.mark.ch07
def test_browser_with_a_model_and_no_wrong_predictions():
    rng = np.random.default_rng(0)
    x = rng.random((5, 28, 28, 1)).astype(np.float32)
    model = small_cnn(seed=0)
    y = model.predict(x)  # every prediction right
    w = training.prediction_browser(model, x, y, NAMES)
    np.testing.assert_allclose(bar_widths(w.figure), model.predict_proba(x)[0], rtol=1e-5)
    w.controls["show"].value = "wrong only"
    assert w.figure is None and w.error is not None and "no test image is wrong" in w.text
    with pytest.raises(ValueError, match="same images"):
        training.prediction_browser(model, x, y[:3], NAMES)


# ---- chapter 08: building networks from an order of words ---------------------------------

@pytest.mark.ch08
def test_build_stack_sizes_every_layer():
    model = hp.build_stack("conv>>relu>>pool>>conv>>relu>>pool>>flatten>>fc>>loss",
                           filters=4, kernel_size=3, padding=1)
    summary = model.summary((28, 28, 1))
    assert "(7, 7, 8)" in summary and "(392,)" in summary and "(10,)" in summary
    convs = [layer for layer in model.layers if isinstance(layer, Conv2D)]
    assert [c.out_channels for c in convs] == [4, 8]  # doubling
    assert convs[1].in_channels == 4
    # 28x28x4 outputs of 3x3x1 filters + 14x14x8 outputs of 3x3x4 filters + dense 392 * 10
    assert hp.multiply_adds(model, (28, 28, 1)) == 28 * 28 * 4 * 9 + 14 * 14 * 8 * 36 + 3920
    out = model.forward(np.zeros((2, 28, 28, 1), np.float32))
    assert out.shape == (2, 10)


@pytest.mark.ch08
@pytest.mark.parametrize("order, kwargs, message", [
    ("conv>>relu>>pool>>conv>>pool>>fc>>conv>>fc>>loss", {},
     "layer 6 \\(fc\\).*put a Flatten\\(\\) before it"),
    ("conv>>relu>>pool>>conv>>pool>>flatten>>fc>>conv>>fc", {},
     "layer 8 \\(conv\\).*flat vector"),
    ("conv>>relu>>pool>>flatten>>fc", {"stride": 2, "padding": 1},
     "layer 1 \\(conv\\).*stride=2 does not tile"),
    ("conv>>pool>>pool>>pool>>pool>>pool>>flatten>>fc", {},
     "pool size=2 is larger than the input"),
    ("conv>>relu>>pool", {}, "must end with 'fc'"),
    ("conv>>loss>>fc", {}, "'loss' can only be the last"),
    ("conv>>softmax>>fc", {}, "unknown layer 'softmax'"),
])
def test_build_stack_refuses_what_does_not_fit(order, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hp.build_stack(order, **kwargs)


@pytest.mark.ch08
def test_architecture_builder_shows_summary_or_error():
    w = hp.architecture_builder()
    assert w.error is None and "(7, 7, 16)" in w.text  # default: the standard network
    assert w.figure.axes[0].get_xticklabels()[0].get_text() == "input"
    w.controls["order"].value = hp.ORDERS[0]  # the post's chain: fc straight after a map
    assert w.figure is None and "Flatten" in w.error and w.text.startswith("Not possible")
    w.controls["order"].value = hp.ORDERS[1]
    assert w.error is None
    w.controls["kernel_size"].value = 4  # 28 - 4 + 2 = 26 positions... fine with stride 1
    assert "(27, 27, 8)" in w.text
    w.controls["stride"].value = 2  # layer 1: (28 - 4 + 2) / 2 + 1 = 14, pool -> 7, then
    assert "layer 4 (conv) gets input shape (7, 7, 8)" in w.error  # (7 - 4 + 2) / 2 = 2.5
    w.controls["order"].value = "conv>>relu>>conv>>relu>>flatten>>fc>>loss"
    assert "(14, 14, 8)" in w.text and "(7, 7, 16)" in w.text  # 14 -> (14 - 4 + 2) / 2 + 1
    w.controls["kernel_size"].value = 3  # (28 - 3 + 2) / 2 = 13.5: refused
    assert w.figure is None and "layer 1 (conv)" in w.error and "does not tile" in w.error
    w.controls["order"].value = hp.ORDERS[1]
    w.controls["stride"].value = 1
    w.controls["filters"].value = 2
    heights = [p.get_height() for p in w.figure.axes[0].patches]
    assert heights[0] == 28 * 28 and heights[1] == 28 * 28 * 2
    assert "(7, 7, 4)" in w.text


# ---- chapter 08: trials, tables, learning-rate explorer ----------------------------------

@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12, 1)).astype(np.float32)
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int64)
    return (x[:48], y[:48]), (x[48:], y[48:])


@pytest.mark.ch08
def test_run_trial_records_and_divergence(small_data):
    order = "conv>>pool>>flatten>>fc"  # no ReLU: a huge step cannot die, it must blow up
    ok = hp.run_trial("ok", small_data, order, epochs=2, batch_size=16, lr=0.01,
                      filters=2, n_classes=2)
    assert not ok["diverged"] and len(ok["history"]["loss"]) == 2
    assert 0.0 <= ok["val_accuracy"] <= 1.0 and ok["params"] == 2 * 9 + 2 + 72 * 2 + 2
    (x_val, y_val) = small_data[1]
    predicted = ok["model"].forward(x_val).argmax(axis=1)
    assert ok["val_accuracy"] == pytest.approx(np.mean(predicted == y_val))
    bad = hp.run_trial("bad", small_data, order, epochs=3, batch_size=16, lr=1e6,
                       filters=2, n_classes=2)
    assert bad["diverged"] and math.isnan(bad["val_accuracy"])
    assert len(bad["history"]["loss"]) < 3
    table = hp.results_table([ok, bad])
    lines = table.splitlines()
    assert lines[0].split() == ["setting", "params", "mult-adds", "train", "acc", "val", "acc"]
    assert lines[2].startswith("ok") and lines[2].endswith(f"{ok['val_accuracy']:.1%}")
    assert lines[3].endswith("diverged")


@pytest.mark.ch08
def test_run_seeds_spread_difference_and_table(small_data):
    order = "conv>>pool>>flatten>>fc"
    a = hp.run_seeds("a", small_data, seeds=(0, 1, 2), order=order, epochs=1, batch_size=16,
                     lr=0.01, filters=2, n_classes=2)
    accs = [r["val_accuracy"] for r in a["runs"]]
    assert [r["seed"] for r in a["runs"]] == [0, 1, 2] and a["diverged"] == 0
    assert a["val"]["mean"] == pytest.approx(np.mean(accs))
    assert a["val"]["std"] == pytest.approx(np.std(accs, ddof=1))
    # made-up runs: a gap of 3 points beats sds of 1 and 2 points; 1.5 does not beat 2.5
    def group(name, values):
        return {"name": name, "val": hp.spread(values), "runs": [None] * len(values)}

    base = group("base", [0.70, 0.71, 0.72])
    assert hp.difference(group("up", [0.72, 0.74, 0.76]), base) == pytest.approx(
        {"gap": 0.03, "noise": 0.02, "real": True})
    assert not hp.difference(group("near", [0.70, 0.725, 0.75]), base)["real"]
    with pytest.raises(ValueError, match="at least 2 runs"):
        hp.difference(group("one", [0.9]), base)
    bad = hp.run_seeds("bad", small_data, seeds=(0, 1), order=order, epochs=3, batch_size=16,
                       lr=1e6, filters=2, n_classes=2)
    assert bad["diverged"] == 2 and bad["val"] is None
    lines = hp.seeds_table([a, bad], baseline="a").splitlines()
    v = a["val"]
    assert f"{100 * v['mean']:.1f} +- {100 * v['std']:.1f}" in lines[2]
    assert lines[2].endswith("(baseline)") and "all 2 diverged" in lines[3]
    with pytest.raises(ValueError, match="baseline must name"):
        hp.seeds_table([a], baseline="nope")
    fig = hp.plot_results([a, bad], baseline="a")
    dots = fig.axes[0].get_lines()[1]
    np.testing.assert_allclose(dots.get_xdata(), accs, rtol=1e-12)
    again = hp.relabel(a, "lr=0.01")
    assert again["name"] == "lr=0.01" and [r["name"] for r in again["runs"]] == ["lr=0.01"] * 3
    assert again["val"] is a["val"] and a["name"] == "a" and a["runs"][0]["name"] == "a"
    with pytest.raises(ValueError, match="at least one seed"):
        hp.run_seeds("none", small_data, seeds=())


@pytest.mark.ch08
def test_learning_rate_explorer_highlights_choice():
    runs = [{"name": f"lr={lr}", "history": {"loss": [2.0, 1.0 / k, 0.5 / k], "accuracy": []},
             "val_accuracy": 0.5 + 0.1 * k, "diverged": False}
            for k, lr in enumerate([0.01, 0.1], start=1)]
    runs.append({"name": "lr=10", "history": {"loss": [5.0], "accuracy": []},
                 "val_accuracy": math.nan, "diverged": True})
    w = hp.learning_rate_explorer(runs)
    lines = w.figure.axes[0].get_lines()
    assert [line.get_linewidth() for line in lines] == [2.5, 1, 1]
    np.testing.assert_allclose(lines[1].get_ydata(), [2.0, 0.5, 0.25])
    assert "validation accuracy 60.0%" in w.text
    w.controls["name"].value = "lr=10"
    assert "NaN/infinite after 1 full epoch" in w.text
    assert [line.get_linewidth() for line in w.figure.axes[0].get_lines()] == [1, 1, 2.5]
    with pytest.raises(ValueError, match="at least one"):
        hp.learning_rate_explorer([])


@pytest.mark.ch08
def test_summary_of_hand_built_stack_catches_missing_flatten():
    model = Sequential([Conv2D(1, 4, 3, padding=1), MaxPool2D(), Dense(14 * 14 * 4, 10)])
    with pytest.raises(ValueError, match="Flatten"):
        model.summary((28, 28, 1))
    Sequential([Conv2D(1, 4, 3, padding=1), MaxPool2D(), Flatten(),
                Dense(14 * 14 * 4, 10)]).summary((28, 28, 1))
