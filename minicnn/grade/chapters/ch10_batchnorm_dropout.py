"""Chapter 10, batch normalisation and dropout: ``batchnorm_forward``, ``batchnorm_backward``
and ``dropout_forward``."""

from __future__ import annotations

import numpy as np

from minicnn.grade._codec import decode
from minicnn.grade.judge import _explain, clean
from minicnn.grade.spec import Case, Exercise, Mistake, Outcome, Verdict, seeded, with_traits

MODULE = "ex10_batchnorm_dropout"


# ---------------------------------------------------------------------------- reference
def _normalise(x, mean, var, eps):
    """(x_hat, inv_std) with one mean and variance per feature (last axis), as plain sums."""
    inv_std = 1.0 / np.sqrt(np.asarray(var, dtype=np.float64) + eps)
    return (x - mean) * inv_std, inv_std


def _batch_stats(x, ddof=0):
    flat = np.asarray(x, dtype=np.float64).reshape(-1, x.shape[-1])  # one row per value
    m = len(flat)
    mean = flat.sum(axis=0) / m
    return mean, ((flat - mean) ** 2).sum(axis=0) / (m - ddof)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True,
                      momentum=0.1, eps=1e-5):
    """The answer (out, cache); the running statistics are left alone (see
    :func:`running_after` for what they should become)."""
    mean, var = _batch_stats(x) if training else (running_mean, running_var)
    x_hat, inv_std = _normalise(x, mean, var, eps)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma, training)


