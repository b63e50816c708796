"""Module 4: convolution and pooling against numpy oracles written independently of minitorch.

The semantics are PyTorch's (written as these oracles, independent of torch; groups are
checked against torch itself): `conv2d` is a cross-correlation over (N, C, H, W) with weights (O, C, kh, kw);
output size `(n + 2p - d(k-1) - 1) // s + 1`; `avg_pool` counts padding as zeros
(count_include_pad=True); `max_pool` pads with -inf; `F.unfold` gives (N, C*kh*kw, L) with row
`(c*kh + i)*kw + j`. Gradients are checked against central differences of the oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch import conv

# ## Oracles: sliding_window_view + einsum for conv and pooling, explicit loops for unfold


def pad(x: np.ndarray, padding: tuple[int, ...], value: float = 0.0) -> np.ndarray:
    widths = [(0, 0), (0, 0)] + [(p, p) for p in padding]
    return np.pad(x, widths, constant_values=value)


def windows(x: np.ndarray, kernel, stride, padding, dilation, value: float = 0.0) -> np.ndarray:
    """(N, C, *out, *kernel): every window of the padded input, taken by numpy."""
    dims = len(kernel)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = np.lib.stride_tricks.sliding_window_view(pad(x, padding, value), span, axis=tuple(range(2, 2 + dims)))
    view = view[(...,) + tuple(slice(None, None, d) for d in dilation)]  # dilation: every d-th element
    return view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def conv_oracle(x, w, b, stride, padding, dilation) -> np.ndarray:
    win = windows(x, w.shape[2:], stride, padding, dilation)
    out = np.einsum("nchwij,ocij->nohw", win, w) if w.ndim == 4 else np.einsum("nclk,ock->nol", win, w)
    return out if b is None else out + b.reshape((1, -1) + (1,) * (w.ndim - 2))


def pool_oracle(kind: str, x, kernel, stride, padding) -> np.ndarray:
    fill = -np.inf if kind == "max" else 0.0
    win = windows(x, kernel, stride, padding, (1,) * len(kernel), fill)
    axes = tuple(range(-len(kernel), 0))
    return win.max(axis=axes) if kind == "max" else win.mean(axis=axes)


def unfold_oracle(x, kernel, stride, padding) -> np.ndarray:
    """PyTorch's F.unfold (2-D) from numpy's sliding windows: (N, C*kh*kw, positions)."""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw) = kernel, stride
    views = np.lib.stride_tricks.sliding_window_view(pad(x, padding), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    oh, ow = views.shape[2:4]  # views[n, c, y, x, i, j] = padded x[n, c, y*sh + i, x*sw + j]
    return views.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f at x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def t(values: np.ndarray, backend: str = "simple", grad: bool = True) -> minitorch.Tensor:
    return minitorch.tensor(values, backend=backend, requires_grad=grad)


CONV2D_CASES = [  # x shape, w shape, stride, padding, dilation
    ((2, 3, 6, 5), (4, 3, 3, 2), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 7, 7), (3, 2, 3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 1, 8, 6), (2, 1, 2, 3), (1, 2), (2, 0), (2, 1)),
]


# ## Task 4.1: unfold and fold on the simple backend


@pytest.mark.task4_1
@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [((2, 3, 5, 4), (2, 3), (1, 1), (0, 1)), ((1, 2, 6, 6), (3, 3), (2, 2), (1, 1))],
)
def test_unfold_matches_pytorch_layout(shape, kernel, stride, padding) -> None:
    x = np.random.default_rng(0).normal(size=shape)
    got = conv.unfold(t(x, grad=False), kernel, padding=padding, stride=stride).numpy()
    np.testing.assert_allclose(got, unfold_oracle(x, kernel, stride, padding), atol=1e-12)


@pytest.mark.task4_1
def test_fold_is_the_adjoint_of_unfold() -> None:
    """<unfold(x), c> = <x, fold(c)> for every x and c: fold adds back where unfold read."""
    rng = np.random.default_rng(1)
    x, kernel, stride, padding = rng.normal(size=(2, 3, 6, 5)), (3, 2), (2, 1), (1, 1)
    cols = conv.unfold(t(x, grad=False), kernel, padding=padding, stride=stride)
    c = rng.normal(size=cols.shape)
    folded = conv.fold(t(c, grad=False), (6, 5), kernel, padding=padding, stride=stride).numpy()
    assert np.isclose((cols.numpy() * c).sum(), (x * folded).sum(), atol=1e-10)
    ones = conv.fold(conv.unfold(t(np.ones((1, 1, 4, 4)), grad=False), 2, stride=1), (4, 4), 2).numpy()
    np.testing.assert_array_equal(ones[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


# ## Task 4.2: convolution, values and gradients


@pytest.mark.task4_2
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding", "dilation"), CONV2D_CASES)
def test_conv2d_values_and_gradients(x_shape, w_shape, stride, padding, dilation) -> None:
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    xt, wt, bt = t(x), t(w), t(b)
    out = conv.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation)
    expected = conv_oracle(x, w, b, stride, padding, dilation)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    g = rng.normal(size=expected.shape)  # a random upstream gradient: loss = sum(out * g)
    (out * t(g, grad=False)).sum().backward()
    for value, tensor_ in ((x, xt), (w, wt), (b, bt)):
        loss = lambda v, which=tensor_: (  # noqa: E731
            conv_oracle(
                v if which is xt else x, v if which is wt else w, v if which is bt else b, stride, padding, dilation
            )
            * g
        ).sum()
        np.testing.assert_allclose(tensor_.grad.numpy(), numeric_grad(loss, value.copy()), atol=1e-6)


@pytest.mark.task4_2
def test_conv1d_values_and_gradients() -> None:
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 9)), rng.normal(size=(4, 3, 3))
    xt, wt = t(x), t(w)
    out = conv.conv1d(xt, wt, stride=2, padding=1)
    expected = conv_oracle(x, w, None, (2,), (1,), (1,))
    assert out.shape == (2, 4, 5)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(
        xt.grad.numpy(), numeric_grad(lambda v: conv_oracle(v, w, None, (2,), (1,), (1,)).sum(), x.copy()), atol=1e-6
    )
    np.testing.assert_allclose(
        wt.grad.numpy(), numeric_grad(lambda v: conv_oracle(x, v, None, (2,), (1,), (1,)).sum(), w.copy()), atol=1e-6
    )


@pytest.mark.task4_2
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "groups"),
    [((2, 4, 5, 6), (6, 2, 3, 2), 2), ((2, 3, 6, 5), (6, 1, 2, 3), 3), ((2, 3, 9), (3, 1, 3), 3)],
    ids=["2d-groups2", "2d-depthwise-x2", "1d-depthwise"],
)
def test_grouped_conv_values_and_gradients(x_shape, w_shape, groups) -> None:
    import torch

    rng = np.random.default_rng(9)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    geometry = {"stride": 2, "padding": 1, "dilation": 1, "groups": groups}
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    reference = torch.nn.functional.conv2d if len(x_shape) == 4 else torch.nn.functional.conv1d
    expected = reference(xt, wt, bt, **geometry)
    xm, wm, bm = t(x), t(w), t(b)
    got = (conv.conv2d if len(x_shape) == 4 else conv.conv1d)(xm, wm, bm, **geometry)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.normal(size=expected.shape)
    (expected * torch.tensor(g)).sum().backward()
    (got * t(g, grad=False)).sum().backward()
    for mine, theirs in ((xm, xt), (wm, wt), (bm, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.task4_2
def test_conv_known_numbers_and_errors() -> None:
    """A 3x3 image of 0..8 and a 2x2 kernel of ones: each output is the sum of a window."""
    x = t(np.arange(9.0).reshape(1, 1, 3, 3), grad=False)
    out = conv.conv2d(x, t(np.ones((1, 1, 2, 2)), grad=False))
    np.testing.assert_array_equal(out.numpy()[0, 0], [[8, 12], [20, 24]])
    with pytest.raises(minitorch.ShapeError, match="weight"):
        conv.conv2d(x, t(np.ones((1, 2, 2, 2)), grad=False))
    with pytest.raises(ValueError, match=r"conv2d: in_channels \(1\) must be divisible by groups \(2\)"):
        conv.conv2d(x, t(np.ones((2, 1, 2, 2)), grad=False), groups=2)
    x2 = t(np.ones((1, 2, 3, 3)), grad=False)
    with pytest.raises(ValueError, match=r"conv2d: out_channels \(3\) must be divisible by groups \(2\)"):
        conv.conv2d(x2, t(np.ones((3, 1, 2, 2)), grad=False), groups=2)
    with pytest.raises(ValueError, match="conv2d: groups must be a positive integer, got 0"):
        conv.conv2d(x2, t(np.ones((2, 1, 2, 2)), grad=False), groups=0)
    with pytest.raises(minitorch.ShapeError, match=r"needs \(O, 2/groups = 1, \*kernel\) for groups=2"):
        conv.conv2d(x2, t(np.ones((2, 2, 2, 2)), grad=False), groups=2)


# ## Task 4.3: pooling


@pytest.mark.task4_3
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [((2, 3, 6, 5), (2, 2), (2, 2), (0, 0)), ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1))],
)
def test_pool2d_values_and_gradients(kind, shape, kernel, stride, padding) -> None:
    rng = np.random.default_rng(4)
    x = rng.permutation(np.prod(shape)).reshape(shape) / 7.0  # distinct values: one maximum per window
    xt = t(x)
    fn = conv.max_pool2d if kind == "max" else conv.avg_pool2d
    out = fn(xt, kernel, stride, padding)
    expected = pool_oracle(kind, x, kernel, stride, padding)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    g = rng.normal(size=expected.shape)
    (out * t(g, grad=False)).sum().backward()
    numeric = numeric_grad(lambda v: (pool_oracle(kind, v, kernel, stride, padding) * g).sum(), x.copy())
    np.testing.assert_allclose(xt.grad.numpy(), numeric, atol=1e-6)


@pytest.mark.task4_3
def test_pool1d_and_pytorch_defaults() -> None:
    x = np.array([[[1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 6.0]]])
    np.testing.assert_array_equal(conv.max_pool1d(t(x), 2).numpy(), [[[5.0, 2.0, 4.0]]])  # stride = kernel
    np.testing.assert_allclose(conv.avg_pool1d(t(x), 3, stride=2, padding=1).numpy(), [[[2.0, 7 / 3, 7 / 3, 10 / 3]]])
    xt = t(x)
    conv.max_pool1d(xt, 3, stride=1).sum().backward()  # overlapping windows add up at a maximum
    np.testing.assert_array_equal(xt.grad.numpy(), [[[0, 2, 0, 0, 1, 1, 1]]])
    with pytest.raises(ValueError, match="half"):
        conv.max_pool2d(t(np.ones((1, 1, 4, 4))), 2, padding=2)


# ## Task 4.4: the fast and cuda kernels agree with the oracle


@pytest.mark.task4_4
@pytest.mark.parametrize("backend", ["fast", "cuda"])
def test_kernels_on_fast_and_cuda(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from minitorch.backends import get_backend

    # cuda's forward conv as unfold + matmul (its implicit-GEMM kernel is task 4.6's)
    monkeypatch.setattr(type(get_backend(backend).kernels), "conv_algorithm", "im2col", raising=False)
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(2, 2, 5, 6)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
    xt, wt, bt = t(x, backend), t(w, backend), t(b, backend)
    out = conv.conv2d(xt, wt, bt, stride=(1, 2), padding=1)
    np.testing.assert_allclose(out.numpy(), conv_oracle(x, w, b, (1, 2), (1, 1), (1, 1)), atol=1e-10)
    out.sum().backward()
    xs, ws = t(x), t(w)
    conv.conv2d(xs, ws, stride=(1, 2), padding=1).sum().backward()  # simple, checked above against the oracle
    np.testing.assert_allclose(xt.grad.numpy(), xs.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(wt.grad.numpy(), ws.grad.numpy(), atol=1e-10)
    xp = t(x, backend)
    pooled = conv.max_pool2d(xp, 2, 1, 1)
    np.testing.assert_allclose(pooled.numpy(), pool_oracle("max", x, (2, 2), (1, 1), (1, 1)), atol=1e-12)
    pooled.sum().backward()
    xq = t(x)
    conv.max_pool2d(xq, 2, 1, 1).sum().backward()
    np.testing.assert_allclose(xp.grad.numpy(), xq.grad.numpy(), atol=1e-12)
    avg = conv.avg_pool1d(t(x[:, 0], backend), 3, 2, 1).numpy()
    np.testing.assert_allclose(avg, pool_oracle("avg", x[:, 0], (3,), (2,), (1,)), atol=1e-12)


@pytest.mark.task4_4
def test_fast_float32_conv() -> None:
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(4, 1, 8, 8)), rng.normal(size=(5, 1, 3, 3))
    out = conv.conv2d(
        minitorch.tensor(x, backend="fast", dtype="float32"), minitorch.tensor(w, backend="fast", dtype="float32")
    )
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), conv_oracle(x, w, None, (1, 1), (0, 0), (1, 1)), atol=1e-4)


# ## Task 4.5: layers and a CNN that learns the digits


@pytest.mark.task4_5
def test_layers_initialise_as_pytorch_and_repr() -> None:
    layer = conv.Conv2d(3, 8, 5, padding=2, seed=0)
    bound = 1 / np.sqrt(3 * 25)  # kaiming_uniform(a=sqrt(5)) on (8, 3, 5, 5): bound 1/sqrt(fan_in)
    weight, bias = layer.weight.value.numpy(), layer.bias.value.numpy()
    assert weight.shape == (8, 3, 5, 5) and bias.shape == (8,)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert np.abs(bias).max() <= bound
    assert 0.4 < weight.std() / (bound / np.sqrt(3)) < 1.6  # the std of U(-bound, bound)
    assert repr(layer) == "Conv2d(3, 8, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(conv.Conv1d(2, 4, 3, bias=False)) == "Conv1d(2, 4, kernel_size=(3,), stride=(1,), bias=False)"
    assert repr(conv.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert len(list(layer.parameters())) == 2
    out = layer(minitorch.tensor(np.ones((2, 3, 6, 6))))
    assert out.shape == (2, 8, 6, 6)
    assert conv.AvgPool2d(2)(out).shape == (2, 8, 3, 3)


@pytest.mark.task4_5
def test_grouped_layers_initialise_as_pytorch_and_repr() -> None:
    import torch

    layer = conv.Conv2d(4, 6, 3, padding=1, groups=2, seed=0)
    bound = 1 / np.sqrt(2 * 9)  # fan_in = C/groups * K
    weight = layer.weight.value.numpy()
    assert weight.shape == (6, 2, 3, 3) and tuple(torch.nn.Conv2d(4, 6, 3, groups=2).weight.shape) == weight.shape
    assert bound >= np.abs(weight).max() > 0.9 * bound and np.abs(layer.bias.value.numpy()).max() <= bound
    assert repr(layer) == "Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2)"
    x = np.random.default_rng(1).normal(size=(2, 4, 5, 5))
    expected = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(weight), torch.tensor(layer.bias.value.numpy()), padding=1, groups=2
    )
    np.testing.assert_allclose(layer(t(x, grad=False)).numpy(), expected.numpy(), atol=1e-12)
    depthwise = conv.Conv1d(3, 3, 5, groups=3, bias=False, seed=0)
    assert depthwise.weight.value.shape == (3, 1, 5) and np.abs(depthwise.weight.value.numpy()).max() <= 1 / np.sqrt(5)
    assert repr(depthwise) == "Conv1d(3, 3, kernel_size=(5,), stride=(1,), groups=3, bias=False)"
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"):
        conv.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv1d: out_channels \(3\) must be divisible by groups \(2\)"):
        conv.Conv1d(4, 3, 3, groups=2)


@pytest.mark.task4_5
@pytest.mark.slow  # about 20 s on 2 idle cores (6 epochs of 1437 images), minutes on a loaded machine
@pytest.mark.parametrize("seed", [0, 1, 2])  # the data split, the weights and the shuffling
def test_cnn_learns_digits(seed: int) -> None:
    from minitorch.demo.cnn import train_cnn

    result = train_cnn(epochs=10, backend="fast", seed=seed)
    assert result.test_accuracy >= 0.97, result
