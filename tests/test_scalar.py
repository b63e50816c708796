"""Module 1: Scalar ops — forward values, and every derivative against central differences."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minitorch import Scalar, central_difference, derivative_check, operators

from .strategies import small_floats

UNGRADED = pytest.mark.ungraded  # a case that runs only given code: it counts for no task (conftest.py)

# name -> (scalar function, plain-float reference, domain of its inputs)
ONE_ARG: dict[str, tuple[Callable, Callable, st.SearchStrategy]] = {
    "neg": (lambda a: -a, lambda a: -a, small_floats),
    "add_const": (lambda a: a + 2.5, lambda a: a + 2.5, small_floats),
    "radd_const": (lambda a: 2.5 + a, lambda a: 2.5 + a, small_floats),
    "sub_const": (lambda a: a - 2.5, lambda a: a - 2.5, small_floats),
    "rsub_const": (lambda a: 2.5 - a, lambda a: 2.5 - a, small_floats),
    "mul_const": (lambda a: a * 3.0, lambda a: a * 3.0, small_floats),
    "div_const": (lambda a: a / 4.0, lambda a: a / 4.0, small_floats),
    "rdiv_const": (lambda a: 4.0 / a, lambda a: 4.0 / a, st.floats(0.5, 50)),
    "square": (lambda a: a * a, lambda a: a * a, small_floats),
    "cube": (lambda a: a * a * a, lambda a: a**3, st.floats(-10, 10)),
    "log": (lambda a: a.log(), math.log, st.floats(0.1, 100)),
    "exp": (lambda a: a.exp(), math.exp, st.floats(-20, 5)),
    "sigmoid": (lambda a: a.sigmoid(), operators.sigmoid, small_floats),
    "relu": (lambda a: a.relu(), operators.relu, small_floats.filter(lambda v: abs(v) > 1e-3)),
    "log_sigmoid": (lambda a: a.sigmoid().log(), lambda a: math.log(operators.sigmoid(a)), st.floats(-10, 10)),
}

# Add is the worked example the student is given: its forward cases count for no task.
GIVEN = {"add_const", "radd_const", "add"}
TWO_ARG: dict[str, tuple[Callable, Callable, st.SearchStrategy]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, small_floats),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, small_floats),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, small_floats),
    "div": (lambda a, b: a / b, lambda a, b: a / b, st.floats(0.5, 50)),
    "lt": (lambda a, b: a < b, lambda a, b: float(a < b), small_floats),
    "gt": (lambda a, b: a > b, lambda a, b: float(a > b), small_floats),
    "eq": (lambda a, b: a == b, lambda a, b: float(a == b), small_floats),
    "mixed": (lambda a, b: (a * b + a).sigmoid() * b, lambda a, b: operators.sigmoid(a * b + a) * b, st.floats(-5, 5)),
}


@pytest.mark.task1_2
@pytest.mark.parametrize("name", [pytest.param(n, marks=UNGRADED) if n in GIVEN else n for n in ONE_ARG])
@given(data=st.data())
def test_one_arg_forward(name: str, data: st.DataObject) -> None:
    fn, reference, domain = ONE_ARG[name]
    a = data.draw(domain)
    assert fn(Scalar(a)).data == pytest.approx(reference(a), rel=1e-9, abs=1e-12)


@pytest.mark.task1_2
@pytest.mark.parametrize("name", [pytest.param(n, marks=UNGRADED) if n in GIVEN else n for n in TWO_ARG])
@given(data=st.data())
def test_two_arg_forward(name: str, data: st.DataObject) -> None:
    fn, reference, domain = TWO_ARG[name]
    a, b = data.draw(domain), data.draw(domain)
    assert fn(Scalar(a), Scalar(b)).data == pytest.approx(reference(a, b), rel=1e-9, abs=1e-12)


def path_sum_gradients(out: Scalar) -> dict[int, float]:
    """d out / d leaf for every leaf below `out`, by the chain rule's definition: the sum over
    every path from `out` down to the leaf of the local derivatives multiplied along it, each
    step one op's `chain_rule`. Walks every path anew (exponential in general; these graphs
    are a few ops), so task 1.3 is tested without task 1.4's backward pass."""
    gradients: dict[int, float] = {}

    def walk(node: Scalar, d_node: float) -> None:
        if node.is_leaf:
            gradients[node.unique_id] = gradients.get(node.unique_id, 0.0) + d_node
            return
        for parent, d_parent in node.chain_rule(d_node):
            walk(parent, d_parent)

    walk(out, 1.0)
    return gradients


