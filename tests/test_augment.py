"""Data augmentation: shifts and flips, seeded (chapter 10)."""

import numpy as np
import pytest

from minicnn.augment import Augment, flip_images, shift_images
from minicnn.layers import Dense, Flatten
from minicnn.network import Sequential
from minicnn.optim import SGD
from minicnn.train import fit

pytestmark = pytest.mark.ch10


def _image():
    return np.arange(1.0, 10.0).reshape(1, 3, 3, 1)   # 1 2 3 / 4 5 6 / 7 8 9


def test_shift_hand_computed():
    out = shift_images(np.concatenate([_image(), _image()]), np.array([1, 0]), np.array([0, -1]))
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 0, 0], [1, 2, 3], [4, 5, 6]])  # down 1
    np.testing.assert_array_equal(out[1, :, :, 0], [[2, 3, 0], [5, 6, 0], [8, 9, 0]])  # left 1
    np.testing.assert_array_equal(shift_images(_image(), [0], [0]), _image())


def test_flip_hand_computed():
    x = np.concatenate([_image(), _image()])
    out = flip_images(x, np.array([True, False]))
    np.testing.assert_array_equal(out[0, :, :, 0], [[3, 2, 1], [6, 5, 4], [9, 8, 7]])
    np.testing.assert_array_equal(out[1], x[1])
    np.testing.assert_array_equal(x[0], _image()[0])   # the input is left alone


def test_augment_is_seeded_and_varied():
    x = np.random.default_rng(0).random((64, 8, 8, 2)).astype(np.float32)
    aug = Augment(max_shift=2)
    a = aug(x, np.random.default_rng(1))
    np.testing.assert_array_equal(a, aug(x, np.random.default_rng(1)))
    assert not np.array_equal(a, aug(x, np.random.default_rng(2)))
    assert a.shape == x.shape and a.dtype == np.float32
    unchanged = [np.array_equal(a[i], x[i]) for i in range(64)]
    assert sum(unchanged) < 10       # (1/25 chance of no shift) * (1/2 no flip) per image
    np.testing.assert_array_equal(Augment(0, flip=False)(x, np.random.default_rng(0)), x)


def test_shifts_stay_within_max_shift():
    x = np.zeros((200, 9, 9, 1))
    x[:, 4, 4, 0] = 1.0                                # one bright pixel in the centre
    out = Augment(max_shift=2, flip=False)(x, np.random.default_rng(3))
    rows, cols = np.nonzero(out[..., 0])[1:]
    assert len(rows) == 200
    assert set(rows - 4) == set(cols - 4) == {-2, -1, 0, 1, 2}


def test_fit_applies_augment_to_every_batch_reproducibly():
    rng = np.random.default_rng(4)
    x = rng.random((30, 4, 4, 1)).astype(np.float32)
    y = rng.integers(0, 2, 30)
    seen = []

    def spy(xb, rng):
        seen.append(len(xb))
        return Augment(1)(xb, rng)

    runs = []
    for _ in range(2):
        model = Sequential([Flatten(), Dense(16, 2, seed=0)])
        fit(model, x, y, 2, 10, SGD(0.1), progress=False, augment=spy)
        runs.append(model.layers[1].params["w"].copy())
    assert seen == [10] * 12
    np.testing.assert_array_equal(runs[0], runs[1])
    plain = Sequential([Flatten(), Dense(16, 2, seed=0)])
    fit(plain, x, y, 2, 10, SGD(0.1), progress=False)
    assert not np.array_equal(plain.layers[1].params["w"], runs[0])
    with pytest.raises(TypeError, match="augment must be a function"):
        fit(plain, x, y, 1, 10, SGD(0.1), progress=False, augment=2)
