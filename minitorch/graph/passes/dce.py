"""Dead-code elimination: drop every node no output depends on (inputs and params stay)."""

from __future__ import annotations

from ..ir import Graph, reachable


def dead_code_elimination(graph: Graph) -> Graph:
    """Keep a node only if an output needs it, or it is a program input/parameter.

    Walk backwards from the outputs marking what is read (`ir.reachable`); everything
    unmarked is dead.
    """
    live = reachable(graph, graph.outputs)
    result = graph.copy()
    result.nodes = [n for n in result.nodes if n.id in live or n.op in ("input", "param")]
    return result
