"""Elementwise fusion: one kernel for a whole group of elementwise ops.

Each elementwise op run on its own reads its inputs from memory and writes a full-size
result back. A group of them can run as ONE loop that keeps the temporaries in registers
(graph/codegen.py writes that loop). The rule for a group, grown backwards from its last
node (the root):

- every member is elementwise (UNARY | BINARY) with the root's shape and dtype;
- every input from outside the group has the root's shape or exactly one element (so the
  generated loop reads it flat, at [i] or at [0]: no broadcasting index math);
- every member but the root has exactly one user, inside the group, and is not an output
  (a value someone else reads must exist in memory, so it cannot live in a register).

A group of two or more ops becomes one node with the root's id (readers stay valid):

    %2 = mul %0 %1
    %3 = add %2 %0        ->     %4:f64[4,3] = fused %0 %1 ops=3 {mul(in0, in1); add(t0, in0); sigmoid(t1)}
    %4 = sigmoid %3

`program` lists (op, args): entry j defines temporary tj; an arg is "inK" (the fused node's
K-th input, numbered by first use) or "tJ" (an earlier temporary); the last entry is the
node's value. `ops` is the number of ops fused.
"""

from __future__ import annotations

import math

from ..ir import ELEMENTWISE, Graph, Node


def elementwise_fusion(graph: Graph) -> Graph:
    """A copy of `graph` in which each fusable group of ≥2 elementwise ops is one fused node."""
    result = graph.copy()
    by_id = result.by_id()
    groups = {group[-1]: group for group in fusion_groups(result)}  # root id -> member ids
    absorbed = {i for group in groups.values() for i in group[:-1]}
    nodes = []
    for node in result.nodes:
        if node.id in groups:
            nodes.append(fused_node([by_id[i] for i in groups[node.id]]))
        elif node.id not in absorbed:
            nodes.append(node)
    result.nodes = nodes
    return result


def fits(value: Node, root: Node) -> bool:
    """Can a fused loop over `root`'s elements read `value` flat (same shape, or one element)?"""
    return tuple(value.shape) == tuple(root.shape) or math.prod(value.shape) == 1


def fusion_groups(graph: Graph) -> list[list[int]]:
    """The groups to fuse: lists of ≥2 node ids in graph order, each ending with its root.

    Roots are tried last node first, so each group grows as far back as it can (maximal);
    a node joins one group at most."""
    by_id, users, outputs = graph.by_id(), graph.users(), set(graph.outputs)
    position = {node.id: k for k, node in enumerate(graph.nodes)}

    def can_root(node: Node) -> bool:
        return node.op in ELEMENTWISE and all(fits(by_id[i], node) for i in node.inputs)

    def can_absorb(node: Node, root: Node) -> bool:
        """May `node` (read by a member) be computed inside the root's group?"""
        return (
            can_root(node)
            and tuple(node.shape) == tuple(root.shape)
            and node.dtype == root.dtype
            and node.id not in outputs
            and len(set(users[node.id])) == 1
            and all(fits(by_id[i], root) for i in node.inputs)
        )

    taken: set[int] = set()
    groups: list[list[int]] = []
    # BEGIN ASSIGN5_2
    for root in reversed(graph.nodes):
        if root.id in taken or not can_root(root):
            continue
        group, stack = {root.id}, [root]
        while stack:  # grow backwards through the inputs the group alone reads
            member = stack.pop()
            for i in member.inputs:
                if i not in group and can_absorb(by_id[i], root):
                    group.add(i)
                    stack.append(by_id[i])
        if len(group) >= 2:
            taken |= group
            groups.append(sorted(group, key=position.__getitem__))
    # END ASSIGN5_2
    return groups


def fused_node(members: list[Node]) -> Node:
    """One `fused` node computing `members` (in graph order, root last) as a program."""
    root = members[-1]
    names: dict[int, str] = {}  # value id -> its name in the program ("in0", "t3", ...)
    inputs: list[int] = []
    program: list[tuple[str, list[str]]] = []
    for j, member in enumerate(members):
        for i in member.inputs:
            if i not in names:  # an outside value, first used here
                names[i] = f"in{len(inputs)}"
                inputs.append(i)
        program.append((member.op, [names[i] for i in member.inputs]))
        names[member.id] = f"t{j}"
    return Node(
        root.id, "fused", inputs, tuple(root.shape), root.dtype, {"program": program, "ops": len(members)}, root.name
    )
