"""Module 2 — how a tensor lives in memory: flat storage, a shape, and strides.

Element `index = (i0, i1, ..., ik)` of a tensor sits in its 1-D storage at

    position = i0 * strides[0] + i1 * strides[1] + ... + ik * strides[k]

A *view* (permute, a reshape of a contiguous tensor) changes only shape and strides; the
storage is shared. Broadcasting lines two shapes up from the right: a dimension of size 1
(or a missing one) stretches to match the other.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Storage = npt.NDArray[np.floating]
Index = npt.NDArray[np.int64]  # also used for shapes and strides inside kernels
Shape = tuple[int, ...]
Strides = tuple[int, ...]

DTYPES: dict[str, np.dtype] = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
_SUPPORTED = frozenset(DTYPES.values())


class IndexingError(IndexError):
    """An index that does not fit the tensor's shape."""


class ShapeError(ValueError):
    """Shapes that do not fit an op (broadcast, view, matmul, permute)."""


def resolve_dtype(dtype: Any) -> np.dtype:
    """'float64' / 'float32' (or the numpy dtypes) -> numpy dtype; anything else errors."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in DTYPES:
        raise TypeError(f"dtype {dtype!r} is not supported; use 'float64' or 'float32'")
    return DTYPES[key]


_default_dtype = DTYPES["float64"]


def get_default_dtype() -> np.dtype:
    """The dtype of new floating-point tensors (float64 unless `set_default_dtype` changed it)."""
    return _default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Make `dtype` (float32 or float64) the dtype of tensors created from Python numbers,
    of `zeros`/`ones`/`arange`/... and of new layers' parameters (PyTorch's `set_default_dtype`).
    A numpy float array keeps its own dtype."""
    global _default_dtype
    _default_dtype = resolve_dtype(dtype)


# ## Task 2.1 — indexing into strided storage


def index_to_position(index: Index | Sequence[int], strides: Index | Sequence[int]) -> int:
    """Storage position of a multi-dimensional index: $\\sum_i index_i \\cdot strides_i$.

    Returns a Python `int`. `index` and `strides` may be tuples, lists or numpy int arrays
    (Numba kernels call it with arrays); strides need not be row-major (any non-negative ints).
    """
    # BEGIN ASSIGN2_1
    position = 0
    for i in range(len(strides)):
        position += index[i] * strides[i]
    return int(position)
    # END ASSIGN2_1


def to_index(ordinal: int, shape: Index | Sequence[int], out_index: Index) -> None:
    """Write into `out_index` the index of the `ordinal`-th element in row-major order.

    Example: shape (2, 3), ordinal 4 -> index (1, 1). The inverse of counting
    0, 1, 2, ... through a contiguous tensor. Independent of strides.

    Writes in place into the preallocated `out_index` (a numpy int array of `len(shape)`) and
    returns None: the kernels reuse one buffer. Matches `numpy.unravel_index(ordinal, shape)`.
    """
    # BEGIN ASSIGN2_1
    remaining = int(ordinal)
    for dim in range(len(shape) - 1, -1, -1):
        out_index[dim] = remaining % shape[dim]
        remaining //= shape[dim]
    # END ASSIGN2_1


def strides_from_shape(shape: Sequence[int]) -> Strides:
    """Row-major (contiguous) strides: the last dimension moves by 1."""
    strides = [1] * len(shape)
    for dim in range(len(shape) - 2, -1, -1):
        strides[dim] = strides[dim + 1] * max(int(shape[dim + 1]), 1)
    return tuple(strides)


# ## Task 2.2 — broadcasting


def broadcast_index(
    big_index: Index, big_shape: Index | Sequence[int], shape: Index | Sequence[int], out_index: Index
) -> None:
    """Map an index of the broadcast (big) shape to the index of a smaller shape.

    Dimensions are aligned from the right; where the small shape has size 1 the index is 0
    (that one element was stretched); leading dimensions it lacks are dropped.
    Example: big index (1, 2, 3) of (2, 3, 4) into shape (3, 1) gives (2, 0).

    Writes in place into `out_index` (length `len(shape)`) and returns None.
    """
    # BEGIN ASSIGN2_2
    offset = len(big_shape) - len(shape)
    for dim in range(len(shape)):
        out_index[dim] = 0 if shape[dim] == 1 else big_index[dim + offset]
    # END ASSIGN2_2


