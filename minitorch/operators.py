"""Module 0 — scalar math and higher-order functions.

Every backend reuses these plain-float functions: the simple backend calls them in Python
loops, the Numba backends compile them. So each one is written once, here, with its math.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

# ## Task 0.1 — mathematical operators


def mul(x: float, y: float) -> float:
    """$f(x, y) = x \\cdot y$"""
    # BEGIN ASSIGN0_1
    return x * y
    # END ASSIGN0_1


def id(x: float) -> float:  # the course's name for the identity
    """$f(x) = x$"""
    # BEGIN ASSIGN0_1
    return x
    # END ASSIGN0_1


def add(x: float, y: float) -> float:
    """$f(x, y) = x + y$"""
    # BEGIN ASSIGN0_1
    return x + y
    # END ASSIGN0_1


def neg(x: float) -> float:
    """$f(x) = -x$"""
    # BEGIN ASSIGN0_1
    return -x
    # END ASSIGN0_1


def lt(x: float, y: float) -> float:
    """$f(x, y) = 1.0$ if $x < y$ else $0.0$"""
    # BEGIN ASSIGN0_1
    return 1.0 if x < y else 0.0
    # END ASSIGN0_1


def eq(x: float, y: float) -> float:
    """$f(x, y) = 1.0$ if $x = y$ else $0.0$"""
    # BEGIN ASSIGN0_1
    return 1.0 if x == y else 0.0
    # END ASSIGN0_1


def max(x: float, y: float) -> float:  # the course's name
    """$f(x, y) = x$ if $x > y$ else $y$; NaN wins (as PyTorch: `max` of anything and NaN is NaN).

    Ties return `y` (the two are equal, so only the sign of zero can tell: `max(0.0, -0.0)` is `-0.0`).
    """
    # BEGIN ASSIGN0_1
    return x if x > y or x != x else y  # x != x only for NaN
    # END ASSIGN0_1


def is_close(x: float, y: float) -> float:
    """$f(x, y) = |x - y| < 10^{-2}$ (as 1.0 / 0.0): a strict, absolute tolerance, not a relative one."""
    # BEGIN ASSIGN0_1
    return 1.0 if abs(x - y) < 1e-2 else 0.0
    # END ASSIGN0_1


def sigmoid(x: float) -> float:
    """$f(x) = \\frac{1}{1 + e^{-x}}$

    Computed as $\\frac{e^x}{1 + e^x}$ when $x < 0$ so that $e^{-x}$ never overflows.
    Tested: $\\sigma(0) = 0.5$ exactly, $\\sigma(1000) = 1.0$, $\\sigma(-1000) = 0.0$ (no OverflowError),
    $\\sigma(-745) > 0$ (a subnormal, not 0), and $\\sigma(-x) = 1 - \\sigma(x)$ to $10^{-12}$.
    """
    # BEGIN ASSIGN0_1
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    exp_x = math.exp(x)
    return exp_x / (1.0 + exp_x)
    # END ASSIGN0_1


def relu(x: float) -> float:
    """$f(x) = x$ if $x > 0$ else $0$; NaN stays NaN (as PyTorch)"""
    # BEGIN ASSIGN0_1
    return 0.0 if x <= 0 else x  # NaN <= 0 is False
    # END ASSIGN0_1


# Past this argument e^x overflows a float64; IEEE arithmetic (and numpy) give inf there.
EXP_OVERFLOW = 709.782712893384


def log(x: float) -> float:
    """$f(x) = \\ln(x)$, with IEEE edge cases: $\\ln(0) = -\\infty$, $\\ln(x<0) =$ NaN."""
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def exp(x: float) -> float:
    """$f(x) = e^{x}$ ($+\\infty$ past float64's range instead of an OverflowError)."""
    return math.exp(x) if x < EXP_OVERFLOW else math.inf


def inv(x: float) -> float:
    """$f(x) = 1/x$, with IEEE edge cases: $1/{+0} = +\\infty$ and $1/{-0} = -\\infty$ (`inv(-0.0) == -inf`),
    never a ZeroDivisionError (`math.copysign` reads the sign of a zero)."""
    # BEGIN ASSIGN0_1
    if x == 0.0:
        return math.copysign(math.inf, x)  # IEEE: 1/±0 = ±inf, not ZeroDivisionError
    return 1.0 / x
    # END ASSIGN0_1


def log_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\log(x) = \\frac{d}{x}$; at $x = \\pm 0$ it is $d \\cdot (\\pm\\infty)$ (NaN when
    $d = 0$), never a ZeroDivisionError."""
    # BEGIN ASSIGN0_1
    if x == 0.0:  # IEEE: d/±0 = ±inf (nan when d = 0), not ZeroDivisionError
        return d * math.copysign(math.inf, x)
    return d / x
    # END ASSIGN0_1


def inv_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\frac{1}{x} = -\\frac{d}{x^2}$; at $x = \\pm 0$ it is $-d \\cdot \\infty$ (no
    ZeroDivisionError). Compute it as $-(d/x)/x$: $x \\cdot x$ underflows to 0 for tiny $x$."""
    # BEGIN ASSIGN0_1
    if x == 0.0:
        return -d * math.inf
    return -(d / x) / x  # not d / (x * x): x * x underflows to 0 for tiny x
    # END ASSIGN0_1


def relu_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\mathrm{relu}(x) = d$ if $x > 0$ else $0$ (so 0.0 at $x = 0$ exactly)"""
    # BEGIN ASSIGN0_1
    return d if x > 0 else 0.0
    # END ASSIGN0_1


# ## More primitives (given, not a task): each is registered in the op table, minitorch/ops.py.
# Written so Python, Numba and Numba CUDA all give IEEE results: no exception for any input.


def tanh(x: float) -> float:
    """$f(x) = \\tanh(x)$, from the C library: exact to the last bit for tiny x too
    (the sigmoid form $2\\sigma(2x) - 1$ cancels to 0 for $|x| < 10^{-8}$ in float32)."""
    return math.tanh(x)


def tanh_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\tanh(x) = d (1 - \\tanh^2 x)$"""
    t = math.tanh(x)
    return d * (1.0 - t * t)


def sqrt(x: float) -> float:
    """$f(x) = \\sqrt{x}$; NaN for $x < 0$ (math.sqrt would raise)."""
    return math.sqrt(x) if x >= 0.0 else math.nan


def sqrt_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{1}{2\\sqrt{x}}$ ($+\\infty$ times d at 0, as PyTorch)."""
    root = sqrt(x)
    if root == 0.0:
        return d * math.inf if d != 0.0 else math.nan
    return d / (2.0 * root)


def absolute(x: float) -> float:
    """$f(x) = |x|$"""
    if x < 0.0:
        return -x
    return 0.0 if x == 0.0 else x  # +0.0 for -0.0; NaN stays NaN


def absolute_back(x: float, d: float) -> float:
    """$d \\cdot \\mathrm{sign}(x)$, with $\\mathrm{sign}(0) = 0$ (PyTorch's choice) and NaN for NaN."""
    if x > 0.0:
        return d
    if x < 0.0:
        return -d
    return d * 0.0 if x == 0.0 else math.nan


def sin(x: float) -> float:
    """$f(x) = \\sin(x)$ (NaN for $\\pm\\infty$)."""
    return math.sin(x) if math.isfinite(x) else math.nan


def sin_back(x: float, d: float) -> float:
    """$d \\cos(x)$"""
    return d * cos(x)


def cos(x: float) -> float:
    """$f(x) = \\cos(x)$ (NaN for $\\pm\\infty$)."""
    return math.cos(x) if math.isfinite(x) else math.nan


def cos_back(x: float, d: float) -> float:
    """$-d \\sin(x)$"""
    return -(d * sin(x))


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y % 2.0 == 1.0


def pow(x: float, y: float) -> float:  # the course's name
    """$f(x, y) = x^y$ with C's (and PyTorch's) answers where Python's `**` raises or goes complex:
    $0^{-1} = \\infty$, $(-8)^{1/3} =$ NaN, $10^{400} = \\infty$."""
    if x == 0.0 and y < 0.0:
        return math.copysign(math.inf, x) if _is_odd_integer(y) else math.inf
    if x < 0.0 and math.isfinite(x) and math.isfinite(y) and y % 1.0 != 0.0:
        return math.nan
    magnitude = -x if x < 0.0 else x
    if math.isfinite(x) and math.isfinite(y) and magnitude != 0.0 and y * math.log(magnitude) > EXP_OVERFLOW:
        return -math.inf if x < 0.0 and _is_odd_integer(y) else math.inf
    return x**y


def pow_base_grad(x: float, y: float) -> float:
    """$\\frac{\\partial}{\\partial x} x^y = y x^{y-1}$, and 0 when $y = 0$ (as PyTorch, even at $x = 0$)."""
    return 0.0 if y == 0.0 else y * pow(x, y - 1.0)


def pow_exponent_grad(x: float, y: float) -> float:
    """$\\frac{\\partial}{\\partial y} x^y = x^y \\ln x$, and 0 when $x = 0$ and $y \\ge 0$ (as PyTorch)."""
    if x == 0.0 and y >= 0.0:
        return 0.0
    return pow(x, y) * log(x)


# ## Task 0.2 — higher-order functions


def map(fn: Callable[[float], float]) -> Callable[[Iterable[float]], list[float]]:
    """Lift a one-argument function to lists: `map(fn)([x1, x2]) == [fn(x1), fn(x2)]`.

    Always returns a new `list` (also for an empty input); the input is not modified.
    """

    # BEGIN ASSIGN0_2
    def apply(values: Iterable[float]) -> list[float]:
        return [fn(x) for x in values]

    return apply
    # END ASSIGN0_2


def zipWith(
    fn: Callable[[float, float], float],
) -> Callable[[Iterable[float], Iterable[float]], list[float]]:
    """Combine two equal-length lists: `zipWith(fn)([x1, x2], [y1, y2]) == [fn(x1, y1), fn(x2, y2)]`.

    Lists of different lengths raise ValueError rather than silently truncating; its message says
    the lists "differ in length" (the tests match that phrase). Inputs may be any iterables.
    """

    # BEGIN ASSIGN0_2
    def apply(xs: Iterable[float], ys: Iterable[float]) -> list[float]:
        xs, ys = list(xs), list(ys)
        if len(xs) != len(ys):
            raise ValueError(f"zipWith: lists differ in length ({len(xs)} vs {len(ys)})")
        return [fn(x, y) for x, y in zip(xs, ys)]

    return apply
    # END ASSIGN0_2


def reduce(fn: Callable[[float, float], float], start: float) -> Callable[[Iterable[float]], float]:
    """Fold a list from the left: `reduce(fn, x0)([x1, x2, x3]) == fn(fn(fn(x0, x1), x2), x3)`.

    The running value is the first argument of `fn`; an empty list gives back `start` unchanged.
    """

    # BEGIN ASSIGN0_2
    def apply(values: Iterable[float]) -> float:
        total = start
        for x in values:
            total = fn(total, x)
        return total

    return apply
    # END ASSIGN0_2


def negList(values: Iterable[float]) -> list[float]:
    """Negate every element, using `map`."""
    # BEGIN ASSIGN0_2
    return map(neg)(values)
    # END ASSIGN0_2


def addLists(xs: Iterable[float], ys: Iterable[float]) -> list[float]:
    """Add two lists element by element, using `zipWith`."""
    # BEGIN ASSIGN0_2
    return zipWith(add)(xs, ys)
    # END ASSIGN0_2


def sum(values: Iterable[float]) -> float:
    """Sum a list, using `reduce` (the sum of no values is 0)."""
    # BEGIN ASSIGN0_2
    return reduce(add, 0.0)(values)
    # END ASSIGN0_2


def prod(values: Iterable[float]) -> float:
    """Multiply a list together, using `reduce` (the product of no values is 1)."""
    # BEGIN ASSIGN0_2
    return reduce(mul, 1.0)(values)
    # END ASSIGN0_2
