"""The visual debugger's model: graphs, steps and the chain rule as text, without widgets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import Scalar, events
from minitorch.nn import MLP
from visualizer import GraphModel, Stepper, step_text
from visualizer.model import SCOPE_NODES


def square_plus(x: Scalar) -> Scalar:
    return x * x + x  # x feeds Mul twice and Add once: dy/dx = 2x + 1


def recorded_square_plus() -> tuple[GraphModel, Scalar, Scalar]:
    with minitorch.record() as rec:
        x = Scalar(3.0, name="x")
        y = square_plus(x)
        y.backward()
    return GraphModel.from_recording(rec), x, y


def recorded_mlp() -> tuple[GraphModel, MLP, minitorch.Tensor]:
    model = MLP([2, 3, 1], seed=0)
    X = minitorch.tensor([[1.0, 2.0], [0.5, -1.0]])
    with minitorch.record() as rec:
        loss = model(X).sum()
        loss.backward()
    return GraphModel.from_recording(rec), model, loss


# ## Scalar graphs


def test_scalar_recording_nodes_and_steps() -> None:
    model, x, y = recorded_square_plus()
    mul_id = y.history.inputs[0].unique_id
    assert list(model.nodes) == [x.unique_id, mul_id, y.unique_id]
    leaf, mul, add = model.nodes.values()
    assert (leaf.kind, leaf.label, leaf.value, leaf.grad, leaf.parents) == (
        "leaf",
        "x",
        3.0,
        7.0,
        [],
    )
    assert (mul.kind, mul.op, mul.parents, mul.value) == (
        "op",
        "Mul",
        [x.unique_id, x.unique_id],
        9.0,
    )
    assert (add.kind, add.op, add.parents, add.value) == ("op", "Add", [mul_id, x.unique_id], 12.0)
    assert [(s.index, s.phase, s.op, s.node) for s in model.steps] == [
        (0, "forward", "Mul", mul_id),
        (1, "forward", "Add", y.unique_id),
        (2, "backward", "Add", y.unique_id),
        (3, "backward", "Mul", mul_id),
        (4, "backward", None, x.unique_id),
    ]
    assert model.steps[0].input_values == [3.0, 3.0] and model.steps[0].output_value == 9.0
    assert model.phase_start("forward") == 0 and model.phase_start("backward") == 2
    assert model.output == y.unique_id


def test_chain_rule_lines_show_the_numbers() -> None:
    model, _, _ = recorded_square_plus()
    add, mul, leaf = model.steps[2:]
    assert mul.local_derivatives == [3.0, 3.0] and mul.grads_to_parents == [3.0, 3.0]
    assert mul.chain_rule_lines(model) == ["d/dx: 1.0 × 3.0 = 3.0", "d/dx: 1.0 × 3.0 = 3.0"]
    assert add.chain_rule_lines(model) == ["d/dMul: 1.0 × 1.0 = 1.0", "d/dx: 1.0 × 1.0 = 1.0"]
    assert leaf.chain_rule_lines(model) == ["x.grad = 1.0 + 3.0 + 3.0 = 7.0"]
    assert model.steps[0].chain_rule_lines(model) == []  # forward steps have no chain rule


def test_step_text_and_stepper() -> None:
    model, _, _ = recorded_square_plus()
    assert step_text(model, 0) == "step 1/5 · forward · Mul\n  arg0 x = 3.0\n  arg1 x = 3.0\n  out = 9.0"
    assert step_text(model, 3) == (
        "step 4/5 · backward · Mul at Mul\n  incoming gradient = 1.0\n  d/dx: 1.0 × 3.0 = 3.0\n  d/dx: 1.0 × 3.0 = 3.0"
    )
    stepper = Stepper(model)
    assert stepper.index == 0 and stepper.text == step_text(model, 0) == stepper.current
    assert stepper.prev() == step_text(model, 0)  # stays at the first step
    assert stepper.next() == step_text(model, 1)
    assert "x.grad = 1.0 + 3.0 + 3.0 = 7.0" in stepper.goto(-1)
    assert stepper.index == 4 and stepper.next() == step_text(model, 4)  # stays at the last
    with pytest.raises(IndexError, match="step 5 out of range"):
        stepper.goto(5)
    with pytest.raises(IndexError, match="out of range"):
        step_text(model, 99)
    assert len(stepper) == 5 and repr(stepper) == stepper.text


def test_from_value_matches_the_recording_and_has_no_side_effects() -> None:
    recorded, _, _ = recorded_square_plus()
    x = Scalar(3.0, name="x")
    y = square_plus(x)
    model = GraphModel.from_value(y)
    assert x.grad is None  # looking at the graph ran backward, but left .grad alone
    assert [(s.phase, s.op, s.output_value, s.grads_to_parents) for s in model.steps] == [
        (s.phase, s.op, s.output_value, s.grads_to_parents) for s in recorded.steps
    ]
    assert model.nodes[x.unique_id].grad == 7.0
    assert model.steps[-1].chain_rule_lines(model) == ["x.grad = 1.0 + 3.0 + 3.0 = 7.0"]
    assert model.saved_values[y.history.inputs[0].unique_id] == [3.0, 3.0]  # Mul saved x and x
    # an earlier gradient stays, and the graph can still be differentiated for real
    x.grad = 5.0
    GraphModel.from_value(y)
    assert x.grad == 5.0
    y.backward()
    assert x.grad == 12.0


def test_from_value_does_not_touch_tensor_grads_or_outer_recordings() -> None:
    mlp = MLP([2, 3, 1], seed=0)
    loss = mlp(minitorch.tensor([[1.0, 2.0]])).sum()
    before = [p.value.grad for p in mlp.parameters()]
    with minitorch.record() as outer:
        model = GraphModel.from_value(loss)
    assert [p.value.grad for p in mlp.parameters()] == before == [None] * 4
    assert len(outer) == 0  # the extra backward is not reported to other listeners
    assert model.phase_start("backward") is not None and model.kernels_for("MatMul.backward")
    weight = mlp.layers.modules()[0].weight.value
    loss.backward()
    assert model.nodes[weight.unique_id].grad["data"] == pytest.approx(weight.grad.numpy().ravel())


def test_from_value_after_backward_freed_the_graph() -> None:
    x = Scalar(2.0, name="x")
    y = x * x
    y.backward()  # frees the saved values
    model = GraphModel.from_value(y)
    assert model.phase_start("backward") is None
    assert model.nodes[x.unique_id].grad == 4.0  # the leaf's .grad as it is
    assert model.saved_values[y.unique_id] == "freed"
    assert x.grad == 4.0


def test_from_value_of_a_non_scalar_tensor_shows_forward_only() -> None:
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    model = GraphModel.from_value(x * x)
    assert [s.phase for s in model.steps] == ["forward"]
    assert model.nodes[x.unique_id].kind == "leaf" and model.nodes[x.unique_id].grad is None


def test_from_value_without_backward() -> None:
    x = Scalar(3.0, name="x")
    model = GraphModel.from_value(square_plus(x), run_backward=False)
    assert [s.phase for s in model.steps] == ["forward", "forward"]
    assert model.nodes[x.unique_id].grad is None


def test_from_value_of_a_leaf_alone() -> None:
    x = Scalar(2.0, name="x")
    model = GraphModel.from_value(x)
    assert list(model.nodes) == [x.unique_id] and model.nodes[x.unique_id].value == 2.0
    assert [s.phase for s in model.steps] == ["backward"] and model.steps[0].output_value == 2.0
    assert model.nodes[x.unique_id].grad == 1.0 and x.grad is None and model.output == x.unique_id


def test_constants_are_nodes_too() -> None:
    x = Scalar(3.0, name="x")
    y = x * 2.0
    model = GraphModel.from_value(y)
    const = y.history.inputs[1]
    assert model.nodes[const.unique_id].kind == "const"
    assert model.nodes[y.unique_id].parents == [x.unique_id, const.unique_id]
    mul = model.steps[model.phase_start("backward")]
    assert mul.inputs == [x.unique_id]  # a constant gets no gradient
    assert mul.chain_rule_lines(model) == ["d/dx: 1.0 × 2.0 = 2.0"]


# ## Tensor graphs and modules


def test_tensor_mlp_recording_scopes() -> None:
    model, mlp, _ = recorded_mlp()
    tree = model.scope_tree()
    layers = tree["MLP"]["layers:Sequential"]
    assert set(layers) == {SCOPE_NODES, "0:Linear", "1:ReLU", "2:Linear"}
    first = mlp.layers.modules()[0]
    linear_nodes = layers["0:Linear"][SCOPE_NODES]
    # the parameters sit in their module; the ops of the layer too
    assert first.weight.value.unique_id in linear_nodes and first.bias.value.unique_id in linear_nodes
    assert [model.nodes[i].op for i in linear_nodes if model.nodes[i].op] == [
        "Permute",
        "MatMul",
        "Add",
    ]
    assert [model.nodes[i].op for i in layers["1:ReLU"][SCOPE_NODES]] == ["ReLU"]
    # the input and the loss's sum were made outside the model
    assert [model.nodes[i].kind for i in tree[SCOPE_NODES]] == ["const", "op", "op", "op"]


def test_tensor_backward_steps_agree_with_the_engine() -> None:
    model, mlp, _ = recorded_mlp()
    for parameter in mlp.parameters():
        leaf = parameter.value
        sent = [
            np.array(step.grads_to_parents[k]["data"])
            for step in model.steps
            if step.phase == "backward"
            for k, parent in enumerate(step.inputs)
            if parent == leaf.unique_id
        ]
        expected = leaf.grad.numpy().ravel()
        assert sum(sent) == pytest.approx(expected)
        assert model.nodes[leaf.unique_id].grad["data"] == pytest.approx(expected)
        assert model.nodes[leaf.unique_id].kind == "leaf"
    matmul = next(s for s in model.steps if s.phase == "backward" and s.op == "MatMul")
    assert matmul.local_derivatives is None
    assert matmul.chain_rule_lines(model)[0].startswith("d/dReLU: incoming (2, 1) norm 1.41421 → sent (2, 3) norm")


def test_kernels_by_op() -> None:
    model, _, _ = recorded_mlp()
    matmuls = model.kernels_for("MatMul")
    assert [k.kernel for k in matmuls] == ["matmul", "matmul"]
    assert [k.shapes for k in matmuls] == [[[2, 2], [2, 3]], [[2, 3], [3, 1]]]
    assert model.kernels_for("MatMul.backward") and all(
        k.op == "MatMul.backward" for k in model.kernels_for("MatMul.backward")
    )
    assert model.kernels_for("NoSuchOp") == []


def test_recording_of_backward_alone() -> None:
    x = Scalar(3.0, name="x")
    y = square_plus(x)
    with minitorch.record() as rec:
        y.backward()
    model = GraphModel.from_recording(rec)
    assert [s.phase for s in model.steps] == ["backward"] * 3
    assert model.nodes[x.unique_id].kind == "leaf" and model.nodes[x.unique_id].grad == 7.0
    assert model.steps[-1].chain_rule_lines(model) == ["leaf.grad = 1.0 + 3.0 + 3.0 = 7.0"]


def test_recording_round_trips_through_a_file(tmp_path: Path) -> None:
    with minitorch.record() as rec:
        y = square_plus(Scalar(3.0, name="x"))
        y.backward()
    loaded = GraphModel.from_recording(minitorch.Recording.load(rec.save(tmp_path / "r.json")))
    assert loaded == GraphModel.from_recording(rec)


# ## NaN and Inf


def test_first_nonfinite_step_and_node() -> None:
    x = Scalar(0.0, name="x")
    log = x.log()  # log(0) = -inf
    y = log * 0.0  # -inf * 0 = nan
    model = GraphModel.from_value(y)
    assert model.first_nonfinite_step() == 0
    assert model.first_nonfinite_node() == log.unique_id  # Mul's nan came from a -inf input
    assert model.nodes[log.unique_id].nonfinite and model.nodes[y.unique_id].nonfinite
    assert model.nodes[x.unique_id].nonfinite  # its gradient: 0 × d/dx log(0) = 0 × inf = nan
    log_step = next(s for s in model.steps if s.phase == "backward" and s.op == "Log")
    assert log_step.chain_rule_lines(model) == ["d/dx: 0.0 × inf = nan"]


def test_log_of_a_negative_number() -> None:
    a = Scalar(2.0, name="a")
    b = (a * 1.0 - 3.0).log()  # log(-1) = nan
    model = GraphModel.from_value(b + a)
    nan_step = model.first_nonfinite_step()
    assert model.steps[nan_step].op == "Log" and model.steps[nan_step].output_value == "nan"
    assert model.first_nonfinite_node() == b.unique_id


def test_finite_graph_has_no_nonfinite_step() -> None:
    model, _, _ = recorded_square_plus()
    assert model.first_nonfinite_step() is None and model.first_nonfinite_node() is None


# ## Summaries and big graphs


def test_summary_text() -> None:
    model = GraphModel()
    assert model.summary(3.0) == "3.0" and model.summary("nan") == "nan" and model.summary(None) == "None"
    assert model.summary(0.25) == "0.25" and model.summary(1e-8) == "1e-08"
    tensor = {
        "shape": [2, 3],
        "dtype": "float64",
        "min": -1.2,
        "mean": 0.1,
        "max": 2.0,
        "norm": 3.0,
        "nonfinite": 0,
    }
    assert model.summary(tensor) == "(2, 3) float64 min -1.2 mean 0.1 max 2.0"
    summary = events.summarize(np.array([1.0, np.nan, np.inf]))
    assert model.summary(summary) == "(3,) float64 min 1.0 mean 1.0 max 1.0 (2 NaN/Inf)"


def test_ten_thousand_node_chain_without_recursion() -> None:
    x = Scalar(1.0, name="x")
    y = x
    for _ in range(10_000):
        y = y + 1.0
    assert sys.getrecursionlimit() < 10_000  # so a recursive walk would fail
    model = GraphModel.from_value(y)
    assert len(model.nodes) == 20_001  # x, 10,000 constants, 10,000 Adds
    forward = [s for s in model.steps if s.phase == "forward"]
    assert len(forward) == 10_000 and forward[-1].node == y.unique_id and forward[-1].output_value == 10_001.0
    assert model.nodes[x.unique_id].grad == 1.0 and x.grad is None
    assert model.scope_tree()[SCOPE_NODES][0] == x.unique_id