def chain_rule_check(fn: Callable, *values: float, tol: float = 1e-4) -> None:
    """Each input's path-sum derivative of `fn` against the central difference (task 1.1),
    within `derivative_check`'s tolerance: tol * max(1, |expected|)."""
    inputs = [Scalar(v) for v in values]
    gradients = path_sum_gradients(fn(*inputs))
    for i, x in enumerate(inputs):
        expected = central_difference(lambda *v: fn(*(Scalar(a) for a in v)).data, *values, arg=i)
        got = gradients.get(x.unique_id, 0.0)
        assert abs(got - expected) <= tol * max(1.0, abs(expected)), (
            f"argument {i} at {values}: the chain rule gives {got}, central difference {expected}"
        )


@pytest.mark.task1_3
@pytest.mark.parametrize("name", ONE_ARG)
@given(data=st.data())
def test_one_arg_derivative(name: str, data: st.DataObject) -> None:
    fn, _, domain = ONE_ARG[name]
    chain_rule_check(fn, data.draw(domain))


@pytest.mark.task1_3
@pytest.mark.parametrize("name", TWO_ARG)
@given(data=st.data())
def test_two_arg_derivative(name: str, data: st.DataObject) -> None:
    fn, _, domain = TWO_ARG[name]
    a, b = data.draw(domain), data.draw(domain)
    assume(abs(a - b) > 1e-3)  # comparisons jump at a == b: no derivative there
    chain_rule_check(fn, a, b)


# The same ops through `backward()` (task 1.4's engine with every op: counts for no task, since
# it needs tasks 1.2-1.4 together; test_autodiff.py grades the engine on its own).
@pytest.mark.parametrize("name", ONE_ARG)
@given(data=st.data())
def test_one_arg_backward_matches_central_difference(name: str, data: st.DataObject) -> None:
    fn, _, domain = ONE_ARG[name]
    derivative_check(fn, Scalar(data.draw(domain)))


@pytest.mark.parametrize("name", TWO_ARG)
@given(data=st.data())
def test_two_arg_backward_matches_central_difference(name: str, data: st.DataObject) -> None:
    fn, _, domain = TWO_ARG[name]
    a, b = data.draw(domain), data.draw(domain)
    assume(abs(a - b) > 1e-3)
    derivative_check(fn, Scalar(a), Scalar(b))


@pytest.mark.task1_3
def test_chain_rule_sends_each_parent_its_gradient() -> None:
    x, y = Scalar(2.0), Scalar(5.0)
    z = x * y
    sent = dict((parent.unique_id, grad) for parent, grad in z.chain_rule(3.0))
    assert sent == {x.unique_id: 15.0, y.unique_id: 6.0}


@pytest.mark.task1_3
def test_chain_rule_skips_constants() -> None:
    x = Scalar(2.0)
    z = x * 10.0
    assert [(p.unique_id, g) for p, g in z.chain_rule(1.0)] == [(x.unique_id, 10.0)]


@pytest.mark.task1_2
def test_ops_record_history() -> None:
    x, y = Scalar(2.0), Scalar(3.0)
    z = x * y
    assert z.history.last_fn.__name__ == "Mul"
    assert z.parents == (x, y)
    assert not z.is_leaf and x.is_leaf


def test_derivative_check_detects_a_wrong_derivative() -> None:
    from minitorch.scalar_functions import ScalarFunction

    class WrongSquare(ScalarFunction):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, d):
            (a,) = ctx.saved_values
            return a * d  # should be 2a

    with pytest.raises(AssertionError, match="central difference"):
        derivative_check(lambda s: WrongSquare.apply(s), Scalar(3.0))


def test_backward_matches_central_difference_on_a_formula() -> None:
    def f(a: float, b: float) -> float:
        return math.log(operators.sigmoid(a * b) + 1.0) * a

    x, y = Scalar(0.7), Scalar(-1.3)
    out = ((x * y).sigmoid() + 1.0).log() * x
    out.backward()
    assert x.grad == pytest.approx(central_difference(f, 0.7, -1.3, arg=0), rel=1e-6)
    assert y.grad == pytest.approx(central_difference(f, 0.7, -1.3, arg=1), rel=1e-6)


def test_scalar_rejects_non_numbers() -> None:
    with pytest.raises(TypeError, match=r"expected a real number.*'abc'.*str"):
        Scalar("abc")
    with pytest.raises(TypeError, match="Mul.*list"):
        Scalar(1.0) * [1.0]
    with pytest.raises(TypeError, match="bool"):
        Scalar(True)


def test_scalar_basics() -> None:
    x = Scalar(2)
    assert x.data == 2.0 and isinstance(x.data, float)
    assert x.grad is None
    assert repr(x) == "Scalar(2)"
    assert float(x) == 2.0
    assert bool(Scalar(1.0) < 2.0)
    assert len({x, x, Scalar(2.0)}) == 2  # hashed by identity, not value


def test_nan_and_inf_propagate_instead_of_raising() -> None:
    assert Scalar(0.0).log().data == -math.inf
    assert (Scalar(1.0) / 0.0).data == math.inf
    assert math.isnan((Scalar(0.0) / 0.0).data)
