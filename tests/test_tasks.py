"""The notebooks' predict-first tasks (minicnn.tasks), the validation split and the spread of
repeated runs: what a learner sees after each try."""

import numpy as np
import pytest

from minicnn.datasets import split_validation
from minicnn.experiments import spread
from minicnn.tasks import Task

pytestmark = pytest.mark.ch01


def _task(**kw):
    return Task("The value at row 1, column 2", answer=lambda: np.int64(3),
                hint="add the nine products", **kw)


def test_a_blank_answer_is_not_a_try():
    task = _task()
    assert "in place of `...`" in task.reply(...)
    assert "in place of `...`" in task.reply(None)
    assert task.tries == 0


def test_wrong_tries_help_more_and_the_third_shows_the_answer():
    task = _task(explain="1 + 2 = 3.")
    first = task.reply(5)
    assert "Not yet" in first and "Too high." in first and "Hint: add the nine" in first
    assert " 3" not in first.replace("column 2", "")  # the answer is not shown yet
    second = task.reply(1)
    assert "Too low." in second and "One more try" in second
    third = task.reply(2)
    assert "The answer is 3. 1 + 2 = 3." in third and not task.solved
    assert task.reply(3) == "Right: the value at row 1, column 2 is 3. 1 + 2 = 3."
    assert task.solved and task.answer == 3 and isinstance(task.answer, int)


def test_a_named_mistake_is_said():
    task = _task(mistakes={0: "0 is what no overlap gives."})
    assert "0 is what no overlap gives." in task.reply(0)
    arrays = Task("The pooled map", answer=np.array([[1, 2], [3, 4]]), hint="h",
                  mistakes=[(np.array([[1, 1], [1, 1]]), "that is the window's smallest value")])
    assert "smallest value" in arrays.reply([[1, 1], [1, 1]])


def test_rounded_numbers_pass_and_far_ones_do_not():
    def solved(guess):
        task = Task("The probability of class 0", answer=0.731059, hint="h")
        task.reply(guess)
        return task.solved
    assert solved(0.73) and solved(0.7311) and not solved(0.72)


@pytest.mark.parametrize("guess, says", [
    ((3, 3), "3 numbers; yours has 2"),
    ((3, 4, 2), "The second number is off"),
    (9, "The answer is a shape"),
])
def test_shapes(guess, says):
    task = Task("The output shape", answer=(3, 3, 2), hint="h")
    assert says in task.reply(guess)
    assert "Right" in Task("The output shape", answer=(3, 3, 2), hint="h").reply([3, 3, 2])


def test_arrays_say_how_many_values_are_off_and_where():
    task = Task("The pooled map", answer=np.array([[1.0, 2.0], [3.0, 4.0]]), hint="h")
    assert "1 of 4 values are off, the first at position (1, 1)" in task.reply([[1, 2], [3, 5]])
    assert "shape (2, 2); yours has shape (3,)" in task.reply(np.zeros(3))
    assert "a numbers, not" not in task.reply("four")


def test_words():
    task = Task("Your answer", answer="yes", hint="h")
    assert "Not yet" in task.reply("no") and not task.solved
    assert task.reply(" Yes ") == "Right: your answer is 'yes'." and task.solved


def test_check_prints_the_reply_and_returns_nothing(capsys):
    task = Task("The output shape", answer=(3, 3, 2), hint="h")
    assert task.check((3, 3, 2)) is None
    assert capsys.readouterr().out == "Right: the output shape is (3, 3, 2).\n"


def test_split_validation_keeps_classes_balanced_disjoint_and_seeded():
    x = np.arange(200, dtype=float).reshape(200, 1)
    y = np.repeat(np.arange(4), 50)
    (xt, yt), (xv, yv) = split_validation(x, y, fraction=0.2, seed=3)
    assert len(xv) == 40 and len(xt) == 160
    assert np.bincount(yv).tolist() == [10, 10, 10, 10]
    assert not set(xv[:, 0]) & set(xt[:, 0])
    assert sorted(np.concatenate([xv, xt])[:, 0]) == list(range(200))
    again = split_validation(x, y, fraction=0.2, seed=3)
    np.testing.assert_array_equal(again[1][0], xv)
    other = split_validation(x, y, fraction=0.2, seed=4)
    assert not np.array_equal(other[1][0], xv)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_split_validation_refuses_a_fraction_outside_0_1(fraction):
    with pytest.raises(ValueError, match=r"fraction must lie strictly between 0 and 1, got"):
        split_validation(np.zeros((10, 1)), np.zeros(10, int), fraction=fraction)


def test_split_validation_refuses_unequal_lengths():
    with pytest.raises(ValueError, match="10 images and 9 labels"):
        split_validation(np.zeros((10, 1)), np.zeros(9, int))


def test_spread():
    s = spread([0.80, 0.82, 0.84])
    assert s.mean == pytest.approx(0.82) and s.std == pytest.approx(0.02)
    assert (s.low, s.high, s.n) == (0.80, 0.84, 3)
    assert str(s) == "82.0% +- 2.0 (80.0 to 84.0), 3 runs"
    assert str(spread([2.0, 4.0])) == "3.0 +- 1.4 (2.0 to 4.0), 2 runs"
    with pytest.raises(ValueError, match="at least one value"):
        spread([])
