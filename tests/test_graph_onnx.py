"""Module 5, task 5.4: ONNX export. onnxruntime runs each exported graph and gives minitorch's
eager numbers: op by op, for a module, a composite, a fused node and a whole training step.

onnx and onnxruntime come with the `onnx` extra (part of `all`): without them this file fails
to import, on purpose, so that a missing dependency is never a silent skip.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime  # noqa: F401 - imported here so its absence fails loudly, not at first use
import pytest

import minitorch
from minitorch import nn
from minitorch.graph import CompiledTrainStep, Graph, IRError, Plan, Program, compile, ir
from minitorch.graph.onnx import (
    OnnxBuilder,
    OnnxExportError,
    emit,
    export,
    run_onnxruntime,
    to_onnx,
)
from minitorch.nn import MLP
from minitorch.tensor_functions import run_back

DTYPES = ["float64", "float32"]
TOL = {"float64": {"rtol": 1e-12, "atol": 1e-14}, "float32": {"rtol": 1e-5, "atol": 1e-6}}


def inputs(domain: str, dtype: str) -> tuple[minitorch.Tensor, minitorch.Tensor]:
    """Two (4, 3) tensors. `a` has an exact 0 (relu_back's edge), `b` equals `a` on row 1 and is
    within 0.001 of it on row 2 (so eq and is_close give both answers)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3))
    a[0, 0] = 0.0
    if domain == "positive":
        a = np.abs(a) + 0.1
    elif domain == "nonzero":
        a = np.where(a < 0, -1.0, 1.0) * (np.abs(a) + 0.5)
    b = rng.normal(size=(4, 3))
    b[1] = a[1]
    b[2] = a[2] + 0.001
    return minitorch.tensor(a, dtype=dtype), minitorch.tensor(b, dtype=dtype)


# name -> (function of two tensors, domain of the first, an ONNX op type the export must contain)
OPS: dict[str, tuple[Callable, str, str]] = {
    "neg": (lambda a, b: -a, "any", "Neg"),
    "inv": (lambda a, b: 1.0 / a, "nonzero", "Reciprocal"),
    "sigmoid": (lambda a, b: a.sigmoid(), "any", "Sigmoid"),
    "relu": (lambda a, b: a.relu(), "any", "Relu"),
    "log": (lambda a, b: a.log(), "positive", "Log"),
    "exp": (lambda a, b: a.exp(), "any", "Exp"),
    "id": (lambda a, b: a.permute(1, 0).contiguous(), "any", "Identity"),
    "add": (lambda a, b: a + b, "any", "Add"),
    "mul": (lambda a, b: a * b, "any", "Mul"),
    "lt": (lambda a, b: a < b, "any", "Less"),
    "eq": (lambda a, b: a == b, "any", "Equal"),
    "is_close": (lambda a, b: a.is_close(b), "any", "Abs"),
    "relu_back": (lambda a, b: run_back("relu", a, b), "any", "Where"),
    "log_back": (lambda a, b: run_back("log", a, b), "nonzero", "Div"),
    "inv_back": (lambda a, b: run_back("inv", a, b), "nonzero", "Div"),
    "sum": (lambda a, b: a.sum(1), "any", "ReduceSum"),
    "max": (lambda a, b: a.max(0, keepdim=True).values, "any", "ReduceMax"),
    "permute": (lambda a, b: a.permute(1, 0), "any", "Transpose"),
    "view": (lambda a, b: a.view(2, 6), "any", "Reshape"),
    "matmul": (lambda a, b: a @ b.permute(1, 0), "any", "MatMul"),
    "batched_matmul": (lambda a, b: a.view(2, 2, 3) @ b.permute(1, 0), "any", "MatMul"),
}


def op_types(model: onnx.ModelProto) -> list[str]:
    return [node.op_type for node in model.graph.node]


