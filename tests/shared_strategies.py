"""Hypothesis strategies shared by the tests of the plain core and of the fast backend."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def conv_cases(draw):
    """(x, w, b, stride, padding) in float64 with a stride and padding that tile the input."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    out_h, out_w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # H = (H' - 1) * stride + kh - 2 * padding must be at least 1 (and at least kh - 2 * padding)
    h = (out_h - 1) * stride + kh - 2 * padding
    w_ = (out_w - 1) * stride + kw - 2 * padding
    if h < 1 or w_ < 1:
        padding = 0
        h, w_ = (out_h - 1) * stride + kh, (out_w - 1) * stride + kw
    n, c, f = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 3, 8])), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.standard_normal((n, h, w_, c)), rng.standard_normal((f, kh, kw, c)),
            rng.standard_normal(f), stride, padding)
