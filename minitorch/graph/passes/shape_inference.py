"""Shape inference: recompute every node's shape and dtype from its inputs, and check them.

The rule, per op (ir.infer_shape has the shapes):

    sources (input, param, const)   as recorded (a const's value must have that shape)
    unary, reductions, layout       dtype of the input
    binary, matmul, conv            numpy's result_type of the inputs' dtypes
    pools, unfold, fold             dtype of the input
    fused                           as recorded (the fusion pass wrote the group's result)

A node whose recorded shape or dtype differs from what its inputs give is an error naming the
node, its op and both types: a graph built (or rewritten) by hand with a wrong shape is
caught here, before any kernel runs.
"""

from __future__ import annotations

import math

import numpy as np

from ...tensor_data import ShapeError
from ..ir import BINARY, OPS, REDUCTIONS, SOURCES, WINDOW, Graph, IRError, Node, infer_shape


def infer_shapes(graph: Graph) -> Graph:
    """A copy of `graph` whose every node carries the shape and dtype its inputs give it.

    Raises IRError (malformed graph, wrong recorded type) or ShapeError (inputs that do not
    fit the op), each naming the node and its op.
    """
    result = graph.copy()
    known: dict[int, Node] = {}
    for node in result.nodes:
        where = f"%{node.id} = {node.op}"
        if node.op not in OPS:
            raise IRError(f"{where}: unknown op")
        missing = [i for i in node.inputs if i not in known]
        if missing:
            raise IRError(f"{where}: input %{missing[0]} is not defined before it")
        inputs = [known[i] for i in node.inputs]
        shape, dtype = infer_type(node, inputs)
        if tuple(node.shape) != shape or node.dtype != dtype:
            raise IRError(
                f"{where}: recorded as {node.dtype}{list(node.shape)} but its inputs give {dtype}{list(shape)}"
            )
        node.shape, node.dtype = shape, dtype
        known[node.id] = node
    for i in result.outputs:
        if i not in known:
            raise IRError(f"output %{i} is not a node of the graph")
    return result


def infer_type(node: Node, inputs: list[Node]) -> tuple[tuple[int, ...], str]:
    """(shape, dtype) of `node` computed from its inputs (ShapeError/IRError if they do not fit)."""
    where = f"%{node.id} = {node.op}"
    check_arguments(node, inputs)
    try:
        shape = tuple(infer_shape(node, inputs))
    except ShapeError as error:  # name the node: the message alone only names the op
        raise ShapeError(f"{where}: {error}") from None
    if node.op in SOURCES or node.op == "fused":
        dtype = node.dtype
    elif node.op in BINARY or node.op in ("matmul", "conv"):
        dtype = np.result_type(*(n.dtype for n in inputs)).name
    elif node.op == "cast":
        dtype = node.attrs["to"]
    else:
        dtype = inputs[0].dtype
    return shape, dtype


ARITY = {"matmul": 2, "permute": 1, "view": 1} | {op: 1 for op in REDUCTIONS} | {op: 1 for op in WINDOW} | {"conv": 2}


def check_arguments(node: Node, inputs: list[Node]) -> None:
    """The checks ir.infer_shape leaves out, so a bad graph fails with a message, not an IndexError."""
    where = f"%{node.id} = {node.op}"
    arity = 0 if node.op in SOURCES else 2 if node.op in BINARY else ARITY.get(node.op, 1)
    if node.op == "conv" and len(inputs) in (2, 3):  # x, weight and an optional bias
        arity = len(inputs)
    if node.op != "fused" and len(inputs) != arity:
        raise IRError(f"{where}: takes {arity} inputs, got {len(inputs)}")
    if node.op == "const":
        value_shape = np.shape(node.attrs["value"])
        if math.prod(value_shape) != math.prod(node.shape):
            raise IRError(f"{where}: value of shape {value_shape} does not fill shape {tuple(node.shape)}")
    elif node.op in REDUCTIONS:
        dims = len(inputs[0].shape)
        if not 0 <= node.attrs.get("dim", -1) < max(dims, 1):
            raise ShapeError(f"{where}: dim={node.attrs.get('dim')} is out of range for shape {inputs[0].shape}")
        if dims == 0:
            raise ShapeError(f"{where}: cannot reduce a 0-d value")
    elif node.op == "permute":
        order = tuple(node.attrs.get("order", ()))
        if sorted(order) != list(range(len(inputs[0].shape))):
            raise ShapeError(f"{where}: order {order} is not a rearrangement of the dims of {inputs[0].shape}")
    elif node.op == "view":
        size, target = math.prod(inputs[0].shape), tuple(node.attrs.get("shape", ()))
        if math.prod(target) != size:
            raise ShapeError(f"{where}: cannot view shape {inputs[0].shape} ({size} elements) as {target}")
    elif node.op == "matmul" and (len(inputs[0].shape) < 2 or len(inputs[1].shape) < 2):
        raise ShapeError(f"{where}: needs two values of at least 2 dims, got {inputs[0].shape} and {inputs[1].shape}")
