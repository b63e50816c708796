"""Module 3 — the `fast` kernel library: Numba-compiled, parallel over output elements.

The same loops as `simple`, compiled to machine code, with three changes for speed:

1. The outer loop is `prange`: Numba splits it across CPU cores.
2. When input and output share a contiguous layout, a flat loop skips all index math.
3. The scalar function is chosen by a small integer *op code* inside one kernel per
   pattern (map / zip / reduce), instead of compiling a kernel per function: the switch
   `unary(op, x)` / `binary(op, x, y)` is generated from the op table (backends/switch.py).
   A kernel with no closures can be cached on disk, so a second process loads it instead
   of recompiling.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import prange

from .. import operators, ops, tensor_data
from ..tensor_data import Index, Storage
from . import switch

# Worker threads wait *passively* (sleep) after a parallel region instead of spinning for a
# while: spinning workers steal the cores from numpy's BLAS and from neighbouring processes
# (chapter 03, section 2; benchmarks/threading.py). OpenMP reads this when Numba first starts
# its threads, at the first parallel call; a value you set yourself wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Where the compiled kernels are cached: a folder named by a hash of this file, the op table,
# `operators` and `tensor_data`, so editing any of them compiles afresh (see switch.py).
CACHE = switch.kernel_cache_dir(switch.cache_key("fast", __file__, operators.__file__, tensor_data.__file__))


def njit(**options: object) -> Callable[[Callable[..., object]], Any]:
    """`numba.njit` with the disk cache on, in the folder above."""
    return switch.cached_njit(CACHE, **options)


# The op switch generated from the op table: `unary(op, x)` and `binary(op, x, y)` run the
# primitive whose code is `op`; SCALAR_FUNCTIONS are the table's functions compiled (for codegen).
_SWITCH = switch.load("fast", CACHE)
unary, binary = _SWITCH.unary, _SWITCH.binary
SCALAR_FUNCTIONS: dict[str, Any] = _SWITCH.COMPILED
ADD = ops.primitive("add").code  # the sum's vectorised path


# ## Index helpers, compiled
#
# Your own `tensor_data` functions (tasks 2.1, 2.2), compiled: a kernel can call only compiled
# functions. The kernels below avoid them on their hot paths (`row_start` and
# `broadcast_strides` do less work per element), but a kernel of yours may call them.
# Not `inline="always"`: Numba's parfor pass rejects an inlined helper that reassigns the
# prange index; LLVM inlines them anyway.
index_jit = njit(cache=True)
index_to_position = index_jit(tensor_data.index_to_position)
to_index = index_jit(tensor_data.to_index)
broadcast_index = index_jit(tensor_data.broadcast_index)


@index_jit
def same_layout(shape_a: Index, strides_a: Index, shape_b: Index, strides_b: Index) -> bool:
    """True when two tensors have identical shape and strides: positions line up 1:1."""
    if len(shape_a) != len(shape_b):
        return False
    for i in range(len(shape_a)):
        if shape_a[i] != shape_b[i] or strides_a[i] != strides_b[i]:
            return False
    return True


@index_jit
def broadcast_strides(out_shape: Index, shape: Index, strides: Index) -> Index:
    """Strides that read an input directly with an *output* index: 0 where it broadcasts.

    With these, `position = sum(out_index[d] * strides[d])` needs no `broadcast_index`.
    """
    result = np.zeros(len(out_shape), np.int64)
    offset = len(out_shape) - len(shape)
    for d in range(len(shape)):
        if shape[d] != 1:
            result[d + offset] = strides[d]
    return result


@index_jit
def row_start(row: int, out_shape: Index, strides: Index) -> int:
    """Position of element 0 of output row `row` (all dims but the last), through `strides`."""
    position = 0
    remaining = np.int64(row)  # a prange index may arrive unsigned; keep the math in int64
    for d in range(len(out_shape) - 2, -1, -1):
        position += (remaining % out_shape[d]) * strides[d]
        remaining = remaining // out_shape[d]
    return position


# ## Task 3.1 — parallel map, zip, reduce
#
# The general path walks the output row by row (a row = the last dimension): each row's
# start positions cost one index computation, then the inner loop just adds strides.
# No index arrays are allocated inside the parallel loop.


@njit(parallel=True)
def map_kernel(
    op: int,
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
) -> None:
    """`out[i] = fn(a[broadcast(i)])`, parallel over output rows.

    `op` is an op code: apply it with `unary(op, x)`. Results equal the simple backend's
    (same `operators` functions, so IEEE edge cases too), for permuted (non-contiguous)
    inputs, broadcast inputs and 0-dim tensors (shape `()`, one element), in float64 and float32.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN3_1
    if same_layout(out_shape, out_strides, a_shape, a_strides) and len(out) == len(a):
        for i in prange(len(out)):  # contiguous fast path: no index math
            out[i] = unary(op, a[i])
        return
    if len(out_shape) == 0:
        out[0] = unary(op, a[0])
        return
    a_read = broadcast_strides(out_shape, a_shape, a_strides)
    last = out_shape[-1]
    rows = len(out) // last if last > 0 else np.int64(0)
    for row in prange(rows):
        out_pos = row_start(row, out_shape, out_strides)
        a_pos = row_start(row, out_shape, a_read)
        for j in range(last):
            out[out_pos + j * out_strides[-1]] = unary(op, a[a_pos + j * a_read[-1]])
    # END ASSIGN3_1


