"""The fast backend (minicnn.fast): the same numbers as the core, over random shapes.

Its convolution, its fused conv -> ReLU -> max pool block and its two-thread split are held to
the plain core (minicnn.conv, minicnn.pooling, the layers one by one): bit for bit where the
arithmetic is the same, to float64 rounding otherwise, over shapes, strides, paddings and
channel counts that hypothesis draws. Its internals (scratch arrays kept between batches, the
input gradient's chunks, the worker thread) are tested here too, under the ``fast`` marker.
"""

from __future__ import annotations

import copy
import pickle
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_strategies import conv_cases

from minicnn import conv
from minicnn.activations import relu
from minicnn.conv import conv_backward, conv_forward
from minicnn.fast import columns, fused, threads
from minicnn.fast import conv as fast_conv
from minicnn.fast.columns import Scratch
from minicnn.fast.layers import ConvReLUPool, FastConv2D, plan
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

pytestmark = pytest.mark.fast

TOL = {"rtol": 1e-10, "atol": 1e-10}


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_fast_conv_equals_the_core(case):
    """Forward and backward of the fast convolution against the core's im2col + matmul (same
    arguments, numbers to float64 rounding; tests/test_fast_paths.py holds the core to the
    loops); need_dx=False changes nothing."""
    x, w, b, stride, padding = case
    out, cache = fast_conv.conv_forward(x, w, b, stride, padding)
    ref_out, ref_cache = conv.conv_forward(x, w, b, stride, padding)
    np.testing.assert_allclose(out, ref_out, **TOL)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    grads = fast_conv.conv_backward(dout, cache)
    for got, ref in zip(grads, conv.conv_backward(dout, ref_cache), strict=True):
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, **TOL)
    none_dx, dw, db = fast_conv.conv_backward(dout, cache, need_dx=False)
    assert none_dx is None
    np.testing.assert_array_equal(dw, grads[1])
    np.testing.assert_array_equal(db, grads[2])


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_fast_conv_float32_equals_the_core_to_1e_6(case):
    """In float32 the two ways of adding differ by rounding only: 1e-6 of the largest value."""
    x, w, b, stride, padding = (a.astype(np.float32) if isinstance(a, np.ndarray) else a
                                for a in case)
    out, cache = fast_conv.conv_forward(x, w, b, stride, padding)
    ref_out, ref_cache = conv.conv_forward(x, w, b, stride, padding)
    assert out.dtype == ref_out.dtype == np.float32
    scale = np.abs(ref_out).max()
    np.testing.assert_allclose(out, ref_out, rtol=1e-6, atol=1e-6 * scale)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    for got, ref in zip(fast_conv.conv_backward(dout, cache),
                        conv.conv_backward(dout, ref_cache), strict=True):
        assert got.dtype == ref.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * max(np.abs(ref).max(), 1))


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


def test_no_input_gradient_when_not_needed():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 6, 6, 1)), rng.standard_normal((3, 3, 3, 1))
    out, cache = fused.conv_relu_pool_forward(x, w, None, 1, 1, 2)
    dx, dw, db = fused.conv_relu_pool_backward(np.ones_like(out), cache, need_dx=False)
    assert dx is None and dw.shape == w.shape and db.shape == (3,)


def test_inf_in_the_gradient_stays_where_it_belongs():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 6, 6, 2)), rng.standard_normal((3, 3, 3, 2)), np.ones(3)
    out, cache = fused.conv_relu_pool_forward(x, w, b, 1, 1, 2)
    dout = rng.standard_normal(out.shape)
    dout[0, 1, 1, 2] = np.inf
    _, _, _, where, pooled, *_ = cache
    dblocks = fused._route_to_maxima(dout, where, pooled, 4)
    # only the window's maximum, if positive, receives the inf; no NaN anywhere
    assert not np.isnan(dblocks).any()
    assert np.isinf(dblocks).sum() == (1 if out[0, 1, 1, 2] > 0 else 0)


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


