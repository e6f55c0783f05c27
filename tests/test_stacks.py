"""Chapter 08: a stack of layers on paper (minicnn.stacks): parameters and receptive field by
hand, checked against the networks the package builds and against the gradient of a real
network (the pixels a unit depends on)."""

import numpy as np
import pytest

from minicnn.experiments import build_stack
from minicnn.layers import AvgPool2D, Conv2D
from minicnn.network import Sequential
from minicnn.stacks import (
    count_params,
    layer_tuples,
    output_shapes,
    receptive_field,
    receptive_field_steps,
)

pytestmark = pytest.mark.ch08

CH07 = [("conv", 8, 3, 1, 1), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("pool", 2, 2),
        ("dense", 10)]


def test_hand_counts():
    # 8 * (3*3*1 + 1) + 16 * (3*3*8 + 1) + (7*7*16) * 10 + 10
    assert count_params(CH07, (28, 28, 1)) == 80 + 1168 + 7850 == 9098
    # two 3x3x3 filters on a 6x6x3 image: 2 * (27 + 1)
    assert count_params([("conv", 2, 3, 1, 0)], (6, 6, 3)) == 56
    # 10x6x2 -> conv 3x3 (4) -> 8x4x4 -> pool -> 4x2x4 = 32 values -> dense 5
    assert count_params([("conv", 4, 3, 1, 0), ("pool", 2, 2), ("dense", 5)],
                        (10, 6, 2)) == 4 * 19 + 32 * 5 + 5
    assert output_shapes(CH07, (28, 28, 1)) == [(28, 28, 8), (14, 14, 8), (14, 14, 16),
                                                (7, 7, 16), (10,)]
    assert count_params([], (28, 28, 1)) == 0


@pytest.mark.parametrize("order", ["conv>>relu>>pool>>conv>>relu>>pool>>flatten>>fc",
                                   "conv>>relu>>conv>>relu>>flatten>>fc",
                                   "conv>>relu>>pool>>flatten>>fc>>relu>>fc"])
@pytest.mark.parametrize("arch", [{}, {"kernel_size": 5, "padding": 2},
                                  {"kernel_size": 4, "stride": 2}, {"filters": 3}])
def test_the_hand_count_is_the_networks(order, arch):
    """Where build_stack builds the network, the hand count is its n_params; where it refuses
    (a stride-2 conv after a pool, 7 -> 2.5), so does count_params."""
    model = build_stack(order, input_shape=(28, 28, 1))  # the shapes of the default settings
    stack = [(t[0], *t[1:]) for t in layer_tuples(model)]
    f, k, s, p = (arch.get("filters", 8), arch.get("kernel_size", 3), arch.get("stride", 1),
                  arch.get("padding", 1))
    n_conv, changed = 0, []
    for layer in stack:
        if layer[0] == "conv":
            layer = ("conv", f * 2 ** n_conv, k, s, p)
            n_conv += 1
        changed.append(layer)
    try:
        model = build_stack(order, input_shape=(28, 28, 1), **arch)
    except ValueError:
        with pytest.raises(ValueError, match="layers"):
            count_params(changed, (28, 28, 1))
        return
    assert layer_tuples(model) == changed
    assert count_params(changed, (28, 28, 1)) == model.n_params


def test_receptive_field_steps_by_hand():
    # r += (k - 1) * j, then j *= s: 1+2=3 (j 1), 3+1=4 (j 2), 4+2*2=8 (j 2), 8+1*2=10 (j 4)
    assert receptive_field_steps(CH07[:-1]) == [(3, 1), (4, 2), (8, 2), (10, 4)]
    assert receptive_field([("conv", 8, 5, 1, 2), ("pool", 2, 2), ("conv", 16, 5, 1, 2)]) == 14
    assert receptive_field([("conv", 4, 3, 1, 5)]) == 3  # padding widens nothing
    assert receptive_field([]) == 1


@pytest.mark.parametrize("stack", [
    [("conv", 1, 3, 1, 1), ("pool", 2, 2), ("conv", 1, 3, 1, 1), ("pool", 2, 2)],
    [("conv", 1, 5, 1, 2), ("pool", 2, 2), ("conv", 1, 5, 1, 2)],
    [("conv", 1, 4, 2, 1), ("conv", 1, 4, 2, 1)],
    [("pool", 3, 2), ("conv", 1, 3, 1, 1), ("pool", 2, 2)],
])
def test_receptive_field_is_what_a_unit_depends_on(stack):
    """Positive weights and average pooling: the gradient of one interior unit is non-zero on
    exactly the input pixels it sees, an r x r square."""
    layers = []
    for kind, *numbers in stack:
        if kind == "conv":
            f, k, s, p = numbers
            conv = Conv2D(1, f, k, s, p, seed=0)
            conv.params["w"][...] = np.abs(conv.params["w"]) + 0.1
            layers.append(conv)
        else:
            layers.append(AvgPool2D(*numbers))
    model = Sequential(layers)
    x = np.zeros((1, 40, 40, 1))
    out = model.forward(x)
    dout = np.zeros_like(out)
    i, j = out.shape[1] // 2, out.shape[2] // 2
    dout[0, i, j, 0] = 1.0
    seen = np.argwhere(model.backward(dout)[0, :, :, 0] != 0)
    side = seen.max(axis=0) - seen.min(axis=0) + 1
    assert tuple(side) == (receptive_field(stack),) * 2


@pytest.mark.parametrize("call", [
    lambda: count_params([("conv", 4, 3, 1, 1), ("relu",)], (8, 8, 1)),
    lambda: count_params([("dense", 4), ("conv", 4, 3, 1, 1)], (8, 8, 1)),
    lambda: count_params([("conv", 4, 3, 2, 1)], (28, 28, 1)),
    lambda: count_params([("pool", 3, 1)], (6, 2, 1)),
    lambda: count_params([("conv", 4, 3, 1)], (8, 8, 1)),
    lambda: receptive_field(CH07),
    lambda: receptive_field("conv"),
])
def test_bad_stacks_are_refused_naming_layers(call):
    with pytest.raises(ValueError, match="layers"):
        call()


def test_bad_input_shape_is_refused():
    with pytest.raises(ValueError, match=r"input_shape must be \(H, W, C\).*got \(28, 28\)"):
        count_params(CH07, (28, 28))


def test_receptive_field_figures_draw_what_the_numbers_say():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Rectangle

    from minicnn.figures import receptive_field as rf

    stack = CH07[:-1]
    fig = rf.plot_receptive_field_1d(stack, n=20)
    cells = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    inputs = [p for p in cells if abs(p.get_y() + 0.2) < 1e-9]  # the bottom row
    assert len(inputs) == 20
    coloured = [p for p in inputs if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(coloured) == receptive_field(stack) == 10
    image = np.zeros((28, 28, 1))
    fig = rf.plot_receptive_field_on_image(image, stack)
    squares = fig.axes[0].patches
    assert [p.get_width() for p in squares] == [3, 4, 8, 10]
    assert len({(p.get_x(), p.get_y()) for p in squares}) == 1  # one shared corner
    with pytest.raises(ValueError, match="layers"):
        rf.geometry(stack, n=3)
