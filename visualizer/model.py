"""The graph the visual debugger shows, as plain data: no widgets, no Graphviz.

A `GraphModel` is built from a `minitorch.Recording` (the events of a forward and backward
pass) or from a live value (a Scalar or Tensor and the graph behind it). It holds

- `nodes`: every value in the graph (leaves, constants and op outputs) by id;
- `steps`: what happened, in order — one forward step per op that ran, then one backward
  step per node the chain rule visited (the numbers of the chain rule included);
- `kernels`: the backend kernel launches (name, shapes, time).

The Textual app and the Graphviz renderer both draw from it, so anything they show can be
tested with plain pytest. `Stepper` and `step_text` walk the steps as text, for notebooks.

Values are kept as `events.summarize` gives them: a float (or "nan"/"inf"/"-inf") for a
scalar, a dict (shape, dtype, min, mean, max, norm, nonfinite, maybe data) for a tensor.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from minitorch import autodiff, events
from minitorch.autodiff import GraphFreedError, topological_sort
from minitorch.events import BackwardEvent, ForwardEvent, KernelEvent, Recording, is_nonfinite

SCOPE_NODES = "__nodes__"  # the key under which `scope_tree` lists a scope's own nodes


# ## Nodes and steps


@dataclass
class NodeView:
    """One value of the graph. `kind` is "leaf" (wants a gradient), "op" (an op's output)
    or "const" (no gradient flows to it). `parents` are the op's inputs, in argument order.
    """

    id: int
    label: str
    op: str | None
    kind: str
    parents: list[int]
    value: Any
    grad: Any | None
    scope: list[str] = field(default_factory=list)
    where: str | None = None  # "script.py:12": the user code that made it (recorded ops)
    group: Group | None = None  # kind "group": the collapsed scope this node stands for

    @property
    def nonfinite(self) -> bool:
        """True if the value or the gradient holds a NaN or an infinity."""
        return is_nonfinite(self.value) or is_nonfinite(self.grad)


@dataclass
class Group:
    """A scope drawn as one node (see `visualizer.groups`): a module's forward call ("0:Linear")
    or a composite function ("cross_entropy"). `members` are the values it hides (its op
    outputs, the constants only it reads), `inputs` the values from outside its ops read (its
    parameters included), `outputs` its values read outside it."""

    path: tuple[str, ...]
    members: list[int]
    inputs: list[int]
    outputs: list[int]
    ops: int = 0  # how many op nodes it hides

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass
class StepView:
    """One step of the run.

    Forward: op `op` made node `node` from `inputs` (ids, argument order) — values included.
    Backward: the chain rule at `node`: `grad_output` is d(result)/d(node), the sum of the
    `contributions` (child id, gradient) its users sent; `inputs` are the parents that get a
    gradient, `grads_to_parents` what each got, and `local_derivatives` d(node)/d(parent)
    where it is a number (scalars; None for tensors, whose local derivative is a Jacobian).
    A leaf's backward step (op None) shows the gradient it accumulated.
    """

    index: int
    phase: str  # "forward" | "backward"
    node: int
    op: str | None
    inputs: list[int]
    input_values: list[Any]
    output_value: Any
    grad_output: Any = None
    contributions: list[tuple[int, Any]] = field(default_factory=list)
    local_derivatives: list[Any] | None = None
    grads_to_parents: list[Any] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)  # a collapsed view: the full model's steps it stands for

    def chain_rule_lines(self, model: GraphModel) -> list[str]:
        """The chain rule at this step as text, one line per parent, e.g. "d/dx: 1.0 × 3.0 = 3.0"
        (incoming × local = sent), plus the sum when gradients from several users meet,
        e.g. "x.grad = 1.0 + 3.0 + 3.0 = 7.0". Forward steps have none.
        """
        if self.phase != "backward":
            return []
        lines = []
        incoming = norm_text(self.grad_output)
        for i, (parent, sent) in enumerate(zip(self.inputs, self.grads_to_parents)):
            name = model.name(parent)
            local = self.local_derivatives[i] if self.local_derivatives is not None else None
            if local is not None and not isinstance(local, dict):
                lines.append(f"d/d{name}: {incoming} × {number_text(local)} = {number_text(sent)}")
            else:  # a tensor: the Jacobian is not shown, only what came in and what went out
                lines.append(f"d/d{name}: incoming {incoming} → sent {norm_text(sent)}")
                if isinstance(sent, dict) and sent["shape"]:
                    lines.append(f"    sent = {values_text(sent)}")
        if isinstance(self.grad_output, dict) and self.grad_output["shape"]:
            lines.append(f"    incoming = {values_text(self.grad_output)}")
        if self.op is None:
            lines.append(f"{model.name(self.node)}.grad = {self._sum_text(model)}")
        elif len(self.contributions) > 1:
            lines.append(f"incoming d/d{model.name(self.node)} = {self._sum_text(model)}")
        if len(self.contributions) > 1 and isinstance(self.grad_output, dict):
            terms = " + ".join(values_text(grad) for _, grad in self.contributions)
            lines.append(f"    as numbers: {terms} = {values_text(self.grad_output)}")
        return lines

    def _sum_text(self, model: GraphModel) -> str:
        total = norm_text(self.grad_output)
        if len(self.contributions) < 2:
            return total
        terms = " + ".join(norm_text(grad) for _, grad in self.contributions)
        return f"{terms} = {total}"


# ## The model


@dataclass
class GraphModel:
    """Nodes, steps and kernel launches of one graph (see the module docstring).

    `output` is the id of the value the graph computes (None if unknown); `saved_values`
    holds what each op saved for backward, as its forward event reported it (summaries, or
    the string "freed" once backward released them).
    """

    nodes: dict[int, NodeView] = field(default_factory=dict)
    steps: list[StepView] = field(default_factory=list)
    kernels: list[KernelEvent] = field(default_factory=list)
    output: int | None = None
    saved_values: dict[int, list[Any] | str] = field(default_factory=dict)
    step_kernels: dict[int, list[KernelEvent]] = field(default_factory=dict)  # step index -> its launches

    # -- building ---------------------------------------------------------------

    @classmethod
    def from_recording(cls, rec: Recording) -> GraphModel:
        """The graph and steps of a recording (`with minitorch.record() as rec:`)."""
        nodes: dict[int, NodeView] = {}
        for graph_node in rec.graph().values():
            kind = _kind(graph_node.op, wants_grad=graph_node.requires_grad)
            nodes[graph_node.id] = NodeView(
                graph_node.id,
                graph_node.label,
                graph_node.op,
                kind,
                list(graph_node.parents),
                graph_node.value,
                graph_node.grad,
                list(graph_node.scope),
                graph_node.where,
            )
        _add_nodes_seen_only_in_backward(nodes, rec.backward_events)
        _place_leaves_in_scopes(nodes)
        _name_parameters_by_path(nodes, rec.forward_events)
        model = cls(nodes, _steps_from_events(rec.events, nodes), list(rec.kernel_events))
        model.output = _output_of(rec)
        model.saved_values = {e.output.id: e.saved for e in rec.forward_events if e.saved is not None}
        model.step_kernels = _kernels_by_step(rec.events)
        return model

    @classmethod
    def from_value(cls, x: Any, run_backward: bool = True) -> GraphModel:
        """The live graph behind `x` (a Scalar or Tensor): every value it depends on.

        Built from events, as a recording is: `autodiff.report_graph` describes the ops `x`
        depends on (inputs first). If `run_backward` and `x` needs a gradient and has one
        element, backward runs once (graph retained) inside `minitorch.record()` to get the
        backward steps; the leaves' `.grad` are restored afterwards, and an outer recording
        or profile sees none of it, so looking at a graph changes nothing.
        """
        if not (hasattr(x, "history") and hasattr(x, "unique_id")):
            raise TypeError(f"GraphModel.from_value: expected a Scalar or a Tensor, got {type(x).__name__}")
        with events.isolated():
            with events.record() as rec:
                autodiff.report_graph(x)
            if run_backward and _can_run_backward(x):
                rec.events += _backward_without_side_effects(x)
        model = cls.from_recording(rec)
        if not rec.forward_events:  # `x` is a leaf or a constant: no op made it
            model.nodes[x.unique_id] = _lone_node(x, model.nodes.get(x.unique_id))
            model.steps = _steps_from_events(rec.events, model.nodes)  # with the value in place
        model.output = x.unique_id
        return model

    # -- questions the debugger asks ---------------------------------------------

    def first_nonfinite_step(self) -> int | None:
        """Index of the first step whose output (forward) or gradient (backward) is NaN/Inf."""
        for step in self.steps:
            if step.phase == "forward" and is_nonfinite(step.output_value):
                return step.index
            if step.phase == "backward" and (
                is_nonfinite(step.grad_output) or any(is_nonfinite(g) for g in step.grads_to_parents)
            ):
                return step.index
        return None

    def first_nonfinite_node(self) -> int | None:
        """The first op (forward order) whose output is NaN/Inf although its inputs are finite.

        If the forward pass is finite everywhere, the first backward step that sent a NaN/Inf
        gradient from a finite incoming one (where backward went wrong).
        """
        forward = [step for step in self.steps if step.phase == "forward"]
        for step in forward:
            if is_nonfinite(step.output_value) and not any(map(is_nonfinite, step.input_values)):
                return step.node
        if not forward:  # a recording of backward alone: judge by the nodes' values
            for node in self.nodes.values():
                inputs = [self.nodes[p].value for p in node.parents if p in self.nodes]
                if node.op and is_nonfinite(node.value) and not any(map(is_nonfinite, inputs)):
                    return node.id
        for step in self.steps:
            went_wrong = any(map(is_nonfinite, step.grads_to_parents)) and not is_nonfinite(step.grad_output)
            if step.phase == "backward" and went_wrong:
                return step.node
        return None

    def phase_start(self, phase: str) -> int | None:
        """Index of the first step of `phase` ("forward" or "backward"), None if there is none."""
        if phase not in ("forward", "backward"):
            raise ValueError(f"phase_start: phase must be 'forward' or 'backward', got {phase!r}")
        return next((step.index for step in self.steps if step.phase == phase), None)

    def kernels_of_step(self, index: int) -> list[KernelEvent]:
        """The kernel launches of step `index` alone (a compiled call: its fused kernels)."""
        return self.step_kernels.get(index, [])

    def kernels_for(self, op: str | None) -> list[KernelEvent]:
        """Kernel launches made by `op` ("MatMul", or "MatMul.backward" for its backward)."""
        return [kernel for kernel in self.kernels if kernel.op == op]

    def scope_tree(self) -> dict[str, Any]:
        """Nodes grouped by the modules they ran in:
        `{"MLP": {"layers:Sequential": {"0:Linear": {"__nodes__": [7, 8]}, ...}, "__nodes__": []},
        "__nodes__": [ids outside every module]}`.
        """
        tree: dict[str, Any] = {SCOPE_NODES: []}
        for node in self.nodes.values():
            branch = tree
            for label in node.scope:
                branch = branch.setdefault(label, {SCOPE_NODES: []})
            branch[SCOPE_NODES].append(node.id)
        return tree

    # -- text ------------------------------------------------------------------

    def name(self, node_id: int) -> str:
        """How text refers to a node: its label, plus "#id" when other nodes share that label."""
        if node_id not in self.nodes:
            return f"#{node_id}"
        label = self.nodes[node_id].label
        return label if self._label_counts()[label] == 1 else f"{label}#{node_id}"

    def _label_counts(self) -> Counter[str]:
        # Cached by node count: models only grow while they are built.
        cached = self.__dict__.get("_labels")
        if cached is None or cached[0] != len(self.nodes):
            cached = (len(self.nodes), Counter(node.label for node in self.nodes.values()))
            self.__dict__["_labels"] = cached
        return cached[1]

    def summary(self, value: Any) -> str:
        """Short text for a summarized value: "3.0", "nan", or for a tensor
        "(2, 3) float64 min -1.2 mean 0.1 max 2.0" (plus "2 NaN/Inf" when it has any).
        """
        return summary_text(value)

    def __repr__(self) -> str:
        phases = Counter(step.phase for step in self.steps)
        return (
            f"GraphModel(nodes={len(self.nodes)}, forward_steps={phases['forward']}, "
            f"backward_steps={phases['backward']}, kernels={len(self.kernels)})"
        )


def summary_text(value: Any) -> str:
    """See `GraphModel.summary`."""
    if value is None:
        return "None"
    if not isinstance(value, dict):
        return number_text(value)
    if not value["shape"]:  # a 0-d tensor is a number
        return number_text(value["data"][0] if value.get("data") else value.get("mean"))
    text = f"{tuple(value['shape'])} {value['dtype']}"
    if value.get("min") is not None:
        text += "".join(f" {key} {number_text(value[key])}" for key in ("min", "mean", "max"))
    if value.get("nonfinite"):
        text += f" ({value['nonfinite']} NaN/Inf)"
    return text


SMALL_TENSOR = 16  # tensors up to this many elements show every value
SAMPLE = 4  # larger ones show their first few values


def values_text(value: Any) -> str:
    """A value with its numbers: a tensor of at most 16 elements as all its values
    "[1.0, -2.0, 0.5]"; a larger one as a sample and its norm, saying so:
    "[0.1, 0.2, 0.3, 0.4, …] (first 4 of 100 values; norm 2.5)".
    """
    if not isinstance(value, dict):
        return summary_text(value)
    data, size = value.get("data"), math.prod(value["shape"])
    if not value["shape"]:
        return summary_text(value)
    if data is not None and size <= SMALL_TENSOR:
        return "[" + ", ".join(number_text(x) for x in data) + "]"
    if data is not None:
        sample = ", ".join(number_text(x) for x in data[:SAMPLE])
        return f"[{sample}, …] (first {SAMPLE} of {size} values; norm {number_text(value['norm'])})"
    return f"norm {number_text(value['norm'])} ({size} values, too many to keep)"


def norm_text(value: Any) -> str:
    """A tensor summary's shape and norm, "(3, 2) norm 1.23"; a scalar as itself."""
    if not isinstance(value, dict) or not value["shape"]:  # a number (a 0-d tensor too)
        return summary_text(value)
    text = f"{tuple(value['shape'])} norm {number_text(value['norm'])}"
    return text + (f" ({value['nonfinite']} NaN/Inf)" if value.get("nonfinite") else "")


def number_text(x: Any) -> str:
    """A float as a person writes it: 3.0, 0.25, 1.5e-08; "nan" / "inf" stay as they are."""
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        x = float(x)
    if not isinstance(x, float):
        return str(x)
    text = f"{x:.6g}"
    return text if any(c in text for c in ".eni") else text + ".0"


# ## Building from events


def _kind(op: str | None, wants_grad: bool) -> str:
    if op is not None:
        return "op"
    return "leaf" if wants_grad else "const"


def _steps_from_events(event_list: list[Any], nodes: dict[int, NodeView]) -> list[StepView]:
    steps: list[StepView] = []
    for event in event_list:
        if isinstance(event, ForwardEvent):
            steps.append(
                StepView(
                    index=len(steps),
                    phase="forward",
                    node=event.output.id,
                    op=event.op,
                    inputs=[ref.id for ref in event.inputs],
                    input_values=[ref.value for ref in event.inputs],
                    output_value=event.output.value,
                )
            )
        elif isinstance(event, BackwardEvent):
            steps.append(_backward_step(len(steps), event, nodes))
    return steps


def _backward_step(index: int, event: BackwardEvent, nodes: dict[int, NodeView]) -> StepView:
    """A backward event as a step; `inputs` are the parents that received a gradient."""

    def value(node_id: int) -> Any:
        return nodes[node_id].value if node_id in nodes else None

    return StepView(
        index=index,
        phase="backward",
        node=event.node,
        op=event.op,
        inputs=list(event.parents),
        input_values=[value(p) for p in event.parents],
        output_value=value(event.node),
        grad_output=event.grad_output,
        contributions=[(child, grad) for child, grad in event.contributions],
        local_derivatives=None if event.local_derivatives is None else list(event.local_derivatives),
        grads_to_parents=list(event.grads_to_parents),
    )


def _add_nodes_seen_only_in_backward(nodes: dict[int, NodeView], backward: list[BackwardEvent]) -> None:
    """A recording of only `loss.backward()` still names every node the chain rule visited."""
    for event in backward:
        if event.node not in nodes:
            kind = "op" if event.op is not None else "leaf"
            nodes[event.node] = NodeView(
                event.node,
                event.op or "leaf",
                event.op,
                kind,
                list(event.parents),
                None,
                event.grad_output,
            )


def _kernels_by_step(event_list: list[Any]) -> dict[int, list[KernelEvent]]:
    """Kernels launched before a step's event belong to it (an op reports after its kernels ran)."""
    result: dict[int, list[KernelEvent]] = {}
    waiting: list[KernelEvent] = []
    index = 0
    for event in event_list:
        if isinstance(event, KernelEvent):
            waiting.append(event)
        elif isinstance(event, (ForwardEvent, BackwardEvent)):
            if waiting:
                result[index] = waiting
            waiting, index = [], index + 1
    return result


def _name_parameters_by_path(nodes: dict[int, NodeView], forward: list[ForwardEvent]) -> None:
    """A parameter inside a submodule is called by its path: `layers.0.weight`, not `weight`."""
    from minitorch.health import parameter_paths

    for node_id, path in parameter_paths(forward).items():
        node = nodes.get(node_id)
        if node is not None and node.kind == "leaf" and "." in path:
            node.label = path


def _place_leaves_in_scopes(nodes: dict[int, NodeView]) -> None:
    """A leaf that wants a gradient (a parameter) sits in the innermost module all its users share.

    Events give scopes only to op outputs; this puts a Linear's weight inside the Linear.
    Inputs and constants stay outside: they belong to whoever passed them in.
    """
    user_scopes: dict[int, list[list[str]]] = {}
    for node in nodes.values():
        for parent in node.parents:
            user_scopes.setdefault(parent, []).append(node.scope)
    for node in nodes.values():
        if node.kind == "leaf" and not node.scope and node.id in user_scopes:
            node.scope = _common_prefix(user_scopes[node.id])


def _common_prefix(scopes: list[list[str]]) -> list[str]:
    prefix = list(scopes[0])
    for scope in scopes[1:]:
        n = 0
        while n < min(len(prefix), len(scope)) and prefix[n] == scope[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _output_of(rec: Recording) -> int | None:
    """The value a recording computed: where backward started, else the last op's output."""
    if rec.backward_events:
        return rec.backward_events[0].node
    forward = rec.forward_events
    return forward[-1].output.id if forward else None


# ## Building from a live graph


def _can_run_backward(x: Any) -> bool:
    if not x.requires_grad or x.is_constant():
        return False
    return x.numel() == 1 if hasattr(x, "numel") else True  # a Scalar is one number


def _lone_node(x: Any, seen_in_backward: NodeView | None) -> NodeView:
    """A graph of one value (a leaf or a constant), with its gradient if backward gave one."""
    ref = events.node_ref(x, with_grad=True)
    grad = seen_in_backward.grad if seen_in_backward is not None else ref.grad
    return NodeView(ref.id, ref.label, None, _kind(None, wants_grad=ref.requires_grad), [], ref.value, grad)


def _backward_without_side_effects(x: Any) -> list[Any]:
    """The events of `x.backward(retain_graph=True)`; every leaf's `.grad` is left as it was.

    No events when the graph was already freed by an earlier backward (nothing to show).
    """
    leaves: list[Any] = [v for v in topological_sort(x) if v.is_leaf]  # Scalars or Tensors: they have .grad
    previous = [leaf.grad for leaf in leaves]
    for leaf in leaves:  # start from None so the recording shows this backward alone
        leaf.grad = None
    try:
        with events.record() as rec:
            x.backward(retain_graph=True)
    except GraphFreedError:
        return []
    finally:
        for leaf, grad in zip(leaves, previous):
            leaf.grad = grad
    return rec.events


# ## Stepping through as text (notebooks)


def step_text(model: GraphModel, index: int) -> str:
    """The step at `index` as a few lines: its op, the values, and the chain rule as numbers."""
    if not 0 <= index < len(model.steps):
        raise IndexError(f"step_text: step {index} out of range (the model has {len(model.steps)} steps)")
    step = model.steps[index]
    header = f"step {index + 1}/{len(model.steps)} · {step.phase} · "
    if step.phase == "forward":
        name = model.name(step.node)
        lines = [header + (f"{step.op} → {name}" if name != step.op else f"{step.op}")]
        for position, (node_id, value) in enumerate(zip(step.inputs, step.input_values)):
            lines.append(f"  arg{position} {model.name(node_id)} = {model.summary(value)}")
        lines.append(f"  out = {model.summary(step.output_value)}")
        return "\n".join(lines)
    what = f"{step.op} at {model.name(step.node)}" if step.op else f"leaf {model.name(step.node)}"
    lines = [header + what, f"  incoming gradient = {model.summary(step.grad_output)}"]
    lines += ["  " + line for line in step.chain_rule_lines(model)]
    return "\n".join(lines)


class Stepper:
    """Walk a model's steps one at a time, as text (no widgets):

    stepper = Stepper(GraphModel.from_value(loss))
    print(stepper.next())
    """

    def __init__(self, model: GraphModel, index: int = 0) -> None:
        self.model = model
        self.index = index

    @property
    def step(self) -> StepView:
        return self.model.steps[self.index]

    @property
    def text(self) -> str:
        """The current step as text (see `step_text`)."""
        if not self.model.steps:
            return "(no steps recorded)"
        return step_text(self.model, self.index)

    current = text  # the brief's name for it

    def next(self) -> str:
        """Move one step on (staying at the last one) and return its text."""
        self.index = min(self.index + 1, max(len(self.model.steps) - 1, 0))
        return self.text

    def prev(self) -> str:
        """Move one step back (staying at the first one) and return its text."""
        self.index = max(self.index - 1, 0)
        return self.text

    def goto(self, index: int) -> str:
        """Jump to step `index` (negative counts from the end) and return its text."""
        count = len(self.model.steps)
        if not -count <= index < count:
            raise IndexError(f"Stepper.goto: step {index} out of range (the model has {count} steps)")
        self.index = index % count
        return self.text

    def __len__(self) -> int:
        return len(self.model.steps)

    def __repr__(self) -> str:
        return self.text