def test_plan_fuses_only_conv_relu_maxpool_without_overlap():
    steps = plan(_layers(MaxPool2D(2, 2)))
    assert isinstance(steps[0], ConvReLUPool) and len(steps) == 3
    for pool in (MaxPool2D(3, 2), AvgPool2D(2, 2)):  # overlapping windows; not a max
        assert not any(isinstance(s, ConvReLUPool) for s in plan(_layers(pool)))

    class MyReLU(ReLU):
        pass

    layers = _layers(MaxPool2D(2, 2))
    layers[1] = MyReLU()  # a learner's own layer runs as written
    assert not any(isinstance(s, ConvReLUPool) for s in plan(layers))


def test_sequential_fast_and_plain_agree():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((37, 28, 28, 1)), rng.integers(0, 10, 37)
    results = []
    for fast in (True, False):
        model = small_cnn(seed=1).astype(np.float64)
        model.fast = fast
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


def test_fused_model_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(4)
    model = Sequential([Conv2D(1, 3, 3, padding=1, seed=0), ReLU(), MaxPool2D(2),
                        Conv2D(3, 4, 3, padding=1, seed=1), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(4, 3, seed=2)], fast=True)
    errors = check_model(model, rng.standard_normal((3, 5, 5, 1)), np.array([0, 2, 1]))
    assert max(errors.values()) < 1e-7, errors


def test_sequential_reports_a_wrong_input_through_the_fused_step():
    model = small_cnn(seed=0, fast=True)
    with pytest.raises(ValueError, match="input channel"):
        model.forward(np.zeros((2, 28, 28, 3), np.float32))


def test_fused_step_backward_before_forward():
    step = plan(_layers(MaxPool2D(2)))[0]
    with pytest.raises(RuntimeError, match="forward before backward"):
        step.backward(np.zeros((1, 2, 2, 2)))


# ----------------------------------------------------------------------------------------------
# The two-thread split.
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 15, 16, 17, 128])
def test_halves_cover_the_batch_once(n):
    parts = threads.halves(n)
    covered = np.concatenate([np.arange(n)[p] for p in parts])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert len(parts) == (1 if n < threads.MIN_SPLIT else 2)


