"""The compiler view: IR graphs drawn, passes one by one, kernel sources, the timed plan,
`python -m visualizer compiled --print`, and compiled calls inside a recording."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch.graph.codegen import generate_source
from minitorch.graph.executor import Plan
from minitorch.graph.ir import Graph
from minitorch.graph.passes import PIPELINE
from visualizer import __main__ as cli
from visualizer import compiler, render
from visualizer.model import GraphModel
from visualizer.tui.compiler_app import make_compiler_app

ROOT = Path(__file__).resolve().parent.parent


def folding_graph() -> Graph:
    """y = x * (2 * 3) + 0: constant folding makes 6, the algebra drops + 0, DCE the rest."""
    g = Graph()
    x = g.add("input", [], (3,), "float64", name="x")
    two = g.add("const", [], (), "float64", value=np.array(2.0))
    three = g.add("const", [], (), "float64", value=np.array(3.0))
    six = g.add("mul", [two.id, three.id], (), "float64")
    zero = g.add("const", [], (), "float64", value=np.array(0.0))
    y = g.add("mul", [x.id, six.id], (3,), "float64")
    out = g.add("add", [y.id, zero.id], (3,), "float64")
    g.outputs = [out.id]
    return g


def node_line(source: str, node: str) -> str:
    return next(line.strip() for line in source.split("\n") if line.strip().startswith(f"{node} "))


def test_render_draws_ir_nodes_with_op_shape_and_dtype() -> None:
    g = folding_graph()
    source = render(g).source
    assert node_line(source, "n0").startswith("n0 [label=\"%0 input 'x'\\lf64[3]\\l")
    assert "%5 mul\\lf64[3]" in node_line(source, "n5")
    assert "n0 -> n5" in source and "n4 -> n6" in source


def test_fused_nodes_show_their_program() -> None:
    steps = compiler.pass_steps(compiler.demo_train_step_graph())
    final = steps[-1].after
    fused = [n for n in final.nodes if n.op == "fused"]
    assert fused
    line = node_line(render(final).source, f"n{fused[0].id}")
    op, args = fused[0].attrs["program"][0]
    assert f"t0 = {op}({', '.join(args)})" in line


def test_before_after_shows_what_a_pass_removed() -> None:
    steps = compiler.pass_steps(folding_graph())
    assert [s.name for s in steps] == [p.__name__ for p in PIPELINE]
    folding = steps[1]
    assert folding.name == "constant_folding"
    assert 3 in folding.changed  # 2 * 3 became the constant 6
    assert folding.after.node(3).op == "const" and float(folding.after.node(3).attrs["value"]) == 6.0
    dce = next(s for s in steps if s.name == "dead_code_elimination")
    assert {1, 2} <= dce.removed
    source = render(dce.after, before=dce.before).source
    assert "(removed)" in node_line(source, "n1") and "style=dashed" in node_line(source, "n1")
    assert "(removed)" not in node_line(source, "n0")
    # node counts before -> after, pass by pass, chain up
    for earlier, later in zip(steps, steps[1:]):
        assert earlier.after is later.before
    assert len(steps[-1].after.nodes) < len(steps[0].before.nodes)


def test_print_one_line_per_pass_with_node_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compiled", "--print"]) == 0
    out = capsys.readouterr().out.strip().split("\n")
    steps = compiler.pass_steps(compiler.demo_train_step_graph())
    assert out[0] == "── compiled graph 1/1"
    for line, step in zip(out[1:], steps):
        assert line.split()[:4] == [step.name, str(len(step.before.nodes)), "->", str(len(step.after.nodes))]
    assert out[len(steps) + 1].split()[:4] == [
        "total",
        str(len(steps[0].before.nodes)),
        "->",
        str(len(steps[-1].after.nodes)),
    ]


def test_print_piped_into_head_ends_quietly() -> None:
    done = subprocess.run(
        f"{sys.executable} -m visualizer compiled --print | head -n 2",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.split("\n")[0] == "── compiled graph 1/1"
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr


def test_compiled_script_prints_each_compiled_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "comp.py"
    script.write_text(
        "import minitorch\n"
        "f = minitorch.compile(lambda x: (x * 2.0 + 1.0).sigmoid())\n"
        "f(minitorch.tensor([1.0, 2.0, 3.0]))\n"
    )
    assert cli.main(["compiled", "--print", str(script)]) == 0
    out = capsys.readouterr().out
    assert "── compiled graph 1/1" in out and "elementwise_fusion" in out


def test_kernel_pages_show_codegen_source_and_plan_times_every_step() -> None:
    steps = compiler.pass_steps(compiler.demo_train_step_graph())
    final = steps[-1].after
    pages = compiler.compiler_pages(steps, "simple", runs=2)
    fused = [n for n in final.nodes if n.op == "fused"]
    kernel_pages = [p for p in pages if p.title.startswith("kernel of")]
    assert len(kernel_pages) == len(fused)
    first_source = "\n".join(text for _, text in kernel_pages[0].lines)
    assert first_source.startswith("# Generated by minitorch.graph.codegen")
    assert first_source.split("\n")[3:] == [
        line for line in generate_source(fused[0], "simple", _scalars(final, fused[0])).rstrip().split("\n")[3:]
    ]
    plan_page = pages[-1]
    assert plan_page.title == "execution plan"
    assert len(plan_page.lines) == len(Plan(final, minitorch.backends.get_backend("simple")).steps) + 2
    # pass pages mark removed lines
    dce = next(p for p in pages if "dead_code_elimination" in p.title)
    assert any(style == "removed" for style, _ in dce.lines)


def _scalars(graph: Graph, node: Any) -> list[bool]:
    shapes = {n.id: n.shape for n in graph.nodes}
    return [int(np.prod(shapes[i])) == 1 and shapes[i] != node.shape for i in node.inputs]


def test_compiled_call_in_a_recording_expands_into_its_kernels_without_phantom_steps() -> None:
    f = minitorch.compile(lambda x, w: ((x @ w).sigmoid() * 2.0 + 1.0).sum())
    x = minitorch.tensor(np.ones((4, 3)).tolist())
    w = minitorch.tensor(np.full((3, 2), 0.5).tolist(), requires_grad=True)
    with minitorch.record() as rec:
        f(x, w).backward()  # the first call traces inside the recording
    assert [e.op for e in rec.forward_events] == ["Compiled"]  # no traced ops with arg0 = None
    assert all(ref.value is not None for e in rec.forward_events for ref in e.inputs)
    model = GraphModel.from_recording(rec)
    forward = model.kernels_of_step(0)
    assert any(k.kernel.startswith("fused_") for k in forward)
    assert all(k.op.startswith("graph:") for k in forward)
    assert [k.step for k in forward] == [0] * len(forward)
    assert {k.node for k in forward} == {model.steps[0].node}


def test_compiler_app_pages_through_passes_kernels_and_plan() -> None:
    steps = compiler.pass_steps(folding_graph())
    app = make_compiler_app([steps], "simple", runs=1)

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert app.sub_title.startswith(f"1/{len(app.pages)} · pass 1/{len(PIPELINE)}: infer_shapes")
            await pilot.press("n")
            await pilot.pause()
            text = str(app.query_one("#page").content)
            assert "pass 2" in app.sub_title and "+ %3:f64[] = const 6" in text
            for _ in app.pages:
                await pilot.press("n")
            await pilot.pause()
            assert app.page.title == "execution plan"

    asyncio.run(run())


def test_snapshot_compiler_pass(snap_compare: Any) -> None:
    steps = compiler.pass_steps(folding_graph())
    app = make_compiler_app([steps], "simple", runs=1)
    assert snap_compare(app, press=["n", "n", "n", "n"], terminal_size=(100, 30))
