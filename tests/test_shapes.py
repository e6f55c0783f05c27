"""Chapter 03: the output-size formula."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import shapes
from minicnn.shapes import conv_output_shape, output_size, pool_output_shape

pytestmark = pytest.mark.ch03


@pytest.mark.parametrize(("w", "f", "s", "p", "expected"), [
    (10, 2, 1, 0, 9),     # the post's example, stride 1
    (10, 2, 2, 0, 5),     # ... and stride 2
    (5, 3, 2, 1, 3),      # 5 x 5 x 3 with padding 1 and stride 2 gives 3 x 3
    (28, 3, 1, 1, 28),    # "same" padding
    (7, 7, 1, 0, 1),      # the filter covers the whole input
    (1, 3, 1, 1, 1),
])
def test_hand_computed(w, f, s, p, expected):
    assert output_size(w, f, stride=s, padding=p) == expected
    assert isinstance(output_size(w, f, s, p), int)


def test_six_by_six_to_three_by_three_is_impossible():
    """The post's 6 x 6 x 3 -> 3 x 3 x 2 claim: no stride and padding give 3, although many
    settings are accepted (so a function that always raises fails here)."""
    accepted = {}
    for s in range(1, 7):
        for p in range(0, 4):
            try:
                accepted[s, p] = output_size(6, 3, s, p)
            except ValueError:
                assert (6 - 3 + 2 * p) % s != 0, (s, p)  # refused only when it does not tile
    assert 3 not in accepted.values()
    assert accepted[1, 0] == 4 and accepted[3, 0] == 2 and accepted[1, 1] == 6
    assert len(accepted) == sum((3 + 2 * p) % s == 0 for s in range(1, 7) for p in range(4))


def test_not_tiling_is_refused_with_the_numbers():
    with pytest.raises(ValueError, match=r"stride=2 does not tile.*\(6 - 3 \+ 2 \* 0\) / 2 = 1.5"):
        output_size(6, 3, stride=2)


def test_filter_larger_than_input():
    with pytest.raises(ValueError, match="filter_size=5 is larger than the padded input"):
        output_size(3, 5)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"stride": 0}, "stride"), ({"stride": -1}, "stride"), ({"padding": -1}, "padding"),
    ({"input_size": 0}, "input_size"), ({"filter_size": 0}, "filter_size"),
    ({"stride": 1.5}, "stride"), ({"padding": 0.5}, "padding"), ({"stride": True}, "stride"),
    ({"input_size": "10"}, "input_size"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"input_size": 10, "filter_size": 3, "stride": 1, "padding": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        output_size(**args)
    with pytest.raises((TypeError, ValueError), match=repr(kwargs[name]).replace(".", r"\.")):
        output_size(**args)


@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 5), st.integers(0, 4))
def test_formula_matches_counting_positions(w, f, s, p):
    """Counting where the filter fits agrees with the formula whenever it is accepted."""
    positions = [x for x in range(0, w + 2 * p - f + 1) if x % s == 0]
    fits = (w + 2 * p - f) >= 0 and (w + 2 * p - f) % s == 0
    if fits:
        assert output_size(w, f, s, p) == len(positions)
    else:
        with pytest.raises(ValueError):
            output_size(w, f, s, p)


def test_layer_shapes():
    assert conv_output_shape((28, 28, 1), 8, 3, 1, 1) == (28, 28, 8)
    assert conv_output_shape((5, 5, 3), 2, 3, 2, 1) == (3, 3, 2)
    assert pool_output_shape((28, 28, 8), 2, 2) == (14, 14, 8)
    assert pool_output_shape((7, 7, 16), 2, 2) == (3, 3, 16)  # windows that do not fit drop


def test_what_it_gives_says_the_size_or_why_not():
    """The notebook's checker for the 6 x 6 puzzle: numbers by hand, no exception."""
    assert shapes.what_it_gives(6, 3, stride=3) == "(6 - 3 + 2*0) / 3 + 1 = 2: a 2 x 2 map"
    assert shapes.what_it_gives(5, 3, 2, 1) == "(5 - 3 + 2*1) / 2 + 1 = 3: a 3 x 3 map"
    assert shapes.what_it_gives(6, 3, 2, 1).endswith("= 3.5: not a whole number, the filter "
                                                     "does not tile the input")
    assert "does not fit in 2 + 2*0 = 2 pixels" in shapes.what_it_gives(2, 5)
    with pytest.raises(ValueError, match="stride"):
        shapes.what_it_gives(6, 3, stride=0)
