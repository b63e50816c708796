"""The op table: every elementwise primitive and every reduction, written down once.

A primitive is a scalar function from `operators` applied to every element: `map` for one
input, `zip` for two. Each entry of the table says what the op is and how every layer of the
stack names it, so no layer keeps a list of its own:

| layer | what it takes from an entry |
| --- | --- |
| backends (`backend.map(name, a)`) | `fn`, specialised into the library's map or zip kernel |
| `fast` / `cuda` kernel switch | `code`: the op's number inside the one compiled kernel |
| IR and tracer | `name` is the IR op; `arity` its number of inputs |
| executor, codegen | `name` (and `fn`, compiled by the target) |
| ONNX export | `onnx`: an ONNX op type, or a function that writes the nodes |
| tensors | `back` / `partials`: the primitives computing its derivative |

Adding an elementwise primitive is one scalar function (and its derivative) in `operators`
plus one `register` call; tests/test_op_table.py adds one that way and runs it everywhere.
See ARCHITECTURE.md for where the table sits in the stack.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import operators

# Writes the ONNX node(s) for one op: (builder, input names, output name, dtype) -> None.
# The builder is graph/onnx.py's OnnxBuilder: `b.node(op_type, inputs, output)`, `b.constant(array)`.
OnnxRecipe = Callable[[Any, list[str], str, np.dtype], None]


@dataclass(frozen=True)
class Primitive:
    """One elementwise op: `name(x)` or `name(x, y)` computed by `fn` on each element."""

    name: str
    fn: Callable[..., float]
    arity: int
    onnx: str | OnnxRecipe
    code: int = -1  # position among the primitives of the same arity: the kernels' op code
    # The derivative, as other primitives: `back(x, d) = d f'(x)` for one input; for two,
    # `partials` name the primitives computing df/dx and df/dy at (x, y).
    back: str | None = None
    partials: tuple[str, str] | None = None

    @property
    def differentiable(self) -> bool:
        return self.back is not None or self.partials is not None

    def emit_onnx(self, builder: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
        """Append the ONNX node(s) computing this op to `builder` (see graph/onnx.py)."""
        if isinstance(self.onnx, str):
            builder.node(self.onnx, inputs, output)
        else:
            self.onnx(builder, inputs, output, dtype)


@dataclass(frozen=True)
class Reduction:
    """A fold along one dim with a two-input primitive: `out = f(...f(f(start, a[0]), a[1])..., a[n-1])`."""

    name: str
    combine: str  # the primitive folded in, e.g. "add" for sum
    start: float
    onnx: str  # ReduceSum / ReduceMax / ReduceProd
    onnx_axes_input_opset: int  # from this opset on, ONNX takes `axes` as an input, not an attribute

    @property
    def fn(self) -> Callable[[float, float], float]:
        return PRIMITIVES[self.combine].fn


PRIMITIVES: dict[str, Primitive] = {}
REDUCTIONS: dict[str, Reduction] = {}
# Backends that compiled a kernel switch from the table: after that it is closed (see `register`).
_compiled_by: set[str] = set()


class OpTableError(ValueError):
    """A bad entry, or an entry added after a compiled backend read the table."""


def register(
    name: str,
    fn: Callable[..., float],
    onnx: str | OnnxRecipe,
    back: Callable[[float, float], float] | None = None,
    onnx_back: str | OnnxRecipe | None = None,
    partials: tuple[str, str] | None = None,
) -> Primitive:
    """Add the primitive `name` computed by `fn` (its arity is fn's number of parameters).

    `back(x, d)` is the derivative of a one-input primitive times the incoming gradient `d`,
    as a scalar function; it is registered too, as the primitive `<name>_back` (exported to
    ONNX by `onnx_back`). A two-input primitive names in `partials` the registered primitives
    computing its partial derivatives. Must run before the `fast` or `cuda` backend loads:
    their kernels compile the table.
    """
    if _compiled_by:
        raise OpTableError(
            f"register({name!r}): the {', '.join(sorted(_compiled_by))} backend already compiled the op "
            "table; register primitives before the fast or cuda backend first loads"
        )
    if name in PRIMITIVES or name in REDUCTIONS or not name.isidentifier():
        raise OpTableError(f"register({name!r}): the name is taken or is not an identifier")
    arity = fn.__code__.co_argcount
    if arity not in (1, 2):
        raise OpTableError(f"register({name!r}): a primitive takes 1 or 2 inputs, {fn.__name__} takes {arity}")
    if back is not None:
        if arity != 1 or onnx_back is None:
            raise OpTableError(f"register({name!r}): `back` is for one-input primitives, with `onnx_back`")
        register(f"{name}_back", back, onnx_back)
    if partials is not None and (arity != 2 or any(p not in PRIMITIVES for p in partials)):
        raise OpTableError(f"register({name!r}): `partials` names two registered primitives of a two-input op")
    code = sum(p.arity == arity for p in PRIMITIVES.values())
    back_name = f"{name}_back" if back is not None else None
    PRIMITIVES[name] = Primitive(name, fn, arity, onnx, code, back_name, partials)
    return PRIMITIVES[name]


def back_of(name: str) -> str:
    """The name of the derivative primitive registered with the one-input primitive `name`."""
    back = primitive(name).back
    if back is None:
        raise OpTableError(f"primitive {name!r} was registered without a derivative (`back=`)")
    return back


def primitive(name: str) -> Primitive:
    """The table entry of `name`, or a clear error listing what exists."""
    if name not in PRIMITIVES:
        raise OpTableError(f"no elementwise primitive {name!r}; the op table has {', '.join(PRIMITIVES)}")
    return PRIMITIVES[name]


def with_arity(arity: int) -> list[Primitive]:
    """The primitives taking `arity` inputs, in op-code order."""
    return sorted((p for p in PRIMITIVES.values() if p.arity == arity), key=lambda p: p.code)


def code_of(fn: Callable[..., float], arity: int, backend: str) -> int:
    """The op code of the table's primitive computed by `fn`, for a compiled backend's switch."""
    for p in with_arity(arity):
        if p.fn is fn:
            return p.code
    names = ", ".join(p.name for p in with_arity(arity))
    raise OpTableError(
        f"{backend} backend: no compiled kernel for {getattr(fn, '__name__', fn)!r}; it compiles the op "
        f"table's primitives ({names}): register a new one in minitorch/ops.py"
    )


def mark_compiled(backend: str) -> None:
    """Called by a backend that compiled its kernel switch: the table is closed from now on."""
    _compiled_by.add(backend)


class LiveNames(AbstractSet[str]):
    """A set of op names read from the table each time, so later entries are seen."""

    def __init__(self, names: Callable[[], set[str]]) -> None:
        self._names = names

    @classmethod
    def _from_iterable(cls, names: Any) -> Any:  # what `|` and `&` return: a frozenset snapshot
        return frozenset(names)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return "{" + ", ".join(self) + "}"


UNARY = LiveNames(lambda: {p.name for p in PRIMITIVES.values() if p.arity == 1})
BINARY = LiveNames(lambda: {p.name for p in PRIMITIVES.values() if p.arity == 2})
ELEMENTWISE = LiveNames(lambda: set(PRIMITIVES))


# ## ONNX recipes for ops that are not one ONNX node


def onnx_compare(op_type: str) -> OnnxRecipe:
    """A comparison: ONNX gives booleans, minitorch 1.0 / 0.0, so Cast the result."""

    def recipe(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
        b.node("Cast", [b.node(op_type, inputs)], output, to=_onnx_type(dtype))

    return recipe


def _onnx_type(dtype: np.dtype) -> int:
    from onnx import helper  # ONNX is an optional extra: imported only when exporting

    return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


def _const(b: Any, value: float, dtype: np.dtype, output: str, what: str) -> str:
    return b.constant(np.array(value, dtype=dtype), f"{output}_{what}")


def onnx_is_close(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """|x - y| < 0.01, as operators.is_close."""
    gap = b.node("Abs", [b.node("Sub", inputs)])
    close = b.node("Less", [gap, _const(b, 1e-2, dtype, output, "tolerance")])
    b.node("Cast", [close], output, to=_onnx_type(dtype))


def onnx_relu_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d where x > 0, else 0 (Where, not d * (x > 0): inf * 0 would be nan)."""
    x, d = inputs
    zero = _const(b, 0.0, dtype, output, "zero")
    b.node("Where", [b.node("Greater", [x, zero]), d, zero], output)


def onnx_log_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d / x."""
    x, d = inputs
    b.node("Div", [d, x], output)


def onnx_inv_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """-(d / x^2)."""
    x, d = inputs
    b.node("Neg", [b.node("Div", [d, b.node("Mul", [x, x])])], output)


def onnx_tanh_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d * (1 - tanh(x)^2)."""
    x, d = inputs
    t = b.node("Tanh", [x])
    b.node("Mul", [d, b.node("Sub", [_const(b, 1.0, dtype, output, "one"), b.node("Mul", [t, t])])], output)


def onnx_sqrt_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d / (2 sqrt(x))."""
    x, d = inputs
    b.node("Div", [d, b.node("Mul", [_const(b, 2.0, dtype, output, "two"), b.node("Sqrt", [x])])], output)


def onnx_abs_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d * sign(x)."""
    x, d = inputs
    b.node("Mul", [d, b.node("Sign", [x])], output)


def onnx_sin_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """d * cos(x)."""
    x, d = inputs
    b.node("Mul", [d, b.node("Cos", [x])], output)


def onnx_cos_back(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """-(d * sin(x))."""
    x, d = inputs
    b.node("Neg", [b.node("Mul", [d, b.node("Sin", [x])])], output)


def onnx_pow_base_grad(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """0 where y = 0, else y * x^(y - 1)."""
    x, y = inputs
    zero = _const(b, 0.0, dtype, output, "zero")
    power = b.node("Pow", [x, b.node("Sub", [y, _const(b, 1.0, dtype, output, "one")])])
    b.node("Where", [b.node("Equal", [y, zero]), zero, b.node("Mul", [y, power])], output)


def onnx_pow_exponent_grad(b: Any, inputs: list[str], output: str, dtype: np.dtype) -> None:
    """0 where x = 0 and y >= 0, else x^y ln(x)."""
    x, y = inputs
    zero = _const(b, 0.0, dtype, output, "zero")
    at_zero = b.node("And", [b.node("Equal", [x, zero]), b.node("Not", [b.node("Less", [y, zero])])])
    b.node("Where", [at_zero, zero, b.node("Mul", [b.node("Pow", [x, y]), b.node("Log", [x])])], output)


# ## The table
# Order fixes the kernels' op codes: `add` is binary op 0 (the fast sum's vectorised path).

register("add", operators.add, "Add")
register("mul", operators.mul, "Mul")
register("lt", operators.lt, onnx_compare("Less"))
register("eq", operators.eq, onnx_compare("Equal"))
register("maximum", operators.max, "Max")
register("is_close", operators.is_close, onnx_is_close)
register("neg", operators.neg, "Neg")
register("id", operators.id, "Identity")
register("sigmoid", operators.sigmoid, "Sigmoid")
register("relu", operators.relu, "Relu", back=operators.relu_back, onnx_back=onnx_relu_back)
register("log", operators.log, "Log", back=operators.log_back, onnx_back=onnx_log_back)
register("exp", operators.exp, "Exp")
register("inv", operators.inv, "Reciprocal", back=operators.inv_back, onnx_back=onnx_inv_back)
register("tanh", operators.tanh, "Tanh", back=operators.tanh_back, onnx_back=onnx_tanh_back)
register("sqrt", operators.sqrt, "Sqrt", back=operators.sqrt_back, onnx_back=onnx_sqrt_back)
register("abs", operators.absolute, "Abs", back=operators.absolute_back, onnx_back=onnx_abs_back)
register("sin", operators.sin, "Sin", back=operators.sin_back, onnx_back=onnx_sin_back)
register("cos", operators.cos, "Cos", back=operators.cos_back, onnx_back=onnx_cos_back)
register("pow_base_grad", operators.pow_base_grad, onnx_pow_base_grad)
register("pow_exponent_grad", operators.pow_exponent_grad, onnx_pow_exponent_grad)
register("pow", operators.pow, "Pow", partials=("pow_base_grad", "pow_exponent_grad"))

REDUCTIONS["sum"] = Reduction("sum", "add", 0.0, "ReduceSum", onnx_axes_input_opset=13)
REDUCTIONS["max"] = Reduction("max", "maximum", -math.inf, "ReduceMax", onnx_axes_input_opset=18)
REDUCTIONS["prod"] = Reduction("prod", "mul", 1.0, "ReduceProd", onnx_axes_input_opset=18)
