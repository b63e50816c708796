"""The Graphviz renderer: the DOT text it writes, and the images `dot` draws from it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import minitorch
from minitorch import Scalar
from minitorch.nn import MLP
from visualizer import GraphModel, GraphvizNotInstalled, render, save, to_svg
from visualizer.dot import FIRST_NONFINITE_MARK

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def node_line(source: str, node_id: str) -> str:
    """The DOT statement that declares `node_id`."""
    match = re.search(rf"^\s*{node_id} \[.*\]$", source, re.MULTILINE)
    assert match, f"{node_id} not declared in\n{source}"
    return match.group(0).strip()


def clusters(source: str) -> dict[str, set[str]]:
    """Cluster label -> the node ids declared inside it (nested clusters included)."""
    open_clusters: list[tuple[str, set[str]]] = []
    found: dict[str, set[str]] = {}
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            open_clusters.append(("", set()))
        elif open_clusters and not open_clusters[-1][0] and " label=" in line and "[" not in line:
            label = re.search(r'label=("[^"]*"|\S+)', line).group(1).strip('"')
            open_clusters[-1] = (label, open_clusters[-1][1])
        elif line == "}" and open_clusters:
            label, members = open_clusters.pop()
            found[label] = members
        elif open_clusters and re.match(r"^n\d+\w* \[", line):
            for _, members in open_clusters:
                members.add(line.split(" ")[0])
    return found


def square_plus() -> tuple[Scalar, Scalar, Scalar]:
    x = Scalar(3.0, name="x")
    mul = x * x
    return x, mul, mul + x


def recorded_mlp() -> tuple[minitorch.Recording, MLP]:
    mlp = MLP([2, 3, 1], seed=0)
    with minitorch.record() as rec:
        mlp(minitorch.tensor([[1.0, 2.0], [0.5, -1.0]])).sum().backward()
    return rec, mlp


def test_scalar_graph_nodes_edges_and_gradients() -> None:
    x, mul, y = square_plus()
    source = render(y, title="y = x*x + x").source
    xi, mi, yi = x.unique_id, mul.unique_id, y.unique_id
    assert node_line(source, f"n{xi}") == (
        f'n{xi} [label="x\\nvalue 3.0\\ngrad 7.0" fillcolor="#dbeafe" shape=box style=filled]'
    )
    assert node_line(source, f"n{mi}") == f'n{mi} [label="value 9.0\\ngrad 1.0" shape=box]'
    assert node_line(source, f"n{mi}_op") == f"n{mi}_op [label=Mul shape=ellipse]"
    assert node_line(source, f"n{yi}") == f'n{yi} [label="value 12.0\\ngrad 1.0" shape=box]'
    edges = [line.strip() for line in source.splitlines() if "->" in line]
    assert edges == [
        f"n{xi} -> n{mi}_op [label=arg0]",
        f"n{xi} -> n{mi}_op [label=arg1]",
        f"n{mi}_op -> n{mi}",
        f"n{mi} -> n{yi}_op [label=arg0]",
        f"n{xi} -> n{yi}_op [label=arg1]",
        f"n{yi}_op -> n{yi}",
    ]
    assert 'label="y = x*x + x"' in source
    assert x.grad is None  # rendering ran backward on the side and left .grad alone


def test_single_input_ops_have_no_argument_labels_and_constants_are_dashed() -> None:
    x = Scalar(2.0, name="x")
    y = x.exp() * 2.0
    source = render(y).source
    exp = y.history.inputs[0]
    const = y.history.inputs[1]
    assert f"n{x.unique_id} -> n{exp.unique_id}_op\n" in source
    assert "style=dashed" in node_line(source, f"n{const.unique_id}")
    assert render(y).source == source  # the same graph always gives the same text


def test_tensor_boxes_show_shape_stats_and_grad_norm() -> None:
    rec, mlp = recorded_mlp()
    weight = mlp.layers.modules()[0].weight.value
    line = node_line(render(rec).source, f"n{weight.unique_id}")
    norm = float(((weight.grad.numpy()) ** 2).sum() ** 0.5)
    # a parameter is named by its path in the model (layers.0.weight), not just "weight"
    assert line.startswith(f'n{weight.unique_id} [label="layers.0.weight\\n(3, 2) float64\\nmin ')
    assert f"grad norm {norm:.6g}" in line


def test_module_clusters_and_max_depth() -> None:
    rec, mlp = recorded_mlp()
    first = mlp.layers.modules()[0]
    weight, bias = first.weight.value.unique_id, first.bias.value.unique_id
    full = clusters(render(rec, expand=True).source)
    assert set(full) == {"MLP", "layers:Sequential", "0:Linear", "1:ReLU", "2:Linear"}
    assert {f"n{weight}", f"n{bias}"} <= full["0:Linear"]  # parameters sit in their layer
    assert len(full["0:Linear"]) == 8  # weight, bias, and Permute, MatMul, Add (box + ellipse each)
    assert full["0:Linear"] | full["1:ReLU"] | full["2:Linear"] == full["layers:Sequential"] == full["MLP"]
    collapsed = clusters(render(rec, max_depth=1, expand=True).source)
    assert set(collapsed) == {"MLP"} and collapsed["MLP"] == full["MLP"]  # deeper nodes stay in MLP
    two = clusters(render(rec, max_depth=2, expand=True).source)
    assert set(two) == {"MLP", "layers:Sequential"}
    assert "subgraph" not in render(rec, max_depth=0, expand=True).source
    with pytest.raises(ValueError, match="max_depth"):
        render(rec, max_depth=-1)


def test_nan_is_red_and_first_nan_op_is_marked() -> None:
    x = Scalar(0.0, name="x")
    log = x.log()
    y = log * 0.0
    source = render(y).source
    log_op = node_line(source, f"n{log.unique_id}_op")
    assert "penwidth=3" in log_op and f'xlabel="{FIRST_NONFINITE_MARK}"' in log_op and "color=red" in log_op
    assert "first NaN" in FIRST_NONFINITE_MARK
    assert "penwidth" not in node_line(source, f"n{y.unique_id}_op")  # Mul only passed it on
    assert "value -inf" in node_line(source, f"n{log.unique_id}")
    for value in (log, y, x):  # x: its gradient is nan
        assert "color=red" in node_line(source, f"n{value.unique_id}")
    assert "color=red" not in node_line(source, f"n{y.history.inputs[1].unique_id}")


def test_show_saved_values() -> None:
    x = Scalar(3.0, name="x")
    y = x * 2.0
    source = render(y, show_saved=True).source
    saved = node_line(source, f"n{y.unique_id}_saved")
    assert 'label="saved for backward:\\l3.0\\l2.0\\l"' in saved
    assert f"n{y.unique_id}_saved -> n{y.unique_id}_op" in source
    assert "_saved" not in render(y).source
    y.backward()  # frees what Mul saved
    assert "saved: freed by backward()" in render(y, show_saved=True).source
    tensor = minitorch.tensor([1.0, 2.0], requires_grad=True)
    total = tensor.sum()
    sum_node = total.history.inputs[0]  # Sum saved the input's shape
    assert "shape (2,)" in node_line(render(total, show_saved=True).source, f"n{sum_node.unique_id}_saved")


def test_render_accepts_models_and_rejects_other_things() -> None:
    _, _, y = square_plus()
    assert render(GraphModel.from_value(y)).source == render(y).source
    with pytest.raises(TypeError, match="expected a Scalar, a Tensor"):
        render(3.0)


def test_big_graph_renders_to_dot_text() -> None:
    y = Scalar(1.0, name="x")
    for _ in range(3_000):  # deeper than the recursion limit
        y = y + 1.0
    # above the default node budget (2,000): asking for more draws it all
    assert render(y, max_nodes=10_000).source.count("_op [label=Add") == 3_000


@needs_dot
def test_svg_and_png_images(tmp_path: Path) -> None:
    _, _, y = square_plus()
    graph = render(y)
    svg_path = save(graph, tmp_path / "graph.svg")
    assert svg_path == tmp_path / "graph.svg" and "<svg" in svg_path.read_text()
    png_path = save(y, tmp_path / "graph", format="png")  # anything render accepts
    assert png_path.suffix == ".png" and png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = to_svg(graph)
    assert svg.lstrip().startswith("<?xml") and "Mul" in svg
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]  # inline in Jupyter


def test_without_dot_the_source_is_kept_with_an_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` to find
    _, _, y = square_plus()
    graph = render(y)
    with pytest.raises(GraphvizNotInstalled) as caught:
        save(graph, tmp_path / "graph.svg")
    message = str(caught.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert caught.value.dot_path == tmp_path / "graph.dot" and caught.value.source == graph.source
    assert (tmp_path / "graph.dot").read_text() == graph.source
    assert not (tmp_path / "graph.svg").exists()
    with pytest.raises(GraphvizNotInstalled, match="apt-get install graphviz"):
        to_svg(graph)
    bundle = graph._repr_mimebundle_()  # Jupyter shows the hint and the source, not a traceback
    assert list(bundle) == ["text/plain"] and "brew install graphviz" in bundle["text/plain"]
    assert graph.source in bundle["text/plain"]
