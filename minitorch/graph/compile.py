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
from .ir import Graph
from .passes import PIPELINE, Pass, run_passes
from .split import keep_sources, slice_graph, split
from .trace import SymbolicBackend, TracingError, node_id, placeholder, symbolic_input

PassList = Sequence[Pass]


def default_passes() -> list[Pass]:
    """The optimisation pipeline compiled code goes through (see graph/passes)."""
    return list(PIPELINE)


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
            m._parameters[n] = symbolic_input(graph, symbolic, value, "param", dotted)
        yield [m._parameters[n] for m, n, _ in slots]
    finally:
        for (m, n, _), value in zip(slots, originals):
            m._parameters[n] = value


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
        entry = self.entry(*args)
        tensors = [a for a in args if isinstance(a, Tensor)] + [t for _, t in self._parameters()]
        if isinstance(entry.output, list):  # several outputs: computed without gradients
            values = entry.run_forward(tensors)
            return tuple(Tensor(values[i], backend=entry.backend) for i in entry.output)
        return CompiledCall.apply(*tensors, entry=entry)

    def graph(self, *args: Any) -> Graph:
        """The optimised forward graph for these arguments (compiling if needed)."""
        return self.entry(*args).forward

    def entry(self, *args: Any) -> CompiledGraph:
        """The cache entry for these arguments' signature (tracing and compiling if needed)."""
        key = self._key(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache[key] = self._compile(args)
            self.compile_count += 1
        return entry

    def _compile(self, args: Sequence[Any]) -> CompiledGraph:
        """Trace the target on symbolic copies of `args` (and of the module's parameters)."""
        tensors = [a for a in args if isinstance(a, Tensor)]
        real = backends.get_backend(self.backend_name or (tensors[0].backend if tensors else None))
        joint = Graph()
        symbolic = SymbolicBackend(joint, real)
        sym_args = [
            symbolic_input(joint, symbolic, a, "input", f"arg{i}") if isinstance(a, Tensor) else a
            for i, a in enumerate(args)
        ]
        with symbolic_parameters(self.module, joint, symbolic) as sym_params:
            out = self.target(*sym_args)
        sym_inputs = [a for a in sym_args if isinstance(a, Tensor)] + sym_params
        return build_entry(joint, symbolic, sym_inputs, out, real, self.passes)

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
    """Differentiate (if needed), split, optimise and plan a traced program."""
    input_ids = [node_id(t) for t in sym_inputs]
    if isinstance(out, (tuple, list)):  # several outputs: no gradients
        return optimise_and_plan(joint, input_ids, [node_id(t) for t in out], real, passes)
    if not isinstance(out, Tensor):
        raise TracingError(f"a compiled function must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    grad_input, grads = trace_backward(joint, symbolic, sym_inputs, out)
    return optimise_and_plan(joint, input_ids, node_id(out), real, passes, grad_input, grads)


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
    output: int | list[int],
    real: backends.TensorBackend,
    passes: PassList,
    grad_input: int | None = None,
    grads: list[int | None] | None = None,
) -> CompiledGraph:
    """Split the joint graph into forward (and backward), run the passes, plan each."""
    grads = [None] * len(input_ids) if grads is None else grads
    outputs = output if isinstance(output, list) else [output]
    grad_outputs = [g for g in grads if g is not None]
    if grad_outputs:
        forward, backward, saved = split(joint, outputs, grad_outputs)
        forward = keep_sources(forward, joint, input_ids)
        backward = keep_sources(backward, joint, [grad_input])
    else:
        forward, backward, saved = slice_graph(joint, outputs, input_ids), None, set()
    traced = forward.copy()
    forward = run_passes(forward, passes, keep=saved)
    backward = run_passes(backward, passes) if backward is not None else None
    forward_plan = Plan(forward, real, keep=saved)
    backward_plan = Plan(backward, real) if backward is not None else None
    return CompiledGraph(
        forward, backward, forward_plan, backward_plan, saved, input_ids, output, grad_input, grads, real, traced
    )


def compile(
    target: Callable[..., Any] | Module,
    backend: str | None = None,
    passes: PassList | None = None,
) -> Compiled:
    """Compile an eager function or a Module: trace on first call per input signature."""
    return Compiled(target, backend=backend, passes=passes)
