"""Module 4 in graph mode: conv and pooling are IR ops that trace, compile, differentiate and
export to ONNX (Conv, MaxPool, AveragePool) like the rest; eager ops checked against PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

import minitorch
from minitorch import conv, nn, optim
from minitorch.backends import get_backend
from minitorch.graph import CompiledTrainStep, compile, interpret
from minitorch.graph.ir import Graph, IRError
from minitorch.graph.passes import infer_shapes

TOL = 1e-8
SIMPLE = get_backend("simple")


def lenet(dtype: str = "float64", seed: int = 0, backend: str = "simple") -> nn.Sequential:
    """conv2d -> relu -> max_pool2d -> conv -> avg_pool (padded) -> flatten -> linear, on (N, 1, 6, 6)."""
    where = {"dtype": dtype, "backend": backend}
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, seed=seed, **where),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, seed=seed + 1, **where),
        nn.AvgPool2d(2, padding=1),
        nn.Flatten(),
        nn.Linear(16, 3, seed=seed + 2, **where),
    )


def images(
    shape: tuple[int, ...] = (2, 1, 6, 6), seed: int = 0, dtype: str = "float64", backend: str = "simple"
) -> minitorch.Tensor:
    values = np.random.default_rng(seed).normal(size=shape)
    return minitorch.tensor(values, dtype=dtype, backend=backend, requires_grad=True)


def conv1d_program(x: minitorch.Tensor, w: minitorch.Tensor, b: minitorch.Tensor) -> minitorch.Tensor:
    """conv1d with stride, padding, dilation and bias, then both 1-D pools (one padded)."""
    y = conv.conv1d(x, w, b, stride=2, padding=2, dilation=2).relu()
    return conv.avg_pool1d(conv.max_pool1d(y, 2, stride=1), 2, padding=1)


def conv1d_inputs(seed: int = 1) -> list[minitorch.Tensor]:
    rng = np.random.default_rng(seed)
    shapes = [(2, 3, 11), (4, 3, 3), (4,)]
    return [minitorch.tensor(rng.normal(size=s), requires_grad=True) for s in shapes]


def grads(tensors: list[minitorch.Tensor]) -> list[np.ndarray]:
    return [t.grad.numpy() for t in tensors]


# ## Compiled vs eager: values and gradients


@pytest.mark.parametrize("backend", ["simple", "fast"])
def test_lenet_compiled_matches_eager_values_and_gradients(backend: str) -> None:
    eager_model, graph_model = lenet(backend=backend), lenet(backend=backend)
    x1, x2 = images(backend=backend), images(backend=backend)
    eager = eager_model(x1)
    (eager * 1.3).sum().backward()
    compiled = compile(graph_model)
    out = compiled(x2)
    (out * 1.3).sum().backward()
    np.testing.assert_allclose(out.numpy(), eager.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=TOL, atol=TOL)
    for (name, p), (_, q) in zip(eager_model.named_parameters(), graph_model.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=TOL, atol=TOL, err_msg=name)
    entry = compiled.entry(x2)
    forward_ops = [n.op for n in entry.forward.nodes]
    assert forward_ops.count("conv") == 2 and "max_pool" in forward_ops and "avg_pool" in forward_ops
    # The backward graph is the eager rules traced: unfold/fold and matmul, no conv kernel of its own
    backward_ops = {n.op for n in entry.backward.nodes}
    assert {"unfold", "fold", "matmul"} <= backward_ops and "conv" not in backward_ops


def test_conv1d_compiled_matches_eager_values_and_gradients() -> None:
    eager_in, graph_in = conv1d_inputs(), conv1d_inputs()
    eager = conv1d_program(*eager_in)
    (eager * eager).sum().backward()
    compiled = compile(conv1d_program)
    out = compiled(*graph_in)
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), eager.numpy(), rtol=TOL, atol=TOL)
    for e, g in zip(grads(eager_in), grads(graph_in)):
        np.testing.assert_allclose(g, e, rtol=TOL, atol=TOL)
    assert compiled.compile_count == 1
    compiled(*conv1d_inputs(seed=2))  # same shapes: the trace is reused
    assert compiled.compile_count == 1


def test_ir_text_shows_the_geometry_and_fusion_leaves_window_ops_alone() -> None:
    x, w, b = conv1d_inputs()
    with minitorch.no_grad():
        graph = compile(conv1d_program).graph(x, w, b)
    text = str(graph)
    assert "= conv %0 %1 " in text and "dilation=(2) padding=(2) stride=(2)" in text
    assert "= max_pool " in text and "kernel=(2) padding=(0) stride=(1)" in text
    assert "= avg_pool " in text and "kernel=(2) padding=(1) stride=(2)" in text
    conv_node = next(n for n in graph.nodes if n.op == "conv")
    assert conv_node.shape == (2, 4, 6)  # (L + 2p - d(k-1) - 1) // s + 1 = (11 + 4 - 4 - 1) // 2 + 1
    for node in graph.nodes:
        if node.op == "fused":
            assert all(op not in ("conv", "max_pool", "avg_pool") for op, _ in node.attrs["program"])


def test_shape_inference_checks_window_ops() -> None:
    graph = Graph()
    x = graph.add("input", [], (1, 2, 5, 5), "float64", name="x")
    w = graph.add("input", [], (3, 2, 3, 3), "float64", name="w")
    geometry = {"stride": (2, 2), "padding": (1, 1), "dilation": (1, 1)}
    y = graph.add("conv", [x.id, w.id], (1, 3, 3, 3), "float64", **geometry)
    p = graph.add("max_pool", [y.id], (1, 3, 1, 1), "float64", kernel=(2, 2), stride=(2, 2), padding=(0, 0))
    graph.outputs = [p.id]
    infer_shapes(graph)  # consistent
    y.shape = (1, 3, 5, 5)
    with pytest.raises(IRError, match="conv: recorded as float64\\[1, 3, 5, 5\\]"):
        infer_shapes(graph)
    y.shape, y.inputs = (1, 3, 3, 3), [x.id]
    with pytest.raises(IRError, match="takes 2 inputs, got 1"):
        infer_shapes(graph)
    bias = graph.add("input", [], (2,), "float64", name="b")  # 3 output channels, 2 biases
    graph.nodes.insert(2, graph.nodes.pop())
    y.inputs = [x.id, w.id, bias.id]
    with pytest.raises(minitorch.ShapeError, match="%2 = conv: conv: weight .* \\(bias \\[\\(2,\\)\\]\\)"):
        infer_shapes(graph)
    bias.shape = (3,)
    infer_shapes(graph)
    y.attrs["groups"] = 2  # 2 input channels in 2 groups: the weight should be (O, 1, 3, 3)
    with pytest.raises(minitorch.ShapeError, match="%2 = conv: conv: weight"):
        infer_shapes(graph)
    del y.attrs["groups"]
    # A conv with a bias input (export folds a bias add into one) runs too, as conv2d with bias
    rng = np.random.default_rng(9)
    values = [rng.normal(size=s) for s in [(1, 2, 5, 5), (3, 2, 3, 3), (3,)]]
    graph.outputs = [y.id]
    got = interpret(graph, {i: minitorch.tensor(v)._tensor for i, v in zip([x.id, w.id, bias.id], values)}, SIMPLE)
    expected = conv.conv2d(*(minitorch.tensor(v) for v in values), stride=2, padding=1)
    np.testing.assert_allclose(got[y.id].to_numpy(), expected.numpy(), rtol=1e-12)


def test_grouped_conv_traces_as_one_conv_with_groups_and_exports_onnx_group() -> None:
    """groups is an attribute of the one conv node (its kernel runs the groups batched) and
    ONNX Conv's `group`; the compiled model agrees with eager mode, values and gradients."""
    from minitorch.graph.onnx import export, run_onnxruntime

    def model(dtype: str) -> nn.Sequential:
        where = {"dtype": dtype, "seed": 11}
        return nn.Sequential(
            nn.Conv2d(4, 6, 3, padding=1, groups=2, **where), nn.ReLU(), nn.Conv2d(6, 6, 1, groups=6, **where)
        )

    eager_model, graph_model = model("float64"), model("float64")
    x1, x2 = images((2, 4, 5, 5), seed=12), images((2, 4, 5, 5), seed=12)
    eager, compiled = eager_model(x1), compile(graph_model)
    out = compiled(x2)
    (eager * eager).sum().backward()
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), eager.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=TOL, atol=TOL)
    for p, q in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=TOL, atol=TOL)
    text = str(compiled.entry(x2).forward)
    assert text.count("= conv ") == 2 and "groups=2" in text and "groups=6" in text
    small = model("float32")
    x = images((2, 4, 5, 5), seed=13, dtype="float32").detach()
    exported = export(small, x)
    groups = [{a.name: a.i for a in n.attribute}["group"] for n in exported.graph.node if n.op_type == "Conv"]
    assert groups == [2, 6]
    (got,) = run_onnxruntime(exported, x.numpy())
    np.testing.assert_allclose(got, small(x).numpy(), rtol=1e-5, atol=1e-6)


