"""Convolution and pooling on random shapes, strides, paddings and dilations, against PyTorch.

Values and gradients (of a weighted sum of the output) on `simple` and `fast`, in float64, with
groups = 1 and with 2 or 3 groups (depthwise, groups = in_channels, half of the time);
forward values on `cuda` (the simulator: tiny shapes, few examples), by both of its forward
conv algorithms (implicit GEMM and unfold + matmul). The inputs are permuted
half of the time, so non-contiguous layouts are covered too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch import conv

TOL = 1e-9


@st.composite
def conv_cases(draw: st.DrawFn, dims: int, small: bool = False, grouped: bool = False) -> dict:
    """Shapes that give at least one output position, and the geometry that produced them.
    `grouped`: 2 or 3 groups, each of 1 (depthwise) or 2 input channels and 1 or 2 outputs."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    groups = draw(st.integers(2, 3)) if grouped else 1
    if grouped:
        c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, (k - 1) * d)) for k, d in zip(kernel, dilation))
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(draw(st.integers(max(1, r - 2 * p), r + (2 if small else 4))) for r, p in zip(reach, padding))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return {
        "x": rng.normal(size=(n, c, *size)),
        "w": rng.normal(size=(o, c // groups, *kernel)),
        "b": rng.normal(size=(o,)),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "permute": draw(st.booleans()),
    }


class Input:
    """A leaf holding `values`, and the tensor the op reads: with `permute`, a non-contiguous
    view of a leaf that stores them with the last two axes swapped."""

    def __init__(self, values: np.ndarray, backend: str, permute: bool) -> None:
        self.order = list(range(values.ndim))
        if permute:
            self.order[-1], self.order[-2] = self.order[-2], self.order[-1]
        stored = np.ascontiguousarray(values.transpose(self.order))
        self.leaf = minitorch.tensor(stored, backend=backend, requires_grad=True)
        self.tensor = self.leaf.permute(*self.order) if permute else self.leaf

    def grad(self) -> np.ndarray:
        """d/d(values): the leaf's gradient, axes swapped back (the swap is its own inverse)."""
        return self.leaf.grad.numpy().transpose(self.order)


def _compare_conv(case: dict, backend: str, dims: int, backward: bool) -> None:
    functional = conv.conv1d if dims == 1 else conv.conv2d
    reference = torch.nn.functional.conv1d if dims == 1 else torch.nn.functional.conv2d
    geometry = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    xt, wt, bt = (torch.tensor(case[k], requires_grad=True) for k in ("x", "w", "b"))
    expected = reference(xt, wt, bt, **geometry)
    x = Input(case["x"], backend, case["permute"])
    w, b = (minitorch.tensor(case[k], backend=backend, requires_grad=True) for k in ("w", "b"))
    got = functional(x.tensor, w, b, **geometry)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=TOL, atol=TOL)
    if not backward:
        return
    weights = np.random.default_rng(1).normal(size=expected.shape)
    (expected * torch.tensor(weights)).sum().backward()
    (got * minitorch.tensor(weights, backend=backend)).sum().backward()
    np.testing.assert_allclose(x.grad(), xt.grad.numpy(), rtol=TOL, atol=TOL)
    for mine, theirs in ((w, wt), (b, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("backend", ["simple", "fast"])
@pytest.mark.parametrize("dims", [1, 2])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_conv_matches_pytorch_values_and_gradients(backend: str, dims: int, data: st.DataObject) -> None:
    _compare_conv(data.draw(conv_cases(dims)), backend, dims, backward=True)


@pytest.mark.parametrize("backend", ["simple", "fast"])
@pytest.mark.parametrize("dims", [1, 2])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_grouped_conv_matches_pytorch_values_and_gradients(backend: str, dims: int, data: st.DataObject) -> None:
    _compare_conv(data.draw(conv_cases(dims, grouped=True)), backend, dims, backward=True)


@pytest.mark.parametrize("algorithm", ["implicit_gemm", "im2col"])
@pytest.mark.parametrize("dims", [1, 2])
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_conv_forward_on_cuda_matches_pytorch(algorithm: str, dims: int, data: st.DataObject) -> None:
    from minitorch.backends.cuda import CudaKernels

    grouped = data.draw(st.booleans())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CudaKernels, "conv_algorithm", algorithm)
        _compare_conv(data.draw(conv_cases(dims, small=True, grouped=grouped)), "cuda", dims, backward=False)


@st.composite
def pool_cases(draw: st.DrawFn, dims: int) -> dict:
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # PyTorch: at most half the kernel
    size = tuple(draw(st.integers(max(1, k - 2 * p), k + 4)) for k, p in zip(kernel, padding))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.normal(size=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size))
    return {"x": x, "kernel": kernel, "stride": stride, "padding": padding, "permute": draw(st.booleans())}


POOLS = {
    ("max", 1): (conv.max_pool1d, torch.nn.functional.max_pool1d),
    ("max", 2): (conv.max_pool2d, torch.nn.functional.max_pool2d),
    ("avg", 1): (conv.avg_pool1d, torch.nn.functional.avg_pool1d),
    ("avg", 2): (conv.avg_pool2d, torch.nn.functional.avg_pool2d),
}


@pytest.mark.parametrize("backend", ["simple", "fast"])
@pytest.mark.parametrize("pool", list(POOLS), ids=lambda p: f"{p[0]}{p[1]}d")
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_pool_matches_pytorch_values_and_gradients(backend: str, pool: tuple[str, int], data: st.DataObject) -> None:
    case = data.draw(pool_cases(pool[1]))
    mine, theirs = POOLS[pool]
    geometry = (case["kernel"], case["stride"], case["padding"])
    xt = torch.tensor(case["x"], requires_grad=True)
    expected = theirs(xt, *geometry)
    x = Input(case["x"], backend, case["permute"])
    got = mine(x.tensor, *geometry)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=TOL, atol=TOL)
    weights = np.random.default_rng(2).normal(size=expected.shape)  # distinct: no ties in max's gradient
    (expected * torch.tensor(weights)).sum().backward()
    (got * minitorch.tensor(weights, backend=backend)).sum().backward()
    np.testing.assert_allclose(x.grad(), xt.grad.numpy(), rtol=TOL, atol=TOL)
