"""Chapter 04 figures and widget: what an activation function does to a real feature map.

- :func:`edge_feature_map` convolves a grayscale photo with a small edge filter, giving a
  feature map with both positive and negative values (light-to-dark and dark-to-light edges).
- :func:`plot_before_after` shows that map before and after an activation, on a blue-white-red
  scale (blue negative), with the activation's curve beside them.
- :func:`plot_activation_curves` draws ReLU, sigmoid and tanh and their derivatives.
- :func:`activation_explorer` is the widget: choose the function, the filter and a bias.

Images are channels-last; the feature maps here are single 2-D maps (H', W').
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn import activations
from minicnn.conv import convolve
from minicnn.images import sample_photo, to_grayscale
from minicnn.plotting import show_signed
from minicnn.widgets._base import CourseWidget

__all__ = ["ACTIVATIONS", "DERIVATIVES", "EDGE_FILTERS", "activate", "small_photo",
           "edge_feature_map", "plot_before_after", "plot_activation_curves",
           "activation_explorer"]

#: The activation functions of chapter 04, by the names the widget shows.
ACTIVATIONS = {"ReLU": activations.relu, "sigmoid": activations.sigmoid,
               "tanh": activations.tanh}

#: Their derivatives as functions of the input x (the backward passes with an upstream 1).
DERIVATIVES = {
    "ReLU": lambda x: activations.relu_backward(1.0, x),
    "sigmoid": lambda x: activations.sigmoid_backward(1.0, activations.sigmoid(x)),
    "tanh": lambda x: activations.tanh_backward(1.0, activations.tanh(x)),
}

#: 3 x 3 edge filters (Sobel): each gives positive values on one side of an edge and
#: negative values on the other.
EDGE_FILTERS = {
    "vertical edges": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
    "horizontal edges": np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),
    "diagonal edges": np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]),
}


def activate(name: str, x: np.ndarray) -> np.ndarray:
    """Apply the activation called ``name`` (a key of ``ACTIVATIONS``) to every value of x."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                         f"got {name!r}")
    return ACTIVATIONS[name](x)


def small_photo(step: int = 4) -> np.ndarray:
    """The Grace Hopper photo in grayscale, every ``step``-th pixel, scaled to 0..1.

    Returns
    -------
    ndarray of float64, shape (ceil(600 / step), ceil(512 / step))
    """
    return to_grayscale(sample_photo("grace_hopper"))[::step, ::step] / 255.0


def edge_feature_map(image: np.ndarray, filter_name: str = "vertical edges") -> np.ndarray:
    """Convolve a 2-D image with one of ``EDGE_FILTERS``.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    filter_name : str
        A key of ``EDGE_FILTERS``.

    Returns
    -------
    ndarray, shape (H - 2, W - 2)
        Positive and negative values: the filter is a difference of the two sides.
    """
    if filter_name not in EDGE_FILTERS:
        raise ValueError(f"filter_name must be one of {', '.join(map(repr, EDGE_FILTERS))}, "
                         f"got {filter_name!r}")
    return convolve(image, EDGE_FILTERS[filter_name])


def plot_before_after(feature_map: np.ndarray, activation: str = "ReLU", bias: float = 0.0):
    """Feature map before and after ``activation(feature_map + bias)``, and the curve used.

    Both maps use a blue-white-red scale centred on 0, so any negative value shows blue.
    Returns the figure (three panels).
    """
    before = np.asarray(feature_map, dtype=np.float64) + bias
    after = activate(activation, before)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(11, 3.6),
                                        gridspec_kw={"width_ratios": [1, 1, 1.1]})
    show_signed(before, ax=ax1, title="before (feature map + bias)")
    show_signed(after, ax=ax2, title=f"after {activation}")
    lo, hi = float(before.min()), float(before.max())
    xs = np.linspace(min(lo, -1.0), max(hi, 1.0), 200)
    ax3.plot(xs, activate(activation, xs), color="C3", lw=2, label=activation)
    ax3.hist(before.ravel(), bins=40, density=True, color="C0", alpha=0.4,
             label="values before")
    ax3.axhline(0, color="k", lw=0.5)
    ax3.axvline(0, color="k", lw=0.5)
    ax3.set(xlabel="input value", title=f"{activation} and the map's values")
    ax3.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_activation_curves(lo: float = -5.0, hi: float = 5.0):
    """ReLU, sigmoid and tanh (left) and their derivatives (right) on [lo, hi]."""
    xs = np.linspace(lo, hi, 401)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name in ACTIVATIONS:
        ax1.plot(xs, activate(name, xs), lw=2, label=name)
        ax2.plot(xs, DERIVATIVES[name](xs), lw=2, label=name)
    ax1.set(xlabel="x", ylabel="f(x)", title="activation", ylim=(-1.5, 3))
    ax2.set(xlabel="x", ylabel="f'(x)", title="derivative")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def _describe(before: np.ndarray, after: np.ndarray, activation: str) -> str:
    neg_before = float(np.mean(before < 0))
    neg_after = float(np.mean(after < 0))
    return (f"before: {neg_before:.0%} of the values are negative (min {before.min():.2f}, "
            f"max {before.max():.2f}); after {activation}: {neg_after:.0%} negative "
            f"(min {after.min():.2f}, max {after.max():.2f})")


def activation_explorer(image: np.ndarray | None = None) -> CourseWidget:
    """A widget: pick an activation, an edge filter and a bias; see the map before and after.

    Parameters
    ----------
    image : ndarray, shape (H, W), optional
        A grayscale image; by default :func:`small_photo`.
    """
    image = small_photo() if image is None else np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be a 2-D grayscale array (H, W), got shape {image.shape}; "
                         "use minicnn.images.to_grayscale first")
    maps = {}

    def draw(activation, filter_name, bias):
        if filter_name not in maps:
            maps[filter_name] = edge_feature_map(image, filter_name)
        before = maps[filter_name] + bias
        fig = plot_before_after(maps[filter_name], activation, bias)
        return fig, _describe(before, activate(activation, before), activation)

    controls = {
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value="ReLU",
                                       description="function"),
        "filter_name": widgets.Dropdown(options=list(EDGE_FILTERS), value="vertical edges",
                                        description="filter"),
        "bias": widgets.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.1, description="bias",
                                    continuous_update=False),
    }
    return CourseWidget(controls, draw, "Activation explorer: a feature map before and after")