# ## A compiled training step


def test_compiled_train_step_matches_eager_training() -> None:
    eager_model, graph_model = lenet(seed=3), lenet(seed=3)
    x = images(seed=4).detach()
    y = minitorch.tensor(np.random.default_rng(5).normal(size=(2, 3)))
    opt = optim.SGD(eager_model.parameters(), lr=0.1)
    step = CompiledTrainStep(graph_model, nn.mse_loss, lr=0.1)
    eager_losses, graph_losses = [], []
    for _ in range(3):
        loss = nn.mse_loss(eager_model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        eager_losses.append(loss.item())
        graph_losses.append(step(x, y))
    np.testing.assert_allclose(graph_losses, eager_losses, rtol=TOL)
    assert graph_losses[-1] < graph_losses[0] and step.compile_count == 1
    for a, b in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=TOL, atol=TOL)


# ## ONNX export: Conv, MaxPool, AveragePool


def onnx_reference(model, *arrays: np.ndarray) -> list[np.ndarray]:
    """ONNX's own reference evaluator (onnxruntime's CPU Conv and AveragePool take float32 only)."""
    from onnx.reference import ReferenceEvaluator

    names = [v.name for v in model.graph.input]
    return ReferenceEvaluator(model).run(None, dict(zip(names, arrays)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lenet_exports_to_conv_maxpool_averagepool(dtype: str) -> None:
    from minitorch.graph.onnx import export, run_onnxruntime

    model, x = lenet(dtype), images(dtype=dtype).detach()
    exported = export(model, x)
    nodes = list(exported.graph.node)
    assert [n.op_type for n in nodes][:5] == ["Conv", "Relu", "MaxPool", "Conv", "AveragePool"]
    first = nodes[0]
    assert list(first.input) == ["arg0", "0.weight", "0.bias"]  # the bias add folded into Conv
    attrs = {a.name: list(a.ints) for a in first.attribute}
    assert attrs == {"dilations": [1, 1], "kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1]}
    average = next(n for n in nodes if n.op_type == "AveragePool")
    assert {a.name: a.i for a in average.attribute if a.name == "count_include_pad"} == {"count_include_pad": 1}
    expected = model(x).numpy()
    if dtype == "float32":
        (got,) = run_onnxruntime(exported, x.numpy())
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    else:
        (got,) = onnx_reference(exported, x.numpy())
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_conv1d_program_exports_and_runs_in_onnxruntime() -> None:
    from minitorch.graph.onnx import export, run_onnxruntime

    rng = np.random.default_rng(6)
    x, w, b = (minitorch.tensor(rng.normal(size=s), dtype="float32") for s in [(2, 3, 11), (4, 3, 3), (4,)])
    exported = export(compile(conv1d_program), x, w, b)
    conv_node = next(n for n in exported.graph.node if n.op_type == "Conv")
    assert len(conv_node.input) == 3
    assert {a.name: list(a.ints) for a in conv_node.attribute}["dilations"] == [2]
    (got,) = run_onnxruntime(exported, x.numpy(), w.numpy(), b.numpy())
    np.testing.assert_allclose(got, conv1d_program(x, w, b).numpy(), rtol=1e-5, atol=1e-6)


def test_a_conv_whose_value_is_read_twice_keeps_its_bias_add() -> None:
    from minitorch.graph.onnx import export

    def twice(x: minitorch.Tensor, w: minitorch.Tensor, b: minitorch.Tensor) -> minitorch.Tensor:
        y = conv.conv2d(x, w)
        return (y + b.view(2, 1, 1)) * y

    rng = np.random.default_rng(7)
    x, w, b = (minitorch.tensor(rng.normal(size=s)) for s in [(1, 1, 4, 4), (2, 1, 3, 3), (2,)])
    exported = export(compile(twice), x, w, b)
    conv_node = next(n for n in exported.graph.node if n.op_type == "Conv")
    assert len(conv_node.input) == 2 and "Add" in [n.op_type for n in exported.graph.node]
    (got,) = onnx_reference(exported, x.numpy(), w.numpy(), b.numpy())
    np.testing.assert_allclose(got, twice(x, w, b).numpy(), rtol=1e-12)


# ## The eager ops against PyTorch


def torch_pair(values: np.ndarray) -> tuple[minitorch.Tensor, object]:
    return minitorch.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


# name -> (minitorch's op of (x, w), PyTorch's of (F, x, w), x's shape, w's shape)
CASES: dict[str, tuple[Callable, Callable, tuple[int, ...], tuple[int, ...]]] = {
    "conv2d": (
        lambda x, w: conv.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
        lambda F, x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
        (2, 3, 7, 6),
        (4, 3, 2, 3),
    ),
    "conv1d": (
        lambda x, w: conv.conv1d(x, w, stride=2, padding=1),
        lambda F, x, w: F.conv1d(x, w, stride=2, padding=1),
        (2, 3, 9),
        (4, 3, 3),
    ),
    "conv2d_groups": (
        lambda x, w: conv.conv2d(x, w, stride=(1, 2), padding=1, groups=2),
        lambda F, x, w: F.conv2d(x, w, stride=(1, 2), padding=1, groups=2),
        (2, 4, 5, 6),
        (6, 2, 3, 2),
    ),
    "conv1d_depthwise": (
        lambda x, w: conv.conv1d(x, w, padding=2, dilation=2, groups=3),
        lambda F, x, w: F.conv1d(x, w, padding=2, dilation=2, groups=3),
        (2, 3, 9),
        (6, 1, 3),
    ),
    "max_pool2d": (
        lambda x, w: conv.max_pool2d(x, 3, stride=2, padding=1) * w,
        lambda F, x, w: F.max_pool2d(x, 3, stride=2, padding=1) * w,
        (2, 3, 7, 6),
        (1,),
    ),
    "avg_pool2d": (
        lambda x, w: conv.avg_pool2d(x, 3, stride=2, padding=1) * w,
        lambda F, x, w: F.avg_pool2d(x, 3, stride=2, padding=1) * w,  # count_include_pad=True
        (2, 3, 7, 6),
        (1,),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_ops_match_pytorch(name: str, mode: str) -> None:
    ours, theirs, x_shape, w_shape = CASES[name]
    rng = np.random.default_rng(8)
    (x, tx), (w, tw) = torch_pair(rng.normal(size=x_shape)), torch_pair(rng.normal(size=w_shape))
    fn = compile(ours) if mode == "compiled" else ours
    out, expected = fn(x, w), theirs(torch.nn.functional, tx, tw)
    seed = rng.normal(size=expected.shape)
    (out * minitorch.tensor(seed)).sum().backward()
    (expected * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=TOL, atol=TOL)


def test_unfold_and_fold_compile_but_have_no_onnx_counterpart() -> None:
    def roundtrip(x: minitorch.Tensor) -> minitorch.Tensor:
        cols = conv.unfold(x, 2, padding=1, stride=(1, 2))
        return conv.fold(cols * cols, (3, 4), 2, padding=1, stride=(1, 2))

    x1, x2 = images((1, 2, 3, 4), seed=10), images((1, 2, 3, 4), seed=10)
    eager, out = roundtrip(x1), compile(roundtrip)(x2)
    eager.sum().backward()
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), eager.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=TOL, atol=TOL)
    from minitorch.graph.onnx import OnnxExportError, export

    with pytest.raises(OnnxExportError, match="op 'unfold' has no ONNX counterpart"):
        export(compile(roundtrip), x1.detach())
