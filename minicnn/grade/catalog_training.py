"""Checks for chapters 06-07: dense layer, softmax, cross-entropy and the training steps."""

from __future__ import annotations

import numpy as np

from minicnn.grade import reference as ref
from minicnn.grade.catalog_images import _pads_channel_axis, _params
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome


# ---------------------------------------------------------------------------- 6.1 - 6.4
def _dense_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(8)
    return tuple(Case(f"x {n, d}, weights {d, m}, bias ({m},)",
                      (r.normal(size=(n, d)), r.normal(size=(d, m)), r.normal(size=m)))
                 for n, d, m in ((4, 5, 3), (1, 3, 2), (3, 3, 3)))


DENSE = Exercise(
    "6.1", "ex06_dense_and_loss", "dense_forward", 1.0,
    "return x @ weights + bias", ("x", "weights", "bias"), _dense_cases(), ref.dense_forward,
    mistakes=(
        Mistake("missing_bias", "the bias is missing: add it to every row, x @ weights + bias",
                output=lambda c: c.args[0] @ c.args[1]),
        Mistake("weights_transposed", "you used the weights transposed: weights is (D, M), "
                "so x @ weights is already (N, M)",
                output=lambda c: c.args[0] @ c.args[1].T + c.args[2]
                if c.args[1].shape[0] == c.args[1].shape[1] else None),
        Mistake("activation_applied", "you applied ReLU: dense_forward is only the weighted "
                "sum plus bias; the activation is a separate layer",
                output=lambda c: np.maximum(ref.dense_forward(*c.args), 0)),
        Mistake("bias_subtracted", "the bias is subtracted: add it",
                output=lambda c: c.args[0] @ c.args[1] - c.args[2]),
    ),
)


def _softmax_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(9)
    return (Case("logits of shape (3, 4)", (r.normal(size=(3, 4)),)),
            Case("logits in the thousands, shape (2, 5)",
                 (np.array([[1000.0, 1001, 1002, 999, 998], [-1000, -1001, -999, -1002, -1000.5]]),
                  ), tag="large"),
            Case("logits of shape (3, 3)", (r.normal(size=(3, 3)) * 2,)),
            Case("two rows on very different scales, shape (2, 3)",
                 (np.array([[1000.0, 1001, 1002], [1, 2, 3]]),), tag="large"))


def _broadcast_error(case: Case, out: Outcome) -> bool:
    return out.status == "raised" and "broadcast" in out.error.get("message", "")


def _overflowed(case: Case, out: Outcome) -> bool:
    v = out.value
    return (case.tag == "large" and isinstance(v, np.ndarray) and v.dtype.kind == "f"
            and not np.all(np.isfinite(v)))


SOFTMAX = Exercise(
    "6.2", "ex06_dense_and_loss", "softmax", 1.0,
    "subtract each row's maximum, exponentiate, divide by the row sums",
    ("logits",), _softmax_cases(), ref.softmax,
    mistakes=(
        Mistake("global_max", "you subtracted the maximum of the whole array: rows on "
                "different scales then underflow to 0/0; subtract each row's own maximum "
                "(axis=1, keepdims=True)",
                output=lambda c: ref.naive_softmax(c.args[0], shift=c.args[0].max())),
        Mistake("overflow", "softmax overflows for large logits (exp(1000) is inf, giving "
                "nan): subtract each row's maximum first, which does not change the result",
                output=lambda c: ref.naive_softmax(c.args[0]) if c.tag == "large" else None,
                test=_overflowed),
        Mistake("wrong_axis", "your probabilities sum to 1 down each column: softmax works "
                "on each row (axis=1)", output=lambda c: ref.softmax(c.args[0], axis=0)),
        Mistake("whole_array", "you normalised over the whole array: each row (one sample) "
                "must sum to 1, so sum with axis=1, keepdims=True",
                output=lambda c: ref.softmax(c.args[0], axis=None)),
        Mistake("no_keepdims", "a row statistic was broadcast along the wrong axis: use "
                "keepdims=True so that (N, 1) lines up with (N, K)", test=_broadcast_error,
                output=lambda c: ref.naive_softmax(c.args[0], c.args[0].max(axis=1)[None, :])
                if c.args[0].shape[0] == c.args[0].shape[1] else None),
        Mistake("log_softmax", "you returned log-probabilities: return the probabilities",
                output=lambda c: np.log(ref.softmax(c.args[0]))),
    ),
)


