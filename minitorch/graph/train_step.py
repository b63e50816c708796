"""Module 5 — a whole training step as one graph: forward, loss, backward and the SGD update
of every parameter, traced together and compiled into one plan.

    step = CompiledTrainStep(model, loss_fn, lr=0.1)
    loss = step(x, y)          # runs the plan; the model's parameters now hold the new values
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..autodiff import backpropagate
from ..module import Module
from ..tensor import Tensor
from ..tensor_data import TensorData
from .compile import default_passes, symbolic_parameters
from .executor import Plan
from .guards import module_state
from .ir import Graph
from .passes import Pass, run_passes
from .split import slice_graph
from .trace import RandomSource, SymbolicBackend, node_id, symbolic_input


class TrainStepEntry(NamedTuple):
    """One specialisation of a training step (per input shapes, dtype and backend)."""

    graph: Graph
    plan: Plan
    input_ids: list[int]  # x, y, then every parameter
    new_ids: list[int]  # per parameter, the node with its updated value
    loss_id: int
    random: list[RandomSource]  # inputs fed fresh random numbers each step (dropout masks)


class CompiledTrainStep:
    """forward, loss, backward and the SGD update of every parameter, compiled into one graph.

    `step(x, y)` returns the loss and writes the updated parameter values into the model.
    """

    def __init__(
        self,
        model: Module,
        loss_fn: Callable[[Tensor, Tensor], Tensor],
        lr: float,
        passes: Sequence[Pass] | None = None,
        wrapper: bool = True,
    ) -> None:
        self.model, self.loss_fn, self.lr = model, loss_fn, lr
        self.wrapper = wrapper  # run the plan as its generated function (graph/wrapper.py)
        self.passes = default_passes() if passes is None else list(passes)
        self.cache: dict[Any, TrainStepEntry] = {}
        self.compile_count = 0

    def graph(self, x: Tensor, y: Tensor) -> Graph:
        """The optimised training-step graph for inputs shaped like x and y (compiling if needed)."""
        return self._entry(x, y).graph

    def plan(self, x: Tensor, y: Tensor) -> Plan:
        return self._entry(x, y).plan

    def source(self, x: Tensor, y: Tensor) -> str:
        """The generated function that runs a whole step for inputs shaped like x and y."""
        return self.plan(x, y).source()

    def _entry(self, x: Tensor, y: Tensor) -> TrainStepEntry:
        key = (x.shape, y.shape, x.dtype.name, x.backend.name, module_state(self.model))
        if key not in self.cache:
            self.cache[key] = self._compile(x, y)
            self.compile_count += 1
        return self.cache[key]

    def __call__(self, x: Tensor, y: Tensor) -> float:
        entry = self._entry(x, y)
        params = [p for _, p in self.model.named_parameters()]
        feeds = dict(zip(entry.input_ids, [x._tensor, y._tensor] + [p.value._tensor for p in params]))
        feeds.update({source.node: source.sample() for source in entry.random})
        values = entry.plan.run(feeds)
        for p, i in zip(params, entry.new_ids):
            p.value._tensor = values[i]  # the parameter tensor now holds the updated values
            p.value.grad = None
        return float(values[entry.loss_id].to_numpy().reshape(-1)[0])

    def _compile(self, x: Tensor, y: Tensor) -> TrainStepEntry:
        """Trace loss, backward and `p - lr * grad` for every parameter p into one graph."""
        joint = Graph()
        symbolic = SymbolicBackend(joint, x.backend)
        sx = symbolic_input(joint, symbolic, x.detach(), "input", "x")
        sy = symbolic_input(joint, symbolic, y.detach(), "input", "y")
        with symbolic_parameters(self.model, joint, symbolic) as params:
            loss = self.loss_fn(self.model(sx), sy)
        if loss.numel() != 1:
            raise ValueError(f"the loss must have one element, got shape {loss.shape}")
        ones = TensorData(np.ones(1, dtype=loss.dtype), loss.shape)
        backpropagate(loss, Tensor(ones, backend=symbolic))
        updated = []
        for p in params:
            assert p.grad is not None, "backpropagate gave every parameter a gradient"
            updated.append(p - self.lr * p.grad)
        input_ids = [node_id(sx), node_id(sy)] + [node_id(p) for p in params]
        outputs = [node_id(loss)] + [node_id(t) for t in updated]
        random = symbolic.random_sources
        graph = run_passes(slice_graph(joint, outputs, input_ids + [s.node for s in random]), self.passes)
        plan = Plan(graph, x.backend, wrapper=self.wrapper, name="train_step")
        return TrainStepEntry(graph, plan, input_ids, outputs[1:], outputs[0], list(random))
