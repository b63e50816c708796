"""Module 1 — `Scalar`: one float that remembers how it was computed, so it can differentiate.

x = Scalar(2.0)
y = x * x + x          # builds a graph: Mul, Add
y.backward()           # dy/dx = 2x + 1
x.grad                 # 5.0
"""

from __future__ import annotations

import numbers
from typing import Any, Union

from .autodiff import GraphValue, History, backpropagate, new_id
from .scalar_functions import (
    EQ,
    LT,
    Add,
    Exp,
    Inv,
    Log,
    Mul,
    Neg,
    ReLU,
    Sigmoid,
)

ScalarLike = Union[float, int, "Scalar"]


def as_scalar(value: ScalarLike, op: str = "Scalar") -> Scalar:
    """Scalars pass through; plain numbers become constants (no gradient); anything else errors."""
    if isinstance(value, Scalar):
        return value
    return Scalar(_check_number(value, op), requires_grad=False)


def _check_number(value: Any, op: str) -> float:
    if type(value) is float:  # the common case, checked first because it is cheapest
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{op}: expected a real number (float or int) or a Scalar, got {value!r} of type {type(value).__name__}"
        )
    return float(value)


class Scalar(GraphValue):
    """A float in a computation graph.

    `data` is the number, `grad` the accumulated d(output)/d(this) after `backward()`
    (None before). Made by hand, a Scalar is a leaf that requires grad; plain numbers
    mixed into ops become constants.
    """

    __slots__ = ("data", "history", "grad", "name", "unique_id")

    def __init__(
        self,
        value: float,
        history: History | None = None,
        requires_grad: bool = True,
        name: str | None = None,
    ) -> None:
        self.data = _check_number(value, "Scalar")
        self.history = history if history is not None else (History() if requires_grad else None)
        self.grad: float | None = None
        self.name = name
        self.unique_id = new_id()

    @classmethod
    def from_op(cls, value: float, history: History | None) -> Scalar:
        """The output of an op: `value` is already a float, so skip the checks of __init__."""
        out = cls.__new__(cls)
        out.data, out.history, out.grad, out.name, out.unique_id = value, history, None, None, new_id()
        return out

    # -- the Variable protocol the engine uses ---------------------------------

    def accumulate_derivative(self, d: float) -> None:
        """Leaves sum the gradient from every path: `grad += d`."""
        self.grad = d if self.grad is None else self.grad + d

    # `chain_rule` comes from GraphValue: the op's backward, pairing each input with its gradient.

    def local_derivatives(self) -> list[float]:
        """d(this)/d(input) for each non-constant input: the chain rule applied to 1.0."""
        return [g for _, g in self.chain_rule(1.0)]

    def backward(self, d_output: float = 1.0, retain_graph: bool = False) -> None:
        """Fill `.grad` of every leaf this value depends on with d(self)/d(leaf)."""
        if self.history is None:
            raise RuntimeError(
                f"backward() on {self!r}: it does not require grad and was not computed from "
                "values that do; make the inputs with Scalar(x) (requires_grad=True)"
            )
        backpropagate(self, _check_number(d_output, "backward"), retain_graph=retain_graph)

    def zero_grad_(self) -> None:
        self.grad = None

    def detach(self) -> Scalar:
        """The same number, cut from the graph (a constant)."""
        return Scalar(self.data, requires_grad=False, name=self.name)

    # -- what events show -----------------------------------------------------

    def label(self) -> str:
        if self.name:
            return self.name
        if self.history is not None and self.history.last_fn is not None:
            return self.history.last_fn.op_name()
        return "const" if self.history is None else "leaf"

    def event_value(self) -> float:
        return self.data

    # -- operators (plain numbers become constant Scalars first) ----------------

    def __add__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, as_scalar(b, "Add"))

    def __radd__(self, b: ScalarLike) -> Scalar:
        return Add.apply(as_scalar(b, "Add"), self)

    def __sub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, Neg.apply(as_scalar(b, "Neg")))

    def __rsub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(as_scalar(b, "Add"), Neg.apply(self))

    def __mul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, as_scalar(b, "Mul"))

    def __rmul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(as_scalar(b, "Mul"), self)

    def __truediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, Inv.apply(as_scalar(b, "Inv")))

    def __rtruediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(as_scalar(b, "Mul"), Inv.apply(self))

    def __neg__(self) -> Scalar:
        return Neg.apply(self)

    def __lt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(self, as_scalar(b, "LT"))

    def __gt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(as_scalar(b, "LT"), self)

    def __eq__(self, b: ScalarLike) -> Scalar:  # type: ignore[override]
        return EQ.apply(self, as_scalar(b, "EQ"))

    __hash__ = object.__hash__  # identity: Scalars live in sets and dicts as graph nodes

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return self.data

    def log(self) -> Scalar:
        return Log.apply(self)

    def exp(self) -> Scalar:
        return Exp.apply(self)

    def sigmoid(self) -> Scalar:
        return Sigmoid.apply(self)

    def relu(self) -> Scalar:
        return ReLU.apply(self)

    def __repr__(self) -> str:
        return f"Scalar({self.data:.6g})"


def derivative_check(f: Any, *scalars: Scalar, tol: float = 1e-4) -> None:
    """Assert that backward through `f(*scalars)` matches central differences for each input."""
    from .autodiff import central_difference

    for x in scalars:
        x.grad = None
    out = f(*scalars)
    out.backward()
    values = [x.data for x in scalars]
    for i, x in enumerate(scalars):
        expected = central_difference(lambda *v: f(*(Scalar(a) for a in v)).data, *values, arg=i)
        grad = x.grad if x.grad is not None else 0.0
        if abs(grad - expected) > tol * max(1.0, abs(expected)):
            raise AssertionError(
                f"derivative check failed for {f} at {values}: argument {i} has "
                f"backward {grad} but central difference {expected}"
            )
