"""Module 5 — `minitorch.compile`: trace once, optimise the IR, run the plan; and the
TF1-style symbolic API (`Program`). Graph autodiff is backprop run on symbolic tensors:
the eager derivative rules emit the backward graph's nodes.

    fast_fn = minitorch.compile(fn)        # or compile(module)
    y = fast_fn(x, w)                      # first call traces and compiles; later calls reuse
    y.sum().backward()                     # runs the compiled backward graph
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backends
from ..autodiff import Context, backpropagate, is_grad_enabled
from ..module import Module
from ..tensor import Tensor
from ..tensor_data import TensorData
from ..tensor_functions import Function
from .executor import Plan
from .ir import Graph, Node
from .trace import SymbolicBackend, TracingError, node_id, placeholder, symbolic_input

PassList = Sequence[Callable[[Graph], Graph]]


def default_passes() -> list[Callable[[Graph], Graph]]:
    """The optimisation pipeline compiled code goes through (see graph/passes)."""
    from .passes import PIPELINE

    return list(PIPELINE)


# ## Splitting a traced forward+backward graph


def reachable(graph: Graph, outputs: Sequence[int]) -> set[int]:
    """Ids of the nodes `outputs` depend on (themselves included)."""
    by_id = graph.by_id()
    needed: set[int] = set()
    # BEGIN ASSIGN5_1
    stack = list(outputs)
    while stack:
        i = stack.pop()
        if i not in needed:
            needed.add(i)
            stack.extend(by_id[i].inputs)
    # END ASSIGN5_1
    return needed


def subgraph(graph: Graph, keep: set[int], outputs: Sequence[int], boundary: set[int] = frozenset()) -> Graph:
    """The nodes in `keep` (in order); those in `boundary` become inputs named 'saved %id'."""
    result = Graph()
    for node in graph.nodes:
        if node.id in boundary:
            result.nodes.append(Node(node.id, "input", [], node.shape, node.dtype, {}, f"saved %{node.id}"))
        elif node.id in keep:
            result.nodes.append(
                Node(node.id, node.op, list(node.inputs), node.shape, node.dtype, dict(node.attrs), node.name)
            )
    result.outputs = list(outputs)
    result._ids = graph._ids
    return result


def split(joint: Graph, forward_outputs: list[int], grad_outputs: list[int]) -> tuple[Graph, Graph, set[int]]:
    """(forward graph, backward graph, ids of forward values the backward graph reads)."""
    forward_ids = reachable(joint, forward_outputs)
    backward_ids = reachable(joint, grad_outputs)
    # Only the frontier needs saving: forward values that backward-only nodes read (or that
    # are gradients themselves, e.g. d(x+y)/dy when nothing else is computed).
    by_id = joint.by_id()
    backward_only = backward_ids - forward_ids
    frontier = {i for n in backward_only for i in by_id[n].inputs if i in forward_ids}
    frontier |= {i for i in grad_outputs if i in forward_ids}
    forward = subgraph(joint, forward_ids, forward_outputs)
    backward = subgraph(joint, backward_only, grad_outputs, boundary=frontier)
    # Boundary nodes must come first and in a stable order: `subgraph` keeps joint order, in
    # which every forward node precedes the backward nodes that read it.
    return forward, backward, frontier


# ## A compiled program and its cache entries


@dataclass
class CompiledGraph:
    """One specialisation: forward (and backward) graphs and their plans."""

    forward: Graph
    backward: Graph | None
    forward_plan: Plan
    backward_plan: Plan | None
    saved: set[int]
    inputs: list[int]  # forward input/param node ids, in call order
    output: int | list[int]
    grad_input: int | None  # the backward graph's grad_output placeholder
    grads: list[int | None]  # per input, the backward node with its gradient (None: no gradient)
    backend: backends.TensorBackend
    traced: Graph = field(repr=False, default=None)  # before the passes, for teaching

    def run_forward(self, tensors: Sequence[Tensor]) -> dict[int, TensorData]:
        feeds = {i: t._tensor for i, t in zip(self.inputs, tensors)}
        return self.forward_plan.run(feeds)


class CompiledCall(Function):
    """A compiled program as one eager op: forward runs the forward plan, backward the backward plan."""

    @classmethod
    def op_name(cls) -> str:
        return "Compiled"

    @staticmethod
    def forward(ctx: Context, *inputs: Tensor, entry: CompiledGraph) -> Tensor:
        values = entry.run_forward(inputs)
        ctx.save_for_backward(entry, {i: values[i] for i in entry.saved if i in values})
        return Tensor(values[entry.output], backend=entry.backend)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        entry, saved = ctx.saved_values
        if entry.backward_plan is None:
            raise RuntimeError("this compiled function was traced without gradients")
        feeds = dict(saved)
        feeds[entry.grad_input] = grad_output.contiguous()._tensor
        values = entry.backward_plan.run(feeds)
        return tuple(None if g is None else Tensor(values[g], backend=entry.backend) for g in entry.grads)


class Compiled:
    """`minitorch.compile(fn_or_module)`: a function that traces on first use per input signature."""

    def __init__(
        self, target: Callable[..., Any] | Module, backend: str | None = None, passes: PassList | None = None
    ) -> None:
        self.target = target
        self.backend_name = backend
        self.passes = default_passes() if passes is None else list(passes)
        self.cache: dict[Any, CompiledGraph] = {}
        self.compile_count = 0

    @property
    def module(self) -> Module | None:
        return self.target if isinstance(self.target, Module) else None

    def _parameters(self) -> list[tuple[str, Tensor]]:
        if self.module is None:
            return []
        return [(name, p.value) for name, p in self.module.named_parameters()]

    def _key(self, args: Sequence[Any]) -> Any:
        def describe(x: Any) -> Any:
            if isinstance(x, Tensor):
                return ("T", x.shape, x.dtype.name, x.backend.name, x.requires_grad)
            return ("py", repr(x))

        params = tuple(describe(t) for _, t in self._parameters())
        return tuple(describe(a) for a in args), params, is_grad_enabled(), self.backend_name

    def __call__(self, *args: Any) -> Any:
        key = self._key(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache[key] = self._compile(args)
            self.compile_count += 1
        tensors = [a for a in args if isinstance(a, Tensor)] + [t for _, t in self._parameters()]
        if isinstance(entry.output, list):  # several outputs: computed without gradients
            values = entry.run_forward(tensors)
            return tuple(Tensor(values[i], backend=entry.backend) for i in entry.output)
        return CompiledCall.apply(*tensors, entry=entry)

    def graph(self, *args: Any) -> Graph:
        """The optimised forward graph for these arguments (compiling if needed)."""
        key = self._key(args)
        if key not in self.cache:
            self(*args)
        return self.cache[key].forward

    def entry(self, *args: Any) -> CompiledGraph:
        key = self._key(args)
        if key not in self.cache:
            self(*args)
        return self.cache[key]

    def _compile(self, args: Sequence[Any]) -> CompiledGraph:
        tensors = [a for a in args if isinstance(a, Tensor)]
        real = backends.get_backend(self.backend_name or (tensors[0].backend if tensors else None))
        joint = Graph()
        symbolic = SymbolicBackend(joint, real)
        sym_args = [
            symbolic_input(joint, symbolic, a, "input", f"arg{i}") if isinstance(a, Tensor) else a
            for i, a in enumerate(args)
        ]
        sym_inputs = [a for a in sym_args if isinstance(a, Tensor)]
        params = self.module.named_parameters() if self.module is not None else []
        originals = [p.value for _, p in params]
        try:
            for (name, p), value in zip(params, originals):
                p.value = symbolic_input(joint, symbolic, value, "param", name)
            sym_inputs += [p.value for _, p in params]
            out = self.target(*sym_args)
        finally:
            for (_, p), value in zip(params, originals):
                p.value = value
        return build_entry(joint, symbolic, sym_inputs, out, real, self.passes)

    def __repr__(self) -> str:
        name = getattr(self.target, "__name__", type(self.target).__name__)
        return f"Compiled({name}, {len(self.cache)} specialisations, compiled {self.compile_count}×)"


def build_entry(
    joint: Graph,
    symbolic: SymbolicBackend,
    sym_inputs: list[Tensor],
    out: Any,
    real: backends.TensorBackend,
    passes: PassList,
) -> CompiledGraph:
    """Differentiate (if needed), split, optimise and plan a traced program."""
    input_ids = [node_id(t) for t in sym_inputs]
    if isinstance(out, (tuple, list)):
        outputs = [node_id(t) for t in out]
        forward = subgraph(joint, reachable(joint, outputs), outputs, boundary=set())
        forward = keep_sources(forward, joint, input_ids)
        traced = forward.copy()
        forward = run_passes(forward, passes)
        return CompiledGraph(
            forward,
            None,
            Plan(forward, real),
            None,
            set(),
            input_ids,
            outputs,
            None,
            [None] * len(input_ids),
            real,
            traced,
        )
    if not isinstance(out, Tensor):
        raise TracingError(f"a compiled function must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    output = node_id(out)
    wants_grad = [t.requires_grad and t.is_leaf() for t in sym_inputs]
    grads: list[int | None] = [None] * len(sym_inputs)
    grad_input = None
    if out.requires_grad and any(wants_grad):
        grad_tensor = placeholder(joint, symbolic, out.shape, out.dtype.name, "grad_output")
        grad_input = node_id(grad_tensor)
        for t in sym_inputs:
            t.grad = None
        backpropagate(out, grad_tensor, retain_graph=True)
        grads = [node_id(t.grad) if (w and t.grad is not None) else None for t, w in zip(sym_inputs, wants_grad)]
    grad_outputs = [g for g in grads if g is not None]
    if grad_outputs:
        forward, backward, saved = split(joint, [output], grad_outputs)
        backward = keep_sources(backward, joint, [grad_input], first=sorted(saved))
    else:
        forward, backward, saved = subgraph(joint, reachable(joint, [output]), [output]), None, set()
    forward = keep_sources(forward, joint, input_ids)
    traced = forward.copy()
    forward = run_passes(forward, passes, keep=saved)
    backward = run_passes(backward, passes) if backward is not None else None
    return CompiledGraph(
        forward,
        backward,
        Plan(forward, real, keep=saved),
        Plan(backward, real) if backward is not None else None,
        saved,
        input_ids,
        output,
        grad_input,
        grads,
        real,
        traced,
    )


def keep_sources(graph: Graph, joint: Graph, source_ids: Sequence[int], first: Sequence[int] = ()) -> Graph:
    """Make sure every source in `source_ids` is a node (unused inputs still take a value)."""
    present = {n.id for n in graph.nodes}
    by_id = joint.by_id()
    missing = [
        Node(i, by_id[i].op, [], by_id[i].shape, by_id[i].dtype, {}, by_id[i].name)
        for i in source_ids
        if i is not None and i not in present
    ]
    graph.nodes = missing + graph.nodes
    return graph


def run_passes(graph: Graph, passes: PassList, keep: set[int] = frozenset()) -> Graph:
    """Apply each pass in order; values in `keep` (needed by backward) are treated as outputs."""
    extra = [i for i in sorted(keep) if i not in graph.outputs]
    graph.outputs = list(graph.outputs) + extra
    for apply_pass in passes:
        graph = apply_pass(graph)
    graph.outputs = graph.outputs[: len(graph.outputs) - len(extra)] if extra else graph.outputs
    graph.check()
    return graph


def compile(
    target: Callable[..., Any] | Module,
    backend: str | None = None,
    passes: PassList | None = None,
) -> Compiled:
    """Compile an eager function or a Module: trace on first call per input signature."""
    return Compiled(target, backend=backend, passes=passes)


# ## The explicit symbolic API (TF1 / Theano style)


class Program:
    """Build a graph from placeholders, ask for gradients, compile, then run with values.

    p = Program(backend="fast")
    x = p.placeholder((4, 3), name="x", requires_grad=True)
    w = p.placeholder((3, 2), name="w", requires_grad=True)
    loss = (x @ w).sigmoid().sum()
    dx, dw = p.gradients(loss, [x, w])
    run = p.compile([loss, dx, dw])
    loss_value, dx_value, dw_value = run(x=..., w=...)
    """

    def __init__(self, backend: str | None = None) -> None:
        self.graph = Graph()
        self.real = backends.get_backend(backend)
        self.symbolic = SymbolicBackend(self.graph, self.real)
        self.placeholders: dict[str, Tensor] = {}

    def placeholder(
        self, shape: Sequence[int], dtype: str = "float64", name: str | None = None, requires_grad: bool = False
    ) -> Tensor:
        name = name or f"input{len(self.placeholders)}"
        if name in self.placeholders:
            raise ValueError(f"placeholder {name!r} already exists")
        tensor = placeholder(self.graph, self.symbolic, tuple(shape), dtype, name, requires_grad)
        self.placeholders[name] = tensor
        return tensor

    def gradients(self, output: Tensor, wrt: Sequence[Tensor]) -> list[Tensor]:
        """Symbolic d(output)/d(each of wrt): graph nodes built by the eager derivative rules."""
        if output.size != 1:
            raise ValueError(f"gradients: output must have one element, got shape {output.shape}")
        for t in wrt:
            if not t.requires_grad:
                raise ValueError(f"gradients: {t.name!r} was not made with requires_grad=True")
            t.grad = None
        ones = TensorData(np.ones(1, dtype=output.dtype), output.shape)
        backpropagate(output, Tensor(ones, backend=self.symbolic), retain_graph=True)
        result = []
        for t in wrt:
            if t.grad is None:  # output does not depend on t
                t.grad = Tensor(TensorData(np.zeros(t.size, dtype=t.dtype), t.shape), backend=self.symbolic) + 0.0
            result.append(t.grad)
        return result

    def compile(self, outputs: Sequence[Tensor], passes: PassList | None = None) -> Callable[..., list[Tensor]]:
        """A function of the placeholders (by name) returning the outputs' values."""
        ids = [node_id(t) for t in outputs]
        graph = subgraph(self.graph, reachable(self.graph, ids), ids)
        sources = [node_id(t) for t in self.placeholders.values()]
        graph = keep_sources(graph, self.graph, sources)
        graph = run_passes(graph, default_passes() if passes is None else passes)
        plan = Plan(graph, self.real)
        names = {node_id(t): name for name, t in self.placeholders.items()}
        sources_in_graph = [n for n in graph.nodes if n.op == "input"]

        def run(**values: Any) -> list[Tensor]:
            missing = [names[n.id] for n in sources_in_graph if names.get(n.id) not in values]
            if missing:
                raise TypeError(f"missing values for placeholders: {', '.join(missing)}")
            feeds = {}
            for n in sources_in_graph:
                value = values[names[n.id]]
                data = (
                    value._tensor
                    if isinstance(value, Tensor)
                    else TensorData(np.asarray(value, dtype=n.dtype).reshape(-1), np.shape(value))
                )
                if tuple(data.shape) != n.shape:
                    raise ValueError(f"placeholder {names[n.id]!r} expects shape {n.shape}, got {tuple(data.shape)}")
                feeds[n.id] = data
            out = plan.run(feeds)
            return [Tensor(out[i], backend=self.real) for i in ids]

        run.graph = graph  # type: ignore[attr-defined]
        run.plan = plan  # type: ignore[attr-defined]
        return run


