"""PyTorch semantics of the Tensor API: each "silent trap" with PyTorch's answer written in.

torch is not installed here; the expected numbers are what PyTorch 2.x gives (noted per test).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import minitorch
from minitorch import Tensor, nn, optim
from minitorch.module import Module, Parameter


def t(values, **kwargs) -> Tensor:
    return minitorch.tensor(values, **kwargs)


# ## Iteration, len, numpy


def test_iterating_a_matrix_yields_its_rows_with_autograd() -> None:
    x = t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and len(x) == 3
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    (rows[0] * 2.0 + rows[2]).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]


def test_numpy_asarray_sees_the_values() -> None:
    x = t([[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(x).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert np.asarray(x, dtype=np.float32).dtype == np.float32


# ## Parameters are tensors; requires_grad is a property


def test_parameter_is_a_tensor_and_requires_grad_false_freezes_it() -> None:
    class Model(Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = Parameter(t([1.0, 2.0]))
            self.b = Parameter(t([0.5]))

        def forward(self, x: Tensor) -> Tensor:
            return (x * self.w).sum() + self.b.sum()

    model = Model()
    assert isinstance(model.w, Tensor) and model.w.shape == (2,) and model.w.numel() == 2
    assert model.w[1].item() == 2.0 and (model.w * 2.0).tolist() == [2.0, 4.0]
    model.b.requires_grad = False
    assert not model.b.requires_grad
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(t([1.0, 1.0])).backward()
    assert model.b.grad is None  # PyTorch: no gradient for a frozen parameter
    opt.step()
    assert model.w.tolist() == pytest.approx([0.9, 1.9]) and model.b.tolist() == [0.5]


def test_is_leaf_is_a_property() -> None:
    x = t([1.0], requires_grad=True)
    y = x * 2.0
    c = t([1.0])
    assert x.is_leaf is True and y.is_leaf is False and c.is_leaf is True  # PyTorch's values
    with pytest.raises(RuntimeError):
        y.requires_grad = False  # PyTorch: only leaves can change requires_grad


# ## In-place ops


def test_inplace_update_in_no_grad_keeps_the_same_leaf() -> None:
    w = t([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    same = w
    with minitorch.no_grad():
        w -= 0.1 * w.grad
    assert w is same and w.requires_grad and w.is_leaf
    assert w.tolist() == pytest.approx([0.8, 1.6])


def test_inplace_ops_write_storage_and_views_see_it() -> None:
    x = t([[1.0, 2.0], [3.0, 4.0]])
    row = x[0]
    x += 1.0
    x *= 2.0
    assert x.tolist() == [[4.0, 6.0], [8.0, 10.0]] and row.tolist() == [4.0, 6.0]
    x.add_(t([1.0, 1.0]), alpha=2.0)
    assert x.tolist() == [[6.0, 8.0], [10.0, 12.0]]
    x[1] = 0.0
    x[0, 0] = -1.0
    assert x.tolist() == [[-1.0, 8.0], [0.0, 0.0]]
    x.fill_(3.0)
    assert x.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    x.zero_()
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]] and x._version == 7


def test_inplace_on_leaf_that_requires_grad_raises() -> None:
    w = t([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1.0
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 2.0


def test_modifying_a_saved_tensor_makes_backward_raise() -> None:
    x = t([1.0, 2.0], requires_grad=True)
    y = x.exp()  # Exp saves its output
    z = y.sum()
    y += 1.0  # PyTorch: "...modified by an inplace operation..." at backward
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: Exp saved a tensor of shape \(2,\)"):
        z.backward()


def test_inplace_on_a_non_leaf_joins_the_graph() -> None:
    x = t([1.0, 2.0], requires_grad=True)
    y = x + 0.0
    y += x  # y = 2x: d sum(y)/dx = 2 (Add saves nothing, so no version error)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ## NaN propagates


def test_nan_propagates_through_max_and_relu() -> None:
    assert math.isnan(t([float("nan"), 1.0]).max().item())  # PyTorch: nan
    assert math.isnan(t([1.0, float("nan")]).max().item())
    assert math.isnan(t([float("nan")]).relu().item())  # PyTorch: relu(nan) = nan
    assert math.isnan(minitorch.operators.max(1.0, float("nan")))
    assert math.isnan(minitorch.operators.max(float("nan"), 1.0))
    values, indices = t([[1.0, float("nan"), 3.0]]).max(1)
    assert math.isnan(values.item()) and indices.tolist() == [1.0]  # PyTorch: index of the nan


# ## Losses and activations


def test_bce_with_logits_gradient_at_zero_is_sigmoid_minus_target() -> None:
    for target, expected in [(0.0, 0.5), (1.0, -0.5), (0.25, 0.25)]:  # PyTorch: sigmoid(0) - t
        z = t([0.0], requires_grad=True)
        loss = nn.binary_cross_entropy_with_logits(z, t([target]))
        assert loss.item() == pytest.approx(math.log(2.0))
        loss.backward()
        assert z.grad.item() == pytest.approx(expected)
    z = t([-3.0, -0.5, 0.7, 40.0, -800.0], requires_grad=True)
    target = t([0.0, 1.0, 0.3, 1.0, 0.0])
    nn.binary_cross_entropy_with_logits(z, target, reduction="sum").backward()
    sig = 1.0 / (1.0 + np.exp(-z.numpy()))
    np.testing.assert_allclose(z.grad.numpy(), sig - target.numpy(), atol=1e-12)


def test_tanh_is_exact_for_small_x() -> None:
    x = t([1e-10, -3e-9, 0.5])
    np.testing.assert_allclose(nn.tanh(x).numpy(), np.tanh(x.numpy()), rtol=1e-15)


# ## Gradient mode, recordings and backends are per thread / thread-safe


def test_no_grad_in_one_thread_leaves_another_recording() -> None:
    entered, release, seen = threading.Event(), threading.Event(), {}

    def hold_no_grad() -> None:
        with minitorch.no_grad():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    entered.wait(5)
    x = t([1.0], requires_grad=True)
    seen["requires_grad"] = (x * 2.0).requires_grad
    release.set()
    thread.join()
    assert seen["requires_grad"] is True


def test_record_hears_only_its_own_thread() -> None:
    from minitorch import events

    def other() -> None:
        (t([1.0], requires_grad=True) * 3.0).sum()

    with events.record() as rec:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        (t([1.0], requires_grad=True) * 2.0).sum()
    assert [e.op for e in rec.forward_events] == ["Mul", "View", "Sum", "View"]


def test_get_backend_is_built_once_under_threads() -> None:
    from minitorch import backends

    results = []
    threads = [threading.Thread(target=lambda: results.append(backends.get_backend("simple"))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(b is results[0] for b in results)


# ## max/min return (values, indices)


def test_max_and_min_with_dim_return_values_and_indices() -> None:
    x = t([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    values, indices = x.max(1)  # PyTorch: values [5, 7], indices [1, 0] (first maximum)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1.0, 0.0]
    out = x.min(0, keepdim=True)
    assert out.values.tolist() == [[1.0, 0.0, 2.0]] and out.indices.tolist() == [[0.0, 1.0, 0.0]]
    assert x.max().item() == 7.0 and x.min().item() == 0.0
    assert x.argmax().item() == 3.0 and x.argmin(1).tolist() == [0.0, 1.0]


# ## Zero-size tensors


def test_zero_size_tensors_work_through_ops() -> None:
    a, b = minitorch.zeros((0, 3)), minitorch.zeros((3, 2))
    assert (a @ b).shape == (0, 2)
    assert (a + 1.0).shape == (0, 3) and a.exp().shape == (0, 3)
    assert a.sum().item() == 0.0  # PyTorch: sum of empty is 0
    assert math.isnan(a.mean().item())  # PyTorch: mean of empty is nan
    assert a.sum(0).tolist() == [0.0, 0.0, 0.0] and a.sum(1).shape == (0,)
    with pytest.raises(RuntimeError):
        a.max()  # PyTorch: max of an empty tensor raises
    c = minitorch.zeros((2, 0))
    assert (b.T @ minitorch.zeros((3, 0))).shape == (2, 0) and c.sum(1).tolist() == [0.0, 0.0]


# ## Tensor methods


def test_shape_methods() -> None:
    x = minitorch.tensor(np.arange(6.0).reshape(2, 3))
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3 and x.numel() == 6
    assert x.dim() == 2 and x.ndim == 2
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(1).squeeze().shape == (2, 3) and x.unsqueeze(1).squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 3)
    assert minitorch.zeros((2, 3, 4)).flatten(1).shape == (2, 12) and x.flatten().shape == (6,)
    assert x.transpose(0, 1).tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]] and x.t().shape == (3, 2)
    assert x.T.reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]  # reshape of a non-contiguous
    assert t([1.0, 2.0]).expand(3, -1).tolist() == [[1.0, 2.0]] * 3
    assert t([1.0, 2.0]).repeat(2, 2).tolist() == [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    assert x.repeat(1, 2).shape == (2, 6) and x[0].repeat(2).tolist() == [0.0, 1.0, 2.0] * 2


def test_comparisons_clamp_and_format() -> None:
    x = t([1.0, 2.0, 3.0])
    assert (x != 2.0).tolist() == [1.0, 0.0, 1.0]
    assert (x <= 2.0).tolist() == [1.0, 1.0, 0.0] and (x >= 2.0).tolist() == [0.0, 1.0, 1.0]
    assert f"{x.sum():.2f}" == "6.00" and f"{t(0.5):>5}" == "  0.5"
    z = t([-2.0, -1.0, 0.0, 1.0, 2.0, float("nan")], requires_grad=True)
    out = z.clamp(-1.0, 1.0)
    assert out.tolist()[:5] == [-1.0, -1.0, 0.0, 1.0, 1.0] and math.isnan(out.tolist()[5])
    out[:5].sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # PyTorch: 1 inside, bounds included
    assert t([-3.0, 3.0]).clamp(min=0.0).tolist() == [0.0, 3.0]


def test_indexing_basic_is_a_view_with_autograd() -> None:
    x = minitorch.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    assert x[1, 2].item() == 6.0 and x[-1, -1].item() == 11.0 and x[0, 1].shape == ()
    assert x[:, ::2].tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]
    assert x[..., 1].tolist() == [1.0, 5.0, 9.0] and x[None].shape == (1, 3, 4) and x[1:, None, 3].shape == (2, 1)
    base = minitorch.tensor(np.arange(6.0))
    view = base[1::2]
    with minitorch.no_grad():
        base += 10.0
    assert view.tolist() == [11.0, 13.0, 15.0]  # a view sees writes to its base
    x[1:, ::3].sum().backward()
    assert x.grad.tolist() == [[0.0] * 4, [1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]


def test_indexing_advanced_gathers_and_scatters_back() -> None:
    x = t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    picked = x[t([2, 0, 2])]
    assert picked.tolist() == [[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]
    assert x[[0, 2], [1, 0]].tolist() == [2.0, 5.0]
    picked.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]  # repeated rows accumulate
    mask = x > 3.0
    assert x[mask].tolist() == [4.0, 5.0, 6.0]
    x.grad = None
    x[mask].sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]


def test_dtype_conversions_and_to() -> None:
    x = t([1.5, 2.5], requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.double().dtype == np.float64 and x.double() is x
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 2.0]
    assert x.to("float32").dtype == np.float32 and x.to("simple") is x


def test_repr_shows_values_and_grad_state() -> None:
    x = t([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2.0) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(t([1.0], dtype="float32")) == "tensor([1.], dtype=float32)"
