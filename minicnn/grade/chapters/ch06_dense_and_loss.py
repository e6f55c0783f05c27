"""Chapter 06, the fully-connected layer and the loss: ``dense_forward(x, w, b) -> (out,
cache)``, ``softmax``, ``cross_entropy`` and ``softmax_cross_entropy_grad``; and
``dense_backward(dout, cache) -> (dx, dw, db)``, the cache being what ``dense_forward``
returns."""

from __future__ import annotations

import numpy as np

from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, seeded, with_traits

MODULE = "ex06_dense_and_loss"


# ---------------------------------------------------------------------------- reference
def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """x (N, D) @ w (D, M) + b (M,), and the cache (x, w, b)."""
    return np.asarray(x, dtype=np.float64) @ w + b, (x, w, b)


def softmax(logits: np.ndarray, axis: int | None = -1) -> np.ndarray:
    """Stable softmax along ``axis`` (None: over the whole array); a 1-D row is one row."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def naive_softmax(logits: np.ndarray, shift=None) -> np.ndarray:
    """exp(z - shift) / sum, without the per-row maximum: overflows for large logits (in
    float32 from about 88, as a learner's code on float32 logits does)."""
    z = np.asarray(logits)
    z = z if z.dtype.kind == "f" else z.astype(np.float64)
    if shift is not None:
        z = z - shift
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """-mean log p[n, label_n]."""
    p = np.asarray(probs, dtype=np.float64)
    return float(-np.mean(np.log(p[np.arange(p.shape[0]), labels])))


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def softmax_cross_entropy_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(softmax(logits) - one_hot(labels)) / N."""
    z = np.asarray(logits, dtype=np.float64)
    return (softmax(z) - one_hot(labels, z.shape[1])) / z.shape[0]


# ---------------------------------------------------------------------------- 6.1
def _dense_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(8)
    cases = [Case(f"x {n, d}, w {d, m}, b ({m},)",
                  (r.normal(size=(n, d)), r.normal(size=(d, m)), r.normal(size=m)))
             for n, d, m in ((4, 5, 3), (1, 3, 2), (3, 3, 3))]
    r = seeded(f"{MODULE}.dense_forward")
    for k in range(12):
        n, d, m = (int(v) for v in r.integers(1, 7, 3))
        if k % 4 == 0:
            m = n  # as many outputs as rows: a bias added per row shows
        x = r.normal(size=(n, d))
        if k % 3 == 1:
            x = r.integers(-5, 6, (n, d))
        elif k % 3 == 2:
            x = x.astype(np.float32)
        kind = "" if x.dtype == np.float64 else f" ({x.dtype})"
        cases.append(Case(f"x {n, d}{kind}, w {d, m}, b ({m},)",
                          (x, r.normal(size=(d, m)), r.normal(size=m)),
                          rtol=1e-5 if x.dtype == np.float32 else None, atol=1e-6
                          if x.dtype == np.float32 else None))
    cases.append(Case("a large x (60, 30), w (30, 10), b (10,)",
                      (r.normal(size=(60, 30)), r.normal(size=(30, 10)), r.normal(size=10))))
    cases.append(Case("a 1-D x of shape (5,), one sample without the batch axis, w (5, 3), "
                      "b (3,) (should raise ValueError)",
                      (r.normal(size=5), r.normal(size=(5, 3)), r.normal(size=3)),
                      raises=True, tag="one_row", names="x"))
    return with_traits(cases, _dense_traits)


def _x_traits(x: np.ndarray) -> list[str]:
    """What an input x has that may matter to a dense layer: its dtype, its size."""
    traits = []
    if x.dtype.kind in "iu":
        traits.append(f"an integer ({x.dtype}) x")
    if x.dtype == np.float32:
        traits.append("a float32 x")
    if x.size >= 1000:
        traits.append(f"a large x ({x.size} values)")
    return traits


def _dense_traits(case: Case) -> list[str]:
    x, w, _ = case.args
    if x.ndim == 1:
        return ["a 1-D x (one sample without the batch axis)"]
    traits = []
    if x.shape[0] == 1:
        traits.append("a single row (N = 1)")
    if x.shape[0] == w.shape[1]:
        traits.append("as many rows as outputs (N == M)")
    return traits + _x_traits(x)


def _cache_reordered(case: Case, out: Outcome) -> bool:
    v = out.value
    if not (isinstance(v, tuple | list) and len(v) == 2 and isinstance(v[1], tuple | list)
            and len(v[1]) == 3):
        return False
    want = [np.asarray(a, dtype=float) for a in case.args]
    got = v[1]
    def same(a, b):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.allclose(a, b)
    in_order = all(same(a, b) for a, b in zip(want, got, strict=True))
    return not in_order and all(any(same(a, b) for b in got) for a in want)


ONE_ROW = ("a 1-D {name} (one row without the batch axis) must raise ValueError naming "
           "`{name}`, as the docstring says; without a check it gives {returns}. Test "
           "{name}.ndim and say: pass {name}[None, :] for one row, a batch {shape} of one")


def _on_one_row(case: Case, out: Outcome) -> bool:
    """Any wrong answer on the case of a 1-D row where a batch is expected."""
    return case.tag == "one_row"


def _with_cache(out):
    """A mistake's (out, cache): the out it gives, the cache (x, w, b) as it should be."""
    return lambda c: None if (o := out(c)) is None else (o, tuple(c.args))


def _only_out(case: Case, out: Outcome) -> bool:
    v = out.value
    return isinstance(v, np.ndarray) and v.shape == (case.args[0].shape[0],
                                                     case.args[1].shape[1]) and np.allclose(
        v, dense_forward(*case.args)[0])


DENSE = Exercise(
    "6.1", MODULE, "dense_forward", 1.0,
    "return (x @ w + b, (x, w, b))", ("x", "w", "b"), _dense_cases(), dense_forward,
    kind="tuple", parts=("out", "cache"),
    mistakes=(
        Mistake("cache_order", "the cache holds x, w and b in another order: the backward "
                "pass unpacks x, w, b = cache, so return (out, (x, w, b))",
                test=_cache_reordered),
        Mistake("bias_per_row", "the bias was added per row (b[:, None] or a column "
                "vector): b has one entry per output column, so add it along the last axis, "
                "x @ w + b", output=_with_cache(lambda c: c.args[0] @ c.args[1]
                                                 + c.args[2][:, None]
                                                 if c.args[0].shape[0] == c.args[1].shape[1]
                                                 else None)),
        Mistake("no_cache", "you returned only out: return the pair (out, cache) with "
                "cache = (x, w, b), which the backward pass needs", test=_only_out),
        Mistake("missing_bias", "the bias is missing: add it to every row, x @ w + b",
                output=_with_cache(lambda c: c.args[0] @ c.args[1])),
        Mistake("weights_transposed", "you used the weights transposed: w is (D, M), "
                "so x @ w is already (N, M)",
                output=_with_cache(lambda c: c.args[0] @ c.args[1].T + c.args[2]
                                   if c.args[1].shape[0] == c.args[1].shape[1] else None)),
        Mistake("activation_applied", "you applied ReLU: dense_forward is only the weighted "
                "sum plus bias; the activation is a separate layer",
                output=_with_cache(lambda c: np.maximum(dense_forward(*c.args)[0], 0))),
        Mistake("bias_subtracted", "the bias is subtracted: add it",
                output=_with_cache(lambda c: c.args[0] @ c.args[1] - c.args[2])),
        Mistake("one_row_not_refused", ONE_ROW.format(name="x", shape="(N, D)",
                                                      returns="(M,) instead of (N, M)"),
                test=_on_one_row),
    ),
)


# ---------------------------------------------------------------------------- 6.2 - 6.4
def _softmax_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(9)
    return (Case("logits of shape (3, 4)", (r.normal(size=(3, 4)),)),
            Case("logits in the thousands, shape (2, 5)",
                 (np.array([[1000.0, 1001, 1002, 999, 998], [-1000, -1001, -999, -1002, -1000.5]]),
                  ), tag="large"),
            Case("logits of shape (3, 3)", (r.normal(size=(3, 3)) * 2,)),
            Case("two rows on very different scales, shape (2, 3)",
                 (np.array([[1000.0, 1001, 1002], [1, 2, 3]]),), tag="large"),
            *_wide_logits(f"{MODULE}.softmax"),
            Case("one row of scores as a 1-D vector, shape (5,)",
                 (np.array([2.0, -1.0, 0.5, 3.0, 0.0]),), tag="one_row"))


SCALES = (0.1, 1.0, 5.0, 40.0, 1500.0, 1.0, 3000.0)


def _wide_logits(key: str, labels: bool = False) -> list[Case]:
    """Seeded logits: N = 1 to 6 rows, K = 2 to 9 classes, spreads from 0.1 to thousands,
    integer and float32 logits, tied rows, a large batch; labels that miss the last class."""
    r = seeded(key)
    cases = []
    for k in range(14):
        n, classes = int(r.integers(1, 7)), int(r.integers(2, 10))
        if k % 5 == 0:
            n = 1
        z = r.normal(size=(n, classes)) * SCALES[k % len(SCALES)]
        if k % 6 == 2:
            z = np.round(z).astype(np.int64)
        elif k % 6 == 3:
            z[0] = z[0, 0]  # a row of ties
        elif k % 6 == 4:
            z = z.astype(np.float32)
        cases.append(_logit_case(z, r, labels))
    cases.append(_logit_case(r.normal(size=(200, 10)) * 3, r, labels))
    return cases


def _logit_case(z: np.ndarray, r: np.random.Generator, labels: bool) -> Case:
    n, classes = z.shape
    kind = "" if z.dtype == np.float64 else f" {z.dtype}"
    spread = float(np.ptp(z, axis=1).max()) if z.size else 0.0
    label = f"{kind.strip() + ' ' if kind else ''}logits of shape {z.shape}"
    if spread > 100:
        label += f" spread over {spread:.0f}"
    tol = {"rtol": 1e-5, "atol": 1e-7} if z.dtype == np.float32 else {}
    tag = "large" if np.abs(z).max() > 700 or spread > 700 else ""
    if not labels:
        return Case(label, (z,), tag=tag, **tol)
    y = r.integers(0, max(classes - 1, 1), size=n)  # the last class mostly absent
    return Case(label + f" and labels of shape ({n},)", (z, y), tag=tag, **tol)


def logit_traits(case: Case) -> list[str]:
    z = np.asarray(case.args[0])
    if z.ndim == 1:
        return ["one row as a 1-D vector (K,), not a batch (N, K)"]
    traits = []
    if z.shape[0] == 1:
        traits.append("a single row (N = 1)")
    spread = np.ptp(z, axis=1).max()
    if spread > 700:
        traits.append("logits that differ by more than 700 within a row")
    if np.abs(z).max() > 700:
        traits.append("logits above 700 in size (exp overflows)")
    if len(case.args) > 1 and np.max(case.args[1]) < z.shape[1] - 1:
        traits.append("labels in which the last class does not appear")
    if z.dtype.kind in "iu":
        traits.append(f"integer ({z.dtype}) logits")
    if z.dtype == np.float32:
        traits.append("float32 logits")
    if np.any(np.ptp(z, axis=1) == 0):
        traits.append("a row of equal logits")
    if z.size >= 1000:
        traits.append(f"a large batch ({z.shape[0]} rows)")
    return traits


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _if_differs(wrong, right):
    with np.errstate(invalid="ignore"):
        return None if np.allclose(wrong, right, equal_nan=True) else wrong


def _broadcast_error(case: Case, out: Outcome) -> bool:
    return out.status == "raised" and "broadcast" in out.error.get("message", "")


def _overflowed(case: Case, out: Outcome) -> bool:
    v = out.value
    return (case.tag == "large" and isinstance(v, np.ndarray) and v.dtype.kind == "f"
            and not np.all(np.isfinite(v)))


SOFTMAX = Exercise(
    "6.2", MODULE, "softmax", 1.0,
    "subtract each row's maximum, exponentiate, divide by the row sums",
    ("logits",), with_traits(_softmax_cases(), logit_traits), softmax,
    mistakes=(
        Mistake("shifted_by_min", "you subtracted each row's minimum: exp then overflows "
                "when a row's logits differ by more than about 700; subtract the maximum "
                "(every exponent is then at most 0)",
                output=lambda c: _if_differs(naive_softmax(
                    c.args[0], shift=np.min(c.args[0], axis=1, keepdims=True)),
                    softmax(c.args[0]))),
        Mistake("global_max", "you subtracted the maximum of the whole array: rows on "
                "different scales then underflow to 0/0; subtract each row's own maximum "
                "(axis=1, keepdims=True)",
                output=lambda c: naive_softmax(c.args[0], shift=c.args[0].max())),
        Mistake("overflow", "softmax overflows for large logits (exp(1000) is inf, giving "
                "nan): subtract each row's maximum first, which does not change the result",
                output=lambda c: naive_softmax(c.args[0]) if c.tag == "large" else None,
                test=_overflowed),
        Mistake("wrong_axis", "your probabilities sum to 1 down each column: softmax works "
                "on each row (axis=1)", output=lambda c: softmax(c.args[0], axis=0)),
        Mistake("whole_array", "you normalised over the whole array: each row (one sample) "
                "must sum to 1, so sum with axis=1, keepdims=True",
                output=lambda c: softmax(c.args[0], axis=None)),
        Mistake("no_keepdims", "a row statistic was broadcast along the wrong axis: use "
                "keepdims=True so that (N, 1) lines up with (N, K)", test=_broadcast_error,
                output=lambda c: naive_softmax(c.args[0], c.args[0].max(axis=1)[None, :])
                if c.args[0].shape[0] == c.args[0].shape[1] else None),
        Mistake("log_softmax", "you returned log-probabilities: return the probabilities",
                output=lambda c: _log(softmax(c.args[0]))),
        Mistake("one_row_fails", "your softmax does not handle one row given as a 1-D "
                "vector of K scores: it should give K probabilities, shape (K,); take the "
                "maximum and the sum along the last axis (axis=-1, keepdims=True), which is "
                "each row of a batch and the only row of a 1-D vector", test=_on_one_row),
    ),
)


def _probs_cases() -> tuple[Case, ...]:
    r = np.random.default_rng(10)
    cases = [Case(f"probs of shape {n, k} and labels of shape ({n},)",
                  (softmax(r.normal(size=(n, k))), r.integers(0, k, size=n)))
             for n, k in ((4, 3), (3, 3), (5, 4))]
    r = seeded(f"{MODULE}.cross_entropy")
    for k in range(12):
        n, classes = int(r.integers(1, 9)), int(r.integers(2, 10))
        if k % 4 == 0:
            n = 1
        probs = softmax(r.normal(size=(n, classes)) * (1.0, 4.0, 8.0)[k % 3])
        y = r.integers(0, classes - (k % 2), size=n)  # odd k: the last class never appears
        if k % 3 == 2:  # a picked probability far below 0.04
            y[0] = int(np.argmin(probs[0]))
        cases.append(Case(f"probs of shape {n, classes} (smallest picked probability "
                          f"{probs[np.arange(n), y].min():.2g}) and labels of shape ({n},)",
                          (probs, y)))
    cases.append(Case("a large batch: probs of shape (300, 10) and labels of shape (300,)",
                      (softmax(r.normal(size=(300, 10)) * 2), r.integers(0, 10, 300))))
    cases.append(Case("a 1-D probs of shape (4,), one row without the batch axis, and labels "
                      "[1] (should raise ValueError)", (softmax(r.normal(size=4)), np.array([1])),
                      raises=True, tag="one_row", names="probs"))
    return with_traits(cases, _probs_traits)


def _probs_traits(case: Case) -> list[str]:
    p, y = case.args
    if p.ndim == 1:
        return ["a 1-D probs (one row without the batch axis)"]
    traits = []
    if p.shape[0] == 1:
        traits.append("a single row (N = 1)")
    if np.max(y) < p.shape[1] - 1:
        traits.append("labels in which the last class does not appear")
    if _picked(case).min() < 0.01:
        traits.append("a picked probability below 0.01")
    if p.size >= 1000:
        traits.append(f"a large batch ({p.shape[0]} rows)")
    return traits


def _classes_from_labels(case: Case, out: Outcome) -> bool:
    """K taken from labels.max() + 1: too few columns when the last class is absent."""
    return (out.status == "raised" and "broadcast" in out.error.get("message", "")
            and int(np.max(case.args[1])) + 1 < np.shape(case.args[0])[1])


def _big_epsilon(case: Case, out: Outcome) -> bool:
    picked = _picked(case)
    right = cross_entropy(*case.args)
    candidates = []
    for eps in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        candidates += [float(-np.mean(np.log(picked + eps))),
                       float(-np.mean(np.log(np.clip(picked, eps, 1 - eps))))]
    candidates = [c for c in candidates if not np.isclose(c, right, rtol=1e-6)]
    return bool(candidates) and _any_close(out.value, candidates)


def _picked(c: Case) -> np.ndarray:
    p, y = c.args
    return p[np.arange(len(y)), y]


CROSS_ENTROPY = Exercise(
    "6.3", MODULE, "cross_entropy", 1.0,
    "return -mean(log(probs[n, labels[n]])) as a float", ("probs", "labels"),
    _probs_cases(), cross_entropy, kind="float",
    mistakes=(
        Mistake("classes_from_labels", "you counted the classes from the labels "
                "(labels.max() + 1): when the last class does not appear in a batch that "
                "is too few; take K from probs.shape[1]", test=_classes_from_labels,
                needs_a_pass=True),
        Mistake("epsilon_too_big", "you added (or clipped with) an epsilon large enough to "
                "change the loss of a small probability: -log(p + eps) is far from -log(p) "
                "when p is below about 100 * eps; leave it out (probs from softmax are "
                "positive) or make it tiny (1e-12)", test=_big_epsilon),
        Mistake("divided_by_k", "you divided the summed loss by K, the number of classes: "
                "the loss is the mean over the N samples, so divide by N = probs.shape[0]",
                output=lambda c: _if_float_differs(float(-np.sum(np.log(_picked(c)))
                                                         / c.args[0].shape[1]), c)),
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
                "probability (a positive number)", output=lambda c: -cross_entropy(*c.args)),
        Mistake("wrong_log", "use the natural logarithm np.log, not log10 or log2",
                test=lambda c, o: _any_close(o.value, [float(-np.mean(np.log10(_picked(c)))),
                                                       float(-np.mean(np.log2(_picked(c))))])),
        Mistake("all_classes", "you averaged -log p over every class; only each sample's "
                "correct class counts", output=lambda c: float(-np.mean(np.log(c.args[0])))),
        Mistake("softmax_again", "you applied softmax to probs: cross_entropy receives "
                "probabilities already (softmax's output), so take the log of probs itself",
                output=lambda c: cross_entropy(softmax(c.args[0]), c.args[1])),
        Mistake("per_sample", "you returned one loss per sample: return their mean, a "
                "single float", test=lambda c, o: isinstance(o.value, np.ndarray)
                and o.value.shape == _picked(c).shape
                and np.allclose(o.value, -np.log(_picked(c)))),
        Mistake("one_row_not_refused", ONE_ROW.format(name="probs", shape="(N, K)",
                                                      returns="a number or an IndexError"),
                test=_on_one_row),
    ),
)


