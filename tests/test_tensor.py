"""Module 2: every tensor op's forward values against numpy, on permuted layouts and broadcast
pairs, on every backend in BACKENDS and in float64 and float32; creation; clear errors; events.

Tolerances per dtype live in `tensor_strategies.FORWARD_TOL` (float64 1e-10, float32 1e-4).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import GraphFreedError, ShapeError, Tensor
from minitorch.backends import TensorBackend
from minitorch.backends.simple import SimpleKernels
from minitorch.tensor_functions import run_map, run_matmul, run_reduce, run_zip

from .tensor_strategies import (
    BACKENDS,
    DTYPES,
    FORWARD_TOL,
    MATMUL_1D_SHAPES,
    MATMUL_KINDS,
    Case,
    broadcast_pairs,
    close_grid_values,
    few_examples,
    grid_values,
    matmul_pairs,
    nonzero_values,
    permuted_view,
    positive_values,
    safe_values,
    same_shape_pairs,
    tensor_cases,
)

UNGRADED = pytest.mark.ungraded  # a case that runs only given code: it counts for no task (conftest.py)
# Each case counts for the task whose code it needs last, so a task's tests need no later task:
# an op made by a given Function (Add, Neg, LT, EQ, IsClose) tests task 2.3's kernels; one made
# by a Function the student writes (Mul, Inv, Exp, ...) tests task 2.5's forward.
TASK_2_5_CASES = {"exp", "log", "sigmoid", "relu", "square", "mul", "div"}
TASK_2_5_CASES |= {"mul_scalar", "rmul_scalar", "div_scalar", "rdiv_scalar"}


def marked(names: dict) -> list:
    """The cases of `names`, each with the marker of the task it counts for (see above)."""
    return [pytest.param(n, marks=pytest.mark.task2_5 if n in TASK_2_5_CASES else pytest.mark.task2_3) for n in names]


Array = np.ndarray


def assert_tensor_close(actual: Tensor, expected: Array, dtype: str) -> None:
    """Same shape, the expected dtype, and values within the dtype's forward tolerance."""
    tol = FORWARD_TOL[dtype]
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype}, expected {dtype}"
    np.testing.assert_allclose(actual.numpy(), expected, rtol=tol.rtol, atol=tol.atol)


def as64(case: Case) -> Array:
    """The reference values in float64 (numpy computes the expected result from these)."""
    return case.array.astype(np.float64)


def sigmoid(a: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-a))


# ## Task 2.3: map and zip, forward values

# name -> (tensor op, numpy reference, domain of the input values)
UNARY: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Array], Array], st.SearchStrategy]] = {
    "neg": (lambda x: -x, np.negative, safe_values),
    "exp": (lambda x: x.exp(), np.exp, safe_values),
    "log": (lambda x: x.log(), np.log, positive_values),
    "sigmoid": (lambda x: x.sigmoid(), sigmoid, safe_values),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0.0), safe_values),
    "square": (lambda x: x.square(), np.square, safe_values),
    "add_scalar": (lambda x: x + 2.5, lambda a: a + 2.5, safe_values),
    "radd_scalar": (lambda x: 2.5 + x, lambda a: 2.5 + a, safe_values),
    "sub_scalar": (lambda x: x - 2.5, lambda a: a - 2.5, safe_values),
    "rsub_scalar": (lambda x: 2.5 - x, lambda a: 2.5 - a, safe_values),
    "mul_scalar": (lambda x: x * 3.0, lambda a: a * 3.0, safe_values),
    "rmul_scalar": (lambda x: 3.0 * x, lambda a: 3.0 * a, safe_values),
    "div_scalar": (lambda x: x / 4.0, lambda a: a / 4.0, safe_values),
    "rdiv_scalar": (lambda x: 4.0 / x, lambda a: 4.0 / a, nonzero_values),
    "lt_scalar": (lambda x: x < 0.0, lambda a: (a < 0.0).astype(float), grid_values),
    "gt_scalar": (lambda x: x > 1.0, lambda a: (a > 1.0).astype(float), grid_values),
    "eq_scalar": (lambda x: x == 1.0, lambda a: (a == 1.0).astype(float), grid_values),
}

