"""Module 5 — the IR: a flat, typed list of nodes, printable as text and as a table.

Each node is one op with its inputs (earlier nodes), attributes, and the shape and dtype
of its result — plain data, like torch.fx's Graph or a JAX jaxpr:

    %3:f64[4,3] = mul %1 %2
    %4:f64[4,1] = sum %3 dim=1
    %7:f64[2,4,6,6] = conv %5 %6 dilation=(1,1) padding=(1,1) stride=(1,1)

Nodes are kept in topological order (every input appears before its user).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..backends.base import ConvGeometry
from ..tensor_data import ShapeError, shape_broadcast

# Op names. The elementwise ops and reductions are the op table's (minitorch/ops.py), read
# live so a newly registered primitive is an IR op too; sources have no inputs.
SOURCES = frozenset({"input", "param", "const"})
UNARY = ops.UNARY
BINARY = ops.BINARY
ELEMENTWISE = ops.ELEMENTWISE
REDUCTIONS = ops.LiveNames(lambda: set(ops.REDUCTIONS))
LAYOUT = frozenset({"permute", "view"})
# Sliding-window ops (module 4), each a backend kernel: conv (x, weight[, bias]), max_pool and
# avg_pool (x), and unfold/fold (im2col/col2im), which their backward rules are written in.
WINDOW = frozenset({"conv", "max_pool", "avg_pool", "unfold", "fold"})
OPS = ops.LiveNames(lambda: set(SOURCES | LAYOUT | ELEMENTWISE | REDUCTIONS | WINDOW) | {"matmul", "fused", "cast"})

SHORT_DTYPE = {"float64": "f64", "float32": "f32"}


class IRError(ValueError):
    """A graph that is not well formed (bad order, unknown op, inconsistent shapes)."""


@dataclass
class Node:
    """One value of the program: `op(inputs, **attrs)` with a shape and dtype."""

    id: int
    op: str
    inputs: list[int]
    shape: tuple[int, ...]
    dtype: str
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def type_text(self) -> str:
        return f"{SHORT_DTYPE.get(self.dtype, self.dtype)}[{','.join(str(s) for s in self.shape)}]"

    def attr_text(self) -> str:
        parts = []
        for key, value in sorted(self.attrs.items()):
            if key in ("value", "program"):
                continue
            parts.append(f"{key}={_short(value)}")
        if "program" in self.attrs:
            parts.append("{" + "; ".join(f"{op}({', '.join(args)})" for op, args in self.attrs["program"]) + "}")
        return " ".join(parts)

    def __str__(self) -> str:
        args = " ".join(f"%{i}" for i in self.inputs)
        head = f"%{self.id}:{self.type_text()} = {self.op}"
        if self.op in ("input", "param") and self.name:
            head += f" '{self.name}'"
        if self.op == "const":
            head += " " + _const_text(self.attrs["value"])
        return " ".join(part for part in (head, args, self.attr_text()) if part)


def _short(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ",".join(str(v) for v in value) + ")"
    return str(value)


def _const_text(value: np.ndarray) -> str:
    if value.size == 1:
        return f"{float(value.reshape(-1)[0]):.6g}"
    return f"<{value.size} values>"


@dataclass
class Graph:
    """A program: nodes in topological order, which are inputs, which are outputs."""

    nodes: list[Node] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(0), repr=False, compare=False)

    # -- building ----------------------------------------------------------------

    def add(
        self, op: str, inputs: list[int], shape: tuple[int, ...], dtype: str, /, name: str = "", **attrs: Any
    ) -> Node:
        # Positional-only (`/`): an op may have an attribute called `shape` (view) or `dtype`.
        node = Node(next(self._ids), op, list(inputs), tuple(shape), dtype, attrs, name)
        self.nodes.append(node)
        return node

    def fresh_id(self) -> int:
        return next(self._ids)

    # -- looking up ----------------------------------------------------------------

    def node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"no node %{node_id}")

    def by_id(self) -> dict[int, Node]:
        return {node.id: node for node in self.nodes}

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op == "input"]

    @property
    def params(self) -> list[Node]:
        return [n for n in self.nodes if n.op == "param"]

    def users(self) -> dict[int, list[int]]:
        """For each node id, the ids of the nodes that read it."""
        result: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for node in self.nodes:
            for i in node.inputs:
                result[i].append(node.id)
        return result

    def count(self, op: str) -> int:
        return sum(node.op == op for node in self.nodes)

    def copy(self) -> Graph:
        graph = Graph(
            [Node(n.id, n.op, list(n.inputs), n.shape, n.dtype, dict(n.attrs), n.name) for n in self.nodes],
            list(self.outputs),
        )
        graph._ids = itertools.count(max((n.id for n in self.nodes), default=-1) + 1)
        return graph

    # -- showing -------------------------------------------------------------------

    def __str__(self) -> str:
        lines = [str(node) for node in self.nodes]
        lines.append("return " + ", ".join(f"%{i}" for i in self.outputs))
        return "\n".join(lines)

    def print_tabular(self) -> None:
        """Print the nodes as a Rich table (id, op, inputs, type, attributes)."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title="IR graph")
        for column in ("id", "op", "inputs", "type", "attributes"):
            table.add_column(column)
        for node in self.nodes:
            table.add_row(
                f"%{node.id}",
                node.op + (f" '{node.name}'" if node.name else ""),
                " ".join(f"%{i}" for i in node.inputs),
                node.type_text(),
                node.attr_text(),
            )
        Console().print(table)

    # -- checking ------------------------------------------------------------------

    def check(self) -> None:
        """Raise IRError unless the graph is well formed: known ops, inputs defined before
        use, outputs defined, and every node's shape what its op gives its inputs' shapes."""
        seen: dict[int, Node] = {}
        for node in self.nodes:
            if node.op not in OPS:
                raise IRError(f"%{node.id}: unknown op {node.op!r}")
            if node.id in seen:
                raise IRError(f"%{node.id}: defined twice")
            for i in node.inputs:
                if i not in seen:
                    raise IRError(f"%{node.id} = {node.op}: input %{i} is not defined before it")
            expected = infer_shape(node, [seen[i] for i in node.inputs])
            if expected != node.shape:
                raise IRError(f"%{node.id} = {node.op}: shape {node.shape} but its inputs give {expected}")
            seen[node.id] = node
        for i in self.outputs:
            if i not in seen:
                raise IRError(f"output %{i} is not a node of the graph")