@njit(parallel=True)
def zip_kernel(
    op: int,
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
    b: Storage,
    b_shape: Index,
    b_strides: Index,
) -> None:
    """`out[i] = fn(a[broadcast(i)], b[broadcast(i)])`, parallel over output rows.

    `op` is an op code: `binary(op, x, y)`. Equals the simple backend's, also broadcast/permuted.
    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN3_1
    if (
        same_layout(out_shape, out_strides, a_shape, a_strides)
        and same_layout(out_shape, out_strides, b_shape, b_strides)
        and len(out) == len(a) == len(b)
    ):
        for i in prange(len(out)):
            out[i] = binary(op, a[i], b[i])
        return
    if len(out_shape) == 0:
        out[0] = binary(op, a[0], b[0])
        return
    a_read = broadcast_strides(out_shape, a_shape, a_strides)
    b_read = broadcast_strides(out_shape, b_shape, b_strides)
    last = out_shape[-1]
    rows = len(out) // last if last > 0 else np.int64(0)
    for row in prange(rows):
        out_pos = row_start(row, out_shape, out_strides)
        a_pos = row_start(row, out_shape, a_read)
        b_pos = row_start(row, out_shape, b_read)
        for j in range(last):
            out[out_pos + j * out_strides[-1]] = binary(op, a[a_pos + j * a_read[-1]], b[b_pos + j * b_read[-1]])
    # END ASSIGN3_1


@njit(fastmath=True)
def sum_run(a: Storage, start: int, n: int, initial: float) -> float:
    """`initial + a[start] + ... + a[start + n - 1]`. fastmath lets LLVM reorder the adds
    into SIMD lanes (a tiny rounding difference, as numpy's pairwise sum also has)."""
    run = a[start : start + n]  # a slice: indices from 0 up, so no negative-index checks block SIMD
    total = 0.0
    for j in range(run.shape[0]):
        total += run[j]
    return initial + total


@njit(parallel=True)
def reduce_kernel(
    op: int,
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
    dim: int,
) -> None:
    """`out[j] = fold(fn, out[j], a[j with dim = 0..n-1])`, parallel over output elements.

    `out` arrives holding the start value; fold from it with `binary(op, acc, x)`. `max`
    must equal the simple backend's exactly; sums may differ only by rounding (a reordered
    sum is allowed). `a` may be a permuted view: read it through `a_strides`.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN3_1
    size = len(out)
    n = a_shape[dim]
    step = a_strides[dim]
    last = out_shape[-1]
    # `out` has size 1 at `dim`: reading its index with a's strides finds each run's start.
    for i in prange(size):
        element = np.int64(i)  # a prange index may arrive unsigned; keep the math in int64
        row = element // last
        column = element - row * last
        out_pos = row_start(row, out_shape, out_strides) + column * out_strides[-1]
        a_pos = row_start(row, out_shape, a_strides) + column * a_strides[-1]
        if op == ADD and step == 1:  # a contiguous sum: the vectorised loop
            out[out_pos] = sum_run(a, a_pos, n, out[out_pos])
        else:
            accumulated = out[out_pos]
            for j in range(n):
                accumulated = binary(op, accumulated, a[a_pos + j * step])
            out[out_pos] = accumulated
    # END ASSIGN3_1


# ## Task 3.2 — parallel matrix multiply
#
# Big products are computed in three steps (chapter 03, section 5):
# 1. *Pack*: copy A row-major and B transposed, so that every dot product below reads two
#    contiguous runs, `A[i, k0:k1]` and `B[k0:k1, j]`.
# 2. *Block*: the output is cut into MC x NC blocks (one parallel job each) and `k` into runs of
#    KC, so that the rows and columns a block reads stay in the caches while it is computed.
# 3. *Micro-kernel*: MR x NR = 4 x 3 dot products at once, in 12 scalar accumulators that stay in
#    CPU registers; LLVM vectorises their loop over k. Each number loaded is used 3 or 4 times.
# Small products (a batch of tiny matrices, a batch-1 MLP's one row) take the simple i-k-j loop:
# packing B would cost more than it saves.

MR, NR = 4, 3  # the micro-tile: rows of A x columns of B (12 accumulators: 4 of 16 registers left)
KC = 512  # k per pass: a micro-tile's MR rows of A (4 x 512 x 8 bytes) stay in the 32 KB L1 cache
MC, NC = 64, 96  # a job's output block: its NC columns of B (NC x KC numbers) stay in the L2 cache
SMALL_ROWS, SMALL_WORK = 16, 32**3  # fewer rows or multiply-adds per matrix: the simple loop is faster


@njit(fastmath=True)
def pack_rows(dest: Storage, src: Storage, rows: int, inner: int, strides: Index) -> None:
    """`dest[n, r, k] = src[n * strides[0] + r * strides[1] + k * strides[2]]`, `dest` contiguous.

    `dest` holds (batch, rows, inner) numbers. Packing A is `strides = a_strides`; packing B
    transposed (its columns become rows) swaps the last two of b's strides."""
    # BEGIN ASSIGN3_2
    for row in range(len(dest) // inner):
        n, r = row // rows, row % rows
        start = n * strides[0] + r * strides[1]
        run = dest[row * inner : (row + 1) * inner]
        for k in range(inner):
            run[k] = src[start + k * strides[2]]
    # END ASSIGN3_2


@njit(fastmath=True)
def micro_tile(a: Storage, rows: Index, b: Storage, cols: Index, length: int) -> tuple[np.floating[Any], ...]:
    """The MR x NR = 4 x 3 dot products `sum_p a[rows[r] + p] * b[cols[c] + p]`, p < length.

    Returned row by row as 12 numbers, summed in accumulators of the storage's dtype. Plain
    local variables, not an array: LLVM keeps them in registers, and vectorises the loop over p
    (each accumulator becomes a vector of partial sums, added up at the end)."""
    # BEGIN ASSIGN3_2
    a0, a1 = a[rows[0] : rows[0] + length], a[rows[1] : rows[1] + length]
    a2, a3 = a[rows[2] : rows[2] + length], a[rows[3] : rows[3] + length]
    b0, b1, b2 = b[cols[0] : cols[0] + length], b[cols[1] : cols[1] + length], b[cols[2] : cols[2] + length]
    zero = a.dtype.type(0)
    c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = zero
    for p in range(length):  # from 0 over slices: no index checks, so the loop vectorises
        x0, x1, x2, x3, y0, y1, y2 = a0[p], a1[p], a2[p], a3[p], b0[p], b1[p], b2[p]
        c00, c01, c02 = c00 + x0 * y0, c01 + x0 * y1, c02 + x0 * y2
        c10, c11, c12 = c10 + x1 * y0, c11 + x1 * y1, c12 + x1 * y2
        c20, c21, c22 = c20 + x2 * y0, c21 + x2 * y1, c22 + x2 * y2
        c30, c31, c32 = c30 + x3 * y0, c31 + x3 * y1, c32 + x3 * y2
    return (c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32)
    # END ASSIGN3_2


@njit(fastmath=True)
def matmul_block(
    out: Storage, out_pos: int, out_row: int, a: Storage, a_pos: int, b: Storage, b_pos: int, shape: Index
) -> None:
    """One job: `out[out_pos + i * out_row + j] = sum_k a[a_pos + i*K + k] * b[b_pos + j*K + k]`.

    `shape = (rows, cols, K)`; `a` is packed A (rows of K), `b` packed B (columns of K). Loops
    k-run (KC), then MR rows, then NR columns: the MR rows' runs stay in L1 while the block's
    columns (NC x KC numbers) stream past from L2. A partial tile at an edge repeats its last
    row or column (valid memory) and writes only what exists. The first k-run sets `out`, later
    ones add to it."""
    # BEGIN ASSIGN3_2
    rows, cols, inner = shape[0], shape[1], shape[2]
    tile_rows, tile_cols = np.empty(MR, np.int64), np.empty(NR, np.int64)
    for k0 in range(0, inner, KC):
        for i0 in range(0, rows, MR):
            for r in range(MR):
                tile_rows[r] = a_pos + min(i0 + r, rows - 1) * inner + k0
            for j0 in range(0, cols, NR):
                for c in range(NR):
                    tile_cols[c] = b_pos + min(j0 + c, cols - 1) * inner + k0
                tile = micro_tile(a, tile_rows, b, tile_cols, min(KC, inner - k0))
                for r in range(min(MR, rows - i0)):
                    for c in range(min(NR, cols - j0)):
                        pos = out_pos + (i0 + r) * out_row + j0 + c
                        out[pos] = tile[r * NR + c] if k0 == 0 else out[pos] + tile[r * NR + c]
    # END ASSIGN3_2


@njit(fastmath=True)
def matmul_row(
    out: Storage, a: Storage, a_pos: int, a_step: int, b: Storage, b_pos: int, b_step: int, inner: int
) -> None:
    """One output row by the simple loop: `out[j] = sum_k a[a_pos + k*a_step] * b[b_pos + k*b_step + j]`.

    `out` is the row itself (a slice of the output), k < inner. Order i-k-j: for each k, row k of
    B scaled by `a[i, k]` is added to `out`. That loop walks two contiguous rows, taken as
    slices so that indices start at 0 (no negative-index checks), and vectorises; `a[i, k]`
    stays in a register."""
    # BEGIN ASSIGN3_2
    cols = len(out)
    for j in range(cols):
        out[j] = 0
    for k in range(inner):
        a_ik = a[a_pos + k * a_step]
        start = b_pos + k * b_step
        b_row = b[start : start + cols]
        for j in range(cols):
            out[j] += a_ik * b_row[j]
    # END ASSIGN3_2


@njit(parallel=True, fastmath=True)
def matmul_kernel(
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
    b: Storage,
    b_shape: Index,
    b_strides: Index,
) -> None:
    """Batched `out[n, i, j] = sum_k a[n, i, k] * b[n, k, j]`, in parallel.

    3-D shapes (batch, rows, cols); a batch of size 1 in `a` or `b` broadcasts. `a` may be any
    strided view (transposed too); `b` and `out` have unit stride along their last dim
    (`FastKernels.matmul` makes sure); `inner = a_shape[2] > 0`. `out` arrives uninitialised:
    write every element. Matches the simple backend to rounding, float64 and float32, at every
    size: 1 x 1, k = 1, sizes not multiples of the blocks, a huge batch of tiny matrices.
    Small products: `matmul_row` in parallel over all rows. Big ones: pack A and B transposed
    (`pack_rows`), then one parallel job per MC x NC output block (`matmul_block`).
    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    (Longer than 40 lines because the signature takes 11 and both paths share the setup.)
    """
    # BEGIN ASSIGN3_2
    batches, rows, cols, inner = out_shape[0], out_shape[1], out_shape[2], a_shape[2]
    a_batch = a_strides[0] if a_shape[0] > 1 else 0  # a batch dim of size 1 broadcasts
    b_batch = b_strides[0] if b_shape[0] > 1 else 0
    if rows < SMALL_ROWS or rows * cols * inner < SMALL_WORK:
        for row in prange(batches * rows):  # short prange bodies: Numba compiles them slowly
            n, i = row // rows, row % rows
            start = n * out_strides[0] + i * out_strides[1]
            a_pos = n * a_batch + i * a_strides[1]
            matmul_row(out[start : start + cols], a, a_pos, a_strides[2], b, n * b_batch, b_strides[1], inner)
        return
    a_rows = np.empty(a_shape[0] * rows * inner, out.dtype)  # (batch, rows, inner)
    pack_rows(a_rows, a, rows, inner, a_strides)
    b_cols = np.empty(b_shape[0] * cols * inner, out.dtype)  # (batch, cols, inner): B transposed
    pack_rows(b_cols, b, cols, inner, (b_strides[0], b_strides[2], b_strides[1]))
    row_blocks, col_blocks = (rows + MC - 1) // MC, (cols + NC - 1) // NC
    for job in prange(batches * row_blocks * col_blocks):
        n, block = job // (row_blocks * col_blocks), job % (row_blocks * col_blocks)
        i0, j0 = (block // col_blocks) * MC, (block % col_blocks) * NC
        a_pos = ((n if a_shape[0] > 1 else 0) * rows + i0) * inner
        b_pos = ((n if b_shape[0] > 1 else 0) * cols + j0) * inner
        out_pos = n * out_strides[0] + i0 * out_strides[1] + j0
        shape = (min(MC, rows - i0), min(NC, cols - j0), inner)
        matmul_block(out, out_pos, out_strides[1], a_rows, a_pos, b_cols, b_pos, shape)
    # END ASSIGN3_2


# ## Launching: small work runs on one thread

# Waking the worker threads costs tens of microseconds (milliseconds on a busy machine);
# below this many elements (or flops, for matmul) one thread finishes sooner.
PARALLEL_MIN_WORK = 32_768
MAX_THREADS = numba.config.NUMBA_NUM_THREADS


def launch(kernel: Callable[..., None], work: int, *args: object) -> None:
    """Run a parallel kernel with all threads for big work, one thread for small work."""
    threads = 1 if work < PARALLEL_MIN_WORK else MAX_THREADS
    if threads != numba.get_num_threads():  # asked each time: the count is per calling thread
        numba.set_num_threads(threads)
    kernel(*args)


class FastKernels:
    """The kernel library of the `fast` backend: each factory picks an op code."""

    name = "fast"

    @staticmethod
    def map(fn: Callable[[float], float]) -> Callable[..., None]:
        op = ops.code_of(fn, 1, "fast")
        return lambda out, *rest: launch(map_kernel, len(out), op, out, *rest)

    @staticmethod
    def zip(fn: Callable[[float, float], float]) -> Callable[..., None]:
        op = ops.code_of(fn, 2, "fast")
        return lambda out, *rest: launch(zip_kernel, len(out), op, out, *rest)

    @staticmethod
    def reduce(fn: Callable[[float, float], float]) -> Callable[..., None]:
        op = ops.code_of(fn, 2, "fast")
        return lambda out, out_shape, out_strides, a, *rest: launch(
            reduce_kernel, len(a), op, out, out_shape, out_strides, a, *rest
        )

    @staticmethod
    def matmul(
        out: Storage,
        out_shape: Index,
        out_strides: Index,
        a: Storage,
        a_shape: Index,
        a_strides: Index,
        b: Storage,
        b_shape: Index,
        b_strides: Index,
    ) -> None:
        if b_strides[2] != 1:  # the kernel reads rows of b in order: give it a row-major copy
            b, b_strides = _row_major(b, b_shape, b_strides)
        work = int(out_shape[0] * out_shape[1] * out_shape[2] * a_shape[2])
        launch(matmul_kernel, work, out, out_shape, out_strides, a, a_shape, a_strides, b, b_shape, b_strides)


def _row_major(storage: Storage, shape: Index, strides: Index) -> tuple[Storage, Index]:
    """A row-major copy of a strided (batch, rows, cols) tensor, and its strides."""
    itemsize = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage, shape=tuple(shape), strides=tuple(s * itemsize for s in strides))
    copy = np.ascontiguousarray(view)
    return copy.reshape(-1), np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)


# ## Task 4.4 — unfold (im2col) and fold (col2im), parallel over (image, channel) planes
#
# The loops of `simple.tensor_unfold` / `tensor_fold`, with `prange` over the N*C planes:
# each plane owns its rows of the columns and its slice of the image, so no two threads ever
# write the same element (fold's `+=` needs no atomics). Convolution is then unfold + the
# parallel matmul above: for the small images of the course this was faster, measured, than
# a direct loop per output (benchmarks/conv.py).


@njit(parallel=True)
def unfold_kernel(
    out: Storage,
    a: Storage,
    a_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    out_size: tuple[int, int],
    fill: float,
) -> None:
    """`out[n, (c,i,j), (y,x)] = a[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw]` (or `fill`).

    Same results as `simple.tensor_unfold` (to 1e-10), float64 and float32; each parallel
    iteration writes only its own plane's rows, so no two threads write one element.
    """
    # BEGIN ASSIGN4_4
    height, width = a_shape[2], a_shape[3]
    kh, kw = kernel
    oh, ow = out_size
    for plane in prange(a_shape[0] * a_shape[1]):
        image = plane * height * width
        for i in range(kh):
            for j in range(kw):
                start = ((plane * kh + i) * kw + j) * oh * ow
                for y in range(oh):
                    h = y * stride[0] - padding[0] + i * dilation[0]
                    for x in range(ow):
                        w = x * stride[1] - padding[1] + j * dilation[1]
                        inside = 0 <= h < height and 0 <= w < width
                        out[start + y * ow + x] = a[image + h * width + w] if inside else fill
    # END ASSIGN4_4


@njit(parallel=True)
def fold_kernel(
    out: Storage,
    out_shape: tuple[int, int, int, int],
    cols: Storage,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    cols_size: tuple[int, int],
) -> None:
    """Add each column element back where unfold read it; `out` arrives zeroed.

    Same results as `simple.tensor_fold`; parallel over (n, c) planes so that the `+=` of two
    threads never meet (no atomics needed).
    """
    # BEGIN ASSIGN4_4
    height, width = out_shape[2], out_shape[3]
    kh, kw = kernel
    oh, ow = cols_size
    for plane in prange(out_shape[0] * out_shape[1]):
        image = plane * height * width
        for i in range(kh):
            for j in range(kw):
                start = ((plane * kh + i) * kw + j) * oh * ow
                for y in range(oh):
                    h = y * stride[0] - padding[0] + i * dilation[0]
                    if 0 <= h < height:
                        for x in range(ow):
                            w = x * stride[1] - padding[1] + j * dilation[1]
                            if 0 <= w < width:
                                out[image + h * width + w] += cols[start + y * ow + x]
    # END ASSIGN4_4


def _unfold(out: Storage, a: Storage, *rest: object) -> None:
    launch(unfold_kernel, len(out), out, a, *rest)


def _fold(out: Storage, out_shape: tuple[int, ...], cols: Storage, *rest: object) -> None:
    launch(fold_kernel, len(cols), out, out_shape, cols, *rest)


FastKernels.unfold = staticmethod(_unfold)  # type: ignore[attr-defined]
FastKernels.fold = staticmethod(_fold)  # type: ignore[attr-defined]