@pytest.mark.parametrize("n", [33, 128])
def test_threads_give_the_same_numbers_as_one_thread(n, monkeypatch):
    """The split is fixed, so running the halves at once or in turn changes nothing. The
    threaded side gets a worker thread of its own, so it runs on two threads even where the
    environment turns them off (MINICNN_THREADS=1)."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((n, 12, 12, 1)).astype(np.float32), rng.integers(0, 10, n)
    worker, ran_in = threads._Worker(), []
    real_forward = fast_conv.conv_forward

    def recording_forward(*args, **kwargs):
        ran_in.append(threading.current_thread().name)
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(fast_conv, "conv_forward", recording_forward)

    def step():
        model = small_cnn(seed=0, channels=(4, 6), input_shape=(12, 12, 1), fast=True)
        model.layers[2] = AvgPool2D(2, 2)  # the first conv runs as a FastConv2D, not fused
        loss_fn = SoftmaxCrossEntropy()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward(), need_input_grad=False)
        return [g.copy() for layer in model.layers for g in layer.grads.values()]

    monkeypatch.setattr(threads, "_get_pool", lambda: worker)
    threaded = step()
    assert any(name.startswith(threads.WORKER_NAME) for name in ran_in)  # really two threads
    monkeypatch.setattr(threads, "_get_pool", lambda: None)
    ran_in.clear()
    for a, b in zip(threaded, step(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not any(name.startswith(threads.WORKER_NAME) for name in ran_in)


def test_split_batch_equals_whole_batch():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((40, 7, 7, 3)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    out, caches = threads.forward_halves(fast_conv.conv_forward, x, w, b, 1, 1,
                                         out=np.full((40, 7, 7, 4), np.nan),
                                         scratch=(Scratch(), Scratch()))
    whole, cache = fast_conv.conv_forward(x, w, b, 1, 1)
    np.testing.assert_allclose(out, whole, **TOL)
    dout = rng.standard_normal(out.shape)
    for a, ref in zip(threads.backward_halves(fast_conv.conv_backward, dout, caches, True,
                                              np.float64),
                      fast_conv.conv_backward(dout, cache, True), strict=True):
        np.testing.assert_allclose(a, ref, **TOL)


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
        threads.run(tasks)
    at_once = threads._get_pool() is not None
    assert finished == ([True] if at_once or which == 1 else [])


def test_the_caller_runs_one_half_and_the_worker_the_other():
    if threads._get_pool() is None:
        pytest.skip("no worker thread here (MINICNN_THREADS=1 or no OpenBLAS)")
    names = threads.run([lambda: threading.current_thread().name,
                           lambda: threading.current_thread().name])
    assert names[0] == threading.current_thread().name
    assert names[1].startswith(threads.WORKER_NAME)
    # Inside the worker, a split runs in turn rather than waiting for itself.
    nested = threads._get_pool().submit(
        threads.run, [lambda: threading.current_thread().name] * 2).result(timeout=10)
    assert nested[0] == nested[1] and nested[0].startswith(threads.WORKER_NAME)


def _train_one_step() -> float:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((32, 12, 12, 1)).astype(np.float32), rng.integers(0, 10, 32)
    model = small_cnn(seed=0, channels=(4, 6), input_shape=(12, 12, 1), fast=True)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    return float(loss)


def test_a_forked_child_makes_its_own_threads():
    """After fork the child has no worker threads; it must make new ones, not wait forever."""
    import multiprocessing

    expected = _train_one_step()  # the parent's worker threads now exist
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_train_one_step).get(timeout=60) == expected


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


def test_the_worker_reports_results_errors_and_timeouts():
    worker = threads._Worker()
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
    assert worker.thread.name == threads.WORKER_NAME and worker.thread.daemon


def _col2im(dcols, padded_shape, stride):
    """The adjoint of im2col: add the patch gradients (N, H', W', kh, kw, C) back where their
    patches came from, in zeros of ``padded_shape``."""
    _, out_h, out_w, kh, kw, _ = dcols.shape
    dx = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += dcols[:, :, :, i, j]
    return dx


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_input_gradient_equals_col2im(case):
    """The offset-by-offset input gradient is the adjoint of im2col, like col2im."""
    x, w, _, stride, padding = case
    xp = conv.pad(x, padding)
    out_h = (xp.shape[1] - w.shape[1]) // stride + 1
    out_w = (xp.shape[2] - w.shape[2]) // stride + 1
    cols = conv.im2col(xp, w.shape[1], w.shape[2], stride, out_h, out_w)
    xp_shape = xp.shape
    dout = np.random.default_rng(2).standard_normal((*cols.shape[:3], w.shape[0]))
    dcols = (dout @ w.reshape(w.shape[0], -1)).reshape(cols.shape)
    h, wd = x.shape[1:3]
    full = _col2im(dcols, xp_shape, stride)  # padded; the padding's share is dropped
    expected = full[:, padding:padding + h, padding:padding + wd]
    np.testing.assert_allclose(columns.input_gradient(dout, w, x.shape, stride, padding),
                               expected, **TOL)
    # Both ways of adding the shifted products give it, whatever the stride.
    np.testing.assert_allclose(columns._strided_sums(dout, w, x.shape, stride, padding),
                               expected, **TOL)
    if stride == 1:
        np.testing.assert_allclose(columns._shifted_sums(dout, w, x.shape, padding), expected,
                                   **TOL)
        # any memory layout of the outputs' gradient
        flipped = np.asfortranarray(dout)
        np.testing.assert_allclose(columns._shifted_sums(flipped, w, x.shape, padding),
                                   expected, **TOL)


def test_float32_fast_path_matches_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 9, 9, 3))
    w = rng.standard_normal((5, 3, 3, 3))
    b = rng.standard_normal(5)
    out64, cache64 = fast_conv.conv_forward(x, w, b, 1, 1)
    out32, cache32 = fast_conv.conv_forward(x.astype(np.float32), w.astype(np.float32),
                                       b.astype(np.float32), 1, 1)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4)
    dout = rng.standard_normal(out64.shape)
    for g32, g64 in zip(fast_conv.conv_backward(dout.astype(np.float32), cache32),
                        fast_conv.conv_backward(dout, cache64), strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


def test_fast_conv2d_gradients_follow_the_latest_batch():
    """FastConv2D drops the previous batch's cache before the next forward; backward must use
    the new batch, and the gradients land in the Conv2D's grads."""
    rng = np.random.default_rng(0)
    core = Conv2D(2, 3, 3, padding=1, seed=0)
    layer = FastConv2D(core)
    x1, x2 = rng.standard_normal((2, 2, 5, 5, 2))
    layer.forward(x1)
    out = layer.forward(x2)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    ref_dx, ref_dw, _ = conv.conv_backward_loop(dout, x2, layer.params["w"], 1, 1)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["w"], ref_dw, rtol=1e-5, atol=1e-5)
    assert layer.grads is core.grads and layer.params is core.params


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("images", [1, 2, 5])
def test_input_gradient_in_chunks_of_images(stride, images, monkeypatch):
    """The input gradient takes the images a few at a time; any chunk size, including one
    that does not divide the batch, gives the same sums."""
    # 1, 2 or all 5 images per chunk, for either way of adding the shifted products
    monkeypatch.setattr(columns, "CHUNK_NUMBERS", images * 27 * 9 * 9)  # 3 * 3 * 3 x 9 * 9
    monkeypatch.setattr(columns, "CHUNK_ROWS", images * 4 * 4)
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((5, 7, 7, 3)), rng.standard_normal((4, 3, 3, 3))
    out, cache = fast_conv.conv_forward(x, w, None, stride, 1)  # 7 x 7 or 4 x 4 outputs per image
    dout = rng.standard_normal(out.shape)
    ref_dx, _, _ = conv.conv_backward_loop(dout, x, w, stride, 1)
    np.testing.assert_allclose(fast_conv.conv_backward(dout, cache)[0], ref_dx, **TOL)


