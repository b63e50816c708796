"""Module 5: a compiled function owns its graphs, plans and captured constants, and frees them.

Every cache of compiled code lives in the compiled object: once the caller drops it (and the
tensors it returned), garbage collection frees the traced graphs, the plans, the symbolic
backend used for tracing and every constant tensor the traced code captured.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import minitorch
from minitorch import nn
from minitorch.module import Module
from minitorch.tensor import Tensor


class Scaled(Module):
    """A module whose forward captures a constant tensor (an attribute, not a parameter)."""

    def __init__(self, constant: Tensor, seen: list[weakref.ref]) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2, seed=0)
        self.constant = constant
        self.seen = seen

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(weakref.ref(x.backend))  # while tracing: the symbolic backend
        self.seen.append(weakref.ref(x._tensor.graph))  # ... and the joint graph it records
        return (self.linear(x) * self.constant).sigmoid().sum()


Made = tuple[Any, Callable, list[Tensor], Tensor]  # (compiled, what it traces, inputs, captured constant)


def compile_function(seen: list[weakref.ref]) -> Made:
    """A compiled function of (x, w) reading `constant` from its closure."""
    constant = minitorch.tensor([[1.0, 2.0, 3.0]])

    def fn(x: Tensor, w: Tensor) -> Tensor:
        seen.append(weakref.ref(x.backend))
        seen.append(weakref.ref(x._tensor.graph))
        return (x * w + constant).sigmoid().sum()

    x = minitorch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    w = minitorch.tensor([[1.5, 0.5, -0.5]], requires_grad=True)
    return minitorch.compile(fn), fn, [x, w], constant


def compile_module(seen: list[weakref.ref]) -> Made:
    """A compiled Module (parameters traced as `param` nodes) capturing `constant`."""
    constant = minitorch.tensor([[2.0, -1.0]])
    module = Scaled(constant, seen)
    x = minitorch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -2.0]], requires_grad=True)
    return minitorch.compile(module), module, [x], constant


def alive_after_drop(make: Callable[[list[weakref.ref]], Made]) -> list[str]:
    """Compile, run forward and backward, drop everything compiled: what is still alive."""
    seen: list[weakref.ref] = []
    compiled, target, inputs, constant = make(seen)
    out = compiled(*inputs)
    out.backward()
    assert all(t.grad is not None for t in inputs)  # the backward plan ran
    entry = compiled.entry(*inputs)
    assert compiled.compile_count == 1 and len(seen) == 2  # traced once: the symbolic backend and graph
    refs = {
        "compiled function": weakref.ref(compiled),
        "traced target": weakref.ref(target),
        "cache entry": weakref.ref(entry),
        "forward graph": weakref.ref(entry.forward),
        "backward graph": weakref.ref(entry.backward),
        "forward plan": weakref.ref(entry.forward_plan),
        "backward plan": weakref.ref(entry.backward_plan),
        "symbolic backend": seen[0],
        "joint graph": seen[1],
        "captured constant": weakref.ref(constant),
        "captured constant's data": weakref.ref(constant._tensor),
    }
    del compiled, target, out, entry, constant
    for t in inputs:
        t.grad = None
    gc.collect()
    return [name for name, ref in refs.items() if ref() is not None]


def test_compiled_function_is_freed() -> None:
    alive = alive_after_drop(compile_function)
    assert alive == [], f"still alive after the compiled function was dropped: {alive}"


def test_compiled_module_is_freed() -> None:
    alive = alive_after_drop(compile_module)
    assert alive == [], f"still alive after the compiled module was dropped: {alive}"
