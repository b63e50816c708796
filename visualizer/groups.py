"""Readable at every size: scopes (modules, composite functions) collapsed into one node each.

A recording keeps, for every op, the scopes it ran inside: `["MLP", "layers:Sequential",
"0:Linear"]` for the matmul of a layer, `["cross_entropy", "log_softmax"]` for an op of the
loss. `collapse(model, expand)` gives the same graph with every scope that is not opened
drawn as ONE node of kind "group" (its name, what goes in, what comes out):

    view = collapse(model)                          # every scope closed: MLP, cross_entropy
    view = collapse(model, ["cross_entropy"])       # the loss opened: log_softmax, nll_loss
    view = collapse(model, True)                    # everything open: the model itself

The view is a `GraphModel` too, so the renderer, the app and `--print` show it unchanged. A
group's node has the id of its output value; its steps are one forward step (inputs →
output) and one backward step (the gradient that came in at its output, what it sent to
each input). Parameters stay visible as the group's inputs; constants only the group reads
and made during it (ids after its first op) are hidden inside it.

Names in `expand` match a scope by its label ("0:Linear"), its name ("0", "cross_entropy"),
its type ("Linear") or its module path ("layers.0"); opening a scope opens its ancestors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minitorch.events import summarize

from .model import GraphModel, Group, NodeView, StepView

ScopePath = tuple[str, ...]


def scope_paths(model: GraphModel) -> list[ScopePath]:
    """Every scope of the model (each prefix of each node's scope), in order of appearance."""
    seen: dict[ScopePath, None] = {}
    for node in model.nodes.values():
        for depth in range(1, len(node.scope) + 1):
            seen.setdefault(tuple(node.scope[:depth]), None)
    return list(seen)


def module_path(path: ScopePath) -> str:
    """The dotted attribute path of a scope's modules: ("MLP", "layers:Sequential", "0:Linear") → "layers.0"."""
    return ".".join(label.split(":", 1)[0] for label in path if ":" in label)


def matches(path: ScopePath, name: str) -> bool:
    """True if `name` names the scope `path` (see the module docstring)."""
    label = path[-1]
    short, _, kind = label.partition(":")
    return name in (label, short, kind, "/".join(path)) or (":" in label and name == module_path(path))


def opened_scopes(model: GraphModel, expand: Any) -> set[ScopePath]:
    """The scopes `expand` opens: True all, None/False none, names those and their ancestors.

    Scope paths (tuples) may be given too. A name no scope answers to raises ValueError
    listing the scopes there are.
    """
    paths = scope_paths(model)
    if expand is True:
        return set(paths)
    if not expand:
        return set()
    names = [expand] if isinstance(expand, str) else list(expand)
    opened: set[ScopePath] = set()
    for name in names:
        if isinstance(name, tuple):  # a scope path (the app's own state): kept if it is here
            found = [name] if name in paths else []
        else:
            found = [path for path in paths if matches(path, name)]
        if not found and not isinstance(name, tuple):
            known = ", ".join(sorted({p[-1] for p in paths})) or "none: nothing was recorded inside a scope"
            raise ValueError(f"expand: no scope is called {name!r}; the scopes are {known}")
        for path in found:
            opened.update(path[:depth] for depth in range(1, len(path) + 1))
    return opened


def collapse(model: GraphModel, expand: Any = None) -> GraphModel:
    """`model` with every scope that `expand` does not open drawn as one node (a view; the
    model is not changed). With every scope open (or none recorded) it is `model` itself."""
    opened = opened_scopes(model, expand)
    if len(opened) == len(scope_paths(model)):
        return model
    owner = _owners(model, opened)
    groups = _groups(model, owner)
    remap = {member: group.outputs[-1] for group in groups.values() for member in group.members}
    view = GraphModel(kernels=model.kernels, output=remap.get(model.output or -1, model.output))
    view.saved_values = {k: v for k, v in model.saved_values.items() if k not in remap}
    view.nodes = _view_nodes(model, owner, groups, remap)
    view.steps, view.step_kernels = _view_steps(model, owner, groups, remap)
    return view


def _closed_scope(scope: list[str], opened: set[ScopePath]) -> ScopePath | None:
    """The outermost scope in `scope` that is not opened (None: every one is)."""
    for depth in range(1, len(scope) + 1):
        if tuple(scope[:depth]) not in opened:
            return tuple(scope[:depth])
    return None


def _owners(model: GraphModel, opened: set[ScopePath]) -> dict[int, ScopePath]:
    """Node id -> the closed scope that hides it: its op outputs, and the constants that only
    it reads and that were made during it (ids after its first op)."""
    owner: dict[int, ScopePath] = {}
    for node in model.nodes.values():
        closed = _closed_scope(node.scope, opened)
        if node.op is not None and closed is not None:
            owner[node.id] = closed
    first_op: dict[ScopePath, int] = {}
    for node_id, path in owner.items():
        first_op[path] = min(first_op.get(path, node_id), node_id)
    users: dict[int, set[ScopePath | None]] = {}
    for node in model.nodes.values():
        for parent in node.parents:
            users.setdefault(parent, set()).add(owner.get(node.id))
    for node in model.nodes.values():
        used_by = users.get(node.id, set())
        if node.kind == "const" and len(used_by) == 1:
            (user,) = used_by
            if user is not None and node.id > first_op[user]:
                owner[node.id] = user
    return owner


def _groups(model: GraphModel, owner: dict[int, ScopePath]) -> dict[ScopePath, Group]:
    """The closed scopes, with what each hides, reads from outside and gives to the outside."""
    groups: dict[ScopePath, Group] = {}
    for node_id, path in owner.items():
        groups.setdefault(path, Group(path, [], [], [])).members.append(node_id)
    for group in groups.values():
        members = set(group.members)
        group.ops = sum(model.nodes[m].op is not None for m in group.members)
        for member in sorted(members):
            for parent in model.nodes[member].parents:
                if parent not in members and parent not in group.inputs:
                    group.inputs.append(parent)
        read_outside = {
            parent for node in model.nodes.values() if node.id not in members for parent in node.parents
        } & members
        if model.output in members:
            read_outside.add(model.output)
        ops = [m for m in group.members if model.nodes[m].op is not None]
        group.outputs = sorted(read_outside) or [max(ops or group.members)]
    return groups


def _view_nodes(
    model: GraphModel, owner: dict[int, ScopePath], groups: dict[ScopePath, Group], remap: dict[int, int]
) -> dict[int, NodeView]:
    """The visible nodes: each group's node (at its output's id) and every node no group hides."""
    nodes: dict[int, NodeView] = {}
    for node in model.nodes.values():
        path = owner.get(node.id)
        if path is None:
            scope = node.scope
            if node.kind != "op":  # a parameter of a closed scope sits next to it
                closed = [p for p in groups if tuple(node.scope[: len(p)]) == p]
                scope = list(closed[0][:-1]) if closed else node.scope
            nodes[node.id] = _copy(node, parents=[remap.get(p, p) for p in node.parents], scope=list(scope))
        elif node.id == groups[path].outputs[-1]:
            group = groups[path]
            first = model.nodes[min(group.members)]
            nodes[node.id] = _copy(
                node,
                label=group.name,
                op=group.name,
                kind="group",
                parents=list(dict.fromkeys(remap.get(p, p) for p in group.inputs)),
                scope=list(path[:-1]),
                where=first.where,
                group=group,
            )
    return nodes


def _copy(node: NodeView, **changes: Any) -> NodeView:
    fields = dict(node.__dict__)
    fields.update(changes)
    return NodeView(**fields)


def _view_steps(
    model: GraphModel, owner: dict[int, ScopePath], groups: dict[ScopePath, Group], remap: dict[int, int]
) -> tuple[list[StepView], dict[int, list[Any]]]:
    """One step per visible node's step, one forward and one backward step per group."""
    steps: list[StepView] = []
    placed: dict[tuple[ScopePath, str], StepView] = {}
    for step in model.steps:
        path = owner.get(step.node)
        if path is None:
            steps.append(_visible_step(step, len(steps), remap))
        elif (path, step.phase) in placed:
            placed[(path, step.phase)].sources.append(step.index)
        else:
            made = _group_step(model, groups[path], step.phase, len(steps), step.index, remap)
            placed[(path, step.phase)] = made
            steps.append(made)
    kernels: dict[int, list[Any]] = {}
    for view_step in steps:
        launches = [k for source in view_step.sources for k in model.kernels_of_step(source)]
        if launches:
            kernels[view_step.index] = launches
    return steps, kernels


def _visible_step(step: StepView, index: int, remap: dict[int, int]) -> StepView:
    fields = dict(step.__dict__)
    fields.update(
        index=index,
        inputs=[remap.get(i, i) for i in step.inputs],
        contributions=[(remap.get(child, child), grad) for child, grad in step.contributions],
        sources=[step.index],
    )
    return StepView(**fields)


def _group_step(
    model: GraphModel, group: Group, phase: str, index: int, source: int, remap: dict[int, int]
) -> StepView:
    """A group as one step. Backward: the gradient its output received, and per input the
    sum of what the group's ops sent it."""
    output = group.outputs[-1]
    step = StepView(index, phase, output, group.name, [], [], model.nodes[output].value, sources=[source])
    inputs = list(dict.fromkeys(remap.get(i, i) for i in group.inputs))
    value = {remap.get(i, i): model.nodes[i].value for i in group.inputs}
    if phase == "forward":
        step.inputs, step.input_values = inputs, [value[i] for i in inputs]
        return step
    at_output = next((s for s in model.steps if s.phase == "backward" and s.node == output), None)
    if at_output is not None:
        step.grad_output = at_output.grad_output
        step.contributions = [(remap.get(c, c), grad) for c, grad in at_output.contributions]
    members = set(group.members)
    sent: dict[int, list[Any]] = {}
    for inner in model.steps:
        if inner.phase == "backward" and inner.node in members:
            for parent, grad in zip(inner.inputs, inner.grads_to_parents):
                if parent not in members:
                    sent.setdefault(remap.get(parent, parent), []).append(grad)
    step.inputs = [i for i in inputs if i in sent]
    step.input_values = [value[i] for i in step.inputs]
    step.grads_to_parents = [sum_summaries(sent[i]) for i in step.inputs]
    return step


def sum_summaries(values: list[Any]) -> Any:
    """The sum of summarized gradients: numbers add; tensors add when they kept their data
    (otherwise None: a summary cannot be added)."""
    if len(values) == 1:
        return values[0]
    if all(not isinstance(v, dict) for v in values):
        return sum((float(v) for v in values), 0.0)
    if all(isinstance(v, dict) and v.get("data") is not None for v in values):
        arrays = [np.asarray([float(x) for x in v["data"]]).reshape(v["shape"]) for v in values]
        return summarize(np.sum(np.broadcast_arrays(*arrays), axis=0))
    return None


def shape_text(value: Any) -> str:
    """A value's shape as the group label shows it: "(3, 2)", "()" for a number, "?" unknown."""
    if isinstance(value, dict):
        return str(tuple(value["shape"]))
    return "?" if value is None else "()"


def group_lines(model: GraphModel, node: NodeView) -> list[str]:
    """What a group node says: its name, inputs → outputs as shapes, what it hides."""
    group = node.group
    if group is None:
        return []
    ins = ", ".join(shape_text(model.nodes[i].value) if i in model.nodes else "?" for i in node.parents)
    lines = [f"{ins or '—'} → {shape_text(node.value)}"]
    lines.append(f"{group.ops} ops inside ({' › '.join(group.path)})")
    return lines


__all__ = ["collapse", "group_lines", "matches", "opened_scopes", "scope_paths", "shape_text", "sum_summaries"]
