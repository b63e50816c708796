"""Tensor ops as functions at the top level (`minitorch.exp(x)`, `minitorch.cat([a, b])`), as in torch.

Most are the Tensor method of the same name. `cat`, `stack`, `where` and `clamp` are new
differentiable Functions: their forward runs on the host (numpy) and writes a fresh tensor on
the input's backend; their backward routes each piece of the gradient to the input it came from.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .autodiff import Context
from .tensor import Tensor, tensor
from .tensor_functions import Function

# ## Function forms of Tensor methods


def relu(input: Tensor) -> Tensor:
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def exp(input: Tensor) -> Tensor:
    return input.exp()


def log(input: Tensor) -> Tensor:
    return input.log()


def sqrt(input: Tensor) -> Tensor:
    return input.sqrt()


def sin(input: Tensor) -> Tensor:
    return input.sin()


def cos(input: Tensor) -> Tensor:
    return input.cos()


def abs(input: Tensor) -> Tensor:  # (torch.abs)
    return input.abs()


def pow(input: Tensor, exponent: Tensor | float) -> Tensor:  # (torch.pow)
    return input.pow(exponent)


def sum(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # (torch.sum)
    return input.sum(dim, keepdim)


def mean(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.mean(dim, keepdim)


def max(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # (torch.max)
    """The largest value (no `dim`), or `(values, indices)` along `dim`, as `torch.max` gives."""
    return input.max(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | None:
    return input.argmax(dim, keepdim)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return input.matmul(other)


# ## Joining tensors: cat and stack


def _host_tensor(values: np.ndarray, like: Tensor) -> Tensor:
    """`values` as a new tensor with like's backend and dtype."""
    return tensor(values, backend=like.backend, dtype=like.dtype)


def _check_tensors(tensors: Any, op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence) or not tensors:
        raise TypeError(f"{op}: argument 'tensors' must be a non-empty list of Tensors, got {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: tensors[{i}] is a {type(t).__name__}, expected a Tensor")
    return list(tensors)


def _check_dim(dim: Any, dims: int, op: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: argument 'dim' must be an integer, got {dim!r}")
    index = int(dim)
    if not -dims <= index < dims:
        raise IndexError(f"{op}: argument 'dim' = {dim} is out of range for {dims} dims")
    return index % dims


class Cat(Function):
    """$\\mathrm{cat}(a, b)$ along `dim`; the gradient is split back into the pieces' sizes."""

    @staticmethod
    def forward(ctx: Context, *tensors: Tensor, dim: int) -> Tensor:
        sizes = [t.shape[dim] for t in tensors]
        ctx.save_for_backward(dim, sizes)
        return _host_tensor(np.concatenate([t.numpy() for t in tensors], axis=dim), tensors[0])

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        dim, sizes = ctx.saved_values
        pieces = np.split(grad_output.numpy(), np.cumsum(sizes)[:-1], axis=dim)
        return tuple(_host_tensor(piece, grad_output) for piece in pieces)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing `dim`; all other sizes must match."""
    tensors = _check_tensors(tensors, "cat")
    first = tensors[0]
    dim = _check_dim(dim, builtins.max(first.dims, 1), "cat")
    for i, t in enumerate(tensors):
        if (
            t.dims != first.dims
            or t.dims == 0
            or any(a != b for d, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)) if d != dim)
        ):
            raise ValueError(f"cat: tensors[{i}] has shape {t.shape}, tensors[0] has {first.shape} (dim={dim})")
    return Cat.apply(*tensors, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new `dim`: `cat` of each viewed with a size-1 dim there."""
    tensors = _check_tensors(tensors, "stack")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(f"stack: tensors[{i}] has shape {t.shape}, tensors[0] has {shape}; they must be equal")
    dim = _check_dim(dim, len(shape) + 1, "stack")
    new_shape = (*shape[:dim], 1, *shape[dim:])
    return Cat.apply(*(t.contiguous().view(new_shape) for t in tensors), dim=dim)


# ## Choosing elementwise: where and clamp


class Where(Function):
    """$\\mathrm{where}(c, a, b)_i = a_i$ if $c_i$ else $b_i$; the gradient goes to the chosen side
    only (masked on the host, so an inf or nan on the side not chosen never leaks in)."""

    @staticmethod
    def forward(ctx: Context, condition: Tensor, a: Tensor, b: Tensor) -> Tensor:
        values_a, values_b = a.numpy(), b.numpy()
        mask = np.broadcast_to(condition.numpy() != 0, np.broadcast_shapes(condition.shape, a.shape, b.shape))
        ctx.save_for_backward(mask)
        return _host_tensor(np.where(mask, values_a, values_b), a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[None, Tensor, Tensor]:
        (mask,) = ctx.saved_values
        grad = grad_output.numpy()
        chosen, other = np.where(mask, grad, 0.0), np.where(mask, 0.0, grad)
        return None, _host_tensor(chosen, grad_output), _host_tensor(other, grad_output)


def _as_tensor(value: Any, like: Tensor, name: str, op: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, numbers.Real, np.ndarray, list)):
        return tensor(np.asarray(value, dtype=np.float64), backend=like.backend, dtype=like.dtype)
    raise TypeError(f"{op}: argument '{name}' must be a Tensor, an array or a number, got {type(value).__name__}")


def where(condition: Tensor | np.ndarray, input: Tensor | float, other: Tensor | float) -> Tensor:
    """`input` where `condition` is nonzero (true), else `other`, broadcasting all three."""
    like = next((v for v in (input, other, condition) if isinstance(v, Tensor)), None)
    if like is None:
        raise TypeError("where: at least one of 'condition', 'input', 'other' must be a Tensor")
    a, b = _as_tensor(input, like, "input", "where"), _as_tensor(other, like, "other", "where")
    cond = _as_tensor(condition, a, "condition", "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape}, {a.shape} and {b.shape} do not broadcast") from None
    return Where.apply(cond, a, b)


class Clamp(Function):
    """$\\min(\\max(x, lo), hi)$; derivative 1 where $lo \\le x \\le hi$, else 0 (PyTorch's)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, lo: float | None, hi: float | None) -> Tensor:
        values = a.numpy()
        inside = np.ones(values.shape, dtype=bool)
        if lo is not None:
            inside &= values >= lo
        if hi is not None:
            inside &= values <= hi
        ctx.save_for_backward(inside)
        return _host_tensor(np.clip(values, lo, hi), a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (inside,) = ctx.saved_values
        return _host_tensor(np.where(inside, grad_output.numpy(), 0.0), grad_output)


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Clip every value into [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' and 'max' must be given")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, numbers.Real)):
            raise TypeError(f"clamp: argument '{name}' must be a number, got {bound!r}")
    return Clamp.apply(input, lo=min, hi=max)


__all__ = [
    "abs",
    "argmax",
    "cat",
    "clamp",
    "exp",
    "log",
    "matmul",
    "max",
    "mean",
    "pow",
    "relu",
    "sigmoid",
    "sqrt",
    "stack",
    "sum",
    "tanh",
    "where",
]
