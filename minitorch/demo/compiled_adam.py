"""Graph mode with Adam: forward, loss, backward and Adam's update of every parameter, compiled
into one program (the demo's `--mode graph`; `graph.CompiledTrainStep` is the SGD version).

Per parameter θ with gradient g, at step t (the update `optim.Adam` makes eagerly):

    m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

The moments m and v are inputs and outputs of the program; the two factors that depend on t
are fed as one-element inputs, so one compiled program serves every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..autodiff import backpropagate
from ..graph.compile import default_passes, symbolic_parameters
from ..graph.executor import Plan
from ..graph.ir import Graph
from ..graph.passes import run_passes
from ..graph.split import slice_graph
from ..graph.trace import SymbolicBackend, node_id, placeholder, symbolic_input
from ..module import Module
from ..optim import Adam
from ..tensor import Tensor
from ..tensor_data import TensorData


class AdamProgram(NamedTuple):
    """The compiled training step and where its values are."""

    graph: Graph
    plan: Plan
    input_ids: list[int]  # x, y, step factors (2), then per parameter: value, m, v
    loss_id: int
    new_ids: list[int]  # per parameter: new value, new m, new v


class CompiledAdamStep:
    """`step(x, y)`: one compiled program runs forward, backward and Adam; returns the loss.

    The hyperparameters are those of `optimizer` (an `optim.Adam` over the model's parameters).
    """

    def __init__(self, model: Module, loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: Adam) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.programs: dict[tuple, AdamProgram] = {}
        self.compile_seconds = 0.0
        self.steps = 0
        self.moments: list[tuple[TensorData, TensorData]] | None = None

    @property
    def compile_count(self) -> int:
        return len(self.programs)

    def program(self, x: Tensor, y: Tensor) -> AdamProgram:
        """The program for inputs shaped like x and y (traced and compiled on first use)."""
        key = (x.shape, y.shape, x.dtype.name, x.backend.name)
        if key not in self.programs:
            start = time.perf_counter()
            self.programs[key] = self._compile(x, y)
            self.compile_seconds += time.perf_counter() - start
        return self.programs[key]

    def __call__(self, x: Tensor, y: Tensor) -> float:
        program = self.program(x, y)
        params = [p for _, p in self.model.named_parameters()]
        if self.moments is None:
            self.moments = [(zeros_like(p.value), zeros_like(p.value)) for p in params]
        self.steps += 1
        state = [d for p, (m, v) in zip(params, self.moments) for d in (p.value._tensor, m, v)]
        feeds = dict(zip(program.input_ids, [x._tensor, y._tensor, *self.step_factors(x), *state]))
        values = program.plan.run(feeds)
        new = [values[i] for i in program.new_ids]
        for k, p in enumerate(params):
            p.value._tensor, p.value.grad = new[3 * k], None  # the parameter now holds its new value
        self.moments = [(new[3 * k + 1], new[3 * k + 2]) for k in range(len(params))]
        return float(values[program.loss_id].to_numpy().reshape(-1)[0])

    def step_factors(self, x: Tensor) -> list[TensorData]:
        """η / (1 − β₁ᵗ) and 1 / √(1 − β₂ᵗ) for the coming step t, as one-element inputs."""
        beta1, beta2 = self.optimizer.hyperparameters["betas"]
        t, lr = self.steps, self.optimizer.hyperparameters["lr"]
        factors = [lr / (1.0 - beta1**t), 1.0 / math.sqrt(1.0 - beta2**t)]
        return [TensorData(np.array([f], dtype=x.dtype), (1,)) for f in factors]

    def _compile(self, x: Tensor, y: Tensor) -> AdamProgram:
        """Trace loss, backward and Adam's update of every parameter into one optimised graph."""
        joint = Graph()
        symbolic = SymbolicBackend(joint, x.backend)
        sx = symbolic_input(joint, symbolic, x.detach(), "input", "x")
        sy = symbolic_input(joint, symbolic, y.detach(), "input", "y")
        lr_t, c2 = (placeholder(joint, symbolic, (1,), x.dtype.name, name) for name in ("lr_t", "inv_sqrt_bc2"))
        with symbolic_parameters(self.model, joint, symbolic) as params:
            loss = self.loss_fn(self.model(sx), sy)
            ones = TensorData(np.ones(1, dtype=loss.dtype), loss.shape)
            backpropagate(loss, Tensor(ones, backend=symbolic))
            moments = [
                tuple(placeholder(joint, symbolic, p.shape, p.dtype.name, f"{kind}{i}") for kind in ("m", "v"))
                for i, p in enumerate(params)
            ]
            updates = [self.adam_update(p, m, v, lr_t, c2) for p, (m, v) in zip(params, moments)]
        input_ids = [node_id(t) for t in (sx, sy, lr_t, c2)]
        input_ids += [node_id(t) for p, (m, v) in zip(params, moments) for t in (p, m, v)]
        new_ids = [node_id(t) for triple in updates for t in triple]
        graph = run_passes(slice_graph(joint, [node_id(loss), *new_ids], input_ids), default_passes())
        return AdamProgram(graph, Plan(graph, x.backend), input_ids, node_id(loss), new_ids)

    def adam_update(self, p: Tensor, m: Tensor, v: Tensor, lr_t: Tensor, c2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(new θ, new m, new v): Adam's formulas on symbolic tensors (see the module docstring)."""
        (beta1, beta2), eps = self.optimizer.hyperparameters["betas"], self.optimizer.hyperparameters["eps"]
        g = p.grad
        assert g is not None, "backpropagate gave every parameter a gradient"
        if self.optimizer.hyperparameters["weight_decay"] != 0.0:
            g = g + self.optimizer.hyperparameters["weight_decay"] * p
        m_new = beta1 * m + (1.0 - beta1) * g
        v_new = beta2 * v + (1.0 - beta2) * (g * g)
        return p - lr_t * m_new / (v_new.sqrt() * c2 + eps), m_new, v_new


def zeros_like(t: Tensor) -> TensorData:
    return TensorData(np.zeros(t.numel(), dtype=t.dtype), t.shape)
