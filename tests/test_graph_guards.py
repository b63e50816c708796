"""A compiled module's cache key (graph/guards.py `ModuleGuard`) is rebuilt only when the
module may have changed: after any attribute assignment (`Module.state_version`), or when a
`training` flag, a parameter object or a parameter's shape, dtype, backend or requires_grad
differs from the last call. Each test changes one of them after compiling and checks that the
compiled module then gives eager mode's outputs and gradients (to 1e-12)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minitorch
from minitorch import nn, tensor
from minitorch.module import Parameter


class Net(minitorch.Module):
    """Linear, ReLU, Linear, times `scale` in training mode only: attributes that change only
    by assignment."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(3, 4, backend="fast", seed=0)
        self.last = nn.Linear(4, 2, backend="fast", seed=1)
        self.scale = 1.5

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        out = self.last(self.first(x).relu())
        return out * self.scale if self.training else out


class NetWithList(Net):
    """Net times each of `factors`: a list, which can change in place."""

    def __init__(self) -> None:
        super().__init__()
        self.factors = [1.0]

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        out = super().forward(x)
        for f in self.factors:
            out = out * f
        return out


def outputs_and_grads(fn: Callable, model: minitorch.Module, x: minitorch.Tensor) -> list:
    """fn(x) and every parameter's gradient after backward of its sum (None where none)."""
    model.zero_grad()
    out = fn(x)
    out.sum().backward()
    return [out.numpy()] + [None if p.grad is None else p.grad.numpy() for p in model.parameters()]


def assert_compiled_equals_eager(model: minitorch.Module, compiled: minitorch.graph.Compiled, x) -> None:
    got, expected = outputs_and_grads(compiled, model, x), outputs_and_grads(model, model, x)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert (g is None) == (e is None)
        if g is not None:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def new_weight(layer: nn.Linear, rows: int | None = None) -> Parameter:
    rows = rows or layer.weight.shape[0]
    values = np.random.default_rng(7).uniform(-1, 1, (rows, layer.weight.shape[1]))
    return Parameter(tensor(values, backend=layer.weight.backend, dtype=layer.weight.dtype))


def replace_the_last_layer(model: Net) -> None:
    model.last = nn.Linear(4, 3, backend="fast", seed=2)  # another output width


def write_into_parameters(model: Net) -> None:  # no attribute assignment: the walk sees it
    model.first._parameters["weight"] = new_weight(model.first)


def set_training_directly(model: Net) -> None:  # as eval(), bypassing Module.__setattr__
    for _, m in model.named_modules():
        object.__setattr__(m, "training", False)


def change_the_shape_in_place(model: Net) -> None:  # the same Parameter, another shape
    bias = model.last.bias
    bias._tensor = tensor(np.ones((1, 2)), backend="fast")._tensor


MUTATIONS: dict[str, Callable[[Net], object]] = {
    "assign a new parameter": lambda m: setattr(m.first, "weight", new_weight(m.first)),
    "replace a layer": replace_the_last_layer,
    "write into _parameters": write_into_parameters,
    "freeze a parameter": lambda m: setattr(m.first.weight, "requires_grad", False),
    "change a parameter's shape in place": change_the_shape_in_place,
    "eval()": lambda m: m.eval(),
    "set training directly": set_training_directly,
    "assign a plain attribute": lambda m: setattr(m, "scale", -2.0),
    "mutate a list attribute in place": lambda m: m.factors.append(3.0),  # type: ignore[attr-defined]
    "to float32": lambda m: m.to(dtype="float32"),
}


# Changes that keep every parameter's signature need no new trace (parameters are inputs).
SAME_TRACE = ("assign a new parameter", "write into _parameters")


@pytest.mark.parametrize("name", MUTATIONS)
def test_a_change_after_compiling_gives_eager_results(name: str) -> None:
    model = NetWithList() if name == "mutate a list attribute in place" else Net()
    compiled = minitorch.compile(model)
    x = tensor(np.random.default_rng(3).uniform(-1, 1, (5, 3)), backend="fast")
    for _ in range(2):  # the second call takes the guard's fast path
        compiled(x).sum().backward()
    MUTATIONS[name](model)
    x = x if model.first.weight.dtype == np.float64 else tensor(x.numpy(), backend="fast", dtype="float32")
    assert_compiled_equals_eager(model, compiled, x)
    assert_compiled_equals_eager(model, compiled, x)  # and again, on the fast path
    assert compiled.compile_count == (1 if name in SAME_TRACE else 2)


def test_training_mode_flips_back_and_forth() -> None:
    model = Net()
    compiled = minitorch.compile(model)
    x = tensor(np.random.default_rng(4).uniform(-1, 1, (5, 3)), backend="fast")
    for mode in [model.train, model.eval] * 2:
        mode()
        assert_compiled_equals_eager(model, compiled, x)
    assert compiled.compile_count == 2  # one trace per mode, each reused


def test_an_unchanged_module_is_traced_once_and_sees_new_values() -> None:
    model = Net()
    compiled = minitorch.compile(model)
    optimizer = minitorch.optim.SGD(model.parameters(), lr=0.1)
    x = tensor(np.random.default_rng(5).uniform(-1, 1, (5, 3)), backend="fast")
    for _ in range(3):
        optimizer.zero_grad()
        compiled(x).sum().backward()
        optimizer.step()  # new values in the same parameters: inputs, not part of the key
    assert compiled.compile_count == 1
    assert_compiled_equals_eager(model, compiled, x)


def test_a_model_moved_to_another_backend_recompiles_there() -> None:
    model = nn.Sequential(nn.Linear(3, 2, backend="simple", seed=0), nn.ReLU())
    compiled = minitorch.compile(model)
    x = tensor(np.random.default_rng(6).uniform(-1, 1, (4, 3)), backend="simple")
    compiled(x)
    model.to("cpu")  # the fast backend
    x = tensor(x.numpy(), backend="fast")
    assert_compiled_equals_eager(model, compiled, x)
    assert compiled.compile_count == 2
    assert compiled.latest is not None and compiled.latest.backend.name == "fast"
