"""Widgets for chapter 02: step a filter across an image, and try different filters on a photo.

- :func:`conv_stepper` is a slider over the filter's positions: it highlights the patch under the
  filter, shows the element-wise products and their sum, and fills the feature map in, position
  by position, in the order a convolution visits them (left to right, then down by the stride).
- :func:`filter_chooser` applies one of a few hand-made filters (:data:`FILTERS`) to an image.

Their plain drawing functions, :func:`conv_step_figure` and :func:`filter_figure`, make the same
figures without a widget (the static pictures beside the widgets in the notebook).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from minicnn import conv, images, shapes
from minicnn.plotting import show_image, show_signed, show_values
from minicnn.widgets._base import CourseWidget
from minicnn.widgets.activations import small_photo

__all__ = ["FILTERS", "conv_step_figure", "conv_stepper", "filter_figure", "filter_chooser"]

#: Hand-made 3 x 3 filters, by name: each one lights up where its pattern is in the image.
FILTERS: dict[str, np.ndarray] = {
    "right-sloping diagonal": np.fliplr(np.eye(3)),
    "left-sloping diagonal": np.eye(3),
    "vertical edge (dark to bright)": np.array([[-1.0, 0.0, 1.0]] * 3),
    "horizontal edge (dark to bright)": np.array([[-1.0, 0.0, 1.0]] * 3).T,
    "blur (average)": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
}


def _two_d(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W) or (H, W, 1), got shape {x.shape}; "
                         f"for a colour image use images.to_grayscale({name}) first")
    return x


def _n_positions(image_shape, kernel_shape, stride: int, padding: int) -> tuple[int, int]:
    return (shapes.output_size(image_shape[0], kernel_shape[0], stride, padding),
            shapes.output_size(image_shape[1], kernel_shape[1], stride, padding))


def conv_step_figure(image, kernel, step: int = 0, stride: int = 1, padding: int = 0):
    """The convolution after ``step + 1`` dot products: patch, products, partial feature map.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1)
    kernel : array_like, shape (kh, kw) or (kh, kw, 1)
    step : int
        Which position, counted from 0 in row-major order (left to right, then down). A step
        past the last position shows the last one.
    stride, padding : int
        As in :func:`minicnn.conv.convolve`; a configuration that does not tile the image raises
        ``ValueError`` (see :func:`minicnn.shapes.output_size`).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three panels: the (padded) image with the patch outlined, the products patch * kernel,
        and the feature map filled in up to this position (the current cell outlined).
    text : str
        The dot product written out, e.g. ``"position (0, 1): sum of products = 0 + ... = 1"``.
    """
    image, kernel = _two_d("image", image), _two_d("kernel", kernel)
    out_h, out_w = _n_positions(image.shape, kernel.shape, stride, padding)
    step = min(max(int(step), 0), out_h * out_w - 1)
    out = conv.convolve(image, kernel, stride=stride, padding=padding)
    padded = np.pad(image, padding)
    i, j = divmod(step, out_w)
    top, left = i * stride, j * stride
    kh, kw = kernel.shape
    products = padded[top:top + kh, left:left + kw] * kernel
    partial = np.full(out.shape, np.nan)
    partial.flat[:step + 1] = out.flat[:step + 1]

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8),
                             gridspec_kw={"width_ratios": [padded.shape[1], kw + 2, out_w]})
    show_values(padded, ax=axes[0], highlight=(top, left, kh, kw),
                title=f"image{' (padded)' if padding else ''}, filter at row {top}, col {left}")
    show_values(products, ax=axes[1], title="patch x filter")
    show_values(partial, ax=axes[2], highlight=(i, j, 1, 1),
                title=f"feature map {out_h} x {out_w}")
    for text in axes[2].texts[:]:
        if text.get_text() == "nan":  # positions not visited yet stay blank
            text.remove()
    fig.tight_layout()
    terms = " + ".join(f"{v:g}" for v in products.ravel())
    text = (f"step {step + 1} of {out_h * out_w}, output position ({i}, {j}): "
            f"sum of products = {terms} = <b>{out[i, j]:g}</b>")
    return fig, text


def conv_stepper(image=None, kernel=None, stride: int = 1, padding: int = 0) -> CourseWidget:
    """Slide a filter over an image one position at a time and watch the feature map fill in.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1), optional
        Defaults to the 10 x 10 diagonal-lines image (:func:`minicnn.images.diagonal_image`).
        Keep it small (up to about 16 x 16): every value is written in its cell.
    kernel : array_like, shape (kh, kw), optional
        Defaults to the 3 x 3 right-sloping-diagonal filter.
    stride, padding : int
        Starting values of the stride and padding sliders.

    Returns
    -------
    CourseWidget
        Controls ``step``, ``stride``, ``padding``; ``.figure`` is :func:`conv_step_figure`'s.
    """
    image = _two_d("image", images.diagonal_image() if image is None else image)
    kernel = _two_d("kernel", images.diagonal_filter() if kernel is None else kernel)
    slider = dict(continuous_update=False, style={"description_width": "initial"})
    controls = {
        "step": widgets.IntSlider(value=0, min=0, max=_max_step(image, kernel, stride, padding),
                                  description="position", **slider),
        "stride": widgets.IntSlider(value=stride, min=1, max=4, description="stride", **slider),
        "padding": widgets.IntSlider(value=padding, min=0, max=2, description="padding",
                                     **slider),
    }

    def follow(change) -> None:  # the position slider spans exactly the positions there are
        values = {name: c.value for name, c in controls.items()}
        controls["step"].max = _max_step(image, kernel, values["stride"], values["padding"])

    # Registered before the widget's own observer, so the slider's range is right when it redraws.
    for name in ("stride", "padding"):
        controls[name].observe(follow, names="value")

    def draw(step: int, stride: int, padding: int):
        return conv_step_figure(image, kernel, step, stride, padding)

    return CourseWidget(controls, draw, title="Step the filter across the image")


def _max_step(image, kernel, stride: int, padding: int) -> int:
    try:
        out_h, out_w = _n_positions(image.shape, kernel.shape, stride, padding)
    except ValueError:
        return 0  # this setting does not tile the image; the widget says why
    return out_h * out_w - 1


def filter_figure(image, kernel, title: str = "filter"):
    """Image, filter and feature map side by side (stride 1, padding 1, so the map keeps the size).

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1)
    kernel : array_like, shape (3, 3) or any odd (k, k)

    Returns
    -------
    fig : matplotlib.figure.Figure
    out : ndarray, shape (H, W)
        The feature map.
    """
    image, kernel = _two_d("image", image), _two_d("kernel", kernel)
    out = conv.convolve(image, kernel, stride=1, padding=kernel.shape[0] // 2)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), gridspec_kw={"width_ratios": [4, 2, 4]})
    show_image(image, ax=axes[0], title="image")
    show_values(kernel, ax=axes[1], title=title, cmap="coolwarm", fmt="{:.2g}")
    show_signed(out, ax=axes[2], title="feature map")
    fig.tight_layout()
    return fig, out


def filter_chooser(image=None) -> CourseWidget:
    """Pick one of :data:`FILTERS` and see the feature map it gives on an image.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1), optional
        Defaults to the grayscale Grace Hopper photo, every 4th pixel (150 x 128), scaled to 0..1.

    Returns
    -------
    CourseWidget
        Control ``name`` (a dropdown of filter names); the text gives the map's range.
    """
    if image is None:
        image = small_photo()
    image = _two_d("image", image)
    controls = {"name": widgets.Dropdown(options=list(FILTERS), value="vertical edge "
                                         "(dark to bright)", description="filter")}

    def draw(name: str):
        fig, out = filter_figure(image, FILTERS[name], title=name)
        return fig, (f"{name}: feature map {out.shape[0]} x {out.shape[1]}, values from "
                     f"{out.min():.2f} to {out.max():.2f}")

    return CourseWidget(controls, draw, title="Choose a filter")
