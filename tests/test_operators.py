"""Module 0: the scalar operators and the higher-order functions, checked as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minitorch import operators
from minitorch.operators import (
    add,
    addLists,
    eq,
    exp,
    id,
    inv,
    inv_back,
    is_close,
    log,
    log_back,
    lt,
    map,
    max,
    mul,
    neg,
    negList,
    prod,
    reduce,
    relu,
    relu_back,
    sigmoid,
    sum,
    zipWith,
)

from .strategies import positive_floats, small_floats, small_lists


@pytest.mark.task0_1
@given(small_floats, small_floats)
def test_arithmetic(x: float, y: float) -> None:
    assert mul(x, y) == x * y
    assert add(x, y) == x + y
    assert neg(x) == -x
    assert id(x) == x
    assert max(x, y) == (x if x > y else y)


@pytest.mark.task0_1
@given(small_floats, small_floats)
def test_comparisons(x: float, y: float) -> None:
    assert lt(x, y) == (1.0 if x < y else 0.0)
    assert eq(x, y) == (1.0 if x == y else 0.0)
    assert lt(x, x) == 0.0 and eq(x, x) == 1.0
    assert is_close(x, x + 1e-3) == 1.0
    assert is_close(x, y) == (1.0 if abs(x - y) < 1e-2 else 0.0)


@pytest.mark.task0_1
@given(small_floats)
def test_sigmoid_properties(x: float) -> None:
    """0 ≤ σ(x) ≤ 1, σ(-x) = 1 - σ(x), σ(0) = 1/2, and σ is increasing."""
    assert 0.0 <= sigmoid(x) <= 1.0
    assert sigmoid(-x) == pytest.approx(1.0 - sigmoid(x), abs=1e-12)
    assert sigmoid(x + 1.0) >= sigmoid(x)
    assert sigmoid(x) == pytest.approx(1.0 / (1.0 + math.exp(-x)), rel=1e-12)


@pytest.mark.task0_1
def test_sigmoid_stable_for_large_inputs() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(-1000.0) == 0.0  # the naive 1/(1+e^1000) overflows
    assert sigmoid(-745.0) > 0.0


@pytest.mark.task0_1
@given(small_floats, small_floats)
def test_relu_and_its_derivative(x: float, d: float) -> None:
    assert relu(x) == (x if x > 0 else 0.0)
    assert relu_back(x, d) == (d if x > 0 else 0.0)


@pytest.mark.task0_1
@given(positive_floats, small_floats)
def test_log_inv_and_derivatives(x: float, d: float) -> None:
    assert log(x) == pytest.approx(math.log(x))
    assert exp(log(x)) == pytest.approx(x)
    assert inv(x) == pytest.approx(1.0 / x)
    assert log_back(x, d) == pytest.approx(d / x)
    assert inv_back(x, d) == pytest.approx(-d / x**2)


@pytest.mark.task0_1
@given(positive_floats, small_floats)
def test_backward_helpers_match_central_difference(x: float, d: float) -> None:
    h = 1e-6 * x
    assert log_back(x, d) == pytest.approx(d * (log(x + h) - log(x - h)) / (2 * h), rel=1e-4, abs=1e-6)
    assert inv_back(x, d) == pytest.approx(d * (inv(x + h) - inv(x - h)) / (2 * h), rel=1e-4, abs=1e-6)


@pytest.mark.task0_1
def test_ieee_edge_cases() -> None:
    """Like numpy: no Python exceptions, infinities and NaN instead."""
    assert log(0.0) == -math.inf
    assert math.isnan(log(-1.0))
    assert exp(1000.0) == math.inf
    assert inv(0.0) == math.inf and inv(-0.0) == -math.inf


@pytest.mark.task0_2
@given(small_lists)
def test_map_and_negList(values: list[float]) -> None:
    assert map(lambda v: v * 2)(values) == [v * 2 for v in values]
    assert negList(values) == [-v for v in values]


@pytest.mark.task0_2
@given(st.lists(st.tuples(small_floats, small_floats), max_size=8))
def test_zipWith_and_addLists(pairs: list[tuple[float, float]]) -> None:
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    assert zipWith(mul)(xs, ys) == [x * y for x, y in pairs]
    assert addLists(xs, ys) == [x + y for x, y in pairs]


@pytest.mark.task0_2
def test_zipWith_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        zipWith(add)([1.0, 2.0], [1.0])


@pytest.mark.task0_2
@given(small_lists)
def test_sum_and_prod(values: list[float]) -> None:
    assert sum(values) == pytest.approx(math.fsum(values), abs=1e-9)
    assert prod(values) == pytest.approx(math.prod(values), rel=1e-9)
    assert sum([]) == 0.0 and prod([]) == 1.0


@pytest.mark.task0_2
def test_reduce_folds_from_the_left() -> None:
    assert reduce(lambda acc, x: acc * 10 + x, 0.0)([1.0, 2.0, 3.0]) == 123.0
    assert reduce(add, 5.0)([]) == 5.0


@pytest.mark.task0_2
@given(small_lists, small_lists)
def test_sum_distributes(xs: list[float], ys: list[float]) -> None:
    """sum(xs + ys) = sum(xs) + sum(ys) for lists of equal length."""
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    assert sum(addLists(xs, ys)) == pytest.approx(sum(xs) + sum(ys), abs=1e-9)


def test_operators_module_exports_course_names() -> None:
    for name in [
        "mul",
        "id",
        "add",
        "neg",
        "lt",
        "eq",
        "max",
        "is_close",
        "sigmoid",
        "relu",
        "log",
        "exp",
        "inv",
        "log_back",
        "inv_back",
        "relu_back",
        "map",
        "zipWith",
        "reduce",
        "negList",
        "addLists",
        "sum",
        "prod",
    ]:
        assert callable(getattr(operators, name))
