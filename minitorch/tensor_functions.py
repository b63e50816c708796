"""Module 2 — the primitive differentiable tensor ops: `forward` and, right below, `backward`.

`forward` runs backend kernels (through `x.f`, the tensor's backend with Tensor in and
Tensor out); `backward` is written with ordinary Tensor arithmetic, so the derivative
rules are plain math and graph mode can reuse them. Everything else (sub, div, mean,
softmax, ...) is composed from these in `Tensor` and `nn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import events, ops
from .autodiff import Context, History, is_grad_enabled
from .tensor_data import TensorData

if TYPE_CHECKING:
    from .tensor import Tensor


# ## Running a backend kernel on tensors
# A backend's ops take and return TensorData (backends/base.py); these wrap them for tensors.
# `op` is a name from the op table (minitorch/ops.py).


def _wrap(data: Any, like: Tensor) -> Tensor:
    return like._new(data)


def run_map(op: str, a: Tensor) -> Tensor:
    """`out[i] = op(a[i])` on a's backend, e.g. `run_map("exp", a)`."""
    return _wrap(a.backend.map(op, a._tensor), a)


def run_zip(op: str, a: Tensor, b: Tensor) -> Tensor:
    """`out[i] = op(a[i], b[i])` on a's backend, broadcasting, e.g. `run_zip("mul", a, b)`."""
    return _wrap(a.backend.zip(op, a._tensor, b._tensor), a)


def run_back(op: str, a: Tensor, grad_output: Tensor) -> Tensor:
    """The derivative of the one-input primitive `op` at `a`, times `grad_output`: the kernel
    `op`'s `back` registered with it in the op table, e.g. `d / a` for "log"."""
    return run_zip(ops.back_of(op), a, grad_output)


def run_reduce(op: str, a: Tensor, dim: int) -> Tensor:
    """The reduction `op` ("sum", "max", "prod") of `a` along `dim`, kept as size 1."""
    return _wrap(a.backend.reduce(op, a._tensor, dim), a)


def run_matmul(a: Tensor, b: Tensor) -> Tensor:
    """Batched `a @ b` on a's backend."""
    return _wrap(a.backend.matmul(a._tensor, b._tensor), a)


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
        """Compute the op with backend kernels (`run_map`, `run_zip`, `run_reduce`, `run_matmul`).

        Returns a new Tensor on the inputs' backend; never modifies an input. Save what backward
        needs with `ctx.save_for_backward` (tensors, shapes, dims). Keyword params (`dim`, `order`)
        arrive already normalised by `Tensor`: non-negative ints.
        """
        raise NotImplementedError("abstract: each Function defines forward")

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor | tuple[Tensor | None, ...]:
        """The gradient for each input, written with Tensor arithmetic (so it is itself traceable).

        One Tensor for a one-input op, else a tuple in input order; None for an input that
        needs no gradient. A gradient may keep the broadcast (output) shape: the engine sums
        it back to the input's shape and casts it to the input's dtype (a float32 leaf gets a
        float32 `.grad`). Never modify `grad_output` in place.
        """
        raise NotImplementedError("abstract: each Function defines backward")


# ## Task 2.5 — elementwise ops


