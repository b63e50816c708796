"""Gradient health on three real bugs: a vanishing sigmoid stack, dead ReLUs from a too-large
learning rate, and NaN from the log of a softmax that hit zero."""

from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch import Module, Parameter, nn, optim
from minitorch.health import EXPLODING, RATIO_HIGH, VANISHING, flags_for
from minitorch.nn import MLP


class SigmoidStack(Module):
    """y = sigmoid(sigmoid(... sigmoid(w * x))): each sigmoid multiplies the gradient by <= 1/4."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.w = Parameter(minitorch.tensor([[0.5]]))
        self.depth = depth

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        y = x * self.w.value
        for _ in range(self.depth):
            y = y.sigmoid()
        return y


def test_vanishing_gradient_through_a_sigmoid_stack() -> None:
    model = SigmoidStack(depth=14)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with minitorch.record() as rec:
        opt.zero_grad()
        model(minitorch.tensor([[1.0]])).sum().backward()
        grad = float(model.w.value.grad.numpy().ravel()[0])
        opt.step()
    (row,) = rec.gradient_health().rows
    assert row.name == "w" and row.grad_norm == pytest.approx(abs(grad))
    assert abs(grad) < VANISHING and "vanishing" in row.flags
    shallow = SigmoidStack(depth=2)
    with minitorch.record() as rec2:
        shallow(minitorch.tensor([[1.0]])).sum().backward()
        optim.SGD(shallow.parameters(), lr=0.1).step()
    assert "vanishing" not in rec2.gradient_health().rows[0].flags


def test_dead_relus_after_a_too_large_learning_rate() -> None:
    data = minitorch.data.toy_dataset("xor", 32, seed=0)
    model = MLP([2, 8, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=30.0)
    X, y = minitorch.tensor(data.X), minitorch.tensor(data.y)
    data_X = np.asarray(data.X)
    hidden = []
    with minitorch.record() as rec:
        for _ in range(4):
            opt.zero_grad()
            nn.cross_entropy(model(X), y).backward()
            layer = model.layers.modules()[0]
            w, b = layer.weight.value.numpy(), layer.bias.value.numpy()
            hidden.append(np.maximum(data_X @ w.T + b, 0.0))  # ReLU(x W^T + b), as PyTorch's Linear
            opt.step()
    health = rec.gradient_health()
    for iteration, h in enumerate(hidden):
        (row,) = [r for r in health.at(iteration) if r.name == "layers.0.weight"]
        assert row.dead_relu == pytest.approx(float((~h.any(axis=0)).mean()))
    first = health.at(0)[0]
    assert first.update_ratio > RATIO_HIGH and "update too large" in first.flags
    last = [r for r in health.at(3) if r.name == "layers.0.weight"][0]
    assert last.dead_relu == 1.0 and "dead ReLUs" in last.flags and "vanishing" in last.flags
    text = str(health)
    assert "Gradient health" in text and "layers.0.weight" in text and "dead ReLUs" in text


def test_nan_from_log_of_a_softmax_that_hit_zero() -> None:
    data = minitorch.data.toy_dataset("xor", 8, seed=0)
    model = MLP([2, 4, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    X = minitorch.tensor(data.X)
    targets = minitorch.tensor(np.eye(2)[np.asarray(data.y, dtype=int)])
    with np.errstate(all="ignore"), minitorch.record() as rec:
        for scale in (1.0, 1.0, 1e4):  # the third iteration's logits are huge: softmax underflows to 0
            opt.zero_grad()
            probs = nn.softmax(model(X) * scale, dim=1)
            (-(targets * probs.log()).sum(1).mean()).backward()  # the bug: log of softmax
            opt.step()
    assert rec.first_nonfinite_iteration() == 2
    rows = rec.gradient_health().at(2)
    assert any("NaN/Inf gradient" in r.flags for r in rows)
    assert all(not r.flags or "NaN/Inf gradient" not in r.flags for r in rec.gradient_health().at(0))


def test_flags_follow_the_rules_of_thumb() -> None:
    assert flags_for(1e-8, 1e-3, None) == ["vanishing"]
    assert flags_for(EXPLODING * 2, 1e-3, None) == ["exploding"]
    assert flags_for(1.0, 0.5, None) == ["update too large"]
    assert flags_for(1.0, 1e-6, None) == ["update too small"]
    assert flags_for(1.0, 1e-3, 0.5) == ["dead ReLUs"]
    assert flags_for(1.0, 1e-3, 0.1) == []
