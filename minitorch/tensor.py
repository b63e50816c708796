"""Module 2 — `Tensor`: an n-dimensional array with autodiff, API after PyTorch.

    x = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad            # 2 * x

A Tensor is `TensorData` (storage, shape, strides) + a backend that runs kernels on it +
a `History` for the shared backprop engine in `autodiff`.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from . import backends
from .autodiff import GraphValue, History, backpropagate, is_grad_enabled, new_id, no_grad
from .backends.base import TensorBackend
from .tensor_data import DTYPES, ShapeError, TensorData, get_default_dtype, resolve_dtype
from .tensor_functions import (
    EQ,
    LT,
    Add,
    Cast,
    Clamp,
    Copy,
    Exp,
    Expand,
    Indexing,
    Inv,
    IsClose,
    Log,
    MatMul,
    Max,
    Mul,
    Neg,
    Overwrite,
    Permute,
    ReLU,
    Sigmoid,
    Sum,
    View,
    _is_basic,
    primitive_function,
    run_map,
)

TensorLike = Union[float, int, "Tensor"]


class VersionCounter:
    """How many in-place writes a storage has had (shared by a tensor and its views)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def _sizes(args: tuple[int | Sequence[int], ...]) -> tuple[Any, ...]:
    """The sizes of `f(2, 3)` or `f((2, 3))`, as one tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


class MaxMin(NamedTuple):
    """What `x.max(dim)` / `x.min(dim)` return (PyTorch's `torch.return_types.max`)."""

    values: Tensor
    indices: Tensor | None  # float tensor of positions along dim (None while tracing: no values yet)


class Tensor(GraphValue):
    """An n-d array of float64 (default) or float32 that can differentiate."""

    def __init__(
        self,
        data: TensorData,
        history: History | None = None,
        backend: TensorBackend | str | None = None,
        name: str | None = None,
    ) -> None:
        self._tensor = data
        self.history = history
        self.backend = backends.get_backend(backend)
        self.grad: Tensor | None = None
        self.name = name
        self.unique_id = new_id()
        self._version_counter = VersionCounter()
        self.is_mask = False  # made by a comparison: indexes as a boolean mask

    # -- construction helpers -------------------------------------------------

    def _new(self, data: TensorData) -> Tensor:
        """A tensor on the same backend holding `data` (no history); a view of this
        tensor's storage shares its version counter."""
        out = Tensor(data, backend=self.backend)
        storage = getattr(data, "_storage", None)  # (symbolic data, while tracing, has none)
        if storage is not None and storage is getattr(self._tensor, "_storage", None):
            out._version_counter = self._version_counter
        return out

    def _view_of(self, data: TensorData) -> Tensor:
        """A tensor over (part of) this tensor's storage: same version counter."""
        out = Tensor(data, backend=self.backend)
        out._version_counter = self._version_counter
        return out

    @property
    def _version(self) -> int:
        """In-place writes so far to this tensor's storage (PyTorch's `t._version`)."""
        return self._version_counter.value

    def _ensure_tensor(self, value: TensorLike, op: str) -> Tensor:
        """`value` as a Tensor on this tensor's backend (numbers become constants)."""
        if isinstance(value, Tensor):
            if self.backend.meet(value.backend) is not self.backend:
                raise ValueError(
                    f"{op}: tensors on different backends ({self.backend.name!r} and "
                    f"{value.backend.name!r}); move one with .to(backend)"
                )
            return value if value.backend is self.backend else self.backend.adopt(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{op}: expected a Tensor or a real number, got {value!r} of type {type(value).__name__}")
        return Tensor(TensorData(np.array([float(value)], dtype=self.dtype), ()), backend=self.backend)

    def _operands(self, value: TensorLike, op: str) -> tuple[Tensor, Tensor]:
        """(self, value) on one backend: the one both backends agree on (see TensorBackend.meet)."""
        if isinstance(value, Tensor) and self.backend.meet(value.backend) is None:
            if value.backend.meet(self.backend) is value.backend:
                return value._ensure_tensor(self, op), value
        return self, self._ensure_tensor(value, op)

    def zeros(self, shape: Sequence[int] | None = None) -> Tensor:
        """Zeros of `shape` (default: this shape) with this dtype and backend."""
        shape = self.shape if shape is None else tuple(shape)
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        return self._new(TensorData(np.zeros(size, dtype=self.dtype), shape))

    # -- properties ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._tensor.shape

    def size(self, dim: int | None = None) -> Any:
        """The shape (PyTorch's `x.size()`), or with `dim` that dim's length (negative counts
        from the end). The element count is `numel()`."""
        if dim is None:
            return self.shape
        if self.dims == 0:
            raise IndexError(f"size: dimension specified as {dim} but the tensor has no dimensions")
        return self.shape[self._check_dim(dim, "size")]

    def stride(self, dim: int | None = None) -> Any:
        """Storage steps per dim (PyTorch's `x.stride()`), or one dim's with `dim`; 0 where
        `expand` stretched a dim."""
        return self._tensor.strides if dim is None else self._tensor.strides[self._check_dim(dim, "stride")]

    def numel(self) -> int:
        """Number of elements."""
        return self._tensor.size

    @property
    def dims(self) -> int:
        return self._tensor.dims

    @property
    def ndim(self) -> int:
        return self._tensor.dims

    def dim(self) -> int:
        return self._tensor.dims

    @property
    def dtype(self) -> np.dtype:
        return self._tensor.dtype

    # -- conversion ---------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """A copy of the values as a numpy array of this shape."""
        return np.array(self._tensor.to_numpy())

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.numel() != 1:
            raise ValueError(f"item(): tensor of shape {self.shape} has {self.numel()} elements, not 1")
        return float(self._tensor.storage[self._tensor.index((0,) * self.dims)])

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """`np.asarray(x)`: the values as a numpy array."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def to(self, target: str | TensorBackend | Any) -> Tensor:
        """A copy on another backend ("cpu" is fast, "cuda" the CUDA one) or with another
        dtype ("float32", "float64"); this tensor itself when nothing changes."""
        if isinstance(target, str) and target in ("float32", "float64") or isinstance(target, (np.dtype, type)):
            return self._cast(resolve_dtype(target))
        backend = backends.get_backend("fast" if target == "cpu" else target)
        if backend is self.backend:
            return self
        return Tensor(TensorData(self.numpy().copy(), self.shape), backend=backend)

    def _cast(self, dtype: np.dtype) -> Tensor:
        """This tensor with `dtype` (a differentiable copy; itself if it already has it)."""
        return self if dtype == self.dtype else Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        """As float32 (PyTorch's `.float()`)."""
        return self._cast(np.dtype(np.float32))

    def double(self) -> Tensor:
        """As float64."""
        return self._cast(np.dtype(np.float64))

    def detach(self) -> Tensor:
        """Same data, cut from the graph."""
        return self._new(self._tensor)

    def event_value(self) -> np.ndarray | None:
        """The numbers events report (None while tracing: a symbolic tensor has none yet)."""
        return self.backend.values(self._tensor)

    def label(self) -> str:
        if self.name:
            return self.name
        if self.history is not None and self.history.last_fn is not None:
            return self.history.last_fn.op_name()
        return "const" if self.history is None else "leaf"

    # -- autodiff -----------------------------------------------------------------

    def accumulate_derivative(self, d: Tensor) -> None:
        """Leaves sum the gradient from every path: `grad += d`."""
        d = d if d.shape == self.shape else d.sum_to(self.shape)
        if d.dtype != self.dtype:  # the gradient has the leaf's dtype (float32 stays float32)
            d = self._new(d.backend.cast(d._tensor, self.dtype))
        # A copy the first time: backward may hand the same tensor to several leaves (Add).
        self.grad = run_map("id", d) if self.grad is None else self.grad + d

    def chain_rule(self, d_output: Tensor) -> list[tuple[Tensor, Tensor]]:
        """GraphValue's chain rule, each gradient summed back to its input's shape
        (an input that broadcasting stretched gets the sum over the stretched dims)."""
        return [(x, g if g.shape == x.shape else g.sum_to(x.shape)) for x, g in super().chain_rule(d_output)]

    def local_derivatives(self) -> None:
        """A tensor op's local derivative is a Jacobian: events show the gradients instead."""
        return None

    def sum_to(self, shape: tuple[int, ...]) -> Tensor:
        """Undo broadcasting: sum the dims that were stretched so the result has `shape`."""
        result = self
        extra = self.dims - len(shape)
        for dim in range(self.dims):
            stretched = dim < extra or (shape[dim - extra] == 1 and self.shape[dim] != 1)
            if stretched:
                result = result.sum(dim, keepdim=True)
        return result.contiguous().view(shape) if result.shape != shape else result

    def backward(self, grad_output: Tensor | None = None, retain_graph: bool = False) -> None:
        """Fill `.grad` of every leaf this tensor depends on.

        A one-element tensor starts from 1.0; any other shape needs `grad_output` of that shape.
        """
        if self.history is None:
            raise RuntimeError(
                f"backward() on a tensor of shape {self.shape} that does not require grad and "
                "has no history; create inputs with requires_grad=True"
            )
        if grad_output is None:
            if self.numel() != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} ({self.numel()} elements) needs "
                    "grad_output of the same shape; only a single-element tensor (e.g. a loss) "
                    "gets 1.0 by default"
                )
            grad_output = self._new(TensorData(np.ones(1, dtype=self.dtype), self.shape))
        elif grad_output.shape != self.shape:
            raise ShapeError(
                f"backward(): grad_output has shape {grad_output.shape} but the tensor has shape {self.shape}"
            )
        backpropagate(self, grad_output, retain_graph=retain_graph)

    def zero_grad_(self) -> None:
        self.grad = None

    def copy_(self, values: np.ndarray | Tensor) -> Tensor:
        """Write `values` into this tensor's storage in place (as PyTorch's `copy_`).

        Optimizers and `load_state_dict` use it: the tensor stays the same object, so whoever
        holds it (a model, an optimizer) sees the new values. No graph is recorded, and values
        are cast to this tensor's dtype.
        """
        array = values.numpy() if isinstance(values, Tensor) else np.asarray(values)
        if array.shape != self.shape:
            raise ShapeError(f"copy_: values of shape {array.shape} do not fit a tensor of shape {self.shape}")
        self._write(array)
        return self

    def _write(self, array: np.ndarray | builtins.float, key: Any = None) -> None:
        """Store `array` into this tensor's elements (those `key` selects, if given) and count one
        in-place write. Elements that share memory (a stride-0 dim from `expand`) refuse, as PyTorch."""
        target = self._tensor.to_numpy()  # a strided view of the storage: writes go through any layout
        part = target if key is None or not _is_basic(key) else target[key]
        if any(stride == 0 and size > 1 for size, stride in zip(part.shape, part.strides)):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to a single "
                f"memory location (shape {self.shape}, strides {self._tensor.strides}, e.g. from expand). "
                "Please clone() the tensor before performing the operation."
            )
        if key is None:
            np.copyto(target, array, casting="same_kind")
        else:
            target[key] = array
        self._version_counter.value += 1

    def _check_inplace(self, op: str) -> None:
        if is_grad_enabled() and self.requires_grad and self.is_leaf:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation "
                "(wrap the update in `with minitorch.no_grad():`)"
            )

    def _inplace(self, op: str, compute: Any, *others: TensorLike) -> Tensor:
        """`self = compute(self, *others)`, written into this tensor's storage.

        With gradients on, this tensor takes the result's place in the graph; the old values
        live on as a node over the same (now overwritten) storage, so a backward that needed
        them sees the version change and raises (as PyTorch)."""
        self._check_inplace(op)
        tracked = is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        )
        if not tracked:
            with no_grad():
                result = compute(self, *others)
            self._write(np.broadcast_to(result.numpy(), self.shape) if result.shape != self.shape else result.numpy())
            return self
        before = Tensor(self._tensor, history=self.history, backend=self.backend)
        before._version_counter = self._version_counter
        result = compute(before, *others)
        if result.shape != self.shape:
            raise ShapeError(f"{op}: result of shape {result.shape} does not fit a tensor of shape {self.shape}")
        self._write(result.numpy())
        self.history = result.history
        return self

    def add_(self, other: TensorLike, alpha: builtins.float = 1.0) -> Tensor:
        """`self += alpha * other` in place."""
        return self._inplace("add_", lambda a, b: a + b * alpha if alpha != 1.0 else a + b, other)

    def sub_(self, other: TensorLike, alpha: builtins.float = 1.0) -> Tensor:
        return self._inplace("sub_", lambda a, b: a - b * alpha if alpha != 1.0 else a - b, other)

    def mul_(self, other: TensorLike) -> Tensor:
        return self._inplace("mul_", lambda a, b: a * b, other)

    def div_(self, other: TensorLike) -> Tensor:
        return self._inplace("div_", lambda a, b: a / b, other)

    def zero_(self) -> Tensor:
        """Set every element to 0 in place."""
        return self.fill_(0.0)

    def fill_(self, value: builtins.float) -> Tensor:
        """Set every element to `value` in place."""
        return self._inplace("fill_", lambda a: a.zeros() + float(value))

    def __iadd__(self, other: TensorLike) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self.div_(other)

    # -- elementwise and arithmetic ops -------------------------------------------

    def __add__(self, b: TensorLike) -> Tensor:
        return Add.apply(*self._operands(b, "add"))

    def __radd__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "add")
        return Add.apply(b, a)

    def __sub__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "sub")
        return Add.apply(a, Neg.apply(b))

    def __rsub__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "sub")
        return Add.apply(b, Neg.apply(a))

    def __mul__(self, b: TensorLike) -> Tensor:
        return Mul.apply(*self._operands(b, "mul"))

    def __rmul__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "mul")
        return Mul.apply(b, a)

    def __truediv__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "div")
        return Mul.apply(a, Inv.apply(b))

    def __rtruediv__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "div")
        return Mul.apply(b, Inv.apply(a))

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __matmul__(self, b: Tensor) -> Tensor:
        return self.matmul(b)

    def __lt__(self, b: TensorLike) -> Tensor:
        return LT.apply(*self._operands(b, "lt"))._as_mask()

    def __gt__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "gt")
        return LT.apply(b, a)._as_mask()

    def __le__(self, b: TensorLike) -> Tensor:
        """`a <= b` as `1 - [b < a]`; NaN compares false (as PyTorch)."""
        a, b = self._operands(b, "le")
        return (LT.apply(a, b) + EQ.apply(a, b))._as_mask()

    def __ge__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "ge")
        return (LT.apply(b, a) + EQ.apply(a, b))._as_mask()

    def __eq__(self, b: TensorLike) -> Tensor:  # type: ignore[override]
        return EQ.apply(*self._operands(b, "eq"))._as_mask()

    def __ne__(self, b: TensorLike) -> Tensor:  # type: ignore[override]
        return (1.0 - EQ.apply(*self._operands(b, "ne")))._as_mask()

    def _as_mask(self) -> Tensor:
        self.is_mask = True  # a 0/1 result: `x[mask]` selects where it is 1
        return self

    __hash__ = object.__hash__  # identity, so tensors can be graph nodes in sets and dicts

    def lt(self, b: TensorLike) -> Tensor:
        return self < b

    def gt(self, b: TensorLike) -> Tensor:
        return self > b

    def eq(self, b: TensorLike) -> Tensor:
        return self == b

    def ne(self, b: TensorLike) -> Tensor:
        return self != b

    def le(self, b: TensorLike) -> Tensor:
        return self <= b

    def ge(self, b: TensorLike) -> Tensor:
        return self >= b

    def clamp(self, min: builtins.float | None = None, max: builtins.float | None = None) -> Tensor:
        """Limit values to [min, max]; gradient 1 inside the range (bounds included), 0 where
        clamped, and NaN stays NaN (PyTorch's)."""
        return Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def is_close(self, b: TensorLike) -> Tensor:
        return IsClose.apply(*self._operands(b, "is_close"))

    def neg(self) -> Tensor:
        return Neg.apply(self)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ReLU.apply(self)

    def square(self) -> Tensor:
        return self * self

    def tanh(self) -> Tensor:
        return primitive_function("tanh").apply(self)

    def sqrt(self) -> Tensor:
        return primitive_function("sqrt").apply(self)

    def abs(self) -> Tensor:
        return primitive_function("abs").apply(self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def sin(self) -> Tensor:
        return primitive_function("sin").apply(self)

    def cos(self) -> Tensor:
        return primitive_function("cos").apply(self)

    def pow(self, exponent: TensorLike) -> Tensor:
        """`self ** exponent` elementwise (either may be a tensor or a number; they broadcast)."""
        return primitive_function("pow").apply(*self._operands(exponent, "pow"))

    def __pow__(self, exponent: TensorLike) -> Tensor:
        return self.pow(exponent)

    def __rpow__(self, base: TensorLike) -> Tensor:
        a, b = self._operands(base, "pow")
        return primitive_function("pow").apply(b, a)

    # -- reductions -----------------------------------------------------------------

    def _check_dim(self, dim: int, op: str) -> int:
        """`dim` as a non-negative index (negative counts from the end); a 0-d tensor takes 0 or -1."""
        dims = max(self.dims, 1)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{op}: argument 'dim' must be an integer, got {dim!r}")
        if not -dims <= dim < dims:
            raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {self.shape}")
        return dim % dims

    def _flat(self) -> Tensor:
        return self.contiguous().view((self.numel(),))

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Sum over `dim` (all elements when None, giving a 0-d tensor)."""
        if dim is None or self.dims == 0:
            self._check_dim(0 if dim is None else dim, "sum")
            return Sum.apply(self._flat(), dim=0).view(())
        dim = self._check_dim(dim, "sum")
        out = Sum.apply(self, dim=dim)
        return out if keepdim else out._drop_dim(dim)

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Average over `dim` (all elements when None)."""
        count = self.numel() if dim is None or self.dims == 0 else self.shape[self._check_dim(dim, "mean")]
        return self.sum(dim, keepdim) / float(count)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Largest value (all elements when `dim` is None: a 0-d tensor); with `dim`,
        `(values, indices)` along it as PyTorch. NaN wins; the gradient goes to the maxima."""
        if self.numel() == 0 and (dim is None or self.shape[self._check_dim(dim, "max")] == 0):
            raise RuntimeError(f"max(): cannot reduce an empty dimension of a tensor of shape {self.shape}")
        if dim is None or self.dims == 0:
            self._check_dim(0 if dim is None else dim, "max")
            values = Max.apply(self._flat(), dim=0).view(())
            return values if dim is None else MaxMin(values, self._arg(np.argmax, dim, keepdim))
        dim = self._check_dim(dim, "max")
        out = Max.apply(self, dim=dim)
        return MaxMin(out if keepdim else out._drop_dim(dim), self._arg(np.argmax, dim, keepdim))

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Smallest value, as `max` (min x = -max(-x))."""
        if dim is None:
            return -(-self).max()
        values, _ = (-self).max(dim, keepdim)
        return MaxMin(-values, self._arg(np.argmin, dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor | None:
        """Index of the (first) largest value along `dim` (of the flattened tensor when None),
        as a float tensor (no gradient); a NaN counts as largest. None while tracing."""
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor | None:
        """Index of the (first) smallest value along `dim`; a NaN counts as smallest."""
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn: Any, dim: int | None, keepdim: bool) -> Tensor | None:
        values = self.backend.values(self._tensor)
        if values is None:  # tracing: no values to search yet
            return None
        if dim is None or self.dims == 0:
            return self._constant(np.array(float(fn(values)) if values.size else 0.0))
        dim = self._check_dim(dim, "argmax")
        return self._constant(fn(values, axis=dim, keepdims=keepdim).astype(self.dtype))

    def _drop_dim(self, dim: int) -> Tensor:
        shape = self.shape[:dim] + self.shape[dim + 1 :]
        return self.view(shape)

    def _constant(self, array: np.ndarray) -> Tensor:
        return self._new(TensorData(np.ascontiguousarray(array, dtype=self.dtype).reshape(-1), array.shape))

    def all(self) -> bool:
        return bool(np.all(self.numpy()))

    # -- layout ------------------------------------------------------------------

    def permute(self, *order: int) -> Tensor:
        """Reorder dims (a view): `x.permute(1, 0)` transposes a matrix."""
        if len(order) == 1 and isinstance(order[0], (tuple, list)):
            order = tuple(order[0])
        for o in order:
            if not -self.dims <= int(o) < self.dims:
                raise ShapeError(f"permute: dim {o} is out of range for a tensor of shape {self.shape}")
        return Permute.apply(self, order=tuple(int(o) % self.dims for o in order))

    @property
    def mT(self) -> Tensor:  # PyTorch's name
        """Transpose of the last two dims (matrix transpose, batched)."""
        if self.dims < 2:
            raise ShapeError(f"mT: needs at least 2 dims, got shape {self.shape}")
        order = list(range(self.dims))
        order[-1], order[-2] = order[-2], order[-1]
        return self.permute(*order)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.dims)))

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """Same storage, new shape; needs a contiguous tensor (see `contiguous`)."""
        return View.apply(self, shape=tuple(int(s) for s in _sizes(shape)))

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """`view` that copies first when the layout needs it."""
        return self.contiguous().view(*shape)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new size-1 dim at `dim` (negative counts from the end of the result)."""
        if not -self.dims - 1 <= dim <= self.dims:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of shape {self.shape}")
        dim %= self.dims + 1
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        """Drop size-1 dims (only `dim`, if given and of size 1)."""
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dim = self._check_dim(dim, "squeeze")
        return self.reshape(self.shape[:dim] + self.shape[dim + 1 :]) if self.dims and self.shape[dim] == 1 else self

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims `start_dim..end_dim` (inclusive) into one."""
        if self.dims == 0:
            return self.reshape((1,))
        start, end = self._check_dim(start_dim, "flatten"), self._check_dim(end_dim, "flatten")
        merged = int(np.prod(self.shape[start : end + 1], dtype=np.int64))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dims (a view)."""
        order = list(range(self.dims))
        a, b = self._check_dim(dim0, "transpose"), self._check_dim(dim1, "transpose")
        order[a], order[b] = order[b], order[a]
        return self.permute(*order) if self.dims else self

    def t(self) -> Tensor:
        """Transpose of a matrix (a 0-d or 1-d tensor stays as it is)."""
        if self.dims > 2:
            raise ShapeError(f"t(): expects a tensor with <= 2 dims, got shape {self.shape}; use transpose")
        return self.transpose(0, 1) if self.dims == 2 else self

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        """Broadcast to `shape` (-1 keeps a dim) as a view: no copy, the stretched dims have
        stride 0 (as PyTorch). The gradient is summed over them; writing into the view in place
        raises, since several of its elements are one number in memory."""
        sizes = _sizes(shape)
        extra = len(sizes) - self.dims
        target = tuple(self.shape[i - extra] if s == -1 and i >= extra else int(s) for i, s in enumerate(sizes))
        return Expand.apply(self, shape=target)

    def repeat(self, *repeats: int | Sequence[int]) -> Tensor:
        """Tile the tensor `sizes[i]` times along dim i (PyTorch's `repeat`)."""
        sizes = _sizes(repeats)
        x = self.reshape((1,) * (len(sizes) - self.dims) + self.shape)
        inter = tuple(v for r, s in zip(sizes, x.shape) for v in (int(r), s))  # (r0, s0, r1, s1, ...)
        tiled = x.reshape(tuple(v for s in x.shape for v in (1, s))).expand(inter)
        return tiled.reshape(tuple(int(r) * s for r, s in zip(sizes, x.shape)))

    def contiguous(self) -> Tensor:
        """This tensor if already row-major, else a row-major copy."""
        return self if self._tensor.is_contiguous() else Copy.apply(self)

    def clone(self) -> Tensor:
        """A copy with its own (row-major) storage; the gradient flows back unchanged."""
        return Copy.apply(self)

    def is_contiguous(self) -> bool:
        return self._tensor.is_contiguous()

    def matmul(self, b: Tensor) -> Tensor:
        """Matrix product with PyTorch's rules for 1-D operands and broadcast batch dims."""
        a, b = self._operands(b, "matmul")
        if a.dims == 0 or b.dims == 0:
            raise ShapeError(f"matmul: both operands need at least 1 dim, got {a.shape} and {b.shape}")
        a2 = a.view((1, a.shape[0])) if a.dims == 1 else a
        b2 = b.view((b.shape[0], 1)) if b.dims == 1 else b
        if a2.shape[-1] != b2.shape[-2]:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: inner dimensions "
                f"{a2.shape[-1]} and {b2.shape[-2]} must be equal"
            )
        out = MatMul.apply(a2, b2)
        if a.dims == 1:
            out = out._drop_dim(out.dims - 2)
        if b.dims == 1:
            out = out._drop_dim(out.dims - 1)
        return out

    # -- indexing ----------------------------------------------------------------

    def __getitem__(self, key: Any) -> Tensor:
        """PyTorch indexing, differentiable: ints, slices (with steps), `...`, `None`, negative
        indices (a view), integer index tensors / lists and masks (a copy; the gradient
        scatters back into zeros). `x[0, 1]` is a 0-d tensor (`.item()` for the float)."""
        return Indexing.apply(self, key=_index_key(key))

    def __setitem__(self, key: Any, value: TensorLike) -> None:
        """`x[key] = value` in place (broadcast to the selected elements). In a graph the
        kept elements pass their gradient on, the written ones send theirs to `value`."""
        self._check_inplace("__setitem__")
        key = _index_key(key)
        values = value.numpy() if isinstance(value, Tensor) else value
        source = value if isinstance(value, Tensor) else self._constant(np.asarray(values))
        if not (is_grad_enabled() and (self.requires_grad or source.requires_grad)):
            self._write(values, key)
            return
        array = self.numpy()
        array[key] = values
        keep = np.ones(self.shape, dtype=self.dtype)
        keep[key] = 0.0
        self._inplace("__setitem__", lambda a, v: Overwrite.apply(a, v, key=key, values=array, keep=keep), source)

    def __len__(self) -> int:
        if self.dims == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along the first dim (`for row in x`), keeping autograd."""
        if self.dims == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise ValueError(f"truth value of a tensor with {self.numel()} elements is ambiguous; use .all()")
        return bool(self.item())

    def __float__(self) -> builtins.float:
        return self.item()

    def __format__(self, spec: str) -> str:
        """`f"{loss:.3f}"` formats a one-element tensor's value (others: as repr)."""
        if spec and self.numel() == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype.name}")
        if self.backend.name != backends.default_backend_name():
            extras.append(f"backend={self.backend.name!r}")
        if self.history is not None and self.history.last_fn is not None:
            extras.append(f"grad_fn=<{self.history.last_fn.op_name()}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


def _index_key(key: Any) -> Any:
    """An indexing key with tensors and lists turned into numpy arrays (masks into bool)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for part in parts:
        if isinstance(part, Tensor):
            array = part.numpy()
            part = array.astype(bool) if part.is_mask else array.astype(np.int64)
        elif isinstance(part, list):
            part = np.asarray(part)
        elif isinstance(part, slice) and part.step is not None and part.step <= 0:
            raise ValueError("step must be greater than zero")
        out.append(part)
    return tuple(out)


# ## Creating tensors


def tensor(
    data: Any,
    requires_grad: bool = False,
    backend: str | TensorBackend | None = None,
    dtype: Any = None,
) -> Tensor:
    """A tensor from nested lists, a number, or a numpy array (copied).

    Without `dtype`, a float32/float64 numpy array (or tensor) keeps its dtype; Python numbers
    and integer arrays get the default dtype (`get_default_dtype()`, float64 unless set)."""
    if isinstance(data, Tensor):
        data = data.numpy()
    try:
        array = np.array(data)
    except ValueError as err:  # ragged nesting
        raise ValueError(f"tensor(): expected numbers in a rectangular nested list or array ({err})") from err
    if array.dtype.kind not in "biuf":  # bool, signed, unsigned, float; not complex, str, object
        raise TypeError(
            f"tensor(): expected numbers (real) in a rectangular nested list or array, got dtype {array.dtype}"
        )
    if dtype is not None:
        array = array.astype(resolve_dtype(dtype))
    else:
        keep = isinstance(data, (np.ndarray, np.floating)) and array.dtype.name in DTYPES  # as PyTorch
        array = array.astype(array.dtype if keep else get_default_dtype())
    out = Tensor(TensorData(np.ascontiguousarray(array).reshape(-1), array.shape), backend=backend)
    return out.requires_grad_(True) if requires_grad else out


def from_numpy(array: np.ndarray, backend: str | TensorBackend | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor with a copy of `array`'s values (float32 stays float32, else float64)."""
    return tensor(
        np.asarray(array),
        requires_grad=requires_grad,
        backend=backend,
        dtype="float32" if np.asarray(array).dtype == np.float32 else "float64",
    )


# zeros, ones, rand and the other creation functions live in creation.py.
