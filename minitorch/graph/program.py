"""Module 5 — the explicit symbolic API (TF1 / Theano style): define the graph, then run it.

p = Program(backend="fast")
x = p.placeholder((4, 3), name="x", requires_grad=True)
w = p.placeholder((3, 2), name="w", requires_grad=True)
loss = (x @ w).sigmoid().sum()
dx, dw = p.gradients(loss, [x, w])
run = p.compile([loss, dx, dw])
loss_value, dx_value, dw_value = run(x=..., w=...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backends
from ..autodiff import backpropagate
from ..tensor import Tensor
from ..tensor_data import TensorData
from .executor import Plan
from .ir import Graph, Node
from .passes import Pass, run_passes
from .split import slice_graph
from .trace import SymbolicBackend, node_id, placeholder


class Program:
    """Build a graph from placeholders, ask for gradients, compile, then run with values."""

    def __init__(self, backend: str | None = None) -> None:
        self.graph = Graph()
        self.real = backends.get_backend(backend)
        self.symbolic = SymbolicBackend(self.graph, self.real)
        self.placeholders: dict[str, Tensor] = {}

    def placeholder(
        self, shape: Sequence[int], dtype: str = "float64", name: str | None = None, requires_grad: bool = False
    ) -> Tensor:
        name = name or f"input{len(self.placeholders)}"
        if name in self.placeholders:
            raise ValueError(f"placeholder {name!r} already exists")
        tensor = placeholder(self.graph, self.symbolic, tuple(shape), dtype, name, requires_grad)
        self.placeholders[name] = tensor
        return tensor

    def gradients(self, output: Tensor, wrt: Sequence[Tensor]) -> list[Tensor]:
        """Symbolic d(output)/d(each of wrt): graph nodes built by the eager derivative rules."""
        if output.numel() != 1:
            raise ValueError(f"gradients: output must have one element, got shape {output.shape}")
        for t in wrt:
            if not t.requires_grad:
                raise ValueError(f"gradients: {t.name!r} was not made with requires_grad=True")
            t.grad = None
        ones = TensorData(np.ones(1, dtype=output.dtype), output.shape)
        backpropagate(output, Tensor(ones, backend=self.symbolic), retain_graph=True)
        result = []
        for t in wrt:
            if t.grad is None:  # output does not depend on t
                t.grad = Tensor(TensorData(np.zeros(t.numel(), dtype=t.dtype), t.shape), backend=self.symbolic) + 0.0
            result.append(t.grad)
        return result

    def compile(self, outputs: Sequence[Tensor], passes: Sequence[Pass] | None = None) -> Callable[..., list[Tensor]]:
        """A function of the placeholders (by name) returning the outputs' values.

        The function carries its optimised graph and plan as `run.graph` and `run.plan`.
        """
        ids = [node_id(t) for t in outputs]
        sources = [node_id(t) for t in self.placeholders.values()]
        graph = run_passes(slice_graph(self.graph, ids, sources), passes)
        plan = Plan(graph, self.real)
        names = {node_id(t): name for name, t in self.placeholders.items()}
        sources_in_graph = [n for n in graph.nodes if n.op == "input"]
        real = self.real  # not `self`: the run function must not keep the whole Program alive

        def run(**values: Any) -> list[Tensor]:
            feeds = feeds_by_name(sources_in_graph, names, values)
            out = plan.run(feeds)
            return [Tensor(out[i], backend=real) for i in ids]

        run.graph = graph  # type: ignore[attr-defined]
        run.plan = plan  # type: ignore[attr-defined]
        return run


def feeds_by_name(sources: list[Node], names: dict[int, str], values: dict[str, Any]) -> dict[int, TensorData]:
    """The plan's feeds from placeholder values given by name (Tensors, arrays or nested lists)."""
    missing = [names[n.id] for n in sources if names.get(n.id) not in values]
    if missing:
        raise TypeError(f"missing values for placeholders: {', '.join(missing)}")
    feeds = {}
    for n in sources:
        value = values[names[n.id]]
        data = (
            value._tensor
            if isinstance(value, Tensor)
            else TensorData(np.asarray(value, dtype=n.dtype).reshape(-1), np.shape(value))
        )
        if tuple(data.shape) != n.shape:
            raise ValueError(f"placeholder {names[n.id]!r} expects shape {n.shape}, got {tuple(data.shape)}")
        feeds[n.id] = data
    return feeds