@pytest.mark.task5_4
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_runs_in_onnxruntime_as_in_eager_mode(name: str, dtype: str) -> None:
    fn, domain, onnx_op = OPS[name]
    a, b = inputs(domain, dtype)
    compiled = compile(fn, passes=[])  # the graph as traced: no pass rewrites or fuses the op away
    model = export(compiled, a, b)
    with minitorch.no_grad():
        assert name.removeprefix("batched_") in [node.op for node in compiled.graph(a, b).nodes]
    assert onnx_op in op_types(model)
    (got,) = run_onnxruntime(model, a.numpy(), b.numpy())
    expected = fn(a, b).numpy()
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL[dtype])


@pytest.mark.task5_4
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_exports_with_its_parameters_as_initializers(dtype: str, tmp_path) -> None:
    model = MLP([2, 8, 3], seed=0, dtype=dtype)
    x = minitorch.tensor(np.random.default_rng(1).normal(size=(5, 2)), dtype=dtype)
    path = tmp_path / "mlp.onnx"
    exported = export(model, x, path=path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded == exported
    # Inputs by their traced names, parameters by their state_dict names, shapes on every value
    assert [v.name for v in loaded.graph.input] == ["arg0"]
    assert [v.name for v in loaded.graph.output] == ["output_0"]
    assert [tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in loaded.graph.output] == [(5, 3)]
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer}
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(stored[name], p.value.numpy())
    # Same model, same bytes: names are deterministic, and a Compiled exports like its Module
    assert export(compile(model), x).SerializeToString() == exported.SerializeToString()
    (got,) = run_onnxruntime(loaded, x.numpy())
    np.testing.assert_allclose(got, model(x).numpy(), rtol=0, atol=1e-9 if dtype == "float64" else 1e-5)
    with pytest.raises(ValueError, match="takes 1 inputs"):
        run_onnxruntime(loaded, x.numpy(), x.numpy())


