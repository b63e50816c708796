"""What the engine reports as it runs, and recordings of it (see ARCHITECTURE.md: events flow one way).

The engine calls `report_*` only when `LISTENERS` is non-empty, so with nobody listening
reporting costs one truthiness test per op. `record()` adds a listener that keeps every
event; the recording is plain data that saves to JSON and loads back equal.

Events:
- `ForwardEvent`: an op ran — its inputs and output as `NodeRef`s (id, label, value), what
  it saved for backward, the scopes it ran inside (modules, and composite functions such as
  `cross_entropy` that open a `scope`) and `where`: the line of user code that called it.
  `autodiff.report_graph` describes a graph built before anyone listened with the same events.
- `BackwardEvent`: the chain rule at one node — incoming gradient (the sum of the
  `contributions` its children sent), local derivative per parent where it is a number
  (scalars), and the gradient sent to each parent. Leaves get one too (op None): the
  gradient they accumulated.
- `KernelEvent`: a backend kernel ran (name, backend, shapes, seconds, bytes, flops), with
  the step it belongs to, that step's node and its start time (set by the recording).
- `IterationEvent`: `optimizer.step()` (or `mark_iteration()`) closed a training iteration;
  per parameter its value, gradient and the size of the update.

Symbolic tensors (graph mode tracing) have no values: their ops are not reported.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

FORMAT_NAME = "minitorch-recording"
FORMAT_VERSION = 1
ARRAY_DATA_LIMIT = 64  # arrays up to this many elements keep their data in a recording
HISTOGRAM_BINS = 16  # larger arrays keep a histogram of their finite values instead

Listener = Callable[["Event"], None]
LISTENERS: list[Listener] = []
# True while `backpropagate` runs: the arithmetic of backward is not part of the forward graph.
in_backward = False
# The op whose kernels are running now ("Mul", "Mul.backward"), set only while someone listens.
current_op: str | None = None
# The scopes running now, outermost first: modules ("MLP", "0:Linear") and composite
# functions ("cross_entropy"), set only while someone listens.
module_stack: list[str] = []
# Frames from files under these folders are the library's own: `where` skips them.
LIBRARY_FOLDERS = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name) + os.sep
    for name in ("minitorch", "visualizer")
)


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
        "zeros": int(array.size - np.count_nonzero(array)),
    }
    if array.ndim >= 2:  # columns that are 0 on every row: e.g. ReLU units dead on the whole batch
        summary["zero_columns"] = int((~array.reshape(-1, array.shape[-1]).any(axis=0)).sum())
    if array.size <= ARRAY_DATA_LIMIT:
        summary["data"] = [_encode_float(float(x)) for x in array.ravel()]
    elif finite.size:
        counts, _ = np.histogram(finite, bins=HISTOGRAM_BINS)
        summary["hist"] = [int(c) for c in counts]  # over [min, max] in equal bins
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
    scope: list[str] = field(default_factory=list)  # the scopes it ran inside, outermost first
    saved: list[Any] | str | None = None  # what the op saved for backward; "freed" once released
    kind: str = "forward"
    where: str | None = None  # "path/to/script.py:12": the user code that called the op


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
    step: int | None = None  # index (in the recording) of the forward/backward step that launched it
    node: int | None = None  # the node that step computed
    start: float | None = None  # seconds since the recording began


@dataclass
class ParamStats:
    """One parameter at an optimizer step: value and gradient before it, and the update's norm."""

    id: int
    label: str
    value: Any
    grad: Any
    update_norm: float | None = None  # ||new value - old value||, filled in once the step is done


@dataclass
class IterationEvent:
    """A training iteration ended: `optimizer.step()` ran ("optimizer") or `mark_iteration()` ("mark")."""

    reason: str
    params: list[ParamStats] = field(default_factory=list)
    kind: str = "iteration"


Event = ForwardEvent | BackwardEvent | KernelEvent | IterationEvent
_EVENT_TYPES: dict[str, type] = {
    "forward": ForwardEvent,
    "backward": BackwardEvent,
    "kernel": KernelEvent,
    "iteration": IterationEvent,
}


def emit(event: Event) -> None:
    """Hand `event` to every listener."""
    finish_optimizer_step()
    for listener in list(LISTENERS):
        listener(event)


def is_symbolic(value: Any) -> bool:
    """True for a tensor being traced by graph mode: it has no numbers to report."""
    return hasattr(value, "event_value") and hasattr(value, "backend") and value.event_value() is None


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
    if in_backward or is_symbolic(output):
        return
    refs = [node_ref(x) for x in inputs]
    saved = saved_for_backward(output)
    emit(ForwardEvent(op, refs, node_ref(output), backend, list(module_stack), saved, where=user_code_line()))


