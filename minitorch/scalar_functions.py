"""Module 1 — one `ScalarFunction` per primitive op: `forward` and, right below it, `backward`.

Only these primitives carry derivatives; subtraction, division and `>` are composed from
them in `Scalar` (fewer derivatives to get right, as in tinygrad).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import autodiff, events, operators
from .autodiff import Context, History

if TYPE_CHECKING:
    from .scalar import Scalar


def wrap_tuple(x: Any) -> tuple[Any, ...]:
    """Backward may return one gradient or a tuple of them: always give a tuple."""
    return x if isinstance(x, tuple) else (x,)


class ScalarFunction:
    """A differentiable op on floats. `apply` wraps it for Scalars and builds the graph."""

    @classmethod
    def op_name(cls) -> str:
        return cls.__name__

    @classmethod
    def apply(cls, *inputs: Scalar) -> Scalar:
        """Run `forward` on the inputs' floats; the output remembers the inputs if a gradient is needed.

        The inputs are Scalars (Scalar's operators turn plain numbers into constants first).
        """
        needs_grad = any([x.history is not None for x in inputs]) and autodiff.is_grad_enabled()
        ctx = Context(not needs_grad)
        result = cls.forward(ctx, *[x.data for x in inputs])
        output = type(inputs[0]).from_op(result, History(cls, ctx, inputs) if needs_grad else None)
        if events.LISTENERS:
            events.report_forward(cls.op_name(), inputs, output)
        return output

    @staticmethod
    def forward(ctx: Context, *values: float) -> float:
        """Compute the op on plain floats (Task 1.2) and return a float.

        Keep what `backward` will need with `ctx.save_for_backward(...)` (it reads
        `ctx.saved_values`, a tuple in the order saved). Results match the `operators`
        functions to 1e-9 relative, including their IEEE edge cases.
        """
        raise NotImplementedError("abstract: each ScalarFunction defines forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float | tuple[float, ...]:
        """Given $d$ = `d_output`, return $d \\cdot \\partial f / \\partial x_i$ for each input (Task 1.3).

        One float for a one-input op; for two inputs a tuple `(d_x, d_y)` in argument order.
        The tests compare with the central difference (`derivative_check`: within
        $10^{-4} \\max(1, |\\text{expected}|)$; comparisons are tested away from $x = y$ and
        their derivatives are 0.0).
        """
        raise NotImplementedError("abstract: each ScalarFunction defines backward")


# ## Task 1.2 (forward) and Task 1.3 (backward)


class Add(ScalarFunction):
    """$f(x, y) = x + y$;  $f'_x = 1$, $f'_y = 1$"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.add(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return d_output, d_output


class Mul(ScalarFunction):
    """$f(x, y) = x y$;  $f'_x = y$, $f'_y = x$"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        # BEGIN ASSIGN1_2
        ctx.save_for_backward(a, b)
        return operators.mul(a, b)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        # BEGIN ASSIGN1_3
        a, b = ctx.saved_values
        return operators.mul(b, d_output), operators.mul(a, d_output)
        # END ASSIGN1_3


class Inv(ScalarFunction):
    """$f(x) = 1/x$;  $f'(x) = -1/x^2$"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        ctx.save_for_backward(a)
        return operators.inv(a)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        (a,) = ctx.saved_values
        return operators.inv_back(a, d_output)
        # END ASSIGN1_3


class Neg(ScalarFunction):
    """$f(x) = -x$;  $f'(x) = -1$"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        return operators.neg(a)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        return operators.neg(d_output)
        # END ASSIGN1_3


class Log(ScalarFunction):
    """$f(x) = \\ln x$;  $f'(x) = 1/x$"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        ctx.save_for_backward(a)
        return operators.log(a)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        (a,) = ctx.saved_values
        return operators.log_back(a, d_output)
        # END ASSIGN1_3


class Exp(ScalarFunction):
    """$f(x) = e^x$;  $f'(x) = e^x$ (so backward reuses the output)"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        out = operators.exp(a)
        ctx.save_for_backward(out)
        return out
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        (out,) = ctx.saved_values
        return operators.mul(out, d_output)
        # END ASSIGN1_3


class Sigmoid(ScalarFunction):
    """$f(x) = \\sigma(x)$;  $f'(x) = \\sigma(x)(1 - \\sigma(x))$"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        out = operators.sigmoid(a)
        ctx.save_for_backward(out)
        return out
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        (out,) = ctx.saved_values
        return d_output * out * (1.0 - out)
        # END ASSIGN1_3


class ReLU(ScalarFunction):
    """$f(x) = \\max(0, x)$;  $f'(x) = 1$ if $x > 0$ else $0$"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        # BEGIN ASSIGN1_2
        ctx.save_for_backward(a)
        return operators.relu(a)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        # BEGIN ASSIGN1_3
        (a,) = ctx.saved_values
        return operators.relu_back(a, d_output)
        # END ASSIGN1_3


class LT(ScalarFunction):
    """$f(x, y) = 1$ if $x < y$ else $0$;  flat almost everywhere, so both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        # BEGIN ASSIGN1_2
        return operators.lt(a, b)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        # BEGIN ASSIGN1_3
        return 0.0, 0.0
        # END ASSIGN1_3


class EQ(ScalarFunction):
    """$f(x, y) = 1$ if $x = y$ else $0$;  both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        # BEGIN ASSIGN1_2
        return operators.eq(a, b)
        # END ASSIGN1_2

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        # BEGIN ASSIGN1_3
        return 0.0, 0.0
        # END ASSIGN1_3