@pytest.mark.task5_4
@pytest.mark.parametrize("softmax", [nn.softmax, nn.logsoftmax])
def test_softmax_composite_matches_eager(softmax: Callable) -> None:
    """max (detached), subtract, exp, sum, divide or log: a numerically careful composite."""
    x, w = inputs("any", "float64")
    x = x * 30.0  # large logits: only the max-shift keeps exp finite

    def scores(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
        return softmax(x @ w.permute(1, 0), dim=1)

    model = export(compile(scores), x, w)
    assert {"ReduceMax", "ReduceSum", "Exp", "MatMul"} <= set(op_types(model))
    (got,) = run_onnxruntime(model, x.numpy(), w.numpy())
    np.testing.assert_allclose(got, scores(x, w).numpy(), rtol=1e-12, atol=1e-14)


def fused_by_hand(dtype: str) -> Graph:
    """((x * w + 0.5).sigmoid() < 0.5) * x as one fused node over inputs x, w and a const."""
    graph = Graph()
    x = graph.add("input", [], (4, 3), dtype, name="x")
    w = graph.add("input", [], (4, 3), dtype, name="w")
    half = graph.add("const", [], (), dtype, value=np.array(0.5, dtype=dtype))
    program = [
        ("mul", ["in0", "in1"]),
        ("add", ["t0", "in2"]),
        ("sigmoid", ["t1"]),
        ("lt", ["t2", "in2"]),
        ("mul", ["t3", "in0"]),
    ]
    fused = graph.add("fused", [x.id, w.id, half.id], (4, 3), dtype, program=program, ops=len(program))
    graph.outputs = [fused.id]
    return graph


def fused_reference(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
    return ((x * w + 0.5).sigmoid() < 0.5) * x


@pytest.mark.task5_4
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_node_expands_into_its_elementwise_steps(dtype: str) -> None:
    graph = fused_by_hand(dtype)
    x, w = inputs("any", dtype)
    model = to_onnx(graph)
    onnx.checker.check_model(model, full_check=True)
    assert op_types(model) == ["Mul", "Add", "Sigmoid", "Less", "Cast", "Mul"]
    (got,) = run_onnxruntime(model, x.numpy(), w.numpy())
    np.testing.assert_allclose(got, fused_reference(x, w).numpy(), **TOL[dtype])
    # minitorch runs the same node with a generated kernel: the two readings of the program agree
    feeds = {node.id: t._tensor for node, t in zip(graph.inputs, (x, w))}
    plan = Plan(graph, minitorch.get_backend("simple"))
    np.testing.assert_allclose(got, plan.run(feeds)[graph.outputs[0]].to_numpy(), **TOL[dtype])


FUSION_PASS = importlib.util.find_spec("minitorch.graph.passes.fusion") is not None


@pytest.mark.task5_4
def test_compiled_pipeline_graph_exports() -> None:
    """What `compile` really produces (fused nodes, once graph/passes/fusion.py exists)."""
    x, w = inputs("any", "float64")

    def layer(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
        return fused_reference(x @ w.permute(1, 0), x @ w.permute(1, 0)).sum(1)

    compiled = compile(layer)
    model = export(compiled, x, w)
    if FUSION_PASS:
        with minitorch.no_grad():
            assert compiled.graph(x, w).count("fused") >= 1, "fusion.py exists, but compile fused nothing"
    (got,) = run_onnxruntime(model, x.numpy(), w.numpy())
    np.testing.assert_allclose(got, layer(x, w).numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.task5_4
@pytest.mark.parametrize("passes", ["traced", "optimised"])
def test_training_step_graph_exports_with_its_backward_ops(passes: str) -> None:
    """Forward, backward (relu_back, log_back) and the SGD update, run by onnxruntime = eager:
    the graph as traced, and as the default passes leave it (fused, once fusion exists)."""
    points = minitorch.data.toy_dataset("xor", 20, seed=1)
    X, y = minitorch.tensor(points.X), minitorch.tensor(points.y.reshape(-1, 1))

    def loss_fn(out: minitorch.Tensor, target: minitorch.Tensor) -> minitorch.Tensor:
        return nn.binary_cross_entropy(out.sigmoid(), target)

    graph_model, eager_model = MLP([2, 8, 1], seed=3), MLP([2, 8, 1], seed=3)
    before = {name: p.value.numpy() for name, p in graph_model.named_parameters()}
    step = CompiledTrainStep(graph_model, loss_fn, lr=0.5, passes=[] if passes == "traced" else None)
    step(X, y)
    ((graph, *_),) = step.cache.values()
    if passes == "traced":
        assert {"relu_back", "log_back"} <= {n.op for n in graph.nodes}

    model = to_onnx(graph)  # no params given: the parameters are inputs, after x and y
    onnx.checker.check_model(model, full_check=True)
    feeds = {"x": X.numpy(), "y": y.numpy(), **before}
    loss, *updated = run_onnxruntime(model, *(feeds[v.name] for v in model.graph.input))

    eager_loss = loss_fn(eager_model(X), y)
    eager_loss.backward()
    np.testing.assert_allclose(loss.reshape(-1), eager_loss.numpy().reshape(-1), rtol=1e-12)
    for new, p in zip(updated, eager_model.parameters()):
        np.testing.assert_allclose(new, p.value.numpy() - 0.5 * p.value.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.task5_4
def test_program_with_gradients_exports() -> None:
    program = Program()
    x = program.placeholder((3, 2), name="x", requires_grad=True)
    w = program.placeholder((2, 4), name="w", requires_grad=True)
    loss = (x @ w).relu().sum()
    run = program.compile([loss, *program.gradients(loss, [x, w])])
    model = export(run)
    assert [v.name for v in model.graph.input] == ["x", "w"]
    rng = np.random.default_rng(2)
    xv, wv = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))
    got = run_onnxruntime(model, xv, wv)
    tx, tw = minitorch.tensor(xv, requires_grad=True), minitorch.tensor(wv, requires_grad=True)
    eager = (tx @ tw).relu().sum()
    eager.backward()
    for value, expected in zip(got, [eager, tx.grad, tw.grad]):
        np.testing.assert_allclose(value.reshape(expected.shape), expected.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.task5_4
def test_several_outputs_and_mixed_dtypes() -> None:
    """An output listed twice or that is an input gets its own name; f32 + f64 casts to f64."""
    a, _ = inputs("any", "float32")
    _, b = inputs("any", "float64")

    def outputs(a: minitorch.Tensor, b: minitorch.Tensor) -> tuple[minitorch.Tensor, ...]:
        doubled = a * 2.0
        return a + b, doubled, doubled, a

    model = export(compile(outputs), a, b)
    assert [v.name for v in model.graph.output] == ["output_0", "output_1", "output_2", "output_3"]
    got = run_onnxruntime(model, a.numpy(), b.numpy())
    for value, expected in zip(got, outputs(a, b)):
        assert value.dtype == expected.dtype
        np.testing.assert_allclose(value, expected.numpy(), rtol=1e-6)


@pytest.mark.task5_4
@pytest.mark.parametrize("opset", [11, 13, 17, 18, 21])
def test_reductions_in_every_opset_spelling(opset: int) -> None:
    """ReduceSum's axes became an input in opset 13, ReduceMax's in 18 (before: an attribute)."""
    a, _ = inputs("any", "float64")

    def reduce(a: minitorch.Tensor) -> minitorch.Tensor:
        return (a.max(1, keepdim=True).values + a.sum(0, keepdim=True)).view(12)

    model = export(compile(reduce), a, opset=opset)
    assert model.opset_import[0].version == opset
    (got,) = run_onnxruntime(model, a.numpy())
    np.testing.assert_allclose(got, reduce(a).numpy(), rtol=1e-12)


@pytest.mark.task5_4
def test_parameters_come_from_params_or_become_inputs() -> None:
    model = MLP([2, 3], seed=0)
    x = minitorch.tensor(np.ones((1, 2)))
    with minitorch.no_grad():
        graph = compile(model).graph(x)
    as_inputs = to_onnx(graph)
    assert [v.name for v in as_inputs.graph.input] == ["arg0", "layers.0.weight", "layers.0.bias"]
    assert not as_inputs.graph.initializer
    values = [p.value.numpy() for p in model.parameters()]
    (got,) = run_onnxruntime(as_inputs, x.numpy(), *values)
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-12)
    with pytest.raises(OnnxExportError, match="no value in params for parameter.*'layers.0.bias'"):
        to_onnx(graph, params={"layers.0.weight": values[0]})
    with pytest.raises(OnnxExportError, match="param 'layers.0.bias': value of shape \\(2,\\)"):
        to_onnx(graph, params={"layers.0.weight": values[0], "layers.0.bias": np.zeros(2)})
    with pytest.raises(OnnxExportError, match="opset 5 is not supported"):
        to_onnx(graph, opset=5)


@pytest.mark.task5_4
def test_op_without_onnx_counterpart_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OnnxExportError, match="op 'erf' has no ONNX counterpart"):
        emit(OnnxBuilder(17), "erf", ["x"], "y", np.dtype("float64"), {})
    # An op the IR gained without an exporter mapping: the same error, from a whole graph
    monkeypatch.setattr(ir, "UNARY", ir.UNARY | {"erf"})
    monkeypatch.setattr(ir, "OPS", ir.OPS | {"erf"})
    graph = Graph()
    x = graph.add("input", [], (2,), "float64", name="x")
    graph.outputs = [graph.add("erf", [x.id], (2,), "float64").id]
    with pytest.raises(OnnxExportError, match="op 'erf' has no ONNX counterpart"):
        to_onnx(graph)
    # A fused program may only hold elementwise ops
    graph = fused_by_hand("float64")
    graph.nodes[-1].attrs["program"] = [("sum", ["in0"])]
    with pytest.raises(IRError, match="not an elementwise op"):
        to_onnx(graph)
