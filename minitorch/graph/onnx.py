"""Module 5 — ONNX export: write a compiled graph as an ONNX model that onnxruntime (or any
other ONNX runtime) can run.

ONNX is a graph IR too: typed values, nodes in topological order, named inputs, outputs and
initializers (stored weights). Exporting is a walk over our IR that emits, for each node,
the ONNX node(s) computing the same values:

| minitorch IR            | ONNX                                                      |
| ----------------------- | --------------------------------------------------------- |
| input                   | a graph input, named as the node (`arg0`, a placeholder)  |
| param                   | an initializer named by its module path (`layers.0.weight`) |
| const                   | an initializer                                            |
| elementwise ops         | as their op-table entry says (minitorch/ops.py): one node |
|                         | (Neg, Add, Exp, Tanh, ...) or a short formula (a compare  |
|                         | then Cast to 1.0/0.0; derivatives such as Div(d, x))      |
| sum, max, prod (dim)    | ReduceSum, ReduceMax, ReduceProd; axes [dim], keepdims=1  |
| permute(order)          | Transpose(perm=order)                                     |
| view(shape)             | Reshape (the shape is an initializer)                     |
| matmul                  | MatMul (batched, batch dimensions broadcast)              |
| conv (x, w[, bias])     | Conv: strides, pads (begin and end), dilations, group,    |
|                         | kernel_shape; a bias added right after a conv is folded   |
|                         | into it (`fold_conv_bias`)                                |
| max_pool, avg_pool      | MaxPool, AveragePool (count_include_pad=1: the padding    |
|                         | counts as zeros, as minitorch and PyTorch average)        |
| fused(program)          | each step of the program, as above                        |

    model = export(minitorch.compile(mlp), x, path="mlp.onnx")   # or export(mlp, x)
    (y,) = run_onnxruntime(model, x.numpy())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as error:  # an optional extra: say how to get it
    raise ImportError("minitorch.graph.onnx needs the onnx package: pip install 'minitorch[onnx]'") from error

from .. import ops
from ..autodiff import no_grad
from ..module import Module
from ..tensor import Tensor
from .codegen import check_program
from .compile import Compiled, compile
from .ir import Graph, Node, reachable

DEFAULT_OPSET = 17
MIN_OPSET = 11  # Equal on floats needs 11


class OnnxExportError(ValueError):
    """The graph (or an argument) cannot be written as ONNX."""


# ## Building an ONNX graph: nodes and initializers with deterministic names


class OnnxBuilder:
    """Collects ONNX nodes and initializers. Every value gets a unique, deterministic name:
    `fresh("matmul_6")` is "matmul_6" the first time, then "matmul_6_1", "matmul_6_2", ..."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.used: set[str] = set()

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: str | None = None, **attrs: Any) -> str:
        """Append `op_type(inputs, **attrs)`; returns its output's name (made up if not given).
        The node is named after its output, so node names are unique too."""
        if output is None:
            output = self.fresh(f"{inputs[0]}_{op_type.lower()}")
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=output, **attrs))
        return output

    def constant(self, value: np.ndarray, base: str = "const") -> str:
        """A constant tensor stored as an initializer; returns its name."""
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name


