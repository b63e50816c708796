"""Engine events and recordings: the chain rule as numbers, saved and loaded."""

from __future__ import annotations

import json
import math

import pytest

import minitorch
from minitorch import Recording, RecordingError, Scalar, autodiff, events


def record_square_plus() -> tuple[Recording, Scalar, Scalar]:
    with minitorch.record() as rec:
        x = Scalar(3.0, name="x")
        y = x * x + x  # x feeds Mul twice and Add once
        y.backward()
    return rec, x, y


def test_forward_events_name_op_inputs_and_output() -> None:
    rec, x, y = record_square_plus()
    ops = [(e.op, [r.id for r in e.inputs], e.output.value) for e in rec.forward_events]
    mul_id = rec.forward_events[0].output.id
    assert ops == [("Mul", [x.unique_id, x.unique_id], 9.0), ("Add", [mul_id, x.unique_id], 12.0)]
    assert rec.forward_events[0].inputs[0].label == "x"


def test_backward_events_show_the_chain_rule_as_numbers() -> None:
    rec, x, y = record_square_plus()
    add, mul, leaf = rec.backward_events
    assert (add.op, add.grad_output, add.local_derivatives, add.grads_to_parents) == (
        "Add",
        1.0,
        [1.0, 1.0],
        [1.0, 1.0],
    )
    # Mul(x, x) at x = 3: local derivative 3 for each argument, times incoming 1.0
    assert (mul.op, mul.grad_output, mul.local_derivatives, mul.grads_to_parents) == (
        "Mul",
        1.0,
        [3.0, 3.0],
        [3.0, 3.0],
    )
    # incoming gradient = local derivative × upstream, for every parent
    for event in (add, mul):
        for local, sent in zip(event.local_derivatives, event.grads_to_parents):
            assert sent == pytest.approx(local * event.grad_output)
    # the leaf shows the accumulation: 1 (from Add) + 3 + 3 (from Mul twice) = 7 = dy/dx
    assert leaf.op is None and leaf.node == x.unique_id
    assert sorted(d for _, d in leaf.contributions) == [1.0, 3.0, 3.0]
    assert leaf.grad_output == 7.0 == x.grad


def test_graph_assembled_from_events() -> None:
    rec, x, y = record_square_plus()
    graph = rec.graph()
    assert graph[x.unique_id].op is None and graph[x.unique_id].grad == 7.0
    assert graph[y.unique_id].op == "Add" and graph[y.unique_id].value == 12.0
    assert len(graph) == 3


def test_save_and_load_round_trip(tmp_path) -> None:
    rec, _, _ = record_square_plus()
    loaded = Recording.load(rec.save(tmp_path / "run.json"))
    assert loaded == rec
    assert loaded.backward_events[-1].contributions == rec.backward_events[-1].contributions


def test_nonfinite_values_round_trip(tmp_path) -> None:
    with minitorch.record() as rec:
        x = Scalar(0.0)
        y = x.log() * 0.0  # -inf * 0 = nan
        y.backward()
    loaded = Recording.load(rec.save(tmp_path / "nan.json"))
    assert loaded == rec
    values = [e.output.value for e in loaded.forward_events]
    assert values[0] == "-inf" and values[1] == "nan"
    assert math.isnan(events.decode_float(values[1]))
    assert events.is_nonfinite(values[1])


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"format": "minitorch-recording", "version": 1, "events": [{"kind": "forw', "truncated"),
        ('{"hello": "world"}', "not a minitorch recording"),
        ("[1, 2, 3]", "not a minitorch recording"),
        ('{"format": "minitorch-recording", "version": 99, "events": []}', "version 99"),
        ('{"format": "minitorch-recording", "version": 1, "events": [{"kind": "bogus"}]}', "corrupt"),
        ('{"format": "minitorch-recording", "version": 1, "events": [{"kind": "forward"}]}', "corrupt"),
    ],
)
def test_bad_recording_files_give_clear_errors(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(RecordingError, match=message):
        Recording.load(path)


def test_binary_file_is_not_a_recording(tmp_path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecordingError, match="not a minitorch recording"):
        Recording.load(path)


def test_saved_file_is_plain_json(tmp_path) -> None:
    rec, _, _ = record_square_plus()
    data = json.loads(rec.save(tmp_path / "r.json").read_text())
    assert data["format"] == "minitorch-recording" and len(data["events"]) == len(rec)


def test_no_listener_after_the_block() -> None:
    with minitorch.record():
        assert len(events.LISTENERS) == 1
    assert events.LISTENERS == []
    with pytest.raises(RuntimeError), minitorch.record():
        raise RuntimeError("the block fails")
    assert events.LISTENERS == []


def test_nested_recordings_both_see_events() -> None:
    with minitorch.record() as outer:
        Scalar(1.0) * 2.0
        with minitorch.record() as inner:
            Scalar(1.0) + 2.0
    assert len(outer.forward_events) == 2 and len(inner.forward_events) == 1


def test_array_values_are_summarized() -> None:
    import numpy as np

    summary = events.summarize(np.array([[1.0, 2.0], [3.0, np.inf]]))
    assert summary["shape"] == [2, 2] and summary["max"] == 3.0 and summary["nonfinite"] == 1
    assert summary["data"] == [1.0, 2.0, 3.0, "inf"]
    assert "data" not in events.summarize(np.zeros(1000))


def test_isolated_block_hides_outer_listeners() -> None:
    x = Scalar(2.0, name="x")
    with minitorch.record() as outer:
        with events.isolated():
            with minitorch.record() as inner:
                x * x
            x * 3.0  # nobody listens here
            assert events.LISTENERS == []
        x + 1.0
        assert events.LISTENERS == [outer]
    assert [e.op for e in outer.forward_events] == ["Add"]
    assert [e.op for e in inner.forward_events] == ["Mul"]
    assert events.LISTENERS == []


def test_forward_events_carry_what_the_op_saved() -> None:
    rec, _, _ = record_square_plus()
    mul, add = rec.forward_events
    assert mul.saved == [3.0, 3.0]  # Mul keeps its inputs for backward
    assert add.saved == []  # Add needs nothing


def test_report_graph_describes_a_graph_built_before_anyone_listened() -> None:
    x = Scalar(3.0, name="x")
    x.grad = 1.5
    y = x * x + 2.0
    with minitorch.record() as rec:
        autodiff.report_graph(y)
    mul, add = rec.forward_events
    assert (mul.op, add.op, add.output.id) == ("Mul", "Add", y.unique_id)
    assert mul.saved == [3.0, 3.0] and mul.inputs[0].grad == 1.5  # the leaf's .grad as it is
    assert [ref.requires_grad for ref in add.inputs] == [True, False]  # 2.0 is a constant
    y.backward()  # frees what Mul saved
    with minitorch.record() as after:
        autodiff.report_graph(y)
    assert after.forward_events[0].saved == "freed" and after.forward_events[0].inputs[0].grad == 7.5
