"""Module 3 — the `cuda` kernel library: Numba CUDA kernels, thousands of GPU threads at once.

The same loops as `simple` and `fast`, turned inside out: instead of one loop over the
output, the GPU starts one *thread* per output element (map, zip), one *block* of threads
per output element (reduce), or one thread per output element in tiles of TILE x TILE
(matmul). Each thread works out from its ids (`blockIdx`, `threadIdx`) which element is
its own.

Three things are new compared with `fast`:

1. Memory lives in two places. Inputs are copied to the GPU (`to_device`) before a
   kernel runs and the output is copied back (`copy_to_host`) afterwards; every copy is
   written out below so you can see what a kernel really costs.
2. A launch states its shape: `kernel[blocks, threads_per_block](...)`. That
   configuration is computed in plain code next to each launch.
3. Threads of one block share fast on-chip memory (`cuda.shared.array`) and wait for
   each other with `cuda.syncthreads()`: that is how reduce and matmul cooperate.

Scalar functions are picked by op code inside one kernel per pattern, as in `fast`
(the codes come from the op table, minitorch/ops.py).

Without an NVIDIA GPU, set NUMBA_ENABLE_CUDASIM=1: Numba then runs these kernels on the
CPU with a simulator (slowly, one Python thread per GPU thread); the tests do that.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from numba import cuda

from .. import ops, tensor_data
from ..tensor_data import Index, Storage
from . import switch

# True when Numba runs these kernels on its CPU simulator, not a GPU (that module loads only then).
ON_SIMULATOR = hasattr(cuda, "simulator_init")
# Most dimensions a tensor may have here: per-thread index buffers need a fixed size.
MAX_DIMS = 16
# Threads per block for map and zip (a multiple of 32, the size of a warp).
THREADS_PER_BLOCK = 256
# Most threads per block for reduce; a power of two so the tree halves evenly.
MAX_REDUCE_THREADS = 256
# Side of the square tiles of matmul: a block is TILE x TILE threads.
TILE = 16
# CUDA allows at most 65535 blocks along a grid's z dimension (matmul's batch).
MAX_GRID_Z = 65535

# The op switch generated from the op table (see switch.py): `unary(op, x)` and
# `binary(op, x, y)` run the primitive whose code is `op`, as device functions.
device = cuda.jit(device=True)
_SWITCH = switch.load("cuda")
unary, binary = _SWITCH.unary, _SWITCH.binary
DEVICE_FUNCTIONS: dict[str, Callable[..., float]] = _SWITCH.COMPILED  # for codegen


# ## Index helpers for GPU threads: your own `tensor_data` functions (tasks 2.1, 2.2), compiled
# as device functions (callable from a kernel, not from the host).
index_to_position = device(tensor_data.index_to_position)
to_index = device(tensor_data.to_index)
broadcast_index = device(tensor_data.broadcast_index)


# ## Task 3.3 — map, zip and a shared-memory reduce


@cuda.jit
def map_kernel(
    op: int,
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    out_size: int,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
) -> None:
    """One thread per output element:

    i = this thread's number in the whole grid
    if i < out_size:
        out[index(i)] = fn(a[broadcast(index(i))])

    The grid may hold more threads than elements (300 elements run as two blocks of 256):
    threads past `out_size` do nothing. Index arrays are `cuda.local.array`s. Results equal
    the simple backend's, for permuted and broadcast inputs, in float64 and float32.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN3_3
    out_index = cuda.local.array(MAX_DIMS, numba.int64)  # private to this thread
    a_index = cuda.local.array(MAX_DIMS, numba.int64)
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < out_size:  # the last block may have more threads than elements left
        to_index(i, out_shape, out_index)
        broadcast_index(out_index, out_shape, a_shape, a_index)
        value = a[index_to_position(a_index, a_strides)]
        out[index_to_position(out_index, out_strides)] = unary(op, value)
    # END ASSIGN3_3


