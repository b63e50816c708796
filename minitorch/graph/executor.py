"""Module 5 — running a graph: an interpreter (one node at a time, for debugging) and a plan.

Both evaluate each node with the chosen backend's kernels, so eager and graph mode share
every kernel. A `Plan` is built once per compiled graph: it resolves each node to the
function that computes it, and releases each value right after its last use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import events
from ..backends.base import TensorBackend
from ..tensor_data import TensorData
from .ir import BINARY, REDUCTIONS, UNARY, WINDOW, Graph, IRError, Node

Kernel = Callable[..., TensorData]


def kernel_for(node: Node, backend: TensorBackend) -> Kernel:
    """The function computing `node` from its inputs' TensorData on `backend`."""
    op = node.op
    if op in UNARY:
        return lambda a: backend.map(op, a)
    if op in BINARY:
        return lambda a, b: backend.zip(op, a, b)
    if op in REDUCTIONS:
        dim = node.attrs["dim"]
        return lambda a: backend.reduce(op, a, dim)
    if op == "matmul":
        return backend.matmul
    if op == "permute":
        order = node.attrs["order"]
        return lambda a: a.permute(*order)
    if op == "cast":
        dtype = node.attrs["to"]
        return lambda a: backend.cast(a, dtype)
    if op == "view":
        shape = node.attrs["shape"]
        return lambda a: (a if a.is_contiguous() else backend.map("id", a)).view(shape)
    if op == "const":
        value = TensorData(np.ascontiguousarray(node.attrs["value"]).reshape(-1), node.shape)
        return lambda: value
    if op == "fused":
        from .codegen import fused_kernel

        return fused_kernel(node, backend)
    if op in WINDOW:
        return window_kernel(node, backend)
    raise IRError(f"%{node.id}: the executor cannot run op {op!r}")


def window_kernel(node: Node, backend: TensorBackend) -> Kernel:
    """The backend's convolution, pooling, unfold or fold kernel, with the node's geometry
    (the kernels eager mode runs). A conv with a bias input adds it per output channel."""
    a = node.attrs
    if node.op == "conv":

        def conv(x: TensorData, w: TensorData, *bias: TensorData) -> TensorData:
            out = backend.conv(x, w, a["stride"], a["padding"], a["dilation"], a.get("groups", 1))
            if not bias:
                return out
            b = bias[0] if bias[0].is_contiguous() else backend.map("id", bias[0])
            return backend.zip("add", out, b.view((b.size, *(1,) * (len(out.shape) - 2))))

        return conv
    if node.op in ("max_pool", "avg_pool"):
        kind = node.op.removesuffix("_pool")
        return lambda x: backend.pool(kind, x, a["kernel"], a["stride"], a["padding"])
    if node.op == "unfold":
        return lambda x: backend.unfold(x, a["kernel"], a["stride"], a["padding"], a["dilation"], a["fill"])
    return lambda cols: backend.fold(cols, a["size"], a["kernel"], a["stride"], a["padding"], a["dilation"])


def interpret(graph: Graph, feeds: dict[int, TensorData], backend: TensorBackend) -> dict[int, TensorData]:
    """Evaluate every node in order, keeping all values (easy to inspect; the debugging path).

    Returns a dict from every node id to its value (feeds included), whose values equal
    eager mode's. An input or param with no value in `feeds` raises IRError; `feeds` itself
    is not modified (a copy is extended).
    """
    values: dict[int, TensorData] = dict(feeds)
    # BEGIN ASSIGN5_1
    for node in graph.nodes:
        if node.op in ("input", "param"):
            if node.id not in values:
                raise IRError(f"no value fed for %{node.id} ({node.op} '{node.name}')")
            continue
        values[node.id] = kernel_for(node, backend)(*(values[i] for i in node.inputs))
    # END ASSIGN5_1
    return values


@dataclass
class Step:
    node: int
    kernel: Kernel
    inputs: tuple[int, ...]
    release: tuple[int, ...]  # values whose last use is this step
    op: str


