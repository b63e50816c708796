"""Module 3: the fast (Numba) backend agrees with the simple one, op by op and layout by layout."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minitorch

from . import backend_pairs
from .backend_pairs import BINARY, UNARY

# fast computes the same IEEE operations in the same order per element, except matmul
# (fastmath may reassociate the k-sum): hence a tolerance, stated here.
TOL = {"float64": 1e-12, "float32": 1e-5}
MATMUL_TOL = {"float64": 1e-10, "float32": 1e-4}


def pair(shape, seed, dtype="float64", positive=False, permute=None):
    """The same random values on `simple` and `fast`."""
    return backend_pairs.pair(shape, seed, "fast", dtype, positive, permute)


def assert_same(simple: minitorch.Tensor, fast: minitorch.Tensor, tol: float) -> None:
    backend_pairs.assert_same(simple, fast, tol, backend="fast")


@pytest.mark.task3_1
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "permute,name",  # a contiguous tensor's contiguous() is itself: that case runs no kernel
    [(permute, name) for permute in (None, (2, 0, 1)) for name in UNARY if permute or name != "contiguous"],
)
def test_map_matches_simple(name: str, dtype: str, permute) -> None:
    simple, fast = pair((3, 4, 5), seed=1, dtype=dtype, positive=True, permute=permute)
    assert_same(UNARY[name](simple), UNARY[name](fast), TOL[dtype])


@pytest.mark.task3_1
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((4,), (2, 1, 4))])
def test_zip_matches_simple_with_broadcasting(name: str, dtype: str, shapes) -> None:
    a_simple, a_fast = pair(shapes[0], seed=2, dtype=dtype, positive=True)
    b_simple, b_fast = pair(shapes[1], seed=3, dtype=dtype, positive=True)
    assert_same(BINARY[name](a_simple, b_simple), BINARY[name](a_fast, b_fast), TOL[dtype])


@pytest.mark.task3_1
def test_zip_on_permuted_inputs() -> None:
    a_simple, a_fast = pair((4, 3), seed=4, permute=(1, 0))
    b_simple, b_fast = pair((3, 4), seed=5)
    assert_same(a_simple * b_simple, a_fast * b_fast, TOL["float64"])


@pytest.mark.task3_1
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim", [0, 1, 2])
@pytest.mark.parametrize("permute", [None, (1, 2, 0)])
def test_reductions_match_simple(dim: int, dtype: str, permute) -> None:
    simple, fast = pair((3, 4, 5), seed=6, dtype=dtype, permute=permute)
    assert_same(simple.sum(dim), fast.sum(dim), TOL[dtype] * 10)
    assert_same(simple.max(dim).values, fast.max(dim).values, 0.0)
    assert_same(simple.mean(dim, keepdim=True), fast.mean(dim, keepdim=True), TOL[dtype] * 10)


@pytest.mark.task3_1
def test_gradients_match_simple() -> None:
    grads = []
    for backend in ("simple", "fast"):
        x = minitorch.tensor(np.linspace(-1, 1, 12).reshape(3, 4), backend=backend, requires_grad=True)
        w = minitorch.tensor(np.linspace(0.5, 1.5, 4), backend=backend, requires_grad=True)
        loss = ((x * w).sigmoid().log() - x.relu() * 2.0).max(1).values.sum()
        loss.backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


@pytest.mark.task3_2
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shapes",
    [((4, 5), (5, 3)), ((2, 4, 5), (5, 3)), ((2, 4, 5), (2, 5, 3)), ((1, 4, 5), (3, 5, 2)), ((3,), (3, 4))],
)
def test_matmul_matches_simple(shapes, dtype: str) -> None:
    a_simple, a_fast = pair(shapes[0], seed=7, dtype=dtype)
    b_simple, b_fast = pair(shapes[1], seed=8, dtype=dtype)
    assert_same(a_simple @ b_simple, a_fast @ b_fast, MATMUL_TOL[dtype])
    np.testing.assert_allclose(
        (a_fast @ b_fast).numpy(), a_fast.numpy() @ b_fast.numpy(), rtol=MATMUL_TOL[dtype], atol=MATMUL_TOL[dtype]
    )


@pytest.mark.task3_2
def test_matmul_on_transposed_operands_and_gradients() -> None:
    a_simple, a_fast = pair((5, 4), seed=9, permute=(1, 0))
    b_simple, b_fast = pair((6, 5), seed=10, permute=(1, 0))
    assert_same(a_simple @ b_simple, a_fast @ b_fast, MATMUL_TOL["float64"])
    x = minitorch.tensor(np.arange(6.0).reshape(2, 3), backend="fast", requires_grad=True)
    y = minitorch.tensor(np.arange(12.0).reshape(3, 4), backend="fast", requires_grad=True)
    (x @ y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 4)) @ np.arange(12.0).reshape(3, 4).T)
    np.testing.assert_allclose(y.grad.numpy(), np.arange(6.0).reshape(2, 3).T @ np.ones((2, 4)))


# Products big enough for the blocked path (packing, MC x NC jobs, 4 x 3 micro-tiles), with
# sizes that are not multiples of any block, k longer than one KC run, k = 1, a transposed `a`
# and batch dims that broadcast; and the small path's batch of tiny matrices.
BLOCKED_CASES = {
    "odd sizes, k over two runs": ((67, 523), (523, 197), None),
    "k = 1": ((300, 1), (1, 401), None),
    "transposed a": ((259, 67), (259, 130), (1, 0)),
    "one a, batch of b": ((1, 70, 90), (3, 90, 61), None),
    "batch of a, one b": ((2, 129, 80), (80, 50), None),
    "a batch-1 MLP layer": ((1, 784), (784, 128), None),
    "a huge batch of tiny matrices": ((4000, 2, 3), (4000, 3, 2), None),
    "1 x 1": ((1, 1), (1, 1), None),
}


@pytest.mark.task3_2
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", BLOCKED_CASES)
def test_matmul_every_path_matches_numpy(case: str, dtype: str) -> None:
    a_shape, b_shape, permute = BLOCKED_CASES[case]
    rng = np.random.default_rng(20)
    a_np, b_np = rng.uniform(-1, 1, a_shape), rng.uniform(-1, 1, b_shape)
    a = minitorch.tensor(a_np, backend="fast", dtype=dtype)
    if permute:
        a, a_np = a.permute(*permute), a_np.transpose(permute)
    b = minitorch.tensor(b_np, backend="fast", dtype=dtype)
    expected = a.numpy().astype(np.float64) @ b.numpy().astype(np.float64)  # the operands as rounded
    got = (a @ b).numpy()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, expected, rtol=MATMUL_TOL[dtype], atol=MATMUL_TOL[dtype])


def test_matmul_cases_reach_both_paths() -> None:
    """The cases above run the blocked path at its edges, and the small one (a check of the
    test cases against the given block sizes, so no task marker: it passes on the stub too)."""
    from minitorch.backends import fast

    def blocked(case: str) -> bool:
        a_shape, b_shape, permute = BLOCKED_CASES[case]
        rows, inner = (a_shape[-1], a_shape[-2]) if permute else (a_shape[-2], a_shape[-1])
        return rows >= fast.SMALL_ROWS and rows * inner * b_shape[-1] >= fast.SMALL_WORK

    assert [case for case in BLOCKED_CASES if blocked(case)] == list(BLOCKED_CASES)[:5]
    assert 523 > fast.KC and 67 > fast.MC and 67 % fast.MR and 197 > fast.NC and 197 % fast.NR


@pytest.mark.task3_2
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matmul_kernel_called_directly_writes_every_element(dtype: str) -> None:
    """As the graph wrapper calls it: 3-D layouts, `out` uninitialised (filled with NaN here)."""
    from minitorch.backends import fast

    rng = np.random.default_rng(21)
    a_np, b_np = rng.random((2, 70, 100)).astype(dtype), rng.random((1, 100, 130)).astype(dtype)
    out = np.full(2 * 70 * 130, np.nan, dtype=dtype)

    def layout(x):
        return np.array(x.shape), np.array([s // x.itemsize for s in x.strides])

    fast.matmul_kernel(out, *layout(out.reshape(2, 70, 130)), a_np.ravel(), *layout(a_np), b_np.ravel(), *layout(b_np))
    expected = a_np.astype(np.float64) @ b_np.astype(np.float64)
    np.testing.assert_allclose(out.reshape(2, 70, 130), expected, rtol=MATMUL_TOL[dtype], atol=MATMUL_TOL[dtype])


def test_large_contiguous_zip_and_sum_match_numpy() -> None:
    a = np.random.default_rng(0).random((300, 200))
    fa = minitorch.tensor(a, backend="fast")
    np.testing.assert_allclose((fa * fa).numpy(), a * a)
    np.testing.assert_allclose(fa.sum(1).numpy(), a.sum(1), rtol=1e-12)


def test_mixing_backends_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="different backends.*'simple'.*'fast'"):
        minitorch.zeros((2,), backend="simple") + minitorch.zeros((2,), backend="fast")


def test_second_process_loads_kernels_from_the_disk_cache() -> None:
    """Compiled kernels are cached: a fresh process finds them instead of recompiling."""
    script = textwrap.dedent(
        """
        import minitorch
        from minitorch.backends import fast
        a = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], backend="fast")
        (a * a).sum(1)
        print(sum(fast.zip_kernel.stats.cache_hits.values()), sum(fast.zip_kernel.stats.cache_misses.values()))
        """
    )
    for _ in range(2):  # the first run may populate the cache
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    hits, misses = (int(x) for x in result.stdout.split())
    assert hits >= 1 and misses == 0