# name -> (tensor op, numpy reference, domain of a, domain of b)
BINARY: dict[str, tuple[Callable, Callable, st.SearchStrategy, st.SearchStrategy]] = {
    "add": (lambda a, b: a + b, np.add, safe_values, safe_values),
    "sub": (lambda a, b: a - b, np.subtract, safe_values, safe_values),
    "mul": (lambda a, b: a * b, np.multiply, safe_values, safe_values),
    "div": (lambda a, b: a / b, np.divide, safe_values, nonzero_values),
    "lt": (lambda a, b: a < b, lambda a, b: (a < b).astype(float), grid_values, grid_values),
    "gt": (lambda a, b: a > b, lambda a, b: (a > b).astype(float), grid_values, grid_values),
    "eq": (lambda a, b: a == b, lambda a, b: (a == b).astype(float), grid_values, grid_values),
    "lt_method": (lambda a, b: a.lt(b), lambda a, b: (a < b).astype(float), grid_values, grid_values),
    "gt_method": (lambda a, b: a.gt(b), lambda a, b: (a > b).astype(float), grid_values, grid_values),
    "eq_method": (lambda a, b: a.eq(b), lambda a, b: (a == b).astype(float), grid_values, grid_values),
    "is_close": (
        lambda a, b: a.is_close(b),
        lambda a, b: (np.abs(a - b) < 1e-2).astype(float),
        close_grid_values,
        close_grid_values,
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", marked(UNARY))
@few_examples
@given(data=st.data())
def test_unary_forward(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, reference, values = UNARY[name]
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=values))
    assert_tensor_close(fn(case.tensor), reference(as64(case)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", marked(BINARY))
@few_examples
@given(data=st.data())
def test_binary_forward_same_shape(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, reference, values_a, values_b = BINARY[name]
    a, b = data.draw(same_shape_pairs(backend=backend, dtype=dtype, values=values_a, other_values=values_b))
    assert_tensor_close(fn(a.tensor, b.tensor), reference(as64(a), as64(b)), dtype)


# the zip kernel with broadcasting: 2.3's code, using 2.2's index helpers
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", marked(BINARY))
@few_examples
@given(data=st.data())
def test_binary_forward_broadcast(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, reference, values_a, values_b = BINARY[name]
    a, b = data.draw(broadcast_pairs(backend=backend, dtype=dtype, values=values_a, other_values=values_b))
    expected = reference(as64(a), as64(b))  # numpy broadcasts the same way
    assert_tensor_close(fn(a.tensor, b.tensor), expected, dtype)
    if values_a is values_b:  # the stretched side first works too
        assert_tensor_close(fn(b.tensor, a.tensor), reference(as64(b), as64(a)), dtype)


# The kernels behind task 2.5's Functions, called directly (`run_map` / `run_zip` hand a
# tensor's data to its backend): the map and zip of task 2.3 on every op the course uses.
# op -> (numpy reference, domain of the input values)
MAP_KERNELS: dict[str, tuple[Callable[[Array], Array], st.SearchStrategy]] = {
    "exp": (np.exp, safe_values),
    "log": (np.log, positive_values),
    "sigmoid": (sigmoid, safe_values),
    "relu": (lambda a: np.maximum(a, 0.0), safe_values),
    "inv": (lambda a: 1.0 / a, nonzero_values),
}


@pytest.mark.task2_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", MAP_KERNELS)
@few_examples
@given(data=st.data())
def test_map_kernel(op: str, backend: str, dtype: str, data: st.DataObject) -> None:
    reference, values = MAP_KERNELS[op]
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=values))
    assert_tensor_close(run_map(op, case.tensor), reference(as64(case)), dtype)


@pytest.mark.task2_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("broadcast", [False, True], ids=["same_shape", "broadcast"])
@few_examples
@given(data=st.data())
def test_zip_kernel_mul(broadcast: bool, backend: str, dtype: str, data: st.DataObject) -> None:
    pairs = broadcast_pairs if broadcast else same_shape_pairs
    a, b = data.draw(pairs(backend=backend, dtype=dtype))
    assert_tensor_close(run_zip("mul", a.tensor, b.tensor), as64(a) * as64(b), dtype)
    assert_tensor_close(run_zip("mul", b.tensor, a.tensor), as64(b) * as64(a), dtype)


@pytest.mark.task2_3
@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_examples(backend: str) -> None:
    column = minitorch.tensor([[1.0], [2.0], [3.0]], backend=backend)
    row = minitorch.tensor([10.0, 20.0, 30.0, 40.0], backend=backend)
    np.testing.assert_array_equal(
        run_zip("mul", column, row).numpy(), [[10, 20, 30, 40], [20, 40, 60, 80], [30, 60, 90, 120]]
    )
    cube = minitorch.tensor(np.arange(24.0).reshape(2, 3, 4), backend=backend)
    np.testing.assert_array_equal(
        (cube + row).numpy(), np.arange(24.0).reshape(2, 3, 4) + np.array([10.0, 20.0, 30.0, 40.0])
    )
    scalar = minitorch.tensor(5.0, backend=backend)
    assert (cube - scalar).shape == (2, 3, 4) and (scalar - cube)[1, 2, 3] == 5.0 - 23.0


@pytest.mark.task2_3
@pytest.mark.parametrize("backend", BACKENDS)
def test_map_and_zip_write_row_major_output_for_permuted_input(backend: str) -> None:
    x = permuted_view(minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], backend=backend), (1, 0))
    assert not x.is_contiguous()
    y = -x
    assert y.is_contiguous() and y.shape == (3, 2)
    assert list(y._tensor.storage) == [-1.0, -4.0, -2.0, -5.0, -3.0, -6.0]
    z = run_zip("mul", x, x.contiguous())
    assert list(z._tensor.storage) == [1.0, 16.0, 4.0, 25.0, 9.0, 36.0]


@pytest.mark.task2_3
@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_and_inf_follow_ieee_instead_of_raising(backend: str) -> None:
    x = minitorch.tensor([0.0, -1.0, 1000.0], backend=backend)
    logs = run_map("log", x).numpy()
    assert logs[0] == -np.inf and np.isnan(logs[1])
    assert run_map("exp", x).numpy()[2] == np.inf
    assert run_map("inv", x).numpy()[0] == np.inf


# ## Task 2.3: the reduce kernel; task 2.6: the reductions of Tensor (Sum and Max Functions)

# op -> numpy reference given axis (the kernel keeps the reduced dim as size 1)
REDUCE_KERNELS: dict[str, Callable[[Array, int], Array]] = {
    "sum": lambda a, dim: a.sum(axis=dim, keepdims=True),
    "max": lambda a, dim: a.max(axis=dim, keepdims=True),
    "prod": lambda a, dim: a.prod(axis=dim, keepdims=True),
}


@pytest.mark.task2_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", REDUCE_KERNELS)
@few_examples
@given(data=st.data())
def test_reduce_kernel_over_a_dim(op: str, backend: str, dtype: str, data: st.DataObject) -> None:
    # small integers make ties for max; prod stays within float32 on values in [-3, 3]
    values = grid_values if op != "sum" and data.draw(st.booleans()) else safe_values
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=values))
    dim = data.draw(st.integers(0, case.tensor.dims - 1), label="dim")
    assert_tensor_close(run_reduce(op, case.tensor, dim), REDUCE_KERNELS[op](as64(case), dim), dtype)