def shape_broadcast(shape1: Sequence[int], shape2: Sequence[int], op: str = "broadcast") -> Shape:
    """The shape two shapes broadcast to, e.g. (3, 1) and (4,) -> (3, 4).

    Raises ShapeError naming both shapes (and the op) when a pair of aligned sizes differ
    and neither is 1; the message starts `"{op}: shapes {shape1} and {shape2} cannot broadcast"`
    with the shapes as tuples, e.g. "add: shapes (2, 3) and (4,) cannot broadcast".

    Returns a tuple, as `numpy.broadcast_shapes` does, in either argument order; `()` broadcasts
    with anything; a size 0 against a size 1 gives 0 (not `max` of the two).
    """
    # BEGIN ASSIGN2_2
    result = []
    for back in range(1, max(len(shape1), len(shape2)) + 1):
        a = shape1[-back] if back <= len(shape1) else 1
        b = shape2[-back] if back <= len(shape2) else 1
        if a != b and a != 1 and b != 1:
            raise ShapeError(
                f"{op}: shapes {tuple(shape1)} and {tuple(shape2)} cannot broadcast "
                f"(dimension -{back}: {a} vs {b}; sizes must match or one must be 1)"
            )
        result.append(b if a == 1 else a)  # not max(a, b): a size 0 broadcast with 1 stays 0
    return tuple(reversed(result))
    # END ASSIGN2_2


# ## TensorData: storage + shape + strides


