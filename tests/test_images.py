"""Tests for minicnn.images (chapter 01): hand-computed values for each function."""

from pathlib import Path

import numpy as np
import pytest

from minicnn import images
from minicnn.grade.chapters import ch02_convolution as reference

pytestmark = pytest.mark.ch01


# --- sample photographs -------------------------------------------------------------------

def test_grace_hopper_is_a_colour_uint8_photo():
    x = images.sample_photo()
    assert x.shape == (600, 512, 3)
    assert x.dtype == np.uint8
    assert x.min() < 30 and x.max() > 225  # a real photo spans dark to bright
    # colour: the three channels are not all the same
    assert np.abs(x[..., 0].astype(int) - x[..., 2].astype(int)).mean() > 5


def test_brain_mri_is_grayscale_repeated_into_three_channels():
    x = images.sample_photo("brain_mri")
    assert x.shape == (256, 256, 3)
    assert x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], x[..., 1])
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    assert x.max() == 215  # the scan's brightest value, stored as 16-bit big-endian 215


@pytest.mark.parametrize("name", list(images.SAMPLE_PHOTOS))
def test_every_listed_photo_loads(name):
    x = images.sample_photo(name)
    assert x.ndim == 3 and x.shape[2] == 3 and x.dtype == np.uint8


def test_unknown_photo_lists_the_choices():
    with pytest.raises(ValueError, match=r"name must be one of 'grace_hopper', 'brain_mri', "
                                         r"got 'cat'"):
        images.sample_photo("cat")


@pytest.mark.ch09
@pytest.mark.parametrize("name", list(images.SHIPPED_PHOTOS))
def test_shipped_photos_load_with_their_source_and_licence(name):
    x = images.shipped_photo(name)
    assert x.ndim == 3 and x.shape[2] == 3 and x.dtype == np.uint8
    assert max(x.shape[:2]) == 192 and x.min() < x.max()
    readme = (Path(images.__file__).parent / "data" / "photos" / "README.md").read_text()
    what, source, licence = images.SHIPPED_PHOTOS[name]
    row = next(line for line in readme.splitlines() if f"`{name}.png`" in line)
    assert licence in row.replace("CC0, by", "CC0 by") or licence.split()[0] in row


@pytest.mark.ch09
def test_unknown_shipped_photo_lists_the_choices():
    with pytest.raises(ValueError, match=r"name must be one of 'chelsea'.*got 'dog'"):
        images.shipped_photo("dog")


# --- the diagonal toy image ---------------------------------------------------------------

def test_diagonal_image_has_only_right_sloping_lines():
    x = images.diagonal_image()
    assert x.shape == (10, 10) and x.dtype == np.float64
    assert set(np.unique(x)) == {0.0, 1.0}
    rows, cols = np.nonzero(x)
    # right-sloping (bottom-left to top-right): row + col is constant along each line
    assert set((rows + cols).tolist()) == {5, 10, 15}
    assert x.sum() == 5 + 8 + 4
    assert images.diagonal_image(with_channel=True).shape == (10, 10, 1)


def test_diagonal_filter_is_the_anti_diagonal():
    expected = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float)
    np.testing.assert_array_equal(images.diagonal_filter(), expected)
    w = images.diagonal_filter(with_channel=True)
    assert w.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(w[0, :, :, 0], expected)


def test_feature_map_peaks_at_3_on_the_lines():
    fm = reference.correlate(images.diagonal_image(), images.diagonal_filter())
    assert fm.shape == (8, 8)
    assert fm.max() == 3.0
    peaks = sorted(zip(*np.nonzero(fm == 3), strict=True))
    expected = [(1, 2), (2, 1), (3, 0),                              # the 5-pixel line
                (1, 7), (2, 6), (3, 5), (4, 4), (5, 3), (6, 2),      # the 8-pixel line
                (6, 7), (7, 6)]                                      # the 4-pixel line
    assert [tuple(map(int, p)) for p in peaks] == sorted(expected)


def test_the_filter_ignores_a_left_sloping_line():
    x = np.eye(10)  # top-left to bottom-right
    assert reference.correlate(x, images.diagonal_filter()).max() == 1.0


# --- letters and placing them -------------------------------------------------------------

def test_letter_x_is_both_diagonals():
    expected = np.maximum(np.eye(7), np.fliplr(np.eye(7)))
    np.testing.assert_array_equal(images.letter("x"), expected)


@pytest.mark.parametrize("char", images.LETTERS)
def test_letters_are_binary_7x7_and_scale_by_whole_pixels(char):
    small = images.letter(char)
    assert small.shape == (7, 7) and set(np.unique(small)) == {0.0, 1.0}
    big = images.letter(char, size=21)
    assert big.shape == (21, 21)
    np.testing.assert_array_equal(big[::3, ::3], small)            # each pixel became 3 x 3
    np.testing.assert_array_equal(big, np.repeat(np.repeat(small, 3, 0), 3, 1))


def test_letters_differ_from_each_other():
    letters = [images.letter(c) for c in images.LETTERS]
    for i in range(len(letters)):
        for j in range(i + 1, len(letters)):
            assert not np.array_equal(letters[i], letters[j])


