"""Readable at every size: the command line (flags before the script, a script that raises),
0-d values as numbers, tensor chain rule with numbers, and render's node budget."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import Scalar
from visualizer import GraphTooLarge, render
from visualizer import __main__ as cli
from visualizer.model import GraphModel, summary_text, values_text
from visualizer.tui import make_app

RAISING = (
    "from minitorch import Scalar\n"
    "x = Scalar(2.0, name='x')\n"
    "y = x * x\n"
    "y.backward()\n"
    "raise RuntimeError('boom at step 3')\n"
)


def test_visualizer_flags_go_before_the_script_and_args_after_go_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "args.py"
    script.write_text("import sys\nfrom minitorch import Scalar\nprint('ARGS', sys.argv[1:])\n(Scalar(1.0) * 2.0)\n")
    assert cli.main(["run", "--print", "--max-bytes", "100000", str(script), "--print", "7"]) == 0
    out = capsys.readouterr().out
    assert "ARGS ['--print', '7']" in out  # the script's own --print, untouched
    assert "── step 1/1 · forward" in out


def test_a_script_that_raises_keeps_its_partial_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "fails.py"
    script.write_text(RAISING)
    assert cli.main(["run", "--print", str(script)]) == 1
    out = capsys.readouterr().out
    assert "x.grad = 2.0 + 2.0 = 4.0" in out  # the steps before the error were recorded
    assert "── the script raised" in out and "RuntimeError: boom at step 3" in out
    assert "runpy" not in out  # the traceback starts in the script


def test_the_app_opens_on_the_failing_step_with_the_traceback(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text(RAISING)
    rec = cli.script_recording(script, [])
    model = GraphModel.from_recording(rec)
    app = make_app(model, rec)

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert app.cursor.index == len(model.steps) - 1
            assert "RuntimeError: boom at step 3" in str(app.query_one("#error").content)

    asyncio.run(run())


def test_zero_d_values_print_as_numbers() -> None:
    value = minitorch.events.summarize(np.array(0.7487))
    assert summary_text(value) == "0.7487"
    with minitorch.record() as rec:
        t = minitorch.tensor([1.0, 2.0], requires_grad=True)
        (t * t).sum().backward()
    model = GraphModel.from_recording(rec)
    texts = [model.summary(s.output_value) for s in model.steps if s.phase == "forward"]
    assert not any("min" in text and "max" in text and text.startswith("()") for text in texts)


def test_tensor_chain_rule_shows_values_and_the_actual_sum() -> None:
    with minitorch.record() as rec:
        t = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        ((t * t).sum() + (t * 2.0).sum()).backward()
    model = GraphModel.from_recording(rec)
    leaf = next(s for s in model.steps if s.phase == "backward" and s.op is None)
    lines = leaf.chain_rule_lines(model)
    # t*t sends t to each of its two arguments, 2t sends [2, 2, 2]; the leaf sums them: 2t + 2
    assert "    as numbers: [1.0, 2.0, 3.0] + [1.0, 2.0, 3.0] + [2.0, 2.0, 2.0] = [4.0, 6.0, 8.0]" in lines
    assert t.grad.numpy().tolist() == [4.0, 6.0, 8.0]
    big = minitorch.events.summarize(np.arange(40.0))
    assert values_text(big).startswith("[0.0, 1.0, 2.0, 3.0, …] (first 4 of 40 values; norm")


def test_render_refuses_a_12500_node_graph_with_a_hint() -> None:
    y = Scalar(1.0, name="x")
    for _ in range(12_499):
        y = y + 1.0
    with pytest.raises(GraphTooLarge) as refused:
        render(y)
    message = str(refused.value)
    assert "12,500 nodes" in message and "max_nodes=2,000" in message
    assert "max_depth" in message and "iteration" in message and "TUI" in message
