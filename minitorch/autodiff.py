"""Module 1 — the one backprop engine that Scalar and Tensor share.

A value that takes part in autodiff (a *variable*) carries a `History`: the `Function`
that made it, the `Context` with what that function saved for backward, and its inputs.
`backpropagate` orders the graph topologically and applies the chain rule once per node,
from the output back to the leaves:

    d(output)/d(parent) += d(output)/d(node) * d(node)/d(parent)

Reporting wraps the engine: while someone listens (the visual debugger does), each
`backward_step` runs inside `events.reporting`, which tells the listeners what it did.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, Self

from . import events

# ## Task 1.1 — central difference


def central_difference(f: Callable[..., float], *vals: float, arg: int = 0, epsilon: float = 1e-6) -> float:
    """Approximate the partial derivative of `f` with respect to argument `arg`:

    $$\\frac{\\partial f}{\\partial x_i} \\approx
      \\frac{f(\\ldots, x_i + \\epsilon, \\ldots) - f(\\ldots, x_i - \\epsilon, \\ldots)}{2\\epsilon}$$

    Only argument `arg` moves (by `epsilon`, default $10^{-6}$); the others are passed unchanged.
    Returns a float. An `arg` outside `range(len(vals))` raises IndexError naming it (e.g. "arg=2").
    """
    # BEGIN ASSIGN1_1
    if not 0 <= arg < len(vals):
        raise IndexError(f"central_difference: arg={arg} but f was given {len(vals)} values")
    plus = [float(v) for v in vals]
    minus = [float(v) for v in vals]
    plus[arg] += epsilon
    minus[arg] -= epsilon
    return (f(*plus) - f(*minus)) / (2.0 * epsilon)
    # END ASSIGN1_1


# ## Graph bookkeeping shared by Scalar and Tensor

_next_id = itertools.count(1)


def new_id() -> int:
    """A fresh id for a variable: ids name nodes in graphs and recordings."""
    return next(_next_id)


class GraphFreedError(RuntimeError):
    """Backward through a graph whose saved values were already released."""


class Context:
    """What a `Function.forward` stores for its `backward` (e.g. its inputs)."""

    __slots__ = ("no_grad", "_saved", "freed", "_versions")

    def __init__(self, no_grad: bool = False) -> None:
        self.no_grad = no_grad
        self._saved: tuple[Any, ...] = ()
        self.freed = False
        self._versions: tuple[int | None, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        """Store values for backward (skipped when no gradient will be needed), and the
        version of each saved tensor: an in-place write after this makes backward raise."""
        if not self.no_grad:
            self._saved = values
            versions = tuple(getattr(v, "_version", None) for v in values)
            self._versions = versions if any(v is not None for v in versions) else ()  # floats: none

    def check_versions(self, fn: type) -> None:
        """Raise if a saved tensor was modified in place since `fn` saved it (as PyTorch)."""
        for value, saved in zip(self._saved, self._versions):
            if saved is not None and value._version != saved:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: {fn.op_name()} saved a tensor of shape {tuple(value.shape)} at "  # type: ignore[attr-defined]
                    f"version {saved}, now at version {value._version}"
                )

    @property
    def saved_values(self) -> tuple[Any, ...]:
        self.check_not_freed()
        return self._saved

    def check_not_freed(self) -> None:
        """Raise GraphFreedError if backward already released this context's values."""
        if self.freed:
            raise GraphFreedError(
                "backward through a graph a second time: its saved values were freed after "
                "the first backward(); call backward(retain_graph=True) the first time"
            )

    def free(self) -> None:
        """Release the saved values (what backward(retain_graph=False) does after using them)."""
        self._saved = ()
        self.freed = True


class History:
    """How a variable was made. A leaf that requires grad has `History()` with no function."""

    __slots__ = ("last_fn", "ctx", "inputs")

    def __init__(self, last_fn: Any = None, ctx: Context | None = None, inputs: tuple[Any, ...] = ()) -> None:
        self.last_fn = last_fn  # the Function class that produced the value, None for a leaf
        self.ctx = ctx
        self.inputs = inputs

    def __repr__(self) -> str:
        name = self.last_fn.__name__ if self.last_fn is not None else None
        return f"History(last_fn={name}, inputs={len(self.inputs)})"


