"""Algebraic simplification: rewrite rules that make the program shorter, never different.

Each rule is a small function of one node. It returns None (does not apply), the id of an
existing value that equals the node (`x * 1 -> x`), or a new node with the same id that
computes it more cheaply (`permute(permute(x, p), q) -> permute(x, p∘q)`):

    x * 1, 1 * x -> x              x + 0, 0 + x -> x
    neg(neg(x)) -> x               inv(inv(x)) -> x
    id(x) -> x                     (a copy: in a functional IR nobody writes into x)
    permute(x, (0, 1, ..)) -> x    permute(permute(x, p), q) -> permute(x, p∘q)
    view(x, x.shape) -> x          view(view(x, s), t) -> view(x, t)

"1" and "0" are const nodes whose every element is 1 (or 0).

A replacement must look exactly like the node to its readers: same shape and same dtype.
`x + zeros((4, 3))` with x of shape (3,) broadcasts to (4, 3), so it is NOT x; such a
rewrite is skipped (and `x * 1` with x float32 and a float64 1 is float64, so it stays).

A replaced output keeps its id, and the caller never gets its own input back where the
program made a fresh value (see rewriting.replace_values).

Floating-point fine print:

- `x * 0 -> 0` is left out on purpose: `inf * 0` and `nan * 0` are nan, not 0. A compiler
  may not assume its inputs are finite, so the product stays.
- `inv(inv(x)) -> x` is exact only in real arithmetic: in floating point `1/(1/x)` can
  differ from x in the last bit (the rewrite gives the exact x), and for tiny x
  (|x| < 1/float max) 1/x overflows to inf and 1/(1/x) is 0.
- `x + 0 -> x` turns `-0.0 + 0.0 = +0.0` into -0.0: equal as numbers, differently signed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir import Graph, Node
from .rewriting import is_filled_with, replace_values, resolve


@dataclass
class Context:
    """What a rule may look at besides the node: the graph's nodes by id (as rewritten so far)."""

    by_id: dict[int, Node]

    def input(self, node: Node, k: int = 0) -> Node:
        return self.by_id[node.inputs[k]]


Rewrite = int | Node | None
Rule = Callable[[Node, Context], Rewrite]


def same_type(a: Node, b: Node) -> bool:
    """Do `a` and `b` look alike to a reader (shape and dtype)?"""
    return tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype


def operand_beside(node: Node, ctx: Context, number: float) -> int | None:
    """For a binary node, the operand next to a const filled with `number`, if it can stand
    for the node (same shape and dtype as the node's result)."""
    a, b = node.inputs
    for operand, other in ((a, b), (b, a)):
        if is_filled_with(ctx.by_id[other], number) and same_type(ctx.by_id[operand], node):
            return operand
    return None


# ## The rules


def multiply_by_one(node: Node, ctx: Context) -> Rewrite:
    """x * 1 -> x and 1 * x -> x."""
    return operand_beside(node, ctx, 1.0) if node.op == "mul" else None


def add_zero(node: Node, ctx: Context) -> Rewrite:
    """x + 0 -> x and 0 + x -> x."""
    return operand_beside(node, ctx, 0.0) if node.op == "add" else None


def double_negation(node: Node, ctx: Context) -> Rewrite:
    """neg(neg(x)) -> x."""
    if node.op == "neg" and ctx.input(node).op == "neg":
        return ctx.input(node).inputs[0]
    return None


def double_inverse(node: Node, ctx: Context) -> Rewrite:
    """inv(inv(x)) -> x (see the module docstring for the floating-point fine print)."""
    if node.op == "inv" and ctx.input(node).op == "inv":
        return ctx.input(node).inputs[0]
    return None


def drop_copy(node: Node, ctx: Context) -> Rewrite:
    """id(x) -> x: a copy only matters if someone writes into x, and graph code never does.

    (An output copy of the caller's own input, or of a view of it, stays: see
    rewriting.replace_values. The caller may write into one and not expect the other to change.)
    """
    return node.inputs[0] if node.op == "id" else None


def identity_permute(node: Node, ctx: Context) -> Rewrite:
    """permute(x, (0, 1, ..., n-1)) -> x."""
    if node.op == "permute" and tuple(node.attrs["order"]) == tuple(range(len(node.shape))):
        return node.inputs[0]
    return None


def permute_of_permute(node: Node, ctx: Context) -> Rewrite:
    """permute(permute(x, p), q) -> permute(x, r) with r[j] = p[q[j]].

    (The inner permute puts x's dim p[i] at position i; the outer takes position q[j] of
    that, which is x's dim p[q[j]].)
    """
    if node.op != "permute" or ctx.input(node).op != "permute":
        return None
    inner = ctx.input(node)
    p, q = inner.attrs["order"], node.attrs["order"]
    order = tuple(p[j] for j in q)
    return Node(node.id, "permute", [inner.inputs[0]], node.shape, node.dtype, {"order": order}, node.name)


def view_to_same_shape(node: Node, ctx: Context) -> Rewrite:
    """view(x, s) -> x when x already has shape s."""
    if node.op == "view" and tuple(ctx.input(node).shape) == tuple(node.shape):
        return node.inputs[0]
    return None


def view_of_view(node: Node, ctx: Context) -> Rewrite:
    """view(view(x, s), t) -> view(x, t): both read the elements in row-major order."""
    if node.op != "view" or ctx.input(node).op != "view":
        return None
    inner = ctx.input(node)
    return Node(node.id, "view", [inner.inputs[0]], node.shape, node.dtype, {"shape": tuple(node.shape)}, node.name)


RULES: list[Rule] = [
    multiply_by_one,
    add_zero,
    double_negation,
    double_inverse,
    drop_copy,
    identity_permute,
    permute_of_permute,
    view_to_same_shape,
    view_of_view,
]


# ## Applying them


def algebraic_simplification(graph: Graph, rules: list[Rule] | None = None) -> Graph:
    """A copy of `graph` with `rules` (default: RULES) applied to every node, in order.

    Nodes are visited first to last, each after its inputs, so a rewrite sees its inputs
    already simplified: neg(neg(neg(neg(x)))) becomes x in one pass.
    """
    rules = RULES if rules is None else rules
    result = graph.copy()
    ctx = Context(result.by_id())
    replacements: dict[int, int] = {}  # node id -> the value that stands for it
    for position, node in enumerate(result.nodes):
        node.inputs = [resolve(replacements, i) for i in node.inputs]
        simplified = simplify(node, ctx, rules)
        result.nodes[position] = ctx.by_id[node.id]  # the node as the rules left it
        if isinstance(simplified, int):
            replacements[node.id] = simplified
    return replace_values(result, replacements)


def simplify(node: Node, ctx: Context, rules: list[Rule]) -> Node | int:
    """Apply rules to `node` until none applies: the value's id, or the (rewritten) node."""
    while True:
        for rule in rules:
            rewrite = rule(node, ctx)
            if isinstance(rewrite, int) and same_type(ctx.by_id[rewrite], node):
                return rewrite
            if isinstance(rewrite, Node):
                node = ctx.by_id[node.id] = rewrite
                break  # start over: the new node may match another rule
        else:
            return node
