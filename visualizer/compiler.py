"""The compiler, pass by pass: what each optimisation pass did to an IR graph.

    steps = pass_steps(traced_graph)          # one PassStep per pass of the pipeline
    for step in steps: print(step.line())     # "constant_folding   41 -> 35 nodes"
    render(steps[1].after, before=steps[1].before)   # removed nodes drawn dashed and grey

`demo_train_step_graph()` is the traced (not yet optimised) graph of the demo's compiled
training step; `capture_compiles()` collects the graphs a script compiles. Plain data: the
TUI, `python -m visualizer compiled --print` and tests all read it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorch.graph.ir import SOURCES, Graph, Node
from minitorch.graph.passes import PIPELINE, Pass
from minitorch.graph.passes.memory_plan import plan_memory


@dataclass
class PassStep:
    """One pass: its name, the graph before and after, and how long it took."""

    name: str
    before: Graph
    after: Graph
    seconds: float = 0.0

    @property
    def removed(self) -> set[int]:
        """Ids of the nodes the pass took away (folded, simplified, merged or fused)."""
        return {n.id for n in self.before.nodes} - {n.id for n in self.after.nodes}

    @property
    def changed(self) -> set[int]:
        """Ids kept but rewritten (other op, inputs or attributes) or new."""
        before = self.before.by_id()
        return {n.id for n in self.after.nodes if n.id not in before or _differs(before[n.id], n)}

    @property
    def planned_bytes(self) -> int:
        """Bytes of intermediate buffers the memory planner gives the graph after this pass."""
        return plan_memory(self.after).peak_bytes

    def line(self) -> str:
        """`constant_folding   41 -> 35 nodes (-6)`: one line for `--print`."""
        b, a = len(self.before.nodes), len(self.after.nodes)
        return f"{self.name:<34} {b:>4} -> {a:<4} nodes ({a - b:+d})  planned {self.planned_bytes} bytes"


def _differs(old: Node, new: Node) -> bool:
    keys = lambda n: {k: v for k, v in n.attrs.items() if k not in ("value", "buffer")}  # noqa: E731
    return (old.op, old.inputs, keys(old)) != (new.op, new.inputs, keys(new))


def pass_steps(graph: Graph, passes: Sequence[Pass] | None = None) -> list[PassStep]:
    """Run `passes` (default: the compiler's PIPELINE) one at a time, keeping every graph."""
    steps = []
    for apply_pass in PIPELINE if passes is None else passes:
        start = time.perf_counter()
        after = apply_pass(graph)
        steps.append(PassStep(apply_pass.__name__, graph, after, time.perf_counter() - start))
        graph = after
    return steps


def pass_lines(steps: list[PassStep]) -> list[str]:
    """One line per pass (name, nodes before -> after), then the total."""
    lines = [step.line() for step in steps]
    if steps:
        lines.append(f"{'total':<34} {len(steps[0].before.nodes):>4} -> {len(steps[-1].after.nodes):<4} nodes")
    return lines


# ## Kernels and the execution plan


def fused_sources(graph: Graph, target: str = "simple") -> list[tuple[Node, str]]:
    """Each fused node with the source of the kernel codegen writes for it."""
    from minitorch.graph.codegen import generate_source

    shapes = {n.id: n.shape for n in graph.nodes}
    result = []
    for node in graph.nodes:
        if node.op == "fused":
            scalars = [int(np.prod(shapes[i])) == 1 and node.shape != shapes[i] for i in node.inputs]
            result.append((node, generate_source(node, target, scalars)))
    return result


@dataclass
class PlanRow:
    """One step of the execution plan: its node, op, and the time of its first and a later run."""

    node: int
    op: str
    first_seconds: float
    steady_seconds: float
    text: str = field(default="")


def time_plan(graph: Graph, backend: str = "simple", runs: int = 2) -> list[PlanRow]:
    """Run the plan of `graph` on random inputs `runs` times, timing every step.

    The first run includes compiling each kernel (JIT); the last is steady state.
    """
    from minitorch import backends
    from minitorch.graph.executor import Plan
    from minitorch.tensor_data import TensorData

    plan = Plan(graph, backends.get_backend(backend))
    rng = np.random.default_rng(0)
    feeds = {
        n.id: TensorData(rng.random(int(np.prod(n.shape))).astype(n.dtype), n.shape)
        for n in graph.nodes
        if n.op in ("input", "param")
    }
    times: list[list[float]] = [[] for _ in plan.steps]
    for _ in range(max(runs, 1)):
        values = dict(feeds)
        for position, step in enumerate(plan.steps):
            start = time.perf_counter()
            values[step.node] = step.kernel(*[values[i] for i in step.inputs])
            times[position].append(time.perf_counter() - start)
    by_id = graph.by_id()
    return [PlanRow(s.node, s.op, t[0], t[-1], str(by_id[s.node])) for s, t in zip(plan.steps, times)]


# ## Where graphs come from


def demo_train_step_graph(seed: int = 0) -> Graph:
    """The demo's training step (MLP [2, 4, 2], one-hot cross-entropy, SGD) traced, before any pass."""
    import minitorch
    from minitorch import nn
    from minitorch.graph import CompiledTrainStep

    train_set = minitorch.data.toy_dataset("xor", 8, seed=seed)
    model = nn.MLP([2, 4, 2], seed=seed)
    x = minitorch.tensor(train_set.X)
    y = minitorch.tensor(np.eye(2)[np.asarray(train_set.y, dtype=int)])

    def loss_fn(logits: Any, targets: Any) -> Any:
        return -(targets * nn.logsoftmax(logits, dim=1)).sum(1).mean()

    return CompiledTrainStep(model, loss_fn, lr=0.5, passes=[]).graph(x, y)


@contextlib.contextmanager
def capture_compiles() -> Iterator[list[Graph]]:
    """Collect a copy of every graph handed to the pass pipeline inside the block, before the passes.

    Wraps `run_passes` where graph mode calls it (compile, train step, Program); nothing else changes.
    """
    import importlib

    from minitorch.graph import passes as passes_module

    original = passes_module.run_passes
    graphs: list[Graph] = []

    def capturing(graph: Graph, passes: Any = None, keep: AbstractSet[int] = frozenset()) -> Graph:
        if passes is None or len(passes) > 0:
            seen = graph.copy()
            seen.outputs += [i for i in sorted(keep) if i not in seen.outputs]  # what the passes must keep
            graphs.append(seen)
        return original(graph, passes, keep)

    # by module path: `minitorch.graph.compile` the attribute is the function compile()
    modules = [importlib.import_module(f"minitorch.graph.{name}") for name in ("compile", "program", "train_step")]
    for module in modules:
        module.run_passes = capturing  # type: ignore[attr-defined]
    try:
        yield graphs
    finally:
        for module in modules:
            module.run_passes = original  # type: ignore[attr-defined]


def node_counts(graph: Graph) -> dict[str, int]:
    """How many sources, ops and fused nodes a graph has."""
    return {
        "nodes": len(graph.nodes),
        "sources": sum(n.op in SOURCES for n in graph.nodes),
        "fused": sum(n.op == "fused" for n in graph.nodes),
    }


# ## Pages: what the TUI shows, step by step, as (style, text) lines


@dataclass
class Page:
    """One screen of the compiler view: a title and lines, each with a style ("" plain,
    "removed", "changed")."""

    title: str
    lines: list[tuple[str, str]]


def diff_lines(step: PassStep) -> list[tuple[str, str]]:
    """The IR after the pass, with the nodes it removed ("- ...") and rewrote ("+ ...") marked."""
    after, changed, removed = step.after.by_id(), step.changed, step.removed
    lines: list[tuple[str, str]] = []
    for node in step.before.nodes:  # the old order, with the new nodes after what they replace
        if node.id in removed:
            lines.append(("removed", f"- {node}"))
        elif node.id in changed:
            lines.append(("changed", f"+ {after[node.id]}"))
        else:
            lines.append(("", f"  {after[node.id]}"))
    old = step.before.by_id()
    lines += [("changed", f"+ {n}") for n in step.after.nodes if n.id not in old]
    lines.append(("", "  return " + ", ".join(f"%{i}" for i in step.after.outputs)))
    return lines


def compiler_pages(steps: list[PassStep], backend: str = "simple", runs: int = 2) -> list[Page]:
    """Every pass (IR before/after), then each fused kernel's source, then the timed plan."""
    pages = []
    for number, step in enumerate(steps, 1):
        title = f"pass {number}/{len(steps)}: {step.line().split('  planned')[0].strip()}"
        summary = f"planned memory {step.planned_bytes} bytes; removed {len(step.removed)}, rewrote {len(step.changed)}"
        pages.append(Page(title, [("", summary), ("", "")] + diff_lines(step)))
    final = steps[-1].after if steps else Graph()
    for node, source in fused_sources(final, backend if backend in ("simple", "fast", "cuda") else "simple"):
        pages.append(Page(f"kernel of %{node.id} ({len(node.attrs['program'])} fused ops)", source_lines(source)))
    pages.append(Page("execution plan", plan_lines(time_plan(final, backend, runs))))
    return pages


def source_lines(source: str) -> list[tuple[str, str]]:
    return [("", line) for line in source.rstrip("\n").split("\n")]


def plan_lines(rows: list[PlanRow]) -> list[tuple[str, str]]:
    """The plan's steps with the time of the first run (JIT included) and a later one."""
    lines = [("", f"{'step':>4}  {'first run':>12}  {'steady':>12}  node")]
    for position, row in enumerate(rows):
        lines.append(("", f"{position:>4}  {_us(row.first_seconds):>12}  {_us(row.steady_seconds):>12}  {row.text}"))
    total = sum(r.steady_seconds for r in rows)
    lines.append(("", f"total steady {_us(total)} over {len(rows)} steps"))
    return lines


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"
