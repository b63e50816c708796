"""Module 2, tasks 2.5 and 2.6: every differentiable tensor op's gradient against central
differences, element by element, on permuted layouts, broadcast pairs, every dim of the
reductions and batched matmul, on every backend in BACKENDS and in float64 and float32.

Tolerances per dtype live in `tensor_strategies.GRAD_TOL` (float64 1e-5, float32 1e-3).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor

from .tensor_strategies import (
    BACKENDS as ALL_BACKENDS,
)
from .tensor_strategies import (
    DTYPES,
    GRAD_TOL,
    MATMUL_1D_SHAPES,
    MATMUL_KINDS,
    Tolerance,
    broadcast_pairs,
    fewer_examples,
    grid_values,
    matmul_pairs,
    nonzero_values,
    positive_values,
    same_shape_pairs,
    shifted_grid_values,
    small_values,
    tensor_cases,
)

UNGRADED = pytest.mark.ungraded  # a case that runs only given code: it counts for no task (conftest.py)

# Central differences call each op hundreds of times; on the CUDA simulator that takes minutes.
# CUDA gradients are checked against the simple backend's in tests/test_cuda_backend.py instead.
BACKENDS = [b for b in ALL_BACKENDS if b != "cuda"]

ALL_ELEMENTS_UP_TO = 64  # larger tensors check a fixed sample of elements
SAMPLED_ELEMENTS = 24
SMALL = {"max_dims": 3, "max_side": 3}  # every element is checked: keep tensors small


def grad_check(fn: Callable[..., Tensor], *tensors: Tensor, tol: Tolerance | None = None) -> None:
    """The gradient of $L = \\sum_i w_i\\, \\text{fn}(\\ldots)_i$ for fixed, distinct weights $w$
    (`weights`), against central differences.

    Backward starts from `grad_output` $= \\partial L / \\partial \\text{out} = w$, so no Mul or
    Sum (tasks 2.5, 2.6) is needed on top of `fn`. Each input's `.grad` is compared with the
    difference quotients of $L$, which evaluate `fn` on float64 copies of the inputs (without a
    graph; numpy weighs and sums), one element nudged at a time: every element of small
    tensors, a fixed sample of larger ones.
    """
    tol = tol or GRAD_TOL[tensors[0].dtype.name]
    for t in tensors:
        t.requires_grad_(True)
        t.zero_grad_()
    out = fn(*tensors)
    w = weights(out.shape)
    out.backward(minitorch.tensor(w, backend=out.backend, dtype=out.dtype.name))

    copies = [t.numpy().astype(np.float64) for t in tensors]
    backends = [t.backend for t in tensors]

    def total_with(arg: int, index: tuple[int, ...], value: float) -> float:
        arrays = [c.copy() if k == arg else c for k, c in enumerate(copies)]
        arrays[arg][index] = value
        inputs = [minitorch.tensor(a, backend=b) for a, b in zip(arrays, backends)]
        with minitorch.no_grad():
            return float((fn(*inputs).numpy() * w).sum())

    for arg, t in enumerate(tensors):
        assert t.grad is not None, f"input {arg} of shape {t.shape} got no gradient"
        assert t.grad.shape == t.shape, f"input {arg}: grad shape {t.grad.shape} != {t.shape}"
        assert t.grad.dtype == t.dtype, f"input {arg}: grad dtype {t.grad.dtype} != {t.dtype}"
        grad = t.grad.numpy()
        indices = list(np.ndindex(*t.shape))
        if len(indices) > ALL_ELEMENTS_UP_TO:
            picks = np.random.default_rng(0).choice(len(indices), SAMPLED_ELEMENTS, replace=False)
            indices = [indices[i] for i in sorted(picks)]
        for index in indices:
            expected = minitorch.central_difference(
                lambda v, arg=arg, index=index: total_with(arg, index, v), copies[arg][index]
            )
            assert grad[index] == pytest.approx(expected, rel=tol.rtol, abs=tol.atol), (
                f"d/d input{arg}{list(index)}: backward gives {grad[index]}, central difference {expected}"
            )


def weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed, distinct weights of `shape`: with all weights 1 every element would get gradient 1,
    which cannot tell a transposed or misplaced gradient from the right one."""
    count = int(np.prod(shape, dtype=np.int64))
    return np.sin(np.arange(1, count + 1, dtype=np.float64)).reshape(shape) + 0.1


