"""Module 2 — the `simple` kernel library: readable Python loops over strided storage.

Every kernel walks the *output* ordinals 0..size-1, turns each into an index, maps that
index onto each input (broadcasting), and reads and writes storage through strides.
These are the loops every faster backend must agree with.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..tensor_data import Index, Storage, broadcast_index, index_to_position, to_index


def _size(shape: Index) -> int:
    return int(np.prod(shape)) if len(shape) else 1


# ## Task 2.3 — tensor map, zip and reduce


def tensor_map(fn: Callable[[float], float]) -> Callable[..., None]:
    """Kernel applying `fn` to every element, broadcasting the input to the output shape.

    for each out_index:
        out[out_index] = fn(a[broadcast(out_index)])

    Pass `fn` Python floats. Inputs may be permuted views: index storage through the strides,
    never assume row-major; write each `out` element once. NaN/inf follow IEEE. Returns None.
    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """

    def _map(
        out: Storage,
        out_shape: Index,
        out_strides: Index,
        a: Storage,
        a_shape: Index,
        a_strides: Index,
    ) -> None:
        # BEGIN ASSIGN2_3
        out_index = np.zeros(len(out_shape), dtype=np.int64)
        a_index = np.zeros(len(a_shape), dtype=np.int64)
        for ordinal in range(_size(out_shape)):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, a_shape, a_index)
            value = a[index_to_position(a_index, a_strides)]
            out[index_to_position(out_index, out_strides)] = fn(float(value))
        # END ASSIGN2_3

    return _map


def tensor_zip(fn: Callable[[float, float], float]) -> Callable[..., None]:
    """Kernel combining two broadcast inputs element by element.

    for each out_index:
        out[out_index] = fn(a[broadcast(out_index)], b[broadcast(out_index)])

    Pass `fn` Python floats. Inputs may be permuted views: index storage through the strides,
    never assume row-major; write each `out` element once. NaN/inf follow IEEE. Returns None.
    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """

    def _zip(
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
        # BEGIN ASSIGN2_3
        out_index = np.zeros(len(out_shape), dtype=np.int64)
        a_index = np.zeros(len(a_shape), dtype=np.int64)
        b_index = np.zeros(len(b_shape), dtype=np.int64)
        for ordinal in range(_size(out_shape)):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, a_shape, a_index)
            broadcast_index(out_index, out_shape, b_shape, b_index)
            a_value = float(a[index_to_position(a_index, a_strides)])
            b_value = float(b[index_to_position(b_index, b_strides)])
            out[index_to_position(out_index, out_strides)] = fn(a_value, b_value)
        # END ASSIGN2_3

    return _zip


def tensor_reduce(fn: Callable[[float, float], float]) -> Callable[..., None]:
    """Kernel folding dimension `dim` of `a` with `fn`; the output has size 1 there.

    for each out_index:
        acc = out[out_index]            # the caller filled it with the start value
        for j in range(a_shape[dim]):
            acc = fn(acc, a[out_index with index[dim] = j])
        out[out_index] = acc

    Fold left (j = 0, 1, ...; accumulator first, so NaN and ties go as `operators.max` says),
    from the start value `out` holds (0 for sum, -inf for max). `a` may be a permuted view.
    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """

    def _reduce(
        out: Storage,
        out_shape: Index,
        out_strides: Index,
        a: Storage,
        a_shape: Index,
        a_strides: Index,
        dim: int,
    ) -> None:
        # BEGIN ASSIGN2_3
        index = np.zeros(len(out_shape), dtype=np.int64)
        for ordinal in range(_size(out_shape)):
            to_index(ordinal, out_shape, index)
            out_position = index_to_position(index, out_strides)
            accumulated = float(out[out_position])
            for j in range(a_shape[dim]):
                index[dim] = j
                accumulated = fn(accumulated, float(a[index_to_position(index, a_strides)]))
            out[out_position] = accumulated
        # END ASSIGN2_3

    return _reduce


# ## Task 2.4 — batched matrix multiply


def tensor_matmul(
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
    """`out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]`, batch dims broadcast.

    All three are 3-D here: (batch, rows, cols); a batch size of 1 broadcasts.
    `a` and `b` may be transposed views (`b.T @ a.T` is tested): index them through their
    strides. Overwrite each `out` element once with the full sum (k = 0, 1, ...), accumulated
    in a Python float; results match `numpy.matmul` to the dtype's tolerance. Returns None.
    The 1-D and batch-broadcast cases, and shape errors, are handled by the caller.

    No shortcuts (graded): no numpy but np.zeros/np.empty/dtypes, no torch, as_strided or `@`.
    """
    # BEGIN ASSIGN2_4
    batches, rows, cols = out_shape[0], out_shape[1], out_shape[2]
    inner = a_shape[2]
    for n in range(batches):
        a_batch = (n if a_shape[0] > 1 else 0) * a_strides[0]
        b_batch = (n if b_shape[0] > 1 else 0) * b_strides[0]
        for i in range(rows):
            for j in range(cols):
                total = 0.0
                for k in range(inner):
                    total += float(a[a_batch + i * a_strides[1] + k * a_strides[2]]) * float(
                        b[b_batch + k * b_strides[1] + j * b_strides[2]]
                    )
                out[n * out_strides[0] + i * out_strides[1] + j * out_strides[2]] = total
    # END ASSIGN2_4


class SimpleKernels:
    """The kernel library of the `simple` backend."""

    name = "simple"
    map = staticmethod(tensor_map)
    zip = staticmethod(tensor_zip)
    reduce = staticmethod(tensor_reduce)
    matmul = staticmethod(tensor_matmul)


# ## Task 4.1 — unfold (im2col) and its adjoint fold (col2im)
#
# Both work on contiguous storage: `a` is (N, C, H, W), the columns are (N, C*kh*kw, oh*ow),
# PyTorch's `unfold` layout: column `y*ow + x` holds the window under output position (y, x),
# row `(c*kh + i)*kw + j` its element at channel c, kernel offset (i, j). A 1-D input is
# the same with H = kh = 1. Each geometry argument is a pair (along H, along W).


def tensor_unfold(
    out: Storage,
    a: Storage,
    a_shape: Index,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    out_size: tuple[int, int],
    fill: float,
) -> None:
    """`out[n, (c,i,j), (y,x)] = a[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw]`, or `fill`
    where that position lies in the padding.

    Writes every element of `out` (it arrives uninitialised); `a` and `out` are contiguous.
    Matches `torch.nn.functional.unfold` (the layout above) exactly; `fill` is 0 for
    convolution and $-\\infty$ for max pooling.
    """
    # BEGIN ASSIGN4_1
    batches, channels, height, width = a_shape
    kh, kw = kernel
    oh, ow = out_size
    for n in range(batches):
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    row = (n * channels + c) * kh * kw + i * kw + j
                    for y in range(oh):
                        for x in range(ow):
                            h = y * stride[0] - padding[0] + i * dilation[0]
                            w = x * stride[1] - padding[1] + j * dilation[1]
                            inside = 0 <= h < height and 0 <= w < width
                            value = a[((n * channels + c) * height + h) * width + w] if inside else fill
                            out[row * oh * ow + y * ow + x] = value
    # END ASSIGN4_1


def tensor_fold(
    out: Storage,
    out_shape: Index,
    cols: Storage,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    cols_size: tuple[int, int],
) -> None:
    """The adjoint of unfold: every column element is *added* back where unfold read it
    (padding positions drop out). `out` (N, C, H, W) arrives filled with zeros.

    Adjoint means $\\langle \\text{unfold}(x), c\\rangle = \\langle x, \\text{fold}(c)\\rangle$
    for all x, c: fold(unfold(ones)) counts how many windows cover each pixel.
    """
    # BEGIN ASSIGN4_1
    batches, channels, height, width = out_shape
    kh, kw = kernel
    oh, ow = cols_size
    for n in range(batches):
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    row = (n * channels + c) * kh * kw + i * kw + j
                    for y in range(oh):
                        for x in range(ow):
                            h = y * stride[0] - padding[0] + i * dilation[0]
                            w = x * stride[1] - padding[1] + j * dilation[1]
                            if 0 <= h < height and 0 <= w < width:
                                out[((n * channels + c) * height + h) * width + w] += cols[row * oh * ow + y * ow + x]
    # END ASSIGN4_1


SimpleKernels.unfold = staticmethod(tensor_unfold)  # type: ignore[attr-defined]
SimpleKernels.fold = staticmethod(tensor_fold)  # type: ignore[attr-defined]