def user_code_line() -> str | None:
    """`"file.py:12"`: the innermost caller outside minitorch/ and visualizer/ (as PyTorch's
    anomaly mode keeps the stack of each op, but one line, found by walking frames cheaply)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(LIBRARY_FOLDERS) and not filename.startswith("<frozen"):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


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


class scope:
    """`with scope("cross_entropy"):` — ops inside the block ran inside the named group.

    Recordings keep each op's scope path; the visualizer draws a group as one node that opens
    on request. With nobody listening, entering costs one truthiness test.
    """

    __slots__ = ("label", "entered")

    def __init__(self, label: str) -> None:
        self.label = label
        self.entered = False

    def __enter__(self) -> None:
        if LISTENERS:
            module_stack.append(self.label)
            self.entered = True

    def __exit__(self, *exc: object) -> None:
        if self.entered and module_stack:
            module_stack.pop()
        self.entered = False


module_scope = scope  # modules open one per forward call ("0:Linear")

P = ParamSpec("P")
R = TypeVar("R")


def scoped(label: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: every call of the function runs inside `scope(label)` (a composite op)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not LISTENERS:
                return fn(*args, **kwargs)
            with scope(label):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def report_kernel(kernel: str, backend: str, shapes: list[list[int]], seconds: float, bytes: int, flops: int) -> None:
    """Called by a backend after a kernel ran (only while someone listens)."""
    start = time.perf_counter() - seconds
    emit(KernelEvent(kernel, backend, current_op, shapes, seconds, bytes, flops, start=start))


# ## Training iterations


# The optimizer step under way: (its event, the parameters, their values before the step).
_pending_step: list[tuple[IterationEvent, list[Any], list[np.ndarray]]] = []


def report_optimizer_step(parameters: list[Any]) -> None:
    """Called by `Optimizer.step()` before it updates: closes the iteration in every recording.

    Reports each parameter's value and gradient now; the update's norm is filled in at the
    next event (or when the recording ends), once the parameters hold their new values.
    """
    if not LISTENERS:
        return
    finish_optimizer_step()
    values = list(parameters)  # Parameters and plain tensors alike
    stats = [
        ParamStats(v.unique_id, v.label(), summarize(_raw(v)), summarize(_raw(v.grad)) if v.grad is not None else None)
        for v in values
    ]
    event = IterationEvent("optimizer", stats)
    emit(event)
    _pending_step.append((event, parameters, [np.array(_raw(v), dtype=np.float64) for v in values]))


def finish_optimizer_step() -> None:
    """Fill in the update norms of the optimizer step reported last (it has finished by now)."""
    while _pending_step:
        event, parameters, before = _pending_step.pop()
        for stats, p, old in zip(event.params, parameters, before):
            new = np.asarray(_raw(p), dtype=np.float64)
            stats.update_norm = float(np.sqrt(((new - old) ** 2).sum())) if new.shape == old.shape else None


def mark_iteration() -> None:
    """Close a training iteration by hand (a loop without an optimizer)."""
    emit(IterationEvent("mark"))


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
        if is_symbolic(node):  # graph mode tracing its backward: nothing to report
            return step(node, d_node)
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
    where: str | None = None  # the user code line that made it (ops of a recording)


@dataclass
class Iteration:
    """One training iteration of a recording: its events are `events[start:end]`; `end` is the
    position of its IterationEvent (`closing`), or the recording's end for an unfinished one."""

    index: int
    start: int
    end: int
    closing: IterationEvent | None

    @property
    def closed(self) -> bool:
        return self.closing is not None


