"""Module 5 — cutting a traced graph into the programs that run.

Tracing a function and its backward records ONE joint graph. Before it runs it is cut:

- `slice_graph`: the nodes some outputs need (`ir.reachable`), plus every source the caller
  feeds, used or not;
- `split`: the forward graph (what the output needs), the backward graph (what the gradients
  need and the forward graph does not compute) and the forward values the backward graph
  reads (saved for backward, as `ctx.save_for_backward` does in eager mode).

Every piece keeps the joint graph's node ids, so a value has the same id in all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from .ir import Graph, Node, reachable


def subgraph(graph: Graph, keep: set[int], outputs: Sequence[int], boundary: AbstractSet[int] = frozenset()) -> Graph:
    """The nodes in `keep` (in order); those in `boundary` become inputs named 'saved %id'."""
    result = Graph()
    for node in graph.nodes:
        if node.id in boundary:
            result.nodes.append(Node(node.id, "input", [], node.shape, node.dtype, {}, f"saved %{node.id}"))
        elif node.id in keep:
            result.nodes.append(
                Node(node.id, node.op, list(node.inputs), node.shape, node.dtype, dict(node.attrs), node.name)
            )
    result.outputs = list(outputs)
    result._ids = graph._ids
    return result


def keep_sources(graph: Graph, joint: Graph, source_ids: Sequence[int | None]) -> Graph:
    """Make sure every source in `source_ids` is a node (unused inputs still take a value).

    Missing sources go first, in the order given: a graph's sources precede its other nodes.
    """
    present = {n.id for n in graph.nodes}
    by_id = joint.by_id()
    missing = [
        Node(i, by_id[i].op, [], by_id[i].shape, by_id[i].dtype, {}, by_id[i].name)
        for i in source_ids
        if i is not None and i not in present
    ]
    graph.nodes = missing + graph.nodes
    return graph


def slice_graph(joint: Graph, outputs: Sequence[int], sources: Sequence[int | None]) -> Graph:
    """The program computing `outputs` from `sources`: the nodes they need, and every source."""
    return keep_sources(subgraph(joint, reachable(joint, outputs), outputs), joint, sources)


def split(joint: Graph, forward_outputs: list[int], grad_outputs: list[int]) -> tuple[Graph, Graph, set[int]]:
    """(forward graph, backward graph, ids of forward values the backward graph reads)."""
    forward_ids = reachable(joint, forward_outputs)
    backward_ids = reachable(joint, grad_outputs)
    # Only the frontier needs saving: forward values that backward-only nodes read (or that
    # are gradients themselves, e.g. d(x+y)/dy when nothing else is computed).
    by_id = joint.by_id()
    backward_only = backward_ids - forward_ids
    frontier = {i for n in backward_only for i in by_id[n].inputs if i in forward_ids}
    frontier |= {i for i in grad_outputs if i in forward_ids}
    forward = subgraph(joint, forward_ids, forward_outputs)
    backward = subgraph(joint, backward_only, grad_outputs, boundary=frontier)
    # Boundary nodes must come first and in a stable order: `subgraph` keeps joint order, in
    # which every forward node precedes the backward nodes that read it.
    return forward, backward, frontier