def test_letter_errors():
    with pytest.raises(ValueError, match=r"char must be one of 'a', 'o', 'x', 't', got 'q'"):
        images.letter("q")
    with pytest.raises(ValueError, match=r"size must be a multiple of 7 .* got 10"):
        images.letter("a", size=10)
    with pytest.raises(ValueError, match="size must be a positive integer, got 0"):
        images.letter("a", size=0)
    with pytest.raises(TypeError, match="size must be a positive integer, got '7'"):
        images.letter("a", size="7")


def test_place_by_hand():
    out = images.place([[1, 2], [3, 4]], (3, 4), top=1, left=2)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]])
    assert out.dtype == np.float64


def test_place_shifts_the_pattern():
    a = images.letter("a")
    base = images.place(a, (20, 20), 5, 4)
    moved = images.place(a, (20, 20), 7, 10)
    np.testing.assert_array_equal(np.roll(base, (2, 6), axis=(0, 1)), moved)
    assert base.sum() == a.sum() == moved.sum()


def test_place_on_channels():
    out = images.place(np.ones((2, 2)), (3, 3, 2), 0, 1)
    assert out.shape == (3, 3, 2)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    rgb = np.arange(12.0).reshape(2, 2, 3)
    out = images.place(rgb, (4, 4), 2, 2)
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[2:, 2:], rgb)
    assert out[:2].sum() == 0 and out[:, :2].sum() == 0


def test_place_errors():
    a = images.letter("a")
    with pytest.raises(ValueError, match=r"does not fit on the 10 x 10 canvas at top=4; "
                                         r"use top between 0 and 3"):
        images.place(a, (10, 10), 4, 0)
    with pytest.raises(ValueError, match=r"left=5; use left between 0 and 3"):
        images.place(a, (10, 10), 0, 5)
    with pytest.raises(ValueError, match="larger than the canvas"):
        images.place(a, (5, 5), 0, 0)
    with pytest.raises(ValueError, match="top must be a non-negative integer, got -1"):
        images.place(a, (10, 10), -1, 0)
    with pytest.raises(ValueError, match="canvas_shape must be"):
        images.place(a, 10, 0, 0)
    with pytest.raises(ValueError, match="pattern has 3 channels but canvas_shape"):
        images.place(np.ones((2, 2, 3)), (4, 4, 2), 0, 0)


# --- grayscale ----------------------------------------------------------------------------

def test_to_grayscale_by_hand():
    x = np.array([[[10, 20, 30], [255, 0, 0]],
                  [[255, 255, 255], [0, 0, 0]]], dtype=np.uint8)
    # 0.299*10 + 0.587*20 + 0.114*30 = 2.99 + 11.74 + 3.42 = 18.15; pure red: 0.299*255
    expected = np.array([[18.15, 76.245], [255.0, 0.0]])
    out = images.to_grayscale(x)
    assert out.shape == (2, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_to_grayscale_drops_alpha_and_keeps_float_scale():
    x = np.array([[[0.5, 0.5, 0.5, 0.0], [0.0, 1.0, 0.0, 1.0]]])
    np.testing.assert_allclose(images.to_grayscale(x), [[0.5, 0.587]], rtol=0, atol=1e-12)


def test_to_grayscale_of_the_photo_is_in_range():
    g = images.to_grayscale(images.sample_photo())
    assert g.shape == (600, 512)
    assert 0.0 <= g.min() and g.max() <= 255.0


def test_to_grayscale_errors():
    with pytest.raises(ValueError, match=r"got \(4, 4\); it looks grayscale already"):
        images.to_grayscale(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) or \(H, W, 4\).*got \(4, 4, 2\)"):
        images.to_grayscale(np.zeros((4, 4, 2)))
    with pytest.raises(TypeError, match="image must hold numbers"):
        images.to_grayscale(np.full((2, 2, 3), "a"))


# --- shuffling ----------------------------------------------------------------------------

def test_shuffle_keeps_each_pixels_channels_together():
    h, w = 6, 5
    k = np.arange(h * w).reshape(h, w)
    x = np.stack([k, k + 1000, k + 2000], axis=-1)
    out = images.shuffle_pixels(x, seed=3)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out[..., 1] - out[..., 0], 1000)
    np.testing.assert_array_equal(out[..., 2] - out[..., 0], 2000)
    # the same pixels, in another order
    np.testing.assert_array_equal(np.sort(out[..., 0].ravel()), k.ravel())
    assert not np.array_equal(out, x)


def test_shuffle_is_the_documented_permutation():
    x = np.arange(9).reshape(3, 3)
    expected = np.random.default_rng(0).permutation(9).reshape(3, 3)
    np.testing.assert_array_equal(images.shuffle_pixels(x), expected)


def test_shuffle_is_deterministic_for_a_seed():
    photo = images.sample_photo()
    a = images.shuffle_pixels(photo, seed=1)
    np.testing.assert_array_equal(a, images.shuffle_pixels(photo, seed=1))
    assert not np.array_equal(a, images.shuffle_pixels(photo, seed=2))
    # same histogram per channel, so only the order carried the picture
    for c in range(3):
        np.testing.assert_array_equal(np.bincount(a[..., c].ravel(), minlength=256),
                                      np.bincount(photo[..., c].ravel(), minlength=256))


def test_shuffle_errors():
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\), got \(2, 2, 2, 2\)"):
        images.shuffle_pixels(np.zeros((2, 2, 2, 2)))