def infer_shape(node: Node, inputs: list[Node]) -> tuple[int, ...]:
    """The shape `node.op` produces from its inputs' shapes (raises ShapeError if they do not fit)."""
    op = node.op
    if op in SOURCES:
        return node.shape
    if op in UNARY:
        return inputs[0].shape
    if op in BINARY:
        return shape_broadcast(inputs[0].shape, inputs[1].shape, op)
    if op in REDUCTIONS:
        shape = list(inputs[0].shape)
        shape[node.attrs["dim"]] = 1
        return tuple(shape)
    if op == "permute":
        return tuple(inputs[0].shape[i] for i in node.attrs["order"])
    if op == "view":
        return tuple(node.attrs["shape"])
    if op == "cast":
        return inputs[0].shape
    if op == "matmul":
        a, b = inputs[0].shape, inputs[1].shape
        if a[-1] != b[-2]:
            raise ShapeError(f"matmul: shapes {a} and {b} do not fit: inner dimensions {a[-1]} and {b[-2]}")
        return (*shape_broadcast(a[:-2], b[:-2], "matmul (batch dims)"), a[-2], b[-1])
    if op == "fused":
        return node.shape
    if op in WINDOW:
        return window_shape(node, [n.shape for n in inputs])
    raise IRError(f"%{node.id}: unknown op {op!r}")


def window_shape(node: Node, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Shapes of the sliding-window ops, by PyTorch's rule per spatial dim (see ConvGeometry):
    $n_{out} = \\lfloor (n + 2p - d(k-1) - 1) / s \\rfloor + 1$.

        conv      x (N, C, *size), w (O, C/groups, *k)[, bias (O,)]  ->  (N, O, *out)
        max_pool, avg_pool   x (N, C, *size)                  ->  (N, C, *out)
        unfold    x (N, C, *size)                             ->  (N, C*prod(k), prod(out))
        fold      cols (N, C*prod(k), L)                      ->  (N, C, *size)
    """
    op, attrs, x = node.op, node.attrs, shapes[0]
    if op == "fold":
        geo = ConvGeometry(attrs["size"], attrs["kernel"], attrs["stride"], attrs["padding"], attrs["dilation"])
        if len(x) != 3 or x[1] % geo.window or x[2] != geo.positions:
            raise ShapeError(f"fold: columns of shape {x} do not fit kernel {geo.kernel} over {tuple(attrs['size'])}")
        return (x[0], x[1] // geo.window, *attrs["size"])
    if op == "conv":
        w = shapes[1]
        groups = attrs.get("groups", 1)
        fits = len(w) == len(x) and w[1] * groups == x[1] and w[0] % groups == 0
        if not fits or (len(shapes) > 2 and tuple(shapes[2]) != (w[0],)):
            raise ShapeError(f"conv: weight {w} (bias {shapes[2:]}) does not fit input {x}")
        geo = ConvGeometry(x[2:], w[2:], attrs["stride"], attrs["padding"], attrs["dilation"])
        return (x[0], w[0], *geo.out_size)
    dilation = attrs.get("dilation", (1,) * len(attrs["kernel"]))
    geo = ConvGeometry(x[2:], attrs["kernel"], attrs["stride"], attrs["padding"], dilation)
    if op == "unfold":
        return (x[0], x[1] * geo.window, geo.positions)
    return (x[0], x[1], *geo.out_size)


def reachable(graph: Graph, outputs: Sequence[int]) -> set[int]:
    """Ids of the nodes `outputs` depend on (themselves included).

    A depth-first walk from `outputs` back through each node's inputs: the nodes needed to
    compute the outputs. Dead-code elimination keeps these; the forward/backward split
    uses it to tell the forward graph from the backward graph.

    Iterative (no recursion: graphs may be deeper than Python's recursion limit); each
    node is visited once. Returns a set of ids.
    """
    by_id = graph.by_id()
    needed: set[int] = set()
    # BEGIN ASSIGN5_1
    stack = list(outputs)
    while stack:
        i = stack.pop()
        if i not in needed:
            needed.add(i)
            stack.extend(by_id[i].inputs)
    # END ASSIGN5_1
    return needed
