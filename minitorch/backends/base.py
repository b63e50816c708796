"""`TensorBackend`: the table of tensor operations a kernel library provides.

A kernel library (simple, fast, cuda) supplies four higher-order kernels — `map(fn)`,
`zip(fn)`, `reduce(fn)` and `matmul` — that work on raw (storage, shape, strides). The
backend specialises them for each op of the op table (minitorch/ops.py), named as there,
and wraps each so it takes and returns `TensorData`, allocating the output.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import events, ops
from ..tensor_data import ShapeError, TensorData, shape_broadcast, strides_from_shape

MapOp = Callable[[TensorData], TensorData]
ZipOp = Callable[[TensorData, TensorData], TensorData]
ReduceOp = Callable[[TensorData, int], TensorData]


def empty(shape: tuple[int, ...], dtype: np.dtype) -> TensorData:
    """A fresh contiguous TensorData of `shape` (uninitialised: the kernel writes every element)."""
    return TensorData._unchecked(np.empty(math.prod(shape), dtype=dtype), shape, strides_from_shape(shape))


class TensorBackend:
    """Tensor ops built from one kernel library. Chosen per tensor by name.

    Every op is named as in the op table (minitorch/ops.py): `backend.map("exp", a)`,
    `backend.zip("add", a, b)`, `backend.reduce("sum", a, dim)`, plus `backend.matmul(a, b)`.
    Each takes and returns `TensorData`: it works out the output shape, allocates the output,
    runs the library's kernel specialised for that op (built on first use) and reports it.
    """

    def __init__(self, kernels: Any) -> None:
        self.kernels = kernels
        self.name: str = kernels.name
        self._ops: dict[str, Callable[..., TensorData]] = {}

    def map(self, op: str, a: TensorData) -> TensorData:
        """`out[i] = f(a[i])` for the one-input primitive `op`."""
        if op not in self._ops:
            self._ops[op] = self.make_map(ops.primitive(op).fn, op)
        return self._ops[op](a)

    def zip(self, op: str, a: TensorData, b: TensorData) -> TensorData:
        """`out[i] = f(a[i], b[i])` for the two-input primitive `op`, broadcasting a and b."""
        if op not in self._ops:
            self._ops[op] = self.make_zip(ops.primitive(op).fn, op)
        return self._ops[op](a, b)

    def reduce(self, op: str, a: TensorData, dim: int) -> TensorData:
        """The reduction `op` ("sum", "max", "prod") of `a` along `dim`, kept as size 1."""
        key = f"reduce:{op}"
        if key not in self._ops:
            if op not in ops.REDUCTIONS:
                raise ops.OpTableError(f"no reduction {op!r}; the op table has {', '.join(ops.REDUCTIONS)}")
            reduction = ops.REDUCTIONS[op]
            self._ops[key] = self.make_reduce(reduction.fn, reduction.start, op)
        return self._ops[key](a, dim)

    def make_map(self, fn: Callable[[float], float], name: str | None = None) -> MapOp:
        """An op applying any one-argument float function (the `simple` library takes any;
        compiled libraries only the op table's)."""
        kernel = self.kernels.map(fn)
        kernel_name = f"{name or fn.__name__}_map"

        def apply(a: TensorData) -> TensorData:
            out = empty(a.shape, a.dtype)
            start = time.perf_counter() if events.LISTENERS else 0.0
            kernel(*out.tuple(), *a.tuple())
            if events.LISTENERS:
                self._report(kernel_name, start, (a, out), flops=out.size)
            return out

        return apply

    def make_zip(self, fn: Callable[[float, float], float], name: str | None = None) -> ZipOp:
        """An op combining two broadcast inputs with any two-argument float function."""
        kernel = self.kernels.zip(fn)
        kernel_name = f"{name or fn.__name__}_zip"

        def apply(a: TensorData, b: TensorData) -> TensorData:
            shape = a.shape if a.shape == b.shape else shape_broadcast(a.shape, b.shape, kernel_name)
            out = empty(shape, np.result_type(a.dtype, b.dtype))
            start = time.perf_counter() if events.LISTENERS else 0.0
            kernel(*out.tuple(), *a.tuple(), *b.tuple())
            if events.LISTENERS:
                self._report(kernel_name, start, (a, b, out), flops=out.size)
            return out

        return apply

    def make_reduce(self, fn: Callable[[float, float], float], start: float, name: str | None = None) -> ReduceOp:
        """An op folding `fn` along a dim from `start` (fn's identity: 0 for add, 1 for mul, ...)."""
        kernel = self.kernels.reduce(fn)
        kernel_name = f"{name or fn.__name__}_reduce"

        def apply(a: TensorData, dim: int) -> TensorData:
            out_shape = list(a.shape)
            out_shape[dim] = 1
            out = empty(tuple(out_shape), a.dtype)
            out.storage[:] = start
            began = time.perf_counter() if events.LISTENERS else 0.0
            kernel(*out.tuple(), *a.tuple(), dim)
            if events.LISTENERS:
                self._report(kernel_name, began, (a, out), flops=a.size)
            return out

        return apply

    def meet(self, other: TensorBackend) -> TensorBackend | None:
        """The backend an op on a tensor of this backend and one of `other` runs on (None: they
        cannot mix). Plain backends mix only with themselves; graph mode's tracer also takes
        concrete tensors of the backend it traces for."""
        return self if other is self else None

    def values(self, a: TensorData) -> np.ndarray | None:
        """The numbers held by `a`, for events (None where there are none yet, while tracing)."""
        return a.to_numpy()

    def matmul(self, a: TensorData, b: TensorData) -> TensorData:
        """Batched (..., n, m) @ (..., m, p) -> (..., n, p); batch dims broadcast."""
        if a.dims < 2 or b.dims < 2:
            raise ShapeError(f"matmul: kernel needs 2-D or more, got {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: inner dimensions "
                f"{a.shape[-1]} and {b.shape[-2]} must be equal"
            )
        batch = shape_broadcast(a.shape[:-2], b.shape[:-2], "matmul (batch dims)")
        out_shape = (*batch, a.shape[-2], b.shape[-1])
        out = empty(out_shape, np.result_type(a.dtype, b.dtype))
        if out.size == 0 or a.shape[-1] == 0:  # zero-size: an empty product, or sums of nothing (0)
            out.storage[:] = 0.0
            return out
        # The kernel sees 3-D (batch, rows, cols); flatten the batch dims of all three.
        a3, b3 = _as_3d(a, batch), _as_3d(b, batch)
        out3 = out.view((-1, out_shape[-2], out_shape[-1]))
        start = time.perf_counter() if events.LISTENERS else 0.0
        self.kernels.matmul(*out3.tuple(), *a3.tuple(), *b3.tuple())
        if events.LISTENERS:
            self._report("matmul", start, (a, b, out), flops=2 * out.size * a.shape[-1])
        return out

    def _report(self, kernel: str, start: float, arrays: tuple[TensorData, ...], flops: int) -> None:
        """Tell listeners (profiler, recordings) that `kernel` ran since `start`."""
        events.report_kernel(
            kernel=kernel,
            backend=self.name,
            shapes=[list(x.shape) for x in arrays[:-1]],
            seconds=time.perf_counter() - start,
            bytes=sum(x.size * x.dtype.itemsize for x in arrays),
            flops=flops,
        )

    def __repr__(self) -> str:
        return f"TensorBackend({self.name!r})"


def _as_3d(x: TensorData, batch: tuple[int, ...]) -> TensorData:
    """View x as (batch, rows, cols), broadcasting its batch dims to `batch` first."""
    rows, cols = x.shape[-2], x.shape[-1]
    if x.shape[:-2] == batch and x.is_contiguous():
        return x.view((-1, rows, cols))
    if all(s == 1 for s in x.shape[:-2]):  # one matrix shared by every batch: the kernel broadcasts it
        return TensorData(x.storage, (1, rows, cols), (0, x.strides[-2], x.strides[-1]))
    # Materialise the broadcast batch so the kernel sees plain (batch, rows, cols).
    full = np.ascontiguousarray(np.broadcast_to(x.to_numpy(), (*batch, rows, cols)))
    return TensorData(full, (int(np.prod(batch)), rows, cols))
