"""Helpers the rewriting passes share: "this value is that value", and keys that compare attrs.

A rewrite such as `x * 1 -> x` or "these two nodes compute the same thing" says: every
reader of value `old` may read value `new` instead. `replace_values` applies a batch of such
facts to a copy of the graph. One care: a graph's callers find its outputs (and its input
and param nodes) by id, so those ids must survive:

- an input or param node is never replaced;
- an output `old` is kept by renaming: the node computing `new` takes over the id `old`
  (`%5 = id %3` returned as `%5` becomes `%3`'s node, now called `%5`). That is possible
  only when `new` is not an output itself (nor renamed already) and its storage is made
  by the program: not a source, nor a view of one. The caller may write into what it gets
  back, so it must not get the plan's constant, or a view of its own argument, where the
  program gave it a fresh value. Otherwise `old` stays in the graph, unchanged, and still
  correct.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import LAYOUT, SOURCES, Graph, Node

# The caller feeds input and param nodes by id, so they are never renamed or dropped.
FED = ("input", "param")


def resolve(replacements: dict[int, int], value: int) -> int:
    """Follow `old -> new` links to the end (a -> b and b -> c give a -> c)."""
    while value in replacements:
        value = replacements[value]
    return value


def storage_root(by_id: dict[int, Node], value: int) -> int:
    """The value whose memory `value` shares: through views (permute, view) to their input."""
    while by_id[value].op in LAYOUT:
        value = by_id[value].inputs[0]
    return value


def replace_values(graph: Graph, replacements: dict[int, int]) -> Graph:
    """A copy of `graph` in which every read of `old` reads `replacements[old]` instead.

    Replaced nodes are dropped, except where an output id must survive (module docstring).
    """
    result = graph.copy()
    final = {old: resolve(replacements, old) for old in replacements}
    by_id = result.by_id()
    outputs = set(result.outputs)
    renamed: dict[int, int] = {}  # node id -> the output id it takes over
    kept: set[int] = set()  # replaced outputs that stay (their replacement cannot take the id)
    for old in result.outputs:
        if old not in final or by_id[old].op in FED:
            continue
        new = final[old]
        if by_id[storage_root(by_id, new)].op in SOURCES or new in outputs or new in renamed:
            kept.add(old)
        else:
            renamed[new] = old

    def reads(value: int) -> int:
        value = final.get(value, value)
        return renamed.get(value, value)

    nodes = []
    for node in result.nodes:
        if node.id in final and node.id not in kept and node.op not in FED:
            continue  # replaced: its readers now read the replacement
        node.id = renamed.get(node.id, node.id)
        node.inputs = [reads(i) for i in node.inputs]
        nodes.append(node)
    result.nodes = nodes
    return result


def attr_key(value: Any) -> Any:
    """A hashable stand-in for an attribute value: arrays compare by dtype, shape and bytes."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, attr_key(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(attr_key(v) for v in value))
    return value


def is_filled_with(node: Node, number: float) -> bool:
    """Is `node` a const whose every element equals `number` (e.g. a const 1 or a const 0)?"""
    if node.op != "const":
        return False
    value = np.asarray(node.attrs["value"])
    return value.size > 0 and bool(np.all(value == number))