def _probs_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(10)
    return tuple(Case(f"probs of shape {n, k} and labels of shape ({n},)",
                      (ref.softmax(r.normal(size=(n, k))), r.integers(0, k, size=n)))
                 for n, k in ((4, 3), (3, 3), (5, 4)))


def _picked(c: Case) -> np.ndarray:
    p, y = c.args
    return p[np.arange(len(y)), y]


CROSS_ENTROPY = Exercise(
    "6.3", "ex06_dense_and_loss", "cross_entropy", 1.0,
    "return -mean(log(probs[n, labels[n]])) as a float", ("probs", "labels"),
    _probs_cases(), ref.cross_entropy, kind="float",
    mistakes=(
        Mistake("sum_not_mean", "you returned the sum over the samples: the loss is the "
                "mean (divide by N)", output=lambda c: float(-np.sum(np.log(_picked(c))))),
        Mistake("block_of_probs", "probs[:, labels] picks an N x N block (every sample's "
                "probability of every label): pick one per row with "
                "probs[np.arange(N), labels]",
                output=lambda c: float(-np.mean(np.log(c.args[0][:, c.args[1]])))),
        Mistake("labels_as_one_hot", "labels are class numbers (0 to K-1), not one-hot "
                "vectors: index with them instead of multiplying", test=_broadcast_error,
                output=lambda c: float(-np.sum(c.args[1][None, :] * np.log(c.args[0]))
                                       / len(c.args[1]))
                if c.args[0].shape[0] == c.args[0].shape[1] else None),
        Mistake("missing_minus", "the sign is missing: the loss is minus the mean log "
                "probability (a positive number)", output=lambda c: -ref.cross_entropy(*c.args)),
        Mistake("wrong_log", "use the natural logarithm np.log, not log10 or log2",
                test=lambda c, o: _any_close(o.value, [float(-np.mean(np.log10(_picked(c)))),
                                                       float(-np.mean(np.log2(_picked(c))))])),
        Mistake("all_classes", "you averaged -log p over every class; only each sample's "
                "correct class counts", output=lambda c: float(-np.mean(np.log(c.args[0])))),
        Mistake("per_sample", "you returned one loss per sample: return their mean, a "
                "single float", test=lambda c, o: isinstance(o.value, np.ndarray)
                and o.value.shape == _picked(c).shape
                and np.allclose(o.value, -np.log(_picked(c)))),
    ),
)


def _any_close(value, candidates) -> bool:
    try:
        return any(np.isclose(float(value), c, rtol=1e-6) for c in candidates)
    except (TypeError, ValueError):
        return False


def _grad_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(11)
    large = np.array([[1000.0, 1003, 998, 1001], [-2000, -2001, -1999, -2003]])
    return (Case("logits of shape (4, 3)", (r.normal(size=(4, 3)), np.array([0, 2, 1, 2]))),
            Case("logits in the thousands, shape (2, 4)", (large, np.array([1, 3])),
                 tag="large"),
            Case("logits of shape (3, 3)", (r.normal(size=(3, 3)), np.array([2, 2, 0]))),
            Case("logits of shape (1, 5)", (r.normal(size=(1, 5)), np.array([4]))))


def _grad_variant(scale_n: bool = True, sign: float = 1.0, subtract: bool = True,
                  by_k: bool = False):
    def output(case: Case):
        z, y = case.args
        n, k = z.shape
        g = sign * (ref.softmax(z) - (ref.one_hot(y, k) if subtract else 0.0))
        return g / (n if scale_n else 1) / (k if by_k else 1)
    return output


def _labels_block(case: Case):
    z, y = case.args
    g = ref.softmax(z)
    g[:, y] -= 1.0
    return g / z.shape[0]


SOFTMAX_GRAD = Exercise(
    "6.4", "ex06_dense_and_loss", "softmax_cross_entropy_grad", 1.0,
    "return (softmax(logits) - one_hot(labels)) / N", ("logits", "labels"), _grad_cases(),
    ref.softmax_cross_entropy_grad,
    mistakes=(
        Mistake("not_divided_by_n", "the gradient is not divided by N: the loss is a mean "
                "over the N samples, so its gradient is (softmax - one_hot) / N",
                output=_grad_variant(scale_n=False)),
        Mistake("sign_flipped", "the sign is flipped: it is softmax - one_hot, not "
                "one_hot - softmax", output=_grad_variant(sign=-1.0)),
        Mistake("missing_one_hot", "you forgot to subtract 1 at each sample's correct class",
                output=_grad_variant(subtract=False)),
        Mistake("divided_by_nk", "you divided by N * K: divide by N only",
                output=_grad_variant(by_k=True)),
        Mistake("labels_block", "grad[:, labels] -= 1 subtracts at every listed class in "
                "every row: use grad[np.arange(N), labels] -= 1", output=_labels_block),
        Mistake("overflow", "your softmax overflows for large logits (nan): subtract each "
                "row's maximum first", test=_overflowed),
    ),
)


