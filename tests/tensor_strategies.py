"""Hypothesis strategies for tensors, each drawn together with its numpy reference.

A `Case` is a minitorch tensor and a numpy array holding the same values, built
independently of minitorch's strides: the values are drawn, stored in a *base* array, and
when the layout is permuted the tensor is `tensor(base)` permuted (`permuted_view`) while the
reference is numpy's `base.transpose(order)`. So a permuted tensor has non-row-major strides, and a
wrong stride shows up as a wrong value against the reference.

Sizes stay small (1-4 dims, 1-4 per dim): the `simple` backend is pure Python loops.
Backends are named in `BACKENDS`; the `fast` and `cuda` modules append theirs, and every
backend-dependent test is parametrized over this list, so adding a name is all it takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor

# Every op test runs on each backend. MINITORCH_TEST_BACKENDS narrows it ("simple,cuda").
BACKENDS: list[str] = os.environ.get("MINITORCH_TEST_BACKENDS", "simple,fast,cuda").split(",")


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance of one comparison (numpy's `assert_allclose` meaning)."""

    rtol: float
    atol: float


# Forward values against numpy computed in float64 on the same (dtype-rounded) inputs.
# float64: the kernels do the same float64 math, so only summation order differs.
# float32: each op rounds its output to float32 (about 6e-8 relative per op).
FORWARD_TOL: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-10, atol=1e-10),
    "float32": Tolerance(rtol=1e-4, atol=1e-4),
}
# Gradients against central differences (epsilon 1e-6 on a float64 copy): the difference
# quotient itself is good to about 1e-8 here; float32 gradients carry float32 rounding.
GRAD_TOL: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-5, atol=1e-5),
    "float32": Tolerance(rtol=1e-3, atol=1e-3),
}
DTYPES: list[str] = list(FORWARD_TOL)

# The simple backend costs ~5 us per element per op: keep example counts modest.
few_examples = settings(max_examples=25)
fewer_examples = settings(max_examples=12)


# ## Values


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


safe_values = _floats(-10.0, 10.0)
positive_values = _floats(0.1, 10.0)  # log's domain, away from 0
nonzero_values = _floats(0.5, 10.0) | _floats(-10.0, -0.5)  # denominators, relu away from its kink
small_values = _floats(-3.0, 3.0)  # exp / softmax inputs for gradient checks
grid_values = st.integers(-3, 3).map(float)  # small integers: comparisons meet ties
shifted_grid_values = st.integers(-3, 3).map(lambda k: k + 0.25)  # never within 0.25 of the grid
# Pairs near and far: differences 0.003 / 0.004 (< 1e-2, "close") and >= 0.026 (not close);
# none is near the 1e-2 threshold, so float32 rounding cannot flip the answer.
close_grid_values = st.sampled_from([-1.0, 0.0, 0.003, 0.5, 1.0, 1.004, 1.03])


# ## Shapes


