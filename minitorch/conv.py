"""Module 4 — convolution and pooling: differentiable ops, their functional API and layers.

Layouts and results are PyTorch's: inputs (N, C, L) or (N, C, H, W), weights (O, C, *kernel),
`conv2d(x, w, b, stride, padding, dilation, groups)` a cross-correlation. Everything rests on one
building block, `unfold` (im2col): each window of the input becomes a column, so

    conv(x, W) = W.view(O, C*K) @ unfold(x)          (one matmul; K = kernel elements)
    max_pool(x) = max over each column, avg_pool(x) = mean over each column

and the backward of unfold is `fold` (col2im): columns added back into the image. With g
groups the channels split into g independent convolutions: view the columns as (N, g, C*K/g, L)
and the weight as (g, O/g, C*K/g), and the one matmul is g of them, batched. The
backward rules below are ordinary Tensor code over unfold, fold and matmul, so graph mode
traces and differentiates them like any other op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .autodiff import Context
from .module import Module, Parameter
from .tensor import Tensor, tensor
from .tensor_data import ShapeError, get_default_dtype
from .tensor_functions import Function, run_zip

IntOrTuple = int | tuple[int, ...]


def _tuple(value: IntOrTuple, dims: int, name: str) -> tuple[int, ...]:
    """`value` once per spatial dim: 3 -> (3, 3) for 2-D; a tuple must have `dims` entries."""
    values = (int(value),) * dims if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != dims:
        raise ShapeError(f"{name}: expected an int or a tuple of {dims}, got {value!r}")
    return values


def _spatial(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape[2:])


# ## Task 4.2 — the differentiable ops: unfold, fold and convolution


class Unfold(Function):
    """im2col: (N, C, *size) -> (N, C*K, L);  backward: `fold` of the gradient (its adjoint)."""

    @staticmethod
    def forward(ctx: Context, x: Tensor, kernel: Any, stride: Any, padding: Any, dilation: Any, fill: float) -> Tensor:
        ctx.save_for_backward(_spatial(x), kernel, stride, padding, dilation)
        return x._new(x.backend.unfold(x._tensor, kernel, stride, padding, dilation, fill))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        size, kernel, stride, padding, dilation = ctx.saved_values
        return Fold.apply(grad_output, size=size, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


class Fold(Function):
    """col2im: (N, C*K, L) -> (N, C, *size), overlapping windows summed;  backward: `unfold`."""

    @staticmethod
    def forward(ctx: Context, cols: Tensor, size: Any, kernel: Any, stride: Any, padding: Any, dilation: Any) -> Tensor:
        ctx.save_for_backward(kernel, stride, padding, dilation)
        return cols._new(cols.backend.fold(cols._tensor, size, kernel, stride, padding, dilation))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        kernel, stride, padding, dilation = ctx.saved_values
        return Unfold.apply(grad_output, kernel=kernel, stride=stride, padding=padding, dilation=dilation, fill=0.0)


class Conv(Function):
    """$y_{n,o} = \\sum_{c,k} W_{o,c,k}\\, x_{n,c,\\text{window}+k}$, i.e. $Y = W \\cdot \\text{unfold}(x)$.

    With $G$ = dL/dY viewed as (N, O, L):  $\\partial W = \\sum_n G_n\\, \\text{unfold}(x)_n^T$
    and $\\partial x = \\text{fold}(W^T G)$: the gradient columns added back into the image.

    `groups` g splits the channels into g independent convolutions: output channels block j
    (O/g of them) reads only input channels block j (C/g; the weight is (O, C/g, *kernel)).
    The rules above then hold per group: view dL/dY as (N, g, O/g, L), unfold(x) as
    (N, g, C/g*K, L) and W as (g, O/g, C/g*K), and the matmuls batch over the groups.

    Forward gets `stride`, `padding`, `dilation` as tuples (one per spatial dim), `groups` as
    an int and no bias (`conv1d`/`conv2d` add it and check shapes); `backend.conv` takes the
    same arguments. Backward returns `(grad_x, grad_w)` with the shapes of `x` and `weight`,
    None for a constant input; the tests compare values to 1e-10 and gradients to a numerical
    gradient (1e-6), 1-D and 2-D, with stride, padding, dilation, and groups 2 and C (depthwise).
    """

    @staticmethod
    def forward(
        ctx: Context, x: Tensor, weight: Tensor, stride: Any, padding: Any, dilation: Any, groups: int
    ) -> Tensor:
        # BEGIN ASSIGN4_2
        ctx.save_for_backward(x, weight, stride, padding, dilation, groups)
        return x._new(x.backend.conv(x._tensor, weight._tensor, stride, padding, dilation, groups))
        # END ASSIGN4_2

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor | None, Tensor | None]:
        # BEGIN ASSIGN4_2
        x, weight, stride, padding, dilation, groups = ctx.saved_values
        kernel, n = tuple(weight.shape[2:]), x.shape[0]
        grad = grad_output.contiguous().view(n, groups, weight.shape[0] // groups, -1)  # (N, g, O/g, L)
        grad_x = grad_w = None
        if not weight.is_constant():
            cols = Unfold.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, fill=0.0)
            cols = cols.view(n, groups, -1, grad.shape[3])  # (N, g, C/g*K, L)
            grad_w = (grad @ cols.mT).sum(0).view(weight.shape)
        if not x.is_constant():
            flat_w = weight.contiguous().view(groups, weight.shape[0] // groups, -1)  # (g, O/g, C/g*K)
            grad_cols = (flat_w.mT @ grad).view(n, -1, grad.shape[3])  # (N, C*K, L)
            grad_x = Fold.apply(
                grad_cols, size=_spatial(x), kernel=kernel, stride=stride, padding=padding, dilation=dilation
            )
        return grad_x, grad_w
        # END ASSIGN4_2


# ## Task 4.3 — pooling


class MaxPool(Function):
    """$y = \\max$ of each window;  the gradient goes to the window's maximum.

    Ties split the gradient equally among the maxima (as `max` does); PyTorch sends it all to
    the first one. The two agree whenever each window has one maximum.
    Padding is $-\\infty$ (never a maximum, gets no gradient); where windows overlap, an element
    that is the maximum of several windows gets the sum of their gradients ([0, 2, 0, ...]).
    """

    @staticmethod
    def forward(ctx: Context, x: Tensor, kernel: Any, stride: Any, padding: Any) -> Tensor:
        # BEGIN ASSIGN4_3
        out = x._new(x.backend.pool("max", x._tensor, kernel, stride, padding))
        ctx.save_for_backward(x, out, kernel, stride, padding)
        return out
        # END ASSIGN4_3

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN4_3
        x, out, kernel, stride, padding = ctx.saved_values
        n, c, window = x.shape[0], x.shape[1], math.prod(kernel)
        ones = (1,) * len(kernel)
        cols = Unfold.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=ones, fill=-math.inf)
        cols = cols.view(n, c, window, -1)
        is_max = run_zip("eq", cols, out.contiguous().view(n, c, 1, -1))  # (N, C, K, L), 1 at the maxima
        share = is_max / is_max.sum(2, keepdim=True)
        grad_cols = (share * grad_output.contiguous().view(n, c, 1, -1)).view(n, c * window, -1)
        return Fold.apply(grad_cols, size=_spatial(x), kernel=kernel, stride=stride, padding=padding, dilation=ones)
        # END ASSIGN4_3


class AvgPool(Function):
    """$y$ = mean of each window (padding counts as zeros);  each input in a window gets $1/K$
    of its gradient.

    $K$ is the full window size, padding included (PyTorch's `count_include_pad=True`): for
    [1, 5, 2, ...] with kernel 3, stride 2, padding 1 the first output is (0 + 1 + 5)/3 = 2.
    Gradients of overlapping windows add up; padding positions get none.
    """

    @staticmethod
    def forward(ctx: Context, x: Tensor, kernel: Any, stride: Any, padding: Any) -> Tensor:
        # BEGIN ASSIGN4_3
        ctx.save_for_backward(x.shape, kernel, stride, padding)
        return x._new(x.backend.pool("avg", x._tensor, kernel, stride, padding))
        # END ASSIGN4_3

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        # BEGIN ASSIGN4_3
        shape, kernel, stride, padding = ctx.saved_values
        n, c, window = shape[0], shape[1], math.prod(kernel)
        per_element = grad_output.contiguous().view(n, c, 1, -1) / float(window)
        spread = (per_element + grad_output.zeros((n, c, window, per_element.shape[3]))).view(n, c * window, -1)
        ones = (1,) * len(kernel)
        return Fold.apply(spread, size=shape[2:], kernel=kernel, stride=stride, padding=padding, dilation=ones)
        # END ASSIGN4_3


# ## The functional API (PyTorch's names and signatures)


def _check_input(x: Tensor, dims: int, name: str) -> None:
    if x.dims != dims + 2:
        layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ShapeError(f"{name}: expected a {dims + 2}-D input {layout}, got shape {x.shape}")


def _check_groups(name: str, groups: Any, in_channels: int, out_channels: int) -> None:
    """PyTorch's rule: `groups` is a positive int dividing both channel counts."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
    for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{name}: {what} ({channels}) must be divisible by groups ({groups})")


def _conv(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any, dims: int, groups: int
) -> Tensor:
    name = f"conv{dims}d"
    _check_input(x, dims, name)
    _check_groups(name, groups, x.shape[1], weight.shape[0] if weight.dims else 0)
    if weight.dims != dims + 2 or weight.shape[1] * groups != x.shape[1]:
        raise ShapeError(
            f"{name}: weight of shape {weight.shape} does not fit input {x.shape} "
            f"(needs (O, {x.shape[1]}/groups = {x.shape[1] // groups}, *kernel) for groups={groups})"
        )
    geometry = {
        key: _tuple(v, dims, name) for key, v in (("stride", stride), ("padding", padding), ("dilation", dilation))
    }
    out = Conv.apply(x, weight, groups=groups, **geometry)
    return out if bias is None else out + bias.view(bias.shape[0], *((1,) * dims))


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation: x (N, C, L), weight (O, C/groups, k), bias (O,) -> (N, O, L_out)."""
    return _conv(x, weight, bias, stride, padding, dilation, 1, groups)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation: x (N, C, H, W), weight (O, C/g, kh, kw), bias (O,) -> (N, O, H_out, W_out).

    $y[n, o, p, q] = b[o] + \\sum_{c, i, j} W[o, c, i, j]\\, x[n, c_0 + c, p s_h - p_h + i d_h, q s_w - p_w + j d_w]$
    where the sum runs over the C/g channels of o's group: $c_0 = \\lfloor o / (O/g) \\rfloor \\cdot C/g$
    (g = `groups`; g = C is a depthwise convolution: each channel filtered on its own).
    """
    return _conv(x, weight, bias, stride, padding, dilation, 2, groups)


def _pool(cls: type[Function], x: Tensor, kernel_size: Any, stride: Any, padding: Any, dims: int, name: str) -> Tensor:
    _check_input(x, dims, name)
    kernel = _tuple(kernel_size, dims, name)
    strides = kernel if stride is None else _tuple(stride, dims, name)
    pads = _tuple(padding, dims, name)
    if any(2 * p > k for p, k in zip(pads, kernel)):  # PyTorch's rule: no window entirely padding
        raise ValueError(f"{name}: padding {pads} should be at most half of kernel size {kernel}")
    return cls.apply(x, kernel=kernel, stride=strides, padding=pads)


def max_pool1d(x: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> Tensor:
    """Max over windows of (N, C, L); stride defaults to the kernel size."""
    return _pool(MaxPool, x, kernel_size, stride, padding, 1, "max_pool1d")


def max_pool2d(x: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> Tensor:
    """Max over windows of (N, C, H, W); stride defaults to the kernel size."""
    return _pool(MaxPool, x, kernel_size, stride, padding, 2, "max_pool2d")


def avg_pool1d(x: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> Tensor:
    """Mean over windows of (N, C, L) (padding counted, PyTorch's count_include_pad=True)."""
    return _pool(AvgPool, x, kernel_size, stride, padding, 1, "avg_pool1d")


def avg_pool2d(x: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> Tensor:
    """Mean over windows of (N, C, H, W) (padding counted, PyTorch's count_include_pad=True)."""
    return _pool(AvgPool, x, kernel_size, stride, padding, 2, "avg_pool2d")


def unfold(
    x: Tensor, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, padding: IntOrTuple = 0, stride: IntOrTuple = 1
) -> Tensor:
    """im2col, PyTorch's `F.unfold`: (N, C, *size) -> (N, C*K, L), a column per window."""
    dims = x.dims - 2
    geometry = {
        k: _tuple(v, dims, "unfold")
        for k, v in (("kernel", kernel_size), ("stride", stride), ("padding", padding), ("dilation", dilation))
    }
    return Unfold.apply(x, fill=0.0, **geometry)


def fold(
    cols: Tensor,
    output_size: IntOrTuple,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> Tensor:
    """col2im, PyTorch's `F.fold`: (N, C*K, L) -> (N, C, *output_size), overlaps summed."""
    dims = 1 if isinstance(output_size, int) else len(output_size)
    geometry = {
        k: _tuple(v, dims, "fold")
        for k, v in (
            ("size", output_size),
            ("kernel", kernel_size),
            ("stride", stride),
            ("padding", padding),
            ("dilation", dilation),
        )
    }
    return Fold.apply(cols, **geometry)


im2col = unfold


# ## Task 4.5 — layers


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...], backend: Any, dtype: Any) -> Parameter:
    return Parameter(
        tensor(rng.uniform(-bound, bound, size=shape), backend=backend, dtype=dtype or get_default_dtype())
    )


class _ConvNd(Module):
    """Weight (O, C/g, *kernel) and bias (O,), initialised as PyTorch does: kaiming-uniform with
    a = sqrt(5), which comes to uniform in $\\pm 1/\\sqrt{\\text{fan\\_in}}$, fan_in = C/g * K.

    `__init__` (Task 4.5) sets `self.weight` (O, C/g, *kernel) and `self.bias` (O,) as Parameters
    (bias None when `bias=False`) on the given backend and dtype (float64 by default), g being
    `groups` (1 unless given). Random numbers come from `seed` itself when it is a
    `numpy.random.Generator`, else `numpy.random.default_rng(seed)`;
    the weight is drawn first, then the bias, both $U(-b, b)$ with $b = 1/\\sqrt{(C/g) \\prod k}$.
    """

    dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        backend: Any = None,
        dtype: Any = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        name = type(self).__name__
        self.kernel_size = _tuple(kernel_size, self.dims, name)
        self.stride, self.padding = _tuple(stride, self.dims, name), _tuple(padding, self.dims, name)
        self.dilation = _tuple(dilation, self.dims, name)
        _check_groups(name, groups, in_channels, out_channels)
        self.groups = groups
        # BEGIN ASSIGN4_5
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = _uniform(rng, bound, shape, backend, dtype)
        self.bias = _uniform(rng, bound, (out_channels,), backend, dtype) if bias else None
        # END ASSIGN4_5

    def forward(self, x: Tensor) -> Tensor:
        # The attributes, not `.value`: while graph mode traces, they hold placeholder tensors.
        return _conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.dims, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C, L)."""

    dims = 1


class Conv2d(_ConvNd):
    """2-D convolution layer over (N, C, H, W)."""

    dims = 2


class _PoolNd(Module):
    dims = 2
    function: Any = None

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = (
            kernel_size,
            stride if stride is not None else kernel_size,
            padding,
        )

    def forward(self, x: Tensor) -> Tensor:
        return type(self).function(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MaxPool1d(_PoolNd):
    """Max pooling over (N, C, L)."""

    function = staticmethod(max_pool1d)


class MaxPool2d(_PoolNd):
    """Max pooling over (N, C, H, W)."""

    function = staticmethod(max_pool2d)


class AvgPool1d(_PoolNd):
    """Average pooling over (N, C, L)."""

    function = staticmethod(avg_pool1d)


class AvgPool2d(_PoolNd):
    """Average pooling over (N, C, H, W)."""

    function = staticmethod(avg_pool2d)