@pytest.mark.task2_3
@pytest.mark.parametrize("backend", BACKENDS)
def test_reduce_kernel_examples(backend: str) -> None:
    x = minitorch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], backend=backend)
    np.testing.assert_array_equal(run_reduce("sum", x, 0).numpy(), [[5.0, 7.0, 9.0]])
    np.testing.assert_array_equal(run_reduce("sum", x, 1).numpy(), [[9.0], [12.0]])
    np.testing.assert_array_equal(run_reduce("max", x, 1).numpy(), [[5.0], [6.0]])
    np.testing.assert_array_equal(run_reduce("max", permuted_view(x, (1, 0)), 1).numpy(), [[4.0], [5.0], [6.0]])
    negative = minitorch.tensor([-3.0, -1.0, -2.0], backend=backend)
    assert run_reduce("max", negative, 0).numpy().tolist() == [-1.0]


def max_values(x: Tensor, dim: int | None, keep: bool) -> Tensor:
    """`x.max()` is the value; `x.max(dim)` is (values, indices), as PyTorch."""
    return x.max() if dim is None else x.max(dim, keepdim=keep).values


# name -> (tensor op given dim/keepdim, numpy reference given axis/keepdims)
REDUCTIONS: dict[str, tuple[Callable, Callable]] = {
    "sum": (lambda x, dim, keep: x.sum(dim, keepdim=keep), lambda a, dim, keep: a.sum(axis=dim, keepdims=keep)),
    "mean": (lambda x, dim, keep: x.mean(dim, keepdim=keep), lambda a, dim, keep: a.mean(axis=dim, keepdims=keep)),
    "max": (lambda x, dim, keep: max_values(x, dim, keep), lambda a, dim, keep: a.max(axis=dim, keepdims=keep)),
    "argmax": (
        lambda x, dim, keep: x.argmax(dim, keepdim=keep),
        lambda a, dim, keep: np.argmax(a, axis=dim, keepdims=keep).astype(np.float64),
    ),
}


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [pytest.param(n, marks=UNGRADED) if n == "argmax" else n for n in REDUCTIONS])
@few_examples
@given(data=st.data())
def test_reduction_over_a_dim(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, reference = REDUCTIONS[name]
    # small integers make ties, so max and argmax meet them (argmax: the first, like numpy)
    values = grid_values if name in ("max", "argmax") and data.draw(st.booleans()) else safe_values
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=values))
    dims = case.tensor.dims
    dim = data.draw(st.integers(-dims, dims - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    assert_tensor_close(fn(case.tensor, dim, keepdim), reference(as64(case), dim, keepdim), dtype)


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [pytest.param(n, marks=UNGRADED) if n == "argmax" else n for n in REDUCTIONS])
@few_examples
@given(data=st.data())
def test_reduction_over_all_elements(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, reference = REDUCTIONS[name]
    case = data.draw(tensor_cases(backend=backend, dtype=dtype))
    result = fn(case.tensor, None, False)
    assert result.shape == () and result.numel() == 1
    assert_tensor_close(result, reference(as64(case), None, False), dtype)
    assert result.item() == pytest.approx(
        float(reference(as64(case), None, False)), rel=FORWARD_TOL[dtype].rtol, abs=FORWARD_TOL[dtype].atol
    )


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_reduction_examples(backend: str) -> None:
    x = minitorch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], backend=backend)
    np.testing.assert_array_equal(x.sum(0).numpy(), [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(x.sum(1, keepdim=True).numpy(), [[9.0], [12.0]])
    np.testing.assert_array_equal(x.sum(-1).numpy(), [9.0, 12.0])
    assert x.sum().item() == 21.0 and x.mean().item() == 3.5
    np.testing.assert_array_equal(x.max(1).values.numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(x.argmax(1).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.argmax(0).numpy(), [1.0, 0.0, 1.0])
    assert x.argmax().item() == 5.0
    assert minitorch.tensor([-3.0, -1.0, -2.0], backend=backend).max().item() == -1.0


# ## Layout: permute, view, reshape, contiguous


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@few_examples
@given(data=st.data())
def test_permute_matches_numpy_transpose(backend: str, dtype: str, data: st.DataObject) -> None:
    case = data.draw(tensor_cases(backend=backend, dtype=dtype))
    order = tuple(data.draw(st.permutations(range(case.tensor.dims)), label="order"))
    permuted = case.tensor.permute(*order)
    assert_tensor_close(permuted, case.array.transpose(order), dtype)
    assert np.shares_memory(permuted._tensor.storage, case.tensor._tensor.storage)  # a view
    # the order as one tuple works too
    assert_tensor_close(case.tensor.permute(order), case.array.transpose(order), dtype)


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_transpose_properties(backend: str) -> None:
    x = minitorch.tensor(np.arange(24.0).reshape(2, 3, 4), backend=backend)
    np.testing.assert_array_equal(x.T.numpy(), np.arange(24.0).reshape(2, 3, 4).T)
    np.testing.assert_array_equal(x.mT.numpy(), np.arange(24.0).reshape(2, 3, 4).transpose(0, 2, 1))
    np.testing.assert_array_equal(x.permute(-1, 0, 1).numpy(), np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1))


@pytest.mark.task2_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@few_examples
@given(data=st.data())
def test_contiguous_copies_to_row_major(backend: str, dtype: str, data: st.DataObject) -> None:
    permuted = permuted_view(minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], backend=backend, dtype=dtype), (1, 0))
    assert list(permuted.contiguous()._tensor.storage) == [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]  # always one copy
    case = data.draw(tensor_cases(backend=backend, dtype=dtype))
    copy = case.tensor.contiguous()
    assert copy.is_contiguous()
    assert_tensor_close(copy, case.array, dtype)
    if case.tensor.is_contiguous():
        assert copy is case.tensor  # nothing to do
    else:
        assert copy._tensor.strides == minitorch.tensor_data.strides_from_shape(copy.shape)
        np.testing.assert_array_equal(copy._tensor.storage, case.array.reshape(-1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@few_examples
@given(data=st.data())
def test_view_and_reshape_match_numpy_reshape(backend: str, dtype: str, data: st.DataObject) -> None:
    case = data.draw(tensor_cases(backend=backend, dtype=dtype))
    x = case.tensor
    targets = [(x.numel(),), (-1,), tuple(reversed(x.shape)), (1, *x.shape), (*x.shape, 1), (x.shape[0], -1)]
    shape = data.draw(st.sampled_from(targets), label="shape")
    expected = case.array.reshape(shape)
    assert_tensor_close(x.reshape(shape), expected, dtype)
    assert_tensor_close(x.reshape(*shape), expected, dtype)
    if x.is_contiguous():
        assert_tensor_close(x.view(shape), expected, dtype)
        assert_tensor_close(x.view(*shape), expected, dtype)
    else:
        with pytest.raises(ShapeError, match="not contiguous.*contiguous\\(\\)"):
            x.view(shape)
        assert_tensor_close(x.contiguous().view(shape), expected, dtype)


# ## Task 2.4: the matmul kernel (`run_matmul`); task 2.6: `@` (the MatMul Function, 1-D operands)


@pytest.mark.task2_4
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", MATMUL_KINDS)
@few_examples
@given(data=st.data())
def test_matmul_matches_numpy(kind: str, backend: str, dtype: str, data: st.DataObject) -> None:
    a, b = data.draw(matmul_pairs(kind, backend=backend, dtype=dtype))
    assert_tensor_close(run_matmul(a.tensor, b.tensor), np.matmul(as64(a), as64(b)), dtype)


# 1-D operands (dropped dims, PyTorch's rules) and a few of each kind of matrix operands
MATMUL_OPERATOR_SHAPES = [*MATMUL_1D_SHAPES, ((2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2))]


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_OPERATOR_SHAPES)
def test_matmul_operator_follows_numpy(
    shape_a: tuple[int, ...],
    shape_b: tuple[int, ...],
    backend: str,
    dtype: str,
) -> None:
    rng = np.random.default_rng(sum(shape_a) * 10 + sum(shape_b))
    a, b = rng.normal(size=shape_a).astype(dtype), rng.normal(size=shape_b).astype(dtype)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    x, y = minitorch.tensor(a, backend=backend), minitorch.tensor(b, backend=backend)
    assert_tensor_close(x @ y, expected, dtype)
    assert_tensor_close(x.matmul(y), expected, dtype)


@pytest.mark.task2_4
@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_example_and_permuted_operands(backend: str) -> None:
    a = minitorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], backend=backend)
    b = minitorch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], backend=backend)
    a_t, b_t = permuted_view(a, (1, 0)), permuted_view(b, (1, 0))
    np.testing.assert_array_equal(run_matmul(a, b).numpy(), [[5, 2, -1], [11, 4, -3], [17, 6, -5]])
    np.testing.assert_array_equal(run_matmul(b_t, a_t).numpy(), np.array([[5, 2, -1], [11, 4, -3], [17, 6, -5]]).T)
    np.testing.assert_array_equal(run_matmul(a_t, a).numpy(), [[35, 44], [44, 56]])