def _if_float_differs(wrong: float, case: Case):
    return None if np.isclose(wrong, cross_entropy(*case.args), rtol=1e-6) else wrong


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
            Case("logits of shape (1, 5)", (r.normal(size=(1, 5)), np.array([4]))),
            *_wide_logits(f"{MODULE}.softmax_cross_entropy_grad", labels=True),
            Case("a 1-D logits of shape (4,), one row without the batch axis, and labels [2] "
                 "(should raise ValueError)", (r.normal(size=4), np.array([2])), raises=True,
                 tag="one_row", names="logits"))


def _grad_variant(scale_n: bool = True, sign: float = 1.0, subtract: bool = True,
                  by_k: bool = False):
    def output(case: Case):
        z, y = case.args
        n, k = z.shape
        g = sign * (softmax(z) - (one_hot(y, k) if subtract else 0.0))
        return g / (n if scale_n else 1) / (k if by_k else 1)
    return output


def _labels_block(case: Case):
    z, y = case.args
    g = softmax(z)
    g[:, y] -= 1.0
    return g / z.shape[0]


SOFTMAX_GRAD = Exercise(
    "6.4", MODULE, "softmax_cross_entropy_grad", 1.0,
    "return (softmax(logits) - one_hot(labels)) / N", ("logits", "labels"),
    with_traits(_grad_cases(), logit_traits), softmax_cross_entropy_grad,
    mistakes=(
        Mistake("classes_from_labels", "you counted the classes from the labels "
                "(labels.max() + 1): when the last class does not appear in a batch that "
                "is too few; take K from logits.shape[1]", test=_classes_from_labels,
                needs_a_pass=True),
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
        Mistake("one_row_not_refused", ONE_ROW.format(name="logits", shape="(N, K)",
                                                      returns="an array or an IndexError"),
                test=_on_one_row),
    ),
)