class Variable(Protocol):
    """What the engine needs from a value: Scalar and Tensor both provide it."""

    history: History | None
    unique_id: int  # names the node in graphs and recordings

    @property
    def is_leaf(self) -> bool: ...

    def is_constant(self) -> bool: ...

    def chain_rule(self, d_output: Any) -> list[tuple[Any, Any]]: ...  # see GraphValue.chain_rule

    def local_derivatives(self) -> list[Any] | None: ...

    def accumulate_derivative(self, d: Any) -> None: ...


class GraphValue:
    """What Scalar and Tensor share as graph nodes: a `history`, the questions about it,
    and the chain rule.

    No history: a constant. `History()` with no function: a leaf that collects `.grad`.
    Otherwise: made by `history.last_fn` from `history.inputs`.
    """

    __slots__ = ()
    history: History | None

    @property
    def requires_grad(self) -> bool:
        """True if gradients flow to this value; settable on leaves (`p.requires_grad = False`)."""
        return self.history is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> Self:
        """Make this value a leaf that collects `.grad` (or, for a leaf, stop)."""
        # `history` lives in the subclasses' storage (Scalar's slots, Tensor's __dict__).
        if flag and self.history is None:
            self.history = History()  # type: ignore[misc]
        elif not flag and self.history is not None:
            if not self.is_leaf:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables; use .detach() for a non-leaf"
                )
            self.history = None  # type: ignore[misc]
        return self

    @property
    def is_leaf(self) -> bool:
        """Not made by an op that records a graph (PyTorch's rule): a leaf that wants a
        gradient (`History()` with no function), or a constant."""
        return self.history is None or self.history.last_fn is None

    def is_constant(self) -> bool:
        """A value no gradient flows to."""
        return self.history is None

    @property
    def parents(self) -> tuple[Any, ...]:
        """The inputs of the op that made this value (none for leaves and constants)."""
        return self.history.inputs if self.history is not None else ()

    def chain_rule(self, d_output: Any) -> list[tuple[Any, Any]]:
        """The gradient this node sends to each non-constant input: the op's backward.

        With $d$ = d(result)/d(self) = `d_output`, input $x_i$ receives
        $d \\cdot \\partial\\,\\text{self} / \\partial x_i$, which is what `backward(ctx, d)` returns
        for it. Constants receive nothing, nor does an input whose gradient is None.

        Returns a list of `(input, gradient)` pairs in the inputs' order. `backward` may return
        one gradient or a tuple of them; a count that differs from the number of inputs raises
        RuntimeError.
        """
        history = self.history
        assert history is not None and history.ctx is not None, "chain_rule needs an op's history"
        history.ctx.check_not_freed()  # a freed graph cannot be differentiated again
        history.ctx.check_versions(history.last_fn)  # nor one changed in place
        # BEGIN ASSIGN1_3
        grads = history.last_fn.backward(history.ctx, d_output)
        grads = grads if isinstance(grads, tuple) else (grads,)  # one gradient or a tuple of them
        if len(grads) != len(history.inputs):
            raise RuntimeError(
                f"{history.last_fn.op_name()}.backward returned {len(grads)} gradients for {len(history.inputs)} inputs"
            )
        return [(x, g) for x, g in zip(history.inputs, grads) if not x.is_constant() and g is not None]
        # END ASSIGN1_3


def parents(variable: Variable) -> tuple[Variable, ...]:
    """The inputs of the function that produced `variable` (none for a leaf)."""
    history = variable.history
    return history.inputs if history is not None else ()


# ## Gradient mode: `with no_grad():` builds no graph


