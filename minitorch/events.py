"""What the engine reports as it runs, and recordings of it (DESIGN.md, "Seeing inside").

The engine calls `report_*` only when `LISTENERS` is non-empty, so with nobody listening
reporting costs one truthiness test per op. `record()` adds a listener that keeps every
event; the recording is plain data that saves to JSON and loads back equal.

Events:
- `ForwardEvent`: an op ran — its inputs and output as `NodeRef`s (id, label, value), and
  what it saved for backward. `report_graph` describes a graph built before anyone listened
  with the same events.
- `BackwardEvent`: the chain rule at one node — incoming gradient (the sum of the
  `contributions` its children sent), local derivative per parent where it is a number
  (scalars), and the gradient sent to each parent. Leaves get one too (op None): the
  gradient they accumulated.
- `KernelEvent`: a backend kernel ran (name, backend, shapes, seconds, bytes, flops).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_NAME = "minitorch-recording"
FORMAT_VERSION = 1
ARRAY_DATA_LIMIT = 64  # arrays up to this many elements keep their data in a recording

Listener = Callable[["Event"], None]
LISTENERS: list[Listener] = []
# True while `backpropagate` runs: the arithmetic of backward is not part of the forward graph.
in_backward = False
# The op whose kernels are running now ("Mul", "Mul.backward"), set only while someone listens.
current_op: str | None = None
# The modules whose forward is running, outermost first ("MLP", "layers.0:Linear"), ditto.
module_stack: list[str] = []


class RecordingError(ValueError):
    """A recording file that is truncated, corrupt, or not a minitorch recording."""


# ## Values as events carry them: a float, or a summary of an array


def summarize(value: Any) -> Any:
    """A JSON-ready view of a value: floats stay floats; arrays become a summary dict.

    Non-finite floats become the strings "nan", "inf", "-inf" so JSON round-trips exactly.
    """
    if value is None:
        return None
    if isinstance(value, (float, int, np.floating, np.integer)):
        return _encode_float(float(value))
    array = np.asarray(value)
    finite = array[np.isfinite(array)]
    summary: dict[str, Any] = {
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "min": _encode_float(float(finite.min())) if finite.size else None,
        "mean": _encode_float(float(finite.mean())) if finite.size else None,
        "max": _encode_float(float(finite.max())) if finite.size else None,
        "norm": _encode_float(float(np.sqrt((finite.astype(np.float64) ** 2).sum()))),
        "nonfinite": int(array.size - finite.size),
    }
    if array.size <= ARRAY_DATA_LIMIT:
        summary["data"] = [_encode_float(float(x)) for x in array.ravel()]
    return summary


def _encode_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def decode_float(x: float | str) -> float:
    """The float a summarized scalar stands for (undoing the "nan"/"inf" encoding)."""
    return float(x)


def is_nonfinite(summary: Any) -> bool:
    """True if a summarized value holds a NaN or an infinity."""
    if isinstance(summary, str):
        return True
    if isinstance(summary, dict):
        return summary.get("nonfinite", 0) > 0
    return False


# ## Event records


@dataclass
class NodeRef:
    """A value in the graph as an event sees it."""

    id: int
    label: str
    value: Any
    requires_grad: bool = True
    grad: Any = None  # a leaf's `.grad`, reported only by `report_graph`


@dataclass
class ForwardEvent:
    op: str
    inputs: list[NodeRef]
    output: NodeRef
    backend: str | None = None
    scope: list[str] = field(default_factory=list)  # the modules it ran inside, outermost first
    saved: list[Any] | str | None = None  # what the op saved for backward; "freed" once released
    kind: str = "forward"


@dataclass
class BackwardEvent:
    node: int
    op: str | None  # None for a leaf: it accumulates instead of passing on
    grad_output: Any
    contributions: list[tuple[int, Any]] = field(default_factory=list)  # (child id, grad sent)
    parents: list[int] = field(default_factory=list)
    local_derivatives: list[Any] | None = None
    grads_to_parents: list[Any] = field(default_factory=list)
    kind: str = "backward"


@dataclass
class KernelEvent:
    kernel: str
    backend: str
    op: str | None
    shapes: list[list[int]]
    seconds: float
    bytes: int | None = None
    flops: int | None = None
    kind: str = "kernel"


Event = ForwardEvent | BackwardEvent | KernelEvent
_EVENT_TYPES: dict[str, type] = {"forward": ForwardEvent, "backward": BackwardEvent, "kernel": KernelEvent}


def emit(event: Event) -> None:
    """Hand `event` to every listener."""
    for listener in list(LISTENERS):
        listener(event)


def node_ref(variable: Any, with_grad: bool = False) -> NodeRef:
    """Describe a Scalar or Tensor for an event (with a leaf's `.grad` if `with_grad`)."""
    grad = summarize(_raw(variable.grad)) if with_grad and variable.is_leaf and variable.grad is not None else None
    return NodeRef(
        id=variable.unique_id,
        label=variable.label(),
        value=summarize(variable.event_value()),
        requires_grad=variable.requires_grad,
        grad=grad,
    )


def report_forward(op: str, inputs: Any, output: Any, backend: str | None = None) -> None:
    """Called by `Function.apply` after an op ran (only while someone listens).

    Ops that backward runs to compute gradients are left out: the backward events carry them.
    """
    if in_backward:
        return
    refs = [node_ref(x) for x in inputs]
    emit(ForwardEvent(op, refs, node_ref(output), backend, list(module_stack), saved_for_backward(output)))


def report_graph(value: Any) -> None:
    """Report the graph behind a live `value` as forward events, inputs first.

    For a graph built while nobody listened (the visualizer looks at one this way): one
    `ForwardEvent` per op that `value` depends on, in the order of
    `autodiff.topological_sort` reversed, with the leaves' current `.grad` and what each
    op saved for backward ("freed" after a backward without `retain_graph`).
    """
    from .autodiff import topological_sort  # autodiff imports this module: import at call time

    for node in reversed(topological_sort(value)):
        history = node.history
        if history.last_fn is None:  # a leaf: its users' events name it
            continue
        backend = getattr(getattr(node, "backend", None), "name", None)
        inputs = [node_ref(x, with_grad=True) for x in history.inputs]
        emit(ForwardEvent(history.last_fn.op_name(), inputs, node_ref(node), backend, [], saved_for_backward(node)))


def saved_for_backward(value: Any) -> list[Any] | str | None:
    """What the op that made `value` saved for backward, summarized; "freed" once backward
    released it; None for a value no op with a history made."""
    history = value.history
    if history is None or history.ctx is None:
        return None
    if history.ctx.freed:
        return "freed"
    return [_summarize_saved(saved) for saved in history.ctx.saved_values]


def _summarize_saved(saved: Any) -> Any:
    if hasattr(saved, "event_value"):
        return summarize(saved.event_value())
    if isinstance(saved, (float, int)) and not isinstance(saved, bool):
        return summarize(saved)
    if isinstance(saved, tuple) and all(isinstance(n, int) for n in saved):
        return f"shape {saved}"  # e.g. Sum saves the input's shape
    return repr(saved)[:60]


@contextlib.contextmanager
def module_scope(label: str) -> Iterator[None]:
    """Ops inside the block ran inside the module called `label`."""
    module_stack.append(label)
    try:
        yield
    finally:
        module_stack.pop()


def report_kernel(kernel: str, backend: str, shapes: list[list[int]], seconds: float, bytes: int, flops: int) -> None:
    """Called by a backend after a kernel ran (only while someone listens)."""
    emit(KernelEvent(kernel, backend, current_op, shapes, seconds, bytes, flops))


@contextlib.contextmanager
def running_op(name: str) -> Iterator[None]:
    """Label the kernels launched inside the block with the op `name`."""
    global current_op
    previous, current_op = current_op, name
    try:
        yield
    finally:
        current_op = previous


@contextlib.contextmanager
def backward_pass() -> Iterator[None]:
    """Mark the block as backward: the ops it runs are gradient arithmetic, not forward ops."""
    global in_backward
    previous, in_backward = in_backward, True
    try:
        yield
    finally:
        in_backward = previous


BackwardStepFn = Callable[[Any, Any], list[tuple[Any, Any]]]


def reporting(step: BackwardStepFn) -> BackwardStepFn:
    """`step` (`autodiff.backward_step`), also reporting each call as a `BackwardEvent`.

    `backpropagate` uses it while someone listens. The wrapper remembers what each node sent
    to each parent, so that a node's event lists the `contributions` summed into its
    gradient; it labels the kernels of an op's backward "<op>.backward".
    """
    contributions: dict[int, list[tuple[int, Any]]] = {}  # node id -> (child id, grad sent)

    def reported(node: Any, d_node: Any) -> list[tuple[Any, Any]]:
        received = contributions.pop(node.unique_id, [])
        if node.is_leaf:
            sent = step(node, d_node)
            emit(_backward_event(node, None, d_node, received, None, sent))
            return sent
        op = node.history.last_fn.op_name()
        local = node.local_derivatives()  # before `step`: backward may free what it needs
        with running_op(f"{op}.backward"):
            sent = step(node, d_node)
        for parent, d_parent in sent:
            contributions.setdefault(parent.unique_id, []).append((node.unique_id, d_parent))
        emit(_backward_event(node, op, d_node, received, local, sent))
        return sent

    return reported


def _backward_event(node: Any, op: str | None, d_node: Any, received: Any, local: Any, sent: Any) -> BackwardEvent:
    return BackwardEvent(
        node=node.unique_id,
        op=op,
        grad_output=summarize(_raw(d_node)),
        contributions=[(child, summarize(_raw(d))) for child, d in received],
        parents=[parent.unique_id for parent, _ in sent],
        local_derivatives=None if local is None else [summarize(_raw(d)) for d in local],
        grads_to_parents=[summarize(_raw(d)) for _, d in sent],
    )


def _raw(value: Any) -> Any:
    """Tensors hand over their numbers; floats pass through."""
    return value.event_value() if hasattr(value, "event_value") else value


# ## Recordings


@dataclass
class GraphNode:
    """One node of a recorded graph, assembled from the events."""

    id: int
    label: str
    op: str | None  # None for leaves and constants
    parents: list[int]
    value: Any
    grad: Any = None
    requires_grad: bool = True
    scope: list[str] = field(default_factory=list)


class Recording:
    """Every event seen inside `with record() as rec:`, plus the graph they describe."""

    def __init__(self, events: list[Event] | None = None, thread: int | None = None) -> None:
        self.events: list[Event] = list(events or [])
        self.thread = thread  # `record()` hears only the thread that opened it (None: every thread)

    def __call__(self, event: Event) -> None:
        if self.thread is None or self.thread == threading.get_ident():
            self.events.append(event)

    @property
    def forward_events(self) -> list[ForwardEvent]:
        return [e for e in self.events if isinstance(e, ForwardEvent)]

    @property
    def backward_events(self) -> list[BackwardEvent]:
        return [e for e in self.events if isinstance(e, BackwardEvent)]

    @property
    def kernel_events(self) -> list[KernelEvent]:
        return [e for e in self.events if isinstance(e, KernelEvent)]

    def graph(self) -> dict[int, GraphNode]:
        """Nodes by id, in the order they appeared, with the last gradient each received
        (or, for a leaf that backward did not reach, the `.grad` its `NodeRef` reported)."""
        nodes: dict[int, GraphNode] = {}
        for event in self.events:
            if isinstance(event, ForwardEvent):
                for ref in event.inputs:
                    if ref.id not in nodes:
                        nodes[ref.id] = GraphNode(ref.id, ref.label, None, [], ref.value, ref.grad, ref.requires_grad)
                out = event.output
                nodes[out.id] = GraphNode(
                    out.id,
                    out.label,
                    event.op,
                    [r.id for r in event.inputs],
                    out.value,
                    None,
                    out.requires_grad,
                    list(event.scope),
                )
            elif isinstance(event, BackwardEvent) and event.node in nodes:
                nodes[event.node].grad = event.grad_output
        return nodes

    # -- persistence -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "events": [asdict(e) for e in self.events],
        }

    def save(self, path: str | Path) -> Path:
        """Write the recording as JSON (the file `Recording.load` reads)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording written by `save`; a file that is not one raises RecordingError."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise RecordingError(f"{path}: not a minitorch recording (invalid or truncated JSON: {err})") from err
        except UnicodeDecodeError as err:
            raise RecordingError(f"{path}: not a minitorch recording (not text)") from err
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise RecordingError(f"{path}: not a minitorch recording (expected 'format': '{FORMAT_NAME}')")
        if data.get("version") != FORMAT_VERSION:
            raise RecordingError(
                f"{path}: recording version {data.get('version')!r}; this minitorch reads version {FORMAT_VERSION}"
            )
        try:
            return cls([_event_from_dict(e) for e in data["events"]])
        except (KeyError, TypeError, ValueError) as err:
            raise RecordingError(f"{path}: corrupt minitorch recording ({err!r})") from err

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recording):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        counts = {k: sum(e.kind == k for e in self.events) for k in _EVENT_TYPES}
        return "Recording(" + ", ".join(f"{k}={n}" for k, n in counts.items()) + ")"


def _event_from_dict(data: dict[str, Any]) -> Event:
    kind = data["kind"]
    if kind not in _EVENT_TYPES:
        raise ValueError(f"unknown event kind {kind!r}")
    fields = dict(data)
    if kind == "forward":
        fields["inputs"] = [NodeRef(**ref) for ref in fields["inputs"]]
        fields["output"] = NodeRef(**fields["output"])
    if kind == "backward":
        fields["contributions"] = [tuple(pair) for pair in fields["contributions"]]
    return _EVENT_TYPES[kind](**fields)


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Inside the block, listeners added outside it hear nothing.

    For a tool's own side computation: e.g. the visualizer's extra backward, which an outer
    `record()` or `profile()` should not see. Listeners added inside the block (a `record()`
    of its own) hear as usual; on leaving, the outer listeners and module scopes come back.
    """
    outer_listeners, outer_scopes = LISTENERS[:], module_stack[:]
    LISTENERS[:], module_stack[:] = [], []
    try:
        yield
    finally:
        LISTENERS[:], module_stack[:] = outer_listeners, outer_scopes


@contextlib.contextmanager
def record() -> Iterator[Recording]:
    """Collect every event (forward ops, backward steps, kernels) of this thread inside the block."""
    recording = Recording(thread=threading.get_ident())
    LISTENERS.append(recording)
    try:
        yield recording
    finally:
        LISTENERS.remove(recording)
