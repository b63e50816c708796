"""Module 2 — the primitive differentiable tensor ops: `forward` and, right below, `backward`.

`forward` runs backend kernels (through `x.f`, the tensor's backend with Tensor in and
Tensor out); `backward` is written with ordinary Tensor arithmetic, so the derivative
rules are plain math and graph mode can reuse them. Everything else (sub, div, mean,
softmax, ...) is composed from these in `Tensor` and `nn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import events
from .autodiff import Context, History, is_grad_enabled

if TYPE_CHECKING:
    from .tensor import Tensor


class Function:
    """A differentiable tensor op. `apply` runs forward and links the output into the graph."""

    @classmethod
    def op_name(cls) -> str:
        return cls.__name__

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        needs_grad = is_grad_enabled() and any(x.requires_grad for x in inputs)
        ctx = Context(no_grad=not needs_grad)
        if events.LISTENERS and not events.in_backward:
            with events.running_op(cls.op_name()):  # label this op's kernel launches
                output = cls.forward(ctx, *inputs, **params)
        else:
            output = cls.forward(ctx, *inputs, **params)
        if needs_grad:
            output.history = History(cls, ctx, inputs)
        if events.LISTENERS:
            events.report_forward(cls.op_name(), inputs, output, output.backend.name)
        return output

    @staticmethod
    def forward(ctx: Context, *inputs: Tensor, **params: Any) -> Tensor:
        raise NotImplementedError("abstract: each Function defines forward")

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor | tuple[Tensor | None, ...]:
        raise NotImplementedError("abstract: each Function defines backward")


# ## Task 2.5 — elementwise ops


class Neg(Function):
    """$f(x) = -x$;  $f' = -1$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.neg_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return -grad_output


class Inv(Function):
    """$f(x) = 1/x$;  $f' = -1/x^2$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a)
        return a.f.inv_map(a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return a.f.inv_back_zip(a, grad_output)
        # END ASSIGN2_5


class Add(Function):
    """$f(x, y) = x + y$;  both derivatives 1 (the engine sums over broadcast dims)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return a.f.add_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        return grad_output, grad_output


class Mul(Function):
    """$f(x, y) = x y$;  $f'_x = y$, $f'_y = x$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a, b)
        return a.f.mul_zip(a, b)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        # BEGIN ASSIGN2_5
        a, b = ctx.saved_values
        return grad_output * b, grad_output * a
        # END ASSIGN2_5


class Sigmoid(Function):
    """$f(x) = \\sigma(x)$;  $f' = \\sigma(x)(1 - \\sigma(x))$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        out = a.f.sigmoid_map(a)
        ctx.save_for_backward(out)
        return out
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (out,) = ctx.saved_values
        return grad_output * out * (-out + 1.0)
        # END ASSIGN2_5


class ReLU(Function):
    """$f(x) = \\max(0, x)$;  $f' = 1$ where $x > 0$ else 0"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a)
        return a.f.relu_map(a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return a.f.relu_back_zip(a, grad_output)
        # END ASSIGN2_5


class Log(Function):
    """$f(x) = \\ln x$;  $f' = 1/x$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a)
        return a.f.log_map(a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return a.f.log_back_zip(a, grad_output)
        # END ASSIGN2_5


class Exp(Function):
    """$f(x) = e^x$;  $f' = e^x$ (the saved output)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        out = a.f.exp_map(a)
        ctx.save_for_backward(out)
        return out
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (out,) = ctx.saved_values
        return grad_output * out
        # END ASSIGN2_5


class Comparison(Function):
    """A 0/1-valued comparison: flat almost everywhere, so both derivatives are zero."""

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.saved_values
        return grad_output.zeros(a_shape), grad_output.zeros(b_shape)


class LT(Comparison):
    """$f(x, y) = [x < y]$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return a.f.lt_zip(a, b)


class EQ(Comparison):
    """$f(x, y) = [x = y]$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return a.f.eq_zip(a, b)


class IsClose(Function):
    """$f(x, y) = [|x - y| < 10^{-2}]$; not differentiable (no backward)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return a.f.is_close_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        raise RuntimeError("is_close is not differentiable")


# ## Task 2.6 — reductions, layout and matmul


class Sum(Function):
    """$f(x)_j = \\sum_i x_{ij}$ along `dim` (kept as size 1);  $f' = 1$: the gradient spreads back"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        # BEGIN ASSIGN2_6
        ctx.save_for_backward(a.shape)
        return a.f.add_reduce(a, dim)
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        (a_shape,) = ctx.saved_values
        return grad_output + grad_output.zeros(a_shape)  # broadcast back over `dim`
        # END ASSIGN2_6


class Max(Function):
    """$f(x)_j = \\max_i x_{ij}$ along `dim`;  the gradient goes to the maxima (split among ties)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        # BEGIN ASSIGN2_6
        out = a.f.max_reduce(a, dim)
        ctx.save_for_backward(a, out, dim)
        return out
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        a, out, dim = ctx.saved_values
        is_max = a.f.eq_zip(a, out)
        return grad_output * is_max / is_max.sum(dim, keepdim=True)
        # END ASSIGN2_6


class Permute(Function):
    """Reorder dimensions (a view);  backward applies the inverse order"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, order: tuple[int, ...]) -> Tensor:
        # BEGIN ASSIGN2_6
        ctx.save_for_backward(order)
        return a._new(a._tensor.permute(*order))
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        (order,) = ctx.saved_values
        inverse = sorted(range(len(order)), key=lambda i: order[i])
        return grad_output._new(grad_output._tensor.permute(*inverse))
        # END ASSIGN2_6


class View(Function):
    """Same elements, new shape (contiguous input only);  backward views back"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(a.shape)
        return a._new(a._tensor.view(shape))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (a_shape,) = ctx.saved_values
        grad = grad_output.contiguous()
        return grad._new(grad._tensor.view(a_shape))


class Copy(Function):
    """A contiguous copy (`contiguous()`);  $f' = 1$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output


class MatMul(Function):
    """$C = A B$ (batched);  $\\partial A = \\partial C\\, B^T$, $\\partial B = A^T \\partial C$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        ctx.save_for_backward(a, b)
        return a.f.matmul(a, b)
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        # BEGIN ASSIGN2_6
        a, b = ctx.saved_values
        # No product for an input that takes no gradient (e.g. the data fed to a first layer).
        grad_a = None if a.is_constant() else grad_output @ b.mT
        grad_b = None if b.is_constant() else a.mT @ grad_output
        return grad_a, grad_b
        # END ASSIGN2_6