# ## Task 2.5: elementwise ops

# name -> (op, domain of the input values)
ONE_ARG: dict[str, tuple[Callable[[Tensor], Tensor], st.SearchStrategy]] = {
    "neg": (lambda x: -x, small_values),
    "exp": (lambda x: x.exp(), small_values),
    "log": (lambda x: x.log(), positive_values),
    "sigmoid": (lambda x: x.sigmoid(), small_values),
    "relu": (lambda x: x.relu(), nonzero_values),  # away from the kink at 0
    "square": (lambda x: x.square(), small_values),
    "add_scalar": (lambda x: x + 2.5, small_values),
    "rsub_scalar": (lambda x: 2.5 - x, small_values),
    "mul_scalar": (lambda x: x * 3.0, small_values),
    "div_scalar": (lambda x: x / 4.0, small_values),
    "inv": (lambda x: 1.0 / x, nonzero_values),
    "composite": (lambda x: ((x * x + 1.0).log() * x).sigmoid() - x.exp() / 10.0, small_values),
}

# Cases whose op and derivative are given Functions (Add, Neg, LT, EQ): no code of task 2.5 runs,
# so they count for no task (they still check the given code and the engine).
COMPARISONS = {"lt", "gt", "eq"}  # their backward makes zeros of each input's shape: no Sum either
GIVEN = {"neg", "add_scalar", "rsub_scalar", "add", "sub", *COMPARISONS}


def graded(names: dict, given: set[str] = GIVEN) -> list:
    """The cases of `names`, those in `given` marked ungraded."""
    return [pytest.param(n, marks=UNGRADED) if n in given else n for n in names]


# name -> (op, domain of a, domain of b)
BinaryOp = Callable[[Tensor, Tensor], Tensor]
TWO_ARG: dict[str, tuple[BinaryOp, st.SearchStrategy, st.SearchStrategy]] = {
    "add": (lambda a, b: a + b, small_values, small_values),
    "sub": (lambda a, b: a - b, small_values, small_values),
    "mul": (lambda a, b: a * b, small_values, small_values),
    "div": (lambda a, b: a / b, small_values, nonzero_values),
    "composite": (
        lambda a, b: (a * b + a).sigmoid() * b - (a * a + 1.0).log() / (b * b + 1.0),
        small_values,
        small_values,
    ),
    # comparisons: zero gradient; a is never within 0.25 of b, so the quotients are 0 too
    "lt": (lambda a, b: a < b, shifted_grid_values, grid_values),
    "gt": (lambda a, b: a > b, shifted_grid_values, grid_values),
    "eq": (lambda a, b: a == b, shifted_grid_values, grid_values),
}


@pytest.mark.task2_5
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", graded(ONE_ARG))
@fewer_examples
@given(data=st.data())
def test_one_arg_grad(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, values = ONE_ARG[name]
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=values, **SMALL))
    grad_check(fn, case.tensor)


