"""Forward-mode autodiff (dual numbers) agrees with reverse mode and with central differences."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minitorch import Scalar, central_difference
from minitorch.forward_mode import Dual, derivative, gradient, jvp

moderate = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)


def mixed(x, y):  # written once, runs on Duals and on Scalars
    return (x * y + y.exp()).sigmoid() * x - x.relu() * y + (x * x + 1.0).log() / (y * y + 2.0)


def test_dual_rules_by_hand() -> None:
    a, b = Dual(3.0, 1.0), Dual(2.0, 0.5)
    assert a * b == Dual(6.0, 1.0 * 2.0 + 3.0 * 0.5)
    assert a / b == Dual(1.5, (1.0 * 2.0 - 3.0 * 0.5) / 4.0)
    assert (a - 1) == Dual(2.0, 1.0) and (1 - a) == Dual(-2.0, -1.0)
    assert a**3 == Dual(27.0, 27.0)
    assert Dual(-1.0, 5.0).relu() == Dual(0.0, 0.0)
    assert derivative(lambda x: x.sin(), 0.7) == pytest.approx(math.cos(0.7))
    assert derivative(lambda x: x.cos(), 0.7) == pytest.approx(-math.sin(0.7))
    assert derivative(lambda x: x.tanh(), 0.7) == pytest.approx(1 - math.tanh(0.7) ** 2)
    assert Dual(1000.0, 1.0).sigmoid().value == 1.0  # no overflow


@settings(max_examples=30)
@given(moderate, moderate)
def test_forward_gradient_matches_reverse_mode(x: float, y: float) -> None:
    forward = gradient(mixed, [x, y])
    xs = [Scalar(x), Scalar(y)]
    mixed(*xs).backward()
    for f, s in zip(forward, xs):
        assert f == pytest.approx(s.grad, rel=1e-9, abs=1e-12)


@settings(max_examples=30)
@given(moderate, moderate)
def test_forward_gradient_matches_central_difference(x: float, y: float) -> None:
    assume(abs(x) > 1e-3)  # relu's kink: a central difference across 0 averages both sides
    forward = gradient(mixed, [x, y])

    def plain(a: float, b: float) -> float:
        return mixed(Dual(a), Dual(b)).value

    for arg in range(2):
        assert forward[arg] == pytest.approx(central_difference(plain, x, y, arg=arg), rel=1e-4, abs=1e-5)


def test_jvp_is_a_directional_derivative() -> None:
    value, tangent = jvp(mixed, [0.3, -0.7], [2.0, -1.0])
    grad = gradient(mixed, [0.3, -0.7])
    assert value == mixed(Dual(0.3), Dual(-0.7)).value
    assert tangent == pytest.approx(2.0 * grad[0] - grad[1])
    with pytest.raises(ValueError, match="direction"):
        jvp(mixed, [0.3, -0.7], [1.0])
