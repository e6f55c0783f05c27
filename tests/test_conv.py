"""Chapter 02: convolution, hand-computed cases, the loop reference and the fast path."""

import numpy as np
import pytest

from minicnn import conv, images

pytestmark = pytest.mark.ch02


def test_tiny_hand_computed():
    image = np.arange(9.0).reshape(3, 3)      # 0 1 2 / 3 4 5 / 6 7 8
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    # top-left: 0*1 + 4*(-1) = -4, and every position gives -4
    np.testing.assert_allclose(conv.convolve(image, kernel), np.full((2, 2), -4.0))
    kernel2 = np.array([[0.0, 1.0], [2.0, 0.0]])
    # positions: (1 + 2*3)=7, (2 + 2*4)=10, (4 + 2*6)=16, (5 + 2*7)=19
    np.testing.assert_allclose(conv.convolve(image, kernel2), [[7, 10], [16, 19]])


def test_padding_and_stride_hand_computed():
    image = np.ones((3, 3))
    out = conv.convolve(image, np.ones((3, 3)), padding=1)
    np.testing.assert_allclose(out, [[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    out = conv.convolve(np.arange(25.0).reshape(5, 5), np.ones((1, 1)), stride=2)
    np.testing.assert_allclose(out, [[0, 2, 4], [10, 12, 14], [20, 22, 24]])


def test_no_flip():
    """Cross-correlation, as convnets use it: an asymmetric kernel is not flipped."""
    image = np.zeros((3, 3))
    image[0, 0] = 1
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert conv.convolve(image, kernel)[0, 0] == 1.0  # kernel[0, 0] meets image[0, 0]


def test_diagonal_example():
    """The 10 x 10 diagonal image: the anti-diagonal filter scores 3 exactly on the lines."""
    image = images.diagonal_image()
    flt = images.diagonal_filter()
    fmap = conv.convolve(image, flt)
    assert fmap.shape == (8, 8)
    assert fmap.max() == 3
    for i, j in zip(*np.nonzero(fmap == 3), strict=True):
        patch = image[i:i + 3, j:j + 3]
        np.testing.assert_array_equal(patch * flt, flt)  # the patch contains the whole diagonal
    np.testing.assert_allclose(fmap, conv.conv2d_loop(image[:, :, None], flt[None, :, :, None])
                               [:, :, 0])


def test_translation_equivariance():
    rng = np.random.default_rng(0)
    image = np.zeros((12, 12))
    image[2:5, 3:6] = rng.random((3, 3))
    kernel = rng.standard_normal((3, 3))
    shifted = np.roll(image, (2, 3), axis=(0, 1))
    out, out_shifted = conv.convolve(image, kernel), conv.convolve(shifted, kernel)
    np.testing.assert_allclose(np.roll(out, (2, 3), axis=(0, 1)), out_shifted, atol=1e-12)


def test_colour_image_two_filters_depth_two():
    rng = np.random.default_rng(1)
    image = rng.random((5, 5, 3))
    filters = rng.standard_normal((2, 3, 3, 3))
    out = conv.conv2d(image, filters, stride=2, padding=1)
    assert out.shape == (3, 3, 2)
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    # hand check of one value: position (1, 2) of filter 1
    expected = np.sum(padded[2:5, 4:7, :] * filters[1])
    np.testing.assert_allclose(out[1, 2, 1], expected)


@pytest.mark.parametrize("mode", ["valid"])
def test_convolve_agrees_with_scipy(mode):
    scipy_signal = pytest.importorskip("scipy.signal")  # only this test needs scipy
    rng = np.random.default_rng(2)
    for h, w, kh, kw in [(7, 9, 3, 2), (5, 5, 5, 5), (10, 4, 1, 3)]:
        image, kernel = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
        np.testing.assert_allclose(conv.convolve(image, kernel),
                                   scipy_signal.correlate2d(image, kernel, mode=mode),
                                   rtol=1e-10, atol=1e-12)
        padded = scipy_signal.correlate2d(np.pad(image, 2), kernel, mode="valid")
        np.testing.assert_allclose(conv.convolve(image, kernel, padding=2), padded, atol=1e-12)


# conv_forward / conv_backward against the loop references on random shapes, strides and
# paddings is a property test in tests/test_fast_paths.py.


def test_float32_stays_float32():
    x = np.ones((2, 5, 5, 1), dtype=np.float32)
    w = np.ones((3, 3, 3, 1), dtype=np.float32)
    out, cache = conv.conv_forward(x, w, np.zeros(3, np.float32), 1, 1)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    dx, dw, db = conv.conv_backward(out, cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


def test_cache_is_a_plain_tuple():
    """(x, w, b, stride, padding, cols): arrays and numbers, cols the patch matrix."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    out, cache = conv.conv_forward(x, w, b, 2, 1)
    assert type(cache) is tuple and len(cache) == 6
    cx, cw, cb, stride, padding, cols = cache
    assert cx is x and cw is w and cb is b and (stride, padding) == (2, 1)
    assert cols.shape == (2 * 3 * 3, 3 * 3 * 3)
    np.testing.assert_allclose(cols @ w.reshape(4, -1).T + b, out.reshape(-1, 4), atol=1e-12)


def test_conv2d_is_im2col_and_one_matrix_product():
    """conv2d is the patch matrix of the notebook times the filters, one row per position."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((6, 5, 1)), rng.standard_normal((2, 3, 3, 1))
    cols = conv.im2col(x[np.newaxis], 3, 3, 1, 4, 3).reshape(12, 9)
    np.testing.assert_array_equal(cols[0], x[0:3, 0:3, 0].ravel())  # the first patch
    np.testing.assert_allclose(conv.conv2d(x, w), (cols @ w.reshape(2, 9).T).reshape(4, 3, 2),
                               atol=1e-12)


def test_uint8_image_is_accepted():
    image = np.full((4, 4), 200, dtype=np.uint8)
    out = conv.convolve(image, np.ones((2, 2)))
    np.testing.assert_allclose(out, np.full((3, 3), 800.0))  # no uint8 overflow


class TestErrors:
    def test_filter_deeper_than_image(self):
        with pytest.raises(ValueError, match=r"depth 3.*1 channel.*as deep as its input"):
            conv.conv2d(np.ones((5, 5, 1)), np.ones((2, 3, 3, 3)))

    def test_stride_does_not_tile(self):
        with pytest.raises(ValueError, match=r"along the height: stride=2 does not tile"):
            conv.conv2d(np.ones((6, 7, 1)), np.ones((1, 3, 3, 1)), stride=2)

    def test_filter_larger_than_image(self):
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv.convolve(np.ones((3, 3)), np.ones((4, 4)))

    def test_wrong_ranks(self):
        with pytest.raises(ValueError, match=r"x must have shape \(H, W, C\).*\(5, 5\)"):
            conv.conv2d(np.ones((5, 5)), np.ones((1, 3, 3, 1)))
        with pytest.raises(ValueError, match=r"w must have shape \(F, kh, kw, C\)"):
            conv.conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1)))
        with pytest.raises(ValueError, match=r"w must have shape \(kh, kw\)"):
            conv.convolve(np.ones((5, 5)), np.ones((1, 3, 3)))

    def test_bad_stride_and_padding(self):
        with pytest.raises(ValueError, match="stride must be a positive integer, got 0"):
            conv.convolve(np.ones((5, 5)), np.ones((3, 3)), stride=0)
        with pytest.raises(ValueError, match="padding must be a non-negative integer, got -1"):
            conv.convolve(np.ones((5, 5)), np.ones((3, 3)), padding=-1)

    def test_bias_shape(self):
        with pytest.raises(ValueError, match=r"b must have shape \(2,\), one bias per filter"):
            conv.conv_forward(np.ones((1, 5, 5, 1)), np.ones((2, 3, 3, 1)), np.ones(3))

    def test_not_numbers(self):
        with pytest.raises(TypeError, match="x must hold numbers"):
            conv.convolve(np.array([["a", "b"], ["c", "d"]]), np.ones((1, 1)))