@pytest.mark.task2_5
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", graded(TWO_ARG))
@fewer_examples
@given(data=st.data())
def test_two_arg_grad_same_shape(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    fn, values_a, values_b = TWO_ARG[name]
    a, b = data.draw(same_shape_pairs(backend=backend, dtype=dtype, values=values_a, other_values=values_b, **SMALL))
    grad_check(fn, a.tensor, b.tensor)


@pytest.mark.task2_6  # the engine sums a stretched input's gradient back with Sum (task 2.6)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", graded(TWO_ARG, COMPARISONS))
@fewer_examples
@given(data=st.data())
def test_two_arg_grad_broadcast(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    """The gradient of a stretched input is summed back to the input's own shape."""
    fn, values_a, values_b = TWO_ARG[name]
    a, b = data.draw(broadcast_pairs(backend=backend, dtype=dtype, values=values_a, other_values=values_b, **SMALL))
    grad_check(fn, a.tensor, b.tensor)


BROADCAST_EXAMPLES = [
    ((3, 1), (1, 4)),
    ((4,), (2, 3, 4)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((3,), (2, 3)),
    ((1,), (2, 2)),
    ((2, 3, 1), (2, 1, 3)),
]


@pytest.mark.task2_6  # summed back with Sum, as above
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("shape_a", "shape_b"), BROADCAST_EXAMPLES)
def test_broadcast_grad_examples(shape_a: tuple[int, ...], shape_b: tuple[int, ...], backend: str) -> None:
    rng = np.random.default_rng(len(shape_a) * 7 + len(shape_b))
    a_values, b_values = rng.uniform(0.5, 2.0, size=shape_a), rng.uniform(0.5, 2.0, size=shape_b)
    a = minitorch.tensor(a_values, backend=backend)
    b = minitorch.tensor(b_values, backend=backend)
    grad_check(lambda x, y: x * y + x / y, a, b)
    # and the plain product against the closed form: d/da sum(a * b) = b summed over a's stretch
    a.zero_grad_(), b.zero_grad_()
    (a * b).sum().backward()  # (Sum is task 2.6's too)
    full = np.broadcast_shapes(shape_a, shape_b)
    expected_a = unbroadcast(np.broadcast_to(b_values, full), shape_a)
    expected_b = unbroadcast(np.broadcast_to(a_values, full), shape_b)
    np.testing.assert_allclose(a.grad.numpy(), expected_a, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), expected_b, rtol=1e-12)


def unbroadcast(full: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `full` over the dims that broadcasting stretched `shape` along."""
    summed = full.sum(axis=tuple(range(full.ndim - len(shape))))
    stretched = tuple(d for d, size in enumerate(shape) if size == 1)
    return summed.sum(axis=stretched, keepdims=True).reshape(shape)


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_adds_up_over_every_use(backend: str) -> None:
    x = minitorch.tensor([1.0, -2.0, 3.0], backend=backend)
    grad_check(lambda t: t * t + t * 3.0 - t.exp(), x)
    derivative = 2 * np.array([1.0, -2.0, 3.0]) + 3.0 - np.exp([1.0, -2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), weights((3,)) * derivative, rtol=1e-12)


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_with_a_grad_output_scales_the_gradient(backend: str) -> None:
    x = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, backend=backend)
    y = x * x
    y.backward(minitorch.tensor([[1.0, 0.0], [-1.0, 0.5]], backend=backend))
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [-6.0, 4.0]])


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_constants_get_no_gradient(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    c = minitorch.tensor([3.0, 4.0], backend=backend)
    (x * c + c).backward(minitorch.ones((2,), backend=backend))
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_is_close_and_argmax_are_not_differentiable(backend: str) -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True, backend=backend)
    with pytest.raises(RuntimeError, match="is_close is not differentiable"):
        x.is_close(x * 1.0).backward(minitorch.ones((2,), backend=backend))
    assert not x.argmax(0).requires_grad


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_leaves_get_float32_gradients(backend: str) -> None:
    x = minitorch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, dtype="float32", backend=backend)
    w = minitorch.tensor([[1.5, -0.5], [1.0, 2.0]], requires_grad=True, dtype="float32", backend=backend)
    ((x * w).sigmoid().log() / w).backward(minitorch.ones((2, 2), dtype="float32", backend=backend))
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_leaves_get_float32_gradients_through_matmul_and_sums(backend: str) -> None:
    x = minitorch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, dtype="float32", backend=backend)
    w = minitorch.tensor([1.5, -0.5], requires_grad=True, dtype="float32", backend=backend)
    ((x * w).sigmoid() @ w).sum().backward()  # w broadcast: its gradient summed back
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.task2_5
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_has_the_leaf_dtype_when_dtypes_mix(backend: str) -> None:
    """Like PyTorch: a float32 leaf used with a float64 tensor still gets a float32 `.grad`."""
    x32 = minitorch.tensor([1.0, 2.0], requires_grad=True, dtype="float32", backend=backend)
    y64 = minitorch.tensor([0.5, 0.25], requires_grad=True, backend=backend)
    (x32 * y64).backward(minitorch.ones((2,), backend=backend))
    assert x32.grad.dtype == np.float32 and y64.grad.dtype == np.float64
    np.testing.assert_allclose(x32.grad.numpy(), [0.5, 0.25])
    np.testing.assert_allclose(y64.grad.numpy(), [1.0, 2.0])


# ## Task 2.6: reductions


REDUCTIONS: dict[str, Callable[[Tensor, int | None, bool], Tensor]] = {
    "sum": lambda x, dim, keep: x.sum(dim, keepdim=keep),
    "mean": lambda x, dim, keep: x.mean(dim, keepdim=keep),
    "max": lambda x, dim, keep: x.max(dim, keepdim=keep) if dim is None else x.max(dim, keepdim=keep).values,
}


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", REDUCTIONS)
@fewer_examples
@given(data=st.data())
def test_reduction_grad(name: str, backend: str, dtype: str, data: st.DataObject) -> None:
    reduce = REDUCTIONS[name]
    # max: values at least 0.4 apart, so no ties (the quotient would straddle a kink)
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, distinct=name == "max", **SMALL))
    dims = case.tensor.dims
    dim = data.draw(st.none() | st.integers(-dims, dims - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim") if dim is not None else False
    grad_check(lambda x: reduce(x, dim, keepdim), case.tensor)


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_grad_over_each_dim_of_a_permuted_tensor(name: str, dim: int, backend: str) -> None:
    values = np.random.default_rng(3).permutation(24).astype(np.float64).reshape(4, 3, 2) * 0.5
    x = minitorch.tensor(values, backend=backend).permute(2, 0, 1)  # (2, 4, 3), non-contiguous
    assert not x.is_contiguous()
    grad_check(lambda t: REDUCTIONS[name](t, dim, False), x)


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_reduction_grad_examples(backend: str) -> None:
    x = minitorch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], requires_grad=True, backend=backend)
    x.sum(0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    x.zero_grad_()
    x.mean().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 1 / 6), rtol=1e-15)
    x.zero_grad_()
    x.max(1).values.sum().backward()  # the gradient goes to each row's maximum only
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_splits_the_gradient_among_ties(backend: str) -> None:
    x = minitorch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True, backend=backend)
    x.max(1).values.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


# ## Task 2.6: layout


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@fewer_examples
@given(data=st.data())
def test_permute_grad(backend: str, dtype: str, data: st.DataObject) -> None:
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, **SMALL))
    order = tuple(data.draw(st.permutations(range(case.tensor.dims)), label="order"))
    grad_check(lambda x: x.permute(*order), case.tensor)
    inverse = tuple(int(i) for i in np.argsort(order))
    w = weights(tuple(case.tensor.shape[i] for i in order))  # the permuted output's shape
    np.testing.assert_allclose(case.tensor.grad.numpy(), w.transpose(inverse), rtol=GRAD_TOL[dtype].rtol)


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@fewer_examples
@given(data=st.data())
def test_view_reshape_contiguous_chain_grad(backend: str, dtype: str, data: st.DataObject) -> None:
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, **SMALL))
    x = case.tensor
    order = tuple(data.draw(st.permutations(range(x.dims)), label="order"))
    chains: dict[str, Callable[[Tensor], Tensor]] = {
        "flatten": lambda t: t.contiguous().view(-1),
        "reshape_reversed": lambda t: t.reshape(*reversed(t.shape)),
        "permute_contiguous_view": lambda t: t.permute(*order).contiguous().view(1, -1),
        "view_then_permute": lambda t: t.reshape(t.numel(), 1).permute(1, 0) * 2.0,
        "T": lambda t: t.T.contiguous(),
    }
    name = data.draw(st.sampled_from(sorted(chains)), label="chain")
    grad_check(lambda t: chains[name](t), x)


# ## Task 2.6: matmul


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", MATMUL_KINDS)
@fewer_examples
@given(data=st.data())
def test_matmul_grad(kind: str, backend: str, dtype: str, data: st.DataObject) -> None:
    """Broadcast batch dims included: the gradient sums over the batches an operand served."""
    a, b = data.draw(matmul_pairs(kind, backend=backend, dtype=dtype, values=small_values, max_side=3))
    grad_check(lambda x, y: x @ y, a.tensor, b.tensor)


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_1D_SHAPES)
def test_matmul_grad_with_1d_operands(shape_a: tuple[int, ...], shape_b: tuple[int, ...], backend: str) -> None:
    rng = np.random.default_rng(11)
    a = minitorch.tensor(rng.normal(size=shape_a), backend=backend)
    b = minitorch.tensor(rng.normal(size=shape_b), backend=backend)
    grad_check(lambda x, y: x @ y, a, b)


@pytest.mark.task2_6
@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_grad_closed_form(backend: str) -> None:
    a_values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b_values = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -0.5]])
    a = minitorch.tensor(a_values, requires_grad=True, backend=backend)
    b = minitorch.tensor(b_values, requires_grad=True, backend=backend)
    g = np.arange(9.0).reshape(3, 3)
    (a @ b).backward(minitorch.tensor(g, backend=backend))
    np.testing.assert_allclose(a.grad.numpy(), g @ b_values.T, rtol=1e-15)  # dA = dC B^T
    np.testing.assert_allclose(b.grad.numpy(), a_values.T @ g, rtol=1e-15)  # dB = A^T dC


# ## Composites: what nn builds from these primitives


def softmax(x: Tensor, dim: int) -> Tensor:
    shifted = (x - x.max(dim, keepdim=True).values).exp()
    return shifted / shifted.sum(dim, keepdim=True)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    shifted = x - x.max(dim, keepdim=True).values
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [softmax, log_softmax], ids=["softmax", "log_softmax"])
@fewer_examples
@given(data=st.data())
def test_softmax_grad(fn: Callable[[Tensor, int], Tensor], backend: str, dtype: str, data: st.DataObject) -> None:
    case = data.draw(tensor_cases(backend=backend, dtype=dtype, values=small_values, **SMALL))
    dim = data.draw(st.integers(0, case.tensor.dims - 1), label="dim")
    grad_check(lambda x: fn(x, dim), case.tensor)
    with minitorch.no_grad():  # and the forward values against numpy
        reference = np.exp(case.array - case.array.max(axis=dim, keepdims=True))
        reference = reference / reference.sum(axis=dim, keepdims=True)
        expected = reference if fn is softmax else np.log(reference)
        np.testing.assert_allclose(
            fn(case.tensor, dim).numpy(), expected, rtol=GRAD_TOL[dtype].rtol, atol=GRAD_TOL[dtype].atol
        )


@pytest.mark.task2_6
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@fewer_examples
@given(data=st.data())
def test_linear_layer_loss_grad(backend: str, dtype: str, data: st.DataObject) -> None:
    """mean((sigmoid(x @ w + bias) - y)^2): matmul, broadcast add, map, zip and reductions."""
    n, m, p = (data.draw(st.integers(1, 3)) for _ in range(3))
    x = data.draw(tensor_cases((n, m), backend=backend, dtype=dtype, values=small_values)).tensor
    w = data.draw(tensor_cases((m, p), backend=backend, dtype=dtype, values=small_values)).tensor
    bias = data.draw(tensor_cases((p,), backend=backend, dtype=dtype, values=small_values)).tensor
    y = data.draw(tensor_cases((n, p), backend=backend, dtype=dtype, values=small_values)).tensor

    def loss(x: Tensor, w: Tensor, bias: Tensor) -> Tensor:
        error = (x @ w + bias).sigmoid() - y
        return (error * error).mean()

    grad_check(loss, x, w, bias)