@pytest.mark.parametrize("rows", [1, 7, 8, 16, 29])
def test_tall_product_in_blocks_equals_one_product(rows, monkeypatch):
    """a.T @ b summed block by block: fewer rows than a block, whole blocks, and a rest."""
    monkeypatch.setattr(columns, "BLOCK_ROWS", 8)
    rng = np.random.default_rng(rows)
    a, b = rng.standard_normal((rows, 5)), rng.standard_normal((rows, 3))
    np.testing.assert_allclose(columns.tall_product(a, b), a.T @ b, **TOL)
    # a transposed view (the one-channel column layout) works the same
    a_t = np.ascontiguousarray(a.T)
    np.testing.assert_allclose(columns.tall_product(a_t.T, b), a.T @ b, **TOL)


# ----------------------------------------------------------------------------------------------
# Writing into a given array (the halves of a batch share one output) and the order of the two
# backward products change nothing but where the numbers go.
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 3])  # the one-channel layout and one patch per row
@pytest.mark.parametrize("stride", [1, 2])
def test_out_and_dx_out_hold_the_same_numbers(channels, stride):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 7, 7, channels))
    w, b = rng.standard_normal((4, 3, 3, channels)), rng.standard_normal(4)
    expected, cache = fast_conv.conv_forward(x, w, b, stride, 1)
    out = np.full(expected.shape, np.nan)
    got, cache2 = fast_conv.conv_forward(x, w, b, stride, 1, out=out)
    assert got is out
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = fast_conv.conv_backward(dout, cache)
    for dx_first in (False, True):
        dx_out = np.full(x.shape, np.nan)
        got = fast_conv.conv_backward(dout, cache2, dx_out=dx_out, dx_first=dx_first)
        assert got[0] is dx_out
        for a, ref in zip(got, (dx, dw, db), strict=True):
            np.testing.assert_array_equal(a, ref)
    none_dx, dw2, _ = fast_conv.conv_backward(dout, cache2, need_dx=False, dx_first=True)
    assert none_dx is None
    np.testing.assert_array_equal(dw2, dw)