class Recording:
    """Every event seen inside `with record() as rec:`, plus the graph they describe.

    With `max_bytes`, the step-by-step events of the oldest iterations are dropped once the
    recording holds more than about that many bytes; their IterationEvents (per-parameter
    norms) stay, so time series still reach back to the first iteration.
    """

    def __init__(
        self, events: list[Event] | None = None, max_bytes: int | None = None, thread: int | None = None
    ) -> None:
        self.events: list[Event] = list(events or [])
        self.thread = thread  # `record()` hears only the thread that opened it (None: every thread)
        self.max_bytes = max_bytes
        self.dropped_iterations = 0  # iterations whose steps were dropped to stay under max_bytes
        self.error: str | None = None  # the traceback of a script that raised while recorded
        self._began = time.perf_counter()
        self._steps = sum(e.kind in ("forward", "backward") for e in self.events)
        self._waiting: list[KernelEvent] = []  # kernels whose step has not been reported yet
        self._bytes = 0

    def __call__(self, event: Event) -> None:
        if self.thread is not None and self.thread != threading.get_ident():
            return
        if isinstance(event, KernelEvent):
            event.step = self._steps
            event.start = None if event.start is None else event.start - self._began
            self._waiting.append(event)
        elif isinstance(event, (ForwardEvent, BackwardEvent)):
            node = event.output.id if isinstance(event, ForwardEvent) else event.node
            for kernel in self._waiting:
                kernel.node = node
            self._waiting, self._steps = [], self._steps + 1
        self.events.append(event)
        if self.max_bytes is not None:
            self._bytes += _approx_bytes(asdict(event) if isinstance(event, IterationEvent) else event.__dict__)
            if isinstance(event, IterationEvent) and self._bytes > self.max_bytes:
                self._drop_oldest_steps()

    def _drop_oldest_steps(self) -> None:
        """Drop the step events of the oldest closed iterations until under `max_bytes`."""
        assert self.max_bytes is not None  # only called with a limit
        while self._bytes > self.max_bytes:
            first = next((i for i in self.iterations if i.closed and i.end > i.start), None)
            if first is None or first.index == len(self.iterations) - 1:
                return  # keep the latest iteration whole
            dropped = self.events[first.start : first.end]
            self._bytes -= sum(_approx_bytes(e.__dict__) for e in dropped)
            del self.events[first.start : first.end]
            self.dropped_iterations += 1

    def mark_iteration(self) -> None:
        """Close the current iteration by hand (this recording only)."""
        self(IterationEvent("mark"))

    @property
    def iterations(self) -> list[Iteration]:
        """The iterations, in order: each ends at an IterationEvent; events after the last one
        form an unfinished last iteration. A recording with no IterationEvent has none."""
        result: list[Iteration] = []
        start = 0
        for position, event in enumerate(self.events):
            if isinstance(event, IterationEvent):
                result.append(Iteration(len(result), start, position, event))
                start = position + 1
        if result and start < len(self.events):
            result.append(Iteration(len(result), start, len(self.events), None))
        return result

    def iteration_recording(self, index: int) -> Recording:
        """A recording of iteration `index` alone (negative counts from the end)."""
        iterations = self.iterations
        if not iterations:
            if index in (0, -1):
                return self
            raise IndexError(f"iteration {index}: this recording has no iterations")
        if not -len(iterations) <= index < len(iterations):
            raise IndexError(f"iteration {index} out of range (the recording has {len(iterations)})")
        chosen = iterations[index]
        return Recording(self.events[chosen.start : chosen.end])

    def first_nonfinite_iteration(self) -> int | None:
        """The first iteration in which a value or gradient was NaN or Inf (None if none was)."""
        for iteration in self.iterations:
            for event in self.events[iteration.start : iteration.end]:
                if _event_nonfinite(event):
                    return iteration.index
            grads = [p.grad for p in iteration.closing.params] if iteration.closing else []
            if any(is_nonfinite(g) for g in grads):
                return iteration.index
        return None

    def gradient_health(self) -> Any:
        """Per parameter and iteration: gradient norm, update/weight ratio, dead ReLUs, flags
        (see `minitorch.health`)."""
        from .health import gradient_health  # the table needs rich: loaded when asked for

        return gradient_health(self)

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
                    event.where,
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
        except RecursionError:  # JSON nested thousands deep
            raise RecordingError(f"{path}: not a minitorch recording (JSON nested too deeply)") from None
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


def _approx_bytes(obj: Any) -> int:
    """About how many bytes `obj` (an event's fields) takes in memory: 8 per number, 64 per record."""
    if isinstance(obj, dict):
        return 64 + sum(_approx_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return 64 + sum(_approx_bytes(v) for v in obj)
    if hasattr(obj, "__dict__"):
        return _approx_bytes(obj.__dict__)
    return 8


def _event_nonfinite(event: Event) -> bool:
    if isinstance(event, ForwardEvent):
        return is_nonfinite(event.output.value)
    if isinstance(event, BackwardEvent):
        return is_nonfinite(event.grad_output) or any(map(is_nonfinite, event.grads_to_parents))
    return False


def _event_from_dict(data: dict[str, Any]) -> Event:
    kind = data["kind"]
    if kind not in _EVENT_TYPES:
        raise ValueError(f"unknown event kind {kind!r}")
    fields = dict(data)
    if kind == "iteration":
        fields["params"] = [ParamStats(**p) for p in fields["params"]]
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
def record(max_bytes: int | None = None, keep_values_up_to: int | None = None) -> Iterator[Recording]:
    """Collect every event (forward ops, backward steps, kernels, iterations) of this thread inside the block.

    `keep_values_up_to`: arrays with at most this many elements keep all their numbers
    (default ARRAY_DATA_LIMIT); larger ones keep a summary and a histogram. `max_bytes`
    bounds the recording's memory (see `Recording`).
    """
    global ARRAY_DATA_LIMIT
    recording = Recording(max_bytes=max_bytes, thread=threading.get_ident())
    previous_limit = ARRAY_DATA_LIMIT
    if keep_values_up_to is not None:
        ARRAY_DATA_LIMIT = keep_values_up_to
    LISTENERS.append(recording)
    try:
        yield recording
    finally:
        finish_optimizer_step()
        LISTENERS.remove(recording)
        ARRAY_DATA_LIMIT = previous_limit
