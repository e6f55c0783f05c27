"""Chapter 07, training: ``conv_backward(dout, cache) -> (dx, dw, db)`` on a batch and
``sgd_step(params, grads, lr)``.

The cache is ``(x, w, b, stride, padding)``, what the package's ``conv_forward`` returns
beside its output; the grader builds it for each case. ``sgd_step`` works in place, so it has
its own judge (:func:`judge_sgd_step`) instead of a comparison of returned values.
"""

from __future__ import annotations

import numpy as np

from minicnn.grade._codec import decode
from minicnn.grade.chapters.ch02_convolution import conv2d, pads_channel_axis
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, Verdict, seeded, with_traits

MODULE = "ex07_training"


# ---------------------------------------------------------------------------- reference
def conv_backward(dout: np.ndarray, cache: tuple, *, step: int | None = None,
                  crop: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of a batched convolution; ``step`` and ``crop=False`` reproduce mistakes.

    dout (N, H', W', F); cache (x, w, b, stride, padding) with x (N, H, W, C),
    w (F, kh, kw, C), b (F,).
    """
    x, w, _, stride, padding = cache
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    d = np.asarray(dout, dtype=np.float64)
    p = padding
    step = stride if step is None else step
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    _, kh, kw, _ = w.shape
    for n in range(d.shape[0]):
        for i in range(d.shape[1]):
            for j in range(d.shape[2]):
                rows = slice(i * step, i * step + kh)
                cols = slice(j * step, j * step + kw)
                g = d[n, i, j]
                dw += g[:, None, None, None] * xp[n, rows, cols][None]
                dxp[n, rows, cols, :] += np.tensordot(g, w, axes=(0, 0))
    db = d.sum(axis=(0, 1, 2))
    if not crop:
        return dxp, dw, db
    return dxp[:, p:p + x.shape[1], p:p + x.shape[2], :], dw, db


def sgd_step(params: list, grads: list, lr: float) -> list:
    """The arrays ``params`` should hold after one step (new arrays; the judge compares)."""
    return [np.asarray(p, dtype=np.float64) - lr * g for p, g in zip(params, grads, strict=True)]


# ---------------------------------------------------------------------------- 7.1
def _backward_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(12)
    specs = (("2 images of 4x5x2, 3 filters of 3x3x2", 2, (4, 5, 2), (3, 3, 3, 2), 1, 0),
             ("2 images of 7x9x2, 2 filters of 3x3x2, stride=2, padding=1", 2, (7, 9, 2),
              (2, 3, 3, 2), 2, 1),
             ("3 images of 4x5x1, 2 filters of 2x3x1, padding=1", 3, (4, 5, 1),
              (2, 2, 3, 1), 1, 1),
             ("2 images of 5x5x3, 1 filter of 3x3x3, stride=2", 2, (5, 5, 3), (1, 3, 3, 3),
              2, 0))
    cases = []
    for label, n, xs, ws, stride, padding in specs:
        x, w, b = r.normal(size=(n, *xs)), r.normal(size=ws), r.normal(size=ws[0])
        dout = r.normal(size=(n, *conv2d(x[0], w, stride, padding).shape))
        cases.append(Case(f"a batch of {label}, cache = (x, w, b, {stride}, {padding})",
                          (dout, (x, w, b, stride, padding))))
    return with_traits(cases + _wide_backward(), _backward_traits)


def _wide_backward() -> list[Case]:
    """Seeded batches: N = 1 to 3, non-square kernels, strides up to 3 with padding,
    integer images, a larger batch."""
    r = seeded(f"{MODULE}.conv_backward")
    cases = []
    settings = [(3, 3, 3, 1), (2, 3, 1, 0), (1, 1, 2, 0), (3, 2, 2, 2), (2, 2, 3, 0),
                (3, 1, 1, 1), (3, 3, 2, 0), (2, 2, 1, 2)]
    for k, (kh, kw, stride, padding) in enumerate(settings):
        n, c, f = int(r.integers(1, 4)), int(r.integers(1, 4)), int(r.integers(1, 4))
        if k % 3 == 0:
            n = 1
        h = _side(r, kh, stride, padding)
        wd = _side(r, kw, stride, padding)
        x = r.normal(size=(n, h, wd, c))
        if k % 3 == 1:
            x = r.integers(-5, 6, x.shape)
        cases.append(_backward_case(r, x, r.normal(size=(f, kh, kw, c)), stride, padding))
    cases.append(_backward_case(r, r.normal(size=(4, 12, 12, 3)), r.normal(size=(4, 3, 3, 3)),
                                1, 1))
    return cases


def _side(r: np.random.Generator, k: int, stride: int, padding: int) -> int:
    out = int(r.integers(1, 5))
    while (out - 1) * stride + k - 2 * padding < 1:
        out += 1
    return (out - 1) * stride + k - 2 * padding


def _backward_case(r, x, w, stride: int, padding: int) -> Case:
    b = r.normal(size=w.shape[0])
    dout = np.round(r.normal(size=(x.shape[0], *conv2d(x[0], w, stride, padding).shape)), 3)
    n, h, wd, c = x.shape
    kind = "" if x.dtype == np.float64 else f" ({x.dtype})"
    label = (f"a batch of {n} image{'s' if n > 1 else ''} of {h}x{wd}x{c}{kind}, "
             f"{w.shape[0]} filter{'s' if w.shape[0] > 1 else ''} of "
             f"{w.shape[1]}x{w.shape[2]}x{c}, cache = (x, w, b, {stride}, {padding})")
    return Case(label, (dout, (x, w, b, stride, padding)))


def _backward_traits(case: Case) -> list[str]:
    x, w, _, stride, padding = case.args[1]
    traits = []
    if x.shape[0] == 1:
        traits.append("a batch of one image (N = 1)")
    if x.dtype.kind in "iu":
        traits.append(f"an integer ({x.dtype}) x")
    if w.shape[1] != w.shape[2]:
        traits.append("a non-square kernel")
    if stride == 3 and padding:
        traits.append("a stride of 3 together with padding")
    if padding == 0:
        traits.append("padding=0")
    if x.size >= 1000:
        traits.append(f"a large batch ({x.size} values)")
    return traits


def _crop_at_zero(case: Case, out: Outcome) -> bool:
    v = out.value
    return (_stride_padding(case)[1] == 0 and isinstance(v, tuple | list) and len(v) == 3
            and isinstance(v[0], np.ndarray) and v[0].ndim == 4 and v[0].size == 0)


def _truncated_dx(case: Case):
    x = case.args[1][0]
    if x.dtype.kind not in "iu":
        return None
    dx, dw, db = conv_backward(*case.args)
    return None if np.array_equal(np.trunc(dx), dx) else (np.trunc(dx), dw, db)


def _stride_padding(case: Case) -> tuple[int, int]:
    return case.args[1][3], case.args[1][4]


def _backward_variant(**options):
    def output(case: Case):
        stride, padding = _stride_padding(case)
        if options.get("crop") is False and padding == 0:
            return None
        if options.get("step") == 1 and stride == 1:
            return None
        return conv_backward(*case.args, **options)
    return output


def _flipped_backward(case: Case):
    dout, (x, w, b, stride, padding) = case.args
    dx, dw, db = conv_backward(dout, (x, w[:, ::-1, ::-1, :], b, stride, padding))
    return dx, dw[:, ::-1, ::-1, :], db


def _db_per_sample(case: Case):
    dx, dw, _ = conv_backward(*case.args)
    return dx, dw, case.args[0].sum(axis=(1, 2))


def _dx_not_rotated(case: Case):
    dout, (x, w, b, stride, padding) = case.args
    dx = conv_backward(dout, (x, w[:, ::-1, ::-1, :], b, stride, padding))[0]
    return (dx, *conv_backward(*case.args)[1:])


def _dw_swapped(case: Case):
    dx, dw, db = conv_backward(*case.args)
    return None if dw.shape[1:3] == (1, 1) else (dx, dw[:, ::-1, ::-1, :], db)


def _db_per_position(case: Case):
    dx, dw, _ = conv_backward(*case.args)
    return dx, dw, case.args[0].sum(axis=0)


def _dw_last_sample(case: Case):
    dout, (x, w, b, stride, padding) = case.args
    dx, _, db = conv_backward(*case.args)
    return dx, conv_backward(dout[-1:], (x[-1:], w, b, stride, padding))[1], db


CONV_BACKWARD = Exercise(
    "7.1", MODULE, "conv_backward", 3.0,
    "unpack x, w, b, stride, padding = cache; for every image and output position, add "
    "dout * window to dw and dout * filter to the (padded) dx; crop the padding off; "
    "db sums dout over N, H' and W'", ("dout", "cache"), _backward_cases(), conv_backward,
    kind="tuple", parts=("dx", "dw", "db"), part_credit=(0.4, 0.4, 0.2),
    numpy_convolution_banned=True, separate_parts=True,
    mistakes=(
        Mistake("crop_slice_at_zero", "with padding=0 your dx is empty: dx_padded[:, p:-p, "
                "p:-p] is an empty slice when p is 0 (-0 is 0); crop with "
                "dx_padded[:, p:p + H, p:p + W, :]", test=_crop_at_zero, parts=("dx",)),
        Mistake("integer_gradient", "dx has lost its fractions: it was made with "
                "np.zeros_like(x) (or padded from it) on an integer x; make it a float "
                "array, np.zeros(x_padded.shape)", output=_truncated_dx, parts=("dx",)),
        Mistake("padding_channels", "the padding was added to the channel axis too: pad "
                "only height and width, np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))",
                test=lambda c, o: pads_channel_axis(c.args[1][0], o)),
        Mistake("not_cropped", "dx still has the padding: crop it off, "
                "dx_padded[:, p:p + H, p:p + W, :]", output=_backward_variant(crop=False),
                parts=("dx",)),
        Mistake("ignored_stride", "the windows move by one pixel: output position (i, j) "
                "read the window at row i * stride, column j * stride (in the picture of "
                "dx as a full convolution: spread dout out with stride - 1 zeros between "
                "its values first)", output=_backward_variant(step=1), parts=("dx", "dw")),
        Mistake("flipped_kernel", "these are the gradients of a true convolution (flipped "
                "kernel); the forward pass is cross-correlation", output=_flipped_backward),
        Mistake("kernel_not_rotated", "dx is what the filter gives unrotated: dx is the "
                "full convolution of dout with the filter rotated by 180 degrees, "
                "w[f, ::-1, ::-1, :] (in the loop form: each dout[n, i, j, f] adds "
                "dout * w[f] to its window of dx, the filter as it is)",
                output=_dx_not_rotated, parts=("dx",)),
        Mistake("dw_swapped", "dw is the right gradient rotated by 180 degrees: x and dout "
                "swapped roles; slide dout over x, dw[f, a, b, :] = sum over n, i, j of "
                "dout[n, i, j, f] * x_padded[n, i * stride + a, j * stride + b, :]",
                output=_dw_swapped, parts=("dw",)),
        Mistake("swapped_order", "return (dx, dw, db) in that order",
                output=lambda c: (lambda dx, dw, db: (dw, dx, db))(*conv_backward(*c.args))),
        Mistake("db_per_sample", "db has one row per image: the bias is shared by the whole "
                "batch, so sum dout over the batch too, db = dout.sum(axis=(0, 1, 2))",
                output=_db_per_sample, parts=("db",)),
        Mistake("db_per_position", "db has one value per output position: the bias b[f] is "
                "added at every position, so sum dout over H' and W' too, "
                "db = dout.sum(axis=(0, 1, 2))", output=_db_per_position, parts=("db",)),
        Mistake("dw_averaged", "dw is divided by N: the loss's gradient already carries the "
                "1 / N (dout comes from a mean), so dw is the plain sum over the batch, like db",
                output=lambda c: None if c.args[1][0].shape[0] == 1 else (
                    lambda dx, dw, db: (dx, dw / c.args[1][0].shape[0], db))(
                    *conv_backward(*c.args)), parts=("dw",)),
        Mistake("dw_last_sample", "dw holds only the last image's gradient: the filters are "
                "shared by the whole batch, so add up the contributions of all N images "
                "(create dw once, before the loop over the batch)", output=_dw_last_sample,
                parts=("dw",)),
    ),
)


# ---------------------------------------------------------------------------- 7.2
def _sgd_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(13)
    shapes = (((2, 3, 3, 1), (2,)), ((4, 3), (3,), (3, 2)), ((5,),), ((30, 40), (40,)),
              ((1, 1), (2, 2, 2), (3,), (1,)))
    cases = []
    for shapes_, lr in zip(shapes, (0.1, 0.5, 1.0, 0.01, 0.3), strict=True):
        params = [r.normal(size=s) for s in shapes_]
        grads = [r.normal(size=s) for s in shapes_]
        names = ", ".join(str(s) for s in shapes_)
        cases.append(Case(f"params of shapes {names}, lr={lr}", (params, grads, lr)))
    return tuple(cases)


def _all_close(got: list, want: list) -> bool:
    return all(isinstance(g, np.ndarray) and g.shape == np.shape(w)
               and np.allclose(g, w, rtol=1e-6, atol=1e-9) for g, w in zip(got, want,
                                                                           strict=True))


SGD_MISTAKES = (
    Mistake("changed_grads", "your sgd_step changed the gradients: only params change"),
    Mistake("rebinds_name", "the arrays in params are unchanged. `p = p - lr * g` only makes "
            "the name p point to a new array; update the array itself: p -= lr * g (or "
            "p[...] = ...)"),
    Mistake("replaced_entries", "you replaced the entries of the list params "
            "(params[i] = ...): the layers still hold the old arrays, which did not change; "
            "update each array in place with -="),
    Mistake("gradient_ascent", "the parameters moved along the gradient: subtract lr * grad"),
    Mistake("ignored_learning_rate", "the learning rate is missing: subtract lr * grad, not "
            "grad"),
    Mistake("only_first", "only the first array changed: update every array in the list "
            "(is there a return inside your loop?)"),
)


def _named(key: str) -> Verdict:
    mistake = next(m for m in SGD_MISTAKES if m.key == key)
    prefix = "" if key == "changed_grads" else "likely mistake: "
    return Verdict(False, prefix + mistake.message, key)


def judge_sgd_step(ex: Exercise, case: Case, out: Outcome) -> Verdict:
    """sgd_step returns nothing: judge what it did to the arrays in ``params``."""
    params, grads, lr = case.args
    if out.status == "raised":
        return Verdict(False, f"raised {out.error_text}")
    if "1" in out.changed:
        return _named("changed_grads")
    entry = out.changed.get("0")
    if entry is None:
        return _named("rebinds_name")
    if any(entry.get("replaced", [])) or entry.get("length") != len(params):
        return _named("replaced_entries")
    after = [p if v is None else decode(v) for p, v in zip(params, entry["originals"],
                                                            strict=True)]
    right = ex.expected(case)
    if _all_close(after, right):
        return Verdict(True)
    candidates = (("gradient_ascent", [p + lr * g for p, g in zip(params, grads, strict=True)]),
                  ("ignored_learning_rate", [p - g for p, g in zip(params, grads, strict=True)]),
                  ("only_first", [right[0], *params[1:]]))
    for key, wrong in candidates:
        if _all_close(after, wrong):
            return _named(key)
    return Verdict(False, "the updated parameters have wrong values: expected "
                   "param - lr * grad")


SGD_STEP = Exercise(
    "7.2", MODULE, "sgd_step", 1.0, "update every array in place: `param -= lr * grad`",
    ("params", "grads", "lr"), _sgd_cases(), sgd_step, mistakes=SGD_MISTAKES,
    judge=judge_sgd_step,
)

EXERCISES = (CONV_BACKWARD, SGD_STEP)
