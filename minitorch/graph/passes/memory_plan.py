"""Memory planning: give every intermediate value a buffer, reusing the buffers of dead values.

An analysis, not a rewrite: the program stays the same, each node is annotated with the
buffer its value would live in (`buffer=2`), and the graph carries the whole `MemoryPlan`
(as `graph.memory`). The rules:

- Steps are the nodes in order. A value is alive from the step that defines it to the last
  step that reads it; an output stays alive to the end (the caller reads it afterwards). A
  value nobody reads is alive during its own step only.
- Inputs, params and consts are not planned: the caller (or the compiled plan) owns them.
- A view (permute, view) aliases its input's storage: it gets no buffer of its own, and
  its input stays alive as long as the view is read. (The executor's `view` of a
  non-contiguous value makes a contiguous copy first; the plan does not count that copy.)
- At each step, a value needing `n` bytes takes the smallest free buffer of at least `n`
  bytes (best fit; the space left over is wasted while it lives there) or, if none is free,
  a new buffer of exactly `n` bytes. A buffer is free once the value in it is dead: its
  last read was at an EARLIER step (a kernel may not write over an input it is reading).

`peak_bytes` is what the plan allocates (the sum of its buffers); `naive_bytes` is one
buffer per value, no reuse; `max_live_bytes` is the most bytes alive at one step, a lower
bound no plan can beat. So max_live_bytes <= peak_bytes <= naive_bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..ir import LAYOUT, SOURCES, Graph, Node


@dataclass
class MemoryPlan:
    """Where each value lives. Steps are positions in `graph.nodes`."""

    buffer_of: dict[int, int] = field(default_factory=dict)  # planned value id -> buffer id
    buffer_bytes: list[int] = field(default_factory=list)  # size of buffer k, in bytes
    lifetime: dict[int, tuple[int, int]] = field(default_factory=dict)  # value -> (first, last step)
    storage_of: dict[int, int] = field(default_factory=dict)  # any value -> the value owning its storage
    naive_bytes: int = 0
    max_live_bytes: int = 0

    @property
    def peak_bytes(self) -> int:
        return sum(self.buffer_bytes)

    def buffer_for(self, value: int) -> int | None:
        """The buffer holding `value` (a view: its input's), None if the plan does not own it."""
        return self.buffer_of.get(self.storage_of.get(value, value))

    def __str__(self) -> str:
        return (
            f"MemoryPlan({len(self.buffer_of)} values in {len(self.buffer_bytes)} buffers: "
            f"{self.peak_bytes} bytes, {self.naive_bytes} without reuse, "
            f"{self.max_live_bytes} alive at most)"
        )


def nbytes(node: Node) -> int:
    return math.prod(node.shape) * np.dtype(node.dtype).itemsize


def lifetimes(graph: Graph) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """(storage owner of every value, (first, last) step of every storage owner)."""
    storage_of: dict[int, int] = {}
    for node in graph.nodes:
        storage_of[node.id] = storage_of[node.inputs[0]] if node.op in LAYOUT else node.id
    span = {node.id: (k, k) for k, node in enumerate(graph.nodes) if node.op not in LAYOUT}
    end = len(graph.nodes)
    reads = [(k, i) for k, node in enumerate(graph.nodes) for i in node.inputs]
    reads += [(end, i) for i in graph.outputs]
    for k, value in reads:
        owner = storage_of[value]
        span[owner] = (span[owner][0], max(span[owner][1], k))
    return storage_of, span


def plan_memory(graph: Graph) -> MemoryPlan:
    """Assign buffers to the graph's computed values (module docstring for the rules).

    Exact choices the tests check: buffers are numbered 0, 1, ... in the order they are
    created; best fit breaks a tie between equal sizes by the lowest buffer number; a value
    whose last read is at step k frees its buffer for step k + 1 on.
    """
    storage_of, span = lifetimes(graph)
    planned = [n for n in graph.nodes if n.op not in SOURCES and n.op not in LAYOUT]
    plan = MemoryPlan(storage_of=storage_of, lifetime={n.id: span[n.id] for n in planned})
    plan.naive_bytes = sum(nbytes(n) for n in planned)
    size = {n.id: nbytes(n) for n in planned}
    defined_at = {span[n.id][0]: n.id for n in planned}
    dying_at: dict[int, list[int]] = {}  # step -> values read for the last time there
    for n in planned:
        dying_at.setdefault(span[n.id][1], []).append(n.id)
    free: list[int] = []  # buffers whose value is dead
    # BEGIN ASSIGN5_2
    for step in range(len(graph.nodes)):
        value = defined_at.get(step)
        if value is not None:
            fitting = [b for b in free if plan.buffer_bytes[b] >= size[value]]
            if fitting:
                buffer = min(fitting, key=lambda b: (plan.buffer_bytes[b], b))  # best fit
                free.remove(buffer)
            else:
                buffer = len(plan.buffer_bytes)
                plan.buffer_bytes.append(size[value])
            plan.buffer_of[value] = buffer
        free += [plan.buffer_of[v] for v in dying_at.get(step, [])]  # free from the next step on
    # END ASSIGN5_2
    alive = [sum(size[v] for v in size if span[v][0] <= step <= span[v][1]) for step in range(len(graph.nodes) + 1)]
    plan.max_live_bytes = max(alive, default=0)
    return plan


def one_buffer_each(graph: Graph) -> MemoryPlan:
    """The plan without reuse: every computed value gets a buffer of its own (what runs when
    the memory-planning pass is off)."""
    storage_of, span = lifetimes(graph)
    planned = [n for n in graph.nodes if n.op not in SOURCES and n.op not in LAYOUT]
    plan = MemoryPlan(storage_of=storage_of, lifetime={n.id: span[n.id] for n in planned})
    plan.buffer_of = {n.id: k for k, n in enumerate(planned)}
    plan.buffer_bytes = [nbytes(n) for n in planned]
    plan.naive_bytes = plan.max_live_bytes = sum(plan.buffer_bytes)
    return plan


def memory_planning(graph: Graph) -> Graph:
    """The pipeline's pass: a copy of `graph` whose nodes carry attrs["buffer"] and whose
    `memory` attribute is the MemoryPlan."""
    result = graph.copy()
    plan = plan_memory(result)
    for node in result.nodes:
        node.attrs.pop("buffer", None)  # planned again from scratch
        buffer = plan.buffer_for(node.id)
        if buffer is not None:
            node.attrs["buffer"] = buffer
    result.memory = plan  # type: ignore[attr-defined]  # an annotation Graph.copy() does not keep
    return result
