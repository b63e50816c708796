"""The PyTorch-shaped API: creation functions, top-level function forms, nn.functional, containers,
param_groups, more optimizers, schedulers, map-style datasets. Expected numbers are PyTorch's,
written out by hand from its documented formulas (tests/test_against_torch.py runs torch itself)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch import nn, optim
from minitorch.data import DataLoader
from minitorch.optim import lr_scheduler

# ## Creation


def test_shapes_as_numbers_or_a_sequence() -> None:
    for make in (minitorch.zeros, minitorch.ones, minitorch.rand, minitorch.randn):
        assert make(2, 3).shape == make((2, 3)).shape == make([2, 3]).shape == (2, 3)
    np.testing.assert_array_equal(minitorch.full((2,), 7.0).numpy(), [7.0, 7.0])
    np.testing.assert_array_equal(minitorch.arange(3).numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(minitorch.arange(1, 2, 0.5).numpy(), [1.0, 1.5])
    np.testing.assert_array_equal(minitorch.linspace(0, 1, 5).numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(minitorch.eye(2, 3).numpy(), [[1, 0, 0], [0, 1, 0]])


def test_keywords_and_like_forms() -> None:
    x = minitorch.zeros(2, dtype="float32", requires_grad=True, backend="simple")
    assert x.dtype == np.float32 and x.requires_grad and x.backend.name == "simple"
    assert minitorch.ones(1, dtype=minitorch.float32).dtype == np.float32
    for like in (minitorch.zeros_like(x), minitorch.ones_like(x), minitorch.full_like(x, 2.0), minitorch.randn_like(x)):
        assert like.shape == (2,) and like.dtype == np.float32 and not like.requires_grad
    np.testing.assert_array_equal(minitorch.full_like(x, 2.0).numpy(), [2.0, 2.0])


def test_manual_seed_drives_rand_randn_linear_and_dropout() -> None:
    def draw() -> list[np.ndarray]:
        minitorch.manual_seed(5)
        ones = minitorch.ones(20)
        return [
            minitorch.rand(3).numpy(),
            minitorch.randn(3).numpy(),
            nn.Linear(2, 2).weight.value.numpy(),
            nn.functional.dropout(ones, 0.5).numpy(),
        ]

    for a, b in zip(draw(), draw(), strict=True):
        np.testing.assert_array_equal(a, b)
    minitorch.manual_seed(5)
    np.testing.assert_array_equal(minitorch.rand(3).numpy(), np.random.default_rng(5).random(3))
    # rand(shape, seed=...) keeps its own generator
    np.testing.assert_array_equal(minitorch.rand((2,), seed=1).numpy(), np.random.default_rng(1).random(2))


# ## Function forms


def test_function_forms_match_methods() -> None:
    x = minitorch.tensor([[0.5, -1.0], [2.0, 3.0]])
    for name in ("relu", "exp", "sigmoid", "tanh", "abs"):
        np.testing.assert_allclose(getattr(minitorch, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_allclose(minitorch.sum(x, dim=1).numpy(), [-0.5, 5.0])
    np.testing.assert_allclose(minitorch.mean(x).item(), 1.125)
    np.testing.assert_allclose(minitorch.max(x, 0).values.numpy(), [2.0, 3.0])
    np.testing.assert_allclose(minitorch.max(x, 0).indices.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(minitorch.argmax(x, 1).numpy(), [0.0, 1.0])
    np.testing.assert_allclose(minitorch.matmul(x, x).numpy(), x.numpy() @ x.numpy())
    np.testing.assert_allclose(minitorch.pow(minitorch.abs(x), 2.0).numpy(), x.numpy() ** 2)
    np.testing.assert_allclose(
        minitorch.sqrt(minitorch.log(minitorch.exp(minitorch.abs(x)))).numpy(), np.sqrt(np.abs(x.numpy()))
    )


def test_cat_and_stack_forward_and_backward() -> None:
    a = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = minitorch.tensor([[5.0, 6.0]], requires_grad=True)
    out = minitorch.cat([a, b], dim=0)
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4], [5, 6]])
    (out * minitorch.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, 1], [2, 2]])
    np.testing.assert_array_equal(b.grad.numpy(), [[3, 3]])
    c = minitorch.tensor([1.0, 2.0], requires_grad=True)
    s = minitorch.stack([c, c * 2.0], dim=1)
    np.testing.assert_array_equal(s.numpy(), [[1, 2], [2, 4]])
    (s * minitorch.tensor([[1.0, 10.0], [1.0, 10.0]])).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [21.0, 21.0])


def test_where_routes_gradient_and_ignores_nan_on_the_other_side() -> None:
    x = minitorch.tensor([1.0, -1.0, 4.0], requires_grad=True)
    y = minitorch.where(x < 0.0, 0.0, x.log())  # log(-1) is nan, never chosen
    np.testing.assert_allclose(y.numpy(), [0.0, 0.0, math.log(4.0)])  # c*a + (1-c)*b would give nan
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.25])
    # As in PyTorch, the side not chosen still gets a zero gradient: 0 * d log/dx = 0 here.


def test_clamp_value_and_gradient() -> None:
    x = minitorch.tensor([-2.0, -1.0, 0.5, 1.0, 3.0], requires_grad=True)
    y = minitorch.clamp(x, min=-1.0, max=1.0)
    np.testing.assert_array_equal(y.numpy(), [-1.0, -1.0, 0.5, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])  # PyTorch: 1 on [min, max]


# ## nn.functional and modules


def test_functional_names() -> None:
    x = minitorch.tensor([[1.0, -2.0]])
    w, b = minitorch.tensor([[1.0, 1.0], [2.0, 0.0]]), minitorch.tensor([0.5, 0.0])
    np.testing.assert_allclose(F.linear(x, weight=w, bias=b).numpy(), [[-0.5, 2.0]])
    np.testing.assert_allclose(F.relu(x).numpy(), [[1.0, 0.0]])
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy().sum(), 1.0)
    np.testing.assert_allclose(F.log_softmax(x, dim=-1).exp().numpy(), F.softmax(x, dim=-1).numpy())
    assert F.dropout(x, p=0.5, training=False) is x
    loss = F.cross_entropy(minitorch.tensor([[0.0, 0.0]]), [1], reduction="sum")
    np.testing.assert_allclose(loss.item(), math.log(2.0))
    np.testing.assert_allclose(F.mse_loss(x, x * 0.0, reduction="mean").item(), 2.5)
    for name in ("sigmoid", "tanh", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"):
        assert callable(getattr(F, name))


def test_containers_and_shared_parameters() -> None:
    shared = nn.Linear(2, 2, seed=0)
    model = nn.Sequential(shared, nn.Identity(), shared)
    assert len(model.parameters()) == 2
    layers = nn.ModuleList([nn.Linear(2, 3, seed=0), nn.ReLU()])
    layers.append(nn.Linear(3, 1, seed=0))
    assert len(layers) == 3 and [n for n, _ in layers.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1, seed=0)})
    assert "a" in heads and [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias"]
    assert nn.Flatten()(minitorch.zeros(2, 3, 4)).shape == (2, 12)
    with pytest.raises(TypeError, match="argument 1 is a function, not a Module"):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)
    w = shared.weight.value
    assert len(optim.SGD([w, w], lr=0.1).parameters) == 1
    assert len(optim.SGD(model.parameters() + model.parameters(), lr=0.1).parameters) == 2


def test_module_to_float_double() -> None:
    model = nn.MLP([2, 3, 1], seed=0, backend="simple")
    before = model.parameters()[0]
    model.float()
    assert all(p.value.dtype == np.float32 for p in model.parameters()) and model.parameters()[0] is before
    model.double().to("simple")
    assert all(p.value.dtype == np.float64 and p.value.backend.name == "simple" for p in model.parameters())


# ## Optimizers and schedulers (PyTorch's formulas, numbers by hand)


def quadratic_steps(optimizer_class, steps: int, **settings) -> list[float]:
    """w starts at 1, loss = w^2 / 2 (so grad = w); the values of w after each step."""
    w = minitorch.tensor([1.0], requires_grad=True)
    opt = optimizer_class([w], **settings)
    values = []
    for _ in range(steps):
        opt.zero_grad()
        (w * w * 0.5).sum().backward()
        opt.step()
        values.append(w.item())
    return values


def test_sgd_nesterov() -> None:
    # b1 = g1 = 1, step 1 + 0.9 = 1.9 -> 0.81; g2 = 0.81, b2 = 0.9 + 0.81 = 1.71, step 0.81 + 1.539 = 2.349
    np.testing.assert_allclose(
        quadratic_steps(optim.SGD, 2, lr=0.1, momentum=0.9, nesterov=True), [0.81, 0.5751], rtol=1e-12
    )


def test_adamw_and_rmsprop() -> None:
    # AdamW step 1: w (1 - lr wd) = 0.99, then minus lr * m_hat / (sqrt(v_hat) + eps) = 0.1 / (1 + 1e-8)
    np.testing.assert_allclose(quadratic_steps(optim.AdamW, 1, lr=0.1, weight_decay=0.1), [0.99 - 0.1 / (1 + 1e-8)])
    # RMSprop step 1: v = 0.01 * 1, w = 1 - 0.01 * 1 / (0.1 + 1e-8)
    np.testing.assert_allclose(quadratic_steps(optim.RMSprop, 1, lr=0.01), [1 - 0.01 / (0.1 + 1e-8)])
    # centered: grad_avg = 0.01, v - grad_avg^2 = 0.0099
    centered = quadratic_steps(optim.RMSprop, 1, lr=0.01, centered=True)
    np.testing.assert_allclose(centered, [1 - 0.01 / (math.sqrt(0.0099) + 1e-8)])


def test_param_groups_have_their_own_lr() -> None:
    a, b = minitorch.tensor([1.0], requires_grad=True), minitorch.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    (a + b).sum().backward()
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5])
    opt.param_groups[0]["lr"] = 1.0
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [-0.1, 0.0])
    assert opt.state_dict()["param_groups"][1]["params"] == [1]


def schedule(make, epochs: int) -> list[float]:
    opt = optim.SGD([minitorch.tensor([1.0], requires_grad=True)], lr=0.1)
    scheduler = make(opt)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert opt.param_groups[0]["lr"] == lrs[-1]
    return lrs


def test_lr_schedulers() -> None:
    step = schedule(lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 5)
    np.testing.assert_allclose(step, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    exponential = schedule(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), 3)
    np.testing.assert_allclose(exponential, [0.1, 0.09, 0.081, 0.0729])
    cosine = schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4), 4)
    np.testing.assert_allclose(cosine, [0.1, 0.0853553390593, 0.05, 0.0146446609407, 0.0], atol=1e-12)
    lam = schedule(lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1.0 / (epoch + 1)), 3)
    np.testing.assert_allclose(lam, [0.1, 0.05, 0.1 / 3, 0.025])


def test_clip_grad_norm() -> None:
    w = minitorch.tensor([3.0, 4.0], requires_grad=True)
    (w * w * 0.5).sum().backward()  # grad = w, norm 5
    total = nn.utils.clip_grad_norm_([w], max_norm=1.0)
    assert total == 5.0
    np.testing.assert_allclose(w.grad.numpy(), np.array([3.0, 4.0]) / (5.0 + 1e-6))  # PyTorch's 1e-6


# ## Data, checkpoints, default backend


class Squares:
    """A map-style dataset: only __len__ and __getitem__."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> tuple[minitorch.Tensor, float]:
        return minitorch.tensor([float(i), 1.0]), float(i * i)


def test_dataloader_takes_any_map_style_dataset() -> None:
    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    x, y = batches[0]
    np.testing.assert_array_equal(x.numpy(), [[0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(batches[2][1].numpy(), [16.0])


def test_load_accepts_map_location_and_weights_only(tmp_path) -> None:
    minitorch.save({"w": minitorch.tensor([1.0, 2.0])}, tmp_path / "c.mt")
    loaded = minitorch.load(tmp_path / "c.mt", map_location="simple", weights_only=True)
    assert loaded["w"].backend.name == "simple"
    np.testing.assert_array_equal(loaded["w"].numpy(), [1.0, 2.0])


def test_default_backend_is_fast(monkeypatch) -> None:
    from minitorch import backends

    monkeypatch.setattr(backends, "_default_name", "fast")  # the library's default (tests pin simple)
    assert minitorch.tensor([1.0]).backend.name == "fast"
