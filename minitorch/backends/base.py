"""`TensorBackend`: the table of tensor operations a kernel library provides.

A kernel library (simple, fast, cuda) supplies four higher-order kernels — `map(fn)`,
`zip(fn)`, `reduce(fn)` and `matmul` — that work on raw (storage, shape, strides). The
backend specialises them once per scalar function from `operators` and wraps each so it
takes and returns `TensorData`, allocating the output.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import events, operators
from ..tensor_data import ShapeError, TensorData, shape_broadcast, strides_from_shape

MapOp = Callable[[TensorData], TensorData]
ZipOp = Callable[[TensorData, TensorData], TensorData]
ReduceOp = Callable[[TensorData, int], TensorData]


def empty(shape: tuple[int, ...], dtype: np.dtype) -> TensorData:
    """A fresh contiguous TensorData of `shape` (uninitialised: the kernel writes every element)."""
    return TensorData._unchecked(np.empty(math.prod(shape), dtype=dtype), shape, strides_from_shape(shape))


class TensorBackend:
    """Tensor ops built from one kernel library. Chosen per tensor by name."""

    def __init__(self, kernels: Any) -> None:
        self.kernels = kernels
        self.name: str = kernels.name
        # Maps
        self.neg_map = self.map(operators.neg)
        self.sigmoid_map = self.map(operators.sigmoid)
        self.relu_map = self.map(operators.relu)
        self.log_map = self.map(operators.log)
        self.exp_map = self.map(operators.exp)
        self.inv_map = self.map(operators.inv)
        self.id_map = self.map(operators.id)
        # Zips
        self.add_zip = self.zip(operators.add)
        self.mul_zip = self.zip(operators.mul)
        self.lt_zip = self.zip(operators.lt)
        self.eq_zip = self.zip(operators.eq)
        self.is_close_zip = self.zip(operators.is_close)
        self.relu_back_zip = self.zip(operators.relu_back)
        self.log_back_zip = self.zip(operators.log_back)
        self.inv_back_zip = self.zip(operators.inv_back)
        # Reductions
        self.add_reduce = self.reduce(operators.add, 0.0)
        self.mul_reduce = self.reduce(operators.mul, 1.0)
        self.max_reduce = self.reduce(operators.max, -np.inf)

    def map(self, fn: Callable[[float], float]) -> MapOp:
        kernel = self.kernels.map(fn)

        kernel_name = f"{fn.__name__}_map"

        def apply(a: TensorData) -> TensorData:
            out = empty(a.shape, a.dtype)
            start = time.perf_counter() if events.LISTENERS else 0.0
            kernel(*out.tuple(), *a.tuple())
            if events.LISTENERS:
                self._report(kernel_name, start, (a, out), flops=out.size)
            return out

        return apply

    def zip(self, fn: Callable[[float, float], float]) -> ZipOp:
        kernel = self.kernels.zip(fn)

        kernel_name = f"{fn.__name__}_zip"

        def apply(a: TensorData, b: TensorData) -> TensorData:
            shape = a.shape if a.shape == b.shape else shape_broadcast(a.shape, b.shape, fn.__name__)
            out = empty(shape, np.result_type(a.dtype, b.dtype))
            start = time.perf_counter() if events.LISTENERS else 0.0
            kernel(*out.tuple(), *a.tuple(), *b.tuple())
            if events.LISTENERS:
                self._report(kernel_name, start, (a, b, out), flops=out.size)
            return out

        return apply

    def reduce(self, fn: Callable[[float, float], float], start: float) -> ReduceOp:
        kernel = self.kernels.reduce(fn)
        kernel_name = f"{fn.__name__}_reduce"

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