def tensor_type(dtype: Any) -> int:
    """The ONNX element type of a numpy dtype (float64 -> DOUBLE, float32 -> FLOAT)."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ## One IR op -> ONNX nodes


def emit(b: OnnxBuilder, op: str, inputs: list[str], output: str, dtype: np.dtype, attrs: Mapping[str, Any]) -> None:
    """Append to `b` the ONNX node(s) computing `op(inputs, **attrs)` into the value `output`.

    `inputs` are the names of the op's input values, already of `dtype`. An elementwise op
    writes itself: its op-table entry knows its ONNX form (`ops.primitive(op).emit_onnx(b,
    inputs, output, dtype)`: one node, or a short formula for comparisons and derivatives).
    A reduction's entry gives its ONNX op type (`ops.REDUCTIONS[op].onnx`), with axes [dim]
    and keepdims=1 — axes an input from opset `onnx_axes_input_opset` on, an attribute
    before. permute is Transpose, view is Reshape (its shape an int64 constant), matmul MatMul.
    `b.node(op_type, inputs, output, **attrs)` appends a node, `b.constant(array)` stores a
    constant, and `b.opset` says which spelling an op takes.
    Raises OnnxExportError for an op with no ONNX counterpart; its message names the op as
    "op 'erf' has no ONNX counterpart" (the tests match that phrase). (Convolution and
    pooling, Module 4's ops, go to `emit_window`, which is given.)
    """
    if op in ("conv", "max_pool", "avg_pool"):
        emit_window(b, op, inputs, output, attrs)
        return
    # BEGIN ASSIGN5_4
    if op in ops.PRIMITIVES:
        ops.primitive(op).emit_onnx(b, inputs, output, dtype)
    elif op in ops.REDUCTIONS:
        reduction, axes = ops.REDUCTIONS[op], [attrs["dim"]]
        if b.opset >= reduction.onnx_axes_input_opset:
            axes_input = b.constant(np.array(axes, dtype=np.int64), f"{output}_axes")
            b.node(reduction.onnx, [inputs[0], axes_input], output, keepdims=1)
        else:
            b.node(reduction.onnx, inputs, output, axes=axes, keepdims=1)
    elif op == "permute":
        b.node("Transpose", inputs, output, perm=list(attrs["order"]))
    elif op == "cast":
        b.node("Cast", inputs, output, to=tensor_type(attrs["to"]))
    elif op == "view":
        shape = b.constant(np.array(attrs["shape"], dtype=np.int64).reshape(-1), f"{output}_shape")
        b.node("Reshape", [inputs[0], shape], output)
    elif op == "matmul":
        b.node("MatMul", inputs, output)
    else:
        raise OnnxExportError(f"ONNX export: op {op!r} has no ONNX counterpart (see the table atop graph/onnx.py)")
    # END ASSIGN5_4


def emit_window(b: OnnxBuilder, op: str, inputs: list[str], output: str, attrs: Mapping[str, Any]) -> None:
    """Conv, MaxPool or AveragePool. ONNX pads list every spatial dim's start, then every end:
    minitorch pads both ends alike, so (ph, pw) is [ph, pw, ph, pw]. `kernel` of a conv is its
    weight's spatial shape (see `emit_node`)."""
    geometry = {
        "kernel_shape": list(attrs["kernel"]),
        "strides": list(attrs["stride"]),
        "pads": list(attrs["padding"]) * 2,
    }
    if op == "conv":
        grouped = {"group": attrs["groups"]} if "groups" in attrs else {}
        b.node("Conv", inputs, output, dilations=list(attrs["dilation"]), **geometry, **grouped)
    elif op == "max_pool":
        b.node("MaxPool", inputs, output, **geometry)
    else:
        b.node("AveragePool", inputs, output, count_include_pad=1, **geometry)


def fold_conv_bias(graph: Graph) -> Graph:
    """A copy of `graph` where `add(conv(x, w), view(b, (O, 1, ..)))` is one `conv(x, w, b)`.

    Tracing records a layer's bias as a broadcast add after the conv (eager mode adds it so);
    ONNX's Conv takes the bias as its third input. The add keeps its id; the conv, read by
    nothing else and not an output, is left dead (export writes live nodes only).
    """
    result = graph.copy()
    by_id, users = result.by_id(), result.users()
    for node in result.nodes:
        if node.op != "add":
            continue
        for conv, bias in (node.inputs, node.inputs[::-1]):
            c, v = by_id[conv], by_id[bias]
            fits = c.op == "conv" and len(c.inputs) == 2 and users[conv] == [node.id] and conv not in result.outputs
            if fits and v.op == "view" and v.shape == (c.shape[1], *(1,) * (len(c.shape) - 2)):
                b = by_id[v.inputs[0]]
                if b.shape == (c.shape[1],) and b.dtype == c.dtype == node.dtype:
                    node.op, node.inputs, node.attrs = "conv", [*c.inputs, b.id], dict(c.attrs)
                    break
    return result


# ## Fused nodes: a program of elementwise steps


def emit_program(b: OnnxBuilder, node: Node, inputs: list[str], output: str) -> None:
    """Expand a fused node (see graph/codegen.py): one `emit` per entry of its program.

    Entry j computes the temporary "tj" from args "inK" (the node's K-th input) or "tJ"
    (an earlier temporary); the last entry is the node's value.
    """
    program = check_program(node)
    values = {f"in{k}": name for k, name in enumerate(inputs)}
    for j, (op, args) in enumerate(program):
        last = j == len(program) - 1
        values[f"t{j}"] = output if last else b.fresh(f"{output}_t{j}")
        emit(b, op, [values[arg] for arg in args], values[f"t{j}"], np.dtype(node.dtype), {})


# ## IR graph -> ONNX model


def value_names(graph: Graph, b: OnnxBuilder) -> dict[int, str]:
    """The ONNX name of every node's value: sources keep their names ('arg0', 'layers.0.weight'),
    outputs are 'output_<k>', the rest '<op>_<id>' ('matmul_6')."""
    names: dict[int, str] = {}
    for node in graph.nodes:
        if node.op in ("input", "param") and node.name:
            if node.name in b.used:
                raise OnnxExportError(f"two graph inputs are named {node.name!r}; ONNX names must be unique")
            names[node.id] = b.fresh(node.name)
    for k, i in enumerate(graph.outputs):
        if i not in names and graph.node(i).op not in ("input", "param", "const"):
            names[i] = b.fresh(f"output_{k}")
    for node in graph.nodes:
        if node.id not in names:
            names[node.id] = b.fresh(f"{node.op}_{node.id}")
    return names


def to_onnx(
    graph: Graph, params: Mapping[str, Any] | None = None, opset: int = DEFAULT_OPSET, name: str = "minitorch"
) -> onnx.ModelProto:
    """The ONNX model computing `graph`'s outputs from its inputs.

    `input` nodes become graph inputs. `param` nodes become initializers holding
    `params[node.name]` (arrays or Tensors); with `params=None` they become graph inputs too,
    after the inputs. Nodes no output depends on are left out (unused inputs stay inputs).
    """
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise OnnxExportError(f"opset {opset} is not supported: choose {MIN_OPSET}..{onnx.defs.onnx_opset_version()}")
    graph.check()
    graph = fold_conv_bias(graph)
    b = OnnxBuilder(opset)
    names = value_names(graph, b)
    live = reachable(graph, graph.outputs)
    if params is not None:
        missing = [n.name for n in graph.params if n.id in live and n.name not in params]
        if missing:
            raise OnnxExportError(f"no value in params for parameter(s) {', '.join(map(repr, missing))}")
    # Creation order (node id) is call order: a traced function's arguments, then parameters
    sources = sorted(
        (n for n in graph.nodes if n.op == "input" or (n.op == "param" and params is None)), key=lambda n: n.id
    )
    source_ids = {n.id for n in sources}
    value_infos = [
        value_info(node, names[node.id])
        for node in graph.nodes
        if node.id in live and node.id not in source_ids and emit_node(b, graph, node, names, params)
    ]
    graph_inputs = [value_info(n, names[n.id]) for n in sources]
    onnx_graph = helper.make_graph(
        b.nodes, name, graph_inputs, graph_outputs(b, graph, names), b.initializers, value_info=value_infos
    )
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(
        onnx_graph, opset_imports=opsets, producer_name="minitorch", ir_version=helper.find_min_ir_version_for(opsets)
    )


def value_info(node: Node, value: str) -> onnx.ValueInfoProto:
    """The ONNX type and shape of the value `value` computed by `node`."""
    return helper.make_tensor_value_info(value, tensor_type(node.dtype), list(node.shape))


def emit_node(
    b: OnnxBuilder, graph: Graph, node: Node, names: dict[int, str], params: Mapping[str, Any] | None
) -> bool:
    """Write one live, non-source node: an initializer for a param or const, else its ONNX node(s).
    True when it computed an intermediate value whose type ONNX should be told."""
    value = names[node.id]
    if node.op in ("param", "const"):
        array = params[node.name] if node.op == "param" and params is not None else node.attrs["value"]
        array = np.asarray(array.numpy() if isinstance(array, Tensor) else array, dtype=node.dtype)
        if array.size != int(np.prod(node.shape)):
            raise OnnxExportError(
                f"{node.op} {node.name or node.id!r}: value of shape {array.shape}, but the graph expects {node.shape}"
            )
        b.initializers.append(numpy_helper.from_array(array.reshape(node.shape), value))
        return False
    by_id = graph.by_id()
    inputs = [cast_to(b, names[i], by_id[i].dtype, node.dtype) for i in node.inputs]
    if node.op == "fused":
        emit_program(b, node, inputs, value)
    else:
        attrs = node.attrs | ({"kernel": by_id[node.inputs[1]].shape[2:]} if node.op == "conv" else {})
        emit(b, node.op, inputs, value, np.dtype(node.dtype), attrs)
    return node.id not in graph.outputs


def graph_outputs(b: OnnxBuilder, graph: Graph, names: dict[int, str]) -> list[onnx.ValueInfoProto]:
    """The graph's outputs; one listed twice, or a source, is renamed through an Identity."""
    by_id = graph.by_id()
    outputs = []
    for k, i in enumerate(graph.outputs):
        value = names[i]
        if graph.outputs.index(i) != k or by_id[i].op in ("input", "param", "const"):
            value = b.node("Identity", [value], b.fresh(f"output_{k}"))  # an output named once
        outputs.append(value_info(by_id[i], value))
    return outputs


def cast_to(b: OnnxBuilder, value: str, dtype: str, wanted: str) -> str:
    """`value` as `wanted` (an ONNX op takes inputs of one type; the IR promotes f32 with f64)."""
    if dtype == wanted:
        return value
    return b.node("Cast", [value], b.fresh(f"{value}_as_{wanted}"), to=tensor_type(wanted))


# ## Exporting compiled code and running it


def forward_graph(target: Compiled | Module | Any, example_args: Sequence[Any]) -> tuple[Graph, dict[str, np.ndarray]]:
    """(the forward graph, parameter values by name) of a Module, a `Compiled` or a `Program` run function."""
    if isinstance(target, Module):
        target = compile(target)
    if isinstance(target, Compiled):
        with no_grad():  # a forward-only specialisation: no backward graph is traced
            graph = target.graph(*example_args)
        module = target.module
        params = {name: p.value.numpy() for name, p in module.named_parameters()} if module is not None else {}
        return graph, params
    if callable(target) and isinstance(getattr(target, "graph", None), Graph):  # Program.compile(...)
        return target.graph, {}
    raise TypeError(
        f"export: expected a Module, a minitorch.compile(...) function or a Program's compiled run "
        f"function, got {type(target).__name__}"
    )


def export(
    target: Compiled | Module | Any, *example_args: Any, path: str | Path | None = None, opset: int = DEFAULT_OPSET
) -> onnx.ModelProto:
    """Trace `target` on `example_args` and return it as a checked ONNX model (saved to `path` if given).

    `target` is a Module, a `minitorch.compile(...)` function, or the run function of
    `Program.compile` (already a graph: it needs no example arguments). Module parameters
    are stored in the model as initializers named like the state_dict keys.
    """
    graph, params = forward_graph(target, example_args)
    traced = target.target if isinstance(target, Compiled) else target
    name = getattr(traced, "__name__", type(traced).__name__)
    model = to_onnx(graph, params, opset=opset, name=name)
    onnx.checker.check_model(model, full_check=True)  # full_check: also infers and checks every shape
    if path is not None:
        onnx.save(model, str(path))
    return model


ORT_TYPES = {"tensor(double)": np.float64, "tensor(float)": np.float32}


def run_onnxruntime(model: onnx.ModelProto, *arrays: Any) -> list[np.ndarray]:
    """Run `model` in onnxruntime on the CPU with `arrays` (numpy arrays or Tensors) as its inputs, in order."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError("run_onnxruntime needs onnxruntime: pip install 'minitorch[onnx]'") from error
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(arrays) != len(inputs):
        raise ValueError(
            f"the model takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}), got {len(arrays)}"
        )
    feeds = {}
    for spec, array in zip(inputs, arrays):
        value = array.numpy() if hasattr(array, "numpy") else array
        feeds[spec.name] = np.ascontiguousarray(value, dtype=ORT_TYPES.get(spec.type))
    return session.run(None, feeds)
