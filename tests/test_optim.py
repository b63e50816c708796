"""optim: SGD and Adam step by step against the update formulas written out in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch
from minitorch import Parameter, optim

START = np.array([[0.5, -1.0, 2.0], [0.25, 0.0, -3.0]])
TARGET = np.array([[1.0, 2.0, -1.0], [0.0, 0.5, 0.5]])


def loss_and_grad(p: Parameter) -> np.ndarray:
    """Backward of L = sum((w * w - target * w)) and the gradient numpy expects: 2w - target."""
    w = p.value
    ((w * w) - w * minitorch.tensor(TARGET)).sum().backward()
    return 2 * w.numpy() - TARGET


def run(
    optimizer_cls: type[optim.Optimizer], steps: int = 3, **kwargs: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Values after each step, and the gradient used at each step."""
    p = Parameter(minitorch.tensor(START))
    optimizer = optimizer_cls([p], **kwargs)
    values, grads = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        grads.append(loss_and_grad(p))
        np.testing.assert_allclose(p.value.grad.numpy(), grads[-1], rtol=1e-14)
        optimizer.step()
        values.append(p.value.numpy())
    return values, grads


def expected_sgd(lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> list[np.ndarray]:
    w, buffer, out = START.copy(), None, []
    for _ in range(3):
        g = 2 * w - TARGET + weight_decay * w
        if momentum:
            buffer = g if buffer is None else momentum * buffer + g
            g = buffer
        w = w - lr * g
        out.append(w)
    return out


@pytest.mark.parametrize(
    "settings",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.05, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01},
    ],
    ids=["plain", "momentum", "weight_decay", "both"],
)
def test_sgd_three_steps(settings: dict[str, float]) -> None:
    values, _ = run(optim.SGD, **settings)
    for got, want in zip(values, expected_sgd(**settings)):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_sgd_first_step_by_hand() -> None:
    values, _grads = run(optim.SGD, steps=1, lr=0.1)
    # w = 0.5, target 1.0: g = 2 * 0.5 - 1 = 0, so the first entry stays; w = -1: g = -4, w -> -0.6
    assert values[0][0, 0] == 0.5 and values[0][0, 1] == pytest.approx(-0.6)


def expected_adam(
    lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0
) -> list[np.ndarray]:
    w, m, v, out = START.copy(), np.zeros_like(START), np.zeros_like(START), []
    for t in range(1, 4):
        g = 2 * w - TARGET + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize(
    "settings",
    [{"lr": 0.1}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 0.05, "weight_decay": 0.1}],
    ids=["default", "betas", "weight_decay"],
)
def test_adam_three_steps(settings: dict) -> None:
    values, _ = run(optim.Adam, **settings)
    for got, want in zip(values, expected_adam(**settings)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_weight_by_lr() -> None:
    # On step 1, m_hat = g and v_hat = g^2, so the update is lr * sign(g) (up to eps).
    values, grads = run(optim.Adam, steps=1, lr=0.1)
    nonzero = grads[0] != 0
    np.testing.assert_allclose((START - values[0])[nonzero], 0.1 * np.sign(grads[0][nonzero]), rtol=1e-6)


def test_adam_state_layout() -> None:
    p = Parameter(minitorch.tensor(START))
    adam = optim.Adam([p], lr=0.1)
    for _ in range(2):
        adam.zero_grad()
        loss_and_grad(p)
        adam.step()
    state = adam.state_dict()
    assert state["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [0]}
    ]
    assert state["state"][0]["step"] == 2
    assert state["state"][0]["exp_avg"].shape == START.shape


def test_step_updates_in_place_and_skips_params_without_grad() -> None:
    used, unused = Parameter(minitorch.tensor(START)), Parameter(minitorch.tensor([1.0, 2.0]))
    tensor_before = used.value
    sgd = optim.SGD([used, unused], lr=0.1, momentum=0.9)
    loss_and_grad(used)
    sgd.step()
    assert used.value is tensor_before and used.value.requires_grad and used.value.is_leaf
    np.testing.assert_array_equal(unused.value.numpy(), [1.0, 2.0])
    assert 1 not in sgd.state  # no momentum buffer for a parameter that never had a gradient
    sgd.zero_grad()
    assert used.value.grad is None


def test_optimizer_accepts_tensors_and_module_parameters() -> None:
    w = minitorch.tensor([1.0, -1.0], requires_grad=True)
    sgd = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    sgd.step()
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])
    model = minitorch.nn.Linear(3, 2, seed=0)
    assert len(optim.Adam(model.parameters()).parameters) == 2


def test_float32_parameters_stay_float32() -> None:
    w = Parameter(minitorch.tensor(START, dtype="float32"))
    adam = optim.Adam([w], lr=0.1)
    loss = (w.value * w.value).sum()
    loss.backward()
    adam.step()
    assert w.value.dtype == np.float32
    assert adam.state[0]["exp_avg"].dtype == np.float32 and adam.state[0]["exp_avg_sq"].dtype == np.float32


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([minitorch.zeros((1,))], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([minitorch.zeros((1,))], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="Parameters holding Tensors"):
        optim.SGD([Parameter(minitorch.Scalar(1.0))], lr=0.1)


def test_load_state_dict_checks_shapes_and_counts() -> None:
    a = optim.SGD([minitorch.zeros((2,))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="state is for 1 parameters, this optimizer has 2"):
        optim.SGD([minitorch.zeros((2,)), minitorch.zeros((1,))], lr=0.1).load_state_dict(a.state_dict())
    bad = {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": a.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=r"momentum_buffer.*\(3,\).*\(2,\)"):
        a.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"settings \['lr', 'momentum', 'weight_decay'\].*\['betas'"):
        optim.Adam([minitorch.zeros((2,))]).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="not an optimizer state dict"):
        a.load_state_dict({"weights": 1})
    assert a.hyperparameters["lr"] == 0.1 and not a.state


def test_sgd_converges_on_a_quadratic() -> None:
    p = Parameter(minitorch.tensor(START))
    sgd = optim.SGD([p], lr=0.1, momentum=0.5)
    for _ in range(60):
        sgd.zero_grad()
        loss_and_grad(p)
        sgd.step()
    np.testing.assert_allclose(p.value.numpy(), TARGET / 2, atol=1e-6)
    assert math.isclose(float(p.value.numpy()[0, 0]), 0.5, abs_tol=1e-6)