@pytest.mark.parametrize("bad, why", [
    (np.zeros((2, 5, 5, 3)), r"shape \(2, 5, 5, 3\)"),
    (np.zeros((2, 5, 5, 8))[..., ::2], "shape"),  # right shape, not contiguous
    ([[0.0]], "list"),
])
def test_a_wrong_out_array_is_refused(bad, why):
    x, w = np.ones((2, 5, 5, 1)), np.ones((4, 3, 3, 1))
    with pytest.raises(ValueError, match=rf"out must be a writeable C-contiguous array of shape "
                                         rf"\(2, 5, 5, 4\).*got {why}.*out=None"):
        fast_conv.conv_forward(x, w, None, 1, 1, out=bad)
    _, cache = fast_conv.conv_forward(x, w, None, 1, 1)
    read_only = np.zeros(x.shape)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="dx_out must be a writeable"):
        fast_conv.conv_backward(np.ones((2, 5, 5, 4)), cache, dx_out=read_only)


# ----------------------------------------------------------------------------------------------
# Scratch arrays kept from one batch to the next: the same numbers as new arrays, whatever the
# batches before; a stale cache is refused; copies start empty.
# ----------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_a_reused_scratch_gives_the_numbers_of_new_arrays(case, seed):
    x, w, b, stride, padding = case
    rng = np.random.default_rng(seed)
    scratch = columns.Scratch()
    # A batch of another shape and dtype first, then two batches of this shape: the arrays are
    # made again, then reused (with other numbers in them).
    other = rng.standard_normal((x.shape[0] + 1, *x.shape[1:])).astype(np.float32)
    fast_conv.conv_forward(other, w.astype(np.float32), None, stride, padding, scratch=scratch)
    for batch in (rng.standard_normal(x.shape), x):
        out, cache = fast_conv.conv_forward(batch, w, b, stride, padding, scratch=scratch)
        ref_out, ref_cache = fast_conv.conv_forward(batch, w, b, stride, padding)
        np.testing.assert_array_equal(out, ref_out)
        dout = rng.standard_normal(out.shape)
        grads = fast_conv.conv_backward(dout, cache)
        for got, ref in zip(grads, fast_conv.conv_backward(dout, ref_cache), strict=True):
            np.testing.assert_array_equal(got, ref)
    loops = np.stack([conv.conv2d_loop(image, w, stride, padding, b) for image in x])
    np.testing.assert_allclose(out, loops, **TOL)
    for got, ref in zip(grads, conv.conv_backward_loop(dout, x, w, stride, padding), strict=True):
        np.testing.assert_allclose(got, ref, **TOL)


def test_a_cache_overwritten_by_a_later_forward_is_refused():
    rng = np.random.default_rng(12)
    w, scratch = rng.standard_normal((2, 3, 3, 2)), columns.Scratch()
    x1, x2 = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((2, 5, 5, 2))
    out1, cache1 = fast_conv.conv_forward(x1, w, None, 1, 1, scratch=scratch)
    _, cache2 = fast_conv.conv_forward(x2, w, None, 1, 1, scratch=scratch)
    with pytest.raises(RuntimeError, match=r"earlier forward pass \(number 1 of 2\).*"
                                           r"overwritten; run forward again"):
        fast_conv.conv_backward(np.ones(out1.shape), cache1)
    fast_conv.conv_backward(np.ones(out1.shape), cache2)  # the latest one is fine


def test_scratch_must_be_a_scratch():
    with pytest.raises(TypeError, match="scratch must be a minicnn.fast.columns.Scratch or None, "
                                        "got dict; leave scratch=None"):
        fast_conv.conv_forward(np.ones((1, 4, 4, 1)), np.ones((1, 3, 3, 1)), scratch={})


def test_copies_of_a_layer_start_with_empty_scratch():

    rng = np.random.default_rng(13)
    layer = FastConv2D(Conv2D(2, 3, 3, padding=1, seed=0))
    x, x2 = rng.standard_normal((20, 6, 6, 2)), rng.standard_normal((20, 6, 6, 2))
    layer.forward(x)
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert all(s.forwards == 0 for s in twin.scratch)
        np.testing.assert_array_equal(twin.forward(x2), layer.forward(x2))
        dout = rng.standard_normal((20, 6, 6, 3))
        np.testing.assert_array_equal(twin.backward(dout), layer.backward(dout))
        np.testing.assert_array_equal(twin.grads["w"], layer.grads["w"])
