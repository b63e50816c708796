"""minitorch against real PyTorch: the same program on both libraries, values and gradients.

Each case is a function `fn(lib, *inputs)` written once in PyTorch's API and run with
`lib = torch` and `lib = minitorch` on the same seeded random float64 inputs. Every output
is compared (booleans and integer indices as numbers), and then the gradient of a fixed
weighted sum of the floating outputs with respect to each input. Both CPU backends run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch
from minitorch import backends

BACKENDS = ["simple", "fast"]
TOL = 1e-10

# Where inputs are drawn from: any sign, positive (sqrt, log, fractional powers), probabilities (BCE).
RANGES = {"any": (-2.0, 2.0), "pos": (0.2, 2.0), "prob": (0.05, 0.95)}


@pytest.fixture(autouse=True)
def torch_in_float64():
    """Creation functions in float64 on both sides (minitorch's default; torch's is float32)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def inputs(shapes: list[tuple[int, ...]], kind: str, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    low, high = RANGES[kind]
    return [rng.uniform(low, high, size=shape) for shape in shapes]


def as_numbers(value: Any) -> Any:
    """An output as something numpy compares: tensors as float arrays, shapes as tuples."""
    if isinstance(value, (torch.Tensor, minitorch.Tensor)):
        return np.asarray(value.detach().double().numpy() if isinstance(value, torch.Tensor) else value.numpy())
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


def outputs(result: Any) -> list[Any]:
    """A result as a flat list: (values, indices) pairs and tuples open up."""
    return list(result) if isinstance(result, tuple) and not isinstance(result, torch.Size) else [result]


def run(lib: Any, fn: Callable[..., Any], arrays: list[np.ndarray], backend: str | None) -> tuple[list, list]:
    """fn on `lib`: its outputs, and the gradient of sum(weights * output) for each input."""
    extra = {} if backend is None else {"backend": backend}
    xs = [lib.tensor(a, requires_grad=True, **extra) for a in arrays]
    results = outputs(fn(lib, *xs))
    floats = [r for r in results if isinstance(r, (torch.Tensor, minitorch.Tensor)) and r.requires_grad]
    if floats:
        loss = sum(
            (r * lib.tensor(np.cos(np.arange(r.numel(), dtype=np.float64)).reshape(tuple(r.shape)), **extra)).sum()
            for r in floats
        )
        loss.backward()
    grads = [None if x.grad is None else as_numbers(x.grad) for x in xs]
    return [as_numbers(r) for r in results], grads


def check(fn: Callable[..., Any], shapes: list[tuple[int, ...]], kind: str, backend: str, seed: int = 0) -> None:
    arrays = inputs(shapes, kind, seed)
    expected, expected_grads = run(torch, fn, arrays, None)
    backends.set_default_backend(backend)  # creation functions inside fn use the default backend
    got, got_grads = run(minitorch, fn, arrays, backend)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == e.shape, f"shape {getattr(g, 'shape', g)} != {e.shape}"
            np.testing.assert_allclose(g, e, rtol=TOL, atol=TOL)
        else:
            assert g == e
    for g, e in zip(got_grads, expected_grads, strict=True):
        if e is None:
            assert g is None or not np.any(g), "minitorch has a gradient where torch has none"
        else:
            assert g is not None, "torch has a gradient, minitorch none"
            np.testing.assert_allclose(g, e, rtol=TOL, atol=TOL)


def F(lib: Any) -> Any:
    return lib.nn.functional


def setitem(x: Any, key: Any, value: Any) -> Any:
    y = x * 1.0  # a non-leaf copy: in-place writes are allowed, and the gradient flows through
    y[key] = value
    return y


def labels(lib: Any) -> Any:
    return lib.tensor([2, 0, 1, 2])


A, B = (3, 4), (2, 3, 4)
# name: (fn, input shapes, input kind)
CASES: dict[str, tuple[Callable[..., Any], list[tuple[int, ...]], str]] = {
    # creation, both shape forms and keywords
    "zeros": (lambda lib: lib.zeros(2, 3), [], "any"),
    "zeros_tuple": (lambda lib: lib.zeros((2, 3)), [], "any"),
    "ones": (lambda lib: lib.ones(3), [], "any"),
    "ones_list": (lambda lib: lib.ones([2, 1, 3]), [], "any"),
    "full": (lambda lib: lib.full((2, 3), 1.5), [], "any"),
    "eye": (lambda lib: lib.eye(3), [], "any"),
    "eye_rect": (lambda lib: lib.eye(2, 4), [], "any"),
    "arange": (lambda lib: lib.arange(5), [], "any"),
    "arange_step": (lambda lib: lib.arange(1.0, 2.0, 0.25), [], "any"),
    "linspace": (lambda lib: lib.linspace(-1.0, 1.0, 7), [], "any"),
    "zeros_like": (lambda lib, x: lib.zeros_like(x) + x, [A], "any"),
    "ones_like": (lambda lib, x: lib.ones_like(x) * x, [A], "any"),
    "full_like": (lambda lib, x: lib.full_like(x, 2.5) * x, [A], "any"),
    # indexing
    "index_int": (lambda lib, x: x[1], [B], "any"),
    "index_ints": (lambda lib, x: x[1, 2], [B], "any"),
    "index_negative": (lambda lib, x: x[-1, -2], [B], "any"),
    "index_step_slice": (lambda lib, x: x[:, ::2, 1:], [B], "any"),
    "index_ellipsis": (lambda lib, x: x[..., 1], [B], "any"),
    "index_none": (lambda lib, x: x[None, :, None, 1], [A], "any"),
    "index_mask": (lambda lib, x: x[x > 0.5], [A], "any"),
    "index_tensor": (lambda lib, x: x[lib.tensor([2, 0, 2])], [A], "any"),
    "index_tensor_2d": (lambda lib, x: x[:, lib.tensor([3, 1])], [A], "any"),
    "setitem_int": (lambda lib, x: setitem(x, (0, 1), 5.0), [A], "any"),
    "setitem_slice": (lambda lib, x: setitem(x, (slice(None), slice(1, None, 2)), 0.0), [A], "any"),
    "setitem_mask": (lambda lib, x: setitem(x, x < 0, 0.0), [A], "any"),
    "setitem_tensor": (lambda lib, x, v: setitem(x, (slice(None), 1), v[0] * 2.0), [A, (1, 3)], "any"),
    "setitem_broadcast": (lambda lib, x, v: setitem(x, x > 0, v[0, 0]), [A, (2, 2)], "any"),
    "setitem_into_constant": (lambda lib, x: setitem(lib.zeros(3, 4), 1, x * 3.0), [(4,)], "any"),
    # shapes
    "size": (lambda lib, x: (x.size(), x.size(0), x.size(-1), x.numel(), x.dim(), x.ndim), [B], "any"),
    "unsqueeze": (lambda lib, x: x.unsqueeze(1).unsqueeze(-1), [A], "any"),
    "squeeze": (lambda lib, x: (x.squeeze(), x.squeeze(0), x.squeeze(-1)), [(1, 3, 1)], "any"),
    "flatten": (lambda lib, x: (x.flatten(), x.flatten(1)), [B], "any"),
    "transpose": (lambda lib, x: x.transpose(0, 2), [B], "any"),
    "t": (lambda lib, x: x.t(), [A], "any"),
    "expand": (lambda lib, x: x.expand(2, 3, 4), [(3, 1)], "any"),
    "expand_keep": (lambda lib, x: x.expand(-1, 5) * 2.0, [(3, 1)], "any"),
    "expand_new_dims": (lambda lib, x: x.expand(2, 3, 4), [(4,)], "any"),
    "repeat": (lambda lib, x: x.repeat(2, 3), [(2, 2)], "any"),
    "repeat_new_dims": (lambda lib, x: x.repeat(2, 1, 2), [(3,)], "any"),
    "reshape_non_contiguous": (lambda lib, x: x.t().reshape(2, 6), [A], "any"),
    "reshape_expanded": (lambda lib, x: x.expand(3, 4).reshape(-1), [(3, 1)], "any"),
    # math
    "pow": (lambda lib, x: x.pow(3.0), [A], "any"),
    "pow_operator": (lambda lib, x, y: x**y, [A, A], "pos"),
    "rpow": (lambda lib, x: 2.0**x, [A], "any"),
    "pow_function": (lambda lib, x: lib.pow(x, 0.5), [A], "pos"),
    "sqrt": (lambda lib, x: lib.sqrt(x), [A], "pos"),
    "abs": (lambda lib, x: (lib.abs(x), x.abs()), [A], "any"),
    "clamp": (lambda lib, x: (x.clamp(-0.5, 0.5), lib.clamp(x, min=0.0), x.clamp(max=1.0)), [A], "any"),
    "tanh": (lambda lib, x: lib.tanh(x), [A], "any"),
    "sin": (lambda lib, x: (lib.sin(x), x.sin()), [A], "any"),
    "cos": (lambda lib, x: (lib.cos(x), x.cos()), [A], "any"),
    "comparisons": (lambda lib, x, y: (x < y, x <= y, x > y, x >= y, x == x, x != y), [A, A], "any"),
    # reductions
    "sum": (lambda lib, x: (x.sum(), x.sum(1), x.sum(-1, keepdim=True), lib.sum(x, 0)), [B], "any"),
    "mean": (lambda lib, x: (x.mean(), x.mean(0), x.mean(-1, keepdim=True)), [B], "any"),
    "max": (lambda lib, x: x.max(), [B], "any"),
    "max_dim": (lambda lib, x: x.max(1), [B], "any"),
    "max_dim_keepdim": (lambda lib, x: lib.max(x, -1, keepdim=True), [B], "any"),
    "argmax": (lambda lib, x: (x.argmax(), x.argmax(1), lib.argmax(x, -1)), [B], "any"),
    # joining and choosing
    "cat": (lambda lib, x, y: (lib.cat([x, y]), lib.cat([x, y], dim=1)), [A, A], "any"),
    "stack": (lambda lib, x, y: (lib.stack([x, y]), lib.stack([x, y], dim=-1)), [A, A], "any"),
    "where": (lambda lib, x, y: lib.where(x > y, x, y), [A, A], "any"),
    "where_scalar": (lambda lib, x: lib.where(x > 0, x, 0.0), [A], "any"),
    # nn.functional
    "softmax": (lambda lib, x: (F(lib).softmax(x, dim=1), F(lib).softmax(x, dim=0)), [A], "any"),
    "log_softmax": (lambda lib, x: F(lib).log_softmax(x, dim=-1), [A], "any"),
    "cross_entropy": (lambda lib, x: F(lib).cross_entropy(x, labels(lib)), [(4, 3)], "any"),
    "cross_entropy_sum": (lambda lib, x: F(lib).cross_entropy(x, labels(lib), reduction="sum"), [(4, 3)], "any"),
    "nll_loss": (lambda lib, x: F(lib).nll_loss(F(lib).log_softmax(x, dim=1), labels(lib)), [(4, 3)], "any"),
    "mse_loss": (lambda lib, x, y: (F(lib).mse_loss(x, y), F(lib).mse_loss(x, y, reduction="none")), [A, A], "any"),
    "bce": (lambda lib, p, t: F(lib).binary_cross_entropy(p, t), [A, A], "prob"),
    "bce_with_logits": (lambda lib, z, t: F(lib).binary_cross_entropy_with_logits(z * 4.0, t), [A, A], "prob"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_values_and_gradients_as_torch(name: str, backend: str) -> None:
    fn, shapes, kind = CASES[name]
    check(fn, shapes, kind, backend)


# ## expand is a view, as in PyTorch


@pytest.mark.parametrize("backend", BACKENDS)
def test_expand_shares_storage_and_refuses_in_place_writes(backend: str) -> None:
    for lib in (torch, minitorch):
        extra = {"backend": backend} if lib is minitorch else {}
        x = lib.tensor([[1.0], [2.0]], **extra)
        e = x.expand(2, 3)
        x[0, 0] = 7.0  # a view: the change shows through
        assert e.tolist() == [[7.0, 7.0, 7.0], [2.0, 2.0, 2.0]]
        assert e.stride() == (1, 0)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            e.add_(1.0)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            e[0] = 1.0  # a row of the view is one element three times
        e[1, 2] = 3.0  # one element: allowed, and it is x[1, 0]
        assert x.tolist() == [[7.0], [3.0]]
        assert e.clone().add_(1.0).tolist() == [[8.0, 8.0, 8.0], [4.0, 4.0, 4.0]]


def test_size_is_a_method() -> None:
    for lib in (torch, minitorch):
        x = lib.zeros(2, 3)
        assert tuple(x.size()) == (2, 3) and x.size(1) == x.size(-1) == 3 and x.numel() == 6
        with pytest.raises(IndexError):
            x.size(2)
        with pytest.raises(IndexError):
            lib.tensor(1.0).size(0)


def test_expand_compiles_to_the_same_values_and_gradient() -> None:
    """Graph mode has no views: a traced expand is a broadcast add of zeros, with the eager result."""
    weights = minitorch.tensor(np.arange(12.0).reshape(3, 4))
    compiled = minitorch.compile(lambda x: (x.expand(3, 4) * weights).sum())
    results = []
    for fn in (compiled, lambda x: (x.expand(3, 4) * weights).sum()):
        x = minitorch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
        y = fn(x)
        y.backward()
        results.append((y.item(), x.grad.tolist()))
    assert results[0] == results[1] == (164.0, [[6.0], [22.0], [38.0]])