@cuda.jit
def zip_kernel(
    op: int,
    out: Storage,
    out_shape: Index,
    out_strides: Index,
    out_size: int,
    a: Storage,
    a_shape: Index,
    a_strides: Index,
    b: Storage,
    b_shape: Index,
    b_strides: Index,
) -> None:
    """One thread per output element:

    i = this thread's number in the whole grid
    if i < out_size:
        out[index(i)] = fn(a[broadcast(index(i))], b[broadcast(index(i))])

    Threads past `out_size` do nothing; `a` and `b` may differ in dtype (float64 with
    float32) and layout. Results equal the simple backend's.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN3_3
    out_index = cuda.local.array(MAX_DIMS, numba.int64)
    a_index = cuda.local.array(MAX_DIMS, numba.int64)
    b_index = cuda.local.array(MAX_DIMS, numba.int64)
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < out_size:
        to_index(i, out_shape, out_index)
        broadcast_index(out_index, out_shape, a_shape, a_index)
        broadcast_index(out_index, out_shape, b_shape, b_index)
        a_value = a[index_to_position(a_index, a_strides)]
        b_value = b[index_to_position(b_index, b_strides)]
        out[index_to_position(out_index, out_strides)] = binary(op, a_value, b_value)
    # END ASSIGN3_3


@cuda.jit
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
    """One block per output element; its T threads (a power of two) fold `a` along `dim`:

        start = out[j]          # the caller filled out with fn's identity (0, 1 or -inf)
        partial[t] = fold(fn, start, a[j, t], a[j, t + T], a[j, t + 2T], ...)   # in shared memory
        for s = T/2, T/4, ..., 1:      # a tree: log2(T) steps, all threads in step
            if t < s: partial[t] = fn(partial[t], partial[t + s])
        out[j] = partial[0]

    Threads with nothing to read keep `start`, which changes nothing as it is the identity.
    Partials are float64 for float32 inputs too, as `simple` folds in Python floats.
    `max` must equal the simple backend's exactly, sums and products to rounding; a
    dimension longer than the block (300 values, 256 threads) is folded by striding.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.

    Longer than 40 lines because a GPU kernel reads best in one piece: its two steps share
    the shared-memory array and must meet at the same `syncthreads()` calls.
    """
    # BEGIN ASSIGN3_3
    partial = cuda.shared.array(MAX_REDUCE_THREADS, numba.float64)  # one slot per thread
    index = cuda.local.array(MAX_DIMS, numba.int64)
    t = cuda.threadIdx.x
    to_index(cuda.blockIdx.x, out_shape, index)  # this block's output element j
    out_position = index_to_position(index, out_strides)
    a_position = index_to_position(index, a_strides)  # index[dim] is 0: the first element to fold
    # Step 1: each thread folds every T-th element, starting at its own number t.
    accumulated = out[out_position]
    for k in range(t, a_shape[dim], cuda.blockDim.x):
        accumulated = binary(op, accumulated, a[a_position + k * a_strides[dim]])
    partial[t] = accumulated
    cuda.syncthreads()  # every partial is written before anyone reads a neighbour's
    # Step 2: halve the number of partials until one is left.
    stride = cuda.blockDim.x // 2
    while stride > 0:
        if t < stride:
            partial[t] = binary(op, partial[t], partial[t + stride])
        cuda.syncthreads()  # this step is done everywhere before the next one reads it
        stride //= 2
    if t == 0:
        out[out_position] = partial[0]
    # END ASSIGN3_3


# ## Task 3.4 — matrix multiply with shared-memory tiles


def make_matmul_kernel(dtype: numba.types.Float) -> Callable[..., None]:
    """The tiled matmul kernel for one element type (shared arrays need it at compile time).

    Longer than 40 lines because it holds the kernel, which is one piece (see its docstring)."""

    @cuda.jit
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
        """`out[n, i, j] = sum_k a[n, i, k] * b[n, k, j]`: a thread per (i, j), TILE x TILE a block.

            n, i, j = blockIdx.z, row and column of this thread
            for each tile k0 = 0, TILE, 2*TILE, ... of the inner dimension:
                a_tile[ty, tx] = a[n, i, k0 + tx]     # each thread loads one element of each
                b_tile[ty, tx] = b[n, k0 + ty, j]     # (0 past the edge), then all wait
                total += sum over k < TILE of a_tile[ty, k] * b_tile[k, tx]; all wait
            out[n, i, j] = total

        Each element of `a` and `b` is read from global memory once per tile instead of
        once per product: TILE times fewer slow reads. A batch size of 1 broadcasts.
        Shapes need not be multiples of TILE (17 x 33 @ 33 x 9 is tested): load 0 past the
        edges and write only inside `out`; operands may be transposed views.

        No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.

        Longer than 40 lines because every thread must reach both `syncthreads()` of each
        tile: the loads, the products and the waits stay together in one loop.
        """
        # BEGIN ASSIGN3_4
        a_tile = cuda.shared.array((TILE, TILE), dtype)
        b_tile = cuda.shared.array((TILE, TILE), dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        n = cuda.blockIdx.z
        i = cuda.blockIdx.y * TILE + ty  # the row of out this thread computes
        j = cuda.blockIdx.x * TILE + tx  # and its column
        rows, cols, inner = out_shape[1], out_shape[2], a_shape[2]
        a_batch = (n if a_shape[0] > 1 else 0) * a_strides[0]
        b_batch = (n if b_shape[0] > 1 else 0) * b_strides[0]
        total = dtype(0.0)
        for k0 in range(0, inner, TILE):
            # Every thread loads (no early return): all of them must reach syncthreads.
            a_k, b_k = k0 + tx, k0 + ty  # this thread loads a[n, i, a_k] and b[n, b_k, j]
            a_inside = i < rows and a_k < inner
            b_inside = b_k < inner and j < cols
            a_tile[ty, tx] = a[a_batch + i * a_strides[1] + a_k * a_strides[2]] if a_inside else 0.0
            b_tile[ty, tx] = b[b_batch + b_k * b_strides[1] + j * b_strides[2]] if b_inside else 0.0
            cuda.syncthreads()  # both tiles are complete
            for k in range(TILE):
                total += a_tile[ty, k] * b_tile[k, tx]
            cuda.syncthreads()  # everyone is done with these tiles before they are overwritten
        if i < rows and j < cols:
            out[n * out_strides[0] + i * out_strides[1] + j * out_strides[2]] = total
        # END ASSIGN3_4

    return matmul_kernel


MATMUL_KERNELS = {
    np.dtype(np.float32): make_matmul_kernel(numba.float32),
    np.dtype(np.float64): make_matmul_kernel(numba.float64),
}


# ## Host side: copies and launch configurations


def to_device(array: np.ndarray) -> cuda.devicearray.DeviceNDArray:
    """Copy a host (numpy) array into GPU memory. Over PCIe this is slow next to the GPU's
    own memory, so real code keeps tensors on the GPU; here every kernel call copies, visibly."""
    return cuda.to_device(array)


def copy_to_host(device_array: cuda.devicearray.DeviceNDArray, host_array: np.ndarray) -> None:
    """Copy a GPU array back into the host array `host_array` (the kernel's output)."""
    device_array.copy_to_host(host_array)


def _size(shape: Index) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _check_dims(kernel: str, *shapes: Index) -> None:
    for shape in shapes:
        if len(shape) > MAX_DIMS:
            raise ValueError(f"cuda {kernel}: a tensor of {len(shape)} dimensions; at most {MAX_DIMS} here")


def elementwise_launch(size: int) -> tuple[int, int]:
    """(blocks, threads per block) for one thread per element: enough blocks to cover `size`."""
    threads = min(THREADS_PER_BLOCK, 32 * math.ceil(size / 32))  # no bigger block than the work
    blocks = math.ceil(size / threads)
    return blocks, threads


def reduce_launch(out_size: int, reduced: int) -> tuple[int, int]:
    """(blocks, threads per block): a block per output element, threads a power of two >= 1."""
    threads = min(MAX_REDUCE_THREADS, 1 << max(reduced - 1, 0).bit_length())
    return out_size, threads


def matmul_launch(out_shape: Index) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """(blocks as (x: column tiles, y: row tiles, z: batch), threads as TILE x TILE)."""
    batches, rows, cols = (int(s) for s in out_shape)
    if batches > MAX_GRID_Z:
        raise ValueError(f"cuda matmul: a batch of {batches} matrices; one launch takes {MAX_GRID_Z}")
    return (math.ceil(cols / TILE), math.ceil(rows / TILE), batches), (TILE, TILE)


def cuda_map(op: int) -> Callable[..., None]:
    """The map kernel for op code `op`, called like `fast`'s: host arrays in, `out` filled."""

    def apply(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_shape: Index, a_strides: Index) -> None:
        _check_dims("map", out_shape, a_shape)
        size = _size(out_shape)
        if size == 0:
            return  # CUDA refuses to launch zero blocks
        blocks, threads = elementwise_launch(size)
        # `out` goes up too: the kernel writes only its elements, the rest must survive the copy back.
        out_gpu = to_device(out)
        map_kernel[blocks, threads](
            op,
            out_gpu,
            to_device(out_shape),
            to_device(out_strides),
            size,
            to_device(a),
            to_device(a_shape),
            to_device(a_strides),
        )
        copy_to_host(out_gpu, out)

    return apply


def cuda_zip(op: int) -> Callable[..., None]:
    """The zip kernel for op code `op`, called like `fast`'s."""

    def apply(
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
        _check_dims("zip", out_shape, a_shape, b_shape)
        size = _size(out_shape)
        if size == 0:
            return
        blocks, threads = elementwise_launch(size)
        out_gpu = to_device(out)
        zip_kernel[blocks, threads](
            op,
            out_gpu,
            to_device(out_shape),
            to_device(out_strides),
            size,
            to_device(a),
            to_device(a_shape),
            to_device(a_strides),
            to_device(b),
            to_device(b_shape),
            to_device(b_strides),
        )
        copy_to_host(out_gpu, out)

    return apply


def cuda_reduce(op: int) -> Callable[..., None]:
    """The reduce kernel for op code `op`, called like `fast`'s; `out` arrives holding the start."""

    def apply(
        out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_shape: Index, a_strides: Index, dim: int
    ) -> None:
        _check_dims("reduce", out_shape, a_shape)
        out_size = _size(out_shape)
        if out_size == 0:
            return
        blocks, threads = reduce_launch(out_size, int(a_shape[dim]))
        out_gpu = to_device(out)  # holds the start value each block folds from
        reduce_kernel[blocks, threads](
            op,
            out_gpu,
            to_device(out_shape),
            to_device(out_strides),
            to_device(a),
            to_device(a_shape),
            to_device(a_strides),
            dim,
        )
        copy_to_host(out_gpu, out)

    return apply


def cuda_matmul(
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
    """Batched matmul on 3-D (batch, rows, cols) layouts, called like `fast`'s matmul_kernel."""
    if _size(out_shape) == 0:
        return
    blocks, threads = matmul_launch(out_shape)
    kernel = MATMUL_KERNELS[out.dtype]
    out_gpu = to_device(out)
    kernel[blocks, threads](
        out_gpu,
        to_device(out_shape),
        to_device(out_strides),
        to_device(a),
        to_device(a_shape),
        to_device(a_strides),
        to_device(b),
        to_device(b_shape),
        to_device(b_strides),
    )
    copy_to_host(out_gpu, out)


class CudaKernels:
    """The kernel library of the `cuda` backend: each factory picks an op code."""

    name = "cuda"

    @staticmethod
    def map(fn: Callable[[float], float]) -> Callable[..., None]:
        return cuda_map(ops.code_of(fn, 1, "cuda"))

    @staticmethod
    def zip(fn: Callable[[float, float], float]) -> Callable[..., None]:
        return cuda_zip(ops.code_of(fn, 2, "cuda"))

    @staticmethod
    def reduce(fn: Callable[[float, float], float]) -> Callable[..., None]:
        return cuda_reduce(ops.code_of(fn, 2, "cuda"))

    matmul = staticmethod(cuda_matmul)
    # Forward conv: "implicit_gemm" (Task 4.6's kernel) or "im2col" (unfold, then matmul).
    # cuDNN too picks an algorithm per convolution; here it is one setting.
    conv_algorithm = "implicit_gemm"


# ## Task 4.4 — unfold (im2col) and fold (col2im) on the GPU
#
# The geometry travels as one int64 array `g`: N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow.
# unfold: one thread per column element, reading its one image element (or the fill).
# fold: one thread per *image* element, summing the column elements that read it. Unfold's
# scatter turned into a gather, so no two threads write the same place and no atomics are needed.
# (One thread per output, not tiled through shared memory: the windows are small here.)


@cuda.jit
def unfold_kernel(out: Storage, a: Storage, g: Index, fill: float) -> None:
    """Thread t fills `out[t]` = `out[n, (c,i,j), (y,x)]` from `a[n, c, h, w]` or `fill`.

    Threads past the end of `out` do nothing. Same results as `simple.tensor_unfold`.
    """
    # BEGIN ASSIGN4_4
    t = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if t < out.size:
        ow = g[13]
        x, y = t % ow, (t // ow) % g[12]
        row = t // (g[12] * ow)  # (n*C + c)*kh*kw + i*kw + j
        j, i = row % g[5], (row // g[5]) % g[4]
        plane = row // (g[4] * g[5])  # n*C + c
        h = y * g[6] - g[8] + i * g[10]
        w = x * g[7] - g[9] + j * g[11]
        if 0 <= h < g[2] and 0 <= w < g[3]:
            out[t] = a[(plane * g[2] + h) * g[3] + w]
        else:
            out[t] = fill
    # END ASSIGN4_4


@cuda.jit
def fold_kernel(out: Storage, cols: Storage, g: Index) -> None:
    """Thread t sums into `out[t]` = `out[n, c, h, w]` every column element unfold read from it.

    One thread per output pixel gathers (no two threads write one element: no atomics).
    Threads past the end of `out` do nothing. Same results as `simple.tensor_fold`.
    """
    # BEGIN ASSIGN4_4
    t = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if t < out.size:
        w, h = t % g[3], (t // g[3]) % g[2]
        plane = t // (g[2] * g[3])
        total = 0.0
        for i in range(g[4]):
            for j in range(g[5]):
                dy = h + g[8] - i * g[10]  # = y * sh for the output row y that reads h
                dx = w + g[9] - j * g[11]
                if dy >= 0 and dx >= 0 and dy % g[6] == 0 and dx % g[7] == 0:
                    y, x = dy // g[6], dx // g[7]
                    if y < g[12] and x < g[13]:
                        row = (plane * g[4] + i) * g[5] + j
                        total += cols[(row * g[12] + y) * g[13] + x]
        out[t] = total
    # END ASSIGN4_4


def _geometry(shape: Index, *pairs: tuple[int, int]) -> np.ndarray:
    return np.array([*shape, *(v for pair in pairs for v in pair)], dtype=np.int64)


def cuda_unfold(out: Storage, a: Storage, a_shape: Index, kernel, stride, padding, dilation, out_size, fill) -> None:
    """Called like `simple.tensor_unfold`: host arrays in, `out` filled."""
    if out.size == 0:
        return
    blocks, threads = elementwise_launch(out.size)
    out_gpu = to_device(out)
    geometry = _geometry(a_shape, kernel, stride, padding, dilation, out_size)
    unfold_kernel[blocks, threads](out_gpu, to_device(a), to_device(geometry), fill)
    copy_to_host(out_gpu, out)


def cuda_fold(out: Storage, out_shape: Index, cols: Storage, kernel, stride, padding, dilation, cols_size) -> None:
    """Called like `simple.tensor_fold`."""
    if out.size == 0:
        return
    blocks, threads = elementwise_launch(out.size)
    out_gpu = to_device(out)
    geometry = _geometry(out_shape, kernel, stride, padding, dilation, cols_size)
    fold_kernel[blocks, threads](out_gpu, to_device(cols), to_device(geometry))
    copy_to_host(out_gpu, out)


CudaKernels.unfold = staticmethod(cuda_unfold)  # type: ignore[attr-defined]
CudaKernels.fold = staticmethod(cuda_fold)  # type: ignore[attr-defined]


# ## Task 4.6 — convolution as an implicit GEMM (what cuDNN calls IMPLICIT_GEMM)
#
# conv = unfold + matmul writes the unfolded matrix X_col (N, C*K, L) to GPU memory and reads
# it back: K times the image (9x for a 3x3 kernel). The kernel below runs the tiled matmul of
# task 3.4 but gathers each tile of X_col straight from the image into shared memory, so
# X_col never exists: the image is read, not a K-times copy of it written and read again.
# `CudaKernels.conv_algorithm` picks it ("implicit_gemm", the default) or unfold + matmul
# ("im2col") for forward conv; backward runs unfold/fold + matmul either way.


def make_conv_kernel(dtype: numba.types.Float) -> Callable[..., None]:
    """The implicit-GEMM conv kernel for one element type (shared arrays need it at compile time).

    Longer than 40 lines because it holds the kernel, which is one piece (see its docstring)."""

    @cuda.jit
    def conv_kernel(out: Storage, a: Storage, w: Storage, g: Index) -> None:
        """`out[n, o, p] = sum_k W[o, k] * X_col[n, k, p]`: the matmul of task 3.4 with X_col implicit.

        Per group (grid z = n * G + group): rows o of the group's O/G output channels, columns
        p = y * ow + x the output positions, inner k = (c, i, j) over the group's C/G channels
        and the kernel. Each block computes a TILE x TILE tile of out, a thread per element:

            for each tile k0 = 0, TILE, ... of k:
                w_tile[ty, tx] = W[o, k0 + tx]                     # a plain load
                x_tile[ty, tx] = X_col[n, k0 + ty, p]              # gathered from the image:
                    = a[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw]  # 0 in the padding
                all wait; total += sum over k < TILE of w_tile[ty, k] * x_tile[k, tx]; all wait
            out[n, o, p] = total

        `g` holds N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, O, G; a, w and out are
        contiguous (N, C, H, W), (O, C/G, kh, kw) and (N, O, oh, ow); 1-D runs with H = 1.
        The grid is (position tiles, channel tiles of one group, N * G) (see `conv_launch`).
        Tested against PyTorch in float64 (1e-12) and float32 (1e-5), 1-D and 2-D, with
        stride, padding, dilation, groups (depthwise too), and sizes that stop mid-tile
        (out channels, positions and inner C/G*K); a spy checks that forward conv ran this
        kernel and neither unfold nor matmul.

        No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.

        Longer than 40 lines because every thread must reach both `syncthreads()` of each
        tile: the loads, the products and the waits stay together in one loop.
        """
        # BEGIN ASSIGN4_6
        w_tile = cuda.shared.array((TILE, TILE), dtype)
        x_tile = cuda.shared.array((TILE, TILE), dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        n, group = cuda.blockIdx.z // g[15], cuda.blockIdx.z % g[15]
        rows, positions = g[14] // g[15], g[12] * g[13]  # out channels per group, output positions
        window = g[4] * g[5]
        inner = (g[1] // g[15]) * window  # k runs over C/G channels times the kernel
        o = group * rows + cuda.blockIdx.y * TILE + ty  # the output channel of this thread's row
        p = cuda.blockIdx.x * TILE + tx  # and its output position: column tx of x_tile too
        row_inside = cuda.blockIdx.y * TILE + ty < rows
        y, x = p // g[13], p % g[13]  # the output pixel p stands for
        total = dtype(0.0)
        for k0 in range(0, inner, TILE):
            w_k, x_k = k0 + tx, k0 + ty  # this thread loads W[o, w_k] and X_col[n, x_k, p]
            w_tile[ty, tx] = w[o * inner + w_k] if row_inside and w_k < inner else 0.0
            value = dtype(0.0)
            if x_k < inner and p < positions:
                c = group * (g[1] // g[15]) + x_k // window
                h = y * g[6] - g[8] + (x_k % window) // g[5] * g[10]
                col = x * g[7] - g[9] + x_k % g[5] * g[11]
                if 0 <= h < g[2] and 0 <= col < g[3]:
                    value = a[((n * g[1] + c) * g[2] + h) * g[3] + col]
            x_tile[ty, tx] = value
            cuda.syncthreads()  # both tiles are complete
            for k in range(TILE):
                total += w_tile[ty, k] * x_tile[k, tx]
            cuda.syncthreads()  # everyone is done with these tiles before they are overwritten
        if row_inside and p < positions:
            out[(n * g[14] + o) * positions + p] = total
        # END ASSIGN4_6

    return conv_kernel


CONV_KERNELS = {
    np.dtype(np.float32): make_conv_kernel(numba.float32),
    np.dtype(np.float64): make_conv_kernel(numba.float64),
}


def conv_launch(batches: int, rows: int, positions: int) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """(blocks as (x: position tiles, y: output-channel tiles, z: image and group), TILE x TILE threads)."""
    if batches > MAX_GRID_Z:
        raise ValueError(f"cuda conv: batch times groups is {batches}; one launch takes {MAX_GRID_Z}")
    return (math.ceil(positions / TILE), math.ceil(rows / TILE), batches), (TILE, TILE)


def cuda_conv(out: Storage, a: Storage, a_shape: Index, w: Storage, out_channels: int, groups: int, *pairs) -> None:
    """Called by `TensorBackend.conv` with contiguous storages: (N, C, H, W) image, flat weight,
    and kernel, stride, padding, dilation and output size as (H, W) pairs."""
    if out.size == 0:
        return
    geometry = np.array([*_geometry(a_shape, *pairs), out_channels, groups], dtype=np.int64)
    positions = int(pairs[4][0] * pairs[4][1])
    blocks, threads = conv_launch(int(a_shape[0]) * groups, out_channels // groups, positions)
    out_gpu = to_device(out)
    CONV_KERNELS[out.dtype][blocks, threads](out_gpu, to_device(a), to_device(w), to_device(geometry))
    copy_to_host(out_gpu, out)


CudaKernels.conv = staticmethod(cuda_conv)  # type: ignore[attr-defined]
