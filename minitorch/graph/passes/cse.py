"""Common-subexpression elimination: compute each distinct expression once.

The rule: two nodes with the same op, the same inputs (after the replacements made so far),
the same attributes (const values compared by dtype, shape and bytes), the same shape and
the same dtype compute the same value, so the later one is replaced by the earlier one.
`add` and `mul` are commutative (exactly, also in floating point), so `x*y` and `y*x` match.

    %2 = exp %0                    %2 = exp %0
    %3 = exp %0            ->      %4 = add %2 %2
    %4 = add %2 %3

Walking the nodes in order makes the match transitive: once %3 is %2, `neg %3` and `neg %2`
are the same too. Inputs and params are never merged (each takes its own value). An output
keeps its id (see rewriting.replace_values).
"""

from __future__ import annotations

from collections.abc import Hashable

from ..ir import Graph, Node
from .rewriting import FED, attr_key, replace_values, resolve

COMMUTATIVE = {"add", "mul"}
# Attributes that annotate a node (written by analyses) and do not change what it computes.
ANNOTATIONS = {"buffer"}


def common_subexpression_elimination(graph: Graph) -> Graph:
    """A copy of `graph` in which every node equal to an earlier node is replaced by it.

    The first node (in graph order) of each expression is kept; `graph` itself is not modified.
    Keys use the inputs after replacement (so merging is transitive), `attr_key` of the
    attributes (without annotations such as `buffer`), shape and dtype; for `add` and `mul`
    the inputs are sorted. Inputs and params are never merged.
    """
    replacements: dict[int, int] = {}  # a later duplicate -> the first node computing it
    first_with: dict[Hashable, int] = {}  # expression key -> the first node with that key
    # BEGIN ASSIGN5_2
    for node in graph.nodes:
        if node.op in FED:
            continue
        key = expression_key(node, replacements)
        if key in first_with:
            replacements[node.id] = first_with[key]
        else:
            first_with[key] = node.id
    # END ASSIGN5_2
    return replace_values(graph, replacements)


def expression_key(node: Node, replacements: dict[int, int]) -> Hashable:
    """What `node` computes, as a hashable value: op, inputs (as replaced), attrs, type."""
    inputs = [resolve(replacements, i) for i in node.inputs]
    if node.op in COMMUTATIVE:
        inputs.sort()
    attrs = {k: v for k, v in node.attrs.items() if k not in ANNOTATIONS}
    return node.op, tuple(inputs), attr_key(attrs), tuple(node.shape), node.dtype
