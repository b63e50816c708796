"""Training over time: iterations in a recording, their parameters' numbers, the memory bound,
the first NaN's iteration, sparklines, kernels per step, and the TUI's iteration scrubber."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Recording, nn, optim
from minitorch.nn import MLP
from minitorch.profiler import Profile
from visualizer import render
from visualizer.model import GraphModel
from visualizer.timeline import node_series, sparkline
from visualizer.tui import make_app


def train(iterations: int = 4, lr: float = 0.5, **record: Any) -> tuple[Recording, MLP, list[dict[str, Any]]]:
    """An MLP on xor for a few SGD steps; per step the engine's grads and updates, for checking."""
    data = minitorch.data.toy_dataset("xor", 8, seed=0)
    model = MLP([2, 4, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=lr)
    X, y = minitorch.tensor(data.X), minitorch.tensor(data.y)
    truth = []
    with minitorch.record(**record) as rec:
        for _ in range(iterations):
            opt.zero_grad()
            nn.cross_entropy(model(X), y).backward()
            before = [p.value.numpy().copy() for p in model.parameters()]
            grads = [p.value.grad.numpy().copy() for p in model.parameters()]
            opt.step()
            after = [p.value.numpy().copy() for p in model.parameters()]
            truth.append({"before": before, "grads": grads, "updates": [a - b for a, b in zip(after, before)]})
    return rec, model, truth


def test_optimizer_step_closes_an_iteration_with_the_engines_numbers() -> None:
    rec, model, truth = train()
    iterations = rec.iterations
    assert len(iterations) == 4 and all(it.closed for it in iterations)
    for it, seen in zip(iterations, truth):
        assert it.closing.reason == "optimizer"
        for stats, grad, update, before in zip(it.closing.params, seen["grads"], seen["updates"], seen["before"]):
            assert stats.grad["norm"] == pytest.approx(np.linalg.norm(grad))
            assert stats.value["data"] == pytest.approx(before.ravel())  # small: every value kept
            assert stats.update_norm == pytest.approx(np.linalg.norm(update))
    # each iteration is the same program: as many forward ops in each
    counts = {sum(e.kind == "forward" for e in rec.events[it.start : it.end]) for it in iterations}
    assert len(counts) == 1


def test_mark_iteration_without_an_optimizer() -> None:
    with minitorch.record() as rec:
        for k in range(3):
            x = minitorch.Scalar(float(k), name="x")
            (x * x).backward()
            minitorch.events.mark_iteration()
        rec.mark_iteration()  # the recording's own marker: an empty iteration
    assert [it.closing.reason for it in rec.iterations] == ["mark"] * 4
    assert [ev.output.value for ev in rec.iteration_recording(2).forward_events] == [4.0]


def test_render_draws_one_iteration_the_last_by_default() -> None:
    rec, model, truth = train(iterations=3)
    last, first = render(rec).source, render(rec, iteration=0).source
    assert last == render(rec, iteration=2).source and last != first
    w = model.parameters()[0].value
    norm0 = np.linalg.norm(truth[0]["grads"][0])
    assert f"grad norm {norm0:.6g}" in first and f"grad norm {norm0:.6g}" not in last
    with pytest.raises(IndexError):
        render(rec, iteration=3)
    assert "layers.0.weight" in first and w.unique_id in GraphModel.from_recording(rec.iteration_recording(0)).nodes


def test_large_tensors_keep_a_summary_and_histogram_small_ones_their_values() -> None:
    big = minitorch.tensor(np.linspace(-1, 1, 100).tolist(), requires_grad=True)
    small = minitorch.tensor([1.0, 2.0], requires_grad=True)
    with minitorch.record(keep_values_up_to=50) as rec:
        (big * 2.0).sum().backward()
        (small * 2.0).sum().backward()
    out_big, out_small = [e.output.value for e in rec.forward_events if e.op == "Mul"]
    assert (
        "data" not in out_big
        and sum(out_big["hist"]) == 100
        and out_big["norm"] == pytest.approx(2 * np.linalg.norm(np.linspace(-1, 1, 100)))
    )
    assert out_small["data"] == [2.0, 4.0]
    assert minitorch.events.ARRAY_DATA_LIMIT == 64  # restored after the block


def test_memory_bound_drops_old_iterations_steps_but_keeps_their_numbers() -> None:
    full, _, _ = train(iterations=5)
    bounded, _, truth = train(iterations=5, max_bytes=200_000)
    assert bounded.dropped_iterations > 0 and len(bounded.events) < len(full.events)
    assert len(bounded.iterations) == 5  # every optimizer step still known
    first = bounded.iterations[0]
    assert first.end == first.start  # its steps are gone
    assert first.closing.params[0].grad["norm"] == pytest.approx(np.linalg.norm(truth[0]["grads"][0]))
    last = bounded.iterations[-1]
    assert sum(e.kind == "forward" for e in bounded.events[last.start : last.end]) > 0


def test_first_nan_says_which_iteration() -> None:
    # loss = log(w): dL/dw = 1/w; w = 1 -> 0.25 -> -2.75, whose log is NaN in iteration 2
    w = minitorch.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.75)
    with np.errstate(all="ignore"), minitorch.record() as rec:
        for _ in range(4):
            opt.zero_grad()
            w.log().sum().backward()
            opt.step()
    assert rec.first_nonfinite_iteration() == 2


