"""Module 1 (theory) — forward-mode autodiff with dual numbers.

A dual number carries a value and a tangent, $a + \\dot a\\,\\varepsilon$ with $\\varepsilon^2 = 0$.
Arithmetic on duals is the chain rule, run forwards alongside the value:

    (a + ȧε)(b + ḃε) = ab + (ȧb + aḃ)ε        f(a + ȧε) = f(a) + f'(a)·ȧ ε

Seed the inputs with a direction v (x + vε) and the output's tangent is the Jacobian-vector
product J·v: one forward pass per direction. Reverse mode (`backpropagate`) gives the
vector-Jacobian product uᵀJ instead: one backward pass per output. A loss has one output and
millions of inputs, which is why deep learning runs in reverse.

    derivative(lambda x: x * x.sin(), 2.0)           # d/dx x sin x at 2
    jvp(f, [x, y], [1.0, 0.0])                        # (f(x, y), ∂f/∂x)
    gradient(f, [x, y])                               # one jvp per input
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Number = float | int


@dataclass(frozen=True)
class Dual:
    """`value + tangent·ε` with ε² = 0: a number and its derivative along one direction."""

    value: float
    tangent: float = 0.0

    # -- arithmetic: each rule is one line of the chain rule ----------------------

    def __add__(self, b: Dual | Number) -> Dual:
        b = lift(b)
        return Dual(self.value + b.value, self.tangent + b.tangent)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.value, -self.tangent)

    def __sub__(self, b: Dual | Number) -> Dual:
        return self + (-lift(b))

    def __rsub__(self, b: Number) -> Dual:
        return lift(b) - self

    def __mul__(self, b: Dual | Number) -> Dual:
        """Product rule: d(ab) = ȧb + aḃ."""
        b = lift(b)
        return Dual(self.value * b.value, self.tangent * b.value + self.value * b.tangent)

    __rmul__ = __mul__

    def __truediv__(self, b: Dual | Number) -> Dual:
        """Quotient rule: d(a/b) = (ȧb - aḃ) / b²."""
        b = lift(b)
        return Dual(self.value / b.value, (self.tangent * b.value - self.value * b.tangent) / b.value**2)

    def __rtruediv__(self, b: Number) -> Dual:
        return lift(b) / self

    def __pow__(self, n: Number) -> Dual:
        """d(aⁿ) = n aⁿ⁻¹ ȧ (a constant exponent)."""
        return Dual(self.value**n, n * self.value ** (n - 1) * self.tangent)

    # -- functions: f(a + ȧε) = f(a) + f'(a) ȧ ε ----------------------------------

    def exp(self) -> Dual:
        e = math.exp(self.value)
        return Dual(e, e * self.tangent)

    def log(self) -> Dual:
        return Dual(math.log(self.value), self.tangent / self.value)

    def sin(self) -> Dual:
        return Dual(math.sin(self.value), math.cos(self.value) * self.tangent)

    def cos(self) -> Dual:
        return Dual(math.cos(self.value), -math.sin(self.value) * self.tangent)

    def tanh(self) -> Dual:
        t = math.tanh(self.value)
        return Dual(t, (1.0 - t * t) * self.tangent)

    def sigmoid(self) -> Dual:
        s = 0.5 * (1.0 + math.tanh(0.5 * self.value))  # σ(a), without overflow for large |a|
        return Dual(s, s * (1.0 - s) * self.tangent)

    def relu(self) -> Dual:
        return Dual(max(self.value, 0.0), self.tangent if self.value > 0 else 0.0)


def lift(x: Dual | Number) -> Dual:
    """A constant as a dual number: its tangent is 0."""
    return x if isinstance(x, Dual) else Dual(float(x), 0.0)


def jvp(f: Callable[..., Dual], xs: Sequence[float], direction: Sequence[float]) -> tuple[float, float]:
    """(f(xs), J·direction): one forward pass with the inputs seeded by `direction`."""
    if len(xs) != len(direction):
        raise ValueError(f"jvp: {len(xs)} inputs but a direction of length {len(direction)}")
    out = lift(f(*(Dual(float(x), float(v)) for x, v in zip(xs, direction))))
    return out.value, out.tangent


def derivative(f: Callable[[Dual], Dual], x: float) -> float:
    """f'(x) of a function of one number: one jvp along direction 1."""
    return jvp(f, [x], [1.0])[1]


def gradient(f: Callable[..., Dual], xs: Sequence[float]) -> list[float]:
    """∇f at xs, one forward pass per input (n passes; reverse mode needs one backward)."""
    basis = [[1.0 if j == i else 0.0 for j in range(len(xs))] for i in range(len(xs))]
    return [jvp(f, xs, e)[1] for e in basis]


__all__ = ["Dual", "derivative", "gradient", "jvp", "lift"]
