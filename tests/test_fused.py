"""The fused Conv2D -> ReLU -> MaxPool2D step and the two-thread batch split (issue 6).

Both only reorder work, so each is held to the slow, obvious path: the three layers one after
another, and the whole batch in one piece.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn import _parallel, fused
from minicnn.activations import relu
from minicnn.columns import Scratch
from minicnn.conv import conv_backward, conv_forward
from minicnn.gradcheck import check_model
from minicnn.layers import (
    AvgPool2D,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    SoftmaxCrossEntropy,
)
from minicnn.network import Sequential
from minicnn.pooling import max_pool_backward, max_pool_forward
from minicnn.train import small_cnn

TOL = {"rtol": 1e-10, "atol": 1e-10}


def unfused(x, w, b, stride, padding, size, dout):
    """The reference: conv, ReLU, max pool, then their three backward passes in turn."""
    conv_out, conv_cache = conv_forward(x, w, b, stride, padding)
    active = conv_out > 0
    pooled, pool_cache = max_pool_forward(relu(conv_out), size, size)
    dconv = np.where(active, max_pool_backward(dout, pool_cache), 0)
    return (pooled, *conv_backward(dconv, conv_cache))


@st.composite
def block_cases(draw, values=None):
    """(x, w, b, stride, padding, size) in float64: a conv that tiles its input and a pool
    window that fits the conv's output (its edge rows may be left over)."""
    k, stride, padding = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    size = draw(st.integers(1, 3))
    out_h = draw(st.integers(size, 3 * size + 1))
    out_w = draw(st.integers(size, 3 * size + 1))
    h, w_ = (out_h - 1) * stride + k - 2 * padding, (out_w - 1) * stride + k - 2 * padding
    if h < 1 or w_ < 1:
        padding = 0
        h, w_ = (out_h - 1) * stride + k, (out_w - 1) * stride + k
    n, c, f = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 3, 8])), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if values == "ties":  # small whole numbers: many windows hold their maximum twice
        x = rng.integers(-2, 3, (n, h, w_, c)).astype(float)
        w = rng.integers(-1, 2, (f, k, k, c)).astype(float)
        b = rng.integers(-1, 2, f).astype(float)
    else:
        x, w, b = (rng.standard_normal((n, h, w_, c)), rng.standard_normal((f, k, k, c)),
                   rng.standard_normal(f))
    return x, w, b, stride, padding, size


@pytest.mark.ch07
@settings(max_examples=80, deadline=None)
@given(block_cases())
def test_fused_block_equals_the_three_layers(case):
    x, w, b, stride, padding, size = case
    out, cache = fused.conv_relu_pool_forward(x, w, b, stride, padding, size)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    ref_out, ref_dx, ref_dw, ref_db = unfused(x, w, b, stride, padding, size, dout)
    np.testing.assert_allclose(out, ref_out, **TOL)
    dx, dw, db = fused.conv_relu_pool_backward(dout, cache)
    np.testing.assert_allclose(dx, ref_dx, **TOL)
    np.testing.assert_allclose(dw, ref_dw, **TOL)
    np.testing.assert_allclose(db, ref_db, **TOL)
    assert dx.shape == x.shape and dx.flags.c_contiguous


@pytest.mark.ch07
@settings(max_examples=40, deadline=None)
@given(block_cases())
def test_fused_block_with_a_reused_scratch(case):
    """Kept scratch arrays (a pass on another batch first, one of another shape before that)
    give the numbers of new ones; the first cache is refused once they are overwritten."""
    x, w, b, stride, padding, size = case
    scratch = Scratch()
    fused.conv_relu_pool_forward(np.concatenate([x, x]), w, b, stride, padding, size,
                                 scratch=scratch)
    _, stale = fused.conv_relu_pool_forward(x[:, ::-1], w, b, stride, padding, size,
                                            scratch=scratch)
    out, cache = fused.conv_relu_pool_forward(x, w, b, stride, padding, size, scratch=scratch)
    ref_out, ref_cache = fused.conv_relu_pool_forward(x, w, b, stride, padding, size)
    np.testing.assert_array_equal(out, ref_out)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    for got, ref in zip(fused.conv_relu_pool_backward(dout, cache),
                        fused.conv_relu_pool_backward(dout, ref_cache), strict=True):
        np.testing.assert_array_equal(got, ref)
    with pytest.raises(RuntimeError, match="overwritten"):
        fused.conv_relu_pool_backward(dout, stale)