def test_node_series_and_sparkline_follow_a_node_across_iterations() -> None:
    rec, model, truth = train(iterations=4)
    w = model.parameters()[0].value
    series = node_series(rec, 3, w.unique_id)
    assert [g for _, g in series] == pytest.approx([np.linalg.norm(t["grads"][0]) for t in truth])
    assert [v for v, _ in series] == pytest.approx([np.linalg.norm(t["before"][0]) for t in truth])
    last = GraphModel.from_recording(rec.iteration_recording(3))
    relu = next(s.node for s in last.steps if s.op == "ReLU")
    relu_series = node_series(rec, 3, relu)
    firsts = [
        next(e for e in rec.events[it.start : it.end] if e.kind == "forward" and e.op == "ReLU")
        for it in rec.iterations
    ]
    assert [v for v, _ in relu_series] == pytest.approx([e.output.value["norm"] for e in firsts])
    assert sparkline([1.0, 2.0, 3.0, math.nan, None]) == "▁▅█! "


def test_kernel_events_carry_step_node_and_start() -> None:
    rec, _, _ = train(iterations=1)
    kernels = rec.kernel_events
    assert kernels and all(k.step is not None and k.node is not None and k.start >= 0 for k in kernels)
    starts = [k.start for k in kernels]
    assert starts == sorted(starts)
    model = GraphModel.from_recording(rec.iteration_recording(0))
    matmul = next(s for s in model.steps if s.op == "MatMul" and s.phase == "forward")
    (launch,) = model.kernels_of_step(matmul.index)
    assert launch.kernel == "matmul" and launch.node == matmul.node


def test_profiler_reports_first_call_apart_from_steady_state() -> None:
    prof = Profile()
    prof.launches = [
        minitorch.events.KernelEvent("k", "fast", "Mul", [[2]], seconds)
        for seconds in (0.5, 0.001, 0.003)  # the first launch compiled the kernel
    ]
    (row,) = prof.key_averages()
    assert row.first_seconds == 0.5 and row.steady_mean == pytest.approx(0.002)
    assert row.jit_seconds == pytest.approx(0.498) and prof.jit_seconds() == pytest.approx(0.498)


def test_tui_iteration_scrubber_sparklines_and_health() -> None:
    rec, model, truth = train(iterations=4)
    app = make_app(GraphModel.from_recording(rec.iteration_recording(-1)), rec)

    async def run() -> None:
        async with app.run_test(size=(140, 50)) as pilot:
            await pilot.pause()
            assert app.iteration == 3 and "iteration 3/3" in app.sub_title
            await pilot.press("[")
            await pilot.pause()
            assert app.iteration == 2 and "iteration 2/3" in app.sub_title
            await pilot.press("g", "0", "enter")
            await pilot.pause()
            assert app.iteration == 0
            health = str(app.query_one("#health").content)
            row = rec.gradient_health().at(0)[0]
            assert row.name == "layers.0.weight" and f"{np.linalg.norm(truth[0]['grads'][0]):.3g}" in health
            series = str(app.query_one("#series").content)
            assert "over 4 iterations" in series and "value norm" in series and "grad norm" in series

    asyncio.run(run())


def test_snapshot_iterations_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minitorch.autodiff, "_next_id", __import__("itertools").count(1))
    with minitorch.record() as rec:
        for k in range(3):
            x = minitorch.Scalar(1.0 + k, name="x")
            (x * x + x).backward()
            rec.mark_iteration()
    for event in rec.forward_events:
        event.where = None  # the line in this file that made it: it would move with every edit above
    app = make_app(GraphModel.from_recording(rec.iteration_recording(-1)), rec)
    assert snap_compare(app, press=["n", "["], terminal_size=(120, 40))


def test_a_recording_with_iterations_saves_and_loads_equal(tmp_path: Any) -> None:
    rec, _, _ = train(iterations=2)
    loaded = Recording.load(rec.save(tmp_path / "run.json"))
    assert loaded == rec
    assert [it.closing.params[0].update_norm for it in loaded.iterations] == [
        it.closing.params[0].update_norm for it in rec.iterations
    ]
    assert loaded.gradient_health().rows == rec.gradient_health().rows
