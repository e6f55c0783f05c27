"""Chapter 08, a stack of layers on paper: ``count_params`` and ``receptive_field``.

A stack is a list of tuples: ``("conv", filters, kernel, stride, padding)``,
``("pool", size, stride)``, ``("dense", units)``. The reference follows the shape through the
stack; each mistake is the same walk with one step done the wrong way.
"""

from __future__ import annotations

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, is_real_number, seeded, with_traits

MODULE = "ex08_hyperparameters"


# ---------------------------------------------------------------------------- reference
def _count(layers, input_shape, *, depth="map", flat_depth=True, width="w",
           padding=True, conv_stride=True, pool="windows", strict=True):
    """Parameters of the stack; the keywords switch on one mistake each (the defaults are
    right). ``strict`` raises ValueError where the exercise must; the mistakes do not check."""
    shape, total = tuple(input_shape), 0
    image_depth = input_shape[2]
    for layer in layers:
        kind = layer[0]
        if kind not in ("conv", "pool", "dense"):
            raise ValueError("unknown kind")
        if kind in ("conv", "pool") and len(shape) != 3:
            raise ValueError("after dense")
        if kind == "conv":
            _, f, k, s, p = layer
            h, w, c = shape
            c_in = {"map": c, "none": 1, "image": image_depth}[depth]
            total += f * (k * k * c_in + 1)
            sides = []
            for n in (h, h if width == "h" else w):
                span = n - k + 2 * (p if padding else 0)
                if strict and (span < 0 or span % s):
                    raise ValueError("does not tile")
                sides.append(span // (s if conv_stride else 1) + 1)
            shape = (sides[0], sides[1], f)
        elif kind == "pool":
            _, size, s = layer
            h, w, c = shape
            if strict and size > min(h, w):
                raise ValueError("window too big")
            w = h if width == "h" else w
            if pool == "windows":
                shape = ((h - size) // s + 1, (w - size) // s + 1, c)
            else:  # H // size
                shape = (h // size, w // size, c)
        else:
            m = layer[1]
            d = 1
            for n in (shape if flat_depth or len(shape) != 3 else shape[:2]):
                d *= n
            total += d * m + m
            shape = (m,)
    return total


def count_params(layers, input_shape):
    """Weights and biases of the stack (the grader's own walk through the shapes)."""
    return _count(layers, input_shape)


def _field(layers, *, strides=True, added=False, early=False, padding=False, jump_added=False,
           strict=True):
    """Receptive field of one unit of the last layer; keywords switch on one mistake each."""
    r, j, total = 1, 1, 0
    for layer in layers:
        kind = layer[0]
        if kind == "conv":
            k, s, p = layer[2], layer[3], layer[4]
        elif kind == "pool":
            (k, s), p = layer[1:3], 0
        else:
            if strict:
                raise ValueError(f"{kind} has no receptive field")
            return None
        total += k
        if early:
            j *= s
        r += (k - 1 + (2 * p if padding else 0)) * (j if strides else 1)
        if not early:
            j = j + s - 1 if jump_added else j * s
    return total if added else r


def receptive_field(layers):
    """r = 1, j = 1; each layer: r += (k - 1) * j, then j *= s."""
    return _field(layers)


# ---------------------------------------------------------------------------- stacks
def conv(f, k, s=1, p=0):
    return ("conv", f, k, s, p)


def pool(size=2, s=2):
    return ("pool", size, s)


def dense(m):
    return ("dense", m)


CH07 = [conv(8, 3, 1, 1), pool(), conv(16, 3, 1, 1), pool(), dense(10)]
TASK = [conv(16, 5, 1, 2), pool(), conv(32, 3, 1, 1), pool(), dense(10)]
STRIDED = [conv(8, 4, 2, 1), conv(16, 4, 2, 1), dense(10)]


def _fits(layers, shape) -> bool:
    try:
        _count(layers, shape)
    except ValueError:
        return False
    return True


def _random_stack(r, n_maps, with_dense):
    layers = []
    for _ in range(n_maps):
        if r.random() < 0.65:
            layers.append(conv(int(r.integers(1, 17)), int(r.integers(1, 6)),
                               int(r.integers(1, 4)), int(r.integers(0, 3))))
        else:
            size = int(r.integers(2, 4))
            layers.append(pool(size, int(r.integers(1, size + 1))))
    for _ in range(with_dense):
        layers.append(dense(int(r.integers(1, 40))))
    return layers


# ---------------------------------------------------------------------------- 8.1
def _count_cases() -> tuple[Case, ...]:
    ok = [
        ("the chapter 07 network on 28x28x1", CH07, (28, 28, 1)),
        ("the notebook's task: 5x5 conv, pool, 3x3 conv, pool, dense", TASK, (28, 28, 1)),
        ("the docstring's example: conv, pool, dense on 8x8x1",
         [conv(4, 3), pool(), dense(10)], (8, 8, 1)),
        ("two 3x3x3 filters on a 6x6x3 image", [conv(2, 3)], (6, 6, 3)),
        ("a dense layer straight on the image", [dense(10)], (28, 28, 1)),
        ("two dense layers", [dense(32), dense(10)], (8, 8, 1)),
        ("stride-2 convolutions instead of pooling", STRIDED, (28, 28, 1)),
        ("a 10x6x2 input (not square)", [conv(4, 3), pool(), dense(5)], (10, 6, 2)),
        ("a 3x3 pool with stride 2", [conv(4, 3, 1, 1), pool(3, 2), dense(3)], (9, 9, 1)),
        ("two convs on an RGB image", [conv(4, 3, 1, 1), conv(6, 3, 1, 1), dense(2)],
         (5, 5, 3)),
        ("a pool on a non-square map, then dense", [pool(2, 2), dense(4)], (6, 10, 3)),
        ("no layers at all", [], (28, 28, 1)),
    ]
    ok += _wide_counts()
    bad = [
        ("a 'relu' layer (not a kind count_params knows)",
         [conv(4, 3, 1, 1), ("relu",), dense(10)], (8, 8, 1), "unknown"),
        ("a conv after a dense layer", [dense(32), conv(4, 3, 1, 1)], (8, 8, 1),
         "after_dense"),
        ("a pool after a dense layer", [conv(2, 3), dense(8), pool()], (8, 8, 1),
         "after_dense"),
        ("a 3x3 conv with stride 2 on 28x28 (does not tile)", [conv(8, 3, 2, 1)], (28, 28, 1),
         "not_tiling"),
        ("a conv that tiles the height (9) but not the width (8)", [conv(4, 3, 2)],
         (9, 8, 1), "not_tiling"),
        ("a 5x5 filter on a 4x4 map, no padding", [conv(4, 5)], (4, 4, 1), "not_tiling"),
        ("a fifth 2x2 pool on a 1x1 map", [conv(8, 3, 1, 1)] + [pool()] * 5, (28, 28, 1),
         "pool_too_big"),
        ("a 3x3 pool on a 6x2 map", [pool(3, 1)], (6, 2, 1), "pool_too_big"),
    ]
    cases = [Case(label, (layers, shape)) for label, layers, shape in ok]
    cases += [Case(label + " (should raise ValueError)", (layers, shape), raises=True, tag=t,
                   names="layers") for label, layers, shape, t in bad]
    return with_traits(cases, _count_traits)


def _wide_counts() -> list:
    """Seeded stacks that fit: 1 to 4 conv/pool layers, each drawn until it tiles the map
    before it, then 0 to 2 dense layers, on inputs from 4x4 to 32x32 with 1 to 4 channels,
    square or not."""
    r = seeded(f"{MODULE}.count_params")
    found = []
    while len(found) < 30:
        h, w = int(r.integers(4, 33)), int(r.integers(4, 33))
        shape = (h, h if r.random() < 0.4 else w, int(r.integers(1, 5)))
        layers = []
        for _ in range(int(r.integers(1, 5))):
            for _ in range(20):  # a few draws until one fits
                layer = _random_stack(r, 1, 0)[0]
                if _fits([*layers, layer], shape):
                    layers.append(layer)
                    break
        layers += [dense(int(r.integers(1, 40))) for _ in range(int(r.integers(0, 3)))]
        if layers:
            found.append((f"a seeded stack of {_layers_text(layers)} on {shape}", layers,
                          shape))
    return found


def _layers_text(layers) -> str:
    return f"{len(layers)} layer{'s' if len(layers) > 1 else ''}"


def _count_traits(case: Case) -> list[str]:
    layers, shape = case.args
    kinds = [layer[0] for layer in layers]
    traits = []
    if shape[0] != shape[1]:
        traits.append("a non-square input (H != W)")
    if shape[2] > 1:
        traits.append("an input with more than one channel")
    if kinds.count("conv") > 1:
        traits.append("a conv after another conv (its depth is the first one's filters)")
    if any(k == "conv" and layer[3] > 1 for k, layer in zip(kinds, layers, strict=True)):
        traits.append("a conv with stride above 1")
    if any(k == "conv" and layer[4] > 0 for k, layer in zip(kinds, layers, strict=True)):
        traits.append("padding")
    if any(k == "pool" and layer[1] != layer[2] for k, layer in zip(kinds, layers, strict=True)):
        traits.append("a pool whose stride differs from its window")
    if "dense" in kinds and kinds.index("dense") > 0:
        traits.append("a dense layer after a map (it is flattened first)")
    if kinds.count("dense") > 1:
        traits.append("a dense layer after a dense layer")
    return traits


def _returned_for(tag: str):
    return lambda c, o: c.raises and c.tag == tag and o.status == "returned"


def _returned_count(**wrong):
    """A returned value equal to the count with one step done wrong (and not the right one)."""
    def test(case: Case, out: Outcome) -> bool:
        if case.raises or out.status != "returned" or not is_real_number(out.value):
            return False
        right = _count(*case.args)
        try:
            want = _count(*case.args, strict=False, **wrong)
        except (ValueError, ZeroDivisionError, IndexError):
            return False
        return want != right and out.value == want
    return test


def _biases_missing(case: Case, out: Outcome) -> bool:
    """The count less the conv layers' biases, the dense layers' biases, or both."""
    if case.raises or out.status != "returned" or not is_real_number(out.value):
        return False
    layers, shape = case.args
    right = _count(layers, shape)
    convs = sum(layer[1] for layer in layers if layer[0] == "conv")
    denses = sum(layer[1] for layer in layers if layer[0] == "dense")
    return any(gap and out.value == right - gap for gap in (convs, denses, convs + denses))


COUNT_PARAMS = Exercise(
    "8.1", MODULE, "count_params", 1.0,
    "follow the shape through the stack; add F * (k * k * C + 1) for each conv and "
    "D * M + M for each dense layer, and raise ValueError naming `layers` when a layer does "
    "not fit", ("layers", "input_shape"), _count_cases(), count_params, kind="int",
    mistakes=(
        Mistake("no_error_unknown_kind", "no error for a layer whose first item is not 'conv', "
                "'pool' or 'dense': raise ValueError naming `layers` instead of skipping it",
                test=_returned_for("unknown")),
        Mistake("no_error_after_dense", "no error for a conv or pool after a dense layer: a "
                "dense layer outputs a flat vector, with no rows or columns left, so raise "
                "ValueError naming `layers`", test=_returned_for("after_dense")),
        Mistake("no_error_not_tiling", "no error for a conv that does not tile the map: when "
                "H - k + 2P (or W - k + 2P) is below 0 or not divisible by the stride, raise "
                "ValueError naming `layers`", test=_returned_for("not_tiling")),
        Mistake("no_error_pool_too_big", "no error for a pool window larger than the map: "
                "raise ValueError naming `layers`", test=_returned_for("pool_too_big")),
        Mistake("bias_forgotten", "the biases are missing: each filter of a conv layer and "
                "each unit of a dense layer has one bias, so a conv adds F * (k * k * C + 1) "
                "and a dense layer D * M + M", test=_biases_missing,
                yields_to="depth_forgotten"),
        Mistake("depth_forgotten", "the depth of the filters is missing: a filter is "
                "k x k x C, as deep as the map coming in, so a conv has F * (k * k * C + 1) "
                "parameters, not F * (k * k + 1)", test=_returned_count(depth="none"),
                yields_to="depth_from_image"),
        Mistake("depth_from_image", "every conv's filters are as deep as the image: a conv "
                "after another conv gets a map as deep as that conv's number of filters, so "
                "use the depth of the map coming in, not the image's channels",
                test=_returned_count(depth="image")),
        Mistake("flatten_forgets_depth", "the dense layer's inputs leave out the depth: a map "
                "H x W x C flattens into H * W * C values, not H * W",
                test=_returned_count(flat_depth=False), yields_to="pool_divides_by_size"),
        Mistake("width_from_height", "the width is taken to be the height: follow both sides "
                "of the map, since H and W may differ (the dense inputs are H * W * C)",
                test=_returned_count(width="h")),
        Mistake("padding_ignored", "the padding is left out of the output size: a conv gives "
                "(H - k + 2P) / S + 1 rows", test=_returned_count(padding=False),
                yields_to="pool_divides_by_size"),
        Mistake("stride_ignored", "the stride is left out of the conv's output size: it gives "
                "(H - k + 2P) / S + 1 rows, not H - k + 2P + 1",
                test=_returned_count(conv_stride=False)),
        Mistake("pool_divides_by_size", "a pool keeps (H - size) // stride + 1 windows; "
                "H // size is right only when the stride equals the window",
                test=_returned_count(pool="divide")),
    ),
)


# ---------------------------------------------------------------------------- 8.2
def _field_cases() -> tuple[Case, ...]:
    ok = [
        ("one 3x3 conv", [conv(8, 3, 1, 1)]),
        ("the docstring's example: two 3x3 convs", [conv(8, 3, 1, 1), conv(8, 3, 1, 1)]),
        ("the chapter 07 network without its dense layer", CH07[:-1]),
        ("the notebook's task: 5x5 conv, 2x2 pool, 5x5 conv",
         [conv(8, 5, 1, 2), pool(), conv(16, 5, 1, 2)]),
        ("5x5 convs, each followed by a 2x2 pool", [conv(8, 5, 1, 2), pool()] * 2),
        ("stride-2 convolutions instead of pooling", STRIDED[:-1]),
        ("a 3x3 conv with padding 5", [conv(4, 3, 1, 5)]),
        ("a 3x3 pool with stride 2, then a 3x3 conv", [pool(3, 2), conv(4, 3, 1, 1)]),
        ("three 2x2 pools, then a 3x3 conv", [pool()] * 3 + [conv(4, 3, 1, 1)]),
        ("a 1x1 conv after a pool", [conv(4, 3), pool(), conv(8, 1)]),
        ("no layers at all", []),
    ]
    ok += _wide_fields()
    bad = [
        ("a stack ending in a dense layer", CH07, "dense"),
        ("a dense layer first", [dense(10), conv(4, 3)], "dense"),
        ("a 'relu' layer (not a kind receptive_field knows)",
         [conv(4, 3), ("relu",), pool()], "unknown"),
    ]
    cases = [Case(label, (layers,)) for label, layers in ok]
    cases += [Case(label + " (should raise ValueError)", (layers,), raises=True, tag=t,
                   names="layers") for label, layers, t in bad]
    return with_traits(cases, _field_traits)


def _wide_fields() -> list:
    r = seeded(f"{MODULE}.receptive_field")
    stacks = [_random_stack(r, int(r.integers(1, 7)), 0) for _ in range(30)]
    return [(f"a seeded stack of {_layers_text(layers)} (conv and pool)", layers)
            for layers in stacks]


def _field_traits(case: Case) -> list[str]:
    layers = case.args[0]
    strides = [layer[3] if layer[0] == "conv" else layer[2] for layer in layers
               if layer[0] in ("conv", "pool")]
    traits = []
    if any(s > 1 for s in strides[:-1]):
        traits.append("a stride above 1 before the last layer")
    if sum(s > 1 for s in strides[:-1]) > 1:
        traits.append("two strided layers before another layer")
    if any(layer[0] == "conv" and layer[4] > 0 for layer in layers):
        traits.append("padding")
    if not layers:
        traits.append("no layers")
    return traits


def _returned_field(**wrong):
    def test(case: Case, out: Outcome) -> bool:
        if case.raises or out.status != "returned" or not is_real_number(out.value):
            return False
        want = _field(*case.args, strict=False, **wrong)
        return want is not None and want != _field(*case.args) and out.value == want
    return test


RECEPTIVE_FIELD = Exercise(
    "8.2", MODULE, "receptive_field", 1.0,
    "start from r = 1 and j = 1; for each layer do r += (k - 1) * j, then j *= s; raise "
    "ValueError naming `layers` for a dense or unknown layer", ("layers",), _field_cases(),
    receptive_field, kind="int",
    mistakes=(
        Mistake("no_error_dense", "no error for a dense layer: a dense unit is connected to "
                "every value before it and sees the whole input, so raise ValueError naming "
                "`layers`", test=lambda c, o: c.raises and c.tag == "dense"
                and o.status == "returned"),
        Mistake("no_error_unknown_kind", "no error for a layer whose first item is not 'conv' "
                "or 'pool': raise ValueError naming `layers` instead of skipping it",
                test=lambda c, o: c.raises and c.tag == "unknown" and o.status == "returned"),
        Mistake("kernels_added", "you added the kernel sizes: each layer widens the view by "
                "k - 1 units of the layer below, and after a stride those units are j pixels "
                "apart, so r grows by (k - 1) * j, not by k", test=_returned_field(added=True)),
        Mistake("strides_ignored", "the strides are ignored: after a layer with stride s, "
                "neighbouring units are s times further apart in the input, so the next "
                "layer adds (k - 1) * j with j the product of the strides before it",
                test=_returned_field(strides=False)),
        Mistake("own_stride_too_early", "a layer's own stride is used for its own kernel: "
                "first r += (k - 1) * j with the jump of the layers before, then j *= s",
                test=_returned_field(early=True), yields_to="padding_counted"),
        Mistake("padding_counted", "the padding is counted: zeros around the map do not let a "
                "unit see more of the image, so leave P out of r",
                test=_returned_field(padding=True)),
        Mistake("jump_added", "the strides are added: the jumps multiply (two stride-2 layers "
                "put neighbouring units 4 pixels apart, not 3), so do j *= s",
                test=_returned_field(jump_added=True)),
    ),
)

EXERCISES = (COUNT_PARAMS, RECEPTIVE_FIELD)
