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
Dims = tuple[int, ...]  # one int per spatial dim (kernel size, stride, padding, dilation)


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

    def cast(self, a: TensorData, dtype: Any) -> TensorData:
        """`a` converted to `dtype`: the `id` kernel writing into an output of that type."""
        dtype = np.dtype(dtype)
        if a.dtype == dtype:
            return a
        if "cast" not in self._ops:
            self._ops["cast"] = self.kernels.map(ops.primitive("id").fn)
        out = empty(a.shape, dtype)
        self._ops["cast"](*out.tuple(), *a.tuple())
        return out

    def values(self, a: TensorData) -> np.ndarray | None:
        """The numbers held by `a`, for events (None where there are none yet, while tracing)."""
        return a.to_numpy()

    def adopt(self, tensor: Any) -> Any:
        """`tensor` (of a backend `meet` accepted) as a tensor of this one: same data, no history.
        Graph mode's tracer instead makes a captured tensor that requires grad a graph input."""
        return type(tensor)(tensor._tensor, backend=self)

    def random(self, draw: Callable[[], np.ndarray], shape: tuple[int, ...], dtype: Any) -> TensorData:
        """Random numbers from `draw()`. Graph mode's tracer makes them an input of the graph,
        fed with a fresh `draw()` on every call (not a constant frozen at trace time)."""
        return TensorData(np.asarray(draw(), dtype=dtype).reshape(-1), tuple(shape))

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

    # ## Convolution and pooling (module 4): unfold (im2col) and fold (col2im) kernels,
    # and convolution and pooling built on them with matmul and reduce.
    # Inputs are (N, C, L) or (N, C, H, W); every geometry argument has one int per spatial dim.

    def unfold(
        self, a: TensorData, kernel: Dims, stride: Dims, padding: Dims, dilation: Dims, fill: float = 0.0
    ) -> TensorData:
        """im2col: (N, C, *spatial) -> (N, C*prod(kernel), L), one column per output position."""
        geo = ConvGeometry(a.shape[2:], kernel, stride, padding, dilation)
        image = _contiguous(self, a)
        out = empty((a.shape[0], a.shape[1] * geo.window, geo.positions), a.dtype)
        began = time.perf_counter() if events.LISTENERS else 0.0
        self.kernels.unfold(out.storage, image.storage, (*a.shape[:2], *geo.as_2d(a.shape[2:])), *geo.pairs(), fill)
        if events.LISTENERS:
            self._report("unfold", began, (a, out), flops=out.size)
        return out

    def fold(
        self, cols: TensorData, size: Dims, kernel: Dims, stride: Dims, padding: Dims, dilation: Dims
    ) -> TensorData:
        """col2im, the adjoint of `unfold`: (N, C*prod(kernel), L) -> (N, C, *size), overlaps summed."""
        geo = ConvGeometry(tuple(size), kernel, stride, padding, dilation)
        channels = cols.shape[1] // geo.window
        out = empty((cols.shape[0], channels, *size), cols.dtype)
        out.storage[:] = 0.0
        began = time.perf_counter() if events.LISTENERS else 0.0
        shape4 = (cols.shape[0], channels, *geo.as_2d(tuple(size)))
        self.kernels.fold(out.storage, shape4, _contiguous(self, cols).storage, *geo.pairs())
        if events.LISTENERS:
            self._report("fold", began, (cols, out), flops=cols.size)
        return out

    def conv(
        self, a: TensorData, weight: TensorData, stride: Dims, padding: Dims, dilation: Dims, groups: int = 1
    ) -> TensorData:
        """Cross-correlation (PyTorch's conv, no bias): `out[n, o] = W[o] . unfold(a)[n]`, i.e.
        unfold then one matmul (O, C*K) @ (N, C*K, L) -> (N, O, L). With G groups, channel
        block g of the columns meets only weight block g: (G, O/G, C*K/G) @ (N, G, C*K/G, L).
        A library whose `conv_algorithm` is "implicit_gemm" (cuda) runs its own `conv` kernel instead."""
        geo = ConvGeometry(a.shape[2:], weight.shape[2:], stride, padding, dilation)
        out_channels, n = weight.shape[0], a.shape[0]
        if getattr(self.kernels, "conv_algorithm", "im2col") == "implicit_gemm":
            return self._direct_conv(a, weight, geo, groups)
        cols = self.unfold(a, weight.shape[2:], stride, padding, dilation).view((n, groups, -1, geo.positions))
        flat_weight = _contiguous(self, weight).view((groups, out_channels // groups, -1))
        return self.matmul(flat_weight, cols).view((n, out_channels, *geo.out_size))

    def _direct_conv(self, a: TensorData, weight: TensorData, geo: ConvGeometry, groups: int) -> TensorData:
        """The library's own conv kernel: contiguous image and weight in, (N, O, *out) out."""
        out = empty((a.shape[0], weight.shape[0], *geo.out_size), np.result_type(a.dtype, weight.dtype))
        image, flat_weight = _contiguous(self, a), _contiguous(self, weight)
        began = time.perf_counter() if events.LISTENERS else 0.0
        shape4 = (*a.shape[:2], *geo.as_2d(a.shape[2:]))
        self.kernels.conv(
            out.storage, image.storage, shape4, flat_weight.storage, weight.shape[0], groups, *geo.pairs()
        )
        if events.LISTENERS:
            self._report("conv", began, (a, weight, out), flops=2 * out.size * geo.window * a.shape[1] // groups)
        return out

    def pool(self, kind: str, a: TensorData, kernel: Dims, stride: Dims, padding: Dims) -> TensorData:
        """Max ("max") or average ("avg", padding counted as zeros) of every window."""
        ones = (1,) * len(kernel)
        geo = ConvGeometry(a.shape[2:], kernel, stride, padding, ones)
        fill = -math.inf if kind == "max" else 0.0
        cols = self.unfold(a, kernel, stride, padding, ones, fill)
        windows = cols.view((a.shape[0], a.shape[1], geo.window, geo.positions))
        out = self.reduce("max" if kind == "max" else "sum", windows, 2)
        if kind == "avg":
            out = self.zip("mul", out, TensorData(np.array([1.0 / geo.window], dtype=a.dtype), (1,)))
        return out.view((a.shape[0], a.shape[1], *geo.out_size))


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


def _contiguous(backend: TensorBackend, x: TensorData) -> TensorData:
    return x if x.is_contiguous() else backend.map("id", x)


class ConvGeometry:
    """Where a sliding window goes: for each spatial dim, `out = (size + 2p - d(k-1) - 1) // s + 1`
    positions (PyTorch's formula). 1-D geometry is run by the kernels as 2-D with a height of 1."""

    def __init__(self, size: Dims, kernel: Dims, stride: Dims, padding: Dims, dilation: Dims) -> None:
        if not len(size) == len(kernel) == len(stride) == len(padding) == len(dilation) or len(size) not in (1, 2):
            raise ShapeError(
                f"conv/pool: need 1 or 2 spatial dims for all of size {size}, kernel {kernel}, "
                f"stride {stride}, padding {padding}, dilation {dilation}"
            )
        self.kernel, self.stride, self.padding, self.dilation = (
            tuple(int(v) for v in x) for x in (kernel, stride, padding, dilation)
        )
        self.out_size = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(size, self.kernel, self.stride, self.padding, self.dilation)
        )
        if min(self.out_size) < 1:
            raise ShapeError(
                f"conv/pool: input of size {tuple(size)} is too small for kernel {self.kernel} "
                f"(padding {self.padding}, dilation {self.dilation}): output size {self.out_size}"
            )
        self.window = math.prod(self.kernel)
        self.positions = math.prod(self.out_size)

    @staticmethod
    def as_2d(pair: Dims) -> tuple[int, int]:
        """A 1-D (L,) as (1, L); a 2-D pair as it is."""
        return (1, int(pair[0])) if len(pair) == 1 else (int(pair[0]), int(pair[1]))

    def pairs(self) -> tuple[Dims, ...]:
        """kernel, stride, padding, dilation and output size as (H, W) pairs, for the kernels;
        a 1-D geometry gets height 1: kernel 1, stride 1, padding 0, dilation 1, output 1."""
        values = (self.kernel, self.stride, self.padding, self.dilation, self.out_size)
        if len(self.kernel) == 2:
            return values
        return tuple((first, v[0]) for first, v in zip((1, 1, 0, 1, 1), values))
