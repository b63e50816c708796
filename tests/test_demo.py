"""The demo (`python -m minitorch.demo`): eager and graph mode train alike, its flags, its exits."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import minitorch
from minitorch import data, nn, optim
from minitorch.demo import cli
from minitorch.demo.compiled_adam import CompiledAdamStep
from minitorch.nn import MLP

ROOT = Path(__file__).resolve().parent.parent
BACKEND = "fast" if "fast" in minitorch.available_backends() else "simple"


def run(flags: list[str], tmp_path: Path) -> tuple[cli.DemoResult, str]:
    """Run the tensor demo quietly; (its result, what it printed)."""
    out = io.StringIO()
    args = cli.parse_args([*flags, "--backend", BACKEND, "--out", str(tmp_path)])
    result = cli.run_tensor_demo(args, Console(file=out, width=200))
    return result, out.getvalue()


def test_graph_and_eager_agree_on_xor(tmp_path: Path) -> None:
    flags = ["--dataset", "xor", "--points", "40", "--epochs", "60"]
    eager, _ = run([*flags, "--mode", "eager"], tmp_path / "eager")
    graph, printed = run([*flags, "--mode", "graph"], tmp_path / "graph")
    assert eager.train_accuracy >= 0.95
    assert abs(graph.train_accuracy - eager.train_accuracy) <= 0.01
    assert graph.history[-1].loss == pytest.approx(eager.history[-1].loss, rel=1e-6)
    assert "compiled: forward, loss, backward and the Adam update of 6 parameters" in printed
    assert "compiled 1× in" in printed


def test_graph_and_eager_agree_on_digits(tmp_path: Path) -> None:
    flags = ["--dataset", "digits", "--epochs", "2", "--hidden", "32"]
    eager, _ = run([*flags, "--mode", "eager"], tmp_path / "eager")
    graph, _ = run([*flags, "--mode", "graph"], tmp_path / "graph")
    assert eager.test_accuracy >= 0.8
    assert abs(graph.test_accuracy - eager.test_accuracy) <= 0.01
    assert abs(graph.train_accuracy - eager.train_accuracy) <= 0.01


def test_compiled_adam_step_is_eager_adam() -> None:
    """Three steps of the compiled program give eager Adam's parameters (same lr, same formulas)."""
    train_set = data.toy_dataset("xor", 12, seed=3)
    X, y = minitorch.tensor(train_set.X), minitorch.tensor(train_set.y)
    targets = minitorch.tensor(np.eye(2)[train_set.y.astype(int)])
    eager_model, graph_model = MLP([2, 4, 2], seed=3), MLP([2, 4, 2], seed=3)
    eager_opt = optim.Adam(eager_model.parameters(), lr=0.05, weight_decay=0.01)
    step = CompiledAdamStep(
        graph_model, cli.one_hot_loss, optim.Adam(graph_model.parameters(), lr=0.05, weight_decay=0.01)
    )
    for _ in range(3):
        loss = nn.cross_entropy(eager_model(X), y)
        eager_opt.zero_grad()
        loss.backward()
        eager_opt.step()
        assert step(X, targets) == pytest.approx(loss.item(), rel=1e-12)
    for a, b in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(b.value.numpy(), a.value.numpy(), rtol=1e-12, atol=1e-14)
    assert step.compile_count == 1 and step.compile_seconds > 0


def test_graph_mode_records_the_compiled_program(tmp_path: Path) -> None:
    result, printed = run(["--points", "20", "--epochs", "2", "--mode", "graph"], tmp_path)
    ops = {event.op for event in result.recording.kernel_events}
    assert result.recording.kernel_events and all(op.startswith("graph:") for op in ops)
    assert not result.recording.forward_events  # not an eager step
    assert "graph:fused" in ops
    assert (tmp_path / "compiled-step.txt").read_text().count("fused") >= 1
    assert "recorded the compiled training step" in printed


def test_default_settings_learn_the_spiral(tmp_path: Path) -> None:
    result, _ = run(["--dataset", "spiral"], tmp_path)
    assert result.train_accuracy >= 0.9  # chance is 0.5


def test_defaults_per_dataset() -> None:
    assert cli.parse_args(["--dataset", "spiral"]).hidden == cli.DATASET_DEFAULTS["spiral"]["hidden"]
    assert cli.parse_args(["--dataset", "digits"]).batch == 64
    assert cli.parse_args(["--dataset", "spiral", "--hidden", "5"]).hidden == 5  # a flag wins
    assert cli.parse_args([]).epochs == cli.DEFAULTS["epochs"]


def test_every_flag_has_help() -> None:
    parser = cli.build_parser()
    missing = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
    assert not missing
    assert "spiral" in parser.format_help()  # the defaults per dataset are listed


def test_cuda_without_a_gpu_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def no_cuda(name: str) -> None:
        raise RuntimeError("backend 'cuda' is not available: no CUDA GPU was found")

    monkeypatch.setattr(cli, "get_backend", no_cuda)
    assert cli.main(["--backend", "cuda"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert "NUMBA_ENABLE_CUDASIM=1" in lines[0] and "GPU" in lines[0]


def closed_pipe_stderr(*args: str) -> tuple[int, str]:
    """Run `python -m args` with its stdout a pipe that nobody reads (as `| head` after exiting)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    proc.stdout.close()  # the reader is gone before the first write
    stderr = proc.stderr.read().decode()
    return proc.wait(), stderr


@pytest.mark.parametrize(
    "command",
    [
        ("minitorch.demo", "--scalar", "--points", "8", "--epochs", "2", "--hidden", "2"),
        ("visualizer", "demo", "--print"),
    ],
    ids=["demo", "visualizer"],
)
def test_output_into_a_closed_pipe_ends_quietly(command: tuple[str, ...]) -> None:
    code, stderr = closed_pipe_stderr(*command)
    assert stderr == "", stderr  # no BrokenPipeError, no traceback
    # rich's Console ends a program whose reader left with exit code 1 (Console.on_broken_pipe);
    # plain print() output ends with 0 (a shell reports `| head` by head's status anyway).
    assert code in (0, 1)


def test_live_gradient_health_rows_are_the_parameters_numbers() -> None:
    from minitorch import nn, optim
    from minitorch.health import LiveHealth

    model = nn.MLP([2, 4, 2], seed=0, backend="simple")
    health = LiveHealth(model)
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    x, y = minitorch.tensor([[0.5, -1.0], [1.0, 2.0]], backend="simple"), minitorch.tensor([0.0, 1.0], backend="simple")
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    nn.cross_entropy(model(x), y).backward()
    optimizer.step()
    rows = {row.name: row for row in health.update(epoch=1, steps=1).rows}
    assert set(rows) == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}
    for name, p in model.named_parameters():
        assert rows[name].grad_norm == pytest.approx(np.linalg.norm(p.grad.numpy()))
        moved = np.linalg.norm(p.numpy() - before[name]) / np.linalg.norm(p.numpy())
        assert rows[name].update_ratio == pytest.approx(moved)


def test_demo_shows_gradient_health_live(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from minitorch import demo

    assert demo.main(["--dataset", "xor", "--epochs", "2", "--backend", "simple", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Gradient health" in out and "layers.0.weight" in out and "update/weight" in out