@pytest.mark.ch07
@settings(max_examples=60, deadline=None)
@given(block_cases(values="ties"))
def test_ties_send_the_gradient_to_the_same_place(case):
    """With whole numbers, windows often hold their maximum twice (or are all zero after
    ReLU): the gradient must still go exactly where the three layers send it."""
    x, w, b, stride, padding, size = case
    out, cache = fused.conv_relu_pool_forward(x, w, b, stride, padding, size)
    dout = np.random.default_rng(2).integers(-3, 4, out.shape).astype(float)
    ref_out, ref_dx, ref_dw, ref_db = unfused(x, w, b, stride, padding, size, dout)
    dx, dw, db = fused.conv_relu_pool_backward(dout, cache)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_array_equal(dw, ref_dw)
    np.testing.assert_array_equal(db, ref_db)


@pytest.mark.ch07
def test_hand_computed_block():
    """One 4x4 image, a 1x1 filter of weight -1 and bias 1, pool 2: worked out by hand."""
    x = np.array([[0., 2., 5., 1.],
                  [3., 1., 0., 4.],
                  [1., 1., 9., 9.],
                  [2., -1., 3., 0.]])[np.newaxis, :, :, np.newaxis]
    w, b = np.array([[[[-1.0]]]]), np.array([1.0])
    out, cache = fused.conv_relu_pool_forward(x, w, b, size=2)
    # conv: 1 - x; window maxima: 1 (at 0), 1 (at 0), 2 (at -1), 1 (at 0); ReLU keeps them
    np.testing.assert_array_equal(out[0, :, :, 0], [[1., 1.], [2., 1.]])
    dx, dw, db = fused.conv_relu_pool_backward(np.ones_like(out), cache)
    expected_dx = np.zeros((4, 4))
    expected_dx[0, 0] = expected_dx[1, 2] = expected_dx[3, 1] = expected_dx[3, 3] = -1.0
    np.testing.assert_array_equal(dx[0, :, :, 0], expected_dx)
    assert dw.item() == 0 + 0 + (-1) + 0 and db.item() == 4  # dw: the sum of x at the maxima


@pytest.mark.ch07
def test_a_window_of_more_than_127_positions():
    """A 12x12 pool has 144 positions per window: more than a one-byte index can name."""
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((2, 12, 12, 1)), rng.standard_normal((2, 1, 1, 1)), np.ones(2)
    out, cache = fused.conv_relu_pool_forward(x, w, b, size=12)
    dout = rng.standard_normal(out.shape)
    ref_out, ref_dx, ref_dw, ref_db = unfused(x, w, b, 1, 0, 12, dout)
    np.testing.assert_allclose(out, ref_out, **TOL)
    for got, ref in zip(fused.conv_relu_pool_backward(dout, cache), (ref_dx, ref_dw, ref_db),
                        strict=True):
        np.testing.assert_allclose(got, ref, **TOL)


@pytest.mark.ch07
def test_no_input_gradient_when_not_needed():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 6, 6, 1)), rng.standard_normal((3, 3, 3, 1))
    out, cache = fused.conv_relu_pool_forward(x, w, None, 1, 1, 2)
    dx, dw, db = fused.conv_relu_pool_backward(np.ones_like(out), cache, need_dx=False)
    assert dx is None and dw.shape == w.shape and db.shape == (3,)


@pytest.mark.ch07
def test_inf_in_the_gradient_stays_where_it_belongs():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 6, 6, 2)), rng.standard_normal((3, 3, 3, 2)), np.ones(3)
    out, cache = fused.conv_relu_pool_forward(x, w, b, 1, 1, 2)
    dout = rng.standard_normal(out.shape)
    dout[0, 1, 1, 2] = np.inf
    _, _, _, where, pooled, *_ = cache
    dblocks = fused._route_to_maxima(dout, where, pooled, 4)
    ref = max_pool_backward(dout, max_pool_forward(conv_forward(x, w, b, 1, 1)[0], 2, 2)[1])
    # only the window's maximum, if positive, receives the inf; no NaN anywhere
    assert not np.isnan(dblocks).any()
    assert np.isinf(dblocks).sum() == (1 if out[0, 1, 1, 2] > 0 else 0)
    assert np.isinf(ref).sum() == 1


