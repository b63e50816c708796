"""Module 5 — `minitorch.compile`: trace once per input signature, optimise the IR, run the plan.
Graph autodiff is backprop run on symbolic tensors: the eager derivative rules emit the
backward graph's nodes.

    fast_fn = minitorch.compile(fn)        # or compile(module)
    y = fast_fn(x, w)                      # first call traces and compiles; later calls reuse
    y.sum().backward()                     # runs the compiled backward graph

A compiled function keeps one `CompiledGraph` per input signature (shapes, dtypes, backend,
which inputs need gradients) in its own `cache`: dropping the compiled function frees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .. import backends
from ..autodiff import Context, backpropagate, is_grad_enabled
from ..module import Module
from ..tensor import Tensor
from ..tensor_data import TensorData
from ..tensor_functions import Function
from .executor import Plan
from .guards import ModuleGuard, captured_key, map_tensors, tensors_in, value_key
from .ir import Graph
from .passes import PIPELINE, Pass, run_passes
from .split import keep_sources, slice_graph, split
from .trace import ConstGuard, RandomSource, SymbolicBackend, TracingError, node_id, placeholder, symbolic_input

PassList = Sequence[Pass]


def default_passes() -> list[Pass]:
    """The optimisation pipeline compiled code goes through (see graph/passes)."""
    return list(PIPELINE)


# ## A compiled program and its cache entries


@dataclass
class BackwardGraph:
    """The backward program of one output: from its gradient to every input's gradient."""

    graph: Graph
    plan: Plan
    grad_input: int  # the placeholder fed with the output's gradient
    grads: list[int | None]  # per input, the node with its gradient (None: no gradient)


@dataclass
class CompiledGraph:
    """One specialisation: the forward graph, one backward graph per output, and their plans.

    Besides the call's tensors (and the module's parameters), the forward graph reads the
    `captured` tensors that require grad and fresh numbers from each `random` source; the
    trace stays valid while every `guard` holds (the constants it froze are unchanged).
    """

    forward: Graph
    forward_plan: Plan
    saved: set[int]
    inputs: list[int]  # forward input/param node ids, in feed order
    outputs: list[int]
    container: type | None  # what the function returned: one Tensor (None), a tuple or a list
    backwards: list[BackwardGraph | None]  # per output (None: it needs no gradient)
    backend: backends.TensorBackend
    traced: Graph | None = field(repr=False, default=None)  # before the passes, for teaching
    captured: list[Tensor] = field(default_factory=list)
    random: list[RandomSource] = field(default_factory=list)
    guards: list[ConstGuard] = field(default_factory=list)

    @property
    def single(self) -> bool:
        return self.container is None

    @property
    def output(self) -> int | list[int]:
        return self.outputs[0] if self.single else self.outputs

    @property
    def backward(self) -> Graph | None:  # of the first output: the whole story for one output
        return self.backwards[0].graph if self.backwards[0] is not None else None

    @property
    def backward_plan(self) -> Plan | None:
        return self.backwards[0].plan if self.backwards[0] is not None else None

    @property
    def grad_input(self) -> int | None:
        return self.backwards[0].grad_input if self.backwards[0] is not None else None

    @property
    def grads(self) -> list[int | None]:
        return self.backwards[0].grads if self.backwards[0] is not None else [None] * len(self.inputs)

    def guards_hold(self) -> bool:
        return all(guard.holds() for guard in self.guards)

    def run_forward(self, tensors: Sequence[Tensor]) -> dict[int, TensorData]:
        """Kept forward values: the outputs and what the backward graphs read."""
        feeds = {i: t._tensor for i, t in zip(self.inputs, tensors)}
        feeds.update({source.node: source.sample() for source in self.random})
        return self.forward_plan.run(feeds)


class CompiledCall(Function):
    """One output of a compiled program as an eager op; its backward runs that output's backward plan.

    A program with several outputs makes one such op per output: the engine sums the gradients
    each of them sends to an input, as it does for any tensor used twice.
    """

    @classmethod
    def op_name(cls) -> str:
        return "Compiled"

    @staticmethod
    def forward(
        ctx: Context, *inputs: Tensor, entry: CompiledGraph, index: int, values: dict[int, TensorData], out: Any
    ) -> Tensor:
        saved = {i: values[i] for i in entry.saved if i in values}
        ctx.save_for_backward(entry, index, saved, [t.backend for t in inputs])
        return Tensor(values[entry.outputs[index]], backend=out)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        entry, index, saved, input_backends = ctx.saved_values
        program = entry.backwards[index]
        if program is None:  # this output does not depend on any input that requires grad
            return (None,) * len(input_backends)
        feeds = dict(saved)
        feeds[program.grad_input] = grad_output.contiguous()._tensor
        values = program.plan.run(feeds)
        # Each gradient on its input's backend, as in eager mode (the plan may run on another).
        return tuple(None if g is None else Tensor(values[g], backend=b) for g, b in zip(program.grads, input_backends))