# ## Creating tensors and reading them back


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensor_from_nested_lists_numbers_and_numpy(backend: str) -> None:
    x = minitorch.tensor([[1, 2, 3], [4, 5, 6]], backend=backend)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.numel() == 6 and x.dims == 2 and x.dtype == np.float64
    assert len(x) == 2 and x[1, 2] == 6.0 and x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x.backend.name == backend
    scalar = minitorch.tensor(2.5, backend=backend)
    assert scalar.shape == () and scalar.numel() == 1 and scalar.dims == 0 and scalar.item() == 2.5
    assert float(scalar) == 2.5
    array = np.arange(6, dtype=np.float32).reshape(3, 2)
    from_array = minitorch.tensor(array, backend=backend)
    assert from_array.dtype == np.float32 and from_array.shape == (3, 2)
    np.testing.assert_array_equal(from_array.numpy(), array)
    assert minitorch.tensor([True, False], backend=backend).tolist() == [1.0, 0.0]
    assert minitorch.tensor([1.5], dtype="float32", backend=backend).dtype == np.float32
    again = minitorch.tensor(x, backend=backend)  # a tensor from a tensor copies the values
    again[0, 0] = 100.0
    assert x[0, 0] == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_zeros_ones_and_rand(backend: str, dtype: str) -> None:
    zeros = minitorch.zeros((2, 3), backend=backend, dtype=dtype)
    ones = minitorch.ones((4,), backend=backend, dtype=dtype)
    assert zeros.shape == (2, 3) and zeros.dtype == np.dtype(dtype) and not zeros.numpy().any()
    assert ones.shape == (4,) and ones.dtype == np.dtype(dtype) and (ones.numpy() == 1.0).all()
    first = minitorch.rand((3, 4), seed=7, backend=backend, dtype=dtype)
    second = minitorch.rand((3, 4), seed=7, backend=backend, dtype=dtype)
    other = minitorch.rand((3, 4), seed=8, backend=backend, dtype=dtype)
    assert first.dtype == np.dtype(dtype) and first.shape == (3, 4)
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # same seed, same values
    assert not np.array_equal(first.numpy(), other.numpy())
    assert ((first.numpy() >= 0.0) & (first.numpy() < 1.0)).all()
    assert len(np.unique(first.numpy())) == 12
    assert minitorch.zeros((2,), requires_grad=True, backend=backend).requires_grad


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_numpy_and_numpy_copy(backend: str) -> None:
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = minitorch.from_numpy(array, backend=backend)
    array[0, 0] = 100.0
    assert x[0, 0] == 1.0  # from_numpy copies
    out = x.numpy()
    out[1, 1] = -1.0
    assert x[1, 1] == 4.0  # numpy() copies too
    assert minitorch.from_numpy(np.ones(3, dtype=np.float32), backend=backend).dtype == np.float32
    assert minitorch.from_numpy(np.arange(3), backend=backend).dtype == np.float64
    np.testing.assert_array_equal(x.permute(1, 0).numpy(), [[1.0, 3.0], [2.0, 4.0]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_item_needs_one_element(backend: str) -> None:
    assert minitorch.tensor([[3.5]], backend=backend).item() == 3.5
    with pytest.raises(ValueError, match=r"item\(\).*\(2,\).*2 elements"):
        minitorch.tensor([1.0, 2.0], backend=backend).item()


# ## dtypes: float32 is kept, float32 with float64 promotes


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_is_preserved_through_a_chain_of_ops(backend: str) -> None:
    x = minitorch.tensor([[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]], dtype="float32", backend=backend)
    w = minitorch.tensor([[1.0], [2.0], [-1.0]], dtype="float32", backend=backend)
    steps = [
        x,
        -x,
        x + 1.0,
        2.0 * x,
        x / 3.0,
        1.0 - x,
        x.exp(),
        (x * x + 1.0).log(),
        x.sigmoid(),
        x.relu(),
        x < 1.0,
        x == 2.0,
        x.is_close(x),
        x.sum(0),
        x.sum(),
        x.mean(1),
        x.max(1).values,
        x.argmax(1),
        x.permute(1, 0).contiguous(),
        x.view(6),
        x @ w,
        x.T.reshape(3, 2),
    ]
    assert [s.dtype for s in steps] == [np.dtype(np.float32)] * len(steps)
    expected = np.array([[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]], dtype=np.float32)
    np.testing.assert_allclose((x @ w).numpy().ravel(), expected @ np.array([1.0, 2.0, -1.0]), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_with_float64_promotes_to_float64(backend: str) -> None:
    a32 = minitorch.tensor([1.0, 2.0, 3.0], dtype="float32", backend=backend)
    b64 = minitorch.tensor([0.1, 0.2, 0.3], backend=backend)
    for result in (a32 + b64, b64 + a32, a32 * b64, a32 / b64, a32 - b64, a32 < b64):
        assert result.dtype == np.float64
    np.testing.assert_allclose((a32 + b64).numpy(), [1.1, 2.2, 3.3], rtol=1e-12)
    m32 = minitorch.tensor([[1.0, 2.0]], dtype="float32", backend=backend)
    m64 = minitorch.tensor([[0.5], [0.25]], backend=backend)
    assert (m32 @ m64).dtype == np.float64 and (m32 @ m64).item() == 1.0
    assert (a32 + 0.1).dtype == np.float32  # a Python number takes the tensor's dtype


# ## Autodiff bookkeeping: detach, no_grad, zero_grad


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_requires_grad_leaves_and_history(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    c = minitorch.tensor([3.0, 4.0], backend=backend)
    y = x * c
    assert x.requires_grad and x.is_leaf and not c.requires_grad and c.is_constant()
    assert y.requires_grad and not y.is_leaf and y.history.last_fn.op_name() == "Mul"
    assert y.parents == (x, c)
    assert not (c * c).requires_grad  # constants make constants


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_detach_cuts_the_graph_but_keeps_the_values(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True, backend=backend)
    d = x.detach()
    assert not d.requires_grad and d.history is None and d.shape == x.shape
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    (x * d).backward(minitorch.ones((3,), backend=backend))  # d is a constant: d/dx (x * d) = d, not 2x
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_grad_builds_no_graph(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    with minitorch.no_grad():
        y = (x * x).sigmoid()
        assert not minitorch.is_grad_enabled()
    assert minitorch.is_grad_enabled()
    assert not y.requires_grad and y.history is None
    np.testing.assert_allclose(y.numpy(), sigmoid(np.array([1.0, 4.0])), rtol=1e-12)
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert (x * x).requires_grad  # enabled again after the block


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_accumulate_until_zero_grad(backend: str) -> None:
    x = minitorch.tensor([1.0, -2.0], requires_grad=True, backend=backend)
    ones = minitorch.ones((2,), backend=backend)
    (x * 3.0).backward(ones)
    (x * x).backward(ones)  # a second, separate graph: grads add up
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 2.0, 3.0 - 4.0])
    x.zero_grad_()
    assert x.grad is None
    (x * 3.0).backward(ones)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


# ## Clear errors


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("op", "fn"),
    [
        pytest.param("add", lambda a, b: a + b, marks=pytest.mark.task2_2),
        pytest.param("mul", lambda a, b: run_zip("mul", a, b), marks=pytest.mark.task2_2),  # Mul's forward is 2.5's
        pytest.param("lt", lambda a, b: a < b, marks=pytest.mark.task2_2),
        pytest.param("add", lambda a, b: a - b, marks=pytest.mark.task2_3),  # a + (-b): -b runs the map kernel
    ],
)
def test_broadcast_mismatch_names_both_shapes_and_the_op(backend: str, op: str, fn: Callable) -> None:
    a = minitorch.zeros((2, 3), backend=backend)
    b = minitorch.zeros((4,), backend=backend)
    with pytest.raises(ShapeError) as info:
        fn(a, b)
    message = str(info.value)
    assert "(2, 3)" in message and "(4,)" in message and op in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_shape_errors(backend: str) -> None:
    inner = re.escape("matmul: shapes (2, 3) and (4, 5)") + ".*3 and 4"
    with pytest.raises(ShapeError, match=inner):
        minitorch.zeros((2, 3), backend=backend) @ minitorch.zeros((4, 5), backend=backend)
    with pytest.raises(ShapeError, match=re.escape("(3,) and (4,)")):
        minitorch.zeros((3,), backend=backend) @ minitorch.zeros((4,), backend=backend)
    with pytest.raises(ShapeError, match=r"matmul.*batch.*\(2,\).*\(3,\)"):
        minitorch.zeros((2, 3, 4), backend=backend) @ minitorch.zeros((3, 4, 5), backend=backend)
    with pytest.raises(ShapeError, match="at least 1 dim"):
        minitorch.tensor(1.0, backend=backend) @ minitorch.zeros((1,), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_view_errors(backend: str) -> None:
    x = minitorch.zeros((2, 3), backend=backend)
    with pytest.raises(ShapeError, match=r"not contiguous.*call \.contiguous\(\) first"):
        x.permute(1, 0).view(6)
    with pytest.raises(ShapeError, match=re.escape("(2, 3)") + ".*" + re.escape("(4,)")):
        x.view(4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dim_out_of_range_is_a_clear_error(backend: str) -> None:
    x = minitorch.zeros((2, 3), backend=backend)
    for reduce in (x.sum, x.mean, x.max, x.argmax):
        with pytest.raises(IndexError, match=re.escape("dim 2 is out of range") + ".*(2, 3)"):
            reduce(2)
    with pytest.raises(IndexError, match="dim -3 is out of range"):
        x.sum(-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_permute_with_a_dim_out_of_range_is_an_error(backend: str) -> None:
    """`x.permute(2, 1)` on a 2-D tensor names dim 2, which does not exist: not the identity."""
    x = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], backend=backend)
    for order in ((2, 1), (0, 3), (1, -3)):
        with pytest.raises((ShapeError, IndexError), match="permute"):
            x.permute(*order)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reductions_of_a_0d_tensor_along_dim_0(backend: str) -> None:
    """Like PyTorch: dim 0 (or -1) of a 0-d tensor is the tensor itself."""
    x = minitorch.tensor(3.0, backend=backend)
    assert x.sum(0).item() == 3.0 and x.sum(-1).item() == 3.0
    assert x.mean(0).item() == 3.0 and x.max(0).values.item() == 3.0


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_errors(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*needs grad_output"):
        y.backward()
    with pytest.raises(ShapeError, match=r"grad_output has shape \(3,\).*\(2,\)"):
        y.backward(minitorch.ones((3,), backend=backend))
    with pytest.raises(RuntimeError, match="does not require grad"):
        minitorch.tensor([1.0], backend=backend).backward()
    y.backward(minitorch.tensor([1.0, 10.0], backend=backend))  # with a gradient it works
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_through_a_freed_graph(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    ones = minitorch.ones((2,), backend=backend)
    loss = x * x
    loss.backward(ones)
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        loss.backward(ones)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # the failed call added nothing

    x.zero_grad_()
    kept = x * x
    kept.backward(ones, retain_graph=True)
    kept.backward(ones)  # the graph was kept for this second pass
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(GraphFreedError):
        kept.backward(ones)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="only one backend available")
@pytest.mark.parametrize("other", BACKENDS[1:] or ["none"])
def test_mixing_backends_is_a_clear_error(other: str) -> None:
    a = minitorch.zeros((2,), backend=BACKENDS[0])
    b = minitorch.zeros((2,), backend=other)
    with pytest.raises(ValueError, match=f"different backends.*{BACKENDS[0]}.*{other}.*to"):
        a + b
    np.testing.assert_array_equal((a + b.to(BACKENDS[0])).numpy(), [0.0, 0.0])


def test_mixing_backend_instances_is_a_clear_error() -> None:
    """Runs with one backend too: a second kernel library under another name stands in."""

    class OtherKernels(SimpleKernels):
        name = "other"

    other = TensorBackend(OtherKernels())
    a = minitorch.tensor([1.0, 2.0])
    b = minitorch.tensor([3.0, 4.0], backend=other)
    for fn in (lambda: a + b, lambda: a * b, lambda: a @ b, lambda: b < a):
        with pytest.raises(ValueError, match="different backends"):
            fn()
    moved = b.to(a.backend)
    assert moved.backend is a.backend
    np.testing.assert_array_equal((a + moved).numpy(), [4.0, 6.0])


@pytest.mark.parametrize(
    "data",
    ["abc", ["1.0", "2.0"], [None, 1.0], {"a": 1.0}, [object()]],
    ids=["str", "list-of-str", "None", "dict", "object"],
)
def test_non_numeric_data_is_a_clear_error(data: object) -> None:
    with pytest.raises(TypeError, match=r"tensor\(\): expected numbers"):
        minitorch.tensor(data)


def test_complex_data_is_rejected_not_truncated() -> None:
    """Dropping the imaginary part would be a silent wrong answer."""
    with pytest.raises(TypeError, match=r"tensor\(\)"):
        minitorch.tensor([1 + 2j, 3.0])


@pytest.mark.parametrize("data", ["1.0", ["1.0", "2.0"]])
@pytest.mark.parametrize("dtype", DTYPES)
def test_strings_are_rejected_even_with_a_dtype(data: object, dtype: str) -> None:
    with pytest.raises(TypeError, match=r"tensor\(\): expected numbers"):
        minitorch.tensor(data, dtype=dtype)


def test_ragged_nested_lists_are_a_clear_error() -> None:
    with pytest.raises((TypeError, ValueError), match=r"tensor\(\).*rectangular"):
        minitorch.tensor([[1.0, 2.0], [3.0]])


def test_operands_that_are_not_numbers_are_a_clear_error() -> None:
    x = minitorch.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"add: expected a Tensor or a real number.*'a'.*str"):
        x + "a"
    with pytest.raises(TypeError, match=r"mul.*list"):
        x * [1.0]
    with pytest.raises(TypeError, match="bool"):
        x * True


@pytest.mark.parametrize("dtype", ["int32", "float16", "bogus", np.int64, "complex128"])
def test_bad_dtype_is_a_clear_error(dtype: object) -> None:
    for make in (
        lambda: minitorch.tensor([1.0], dtype=dtype),
        lambda: minitorch.zeros((2,), dtype=dtype),
        lambda: minitorch.ones((2,), dtype=dtype),
        lambda: minitorch.rand((2,), dtype=dtype),
    ):
        with pytest.raises(TypeError, match="not supported; use 'float64' or 'float32'"):
            make()


# ## Events: what the engine reports for a tensor graph


def summary_array(summary: dict) -> Array:
    """The values a summarized array event carries, in its shape."""
    return np.array(summary["data"], dtype=np.float64).reshape(summary["shape"])


@pytest.mark.task2_6  # a sum and a broadcast product (its gradient summed back): Sum is task 2.6's
@pytest.mark.parametrize("backend", BACKENDS)
def test_record_reports_forward_ops_and_backward_gradients(backend: str) -> None:
    x_values = np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.5]])
    w_values = np.array([0.3, -0.7])
    x = minitorch.tensor(x_values, requires_grad=True, backend=backend)
    w = minitorch.tensor(w_values, requires_grad=True, backend=backend)
    with minitorch.record() as rec:
        product = x * w  # broadcast: w's gradient is summed over the rows
        activated = product.sigmoid()
        loss = activated.sum()
        loss.backward()

    s = sigmoid(x_values * w_values)
    # forward: one event per primitive op, in order, with the values computed (the backward
    # pass runs tensor ops of its own, so look at the events before the first backward step)
    first_backward = next(i for i, e in enumerate(rec.events) if e.kind == "backward")
    forward_events = [e for e in rec.events[:first_backward] if e.kind == "forward"]
    ops = [e.op for e in forward_events]
    assert ops[:2] == ["Mul", "Sigmoid"] and "Sum" in ops
    mul_event, sigmoid_event = forward_events[:2]
    assert [r.id for r in mul_event.inputs] == [x.unique_id, w.unique_id]
    assert mul_event.output.id == product.unique_id and mul_event.backend == backend
    np.testing.assert_allclose(summary_array(mul_event.output.value), x_values * w_values)
    np.testing.assert_allclose(summary_array(sigmoid_event.output.value), s, rtol=1e-12)
    assert forward_events[-1].output.id == loss.unique_id
    assert forward_events[-1].output.value["data"] == pytest.approx([s.sum()], rel=1e-12)

    # backward: the engine's gradients, as the events summarize them
    grad_x = s * (1 - s) * w_values
    grad_w = (s * (1 - s) * x_values).sum(axis=0)
    np.testing.assert_allclose(x.grad.numpy(), grad_x, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), grad_w, rtol=1e-12)
    by_node = {e.node: e for e in rec.backward_events}
    mul_step = by_node[product.unique_id]
    assert mul_step.op == "Mul" and mul_step.parents == [x.unique_id, w.unique_id]
    sent_x, sent_w = mul_step.grads_to_parents
    assert sent_x["shape"] == [3, 2] and sent_w["shape"] == [2]  # already summed to w's shape
    np.testing.assert_allclose(summary_array(sent_x), x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(summary_array(sent_w), w.grad.numpy(), rtol=1e-12)
    sigmoid_step = by_node[activated.unique_id]
    np.testing.assert_allclose(summary_array(sigmoid_step.grad_output), np.ones((3, 2)))
    np.testing.assert_allclose(summary_array(sigmoid_step.grads_to_parents[0]), s * (1 - s), rtol=1e-12)
    # leaves report the gradient they accumulated
    for leaf in (x, w):
        leaf_step = by_node[leaf.unique_id]
        assert leaf_step.op is None
        np.testing.assert_allclose(summary_array(leaf_step.grad_output), leaf.grad.numpy(), rtol=1e-12)
    # the chain rule as numbers: what each node received is what its children sent it
    sent_to: dict[int, list[Array]] = {}
    for step in rec.backward_events:
        for parent, grad in zip(step.parents, step.grads_to_parents):
            sent_to.setdefault(parent, []).append(summary_array(grad))
    for step in rec.backward_events:
        if step.node != loss.unique_id:
            np.testing.assert_allclose(summary_array(step.grad_output), sum(sent_to[step.node]), rtol=1e-12)
