"""Module 3: the cuda (Numba CUDA) backend agrees with the simple one, op by op and layout by layout.

Without a GPU, conftest turns on Numba's CUDA simulator, which runs every GPU thread as a
Python thread: shapes here stay tiny. On a real GPU the same tests run unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest

import minitorch
from minitorch.tensor_functions import run_reduce

from . import backend_pairs
from .backend_pairs import BINARY, UNARY

# map and zip compute the same IEEE operations per element as simple (in float64, then
# rounded to the output dtype). reduce folds as a tree, not left to right, so sums
# reassociate; matmul's tiles reassociate the k-sum and float32 accumulates in float32.
TOL = {"float64": 1e-12, "float32": 1e-6}
REDUCE_TOL = {"float64": 1e-12, "float32": 1e-5}
MATMUL_TOL = {"float64": 1e-10, "float32": 1e-4}

ON_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


@pytest.fixture(autouse=True, scope="module")
def quick_simulator_thread_switching() -> Iterator[None]:
    """The simulator's block manager busy-polls its threads while holding the GIL; switching
    threads every 0.1 ms instead of 5 ms lets the polled threads run (3-5x faster here)."""
    if not ON_SIMULATOR:
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


def pair(shape, seed, dtype="float64", positive=False, permute=None):
    """The same random values on `simple` and `cuda`."""
    return backend_pairs.pair(shape, seed, "cuda", dtype, positive, permute)


def assert_same(simple: minitorch.Tensor, cuda: minitorch.Tensor, tol: float) -> None:
    backend_pairs.assert_same(simple, cuda, tol, backend="cuda")


# ## Task 3.3 — map, zip, reduce


@pytest.mark.task3_3
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "permute,name",  # a contiguous tensor's contiguous() is itself: that case runs no kernel
    [(permute, name) for permute in (None, (2, 0, 1)) for name in UNARY if permute or name != "contiguous"],
)
def test_map_matches_simple(name: str, dtype: str, permute) -> None:
    simple, cuda = pair((3, 4, 5), seed=1, dtype=dtype, positive=True, permute=permute)
    assert_same(UNARY[name](simple), UNARY[name](cuda), TOL[dtype])


@pytest.mark.task3_3
def test_map_over_more_elements_than_one_block() -> None:
    """300 elements need two blocks of 256 threads; the last 212 threads have nothing to do."""
    simple, cuda = pair((300,), seed=11)
    assert_same(simple.relu(), cuda.relu(), TOL["float64"])


@pytest.mark.task3_3
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((4,), (2, 1, 4))])
def test_zip_matches_simple_with_broadcasting(name: str, dtype: str, shapes) -> None:
    a_simple, a_cuda = pair(shapes[0], seed=2, dtype=dtype, positive=True)
    b_simple, b_cuda = pair(shapes[1], seed=3, dtype=dtype, positive=True)
    assert_same(BINARY[name](a_simple, b_simple), BINARY[name](a_cuda, b_cuda), TOL[dtype])


@pytest.mark.task3_3
def test_zip_on_permuted_inputs_and_mixed_dtypes() -> None:
    a_simple, a_cuda = pair((4, 3), seed=4, permute=(1, 0))
    b_simple, b_cuda = pair((3, 4), seed=5, dtype="float32")
    assert_same(a_simple * b_simple, a_cuda * b_cuda, TOL["float64"])


@pytest.mark.task3_3
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim", [0, 1, 2])
@pytest.mark.parametrize("permute", [None, (1, 2, 0)])
def test_reductions_match_simple(dim: int, dtype: str, permute) -> None:
    simple, cuda = pair((3, 4, 5), seed=6, dtype=dtype, permute=permute)
    assert_same(simple.sum(dim), cuda.sum(dim), REDUCE_TOL[dtype])
    assert_same(simple.max(dim).values, cuda.max(dim).values, 0.0)


@pytest.mark.task3_3
def test_mean_and_product_reductions() -> None:
    simple, cuda = pair((2, 3), seed=12, positive=True)
    assert_same(simple.mean(1, keepdim=True), cuda.mean(1, keepdim=True), REDUCE_TOL["float64"])
    # No Tensor method multiplies along a dim; the backend's product kernel is used directly.
    assert_same(run_reduce("prod", simple, 0), run_reduce("prod", cuda, 0), REDUCE_TOL["float64"])


@pytest.mark.task3_3
def test_reduce_a_dimension_longer_than_a_block() -> None:
    """300 values, 256 threads: threads stride over the dimension, then fold as a tree."""
    simple, cuda = pair((300,), seed=13)
    assert_same(simple.sum(0), cuda.sum(0), REDUCE_TOL["float64"])
    assert_same(simple.max(0).values, cuda.max(0).values, 0.0)


@pytest.mark.task3_3
def test_gradients_match_simple() -> None:
    grads = []
    for backend in ("simple", "cuda"):
        x = minitorch.tensor(np.linspace(-1, 1, 12).reshape(3, 4), backend=backend, requires_grad=True)
        w = minitorch.tensor(np.linspace(0.5, 1.5, 4), backend=backend, requires_grad=True)
        loss = ((x * w).sigmoid().log() - x.relu() * 2.0).max(1).values.sum()
        loss.backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


# ## Task 3.4 — matmul


@pytest.mark.task3_4
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shapes",
    [
        ((5, 7), (7, 3)),  # 2-D, smaller than one tile
        ((2, 4, 5), (2, 5, 3)),  # batched: the grid's z dimension
        ((2, 4, 5), (5, 3)),  # b shared by every batch
        ((1, 4, 5), (3, 5, 2)),  # a shared by every batch
        ((3,), (3, 4)),  # a vector
        ((17, 33), (33, 9)),  # 2 x 1 tiles of output, 3 tiles along k, ragged edges
    ],
)
def test_matmul_matches_simple(shapes, dtype: str) -> None:
    a_simple, a_cuda = pair(shapes[0], seed=7, dtype=dtype)
    b_simple, b_cuda = pair(shapes[1], seed=8, dtype=dtype)
    product = a_cuda @ b_cuda
    assert_same(a_simple @ b_simple, product, MATMUL_TOL[dtype])
    np.testing.assert_allclose(
        product.numpy(), a_cuda.numpy() @ b_cuda.numpy(), rtol=MATMUL_TOL[dtype], atol=MATMUL_TOL[dtype]
    )


@pytest.mark.task3_4
def test_matmul_on_transposed_operands_and_gradients() -> None:
    a_simple, a_cuda = pair((5, 4), seed=9, permute=(1, 0))
    b_simple, b_cuda = pair((6, 5), seed=10, permute=(1, 0))
    assert_same(a_simple @ b_simple, a_cuda @ b_cuda, MATMUL_TOL["float64"])
    grads = []
    for backend in ("simple", "cuda"):
        x = minitorch.tensor(np.linspace(-1, 1, 6).reshape(2, 3), backend=backend, requires_grad=True)
        y = minitorch.tensor(np.linspace(0, 2, 12).reshape(3, 4), backend=backend, requires_grad=True)
        (x @ y).sigmoid().sum().backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=MATMUL_TOL["float64"])
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=MATMUL_TOL["float64"])


# ## Errors


def test_mixing_backends_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="different backends.*'simple'.*'cuda'"):
        minitorch.zeros((2,), backend="simple") + minitorch.zeros((2,), backend="cuda")


def test_a_function_without_a_kernel_is_a_clear_error() -> None:
    from minitorch.backends.cuda import CudaKernels

    def halve(x: float) -> float:
        return x / 2

    with pytest.raises(ValueError, match="cuda backend: no compiled kernel for 'halve'"):
        CudaKernels.map(halve)


def test_without_gpu_or_simulator_the_backend_says_what_is_missing() -> None:
    """A fresh process with the simulator off and no GPU visible gets a clear RuntimeError."""
    script = textwrap.dedent(
        """
        import minitorch
        from numba import cuda
        if cuda.is_available():
            print("GPU-VISIBLE")
        else:
            try:
                minitorch.tensor([1.0], backend="cuda")
            except RuntimeError as err:
                print(err)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["CUDA_VISIBLE_DEVICES"] = ""  # hide a real GPU too, where there is one
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    if "GPU-VISIBLE" in result.stdout:
        pytest.skip("a GPU stays visible even with CUDA_VISIBLE_DEVICES empty")
    assert "backend 'cuda' is not available: no CUDA GPU was found" in result.stdout
    assert "set NUMBA_ENABLE_CUDASIM=1" in result.stdout
