"""Hypothesis strategies shared by the tests."""

from hypothesis import strategies as st

small_floats = st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False)
positive_floats = st.floats(min_value=0.1, max_value=100, allow_nan=False)
small_lists = st.lists(small_floats, min_size=0, max_size=8)