def shapes(
    min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Tensor shapes of `min_dims`..`max_dims` dims with sizes `min_side`..`max_side`."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def shrunk_shapes(draw: st.DrawFn, full: tuple[int, ...], keep_all_dims: bool = False) -> tuple[int, ...]:
    """A shape that broadcasts to `full`: maybe fewer leading dims, maybe some sizes 1."""
    drop = 0 if keep_all_dims else draw(st.integers(0, max(len(full) - 1, 0)))
    kept = full[drop:]
    to_one = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return tuple(1 if one else size for size, one in zip(kept, to_one))


# ## Tensors with their references


class Case(NamedTuple):
    """A tensor and the numpy array of its values (in the tensor's dtype)."""

    tensor: Tensor
    array: np.ndarray


@st.composite
def tensor_cases(
    draw: st.DrawFn,
    shape: tuple[int, ...] | None = None,
    *,
    backend: str = "simple",
    dtype: str = "float64",
    values: st.SearchStrategy[float] = safe_values,
    permuted: bool | None = None,
    distinct: bool = False,
    max_dims: int = 4,
    max_side: int = 4,
) -> Case:
    """A tensor of `shape` (drawn if None) and its numpy reference.

    permuted: None draws the layout; True makes the tensor `base.permute(order)` with a random
    `order` (usually non-contiguous strides); False keeps it row-major.
    distinct: values at least 0.4 apart (max and argmax without ties, for gradient checks).
    """
    if shape is None:
        shape = draw(shapes(1, max_dims, 1, max_side))
    dims = len(shape)
    size = int(np.prod(shape, dtype=np.int64))
    if permuted is None:
        permuted = draw(st.booleans())
    identity = tuple(range(dims))
    order = tuple(draw(st.permutations(identity))) if permuted and dims > 1 else identity
    base_shape = [0] * dims
    for new_dim, old_dim in enumerate(order):  # permute(order): new dim i is old dim order[i]
        base_shape[old_dim] = shape[new_dim]
    if distinct:
        ranks = draw(st.permutations(range(size)))
        jitter = draw(st.lists(_floats(0.0, 0.1), min_size=size, max_size=size))
        flat = [0.5 * (rank - size / 2) + shift for rank, shift in zip(ranks, jitter)]
    else:
        flat = draw(st.lists(values, min_size=size, max_size=size))
    base = np.array(flat, dtype=np.float64).reshape(base_shape).astype(dtype)
    tensor = minitorch.tensor(base, backend=backend, dtype=dtype)
    if order != identity:
        tensor = permuted_view(tensor, order)
    return Case(tensor, np.ascontiguousarray(base.transpose(order)))


def permuted_view(tensor: Tensor, order: tuple[int, ...]) -> Tensor:
    """`tensor.permute(*order)` made with TensorData's permute (task 2.1), not the `Permute`
    Function (task 2.6): tests of earlier tasks take permuted inputs too."""
    return Tensor(tensor._tensor.permute(*order), backend=tensor.backend)


def tensors(**kwargs: object) -> st.SearchStrategy[Tensor]:
    """Just the tensor of a `tensor_cases` draw (same keyword arguments)."""
    return tensor_cases(**kwargs).map(lambda case: case.tensor)  # type: ignore[arg-type]


@st.composite
def same_shape_pairs(
    draw: st.DrawFn,
    *,
    backend: str = "simple",
    dtype: str = "float64",
    values: st.SearchStrategy[float] = safe_values,
    other_values: st.SearchStrategy[float] | None = None,
    max_dims: int = 4,
    max_side: int = 4,
) -> tuple[Case, Case]:
    """Two cases of one shape, each with its own (maybe permuted) layout."""
    shape = draw(shapes(1, max_dims, 1, max_side))
    a = draw(tensor_cases(shape, backend=backend, dtype=dtype, values=values))
    values_b = values if other_values is None else other_values
    b = draw(tensor_cases(shape, backend=backend, dtype=dtype, values=values_b))
    return a, b


@st.composite
def broadcast_pairs(
    draw: st.DrawFn,
    *,
    backend: str = "simple",
    dtype: str = "float64",
    values: st.SearchStrategy[float] = safe_values,
    other_values: st.SearchStrategy[float] | None = None,
    max_dims: int = 4,
    max_side: int = 4,
) -> tuple[Case, Case]:
    """Two cases whose shapes broadcast: each side may lack leading dims or have sizes of 1.

    At least one dim is stretched on one side, so the pair really broadcasts.
    """
    full = draw(shapes(1, max_dims, 2, max_side))
    shape_a = draw(shrunk_shapes(full))
    shape_b = draw(shrunk_shapes(full))
    if shape_a == shape_b:  # make it broadcast: one side full, the other with a 1 in front
        shape_a = full
        shape_b = shape_b if shape_b != full else (1, *full[1:])
    a = draw(tensor_cases(shape_a, backend=backend, dtype=dtype, values=values))
    values_b = values if other_values is None else other_values
    b = draw(tensor_cases(shape_b, backend=backend, dtype=dtype, values=values_b))
    return a, b


MATMUL_KINDS = ("2d", "batched", "broadcast_batch")
# Operand shapes with 1-D sides (PyTorch's rules: a 1-D side is a row / column, then dropped).
MATMUL_1D_SHAPES: list[tuple[tuple[int, ...], tuple[int, ...]]] = [
    ((3,), (3,)),  # dot product -> 0-d
    ((3,), (3, 2)),  # vector @ matrix
    ((2, 3), (3,)),  # matrix @ vector
    ((4, 2, 3), (3,)),  # batched matrix @ vector
    ((3,), (4, 3, 2)),  # vector @ batched matrix
    ((1, 1), (1, 1)),
]


@st.composite
def matmul_pairs(
    draw: st.DrawFn,
    kind: str | None = None,
    *,
    backend: str = "simple",
    dtype: str = "float64",
    values: st.SearchStrategy[float] = safe_values,
    max_side: int = 4,
) -> tuple[Case, Case]:
    """`a @ b` operands: 2-D (n, m) @ (m, p); batched (B, n, m) @ (B, m, p); or with batch
    dims that broadcast ((B, n, m) @ (m, p), (1, n, m) @ (B, m, p), (B1, 1, ...) @ (B2, ...))."""
    kind = kind or draw(st.sampled_from(MATMUL_KINDS))
    n, m, p = (draw(st.integers(1, max_side)) for _ in range(3))
    if kind == "2d":
        batch_a: tuple[int, ...] = ()
        batch_b: tuple[int, ...] = ()
    elif kind == "batched":
        batch_a = batch_b = (draw(st.integers(2, max_side)),)
    else:
        full = draw(shapes(1, 2, 2, 3))
        batch_a = draw(shrunk_shapes(full))
        batch_b = draw(shrunk_shapes(full))
        if batch_a == batch_b:  # make the batch really broadcast
            batch_a = batch_a[1:] if len(batch_a) > 1 or draw(st.booleans()) else (1,)
    a = draw(tensor_cases((*batch_a, n, m), backend=backend, dtype=dtype, values=values))
    b = draw(tensor_cases((*batch_b, m, p), backend=backend, dtype=dtype, values=values))
    return a, b
