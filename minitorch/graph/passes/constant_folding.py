"""Constant folding: compute at compile time whatever depends on constants only.

The rule: a node all of whose inputs are `const` nodes is evaluated now, with the same
kernels the executor uses (the `simple` backend), and becomes a `const` holding the result.
It keeps its id, so every reader stays valid; going through the nodes in order folds whole
constant subgraphs (`%4 = neg %3` after `%3` was folded is folded too). The consts it read
may be dead afterwards: dead-code elimination removes them.

An output is not folded: the plan hands a const's one TensorData out on every call, and a
caller that writes into its result would change the constant for every later call.

    %0:f64[] = const 2            %0:f64[] = const 2
    %1:f64[] = const 3      ->    %1:f64[] = const 3
    %2:f64[] = mul %0 %1          %2:f64[] = const 6
"""

from __future__ import annotations

import numpy as np

from ...backends import get_backend
from ...backends.base import TensorBackend
from ..executor import kernel_for
from ..ir import Graph, Node


def constant_folding(graph: Graph) -> Graph:
    """A copy of `graph` where every node computed from consts only is a const itself."""
    result = graph.copy()
    backend = get_backend("simple")  # folding runs once, at compile time: the reference kernels do
    by_id = result.by_id()
    outputs = set(result.outputs)
    for node in result.nodes:
        if node.inputs and node.id not in outputs and all(by_id[i].op == "const" for i in node.inputs):
            fold(node, [by_id[i] for i in node.inputs], backend)
    return result


def fold(node: Node, inputs: list[Node], backend: TensorBackend) -> None:
    """Turn `node` into a const holding its value (computed from its const inputs)."""
    values = [kernel_for(source, backend)() for source in inputs]
    result = kernel_for(node, backend)(*values)
    value = np.array(result.to_numpy(), dtype=node.dtype).reshape(node.shape)  # a contiguous copy
    node.op, node.inputs, node.attrs = "const", [], {"value": value}