def running_after(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and variance after the call in ``case``."""
    x, _, _, mean, var, training, momentum, _ = _bn_args(case)
    if not training:
        return mean, var
    batch_mean, batch_var = _batch_stats(x)
    return (1 - momentum) * mean + momentum * batch_mean, (1 - momentum) * var + \
        momentum * batch_var


def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma, training = cache
    flat_dout = dout.reshape(-1, dout.shape[-1])
    flat_hat = x_hat.reshape(-1, dout.shape[-1])
    dgamma = (flat_dout * flat_hat).sum(axis=0)
    dbeta = flat_dout.sum(axis=0)
    dx_hat = flat_dout * gamma
    if training:
        m = len(flat_dout)
        dx_hat = dx_hat - dx_hat.sum(axis=0) / m - flat_hat * (dx_hat * flat_hat).sum(axis=0) / m
    return (dx_hat * inv_std).reshape(dout.shape), dgamma, dbeta


def dropout_forward(x, p, rng, training=True):
    if not training:
        return x, (None,)
    keep = np.random.default_rng(rng).random(np.shape(x)) >= p
    mask = np.where(keep, 1.0 / (1 - p), 0.0)
    return x * mask, (mask,)


# ---------------------------------------------------------------------------- cases
def _bn_args(case: Case) -> tuple:
    """(x, gamma, beta, running_mean, running_var, training, momentum, eps)."""
    return case.args


def _bn_case(label, x, gamma, beta, mean, var, training, momentum=0.1, eps=1e-5, **kw):
    return Case(label, (x, gamma, beta, mean, var, training, momentum, eps), **kw)


def _forward_cases() -> list[Case]:
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    cases = [
        _bn_case("the notebook's 2x2 batch, training", x, np.array([2.0, 1.0]),
                 np.array([0.0, 1.0]), np.zeros(2), np.ones(2), True, eps=0.0),
        _bn_case("the notebook's 2x2 batch, inference", x, np.array([2.0, 1.0]),
                 np.array([0.0, 1.0]), np.array([1.0, -1.0]), np.array([4.0, 0.25]), False,
                 eps=0.0),
    ]
    r = seeded(f"{MODULE}.batchnorm_forward")
    shapes = ((5, 3), (2, 3, 4, 2), (1, 4), (8, 1), (3, 2, 2, 5), (1, 3, 3, 2), (6, 4),
              (4, 5, 5, 3))
    for n, shape in enumerate(shapes * 2):
        training = n % 2 == 0 and shape[0] * int(np.prod(shape[1:-1])) > 1
        c = shape[-1]
        x = r.normal(size=shape) * r.uniform(0.5, 4) + r.uniform(-3, 3)
        gamma, beta = r.normal(size=c), r.normal(size=c)
        mean, var = r.normal(size=c), r.uniform(0.2, 3, size=c)
        kind = "training" if training else "inference"
        label = f"x of shape {shape}, {kind}"
        kw = {}
        if n % 5 == 4:
            x, gamma, beta = x.astype(np.float32), gamma.astype(np.float32), \
                beta.astype(np.float32)
            label += " (float32)"
            kw = {"rtol": 1e-4, "atol": 1e-5}
        cases.append(_bn_case(label, x, gamma, beta, mean, var, training,
                              momentum=(0.1, 0.5, 1.0)[n % 3], **kw))
    return cases


def bn_traits(case: Case) -> list[str]:
    x, training = case.args[0], case.args[5]
    traits = ["training mode" if training else "inference mode (training=False)"]
    traits.append("an image batch (N, H, W, C)" if x.ndim == 4 else "a dense batch (N, D)")
    if x.dtype == np.float32:
        traits.append("a float32 x")
    return traits


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-7)


def _first(out: Outcome):
    v = out.value
    return v[0] if isinstance(v, tuple | list) and len(v) >= 1 else None


def _batch_stats_at_inference(case: Case, out: Outcome) -> bool:
    x, gamma, beta, _, _, training, _, eps = _bn_args(case)
    if training:
        return False
    mean, var = _batch_stats(x)
    return _close(_first(out), gamma * _normalise(x, mean, var, eps)[0] + beta)


def _unbiased(case: Case, out: Outcome) -> bool:
    x, gamma, beta, _, _, training, _, eps = _bn_args(case)
    if not training or x.size // x.shape[-1] < 2:
        return False
    mean, var = _batch_stats(x, ddof=1)
    return _close(_first(out), gamma * _normalise(x, mean, var, eps)[0] + beta)


BN_MISTAKES = (
    Mistake("batch_stats_at_inference", "with training=False you normalised with the batch's "
            "own mean and variance: at inference use running_mean and running_var, so that "
            "each sample's output does not depend on the rest of its batch",
            test=_batch_stats_at_inference),
    Mistake("unbiased_variance", "the variance was divided by m - 1 (np.var(..., ddof=1)): "
            "batch norm uses the batch's own variance, divided by m, x.var(axis=axes)",
            test=_unbiased),
)


def judge_batchnorm_forward(ex: Exercise, case: Case, out: Outcome) -> Verdict:
    """(out, cache) as usual, and the running statistics, which change in place."""
    if out.status == "raised":
        return Verdict(False, "your function raised an error on this input: "
                       f"{clean(out.error_text)}")
    for key in sorted(out.changed):
        if key not in ("3", "4"):
            name = ex.arg_names[int(key)]
            return Verdict(False, f"your function changed its argument `{name}` in place: "
                           "only running_mean and running_var may change", f"changed_{name}")
    if out.value is None:
        return Verdict(False, "returned None: did you forget the `return` statement?",
                       "returned_none")
    expected = ex.expected(case)
    ok, why = ex.compare(expected, out.value, case=case)
    if not ok:
        verdict = _explain(ex, case, out, why)
        verdict.credit = ex.credit(expected, out.value, case)
        return verdict
    training = _bn_args(case)[5]
    for index, want in zip((3, 4), running_after(case), strict=True):
        name = ex.arg_names[index]
        entry = out.changed.get(str(index))
        got = case.args[index] if entry is None else decode(entry["array"])
        if not _close(got, want):
            if not training:
                return Verdict(False, f"with training=False, {name} changed: at inference "
                               "the running statistics are read, never updated")
            how = "was not updated" if entry is None else "has wrong values"
            return Verdict(False, f"out and cache are right, but {name} {how}: in training "
                           f"mode update it in place, {name}[...] = (1 - momentum) * {name} "
                           "+ momentum * (the batch's statistic)")
    return Verdict(True)


BATCHNORM_FORWARD = Exercise(
    "10.1", MODULE, "batchnorm_forward", 2.0,
    "normalise each feature with the batch's mean and variance (training, updating the running "
    "averages in place) or the running ones (inference); return (gamma * x_hat + beta, "
    "(x_hat, inv_std, gamma, training))",
    ("x", "gamma", "beta", "running_mean", "running_var", "training", "momentum", "eps"),
    with_traits(_forward_cases(), bn_traits), batchnorm_forward, mistakes=BN_MISTAKES,
    kind="tuple", parts=("out", "cache"), part_credit=(0.7, 0.3), rtol=1e-5, atol=1e-7,
    judge=judge_batchnorm_forward,
)


# ---------------------------------------------------------------------------- 10.2
def _backward_cases() -> list[Case]:
    cases = []
    for fwd in _forward_cases():
        x, gamma, beta, mean, var, training, momentum, eps = fwd.args
        _, cache = batchnorm_forward(x, gamma, beta, mean, var, training, momentum, eps)
        dout = seeded(fwd.label).normal(size=x.shape).astype(x.dtype)
        cases.append(Case(fwd.label.replace("x of shape", "dout of shape"), (dout, cache),
                          rtol=fwd.rtol, atol=fwd.atol))
    hand = np.array([[1.0], [0.0], [0.0], [0.0]])
    _, cache = batchnorm_forward(np.array([[-1.0], [-1.0], [1.0], [1.0]]), np.ones(1),
                                 np.zeros(1), np.zeros(1), np.ones(1), True, 0.1, 0.0)
    return [Case("the notebook's x = (-1, -1, 1, 1) with dout = (1, 0, 0, 0)", (hand, cache)),
            *cases]


def backward_traits(case: Case) -> list[str]:
    dout, (_, _, _, training) = case.args
    return ["training mode" if training else "inference mode (training=False)",
            "an image batch (N, H, W, C)" if dout.ndim == 4 else "a dense batch (N, D)"]


def _variance_forgotten(case: Case):
    dout, (x_hat, inv_std, gamma, training) = case.args
    if not training:
        return None
    _, dgamma, dbeta = batchnorm_backward(dout, case.args[1])
    axes = tuple(range(dout.ndim - 1))
    dx_hat = dout * gamma
    return dx_hat * inv_std - dx_hat.sum(axis=axes) * inv_std * dout.shape[-1] / dout.size, \
        dgamma, dbeta


def _ignored_statistics(case: Case):
    dout, (_, inv_std, gamma, training) = case.args
    if not training:
        return None
    _, dgamma, dbeta = batchnorm_backward(*case.args)
    return dout * gamma * inv_std, dgamma, dbeta


BATCHNORM_BACKWARD = Exercise(
    "10.2", MODULE, "batchnorm_backward", 2.0,
    "dgamma = sum(dout * x_hat), dbeta = sum(dout), and dx with the mean's and the variance's "
    "parts in training mode, dout * gamma * inv_std at inference", ("dout", "cache"),
    with_traits(_backward_cases(), backward_traits), batchnorm_backward,
    kind="tuple", parts=("dx", "dgamma", "dbeta"), part_credit=(0.6, 0.2, 0.2),
    mistakes=(
        Mistake("variance_gradient_forgotten", "dx lacks the variance's part, - x_hat * "
                "sum(dx_hat * x_hat) / m: the variance depends on every input too, so "
                "dx = (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) * inv_std / m",
                output=_variance_forgotten),
        Mistake("statistics_as_constants", "dx = dout * gamma * inv_std treats the batch's "
                "mean and variance as constants, which holds only at inference: in training "
                "mode they depend on every input, so subtract sum(dx_hat) / m and "
                "x_hat * sum(dx_hat * x_hat) / m", output=_ignored_statistics),
    ),
)


# ---------------------------------------------------------------------------- 10.3
def _dropout_cases() -> list[Case]:
    cases = [Case("a 4x5 batch of ones, p = 0.5, seed 0, training",
                  (np.ones((4, 5)), 0.5, 0, True)),
             Case("a 4x5 batch of ones, p = 0.5, inference", (np.ones((4, 5)), 0.5, 0, False))]
    r = seeded(f"{MODULE}.dropout_forward")
    shapes = ((3, 7), (2, 4, 4, 3), (1, 10), (5, 2, 2, 1), (6, 6))
    for n, shape in enumerate(shapes * 2):
        p = (0.5, 0.25, 0.1, 0.8, 0.0)[n % 5]
        training = n % 3 != 2
        x = r.normal(size=shape)
        kind = "training" if training else "inference"
        cases.append(Case(f"x of shape {shape}, p = {p}, seed {n}, {kind}",
                          (x, p, n, training)))
    return cases


def dropout_traits(case: Case) -> list[str]:
    traits = ["training mode" if case.args[3] else "inference mode (training=False)"]
    if case.args[1] == 0:
        traits.append("p = 0 (nothing dropped)")
    return traits


def _not_rescaled(case: Case):
    x, p, rng, training = case.args
    if not training or p == 0:
        return None
    keep = (np.random.default_rng(rng).random(x.shape) >= p).astype(float)
    return x * keep, (keep,)


def _dropout_at_test(case: Case, out: Outcome) -> bool:
    x, p, rng, training = case.args
    if training or p == 0:
        return False
    return _close(_first(out), dropout_forward(x, p, rng, True)[0])


DROPOUT_FORWARD = Exercise(
    "10.3", MODULE, "dropout_forward", 1.0,
    "training: mask = (u >= p) / (1 - p) with u = np.random.default_rng(rng).random(x.shape), "
    "return (x * mask, (mask,)); inference: return (x, (None,))",
    ("x", "p", "rng", "training"), with_traits(_dropout_cases(), dropout_traits),
    dropout_forward, kind="tuple", parts=("out", "cache"), part_credit=(0.7, 0.3),
    mistakes=(
        Mistake("applied_at_test_time", "with training=False you still dropped values: at "
                "inference dropout does nothing, return (x, (None,))", test=_dropout_at_test),
        Mistake("not_rescaled", "the kept values were not divided by 1 - p: without it the "
                "layer's outputs are (1 - p) times smaller while training than at inference; "
                "mask = (u >= p) / (1 - p)", output=_not_rescaled),
    ),
)

EXERCISES = (BATCHNORM_FORWARD, BATCHNORM_BACKWARD, DROPOUT_FORWARD)
