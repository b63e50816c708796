"""Module 0 — `Module` and `Parameter`: a tree of named, trainable parts (as torch.nn.Module)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from . import events
from .serialization import IncompatibleKeys, load_state_dict, state_dict
from .tensor import Tensor


class ScalarParameter:
    """A Scalar a model learns, held so optimizers can replace it (Scalars are immutable:
    an update makes a new value and calls `update`). `Parameter(scalar)` makes one."""

    def __init__(self, value: Any, name: str | None = None) -> None:
        self.value = value
        self.name = name
        self._mark_trainable()

    def _mark_trainable(self) -> None:
        if getattr(self.value, "history", None) is not None and not self.value.is_leaf:
            self.value = self.value.detach()  # a computed value becomes a fresh leaf to train
        if hasattr(self.value, "requires_grad_"):
            self.value.requires_grad_(True)
        if self.name and hasattr(self.value, "name"):
            self.value.name = self.name

    def update(self, value: Any) -> None:
        """Replace the held value (keeps it a trainable leaf)."""
        self.value = value
        self._mark_trainable()

    @property
    def grad(self) -> Any:
        """The gradient of the held value."""
        return self.value.grad

    def __repr__(self) -> str:
        return f"Parameter({self.value!r})"


class _ParameterType(type):
    """`isinstance(p, Parameter)` holds for tensor and scalar parameters alike."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return super().__instancecheck__(obj) or (cls is Parameter and isinstance(obj, ScalarParameter))


class Parameter(Tensor, metaclass=_ParameterType):
    """A Tensor a model learns (as torch.nn.Parameter): a leaf that requires grad, sharing
    the given tensor's storage. It is a Tensor (shape, indexing, arithmetic, `.grad`), and
    `p.requires_grad = False` freezes it. `Parameter(scalar)` gives a `ScalarParameter`."""

    def __new__(cls, value: Any, name: str | None = None, requires_grad: bool = True) -> Any:
        if not isinstance(value, Tensor):
            return ScalarParameter(value, name)
        return super().__new__(cls)

    def __init__(self, value: Tensor, name: str | None = None, requires_grad: bool = True) -> None:
        super().__init__(value._tensor, backend=value.backend, name=name or value.name)
        self._version_counter = value._version_counter  # same storage, same version
        self.requires_grad_(requires_grad)

    @property
    def value(self) -> Parameter:
        """The parameter itself (older code held the tensor in `.value`)."""
        return self

    def _mark_trainable(self) -> None:
        """Nothing to do: a Parameter is its own leaf (kept for Module's naming hook)."""

    def update(self, value: Tensor | Any) -> None:
        """Write `value` into this parameter's storage."""
        self.copy_(value)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of models: sub-modules and parameters assigned as attributes are registered.

    `parameters()`, `named_parameters()`, `train()` and `eval()` walk the whole tree.
    """

    _modules: dict[str, Module]
    _parameters: dict[str, Parameter]
    training: bool
    # Bumped by every attribute assignment on any module: a compiled module rebuilds its cache
    # key only after one (graph/guards.py).
    state_version = 0

    def __init__(self) -> None:
        # object.__setattr__ avoids our own __setattr__ hook before the dicts exist.
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_modules" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning '{name}'")
        Module.state_version += 1
        if isinstance(value, Parameter):
            self._parameters[name] = value
            if value.name is None:
                value.name = name
                value._mark_trainable()  # a held scalar takes the name too (shown in graphs)
        elif isinstance(value, Module):
            self._modules[name] = value
            object.__setattr__(value, "_scope_label", f"{name}:{type(value).__name__}")
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: look in the registries.
        registries = self.__dict__
        if name in registries.get("_parameters", {}):
            return registries["_parameters"][name]
        if name in registries.get("_modules", {}):
            return registries["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def add_parameter(self, name: str, value: Any) -> Parameter | ScalarParameter:
        """Register `value` as a parameter called `name` and return it."""
        parameter = Parameter(value, name)
        self._parameters[name] = parameter
        return parameter

    def modules(self) -> list[Module]:
        """The direct children of this module, as a list in the order they were assigned (not grandchildren)."""
        # BEGIN ASSIGN0_3
        return list(self._modules.values())
        # END ASSIGN0_3

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, with dotted names ("" for the root)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def train(self) -> Module:
        """Set training mode (`training = True`) on this module and every descendant; return `self`."""
        # BEGIN ASSIGN0_3
        for _, module in self.named_modules():
            object.__setattr__(module, "training", True)
        return self
        # END ASSIGN0_3

    def eval(self) -> Module:
        """Set evaluation mode (`training = False`) on this module and every descendant; return `self`."""
        # BEGIN ASSIGN0_3
        for _, module in self.named_modules():
            object.__setattr__(module, "training", False)
        return self
        # END ASSIGN0_3

    def named_parameters(self) -> Sequence[tuple[str, Parameter]]:
        """Every parameter of the tree with its dotted path, e.g. `("layer1.weight", p)`.

        The root's own parameters have no prefix (`"w"`, not `".w"`); a parameter reachable twice
        (a shared module) is listed once, under its first name. Returns a list.
        """
        # BEGIN ASSIGN0_3
        named: list[tuple[str, Parameter]] = []
        seen: set[int] = set()  # a module or parameter used twice is listed once (as PyTorch)
        for prefix, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    named.append((f"{prefix}.{name}" if prefix else name, parameter))
        return named
        # END ASSIGN0_3

    def parameters(self) -> Sequence[Parameter]:
        """Every parameter of the tree (in `named_parameters` order)."""
        # BEGIN ASSIGN0_3
        return [parameter for _, parameter in self.named_parameters()]
        # END ASSIGN0_3

    def zero_grad(self) -> None:
        """Clear the gradient of every parameter."""
        for parameter in self.parameters():
            if hasattr(parameter.value, "zero_grad_"):
                parameter.value.zero_grad_()
            else:
                parameter.value.grad = None

    def to(self, device: Any = None, dtype: Any = None) -> Module:
        """Move every tensor parameter to a backend and/or dtype, in place (the Parameters stay).

        Devices are backends: "cpu" is `fast`, "cuda" is `cuda`; `to("float32")` changes the dtype.
        """
        from .tensor import Tensor, tensor  # here: Module is also the Scalar world's base class

        if isinstance(device, str) and device.startswith("float"):
            device, dtype = None, device
        backend = "fast" if device == "cpu" else device
        for parameter in self.parameters():
            value = parameter.value
            if isinstance(value, Tensor):
                new = tensor(value.numpy(), backend=backend or value.backend, dtype=dtype or value.dtype)
                value._tensor, value.backend, value.grad = new._tensor, new.backend, None  # same object, new storage
        return self

    def float(self) -> Module:
        """Every parameter as float32."""
        return self.to(dtype="float32")

    def double(self) -> Module:
        """Every parameter as float64."""
        return self.to(dtype="float64")

    def state_dict(self) -> dict[str, Any]:
        """Every parameter's values by dotted name, as numpy copies (see `serialization`)."""
        return state_dict(self)

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy a `state_dict()` back into the parameters; checks all before changing any."""
        return load_state_dict(self, state, strict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not events.LISTENERS:
            return self.forward(*args, **kwargs)
        label = self.__dict__.get("_scope_label", type(self).__name__)
        with events.module_scope(label):  # recordings learn which module ran each op
            return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward() (abstract)")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        lines.append(")")
        return "\n".join(lines) if self._modules else f"{type(self).__name__}()"