# ---------------------------------------------------------------------------- 6.5
def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of ``x @ w + b``: ``dout @ w.T``, ``x.T @ dout``, ``dout.sum(axis=0)``."""
    x, w, _ = cache
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(dout, dtype=np.float64)
    return d @ np.asarray(w, dtype=np.float64).T, x.T @ d, d.sum(axis=0)


def _dense_backward_cases() -> tuple[Case, ...]:
    # the notebook's example (section "The dense layer's backward pass"), worked by hand there
    x = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 1.0]])
    w = np.array([[1.0, -1.0], [0.0, 2.0], [-2.0, 1.0]])
    b = np.array([0.5, -0.5])
    dout = np.array([[1.0, -1.0], [2.0, 0.5]])
    cases = [Case("the notebook's example: dout (2, 2), cache = (x (2, 3), w (3, 2), b (2,))",
                  (dout, (x, w, b)))]
    r = np.random.default_rng(14)
    for n, d, m in ((4, 3, 3), (1, 5, 2), (3, 4, 3), (5, 2, 4)):
        cases.append(_dense_backward_case(r, r.normal(size=(n, d)), m))
    r = seeded(f"{MODULE}.dense_backward")
    for k in range(12):
        n, d, m = (int(v) for v in r.integers(1, 7, 3))
        if k % 4 == 0:
            m = d  # as many outputs as inputs: dout @ w has the right shape, wrongly
        if k % 5 == 1:
            n = 1
        x = r.normal(size=(n, d))
        if k % 3 == 1:
            x = r.integers(-5, 6, (n, d))
        elif k % 3 == 2:
            x = x.astype(np.float32)
        cases.append(_dense_backward_case(r, x, m))
    cases.append(_dense_backward_case(r, r.normal(size=(60, 30)), 10))
    return with_traits(cases, _dense_backward_traits)


def _dense_backward_case(r: np.random.Generator, x: np.ndarray, m: int) -> Case:
    n, d = x.shape
    w, b = r.normal(size=(d, m)), r.normal(size=m)
    dout = np.round(r.normal(size=(n, m)), 3)
    kind = "" if x.dtype == np.float64 else f" {x.dtype}"
    tol = {"rtol": 1e-5, "atol": 1e-6} if x.dtype == np.float32 else {}
    return Case(f"dout {n, m}, cache = (x {n, d}{kind}, w {d, m}, b ({m},))",
                (dout, (x, w, b)), **tol)


def _dense_backward_traits(case: Case) -> list[str]:
    dout, (x, w, _) = case.args
    traits = []
    if x.shape[0] == 1:
        traits.append("a single row (N = 1)")
    if w.shape[0] == w.shape[1]:
        traits.append("as many inputs as outputs (D == M)")
    return traits + _x_traits(x)


def _part(out: Outcome, i: int):
    v = out.value
    if isinstance(v, tuple | list) and len(v) == 3 and isinstance(v[i], np.ndarray):
        return np.asarray(v[i], dtype=np.float64)
    return None


def _part_is(case: Case, out: Outcome, i: int, wrong) -> bool:
    """Part ``i`` of the answer equals ``wrong`` (an array) and is not the right answer."""
    got, right = _part(out, i), dense_backward(*case.args)[i]
    if got is None or wrong is None:
        return False
    wrong = np.asarray(wrong, dtype=np.float64)
    return (got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-5, atol=1e-7)
            and not (got.shape == right.shape and np.allclose(got, right, rtol=1e-5,
                                                              atol=1e-7)))


def _dw_transposed(case: Case, out: Outcome) -> bool:
    return _part_is(case, out, 1, dense_backward(*case.args)[1].T)


def _dx_w_not_transposed(case: Case, out: Outcome) -> bool:
    dout, (_, w, _) = case.args
    return w.shape[0] == w.shape[1] and _part_is(case, out, 0, dout @ w)


def _db_not_summed(case: Case, out: Outcome) -> bool:
    dout = np.asarray(case.args[0], dtype=np.float64)
    return any(_part_is(case, out, 2, wrong) for wrong in (dout, dout[0], dout[-1]))


def _db_wrong_axis(case: Case, out: Outcome) -> bool:
    return _part_is(case, out, 2, np.asarray(case.args[0], dtype=np.float64).sum(axis=1))


def _divided_by_n_again(case: Case, out: Outcome) -> bool:
    """Some gradient is the right one divided by N, the others right or divided too."""
    n = case.args[0].shape[0]
    if n == 1:
        return False
    right = dense_backward(*case.args)
    divided = 0
    for i, want in enumerate(right):
        got = _part(out, i)
        if got is None or got.shape != want.shape:
            return False
        if _part_is(case, out, i, want / n):
            divided += 1
        elif not np.allclose(got, want, rtol=1e-5, atol=1e-7):
            return False
    return divided > 0


DENSE_BACKWARD = Exercise(
    "6.5", MODULE, "dense_backward", 2.0,
    "unpack x, w, b = cache; return (dout @ w.T, x.T @ dout, dout.sum(axis=0))",
    ("dout", "cache"), _dense_backward_cases(), dense_backward,
    kind="tuple", parts=("dx", "dw", "db"), part_credit=(0.4, 0.4, 0.2),
    mistakes=(
        Mistake("swapped_order", "return (dx, dw, db) in that order",
                output=lambda c: (lambda dx, dw, db: (dw, dx, db))(*dense_backward(*c.args))),
        Mistake("divided_by_n_again", "your gradients are divided by N: dout comes from the "
                "mean loss and already carries its 1 / N, so dividing again makes them N "
                "times too small; dw = x.T @ dout and db = dout.sum(axis=0), plain sums",
                test=_divided_by_n_again),
        Mistake("dw_transposed", "dw is transposed: dout.T @ x has shape (M, D); the weights "
                "w are (D, M), and so is their gradient, dw = x.T @ dout",
                test=_dw_transposed),
        Mistake("dx_w_not_transposed", "dx uses w as it is (dout @ w): each input d reached "
                "output m through w[d, m], so dx[n, d] = sum_m dout[n, m] * w[d, m], which "
                "is dout @ w.T", test=_dx_w_not_transposed),
        Mistake("db_not_summed", "db is not summed over the batch: every row of the batch "
                "used the same b, so b's gradient adds up the rows' gradients, "
                "db = dout.sum(axis=0), shape (M,)", test=_db_not_summed),
        Mistake("db_wrong_axis", "db is summed along the wrong axis: dout.sum(axis=1) adds "
                "the outputs of each row; b has one entry per output, so sum over the batch, "
                "dout.sum(axis=0)", test=_db_wrong_axis),
    ),
)


EXERCISES = (DENSE, SOFTMAX, CROSS_ENTROPY, SOFTMAX_GRAD, DENSE_BACKWARD)