@pytest.mark.ch07
def test_errors_name_the_argument():
    x = np.zeros((1, 5, 5, 2))
    with pytest.raises(ValueError, match="depth"):
        fused.conv_relu_pool_forward(x, np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="bias"):
        fused.conv_relu_pool_forward(x, np.zeros((2, 3, 3, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="size"):
        fused.conv_relu_pool_forward(x, np.zeros((1, 3, 3, 2)), size=1.5)


def _layers(pool):
    return [Conv2D(1, 2, 3, padding=1, seed=0), ReLU(), pool, Flatten(), Dense(2 * 4 * 4, 3)]


@pytest.mark.ch07
def test_plan_fuses_only_conv_relu_maxpool_without_overlap():
    steps = fused.plan(_layers(MaxPool2D(2, 2)))
    assert isinstance(steps[0], fused.ConvReLUPool) and len(steps) == 3
    for pool in (MaxPool2D(3, 2), AvgPool2D(2, 2)):  # overlapping windows; not a max
        assert not any(isinstance(s, fused.ConvReLUPool) for s in fused.plan(_layers(pool)))

    class MyReLU(ReLU):
        pass

    layers = _layers(MaxPool2D(2, 2))
    layers[1] = MyReLU()  # a learner's own layer runs as written
    assert not any(isinstance(s, fused.ConvReLUPool) for s in fused.plan(layers))


@pytest.mark.ch07
def test_sequential_fused_and_unfused_agree():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((37, 28, 28, 1)), rng.integers(0, 10, 37)
    results = []
    for fuse in (True, False):
        model = small_cnn(seed=1).astype(np.float64)
        model.fuse = fuse
        loss_fn = SoftmaxCrossEntropy()
        loss = loss_fn.forward(model.forward(x), y)
        dx = model.backward(loss_fn.backward())
        results.append((loss, dx, [g.copy() for layer in model.layers
                                   for g in layer.grads.values()]))
    (loss_a, dx_a, g_a), (loss_b, dx_b, g_b) = results
    np.testing.assert_allclose(loss_a, loss_b, **TOL)
    np.testing.assert_allclose(dx_a, dx_b, **TOL)
    for a, b in zip(g_a, g_b, strict=True):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.ch07
def test_fused_model_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(4)
    model = Sequential([Conv2D(1, 3, 3, padding=1, seed=0), ReLU(), MaxPool2D(2),
                        Conv2D(3, 4, 3, padding=1, seed=1), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(4, 3, seed=2)])
    errors = check_model(model, rng.standard_normal((3, 5, 5, 1)), np.array([0, 2, 1]))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.ch07
def test_sequential_reports_a_wrong_input_through_the_fused_step():
    model = small_cnn(seed=0)
    with pytest.raises(ValueError, match="input channel"):
        model.forward(np.zeros((2, 28, 28, 3), np.float32))


@pytest.mark.ch07
def test_fused_step_backward_before_forward():
    step = fused.plan(_layers(MaxPool2D(2)))[0]
    with pytest.raises(RuntimeError, match="forward before backward"):
        step.backward(np.zeros((1, 2, 2, 2)))


# ----------------------------------------------------------------------------------------------
# The two-thread split.
# ----------------------------------------------------------------------------------------------

@pytest.mark.ch07
@pytest.mark.parametrize("n", [1, 15, 16, 17, 128])
def test_halves_cover_the_batch_once(n):
    parts = _parallel.halves(n)
    covered = np.concatenate([np.arange(n)[p] for p in parts])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert len(parts) == (1 if n < _parallel.MIN_SPLIT else 2)


@pytest.mark.ch07
@pytest.mark.parametrize("n", [5, 33])
def test_threads_give_the_same_numbers_as_one_thread(n, monkeypatch):
    """The split is fixed, so running the halves at once or in turn changes nothing."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((n, 12, 12, 1)).astype(np.float32), rng.integers(0, 10, n)

    def step():
        model = small_cnn(seed=0, channels=(4, 6), input_shape=(12, 12, 1))
        loss_fn = SoftmaxCrossEntropy()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward(), need_input_grad=False)
        return [g.copy() for layer in model.layers for g in layer.grads.values()]

    threaded = step()
    monkeypatch.setattr(_parallel, "_get_pool", lambda: None)
    for a, b in zip(threaded, step(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.ch07
def test_split_batch_equals_whole_batch():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((40, 7, 7, 3)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    out, caches = _parallel.forward_halves(conv_forward, x, w, b, 1, 1,
                                           out=np.full((40, 7, 7, 4), np.nan),
                                           scratch=(Scratch(), Scratch()))
    whole, cache = conv_forward(x, w, b, 1, 1)
    np.testing.assert_allclose(out, whole, **TOL)
    dout = rng.standard_normal(out.shape)
    for a, ref in zip(_parallel.backward_halves(conv_backward, dout, caches, True, np.float64),
                      conv_backward(dout, cache, True), strict=True):
        np.testing.assert_allclose(a, ref, **TOL)


@pytest.mark.ch07
@pytest.mark.parametrize("which", [0, 1])
def test_a_task_error_reaches_the_caller(which):
    """Whichever half fails (the caller's or the worker's), the error is raised; when the
    halves run at once, only after the other half is done (it may share arrays)."""
    finished = []

    def boom():
        raise ValueError("from a half")

    def slow():
        time.sleep(0.05)
        finished.append(True)
        return 1

    tasks = [boom, slow] if which == 0 else [slow, boom]
    with pytest.raises(ValueError, match="from a half"):
        _parallel.run(tasks)
    at_once = _parallel._get_pool() is not None
    assert finished == ([True] if at_once or which == 1 else [])


@pytest.mark.ch07
def test_the_caller_runs_one_half_and_the_worker_the_other():
    if _parallel._get_pool() is None:
        pytest.skip("no worker thread here (MINICNN_THREADS=1 or no OpenBLAS)")
    names = _parallel.run([lambda: threading.current_thread().name,
                           lambda: threading.current_thread().name])
    assert names[0] == threading.current_thread().name
    assert names[1].startswith(_parallel.WORKER_NAME)
    # Inside the worker, a split runs in turn rather than waiting for itself.
    nested = _parallel._get_pool().submit(
        _parallel.run, [lambda: threading.current_thread().name] * 2).result(timeout=10)
    assert nested[0] == nested[1] and nested[0].startswith(_parallel.WORKER_NAME)


def _train_one_step() -> float:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((32, 12, 12, 1)).astype(np.float32), rng.integers(0, 10, 32)
    model = small_cnn(seed=0, channels=(4, 6), input_shape=(12, 12, 1))
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    return float(loss)


@pytest.mark.ch07
def test_a_forked_child_makes_its_own_threads():
    """After fork the child has no worker threads; it must make new ones, not wait forever."""
    import multiprocessing

    expected = _train_one_step()  # the parent's worker threads now exist
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_train_one_step).get(timeout=60) == expected


@pytest.mark.ch07
def test_fused_out_dx_out_and_dx_first_change_no_number():
    rng = np.random.default_rng(12)
    x, w, b = rng.standard_normal((3, 8, 8, 2)), rng.standard_normal((5, 3, 3, 2)), np.ones(5)
    expected, cache = fused.conv_relu_pool_forward(x, w, b, 1, 1, 2)
    out = np.full(expected.shape, np.nan)
    got, cache2 = fused.conv_relu_pool_forward(x, w, b, 1, 1, 2, out=out)
    assert got is out
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape)
    reference = fused.conv_relu_pool_backward(dout, cache)
    dx_out = np.full(x.shape, np.nan)
    got = fused.conv_relu_pool_backward(dout, cache2, dx_out=dx_out, dx_first=True)
    assert got[0] is dx_out
    for a, ref in zip(got, reference, strict=True):
        np.testing.assert_array_equal(a, ref)
    with pytest.raises(ValueError, match=r"out must be .* shape \(3, 4, 4, 5\)"):
        fused.conv_relu_pool_forward(x, w, b, 1, 1, 2, out=np.zeros((3, 8, 8, 5)))


@pytest.mark.ch07
def test_the_worker_reports_results_errors_and_timeouts():
    worker = _parallel._Worker()
    assert worker.submit(lambda a, b: a * b, 6, 7).result(timeout=10) == 42
    failed = worker.submit(lambda: 1 / 0)
    for _ in range(2):  # asked twice, raised twice
        with pytest.raises(ZeroDivisionError):
            failed.result(timeout=10)
    release = threading.Event()
    slow = worker.submit(release.wait, 10)
    with pytest.raises(TimeoutError, match="did not finish within 0.05 s"):
        slow.result(timeout=0.05)
    assert not slow.done()
    release.set()
    assert slow.result(timeout=10) is True and slow.done()
    assert worker.thread.name == _parallel.WORKER_NAME and worker.thread.daemon