class TensorData:
    """Flat numpy storage seen through a shape and strides."""

    def __init__(
        self,
        storage: Storage | Sequence[float],
        shape: Sequence[int],
        strides: Sequence[int] | None = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(storage, np.ndarray) and dtype is None:
            self._storage: Storage = storage if storage.ndim == 1 else storage.reshape(-1)
            if self._storage.dtype not in _SUPPORTED:
                self._storage = self._storage.astype(np.float64)
        else:
            self._storage = np.asarray(storage, dtype=resolve_dtype(dtype or get_default_dtype())).reshape(-1)
        self.shape: Shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in self.shape):
            raise ShapeError(f"shape {self.shape} has a negative size")
        self.strides: Strides = (
            tuple(int(s) for s in strides) if strides is not None else strides_from_shape(self.shape)
        )
        if len(self.strides) != len(self.shape):
            raise ShapeError(f"strides {self.strides} do not fit shape {self.shape}")
        self.size = math.prod(self.shape)
        self.dims = len(self.shape)
        self._kernel_args: tuple[Storage, Index, Index] | None = None
        if self.size and self.max_position() >= len(self._storage):
            raise ShapeError(
                f"shape {self.shape} with strides {self.strides} reaches position "
                f"{self.max_position()} but storage holds {len(self._storage)} values"
            )

    @classmethod
    def _unchecked(cls, storage: Storage, shape: Shape, strides: Strides) -> TensorData:
        """A view of known-good storage/shape/strides, skipping __init__'s checks (hot paths)."""
        data = cls.__new__(cls)
        data._storage, data.shape, data.strides = storage, shape, strides
        data.size, data.dims, data._kernel_args = math.prod(shape), len(shape), None
        return data

    @property
    def dtype(self) -> np.dtype:
        return self._storage.dtype

    @property
    def storage(self) -> Storage:
        return self._storage

    def max_position(self) -> int:
        return sum((s - 1) * st for s, st in zip(self.shape, self.strides) if s > 0)

    def is_contiguous(self) -> bool:
        """True if the layout is row-major: strides decrease and each is the next's span."""
        expected = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

    def tuple(self) -> tuple[Storage, Index, Index]:
        """(storage, shape, strides) as arrays: what kernels take (built once, then reused)."""
        if self._kernel_args is None:
            self._kernel_args = (self._storage, *_index_arrays(self.shape, self.strides))
        return self._kernel_args

    def index(self, index: int | Sequence[int]) -> int:
        """Storage position of `index`, checked against the shape."""
        idx = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
        if len(idx) != self.dims:
            raise IndexingError(f"index {idx} has {len(idx)} dims; tensor of shape {self.shape} has {self.dims}")
        for dim, (i, size) in enumerate(zip(idx, self.shape)):
            if not 0 <= i < size:
                raise IndexingError(f"index {idx} out of range for shape {self.shape} (dim {dim})")
        return index_to_position(idx, self.strides)

    def indices(self) -> Iterator[builtins.tuple[int, ...]]:  # `tuple` here is the method below
        """Every index in row-major order."""
        out = np.zeros(self.dims, dtype=np.int64)
        for ordinal in range(self.size):
            to_index(ordinal, self.shape, out)
            yield tuple(int(i) for i in out)

    def get(self, index: Sequence[int]) -> float:
        return float(self._storage[self.index(index)])

    def set(self, index: Sequence[int], value: float) -> None:
        self._storage[self.index(index)] = value

    def permute(self, *order: int) -> TensorData:
        """A view with dimensions reordered: new dim i is old dim order[i].

        Shares the storage (no copy: writes through the view show in the original); its shape
        and strides are the old ones reordered. Same result as `numpy.transpose(a, order)`.
        An order that is not a rearrangement of `range(dims)` raises ShapeError starting
        "permute: order (...)".
        """
        if sorted(order) != list(range(self.dims)):
            raise ShapeError(
                f"permute: order {order} is not a rearrangement of the {self.dims} dims of shape {self.shape}"
            )
        # BEGIN ASSIGN2_1
        return TensorData._unchecked(
            self._storage,
            tuple(self.shape[i] for i in order),
            tuple(self.strides[i] for i in order),
        )
        # END ASSIGN2_1

    def view(self, shape: Sequence[int]) -> TensorData:
        """Same storage, new shape (row-major). Needs a contiguous layout and the same size."""
        shape = tuple(int(s) for s in shape)
        if -1 in shape:
            shape = _infer_size(shape, self.size)
        new_size = math.prod(shape)
        if new_size != self.size:
            raise ShapeError(f"view: cannot view shape {self.shape} ({self.size} elements) as {shape} ({new_size})")
        if not self.is_contiguous():
            raise ShapeError(
                f"view: tensor of shape {self.shape} with strides {self.strides} is not contiguous; "
                "call .contiguous() first"
            )
        return TensorData._unchecked(self._storage, shape, strides_from_shape(shape))

    def expand(self, shape: Sequence[int]) -> TensorData:
        """Same storage seen as the larger `shape` (broadcasting, no copy): a size-1 dim, or a
        new dim on the left, gets stride 0, so every index along it reads the same element."""
        shape = tuple(int(s) for s in shape)
        extra = len(shape) - self.dims
        if extra < 0 or any(s < 0 for s in shape):
            raise ShapeError(f"expand: cannot expand shape {self.shape} to {shape}")
        strides = [0] * extra
        for size, own, stride in zip(shape[extra:], self.shape, self.strides, strict=True):
            if own != size and own != 1:
                raise ShapeError(
                    f"expand: cannot expand shape {self.shape} to {shape}: only size-1 dims stretch ({own} vs {size})"
                )
            strides.append(stride if own == size else 0)
        return TensorData._unchecked(self._storage, shape, tuple(strides))

    def to_numpy(self) -> np.ndarray:
        """A numpy array view with the same shape and strides (in elements -> bytes)."""
        itemsize = self._storage.itemsize
        return np.lib.stride_tricks.as_strided(
            self._storage, shape=self.shape, strides=tuple(s * itemsize for s in self.strides)
        )

    def __repr__(self) -> str:
        return f"TensorData(shape={self.shape}, strides={self.strides}, dtype={self.dtype})"


_INDEX_ARRAYS: dict[tuple[Shape, Strides], tuple[Index, Index]] = {}


def _index_arrays(shape: Shape, strides: Strides) -> tuple[Index, Index]:
    """Shape and strides as int64 arrays, shared by every tensor of that layout (kernels only
    read them), so a kernel launch does not build two new arrays each time."""
    key = (shape, strides)
    arrays = _INDEX_ARRAYS.get(key)
    if arrays is None:
        if len(_INDEX_ARRAYS) > 4096:  # a bound, for programs that see endless shapes
            _INDEX_ARRAYS.clear()
        arrays = _INDEX_ARRAYS[key] = (np.array(shape, dtype=np.int64), np.array(strides, dtype=np.int64))
    return arrays


def _infer_size(shape: Shape, size: int) -> Shape:
    if shape.count(-1) > 1:
        raise ShapeError(f"view: only one dimension can be -1, got {shape}")
    known = math.prod(s for s in shape if s != -1)
    if known == 0 or size % known:
        raise ShapeError(f"view: cannot infer -1 in {shape} for {size} elements")
    return tuple(size // known if s == -1 else s for s in shape)