class Neg(Function):
    """$f(x) = -x$;  $f' = -1$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return run_map("neg", a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return -grad_output


class Inv(Function):
    """$f(x) = 1/x$;  $f' = -1/x^2$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a)
        return run_map("inv", a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return run_back("inv", a, grad_output)
        # END ASSIGN2_5


class Add(Function):
    """$f(x, y) = x + y$;  both derivatives 1 (the engine sums over broadcast dims)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return run_zip("add", a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        return grad_output, grad_output


class Mul(Function):
    """$f(x, y) = x y$;  $f'_x = y$, $f'_y = x$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a, b)
        return run_zip("mul", a, b)
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
        out = run_map("sigmoid", a)
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
        return run_map("relu", a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return run_back("relu", a, grad_output)
        # END ASSIGN2_5


class Log(Function):
    """$f(x) = \\ln x$;  $f' = 1/x$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        ctx.save_for_backward(a)
        return run_map("log", a)
        # END ASSIGN2_5

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        (a,) = ctx.saved_values
        return run_back("log", a, grad_output)
        # END ASSIGN2_5


class Exp(Function):
    """$f(x) = e^x$;  $f' = e^x$ (the saved output)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        # BEGIN ASSIGN2_5
        out = run_map("exp", a)
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
        return run_zip("lt", a, b)


class EQ(Comparison):
    """$f(x, y) = [x = y]$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return run_zip("eq", a, b)


class IsClose(Function):
    """$f(x, y) = [|x - y| < 10^{-2}]$; not differentiable (no backward)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return run_zip("is_close", a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        raise RuntimeError("is_close is not differentiable")


# ## Task 2.6 — reductions, layout and matmul


class Sum(Function):
    """$f(x)_j = \\sum_i x_{ij}$ along `dim` (kept as size 1);  $f' = 1$: the gradient spreads back

    Backward returns a gradient of the input's full shape (every element gets the output's
    gradient), also when the input was a non-contiguous (permuted) view.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        # BEGIN ASSIGN2_6
        ctx.save_for_backward(a.shape)
        return run_reduce("sum", a, dim)
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        (a_shape,) = ctx.saved_values
        return grad_output + grad_output.zeros(a_shape)  # broadcast back over `dim`
        # END ASSIGN2_6


class Max(Function):
    """$f(x)_j = \\max_i x_{ij}$ along `dim` (kept as size 1);  the gradient goes to the maxima

    Ties split it equally: with $k$ elements equal to the maximum each gets $1/k$ of it
    (`[1, 3, 3]` -> `[0, 0.5, 0.5]`, `[2, 2, 2]` -> `[1/3, 1/3, 1/3]`); the rest get 0.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        # BEGIN ASSIGN2_6
        out = run_reduce("max", a, dim)
        ctx.save_for_backward(a, out, dim)
        return out
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        a, out, dim = ctx.saved_values
        is_max = run_zip("eq", a, out)
        return grad_output * is_max / is_max.sum(dim, keepdim=True)
        # END ASSIGN2_6


class Permute(Function):
    """Reorder dimensions (a view);  backward applies the inverse order

    Forward shares the input's storage (no copy; `numpy.shares_memory` is tested); `order`
    is a tuple of non-negative dims. Backward permutes by the inverse: `inverse[order[i]] = i`.
    """

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


class Expand(Function):
    """Broadcast to a larger shape as a stride-0 view (no copy);  backward sums the gradient
    over the stretched dims: $\\partial L/\\partial x_j = \\sum_{i \\mapsto j} \\partial L/\\partial y_i$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(a.shape)
        return a._new(a._tensor.expand(shape))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (a_shape,) = ctx.saved_values
        return grad_output.sum_to(a_shape)


class Copy(Function):
    """A contiguous copy (`contiguous()`);  $f' = 1$"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return run_map("id", a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output


class MatMul(Function):
    """$C = A B$ (batched);  $\\partial A = \\partial C\\, B^T$, $\\partial B = A^T \\partial C$

    $B^T$ is `b.mT` (the last two dims swapped, batched). A gradient over broadcast batch dims
    may keep the batch shape: the engine sums it back. Return None for a constant input.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        # BEGIN ASSIGN2_6
        ctx.save_for_backward(a, b)
        return run_matmul(a, b)
        # END ASSIGN2_6

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor | None, Tensor | None]:
        # BEGIN ASSIGN2_6
        a, b = ctx.saved_values
        # No product for an input that takes no gradient (e.g. the data fed to a first layer).
        grad_a = None if a.is_constant() else grad_output @ b.mT
        grad_b = None if b.is_constant() else a.mT @ grad_output
        return grad_a, grad_b
        # END ASSIGN2_6


# ## Any primitive of the op table, as a differentiable Function


class Primitive(Function):
    """A primitive of the op table, differentiated by the primitives registered with it:

        one input:   grad_x = back(x, grad_output)                    (e.g. tanh_back)
        two inputs:  grad_x = grad_output * dfdx(x, y),  grad_y = grad_output * dfdy(x, y)

    The hand-written Functions above teach the pattern; this one runs every other entry of
    the table (tanh, sqrt, abs, sin, cos, pow, ...), so adding a primitive needs no class."""

    primitive: ops.Primitive

    @classmethod
    def op_name(cls) -> str:
        return cls.primitive.name

    @classmethod
    def forward(cls, ctx: Context, *inputs: Tensor) -> Tensor:  # type: ignore[override]
        p = cls.primitive
        out = run_map(p.name, inputs[0]) if p.arity == 1 else run_zip(p.name, inputs[0], inputs[1])
        ctx.save_for_backward(*inputs, out)
        return out

    @classmethod
    def backward(cls, ctx: Context, grad_output: Tensor) -> Any:  # type: ignore[override]
        p = cls.primitive
        if p.back is not None:
            return run_zip(p.back, ctx.saved_values[0], grad_output)
        if p.partials is None:
            raise RuntimeError(f"{p.name} is not differentiable (the op table registers no derivative for it)")
        x, y = ctx.saved_values[:2]
        grad_x = None if x.is_constant() else grad_output * run_zip(p.partials[0], x, y)
        grad_y = None if y.is_constant() else grad_output * run_zip(p.partials[1], x, y)
        return grad_x, grad_y


_PRIMITIVE_FUNCTIONS: dict[str, type[Primitive]] = {}


def primitive_function(name: str) -> type[Primitive]:
    """The Function class running the op-table primitive `name` (made once per name)."""
    if name not in _PRIMITIVE_FUNCTIONS:
        entry = ops.primitive(name)
        _PRIMITIVE_FUNCTIONS[name] = type(name.title().replace("_", ""), (Primitive,), {"primitive": entry})
    return _PRIMITIVE_FUNCTIONS[name]


# ## Dtype casts, clamping and indexing


class Cast(Function):
    """The same values with another dtype;  $f' = 1$ (the gradient cast back)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dtype: Any) -> Tensor:
        ctx.save_for_backward(a.dtype)
        return _cast(a, dtype)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (dtype,) = ctx.saved_values
        return _cast(grad_output, dtype)


def _cast(a: Tensor, dtype: Any) -> Tensor:
    array = np.ascontiguousarray(a.numpy(), dtype=dtype)
    return a._new(TensorData(array.reshape(-1), array.shape))


class Clamp(Function):
    """$f(x) = \\min(\\max(x, lo), hi)$;  $f' = 1$ where $lo \\le x \\le hi$, else 0 (NaN: 0)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, lo: float | None, hi: float | None) -> Tensor:
        out = a
        if lo is not None:
            out = run_zip("maximum", out, a._ensure_tensor(lo, "clamp"))
        if hi is not None:  # min(x, hi) = -max(-x, -hi)
            out = run_map("neg", run_zip("maximum", run_map("neg", out), a._ensure_tensor(-hi, "clamp")))
        ctx.save_for_backward(a, lo, hi)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        a, lo, hi = ctx.saved_values
        inside = grad_output
        if lo is not None:  # [lo <= a] = [lo < a] + [lo = a]
            bound = a._ensure_tensor(lo, "clamp")
            inside = inside * (run_zip("lt", bound, a) + run_zip("eq", a, bound))
        if hi is not None:
            bound = a._ensure_tensor(hi, "clamp")
            inside = inside * (run_zip("lt", a, bound) + run_zip("eq", a, bound))
        return inside


class Indexing(Function):
    """$f(x) = x[key]$ (PyTorch/numpy indexing);  the gradient is scattered back into zeros
    (summed where an index repeats). Basic keys (ints, slices, `...`, `None`) give a strided
    view of the same storage; index arrays and masks a copy."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, key: tuple[Any, ...]) -> Tensor:
        ctx.save_for_backward(a.shape, key)
        array = a._tensor.to_numpy()
        if _is_basic(key):  # a trailing `...` keeps even a full index a (0-d) view
            view = array[key] if any(k is Ellipsis for k in key) else array[(*key, Ellipsis)]
            return a._view_of(_strided_view(a._tensor, view))
        return a._constant(np.asarray(array[key]))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        shape, key = ctx.saved_values
        grad = np.zeros(shape, dtype=grad_output.dtype)
        np.add.at(grad, key, grad_output.numpy())
        return grad_output._constant(grad)


class Overwrite(Function):
    """$f(x, v) = $ `values`: $v$ where `keep` is 0, $x$ elsewhere (what `x[key] = v` leaves);
    $f'_x = $ keep, and $v$ gets the gradient of the elements it was written to (summed where
    it was broadcast).

    `values` already holds the result; nothing of $x$ is saved (only the key and mask), so
    writing the result into $x$'s own storage leaves backward valid."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, v: Tensor, key: Any, values: np.ndarray, keep: np.ndarray) -> Tensor:
        ctx.save_for_backward(key, keep)
        return a._constant(values)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        key, keep = ctx.saved_values
        written = np.asarray(grad_output.numpy()[key])
        return grad_output * grad_output._constant(keep), grad_output._constant(written)


def _is_basic(key: tuple[Any, ...]) -> bool:
    """Only ints, slices, `...` and `None`: numpy (and we) can answer with a view."""
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in key)


def _strided_view(data: TensorData, selected: np.ndarray) -> TensorData:
    """TensorData over `data`'s storage for `selected`, a numpy view into it: the offset
    becomes where the storage slice starts, numpy's byte strides element strides."""
    itemsize = data.storage.itemsize
    base = data.storage.__array_interface__["data"][0]
    offset = (selected.__array_interface__["data"][0] - base) // itemsize if selected.size else 0
    strides = tuple(s // itemsize for s in selected.strides)
    return TensorData(data.storage[offset:], selected.shape, strides)