# ---------------------------------------------------------------------------- 7.1, 7.2
def _backward_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(12)
    specs = (("a 4x5x2 image, 3 filters of 3x3x2", (4, 5, 2), (3, 3, 3, 2), {}),
             ("a 7x9x2 image, 2 filters of 3x3x2, stride=2, padding=1", (7, 9, 2),
              (2, 3, 3, 2), {"stride": 2, "padding": 1}),
             ("a 4x5x1 image, 2 filters of 2x3x1, padding=1", (4, 5, 1), (2, 2, 3, 1),
              {"padding": 1}),
             ("a 5x5x3 image, 1 filter of 3x3x3, stride=2", (5, 5, 3), (1, 3, 3, 3),
              {"stride": 2}))
    cases = []
    for label, xs, ws, kwargs in specs:
        x, w = r.normal(size=xs), r.normal(size=ws)
        dout = r.normal(size=ref.conv2d(x, w, **kwargs).shape)
        cases.append(Case(label, (dout, x, w), kwargs))
    return tuple(cases)


def _backward_variant(**options):
    def output(case: Case):
        stride, padding = _params(case)
        if options.get("crop") is False and padding == 0:
            return None
        if options.get("step") == 1 and stride == 1:
            return None
        return ref.conv2d_backward(*case.args, stride, padding, **options)
    return output


def _flipped_backward(case: Case):
    dout, x, w = case.args
    dx, dw = ref.conv2d_backward(dout, x, w[:, ::-1, ::-1, :], **case.kwargs)
    return dx, dw[:, ::-1, ::-1, :]


CONV2D_BACKWARD = Exercise(
    "7.1", "ex07_training", "conv2d_backward", 3.0,
    "for every output position, add dout * window to dfilters and dout * filter to the "
    "(padded) dimage; crop the padding off", ("dout", "image", "filters", "stride", "padding"),
    _backward_cases(), ref.conv2d_backward, kind="pair", numpy_convolution_banned=True,
    mistakes=(
        Mistake("padding_channels", "the padding was added to the channel axis too: pad "
                "only height and width", test=_pads_channel_axis),
        Mistake("not_cropped", "dimage still has the padding: crop it off, "
                "dpadded[p:p + H, p:p + W, :]", output=_backward_variant(crop=False)),
        Mistake("ignored_stride", "the windows move by one pixel: output position (i, j) "
                "read the window at row i * stride, column j * stride",
                output=_backward_variant(step=1)),
        Mistake("flipped_kernel", "these are the gradients of a true convolution (flipped "
                "kernel); the forward pass is cross-correlation", output=_flipped_backward),
        Mistake("swapped_order", "return (dimage, dfilters) in that order",
                output=lambda c: ref.conv2d_backward(*c.args, **c.kwargs)[::-1]),
    ),
)


def _sgd_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(13)
    shapes = (((2, 3, 3, 1), (2,)), ((4, 3), (3,), (3, 2)))
    cases = []
    for shapes_, lr in zip(shapes, (0.1, 0.5), strict=True):
        params = [r.normal(size=s) for s in shapes_]
        grads = [r.normal(size=s) for s in shapes_]
        names = ", ".join(str(s) for s in shapes_)
        cases.append(Case(f"params of shapes {names}, learning_rate={lr}",
                          (params, grads, lr)))
    return tuple(cases)


SGD_STEP = Exercise(
    "7.2", "ex07_training", "sgd_step", 1.0,
    "update every array in place: `param -= learning_rate * grad`",
    ("params", "grads", "learning_rate"), _sgd_cases(), ref.sgd_step, kind="inplace",
)

EXERCISES = (DENSE, SOFTMAX, CROSS_ENTROPY, SOFTMAX_GRAD, CONV2D_BACKWARD, SGD_STEP)
