"""Draw an IR graph (minitorch.graph.ir.Graph) with Graphviz, optionally against its former self.

    render(graph)                          # nodes: op, shape and dtype; fused nodes: their program
    render(after, before=before)           # what a pass changed: removed nodes dashed and grey,
                                           # rewritten or new nodes bold green

Node ids are the IR's (`n7` for %7), so the DOT text is stable and tests can read it.
"""

from __future__ import annotations

from typing import Any

import graphviz

from minitorch.graph.ir import Graph, Node

REMOVED_COLOR = "gray60"
CHANGED_COLOR = "darkgreen"
SOURCE_FILL = "#dbeafe"
CONST_FILL = "#fef3c7"


def node_lines(node: Node) -> list[str]:
    """The text of a node's box: `%7 mul`, its type `f64[4,3]`, then a fused node's program."""
    head = f"%{node.id} {node.op}" + (f" '{node.name}'" if node.name else "")
    lines = [head, node.type_text()]
    if node.op == "const":
        value = node.attrs.get("value")
        if value is not None and getattr(value, "size", 0) == 1:
            lines.append(f"= {float(value.reshape(-1)[0]):.4g}")
    if node.op == "fused":
        lines += [f"t{j} = {op}({', '.join(args)})" for j, (op, args) in enumerate(node.attrs["program"])]
    return lines


def render_ir(graph: Graph, before: Graph | None = None, title: str | None = None) -> graphviz.Digraph:
    """The IR graph as a Digraph; with `before`, the nodes it lost are drawn too (dashed, grey)."""
    dot = graphviz.Digraph(
        name="ir",
        graph_attr={"rankdir": "TB"},
        node_attr={"fontname": "Courier", "fontsize": "10", "shape": "box"},
        edge_attr={"color": "gray30"},
    )
    if title:
        dot.attr(label=title, labelloc="t", fontname="Helvetica")
    old = before.by_id() if before is not None else {}
    changed = _changed(graph, old) if before is not None else set()
    outputs = set(graph.outputs)
    for node in graph.nodes:
        _draw(dot, node, _style(node, node.id in changed, node.id in outputs))
    for node in before.nodes if before is not None else []:
        if node.id not in graph.by_id():
            _draw(dot, node, {"style": "dashed", "color": REMOVED_COLOR, "fontcolor": REMOVED_COLOR}, "(removed)")
    present = graph.by_id() | {i: n for i, n in old.items()}
    for node in present.values():
        gone = node.id not in graph.by_id()
        for position, i in enumerate(node.inputs):
            attrs = {"style": "dashed", "color": REMOVED_COLOR} if gone else {}
            dot.edge(f"n{i}", f"n{node.id}", label=f"in{position}" if node.op == "fused" else None, **attrs)
    return dot


def _changed(graph: Graph, old: dict[int, Node]) -> set[int]:
    def key(n: Node) -> Any:
        return (n.op, n.inputs, sorted((k, str(v)) for k, v in n.attrs.items() if k not in ("buffer",)))

    return {n.id for n in graph.nodes if n.id not in old or key(old[n.id]) != key(n)}


def _style(node: Node, changed: bool, output: bool) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if node.op in ("input", "param"):
        attrs.update(style="filled", fillcolor=SOURCE_FILL)
    elif node.op == "const":
        attrs.update(style="filled", fillcolor=CONST_FILL)
    if changed:
        attrs.update(color=CHANGED_COLOR, penwidth="2")
    if output:
        attrs["peripheries"] = "2"
    return attrs


def _draw(dot: graphviz.Digraph, node: Node, attrs: dict[str, str], note: str = "") -> None:
    lines = node_lines(node) + ([note] if note else [])
    label = "\\l".join(line.replace("\\", "\\\\") for line in lines) + "\\l"
    dot.node(f"n{node.id}", graphviz.nohtml(label), **attrs)
