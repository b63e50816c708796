"""Readable at every size: composite ops and modules recorded as scopes and shown as one node
each until opened; the line of user code that made each op; 0-d values as plain numbers.

What is on screen is checked against the engine's own numbers (numpy on the same values).
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch import events, nn
from minitorch.nn import MLP
from visualizer import __main__ as cli
from visualizer import render
from visualizer.groups import collapse, opened_scopes, sum_summaries
from visualizer.model import GraphModel, number_text
from visualizer.tui import make_app
from visualizer.tui.graph_tree import GraphTree

HERE = str(Path(__file__).resolve())
X = np.array([[0.5, -1.0], [1.0, 2.0], [-0.3, 0.8]])
LABELS = [0, 1, 1]


def recorded_loss() -> tuple[minitorch.Recording, MLP, Any, Any, int]:
    """MLP [2, 4, 2] and cross_entropy, recorded; also the line that called them."""
    mlp = MLP([2, 4, 2], seed=0, backend="simple")
    x = minitorch.tensor(X, backend="simple")
    with minitorch.record() as rec:
        logits = mlp(x)
        line = sys._getframe().f_lineno + 1  # the next line's number
        loss = nn.cross_entropy(logits, LABELS)
        loss.backward()
    return rec, mlp, logits, loss, line


def softmax_grad(logits: np.ndarray) -> np.ndarray:
    """d mean cross_entropy / d logits = (softmax - one_hot) / N."""
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exps / exps.sum(axis=1, keepdims=True)
    probs[np.arange(len(LABELS)), LABELS] -= 1.0
    return probs / len(LABELS)


# ## The recording layer


def test_composite_functions_and_modules_record_their_scope_and_the_calling_line() -> None:
    rec, _, _, _, line = recorded_loss()
    scopes = {tuple(e.scope) for e in rec.forward_events}
    assert ("MLP", "layers:Sequential", "0:Linear") in scopes
    assert ("cross_entropy", "log_softmax") in scopes and ("cross_entropy", "nll_loss") in scopes
    loss_ops = [e for e in rec.forward_events if e.scope and e.scope[0] == "cross_entropy"]
    assert len(loss_ops) > 10  # the ~17 primitives the loss is made of
    assert {e.where for e in loss_ops} == {f"{HERE}:{line}"}  # the user's line, not nn/__init__.py
    saved = minitorch.Recording.load(rec.save(Path(__import__("tempfile").mkdtemp()) / "r.json"))
    assert saved.forward_events[-1].where == f"{HERE}:{line}"  # kept in the file


def test_scopes_cost_nothing_and_leave_nothing_behind_without_a_recording() -> None:
    w = minitorch.tensor([[1.0, 2.0]], requires_grad=True)
    x = minitorch.tensor([[3.0, 4.0]])
    assert not events.LISTENERS
    with events.scope("mine"):
        assert events.module_stack == []  # nobody listens: nothing pushed
        out = F.linear(x, w)
    assert out.item() == 11.0 and events.module_stack == []
    assert F.linear.__name__ == "linear" and "x W^T" in (F.linear.__doc__ or "")
    with minitorch.record() as rec:
        with events.scope("mine"):
            F.linear(x, w)
        F.softmax(x)
        F.mse_loss(x, x)
        F.binary_cross_entropy_with_logits(x, x * 0.0)
    assert events.module_stack == []
    scopes = [tuple(e.scope) for e in rec.forward_events]
    assert ("mine", "linear") in scopes and ("softmax",) in scopes and ("mse_loss",) in scopes
    assert ("binary_cross_entropy_with_logits",) in scopes


# ## Collapsing scopes into single nodes and steps


def test_collapsed_by_default_each_scope_is_one_node_and_one_step_each_way() -> None:
    rec, mlp, logits, loss, _ = recorded_loss()
    model = GraphModel.from_recording(rec)
    view = collapse(model)
    groups = {node.label: node for node in view.nodes.values() if node.kind == "group"}
    assert set(groups) == {"MLP", "cross_entropy"}
    assert groups["cross_entropy"].id == loss.unique_id and groups["cross_entropy"].group.ops >= 17
    assert [s.op for s in view.steps if s.phase == "forward"] == ["MLP", "cross_entropy"]
    # backward, collapsed: the loss sends d/dlogits to the MLP, as the engine computed it
    back = next(s for s in view.steps if s.phase == "backward" and s.op == "cross_entropy")
    assert back.grad_output["data"] == [1.0] and back.inputs == [groups["MLP"].id]
    sent = np.array(back.grads_to_parents[0]["data"]).reshape(3, 2)
    np.testing.assert_allclose(sent, softmax_grad(logits.numpy()))
    # the MLP's step ends in what each parameter received: the engine's .grad
    mlp_back = next(s for s in view.steps if s.phase == "backward" and s.op == "MLP")
    for name, p in mlp.named_parameters():
        got = mlp_back.grads_to_parents[mlp_back.inputs.index(p.unique_id)]
        np.testing.assert_allclose(np.array(got["data"]).reshape(p.shape), p.grad.numpy(), err_msg=name)
    # every parameter stays visible as an input of the group, with its own leaf step
    assert {p.unique_id for p in mlp.parameters()} <= set(groups["MLP"].parents)
    assert collapse(model, True) is model  # all open: the model itself


def test_expand_opens_scopes_by_name_path_or_type() -> None:
    rec, _, _, _, _ = recorded_loss()
    model = GraphModel.from_recording(rec)
    loss_open = collapse(model, ["cross_entropy"])
    groups = sorted(n.label for n in loss_open.nodes.values() if n.kind == "group")
    assert groups == ["MLP", "log_softmax", "nll_loss"]
    layer = collapse(model, ["layers.0"])  # a module path: opens MLP and layers too
    labels = {n.label for n in layer.nodes.values()}
    assert {"MatMul", "1:ReLU", "2:Linear", "cross_entropy"} <= labels and "MLP" not in labels
    assert opened_scopes(model, "Linear") >= {("MLP", "layers:Sequential", "0:Linear")}
    with pytest.raises(ValueError, match="no scope is called 'nope'.*cross_entropy"):
        collapse(model, ["nope"])
    # opened, every gradient is back: the collapsed step's numbers are the sum of its inner steps
    assert len(collapse(model, True).steps) == len(model.steps)


def test_sum_summaries_adds_numbers_and_small_tensors() -> None:
    assert sum_summaries([1.0, 2.5]) == 3.5
    a, b = events.summarize(np.array([1.0, 2.0])), events.summarize(np.array([0.5, 0.5]))
    assert sum_summaries([a, b])["data"] == [1.5, 2.5]
    assert sum_summaries([a]) is a


# ## Graphviz


def declaration(source: str, node_id: str) -> str:
    match = re.search(rf"^\s*{node_id} \[.*\]$", source, re.MULTILINE)
    assert match, f"{node_id} not in\n{source}"
    return match.group(0).strip()


def test_render_draws_a_loss_as_one_node_until_expanded() -> None:
    rec, _, _, loss, line = recorded_loss()
    source = render(rec).source
    op = declaration(source, f"n{loss.unique_id}_op")
    assert op.startswith(f'n{loss.unique_id}_op [label="cross_entropy\\n(3, 2) → ()" shape=box3d')
    assert f"made at {HERE}:{line}" in op  # the tooltip
    assert "subgraph" not in source and "Exp" not in source
    assert (
        declaration(source, f"n{loss.unique_id}")
        == f'n{loss.unique_id} [label="value {number_text(loss.item())}\\ngrad 1.0" shape=box]'
    )
    opened = render(rec, expand=["cross_entropy"]).source
    assert "label=cross_entropy style=rounded" in opened  # a cluster now
    assert 'label="log_softmax\\n(3, 2) → (3, 2)" shape=box3d' in opened
    everything = render(rec, expand=True).source
    assert "box3d" not in everything and "label=Exp" in everything
    assert f"test_viz_groups.py:{line}" in render(rec, show_where=True).source


# ## The terminal app


def panel(app: Any, name: str) -> str:
    return str(app.query_one(f"#{name}").content)


def test_app_steps_through_groups_and_opens_one_with_o() -> None:
    rec, mlp, logits, loss, line = recorded_loss()
    model = GraphModel.from_recording(rec)
    weight = mlp.parameters()[0]

    async def run() -> None:
        app = make_app(model)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            tree = app.query_one("#graph", GraphTree)
            rows = [str(child.label) for child in tree.root.children]
            assert f"cross_entropy #{loss.unique_id} (group)" in rows  # one row
            assert app.step.op == "MLP" and "group (collapsed; o opens it)" in panel(app, "detail")
            await pilot.press("n")
            await pilot.pause()
            detail = panel(app, "detail")
            assert app.step.op == "cross_entropy" and "(3, 2) → ()" in detail
            assert f"value:  {number_text(loss.item())}" in detail
            assert detail.count(number_text(loss.item())) == 1  # a 0-d value: one number, once
            assert f"made at: {Path(HERE).relative_to(Path.cwd())}:{line}" in detail
            assert "nn.cross_entropy(logits, LABELS)" in detail  # the line of code itself
            await pilot.press("b")  # backward, collapsed: the loss's input gradient, as numbers
            await pilot.pause()
            sent = softmax_grad(logits.numpy()).ravel()
            assert "[" + ", ".join(number_text(float(v)) for v in sent) + "]" in panel(app, "chain")
            await pilot.press("f", "n", "o")  # open cross_entropy: its two parts are steps now
            await pilot.pause()
            assert [s.op for s in app.model.steps if s.phase == "forward"] == ["MLP", "log_softmax", "nll_loss"]
            assert app.step.op == "log_softmax"  # the cursor stays on the step holding the old one
            await pilot.press("o")  # log_softmax opens too: every primitive of it
            await pilot.pause()
            assert app.step.op == "Max" and app.step.phase == "forward"
            await pilot.press("o")  # inside log_softmax: closes it again
            await pilot.pause()
            assert app.step.op == "log_softmax"
            await pilot.press("e")  # every group open: the MLP's leaf steps show the engine's grads
            await pilot.pause()
            leaf = next(s.index for s in app.model.steps if s.phase == "backward" and s.node == weight.unique_id)
            app.jump(leaf, "")
            await pilot.pause()
            grad = weight.grad.numpy()
            assert f"norm {float(np.linalg.norm(grad)):.6g}" in panel(app, "detail")

    asyncio.run(run())


# ## 0-d values: one number, printed once, everywhere


def test_zero_d_values_are_plain_numbers_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec, _, _, loss, _ = recorded_loss()
    value = number_text(loss.item())
    model = collapse(GraphModel.from_recording(rec), True)
    from visualizer.tui import texts

    lines = texts.node_detail_lines(model, loss.unique_id)
    assert f"value:  {value}" in lines and "grad:   1.0" in lines
    assert sum(value in line for line in lines) == 1  # once, not again as "norm"
    assert not any("()" in line or "norm" in line for line in lines)
    path = rec.save(tmp_path / "run.json")
    assert cli.main(["open", str(path), "--print"]) == 0
    printed = capsys.readouterr().out
    assert "── step 2/8 · forward · cross_entropy" in printed
    assert f"  value:  {value}\n" in printed and f"  → {value}\n" in printed
    assert "() float64" not in printed
    assert cli.main(["open", str(path), "--print", "--expand", "cross_entropy"]) == 0
    opened = capsys.readouterr().out
    assert "forward · log_softmax" in opened and "forward · nll_loss" in opened
    assert cli.main(["open", str(path), "--print", "--expand", "all"]) == 0
    assert "forward · Exp" in capsys.readouterr().out
    assert cli.main(["open", str(path), "--print", "--expand", "nope"]) == 2
    assert "no scope is called 'nope'" in capsys.readouterr().err
