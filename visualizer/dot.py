"""Draw a computation graph with Graphviz: `render(loss)` → a `graphviz.Digraph`.

    graph = render(loss)                 # a live Scalar/Tensor, a Recording or a GraphModel
    save(graph, "loss.svg")              # needs Graphviz's `dot` program
    graph                                # in Jupyter: shows inline

What is drawn (left to right, inputs first):
- a box per value: its label, then the value and gradient (scalars) or shape, dtype,
  min/mean/max and the gradient's norm (tensors); leaves shaded, constants dashed;
- an ellipse per op, with edges labelled arg0, arg1, ... when the op has several inputs;
- NaN/Inf values or gradients in red, and the op that first made one from finite
  inputs with a thick red border and the mark "first NaN/Inf";
- a recording's scopes (modules such as "0:Linear", composite functions such as
  "cross_entropy") each as ONE node, a 3-D box labelled with its name and
  "input shapes → output shape", until `expand` opens it: then it is a cluster of its ops
  (nested clusters cut at `max_depth`);
- the line of user code that made each op as its tooltip (`show_where` adds it as a label line);
- with `show_saved`, what each op saved for backward (live graphs only).

Node ids come from the graph's node ids (value `n7`, its op `n7_op`), so the DOT text is
the same on every run and tests can read it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import graphviz

from minitorch.events import Recording, is_nonfinite
from minitorch.graph.ir import Graph as IRGraph

from .groups import collapse, group_lines
from .ir_dot import render_ir
from .model import SCOPE_NODES, GraphModel, NodeView, number_text, summary_text

INSTALL_HINT = (
    "Graphviz's `dot` program is not installed, so the graph cannot be drawn as an image. "
    "Install it with `sudo apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` "
    "(macOS), or see https://graphviz.org/download/."
)
FIRST_NONFINITE_MARK = "first NaN/Inf"
LEAF_FILL = "#dbeafe"  # light blue: the values that collect gradients
NONFINITE_COLOR = "red"
MAX_NODES = 2000  # render refuses bigger graphs: Graphviz's layout would not finish


class GraphvizNotInstalled(RuntimeError):
    """Rendering needs Graphviz's `dot` program and it is missing; the DOT source is kept."""

    def __init__(self, message: str, source: str, dot_path: Path | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.dot_path = dot_path


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that still shows something in Jupyter when `dot` is missing:
    the install hint and the DOT source, instead of a traceback from inside graphviz.
    """

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"{INSTALL_HINT}\n\n{self.source}"}


# ## Rendering


def render(
    x_or_recording_or_model: Any,
    show_saved: bool = False,
    max_depth: int | None = None,
    title: str | None = None,
    *,
    before: Any = None,
    iteration: int | None = None,
    max_nodes: int = MAX_NODES,
    expand: Any = None,
    show_where: bool = False,
) -> graphviz.Digraph:
    """The graph of a live value (Scalar or Tensor), a `Recording`, a `GraphModel` or an IR graph.

    An IR graph (`minitorch.graph.ir.Graph`) is drawn node by node (op, shape, dtype, a fused
    node's program); with `before=` the graph before a pass, removed nodes show dashed. A
    recording with iterations draws one: `iteration` (default the last). A graph of more than
    `max_nodes` nodes is refused with `GraphTooLarge` (Graphviz would not cope).

    Each scope of a recording (a module's forward, a composite function such as `cross_entropy`)
    is one node until `expand` opens it: True opens all, `["cross_entropy", "layers.0"]` those
    and the scopes around them (names: `visualizer.groups`). `max_depth` limits how many levels
    of opened scopes are clusters (deeper nodes go to their ancestor's; 0 draws none).
    `show_where` writes under each op the line of code that made it (always its tooltip);
    `show_saved` what each op saved for backward (live graphs; freed once backward ran without
    `retain_graph`). A live value is looked at without side effects (`GraphModel.from_value`).
    """
    if max_depth is not None and max_depth < 0:
        raise ValueError(f"render: max_depth must be >= 0 or None, got {max_depth}")
    source = x_or_recording_or_model
    if isinstance(source, IRGraph):
        check_size(len(source.nodes), max_nodes)
        return render_ir(source, before=before, title=title)
    if isinstance(source, Recording):
        source = _one_iteration(source, iteration)
    elif not isinstance(source, GraphModel):
        check_size(node_count(source), max_nodes)  # a live value: no scopes to collapse
    model = collapse(as_model(source), expand)
    check_size(len(model.nodes), max_nodes)
    return draw_model(model, show_saved, max_depth, title, show_where)


def _one_iteration(rec: Recording, iteration: int | None) -> Recording:
    """Iteration `iteration` of a recording (default the last; a recording without any: itself)."""
    if iteration is None and rec.iterations:
        iteration = len(rec.iterations) - 1
    return rec if iteration is None else rec.iteration_recording(iteration)


def draw_model(
    model: GraphModel, show_saved: bool, max_depth: int | None, title: str | None, show_where: bool = False
) -> Graph:
    """The Digraph of a GraphModel as it is (see `render`; `visualizer.groups.collapse` first
    to draw scopes as single nodes)."""
    graph = Graph(
        name="minitorch",
        graph_attr={"rankdir": "LR"},
        node_attr={"fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    if title:
        graph.attr(label=_text(title), labelloc="t", fontname="Helvetica")
    first_bad = model.first_nonfinite_node()

    def draw_node(target: graphviz.Digraph, node: NodeView) -> None:
        _draw_value(target, node)
        if node.op is not None:
            _draw_op(target, model, node, node.id == first_bad, show_where)
            if show_saved and node.id in model.saved_values:
                _draw_saved(target, node, model.saved_values[node.id])

    _draw_scopes(graph, model, draw_node, max_depth)
    for node in model.nodes.values():
        _draw_edges(graph, model, node, show_saved)
    return graph


class GraphTooLarge(ValueError):
    """A graph too big to draw with Graphviz; the message says what to do instead."""


def check_size(count: int, max_nodes: int) -> None:
    """Raise GraphTooLarge (at once, before any drawing) if `count` exceeds `max_nodes`."""
    if count > max_nodes:
        raise GraphTooLarge(
            f"render: the graph has {count:,} nodes, more than max_nodes={max_nodes:,}; Graphviz would "
            "take minutes and gigabytes to lay it out. Instead: record it so that modules and losses "
            "draw as one node each (open fewer with expand=, cut clusters with max_depth=1), "
            "pick an iteration (render(rec, iteration=k)), record less, raise max_nodes, or step "
            "through it in the TUI (visualizer.show(x)), which opens graphs of any size."
        )


def node_count(source: Any) -> int:
    """How many nodes `render` would draw, counted without building the drawing."""
    if isinstance(source, GraphModel):
        return len(source.nodes)
    if isinstance(source, Recording):
        ids = set()
        for event in source.forward_events:
            ids.add(event.output.id)
            ids.update(ref.id for ref in event.inputs)
        return len(ids)
    if hasattr(source, "history") and hasattr(source, "unique_id"):
        from minitorch.autodiff import topological_sort

        return len(topological_sort(source))
    return 0


def as_model(graph_source: Any) -> GraphModel:
    """What `render` accepts (a live value, a `Recording` or a `GraphModel`) as a `GraphModel`."""
    if isinstance(graph_source, GraphModel):
        return graph_source
    if isinstance(graph_source, Recording):
        return GraphModel.from_recording(graph_source)
    if hasattr(graph_source, "history") and hasattr(graph_source, "unique_id"):
        return GraphModel.from_value(graph_source)
    raise TypeError(
        f"render: expected a Scalar, a Tensor, a minitorch.Recording or a GraphModel, got {type(graph_source).__name__}"
    )


def _draw_scopes(graph: graphviz.Digraph, model: GraphModel, draw_node: Any, max_depth: int | None) -> None:
    """Module scopes as nested clusters; a node deeper than `max_depth` goes to its ancestor's."""
    tree: dict[str, Any] = {SCOPE_NODES: []}
    for node in model.nodes.values():
        branch = tree
        scope = node.scope if max_depth is None else node.scope[:max_depth]
        for label in scope:
            branch = branch.setdefault(label, {SCOPE_NODES: []})
        branch[SCOPE_NODES].append(node)
    counter = itertools.count()  # one number per cluster, in drawing order

    # Scopes nest only as deep as modules do (a handful), so recursion is fine here.
    def draw(target: graphviz.Digraph, branch: dict[str, Any]) -> None:
        for label, child in branch.items():
            if label == SCOPE_NODES:
                continue
            with target.subgraph(name=f"cluster_{next(counter)}") as cluster:
                cluster.attr(label=_text(label), style="rounded", color="gray50", fontname="Helvetica")
                draw(cluster, child)
        for node in branch[SCOPE_NODES]:
            draw_node(target, node)

    draw(graph, tree)


def _draw_value(target: graphviz.Digraph, node: NodeView) -> None:
    lines = [] if node.label == node.op else [_text(node.label)]
    if _is_array(node.value) or _is_array(node.grad):
        if node.value is not None:
            lines.append(summary_text(node.value).replace(" min", "\\nmin", 1))
        if node.grad is not None:
            lines.append(_grad_norm_text(node.grad))
    else:  # numbers: scalars and 0-d tensors
        if node.value is not None:
            lines.append(f"value {summary_text(node.value)}")
        if node.grad is not None:
            lines.append(f"grad {summary_text(node.grad)}")
    attrs = {"shape": "box"}
    if node.kind == "leaf":
        attrs.update(style="filled", fillcolor=LEAF_FILL)
    elif node.kind == "const":
        attrs.update(style="dashed", color="gray40")
    if node.nonfinite:
        attrs.update(color=NONFINITE_COLOR, fontcolor=NONFINITE_COLOR)
    target.node(f"n{node.id}", graphviz.nohtml("\\n".join(lines) or _text(node.label)), **attrs)


def _is_array(value: Any) -> bool:
    """A tensor summary with at least one dimension (a 0-d tensor is shown as a number)."""
    return isinstance(value, dict) and bool(value["shape"])


def _grad_norm_text(grad: Any) -> str:
    if not _is_array(grad):
        return f"grad {summary_text(grad)}"
    text = f"grad norm {number_text(grad['norm'])}"
    return text + (f" ({grad['nonfinite']} NaN/Inf)" if grad.get("nonfinite") else "")


def _draw_op(target: graphviz.Digraph, model: GraphModel, node: NodeView, marked: bool, show_where: bool) -> None:
    """The op's ellipse; a collapsed group's 3-D box (name, input shapes → output shape)."""
    attrs = {"shape": "ellipse"}
    lines, tips = [_text(node.op or "")], []
    if node.group is not None:
        attrs.update(shape="box3d")
        lines += [_text(line) for line in group_lines(model, node)[:1]]
        tips.append(f"{' › '.join(node.group.path)}: {node.group.ops} ops, render(..., expand=[...]) opens it")
    if node.where:
        tips.append(f"made at {node.where}")
        if show_where:
            lines.append(_text(_short_where(node.where)))
    if tips:
        attrs["tooltip"] = _text("; ".join(tips))
    if marked:
        attrs.update(
            penwidth="3",
            color=NONFINITE_COLOR,
            fontcolor=NONFINITE_COLOR,
            xlabel=FIRST_NONFINITE_MARK,
        )
    target.node(f"n{node.id}_op", graphviz.nohtml("\\n".join(lines)), **attrs)


def _short_where(where: str) -> str:
    """`script.py:12` from `/path/to/script.py:12`."""
    return Path(where).name


def _draw_saved(target: graphviz.Digraph, node: NodeView, saved: list[Any] | str) -> None:
    if saved == "freed":
        lines = ["saved: freed by backward()"]
    elif not saved:
        return
    else:
        lines = ["saved for backward:"] + [
            _text(v) if isinstance(v, str) and v.startswith("shape") else _text(summary_text(v)) for v in saved
        ]
    target.node(
        f"n{node.id}_saved",
        graphviz.nohtml("\\l".join(lines) + "\\l"),
        shape="note",
        style="dashed",
        color="gray50",
        fontsize="9",
    )


def _draw_edges(graph: graphviz.Digraph, model: GraphModel, node: NodeView, show_saved: bool) -> None:
    if node.op is None:
        return
    op_id = f"n{node.id}_op"
    several = len(node.parents) >= 2
    for position, parent in enumerate(node.parents):
        if parent in model.nodes:
            color = {"color": NONFINITE_COLOR} if is_nonfinite(model.nodes[parent].value) else {}
            graph.edge(f"n{parent}", op_id, label=f"arg{position}" if several else None, **color)
    graph.edge(op_id, f"n{node.id}")
    saved = model.saved_values.get(node.id)
    if show_saved and saved:
        graph.edge(f"n{node.id}_saved", op_id, style="dashed", arrowhead="none", color="gray50")


def _text(text: str) -> str:
    """User text inside a DOT label: backslashes are escapes there, so double them."""
    return str(text).replace("\\", "\\\\")


# ## Output: files, SVG text, Jupyter


def save(graph: Any, path: str | Path, format: str | None = None) -> Path:
    """Draw `graph` (or anything `render` accepts) to an image file and return its path.

    The format comes from `format` or the file's suffix (default "svg"). Without Graphviz's
    `dot` program, the DOT source is written next to it (same name, ".dot") and
    `GraphvizNotInstalled` says how to install Graphviz.
    """
    graph = graph if isinstance(graph, graphviz.Digraph) else render(graph)
    path = Path(path)
    format = format or (path.suffix.lstrip(".") or "svg")
    if not path.suffix:
        path = path.with_suffix(f".{format}")
    try:
        image = graph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(graph.source)
        raise GraphvizNotInstalled(
            f"{INSTALL_HINT}\nThe graph's DOT source is in {dot_path}; once Graphviz is "
            f"installed, `dot -T{format} {dot_path} -o {path}` draws it.",
            graph.source,
            dot_path,
        ) from None
    except (graphviz.CalledProcessError, ValueError) as err:
        raise RuntimeError(f"save: Graphviz could not draw {path} as {format!r}: {err}") from None
    path.write_bytes(image)
    return path


def to_svg(graph: Any) -> str:
    """The drawing as SVG text (for Jupyter or a web page); needs Graphviz's `dot`."""
    graph = graph if isinstance(graph, graphviz.Digraph) else render(graph)
    try:
        return graph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizNotInstalled(INSTALL_HINT, graph.source) from None
