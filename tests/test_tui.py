"""The visual debugger's terminal app: stepping, the chain rule as numbers, kernel timings,
the command line, laziness on big graphs, and SVG snapshots of what the screen looks like.

Apps run headless with `App.run_test()`; each async test body runs under `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Recording, Scalar, nn
from minitorch.events import KernelEvent
from minitorch.nn import MLP
from visualizer import __main__ as cli
from visualizer.model import GraphModel
from visualizer.tui import StepCursor, VisualizerApp, make_app
from visualizer.tui.graph_tree import CHUNK, GraphTree

SIZE = (120, 40)
ROOT = Path(__file__).resolve().parent.parent

# ## Helpers


def drive(app: VisualizerApp, body: Callable[[Any], Awaitable[None]]) -> None:
    """Run `app` headless and hand its pilot to `body`."""

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(run())


async def press(pilot: Any, *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()


def panel(app: VisualizerApp, name: str) -> str:
    return str(app.query_one(f"#{name}").content)


def square_plus_recording() -> tuple[Recording, Scalar]:
    """y = x*x + x at x = 3: x feeds three ops, dy/dx = 2x + 1 = 7."""
    with minitorch.record() as rec:
        x = Scalar(3.0, name="x")
        y = x * x + x
        y.backward()
    return rec, x


def mlp_recording() -> tuple[Recording, MLP]:
    rng = np.random.default_rng(0)
    model = MLP([2, 4, 2], backend="simple", seed=0)
    X = minitorch.tensor(rng.normal(size=(6, 2)), backend="simple")
    y = minitorch.tensor(np.array([0, 1, 0, 1, 1, 0]), backend="simple")
    with minitorch.record() as rec:
        nn.cross_entropy(model(X), y).backward()
    return rec, model


def fixed_kernels() -> list[KernelEvent]:
    """Kernel launches with fixed seconds, so screenshots never depend on the clock."""
    return [
        KernelEvent("mul_zip", "simple", "Mul", [[], []], 2.5e-6, 24, 1),
        KernelEvent("add_zip", "simple", "Add", [[], []], 1.5e-6, 24, 1),
        KernelEvent("add_zip", "simple", "Add.backward", [[]], 1.0e-6, 16, 0),
        KernelEvent("mul_zip", "simple", "Mul.backward", [[], []], 2.0e-6, 24, 1),
        KernelEvent("mul_zip", "simple", "Mul.backward", [[], []], 2.0e-6, 24, 1),
    ]


# ## The cursor: plain state, no widgets


def test_step_cursor_moves_and_clamps() -> None:
    cursor = StepCursor(3)
    assert cursor.index == 0 and not cursor.prev()
    assert cursor.next() and cursor.next() and cursor.index == 2
    assert not cursor.next() and cursor.at_end
    assert cursor.jump(0) and cursor.index == 0
    assert not cursor.jump(None) and cursor.index == 0
    assert cursor.jump(99) and cursor.index == 2
    empty = StepCursor(0)
    assert empty.index is None and not empty.next() and not empty.jump(0)


# ## Stepping through graphs


def test_scalar_graph_chain_rule_shows_the_engines_numbers() -> None:
    rec, x = square_plus_recording()
    model = GraphModel.from_recording(rec)
    assert x.grad == 7.0

    async def body(pilot: Any) -> None:
        app = pilot.app
        assert app.cursor.index == 0 and "= Mul(x, x)" in panel(app, "chain")
        assert "9.0" in panel(app, "chain")
        await press(pilot, "n")
        assert "12.0" in panel(app, "chain")  # 9 + 3
        await press(pilot, "b")  # backward starts at Add
        assert app.step.phase == "backward" and app.step.op == "Add"
        await press(pilot, "right")  # Mul: incoming 1.0 × local 3.0 = 3.0, once per argument
        chain = panel(app, "chain")
        assert app.step.op == "Mul" and chain.count("1.0 × 3.0 = 3.0") == 2
        await press(pilot, "n")  # the leaf x: what three users sent adds up to 7
        assert "x.grad = 1.0 + 3.0 + 3.0 = 7.0" in panel(app, "chain")
        assert "grad:   7.0" in panel(app, "detail")
        await press(pilot, "n")  # the last step: stays there
        assert app.cursor.index == len(model.steps) - 1
        await press(pilot, "p", "left", "f")
        assert app.cursor.index == 0
        tree = app.query_one("#graph", GraphTree)
        assert tree.cursor_node.data == app.step.node  # the tree follows the step
        await press(pilot, "down", "enter")  # enter on the Add node: go to the step computing it
        assert app.step.op == "Add" and app.step.phase == "forward"

    drive(make_app(model), body)


def test_tensor_mlp_steps_show_the_engines_leaf_gradients() -> None:
    rec, mlp = mlp_recording()
    model = GraphModel.from_recording(rec)
    weight = mlp.parameters()[0].value
    grad = weight.grad.numpy()
    leaf_step = next(s.index for s in model.steps if s.phase == "backward" and s.node == weight.unique_id)

    async def body(pilot: Any) -> None:
        app = pilot.app
        await press(pilot, "b")
        assert app.step.index == model.phase_start("backward")
        await press(pilot, "n")
        assert app.cursor.index == model.phase_start("backward") + 1
        app.jump(leaf_step, "")  # what pressing n until there would do
        await pilot.pause()
        detail, chain = panel(app, "detail"), panel(app, "chain")
        assert f"norm {float(np.linalg.norm(grad)):.6g}" in detail
        assert f"min {grad.min():.6g}" in chain and f"max {grad.max():.6g}" in chain
        # the forward MatMul step of layer 0 lists this step's launches only: its one matmul
        # (the run has two, one per layer: the whole-run table counts both)
        await press(pilot, "f", "n")
        assert app.step.op == "MatMul"
        table = app.query_one("#op-kernels")
        assert table.row_count == 1 and table.get_row_at(0)[:3] == ["matmul", "simple", "1"]
        assert [k.kernel for k in model.kernels_of_step(app.step.index)] == ["matmul"]
        assert sum(k.kernel == "matmul" and k.op == "MatMul" for k in rec.kernel_events) == 2
        kernels_run = {(k.kernel, k.backend) for k in rec.kernel_events}
        assert app.query_one("#run-kernels").row_count == len(kernels_run)

    drive(make_app(model, expand=True), body)  # every op its own step


def test_key_x_jumps_to_the_first_nan_or_inf() -> None:
    with minitorch.record() as rec:
        x = Scalar(0.0, name="x")
        y = (x + 1.0) * (x.log() * 0.0)  # log 0 = -inf, then -inf * 0 = nan
        y.backward()
    model = GraphModel.from_recording(rec)
    first = model.first_nonfinite_step()
    assert first is not None and model.steps[first].op == "Log"

    async def body(pilot: Any) -> None:
        app = pilot.app
        assert app.cursor.index == 0
        await press(pilot, "x")
        assert app.cursor.index == first
        assert "-inf" in panel(app, "detail") and "⚠" in panel(app, "detail")

    drive(make_app(model), body)


def test_expand_all_and_collapse_all_on_the_module_tree() -> None:
    rec, _ = mlp_recording()
    model = GraphModel.from_recording(rec)

    async def body(pilot: Any) -> None:
        tree = pilot.app.query_one("#graph", GraphTree)
        rows = [str(child.label) for child in tree.root.children]
        assert any(row.startswith("MLP #") and row.endswith("(group)") for row in rows)  # one row
        await press(pilot, "e")  # every group opened, every branch expanded
        tree = pilot.app.query_one("#graph", GraphTree)
        assert "MLP" in [str(child.label) for child in tree.root.children]
        assert set(tree.leaves) == set(model.nodes)
        await press(pilot, "c")
        tree = pilot.app.query_one("#graph", GraphTree)
        assert not any(child.is_expanded for child in tree.root.children)
        assert len(pilot.app.model.nodes) < len(model.nodes)

    drive(make_app(model), body)


def test_tree_is_lazy_on_a_10000_node_chain() -> None:
    with minitorch.record() as rec:
        y = x = Scalar(1.0, name="x")
        for _ in range(9_999):
            y = -y
        y.backward()
    model = GraphModel.from_recording(rec)
    assert len(model.nodes) == 10_000
    # before anything is expanded: the root and its CHUNK branches of 100 nodes each
    fresh = GraphTree(model)
    assert len(fresh.root.children) == CHUNK and fresh.count() == 1 + CHUNK

    async def body(pilot: Any) -> None:
        app = pilot.app
        tree = app.query_one("#graph", GraphTree)
        # on screen, the branch holding the current node is open too, and nothing else
        assert tree.count() == 1 + CHUNK + CHUNK
        await press(pilot, "n", "right")
        for _ in range(48):  # what the n key does, without the pilot's wait for idle per key
            app.action_next_step()
        await pilot.pause()
        assert app.cursor.index == 50 and app.step.op == "Neg"
        # stepping opened only the branch holding the current node
        assert tree.count() == 1 + CHUNK + CHUNK
        assert tree.cursor_node.data == app.step.node
        await press(pilot, "e")  # too many nodes: modules open, node lists stay folded
        assert tree.count() == 1 + CHUNK + CHUNK
        await press(pilot, "x")  # no NaN: a message, no move
        assert app.cursor.index == 50
        assert x.grad == 1.0 * (-1) ** 9_999

    drive(make_app(model), body)


# ## The command line


def test_open_a_saved_recording_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rec, _ = square_plus_recording()
    path = rec.save(tmp_path / "run.json")
    opened: list[GraphModel] = []
    monkeypatch.setattr(cli, "run_app", lambda model, **_: opened.append(model))
    assert cli.main(["open", str(path)]) == 0
    (model,) = opened
    assert len(model.steps) == 5

    async def body(pilot: Any) -> None:
        await press(pilot, "b", "n", "n")
        assert "= 7.0" in panel(pilot.app, "chain")

    drive(make_app(model), body)
    assert cli.main(["open", str(path), "--print"]) == 0
    printed = capsys.readouterr().out
    assert "x.grad = 1.0 + 3.0 + 3.0 = 7.0" in printed and "step 5/5" in printed


def test_open_a_bad_file_exits_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": "world"}')
    assert cli.main(["open", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a minitorch recording" in err and "Traceback" not in err
    assert cli.main(["open", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    # the real process: exit status 2, the message, no traceback
    done = subprocess.run(
        [sys.executable, "-m", "visualizer", "open", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "not a minitorch recording" in done.stderr and "Traceback" not in done.stderr


def test_run_a_script_under_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "square.py"
    script.write_text(
        "import sys\nfrom minitorch import Scalar\nx = Scalar(float(sys.argv[1]), name='x')\n(x * x + x).backward()\n"
    )
    assert cli.main(["run", "--print", str(script), "3"]) == 0
    assert "x.grad = 1.0 + 3.0 + 3.0 = 7.0" in capsys.readouterr().out


def test_demo_opens_on_a_training_step_with_kernel_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[GraphModel] = []
    monkeypatch.setattr(cli, "run_app", lambda model, **_: opened.append(model))
    assert cli.main(["demo"]) == 0
    (model,) = opened
    assert model.phase_start("backward") is not None and model.kernels

    async def body(pilot: Any) -> None:
        kernels = {
            row[0]
            for row in map(
                pilot.app.query_one("#run-kernels").get_row_at, range(pilot.app.query_one("#run-kernels").row_count)
            )
        }
        assert "matmul" in kernels

    drive(make_app(model), body)


# ## Snapshots: the screen at a forward step and at backward steps


@pytest.fixture
def snapshot_model(monkeypatch: pytest.MonkeyPatch) -> GraphModel:
    """The x*x + x graph with ids 1, 2, 3 whatever ran before, and fixed kernel times."""
    monkeypatch.setattr(minitorch.autodiff, "_next_id", itertools.count(1))
    rec, _ = square_plus_recording()
    model = GraphModel.from_recording(rec)
    model.kernels = fixed_kernels()
    for node in model.nodes.values():
        node.where = None  # the line in this file that made it: it would move with every edit above
    return model


def test_snapshot_forward_step(snap_compare: Any, snapshot_model: GraphModel) -> None:
    assert snap_compare(make_app(snapshot_model), press=["n"], terminal_size=SIZE)


def test_snapshot_backward_step(snap_compare: Any, snapshot_model: GraphModel) -> None:
    assert snap_compare(make_app(snapshot_model), press=["b", "n"], terminal_size=SIZE)


def test_snapshot_leaf_accumulates(snap_compare: Any, snapshot_model: GraphModel) -> None:
    assert snap_compare(make_app(snapshot_model), press=["b", "n", "n"], terminal_size=SIZE)


@pytest.fixture
def group_model(monkeypatch: pytest.MonkeyPatch) -> GraphModel:
    """cross_entropy of fixed logits: one collapsed group, with fixed ids and no kernel times."""
    monkeypatch.setattr(minitorch.autodiff, "_next_id", itertools.count(1))
    logits = minitorch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], backend="simple", requires_grad=True)
    target = minitorch.tensor([0, 2], backend="simple")
    with minitorch.record() as rec:
        nn.functional.cross_entropy(logits, target).backward()
    model = GraphModel.from_recording(rec)
    model.kernels, model.step_kernels = [], {}  # their times move from run to run
    for node in model.nodes.values():
        node.where = None
    return model


def test_snapshot_collapsed_group(snap_compare: Any, group_model: GraphModel) -> None:
    """The loss is one node: its step shows the value, the gradient and how many ops it hides.
    (PyTorch gives the same loss, 0.621627, and gradient, [-0.107201, 0.0195563, ...].)"""
    assert snap_compare(make_app(group_model), press=["n"], terminal_size=SIZE)
