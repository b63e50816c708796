"""Module 2 — `Tensor`: an n-dimensional array with autodiff, API after PyTorch.

    x = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad            # 2 * x

A Tensor is `TensorData` (storage, shape, strides) + a backend that runs kernels on it +
a `History` for the shared backprop engine in `autodiff`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Union

import numpy as np

from . import backends
from .autodiff import GraphValue, History, backpropagate, new_id
from .backends.base import TensorBackend
from .tensor_data import ShapeError, TensorData, resolve_dtype
from .tensor_functions import (
    EQ,
    LT,
    Add,
    Copy,
    Exp,
    Inv,
    IsClose,
    Log,
    MatMul,
    Max,
    Mul,
    Neg,
    Permute,
    ReLU,
    Sigmoid,
    Sum,
    View,
    primitive_function,
    run_map,
)

TensorLike = Union[float, int, "Tensor"]


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

    # -- construction helpers -------------------------------------------------

    def _new(self, data: TensorData) -> Tensor:
        """A tensor on the same backend holding `data` (no history)."""
        return Tensor(data, backend=self.backend)

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

    @property
    def size(self) -> int:
        return self._tensor.size

    @property
    def dims(self) -> int:
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
        if self.size != 1:
            raise ValueError(f"item(): tensor of shape {self.shape} has {self.size} elements, not 1")
        return float(self._tensor.storage[self._tensor.index((0,) * self.dims)])

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def to(self, backend: str | TensorBackend) -> Tensor:
        """A copy on another backend (same values, no history)."""
        return Tensor(TensorData(self.numpy().copy(), self.shape), backend=backend)

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

    def chain_rule(self, d_output: Tensor) -> Iterable[tuple[Tensor, Tensor]]:
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
            if self.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} ({self.size} elements) needs "
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
        # to_numpy() is a strided view of the storage, so this writes through any layout.
        np.copyto(self._tensor.to_numpy(), array, casting="same_kind")
        return self

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
        return LT.apply(*self._operands(b, "lt"))

    def __gt__(self, b: TensorLike) -> Tensor:
        a, b = self._operands(b, "gt")
        return LT.apply(b, a)

    def __eq__(self, b: TensorLike) -> Tensor:  # type: ignore[override]
        return EQ.apply(*self._operands(b, "eq"))

    __hash__ = object.__hash__  # identity, so tensors can be graph nodes in sets and dicts

    def lt(self, b: TensorLike) -> Tensor:
        return self < b

    def gt(self, b: TensorLike) -> Tensor:
        return self > b

    def eq(self, b: TensorLike) -> Tensor:
        return self == b

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
        return self.contiguous().view((self.size,))

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
        count = self.size if dim is None or self.dims == 0 else self.shape[self._check_dim(dim, "mean")]
        return self.sum(dim, keepdim) / float(count)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Largest value along `dim` (all elements when None); gradient flows to the maxima."""
        if dim is None or self.dims == 0:
            self._check_dim(0 if dim is None else dim, "max")
            return Max.apply(self._flat(), dim=0).view(())
        dim = self._check_dim(dim, "max")
        out = Max.apply(self, dim=dim)
        return out if keepdim else out._drop_dim(dim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the (first) largest value along `dim`, as a float tensor (no gradient)."""
        values = self.numpy()
        if dim is None:
            return self._constant(np.array(float(np.argmax(values))))
        dim = self._check_dim(dim, "argmax")
        return self._constant(np.argmax(values, axis=dim, keepdims=keepdim).astype(self.dtype))

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
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return View.apply(self, shape=tuple(int(s) for s in shape))

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """`view` that copies first when the layout needs it."""
        return self.contiguous().view(*shape)

    def contiguous(self) -> Tensor:
        """This tensor if already row-major, else a row-major copy."""
        return self if self._tensor.is_contiguous() else Copy.apply(self)

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

    def __getitem__(self, index: int | Sequence[int]) -> float:
        """The element at a full index, as a float (`x[0, 1]`)."""
        idx = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
        return float(self._tensor.get(idx))

    def __setitem__(self, index: int | Sequence[int], value: float) -> None:
        idx = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
        self._tensor.set(idx, value)

    def __len__(self) -> int:
        if self.dims == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"truth value of a tensor with {self.size} elements is ambiguous; use .all()")
        return bool(self.item())

    def __float__(self) -> float:
        return self.item()

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype.name}")
        if self.backend.name != backends.default_backend_name():
            extras.append(f"backend={self.backend.name!r}")
        if self.history is not None and self.history.last_fn is not None:
            extras.append(f"grad_fn={self.history.last_fn.op_name()}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


# ## Creating tensors


def tensor(
    data: Any,
    requires_grad: bool = False,
    backend: str | TensorBackend | None = None,
    dtype: Any = None,
) -> Tensor:
    """A tensor from nested lists, a number, or a numpy array (copied)."""
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
        array = array.astype(np.float32 if array.dtype == np.float32 else np.float64)
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