class Plan:
    """A graph resolved for one backend: steps in order, each value freed after its last use.

    By default `run` calls the plan's wrapper instead of stepping: the whole plan generated as
    one Python function (graph/wrapper.py; `source()` shows it). `wrapper=False` always steps,
    and so does a run while events are listened to (the steps report each kernel)."""

    def __init__(
        self,
        graph: Graph,
        backend: TensorBackend,
        keep: set[int] | None = None,
        wrapper: bool = True,
        name: str = "run",
    ) -> None:
        self.graph, self.use_wrapper, self.name = graph, wrapper, name
        self._wrapper: Any = None
        self.backend = backend
        self.outputs = list(graph.outputs)
        keep = set(keep or ()) | set(graph.outputs)
        last_use: dict[int, int] = {}
        for position, node in enumerate(graph.nodes):
            for i in node.inputs:
                last_use[i] = position
        self.feeds = [n.id for n in graph.nodes if n.op in ("input", "param")]
        self.steps: list[Step] = []
        for position, node in enumerate(graph.nodes):
            if node.op in ("input", "param"):
                continue
            release = tuple(i for i in set(node.inputs) if last_use[i] == position and i not in keep)
            self.steps.append(Step(node.id, kernel_for(node, backend), tuple(node.inputs), release, node.op))
        self.keep = keep

    @property
    def kernel_launches(self) -> int:
        """Steps that launch a kernel (views and constants launch none)."""
        return sum(step.op not in ("permute", "view", "const") for step in self.steps)

    @property
    def wrapper(self) -> Any:
        """The plan as one generated function (a `Wrapper`), built on first use."""
        if self._wrapper is None:
            from .wrapper import Wrapper

            kernels = {step.node: step.kernel for step in self.steps}
            self._wrapper = Wrapper(self.graph, self.backend, self.keep, kernels, self.name)
        return self._wrapper

    def source(self) -> str:
        """The source of the plan's wrapper: one line per node, each naming its IR node."""
        return str(self.wrapper.source)

    def run(self, feeds: dict[int, TensorData]) -> dict[int, TensorData]:
        """Values of the kept nodes (the outputs and anything asked to be kept)."""
        if self.use_wrapper and not events.LISTENERS:
            from .wrapper import WrapperMismatch

            try:
                return self.wrapper(feeds)  # type: ignore[no-any-return]
            except WrapperMismatch:  # fed other shapes or dtypes than compiled for: step
                pass
        return self.step(feeds)

    def step(self, feeds: dict[int, TensorData]) -> dict[int, TensorData]:
        """`run` by the interpreter loop over the steps."""
        values = dict(feeds)
        listening = bool(events.LISTENERS)
        for step in self.steps:
            if listening:
                with events.running_op(f"graph:{step.op}"):
                    values[step.node] = step.kernel(*[values[i] for i in step.inputs])
            else:
                values[step.node] = step.kernel(*[values[i] for i in step.inputs])
            for i in step.release:
                del values[i]
        return {i: values[i] for i in self.keep if i in values}

    def __repr__(self) -> str:
        return f"Plan({len(self.steps)} steps, {self.kernel_launches} kernel launches, backend {self.backend.name!r})"


def feeds_for(graph: Graph, tensors: list[Any]) -> dict[int, TensorData]:
    """Pair the graph's input/param nodes (in order) with the data of `tensors`."""
    sources = [n for n in graph.nodes if n.op in ("input", "param")]
    if len(sources) != len(tensors):
        raise IRError(f"graph takes {len(sources)} inputs, got {len(tensors)}")
    feeds = {}
    for node, tensor in zip(sources, tensors):
        if tuple(tensor.shape) != node.shape:
            raise IRError(f"input '{node.name}' (%{node.id}) expects shape {node.shape}, got {tuple(tensor.shape)}")
        feeds[node.id] = tensor._tensor
    return feeds
