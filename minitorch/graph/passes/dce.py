"""Dead-code elimination: drop every node no output depends on (inputs and params stay)."""

from __future__ import annotations

from ..ir import Graph


def dead_code_elimination(graph: Graph) -> Graph:
    """Keep a node only if an output needs it, or it is a program input/parameter.

    Walk backwards from the outputs marking what is read; everything unmarked is dead.
    """
    by_id = graph.by_id()
    live: set[int] = set()
    stack = list(graph.outputs)
    while stack:
        node_id = stack.pop()
        if node_id not in live:
            live.add(node_id)
            stack.extend(by_id[node_id].inputs)
    result = graph.copy()
    result.nodes = [n for n in result.nodes if n.id in live or n.op in ("input", "param")]
    return result
