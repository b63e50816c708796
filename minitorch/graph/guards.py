"""Module 5 — what a trace depended on, as a cache key (TorchDynamo calls these *guards*).

A trace is only valid while what it read is unchanged. A compiled function looks its trace
up by a key made of:

- each argument: a tensor by its signature (shape, dtype, backend, requires_grad), since
  tensors are inputs; any other value by type and value (a numpy array by shape, dtype and
  a hash of its bytes), since the trace froze it;
- what the function captured: the closure cells and the globals its code names (a captured
  tensor by identity, since its numbers became constants or inputs of the trace);
- a module's state: every sub-module's `training` flag and plain attributes (`p` of a Dropout).

Values the trace froze into constants are also checked after lookup (`ConstGuard`), so an
in-place change (`copy_`) of a captured tensor retraces too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..module import Module
from ..tensor import Tensor
from .trace import digest


class Identity:
    """A key part equal only to the same object (it holds the object, so its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def tensor_key(t: Tensor) -> tuple[Any, ...]:
    """A tensor input's signature: traces are shared by tensors that agree on it.
    (The dtype itself, not its `name`: numpy computes the name on each read.)"""
    return ("T", t.shape, t.dtype, t.backend.name, t.requires_grad)


def value_key(value: Any, captured: bool = False) -> Any:
    """A hashable key equal for values the trace cannot tell apart.

    Numbers by type and value (floats by `hex`, so NaN matches itself); arrays by shape,
    dtype and bytes; containers element by element; modules by their state; a tensor by its
    signature, and also by identity when `captured` (not an input: its numbers are in the trace).
    """
    if isinstance(value, Tensor):
        return (tensor_key(value), Identity(value)) if captured else tensor_key(value)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(value_key(v, captured) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((value_key(k), value_key(v, captured)) for k, v in value.items()))
    if isinstance(value, np.ndarray):
        return ("ndarray", digest(value))
    if isinstance(value, Module):
        return module_state(value, params_by_identity=True)
    if isinstance(value, float):
        return ("float", value.hex())
    if value is None or isinstance(value, (bool, int, str, bytes, complex)):
        return (type(value).__name__, value)
    return ("object", Identity(value))


def module_state(module: Module, params_by_identity: bool = False) -> tuple[Any, ...]:
    """Every sub-module's type, `training` flag, plain attributes and parameter signatures.

    A compiled module's own parameters are inputs (only their signature matters); those of a
    module the function merely captured are read by identity (`params_by_identity`).
    """
    state: list[Any] = [Identity(module)]
    for name, m in module.named_modules():
        attrs = tuple(
            (k, value_key(v, captured=True)) for k, v in m.__dict__.items() if k not in ("_modules", "_parameters")
        )
        params = tuple(
            (k, value_key(p.value, captured=params_by_identity)) for k, p in m.__dict__["_parameters"].items()
        )
        state.append((name, type(m).__qualname__, m.training, attrs, params))
    return tuple(state)


class ModuleGuard:
    """`module_state(module)` as a small number, rebuilt only when it may have changed.

    Building the state walks every attribute of every sub-module: most of a small compiled
    step's time. Each call checks instead, in one walk of the tree, what can change without an
    attribute assignment: each module's `training` flag, its parameter objects and their
    signatures. Plain attributes change by assignment, which bumps `Module.state_version`;
    a module holding a mutable one (a list, an array, any object) rebuilds the state every call.
    """

    def __init__(self, module: Module) -> None:
        self.module = module
        self.seen: tuple[Any, ...] | None = None  # what `fingerprint` gave when `state` was built
        self.held: list[Tensor] = []  # the parameters in `seen` (kept alive: their ids stay theirs)
        self.states: dict[tuple[Any, ...], int] = {}  # every state met, numbered
        self.token = -1
        self.parameters: list[Tensor] = []  # named_parameters() order, as of `seen`

    def fingerprint(self) -> tuple[tuple[Any, ...], list[Tensor]]:
        """What can change without an assignment, in one walk; and the parameters walked."""
        flags, parameters, stack = [], [], [self.module]
        while stack:
            m = stack.pop()
            flags.append(m.training)
            parameters.extend(m.__dict__["_parameters"].values())
            stack.extend(m.__dict__["_modules"].values())
        signatures = tuple(tensor_key(p) for p in parameters)
        return (Module.state_version, tuple(flags), tuple(map(id, parameters)), signatures), parameters

    def key(self) -> int:
        """The number of the module's current state (equal numbers: equal `module_state`)."""
        seen, walked = self.fingerprint()
        if seen != self.seen:
            state = module_state(self.module)
            self.token = self.states.setdefault(state, len(self.states))
            self.parameters = [p for _, p in self.module.named_parameters()]
            modules = [m for _, m in self.module.named_modules()]
            reusable = all(frozen(v) for m in modules for v in plain_attributes(m))
            self.seen, self.held = (seen, walked) if reusable else (None, [])
        return self.token


def plain_attributes(m: Module) -> list[Any]:
    """A module's attributes besides its sub-modules and parameters (`training`, sizes, `p`)."""
    return [v for k, v in m.__dict__.items() if k not in ("_modules", "_parameters")]


def frozen(value: Any) -> bool:
    """Whether `value` can change only by being replaced (numbers, strings, tuples of them)."""
    if isinstance(value, tuple):
        return all(frozen(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, bytes, complex))


def captured_key(target: Callable[..., Any]) -> tuple[Any, ...]:
    """The key of what a function reads besides its arguments: closure cells, globals its code
    names, and the object of a bound method (a module: its state)."""
    if isinstance(target, Module):
        return module_state(target)
    parts: list[Any] = []
    owner = getattr(target, "__self__", None)
    if owner is not None:
        parts.append(value_key(owner, captured=True))
    function = getattr(target, "__func__", target)
    code = getattr(function, "__code__", None)
    if code is None:  # a callable object: nothing we can inspect
        return (Identity(target),)
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        try:
            parts.append((name, value_key(cell.cell_contents, captured=True)))
        except ValueError:  # a cell not assigned yet
            parts.append((name, "empty"))
    names = sorted(set(global_names(code)) & function.__globals__.keys())
    parts.extend((name, value_key(function.__globals__[name], captured=True)) for name in names)
    return tuple(parts)


def global_names(code: Any) -> list[str]:
    """Names a code object (and the functions, lambdas and comprehensions inside it) looks up."""
    names = list(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names.extend(global_names(const))
    return names


# ## Tensors inside arguments: every one is an input of the trace


def map_tensors(value: Any, fn: Callable[[Tensor], Any]) -> Any:
    """`value` with `fn` applied to every Tensor in it (through tuples, lists and dict values)."""
    if isinstance(value, Tensor):
        return fn(value)
    if type(value) in (tuple, list):
        return type(value)(map_tensors(v, fn) for v in value)
    if type(value) is dict:
        return {k: map_tensors(v, fn) for k, v in value.items()}
    return value


def tensors_in(value: Any) -> list[Tensor]:
    """Every Tensor in `value`, in the order `map_tensors` visits them."""
    found: list[Tensor] = []
    map_tensors(value, found.append)
    return found