class _GradMode(threading.local):
    """Per thread (as PyTorch): `no_grad()` in one thread leaves the others recording."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()` (in this thread)."""
    return _grad_mode.enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording history (evaluation, optimizer updates), in this thread."""
    previous, _grad_mode.enabled = _grad_mode.enabled, False
    try:
        yield
    finally:
        _grad_mode.enabled = previous


# ## Task 1.4 — topological sort and backpropagation


def topological_sort(variable: Variable) -> list[Variable]:
    """Every non-constant variable that `variable` depends on, output first.

    Each node comes before all of its parents, so walking the list in order sees a node's
    gradient complete before passing it on. Iterative depth-first search, so graphs far
    deeper than Python's recursion limit still sort (the tests chain 5000 ops).

    Each variable appears exactly once (compare `unique_id`, not values); constants
    (`is_constant()`) are left out; `variable` itself is first.
    """
    # BEGIN ASSIGN1_4
    order: list[Variable] = []
    visited: set[int] = set()
    stack: list[tuple[Variable, bool]] = [(variable, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node.unique_id in visited or node.is_constant():
            continue
        visited.add(node.unique_id)
        stack.append((node, True))
        for parent in parents(node):
            if parent.unique_id not in visited and not parent.is_constant():
                stack.append((parent, False))
    order.reverse()  # post-order lists parents first; reversed, the output comes first
    return order
    # END ASSIGN1_4


def backpropagate(variable: Variable, d_output: Any, retain_graph: bool = False) -> None:
    """Send `d_output` = d(result)/d(variable) back through the graph to every leaf.

    Leaves accumulate their gradient (`.grad +=`). Unless `retain_graph`, each node's saved
    values are freed once used, so a second backward through the same graph raises
    `GraphFreedError` instead of computing with stale or missing values. While someone
    listens, `events.reporting` wraps each step so that it is reported too.

    Each node is processed once, after every path's contribution to its gradient has been
    summed (a value used twice, `x * x + x`, gets $2x + 1$); a leaf's `.grad` keeps what earlier
    backward calls left there and adds to it. Nodes with no gradient (None) are skipped.
    """
    step = events.reporting(backward_step) if events.LISTENERS else backward_step
    with no_grad(), events.backward_pass():  # gradients are plain values: no graph of their own
        # BEGIN ASSIGN1_4
        derivatives: dict[int, Any] = {variable.unique_id: d_output}
        for node in topological_sort(variable):
            d_node = derivatives.pop(node.unique_id, None)
            if d_node is None:  # no gradient reached it (an op sent None to this input)
                continue
            for parent, d_parent in step(node, d_node):  # sum over paths
                pid = parent.unique_id
                derivatives[pid] = derivatives[pid] + d_parent if pid in derivatives else d_parent
            if not retain_graph and not node.is_leaf:
                assert node.history is not None and node.history.ctx is not None  # an op's node
                node.history.ctx.free()
        # END ASSIGN1_4


def backward_step(node: Variable, d_node: Any) -> list[tuple[Variable, Any]]:
    """One node's share of backward, given `d_node` = d(result)/d(node).

    A leaf accumulates it (`.grad += d_node`) and sends nothing on; any other node applies
    its chain rule and returns what it sends to each parent.
    """
    # BEGIN ASSIGN1_4
    if node.is_leaf:
        node.accumulate_derivative(d_node)
        return []
    return node.chain_rule(d_node)
    # END ASSIGN1_4


def report_graph(value: Any) -> None:
    """Report the graph behind a live `value` as forward events, inputs first.

    For a graph built while nobody listened (the visualizer looks at one this way): one
    `ForwardEvent` per op that `value` depends on, in the order of
    `topological_sort` reversed, with the leaves' current `.grad` and what each
    op saved for backward ("freed" after a backward without `retain_graph`).
    """
    for node in reversed(topological_sort(value)):
        history = node.history
        assert history is not None  # topological_sort skips constants
        if history.last_fn is None:  # a leaf: its users' events name it
            continue
        backend = getattr(getattr(node, "backend", None), "name", None)
        inputs = [events.node_ref(x, with_grad=True) for x in history.inputs]
        events.emit(
            events.ForwardEvent(
                history.last_fn.op_name(), inputs, events.node_ref(node), backend, [], events.saved_for_backward(node)
            )
        )
