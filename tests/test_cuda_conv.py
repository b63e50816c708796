"""Task 4.6: the cuda backend's implicit-GEMM conv kernel against PyTorch.

Forward conv on `cuda` runs `conv_kernel` (minitorch/backends/cuda.py): the tiled matmul of
task 3.4 with the unfolded matrix gathered from the image tile by tile. On the simulator every
GPU thread is a Python thread, so the shapes stay within a few TILE x TILE blocks; they are
chosen not to be multiples of the tile (out channels, positions and the inner C/g*K all
stop mid-tile) and the inner dimension spans two k-tiles in three of the five cases.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import minitorch
from minitorch import conv
from minitorch.backends import cuda as cuda_kernels

TOL = {"float64": 1e-12, "float32": 1e-5}

# name: x shape, weight shape, stride, padding, dilation, groups, bias, dtype
CASES = {
    "2d-stride2-pad1-bias": ((2, 3, 5, 5), (5, 3, 3, 3), 2, 1, 1, 1, True, "float64"),
    "2d-dilation2-no-bias-f32": ((1, 2, 7, 6), (3, 2, 2, 3), 1, (1, 0), 2, 1, False, "float32"),
    "2d-groups2-stride(1,2)": ((2, 4, 4, 5), (6, 2, 3, 3), (1, 2), 1, 1, 2, True, "float64"),
    "1d-stride2-pad2-dilation2": ((2, 6, 19), (4, 6, 3), 2, 2, 2, 1, True, "float64"),
    "1d-depthwise-f32": ((2, 3, 11), (3, 1, 5), 1, 2, 1, 3, False, "float32"),
}


@pytest.fixture(autouse=True, scope="module")
def quick_simulator_thread_switching() -> Iterator[None]:
    """As in test_cuda_backend: the simulator's threads poll, switching often runs them sooner."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def conv_launches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The output shapes the conv kernel was called for; unfold and matmul are made to fail,
    so a forward conv that still went through im2col + GEMM cannot pass."""
    launches: list[tuple[int, ...]] = []
    direct = cuda_kernels.CudaKernels.conv

    def spy(out, a, a_shape, *rest) -> None:
        launches.append(tuple(int(s) for s in a_shape))
        direct(out, a, a_shape, *rest)

    def refuse(*args: object) -> None:
        raise AssertionError("forward conv on cuda ran unfold or matmul, not the implicit-GEMM kernel")

    monkeypatch.setattr(cuda_kernels.CudaKernels, "conv", staticmethod(spy))
    monkeypatch.setattr(cuda_kernels.CudaKernels, "unfold", staticmethod(refuse))
    monkeypatch.setattr(cuda_kernels.CudaKernels, "matmul", staticmethod(refuse))
    return launches


@pytest.mark.task4_6
@pytest.mark.parametrize("name", sorted(CASES))
def test_conv_kernel_matches_pytorch(name: str, conv_launches: list[tuple[int, ...]]) -> None:
    x_shape, w_shape, stride, padding, dilation, groups, with_bias, dtype = CASES[name]
    rng = np.random.default_rng(len(name))
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    geometry = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    reference = torch.nn.functional.conv1d if len(x_shape) == 3 else torch.nn.functional.conv2d
    torch_dtype = getattr(torch, dtype)
    expected = reference(
        torch.tensor(x, dtype=torch_dtype),
        torch.tensor(w, dtype=torch_dtype),
        torch.tensor(b, dtype=torch_dtype) if with_bias else None,
        **geometry,
    ).numpy()
    functional = conv.conv1d if len(x_shape) == 3 else conv.conv2d
    on_cuda = [minitorch.tensor(v, backend="cuda", dtype=dtype) for v in (x, w, b)]
    got = functional(on_cuda[0], on_cuda[1], on_cuda[2] if with_bias else None, **geometry)
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=TOL[dtype], atol=TOL[dtype])
    assert conv_launches == [(x_shape[0], x_shape[1], *((1,) if len(x_shape) == 3 else ()), *x_shape[2:])]


@pytest.mark.task4_6
def test_conv_kernel_reads_permuted_inputs() -> None:
    """A transposed image and weight are made contiguous before the kernel reads them flat."""
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(1, 2, 6, 5)), rng.normal(size=(3, 2, 2, 3))
    xt = minitorch.tensor(np.ascontiguousarray(x.transpose(0, 1, 3, 2)), backend="cuda").permute(0, 1, 3, 2)
    wt = minitorch.tensor(np.ascontiguousarray(w.transpose(0, 1, 3, 2)), backend="cuda").permute(0, 1, 3, 2)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(conv.conv2d(xt, wt, padding=1).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.task4_6
def test_grouped_conv_backward_on_cuda_matches_pytorch() -> None:
    """Backward stays unfold/fold + matmul (batched over the groups) on cuda."""
    rng = np.random.default_rng(8)
    x, w, g = rng.normal(size=(1, 2, 3, 4)), rng.normal(size=(4, 1, 2, 2)), rng.normal(size=(1, 4, 2, 3))
    xt, wt = (torch.tensor(v, requires_grad=True) for v in (x, w))
    (torch.nn.functional.conv2d(xt, wt, groups=2) * torch.tensor(g)).sum().backward()
    xm, wm = (minitorch.tensor(v, backend="cuda", requires_grad=True) for v in (x, w))
    (conv.conv2d(xm, wm, groups=2) * minitorch.tensor(g, backend="cuda")).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_launch_covers_the_output_in_tiles() -> None:
    """Given code: the launch configuration, and the algorithm setting's default."""
    assert cuda_kernels.CudaKernels.conv_algorithm == "implicit_gemm"
    tile = cuda_kernels.TILE
    assert cuda_kernels.conv_launch(6, tile + 1, 2 * tile + 3) == ((3, 2, 6), (tile, tile))
    with pytest.raises(ValueError, match="cuda conv: batch times groups is 70000"):
        cuda_kernels.conv_launch(70000, 1, 1)