# ## A whole training step as one graph


class CompiledTrainStep:
    """forward, loss, backward and the SGD update of every parameter, compiled into one graph.

    `step(x, y)` returns the loss and writes the updated parameter values into the model.
    """

    def __init__(
        self, model: Module, loss_fn: Callable[[Tensor, Tensor], Tensor], lr: float, passes: PassList | None = None
    ) -> None:
        self.model, self.loss_fn, self.lr = model, loss_fn, lr
        self.passes = default_passes() if passes is None else list(passes)
        self.cache: dict[Any, tuple[Graph, Plan, list[int], list[int], int]] = {}
        self.compile_count = 0

    def graph(self, x: Tensor, y: Tensor) -> Graph:
        """The optimised training-step graph for inputs shaped like x and y (compiling if needed)."""
        return self._entry(x, y)[0]

    def plan(self, x: Tensor, y: Tensor) -> Plan:
        return self._entry(x, y)[1]

    def _entry(self, x: Tensor, y: Tensor) -> tuple[Graph, Plan, list[int], list[int], int]:
        key = (x.shape, y.shape, x.dtype.name, x.backend.name)
        if key not in self.cache:
            self.cache[key] = self._compile(x, y)
            self.compile_count += 1
        return self.cache[key]

    def __call__(self, x: Tensor, y: Tensor) -> float:
        key = (x.shape, y.shape, x.dtype.name, x.backend.name)
        if key not in self.cache:
            self.cache[key] = self._compile(x, y)
            self.compile_count += 1
        graph, plan, input_ids, new_ids, loss_id = self.cache[key]
        params = [p for _, p in self.model.named_parameters()]
        feeds = dict(zip(input_ids, [x._tensor, y._tensor] + [p.value._tensor for p in params]))
        values = plan.run(feeds)
        for p, i in zip(params, new_ids):
            p.value._tensor = values[i]  # the parameter tensor now holds the updated values
            p.value.grad = None
        return float(values[loss_id].to_numpy().reshape(-1)[0])

    def _compile(self, x: Tensor, y: Tensor) -> tuple[Graph, Plan, list[int], list[int], int]:
        joint = Graph()
        symbolic = SymbolicBackend(joint, x.backend)
        sx = symbolic_input(joint, symbolic, x.detach(), "input", "x")
        sy = symbolic_input(joint, symbolic, y.detach(), "input", "y")
        params = [p for _, p in self.model.named_parameters()]
        names = [name for name, _ in self.model.named_parameters()]
        originals = [p.value for p in params]
        try:
            for name, p, value in zip(names, params, originals):
                p.value = symbolic_input(joint, symbolic, value, "param", name)
            loss = self.loss_fn(self.model(sx), sy)
            if loss.size != 1:
                raise ValueError(f"the loss must have one element, got shape {loss.shape}")
            ones = TensorData(np.ones(1, dtype=loss.dtype), loss.shape)
            backpropagate(loss, Tensor(ones, backend=symbolic))
            updated = [p.value - self.lr * p.value.grad for p in params]
            input_ids = [node_id(sx), node_id(sy)] + [node_id(p.value) for p in params]
        finally:
            for p, value in zip(params, originals):
                p.value = value
        outputs = [node_id(loss)] + [node_id(t) for t in updated]
        graph = subgraph(joint, reachable(joint, outputs), outputs)
        graph = keep_sources(graph, joint, input_ids)
        graph = run_passes(graph, self.passes)
        return graph, Plan(graph, x.backend), input_ids, outputs[1:], outputs[0]
