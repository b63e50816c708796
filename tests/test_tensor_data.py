"""Module 2, tasks 2.1 and 2.2: strided storage, permute, views and broadcasting, against numpy."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minitorch import IndexingError, ShapeError, TensorData
from minitorch.tensor_data import (
    broadcast_index,
    index_to_position,
    shape_broadcast,
    strides_from_shape,
    to_index,
)

from .tensor_strategies import few_examples, safe_values, shapes, shrunk_shapes


@st.composite
def tensor_datas(draw: st.DrawFn, max_dims: int = 4) -> TensorData:
    """A row-major TensorData of a drawn shape holding 0, 1, 2, ... (value = ordinal)."""
    shape = draw(shapes(1, max_dims))
    size = int(np.prod(shape))
    return TensorData(np.arange(size, dtype=np.float64), shape)


PermutedCase = tuple[TensorData, tuple[int, ...], np.ndarray]


@st.composite
def permuted_datas(draw: st.DrawFn) -> PermutedCase:
    """(permuted view, the order, numpy's transpose of the same values)."""
    data = draw(tensor_datas())
    order = tuple(draw(st.permutations(range(data.dims))))
    reference = np.arange(data.size, dtype=np.float64).reshape(data.shape).transpose(order)
    return data.permute(*order), order, reference


# ## Task 2.1: index <-> position


@few_examples
@given(shapes())
def test_strides_from_shape_match_numpy(shape: tuple[int, ...]) -> None:
    itemsize = np.dtype(np.float64).itemsize
    numpy_strides = tuple(s // itemsize for s in np.zeros(shape).strides)
    assert strides_from_shape(shape) == numpy_strides
    assert strides_from_shape(shape)[-1] == 1


@pytest.mark.task2_1
@few_examples
@given(shapes())
def test_to_index_enumerates_row_major_like_numpy_unravel_index(shape: tuple[int, ...]) -> None:
    out_index = np.zeros(len(shape), dtype=np.int64)
    seen = []
    for ordinal in range(int(np.prod(shape))):
        to_index(ordinal, shape, out_index)
        assert tuple(int(i) for i in out_index) == tuple(int(i) for i in np.unravel_index(ordinal, shape))
        seen.append(tuple(int(i) for i in out_index))
    assert seen == list(np.ndindex(*shape))  # row-major: the last dim moves fastest


@pytest.mark.task2_1
@few_examples
@given(shapes())
def test_index_to_position_inverts_to_index(shape: tuple[int, ...]) -> None:
    strides = strides_from_shape(shape)
    out_index = np.zeros(len(shape), dtype=np.int64)
    for ordinal in range(int(np.prod(shape))):
        to_index(ordinal, shape, out_index)
        assert index_to_position(out_index, strides) == ordinal
        assert index_to_position(tuple(out_index), strides) == ordinal  # plain sequences too


@pytest.mark.task2_1
@few_examples
@given(shapes(), st.data())
def test_index_to_position_is_the_dot_with_any_strides(shape: tuple[int, ...], data: st.DataObject) -> None:
    strides = data.draw(st.lists(st.integers(0, 50), min_size=len(shape), max_size=len(shape)))
    for index in np.ndindex(*shape):
        assert index_to_position(np.array(index), strides) == int(np.dot(index, strides))


@pytest.mark.task2_1
def test_index_to_position_and_to_index_examples() -> None:
    assert index_to_position((1, 2), (3, 1)) == 5
    assert index_to_position((1, 2), (1, 2)) == 5
    assert index_to_position((2, 0, 1), (12, 4, 1)) == 25
    out_index = np.zeros(2, dtype=np.int64)
    to_index(4, (2, 3), out_index)
    assert list(out_index) == [1, 1]
    to_index(5, (2, 3), out_index)
    assert list(out_index) == [1, 2]


@pytest.mark.task2_1
@few_examples
@given(tensor_datas())
def test_get_and_indices_walk_storage_in_order(data: TensorData) -> None:
    assert list(data.indices()) == list(np.ndindex(*data.shape))
    for ordinal, index in enumerate(data.indices()):
        assert data.get(index) == float(ordinal)  # contiguous: the ordinal is the position
    assert data.is_contiguous()


@pytest.mark.task2_1
@few_examples
@given(permuted_datas())
def test_permute_matches_numpy_transpose(case: PermutedCase) -> None:
    permuted, order, reference = case
    assert permuted.shape == reference.shape
    np.testing.assert_array_equal(permuted.to_numpy(), reference)
    for index in np.ndindex(*reference.shape):
        assert permuted.get(index) == reference[index]
    # strides are the base strides reordered; storage is shared, not copied
    base_shape = tuple(reference.shape[order.index(d)] for d in range(len(order)))
    base_strides = strides_from_shape(base_shape)
    assert permuted.strides == tuple(base_strides[d] for d in order)


@pytest.mark.task2_1
@few_examples
@given(permuted_datas())
def test_is_contiguous_agrees_with_numpy(case: PermutedCase) -> None:
    permuted, order, _ = case
    # numpy ignores strides of size-1 dims too, so its C-contiguity flag is the same question
    assert permuted.is_contiguous() == permuted.to_numpy().flags.c_contiguous
    # row-major exactly when the dims of size > 1 keep their original order
    kept_order = [old for new, old in enumerate(order) if permuted.shape[new] > 1]
    assert permuted.is_contiguous() == (kept_order == sorted(kept_order))


@pytest.mark.task2_1
def test_is_contiguous_examples() -> None:
    data = TensorData(np.arange(6.0), (2, 3))
    assert data.is_contiguous()
    assert not data.permute(1, 0).is_contiguous()
    assert data.permute(1, 0).permute(1, 0).is_contiguous()
    assert TensorData(np.arange(3.0), (3, 1)).permute(1, 0).is_contiguous()  # size-1 dim moved


@pytest.mark.task2_1
@few_examples
@given(permuted_datas())
def test_permute_twice_with_the_inverse_restores_layout(
    case: PermutedCase,
) -> None:
    permuted, order, reference = case
    inverse = tuple(int(i) for i in np.argsort(order))
    back = permuted.permute(*inverse)
    assert back.strides == strides_from_shape(back.shape)
    np.testing.assert_array_equal(back.to_numpy(), reference.transpose(inverse))


@pytest.mark.task2_1
@few_examples
@given(permuted_datas())
def test_view_of_contiguous_reshapes_and_of_non_contiguous_errors(
    case: PermutedCase,
) -> None:
    permuted, _, reference = case
    if permuted.is_contiguous():
        flat = permuted.view((permuted.size,))
        np.testing.assert_array_equal(flat.to_numpy(), reference.reshape(-1))
        assert np.shares_memory(flat.storage, permuted.storage)  # a view, not a copy
    else:
        with pytest.raises(ShapeError, match="not contiguous") as info:
            permuted.view((permuted.size,))
        assert str(permuted.shape) in str(info.value)


def test_view_checks_size_and_infers_minus_one() -> None:
    data = TensorData(np.arange(12.0), (3, 4))
    assert data.view((2, -1, 3)).shape == (2, 2, 3)
    np.testing.assert_array_equal(data.view((4, 3)).to_numpy(), np.arange(12.0).reshape(4, 3))
    with pytest.raises(ShapeError, match=re.escape("(3, 4)") + ".*" + re.escape("(5, 2)")):
        data.view((5, 2))
    with pytest.raises(ShapeError, match="only one dimension can be -1"):
        data.view((-1, -1))


def test_bad_indices_and_orders_are_clear_errors() -> None:
    data = TensorData(np.arange(6.0), (2, 3))
    with pytest.raises(IndexingError, match=r"out of range for shape \(2, 3\)"):
        data.get((2, 0))
    with pytest.raises(IndexingError, match="has 1 dims"):
        data.get((1,))
    with pytest.raises(IndexingError, match="out of range"):
        data.get((0, -1))
    with pytest.raises(ShapeError, match=r"permute: order \(0, 0\)"):
        data.permute(0, 0)
    with pytest.raises(ShapeError, match="permute"):
        data.permute(0, 1, 2)
    with pytest.raises(ShapeError, match="storage holds 6 values"):
        TensorData(np.arange(6.0), (3, 3))


@pytest.mark.task2_1
def test_set_writes_through_a_permuted_view() -> None:
    data = TensorData(np.zeros(6), (2, 3))
    transposed = data.permute(1, 0)
    transposed.set((2, 1), 7.0)  # transposed[2, 1] is data[1, 2]
    assert data.get((1, 2)) == 7.0
    assert list(data.storage) == [0, 0, 0, 0, 0, 7.0]


# ## Task 2.2: broadcasting


@st.composite
def broadcastable_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    full = draw(shapes(1, 4, 1, 4))
    return draw(shrunk_shapes(full)), draw(shrunk_shapes(full))


@st.composite
def incompatible_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that would broadcast but for one aligned pair of sizes >= 2 that differ."""
    full = draw(shapes(1, 4, 1, 4))
    shape_a = draw(shrunk_shapes(full, keep_all_dims=True))
    shape_b = list(draw(shrunk_shapes(full)))
    clash = draw(st.integers(1, len(shape_b)))  # counted from the right
    size_a = draw(st.integers(2, 4))
    size_b = draw(st.integers(2, 4).filter(lambda s: s != size_a))
    shape_a = shape_a[: len(shape_a) - clash] + (size_a,) + shape_a[len(shape_a) - clash + 1 :]
    shape_b[len(shape_b) - clash] = size_b
    return tuple(shape_a), tuple(shape_b)


@pytest.mark.task2_2
@few_examples
@given(broadcastable_shapes())
def test_shape_broadcast_matches_numpy(pair: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    shape_a, shape_b = pair
    assert shape_broadcast(shape_a, shape_b) == np.broadcast_shapes(shape_a, shape_b)
    assert shape_broadcast(shape_b, shape_a) == np.broadcast_shapes(shape_a, shape_b)


@pytest.mark.task2_2
def test_shape_broadcast_examples() -> None:
    assert shape_broadcast((3, 1), (4,)) == (3, 4)
    assert shape_broadcast((4,), (2, 3, 4)) == (2, 3, 4)
    assert shape_broadcast((1,), (5, 5)) == (5, 5)
    assert shape_broadcast((2, 1, 4), (3, 1)) == (2, 3, 4)
    assert shape_broadcast((), (2, 3)) == (2, 3)
    assert shape_broadcast((2, 3), (2, 3)) == (2, 3)


@pytest.mark.task2_2
@few_examples
@given(incompatible_shapes())
def test_shape_broadcast_incompatible_names_both_shapes_and_the_op(
    pair: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    shape_a, shape_b = pair
    with pytest.raises(ValueError):
        np.broadcast_shapes(shape_a, shape_b)  # the strategy really makes incompatible pairs
    with pytest.raises(ShapeError) as info:
        shape_broadcast(shape_a, shape_b, "mul")
    message = str(info.value)
    assert str(shape_a) in message and str(shape_b) in message and "mul" in message


@pytest.mark.task2_2
def test_shape_broadcast_error_example() -> None:
    with pytest.raises(ShapeError, match=re.escape("add: shapes (2, 3) and (4,) cannot broadcast")):
        shape_broadcast((2, 3), (4,), "add")


@pytest.mark.task2_2
@few_examples
@given(broadcastable_shapes())
def test_broadcast_index_picks_the_element_numpy_broadcasting_picks(
    pair: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    small_shape, other = pair
    big_shape = np.broadcast_shapes(small_shape, other)
    small_size = int(np.prod(small_shape))
    # numpy's broadcast view of 0, 1, 2, ...: the value at a big index is the small ordinal
    stretched = np.broadcast_to(np.arange(small_size).reshape(small_shape), big_shape)
    small_strides = strides_from_shape(small_shape)
    out_index = np.zeros(len(small_shape), dtype=np.int64)
    for big_index in np.ndindex(*big_shape):
        broadcast_index(np.array(big_index), big_shape, small_shape, out_index)
        assert all(0 <= i < s for i, s in zip(out_index, small_shape))
        assert index_to_position(out_index, small_strides) == stretched[big_index]


@pytest.mark.task2_2
def test_broadcast_index_examples() -> None:
    out_index = np.zeros(2, dtype=np.int64)
    broadcast_index(np.array([1, 2, 3]), (2, 3, 4), (3, 1), out_index)
    assert list(out_index) == [2, 0]  # leading dim dropped, size-1 dim pinned to 0
    out_index = np.zeros(1, dtype=np.int64)
    broadcast_index(np.array([1, 2]), (2, 4), (4,), out_index)
    assert list(out_index) == [2]
    out_index = np.zeros(3, dtype=np.int64)
    broadcast_index(np.array([1, 0, 3]), (2, 1, 4), (2, 1, 4), out_index)
    assert list(out_index) == [1, 0, 3]  # same shape: the index passes through


@pytest.mark.task2_2
@few_examples
@given(st.data())
def test_values_through_broadcast_index_match_numpy_broadcast_to(data: st.DataObject) -> None:
    small_shape, other = data.draw(broadcastable_shapes())
    big_shape = np.broadcast_shapes(small_shape, other)
    values = data.draw(st.lists(safe_values, min_size=int(np.prod(small_shape)), max_size=int(np.prod(small_shape))))
    small = TensorData(np.array(values), small_shape)
    stretched = np.broadcast_to(small.to_numpy(), big_shape)
    out_index = np.zeros(len(small_shape), dtype=np.int64)
    for big_index in np.ndindex(*big_shape):
        broadcast_index(np.array(big_index), big_shape, small_shape, out_index)
        assert small.get(tuple(out_index)) == stretched[big_index]
