"""Chapter 07 widget: browse a trained network's predictions on the test set.

:func:`prediction_browser` shows one test image beside the network's ten class probabilities;
a slider moves through the images, a menu keeps all of them, only the right or only the wrong
predictions. :func:`plot_prediction` draws the same picture without a widget (the static
figure beside it in the notebook).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn.plotting import show_image
from minicnn.widgets._base import CourseWidget

__all__ = ["plot_prediction", "prediction_browser", "SHOW_CHOICES"]

#: The menu of :func:`prediction_browser`: which test images the slider walks through.
SHOW_CHOICES = ("all", "wrong only", "right only")


def plot_prediction(image: np.ndarray, probs: np.ndarray, class_names, true_label=None,
                    title: str | None = None):
    """One image beside a bar chart of its class probabilities.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    probs : ndarray, shape (K,)
        The network's probabilities (softmax output) for the K classes.
    class_names : sequence of K str
    true_label : int, optional
        Its bar is drawn green; the predicted class, when different, red; the others grey.
    title : str, optional
        Title over the image.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the image, then the bars (one ``Rectangle`` per class, widths = ``probs``).
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 1 or len(probs) != len(class_names):
        raise ValueError(f"probs must have shape ({len(class_names)},), one probability per "
                         f"class name, got shape {probs.shape}")
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(7.5, 2.8),
                                         gridspec_kw={"width_ratios": [1, 1.6]})
    show_image(image, ax=ax_img, title=title)
    pred = int(probs.argmax())
    colors = ["0.6"] * len(probs)
    if true_label is not None:
        colors[pred] = "tab:green" if pred == true_label else "tab:red"
        colors[int(true_label)] = "tab:green"
    else:
        colors[pred] = "tab:blue"
    ypos = np.arange(len(probs))
    ax_bar.barh(ypos, probs, color=colors)
    ax_bar.set_yticks(ypos, class_names, fontsize=8)
    ax_bar.invert_yaxis()  # class 0 on top
    ax_bar.set_xlim(0, 1)
    ax_bar.set_xlabel("probability")
    for y, p in zip(ypos, probs, strict=True):
        if p >= 0.005:
            ax_bar.text(min(p + 0.02, 0.85), y, f"{p:.0%}", va="center", fontsize=7)
    fig.tight_layout()
    return fig


def _selection(show: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if show == "all":
        return np.arange(len(y_true))
    if show == "wrong only":
        return np.flatnonzero(y_true != y_pred)
    if show == "right only":
        return np.flatnonzero(y_true == y_pred)
    raise ValueError(f"show must be one of {SHOW_CHOICES}, got {show!r}")


def prediction_browser(model, x: np.ndarray, y: np.ndarray, class_names,
                       probs: np.ndarray | None = None) -> CourseWidget:
    """Walk through test images and see what the network thinks of each.

    Parameters
    ----------
    model : Sequential
        A trained network (``predict_proba`` is called once, up front).
    x : ndarray, shape (N, H, W, C)
    y : ndarray, shape (N,)
        The true labels.
    class_names : sequence of str
    probs : ndarray, shape (N, K), optional
        Precomputed probabilities (then ``model`` may be None).

    Returns
    -------
    CourseWidget
        Controls ``"show"`` (one of ``SHOW_CHOICES``) and ``"k"`` (position in that selection;
        it wraps around when larger than the selection).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if probs is None:
        if model is None:
            raise ValueError("give a model, or precomputed probs of shape (N, K)")
        probs = model.predict_proba(x)
    probs = np.asarray(probs)
    if probs.shape != (len(x), len(class_names)) or len(y) != len(x):
        raise ValueError(f"x ({len(x)} images), y (shape {y.shape}) and probs (shape "
                         f"{probs.shape}) must describe the same images and "
                         f"{len(class_names)} classes")
    y_pred = probs.argmax(axis=1)
    selections = {show: _selection(show, y, y_pred) for show in SHOW_CHOICES}

    def draw(show: str, k: int):
        chosen = selections[show]
        if len(chosen) == 0:
            raise ValueError(f"no test image is {show.split()[0]}: choose another menu entry")
        i = int(chosen[k % len(chosen)])
        p, t = int(y_pred[i]), int(y[i])
        verdict = "right" if p == t else "wrong"
        fig = plot_prediction(x[i], probs[i], class_names, true_label=t,
                              title=f"test image {i}")
        text = (f"{show}: {k % len(chosen) + 1} of {len(chosen)} &mdash; test image {i}: "
                f"true <b>{class_names[t]}</b>, predicted <b>{class_names[p]}</b> "
                f"({probs[i, p]:.0%}), {verdict}")
        return fig, text

    controls = {
        "show": widgets.Dropdown(options=list(SHOW_CHOICES), value="all", description="show"),
        "k": widgets.IntSlider(value=0, min=0, max=len(x) - 1, description="image",
                               continuous_update=False),
    }
    return CourseWidget(controls, draw, "What does the network think of each test image?")
