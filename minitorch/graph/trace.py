"""Module 5 — tracing: run eager code on *symbolic* tensors and record the IR instead of computing.

A symbolic tensor is an ordinary `Tensor` whose data is a `SymbolicData` (shape, strides,
dtype and the IR node that will compute it — no numbers) on a `SymbolicBackend`. Every
kernel call a Function makes lands in the backend, which appends a node to the graph.
Because the Tensor code runs unchanged, tracing sees exactly the ops eager mode runs —
including backward, so graph autodiff reuses the eager derivative rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ops
from ..backends.base import Dims, TensorBackend
from ..tensor import Tensor
from ..tensor_data import ShapeError, TensorData, shape_broadcast, strides_from_shape
from .ir import Graph, Node, infer_shape


class TracingError(RuntimeError):
    """The traced program needs a value that does not exist yet (value-dependent Python)."""


class SymbolicData(TensorData):
    """Shape, strides and dtype of a value the graph will compute, but no storage."""

    def __init__(self, graph: Graph, node: Node, strides: tuple[int, ...] | None = None) -> None:
        # TensorData.__init__ checks storage size; a symbolic value has none, so set fields directly.
        self.graph = graph
        self.node = node
        self.shape = tuple(node.shape)
        self.strides = tuple(strides) if strides is not None else strides_from_shape(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1
        self.dims = len(self.shape)
        self._dtype = np.dtype(node.dtype)
        self._kernel_args = None

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def _value_needed(self, what: str) -> TracingError:
        return TracingError(
            f"{what} of %{self.node.id} (made by '{self.node.op}', shape {self.shape}) is not known "
            "while tracing: Python code that depends on tensor values (if/while on a tensor, "
            ".item(), .numpy()) cannot be compiled; shape-dependent code is fine"
        )

    @property
    def storage(self) -> np.ndarray:  # type: ignore[override]
        raise self._value_needed("the value")

    def tuple(self) -> Any:  # type: ignore[override]
        raise self._value_needed("the value")

    def to_numpy(self) -> np.ndarray:
        raise self._value_needed("the value")

    def get(self, index: Any) -> float:
        raise self._value_needed("an element")

    def set(self, index: Any, value: float) -> None:
        raise TracingError(f"cannot assign into %{self.node.id} while tracing (in-place writes are not compiled)")

    def permute(self, *order: int) -> SymbolicData:
        if sorted(order) != list(range(self.dims)):
            raise ShapeError(
                f"permute: order {order} is not a rearrangement of the {self.dims} dims of shape {self.shape}"
            )
        node = self.graph.add(
            "permute", [self.node.id], tuple(self.shape[i] for i in order), self.node.dtype, order=tuple(order)
        )
        return SymbolicData(self.graph, node, tuple(self.strides[i] for i in order))

    def view(self, shape: Any) -> SymbolicData:
        shape = tuple(int(s) for s in shape)
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape = tuple(self.size // known if s == -1 else s for s in shape)
        if int(np.prod(shape)) != self.size:
            raise ShapeError(f"view: cannot view shape {self.shape} ({self.size} elements) as {shape}")
        if not self.is_contiguous():
            raise ShapeError(
                f"view: tensor of shape {self.shape} with strides {self.strides} is not contiguous; "
                "call .contiguous() first"
            )
        node = self.graph.add("view", [self.node.id], shape, self.node.dtype, shape=shape)
        return SymbolicData(self.graph, node)

    def expand(self, shape: Any) -> SymbolicData:
        """Broadcast in the graph: the IR has no views, so `x + zeros(shape)` (the same values)."""
        shape = tuple(int(s) for s in shape)
        if shape_broadcast(self.shape, shape, "expand") != shape:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to {shape}")
        zeros = self.graph.add("const", [], shape, self.node.dtype, value=np.zeros(shape, dtype=self.dtype))
        node = self.graph.add("add", [self.node.id, zeros.id], shape, self.node.dtype)
        return SymbolicData(self.graph, node)

    def __repr__(self) -> str:
        return f"SymbolicData(%{self.node.id}, shape={self.shape}, dtype={self.dtype})"


class SymbolicBackend(TensorBackend):
    """A backend whose 'kernels' append IR nodes. It stands in for `real` while tracing.

    Every op arrives here by its op-table name (`map("exp", a)`), which is also its IR op."""

    def __init__(self, graph: Graph, real: TensorBackend) -> None:  # no kernels to build
        self.graph = graph
        self.real = real
        self.name = real.name
        self.kernels = None
        self._consts: dict[int, tuple[TensorData, Node]] = {}
        self.captured: dict[int, tuple[Tensor, Tensor]] = {}  # id -> (captured tensor, its input)
        self.random_sources: list[RandomSource] = []

    def node_of(self, data: TensorData) -> Node:
        """The IR node holding `data`: symbolic data knows it; concrete data becomes a const."""
        if isinstance(data, SymbolicData):
            return data.node
        key = id(data)
        if key not in self._consts:  # keep `data` alive so its id is not reused
            value = np.array(data.to_numpy(), copy=True)  # the value at trace time, as jax does
            node = self.graph.add("const", [], data.shape, data.dtype.name, value=value)
            self._consts[key] = (data, node)
        return self._consts[key][1]

    def _emit(self, op: str, inputs: list[TensorData], dtype: str, **attrs: Any) -> SymbolicData:
        nodes = [self.node_of(x) for x in inputs]
        probe = Node(-1, op, [n.id for n in nodes], (), dtype, attrs)
        shape = infer_shape(probe, nodes)
        return SymbolicData(self.graph, self.graph.add(op, [n.id for n in nodes], shape, dtype, **attrs))

    def map(self, op: str, a: TensorData) -> TensorData:
        ops.primitive(op)  # a clear error for a name the table lacks
        return self._emit(op, [a], a.dtype.name)

    def zip(self, op: str, a: TensorData, b: TensorData) -> TensorData:
        ops.primitive(op)
        return self._emit(op, [a, b], np.result_type(a.dtype, b.dtype).name)

    def reduce(self, op: str, a: TensorData, dim: int) -> TensorData:
        return self._emit(op, [a], a.dtype.name, dim=int(dim))

    def cast(self, a: TensorData, dtype: Any) -> TensorData:
        dtype = np.dtype(dtype)
        return a if a.dtype == dtype else self._emit("cast", [a], dtype.name, to=dtype.name)

    def matmul(self, a: TensorData, b: TensorData) -> TensorData:
        return self._emit("matmul", [a, b], np.result_type(a.dtype, b.dtype).name)

    # Convolution and pooling: one IR node each, with its geometry as attributes (tuples of ints).

    def conv(
        self, a: TensorData, weight: TensorData, stride: Dims, padding: Dims, dilation: Dims, groups: int = 1
    ) -> TensorData:
        dtype = np.result_type(a.dtype, weight.dtype).name
        grouped = {"groups": int(groups)} if groups != 1 else {}  # an attribute only where it says something
        return self._emit(
            "conv", [a, weight], dtype, **_dims(stride=stride, padding=padding, dilation=dilation), **grouped
        )

    def pool(self, kind: str, a: TensorData, kernel: Dims, stride: Dims, padding: Dims) -> TensorData:
        return self._emit(f"{kind}_pool", [a], a.dtype.name, **_dims(kernel=kernel, stride=stride, padding=padding))

    def unfold(
        self, a: TensorData, kernel: Dims, stride: Dims, padding: Dims, dilation: Dims, fill: float = 0.0
    ) -> TensorData:
        geometry = _dims(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        return self._emit("unfold", [a], a.dtype.name, fill=float(fill), **geometry)

    def fold(
        self, cols: TensorData, size: Dims, kernel: Dims, stride: Dims, padding: Dims, dilation: Dims
    ) -> TensorData:
        geometry = _dims(size=size, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        return self._emit("fold", [cols], cols.dtype.name, **geometry)

    def make_map(self, fn: Callable[[float], float], name: str | None = None) -> Any:
        raise TracingError(f"graph mode has no IR op for map({fn.__name__}); add it to the op table (minitorch/ops.py)")

    def meet(self, other: TensorBackend) -> TensorBackend | None:
        """Concrete tensors of the traced backend join the trace (as constants)."""
        return self if other is self or other is self.real else None

    def values(self, a: TensorData) -> np.ndarray | None:
        """A symbolic tensor has no numbers yet; a constant met while tracing has."""
        return None if isinstance(a, SymbolicData) else a.to_numpy()

    def adopt(self, tensor: Tensor) -> Tensor:
        """A concrete tensor met while tracing (captured, e.g. by a closure). One that requires
        grad becomes an `input` of the graph, fed with its value and given its gradient on
        each call; any other becomes a constant (guarded: see `const_guards`)."""
        if not tensor.requires_grad:
            return Tensor(tensor._tensor, backend=self)
        if id(tensor) not in self.captured:
            name = f"captured{len(self.captured)}"
            self.captured[id(tensor)] = (tensor, symbolic_input(self.graph, self, tensor, "input", name))
        return self.captured[id(tensor)][1]

    def random(self, draw: Callable[[], np.ndarray], shape: tuple[int, ...], dtype: Any) -> TensorData:
        """Random numbers become an `input` node; each call of the compiled graph feeds a fresh `draw()`."""
        dtype = np.dtype(dtype).name
        node = self.graph.add("input", [], tuple(shape), dtype, name=f"random{len(self.random_sources)}")
        self.random_sources.append(RandomSource(node.id, draw, tuple(shape), dtype))
        return SymbolicData(self.graph, node)

    def const_guards(self) -> list[ConstGuard]:
        """For every concrete value the trace froze into a constant: a check that it is unchanged."""
        return [ConstGuard(data, digest(data.to_numpy())) for data, _ in self._consts.values()]

    def __repr__(self) -> str:
        return f"SymbolicBackend(tracing for {self.real.name!r})"


def _dims(**geometry: Dims) -> dict[str, tuple[int, ...]]:
    """Geometry attributes as tuples of plain ints (hashable, printable, comparable)."""
    return {key: tuple(int(v) for v in value) for key, value in geometry.items()}


def digest(array: np.ndarray) -> tuple[Any, ...]:
    """Shape, dtype and a hash of the bytes of `array`: equal digests mean equal arrays."""
    array = np.ascontiguousarray(array)
    return array.shape, array.dtype.str, hashlib.blake2b(array.tobytes(), digest_size=16).digest()


@dataclass(frozen=True)
class RandomSource:
    """An input of a compiled graph fed with fresh random numbers on every call (dropout's mask)."""

    node: int
    draw: Callable[[], np.ndarray]
    shape: tuple[int, ...]
    dtype: str

    def sample(self) -> TensorData:
        return TensorData(np.asarray(self.draw(), dtype=self.dtype).reshape(-1), self.shape)


@dataclass(frozen=True)
class ConstGuard:
    """A concrete value frozen into the trace, and its digest then: the trace is stale once they differ."""

    data: TensorData
    frozen: tuple[Any, ...]

    def holds(self) -> bool:
        return digest(self.data.to_numpy()) == self.frozen


def symbolic_input(graph: Graph, backend: SymbolicBackend, like: Tensor, op: str, name: str) -> Tensor:
    """A placeholder tensor (an `input` or `param` node) shaped like `like`."""
    node = graph.add(op, [], like.shape, like.dtype.name, name=name)
    tensor = Tensor(SymbolicData(graph, node), backend=backend, name=name)
    if like.requires_grad or op == "param":
        tensor.requires_grad_(True)
    return tensor


def placeholder(
    graph: Graph, backend: SymbolicBackend, shape: tuple[int, ...], dtype: str, name: str, requires_grad: bool = False
) -> Tensor:
    """A placeholder of a given shape and dtype (the TF1-style symbolic API)."""
    node = graph.add("input", [], tuple(shape), dtype, name=name)
    tensor = Tensor(SymbolicData(graph, node), backend=backend, name=name)
    return tensor.requires_grad_(True) if requires_grad else tensor


def node_id(tensor: Tensor) -> int:
    """The IR node of a symbolic tensor."""
    data = tensor._tensor
    if not isinstance(data, SymbolicData):
        raise TracingError("expected a tensor produced while tracing (a symbolic tensor)")
    return data.node.id