# ## Tracing


@contextmanager
def symbolic_parameters(module: Module | None, graph: Graph, symbolic: SymbolicBackend) -> Iterator[list[Tensor]]:
    """While tracing, each parameter of `module` holds a `param` placeholder of its name,
    shape and dtype (the list yielded); afterwards it holds its own value again."""
    modules = module.named_modules() if module is not None else []
    slots = [(m, n, f"{prefix}.{n}" if prefix else n) for prefix, m in modules for n in m._parameters]
    originals = [m._parameters[n] for m, n, _ in slots]
    try:  # a Parameter is a Tensor: the module holds a placeholder in its place while tracing
        for (m, n, dotted), value in zip(slots, originals):
            m._parameters[n] = symbolic_input(graph, symbolic, value, "param", dotted)  # type: ignore[assignment]  # placeholder
        yield [m._parameters[n] for m, n, _ in slots]
    finally:
        for (m, n, _), value in zip(slots, originals):
            m._parameters[n] = value


class Compiled:
    """`minitorch.compile(fn_or_module)`: a function that traces on first use per input signature.

    Tensors among the arguments (also inside tuples, lists, dicts and keyword arguments) are
    inputs of the trace; everything else the trace depended on is part of the cache key (see
    graph/guards.py), so a change of it traces again.
    """

    def __init__(
        self,
        target: Callable[..., Any] | Module,
        backend: str | None = None,
        passes: PassList | None = None,
        wrapper: bool = True,
    ) -> None:
        self.target = target
        self.backend_name = backend
        self.passes = default_passes() if passes is None else list(passes)
        self.wrapper = wrapper  # run each plan as its generated function (graph/wrapper.py)
        self.cache: dict[Any, CompiledGraph] = {}
        self.compile_count = 0
        self.latest: CompiledGraph | None = None
        self.guard = ModuleGuard(target) if isinstance(target, Module) else None

    @property
    def module(self) -> Module | None:
        return self.target if isinstance(self.target, Module) else None

    def _key(self, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """Everything the trace depends on besides the numbers in the input tensors (a
        module's state by the number its guard gives it)."""
        call = (value_key(tuple(args)), value_key(kwargs))
        captured = captured_key(self.target) if self.guard is None else self.guard.key()
        return call, captured, is_grad_enabled(), self.backend_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        entry = self.entry(*args, **kwargs)
        parameters = [] if self.guard is None else self.guard.parameters  # as of the key just made
        tensors = tensors_in((args, kwargs)) + parameters + entry.captured
        values = entry.run_forward(tensors)
        # Outputs live where eager results would: on the backend of the tensors passed in.
        out = tensors[0].backend if tensors else entry.backend
        results = [
            CompiledCall.apply(*tensors, entry=entry, index=j, values=values, out=out)
            for j in range(len(entry.outputs))
        ]
        if entry.container is None:  # entry.single
            return results[0]
        return entry.container(results)

    def graph(self, *args: Any, **kwargs: Any) -> Graph:
        """The optimised forward graph for these arguments (compiling if needed)."""
        return self.entry(*args, **kwargs).forward

    def entry(self, *args: Any, **kwargs: Any) -> CompiledGraph:
        """The cache entry for these arguments (tracing and compiling if needed, or if a
        constant the trace froze has changed since)."""
        entry = self.cache.get(self._key(args, kwargs))
        if entry is None or not entry.guards_hold():
            entry = self._compile(args, kwargs)
            # Keyed on the state after tracing: what the Python code changed while it ran
            # (e.g. appended to a captured list), it does not change on compiled calls.
            self.cache[self._key(args, kwargs)] = entry
            self.compile_count += 1
            self.latest = entry
        return entry

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The generated code of a specialisation (of these arguments; without any, of the one
        compiled last): the forward plan's wrapper, then each output's backward plan's."""
        entry = self.latest if not (args or kwargs) else self.entry(*args, **kwargs)
        if entry is None:
            raise ValueError("nothing compiled yet: call the compiled function (or pass its arguments)")
        plans = [entry.forward_plan] + [b.plan for b in entry.backwards if b is not None]
        return "\n".join(plan.source() for plan in plans)

    def _compile(self, args: Sequence[Any], kwargs: dict[str, Any]) -> CompiledGraph:
        """Trace the target on symbolic copies of the argument tensors (and of the module's parameters)."""
        tensors = tensors_in((args, kwargs))
        real = backends.get_backend(self.backend_name or (tensors[0].backend if tensors else None))
        joint = Graph()
        symbolic = SymbolicBackend(joint, real)
        names = iter(range(len(tensors)))
        sym_args, sym_kwargs = map_tensors(
            (tuple(args), kwargs), lambda t: symbolic_input(joint, symbolic, t, "input", f"arg{next(names)}")
        )
        with symbolic_parameters(self.module, joint, symbolic) as sym_params:
            out = self.target(*sym_args, **sym_kwargs)
        sym_inputs = tensors_in((sym_args, sym_kwargs)) + sym_params
        entry = build_entry(joint, symbolic, sym_inputs, out, real, self.passes)
        backwards = [(b.plan, f"backward_{j}") for j, b in enumerate(entry.backwards) if b is not None]
        for plan, name in [(entry.forward_plan, "forward"), *backwards]:
            plan.use_wrapper, plan.name = self.wrapper, name
        return entry

    def __repr__(self) -> str:
        name = getattr(self.target, "__name__", type(self.target).__name__)
        return f"Compiled({name}, {len(self.cache)} specialisations, compiled {self.compile_count}×)"


# ## From a traced program to a cache entry


def build_entry(
    joint: Graph,
    symbolic: SymbolicBackend,
    sym_inputs: list[Tensor],
    out: Any,
    real: backends.TensorBackend,
    passes: PassList,
) -> CompiledGraph:
    """Differentiate every output (if needed), split, optimise and plan a traced program.

    Captured tensors that require grad (see `SymbolicBackend.adopt`) join the inputs last."""
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not outs or not all(isinstance(t, Tensor) for t in outs):
        raise TracingError(f"a compiled function must return a Tensor or a tuple of Tensors, got {out!r}")
    captured = list(symbolic.captured.values())
    sym_inputs = sym_inputs + [sym for _, sym in captured]
    backward = [trace_backward(joint, symbolic, sym_inputs, t) for t in outs]
    entry = optimise_and_plan(
        joint, [node_id(t) for t in sym_inputs], [node_id(t) for t in outs], real, passes, backward, symbolic
    )
    entry.container = type(out) if isinstance(out, (tuple, list)) else None
    entry.captured = [tensor for tensor, _ in captured]
    return entry


def trace_backward(
    joint: Graph, symbolic: SymbolicBackend, sym_inputs: list[Tensor], out: Tensor
) -> tuple[int | None, list[int | None]]:
    """Backprop a `grad_output` placeholder from `out` into the joint graph.

    Returns (the placeholder's id, per input the id of its gradient or None). Only leaf
    inputs that require grad get a gradient; if none does, nothing is traced.
    """
    wants_grad = [t.requires_grad and t.is_leaf for t in sym_inputs]
    if not (out.requires_grad and any(wants_grad)):
        return None, [None] * len(sym_inputs)
    grad_tensor = placeholder(joint, symbolic, out.shape, out.dtype.name, "grad_output")
    for t in sym_inputs:
        t.grad = None
    backpropagate(out, grad_tensor, retain_graph=True)
    grads = [node_id(t.grad) if (w and t.grad is not None) else None for t, w in zip(sym_inputs, wants_grad)]
    return node_id(grad_tensor), grads


def optimise_and_plan(
    joint: Graph,
    input_ids: list[int],
    outputs: list[int],
    real: backends.TensorBackend,
    passes: PassList,
    backward: list[tuple[int | None, list[int | None]]],
    symbolic: SymbolicBackend,
) -> CompiledGraph:
    """Cut the joint graph into the forward graph and one backward graph per output (each
    with the forward values it reads, all of them saved), run the passes, plan each."""
    random = symbolic.random_sources
    forward = slice_graph(joint, outputs, input_ids + [source.node for source in random])
    pieces = [
        split(joint, outputs, [g for g in grads if g is not None]) if grad_input is not None else None
        for grad_input, grads in backward
    ]
    saved = set().union(*(piece[2] for piece in pieces if piece is not None))
    traced = forward.copy()
    forward = run_passes(forward, passes, keep=saved)
    backwards = [
        None
        if piece is None or grad_input is None  # both None together: no gradient for this output
        else plan_backward(keep_sources(piece[1], joint, [grad_input]), passes, real, grad_input, grads)
        for piece, (grad_input, grads) in zip(pieces, backward)
    ]
    return CompiledGraph(
        forward,
        Plan(forward, real, keep=saved),
        saved,
        input_ids,
        outputs,
        None,
        backwards,
        real,
        traced,
        random=list(random),
        guards=symbolic.const_guards(),
    )


def plan_backward(
    graph: Graph, passes: PassList, real: backends.TensorBackend, grad_input: int, grads: list[int | None]
) -> BackwardGraph:
    """Optimise and plan one output's backward graph."""
    graph = run_passes(graph, passes)
    return BackwardGraph(graph, Plan(graph, real), grad_input, grads)


def compile(
    target: Callable[..., Any] | Module,
    backend: str | None = None,
    passes: PassList | None = None,
    wrapper: bool = True,
) -> Compiled:
    """Compile an eager function or a Module: trace on first call per input signature.
    `wrapper=False` runs its plans step by step instead of as generated functions."""
    return Compiled(target, backend=backend, passes=passes, wrapper=wrapper)
