"""Module 5 — whole-plan code generation: ONE Python function runs a whole graph.

A `Plan` interprets: for each node it looks its kernel up, gathers the inputs from a dict, and
the backend op allocates an output, builds a TensorData and checks shapes again. Once a graph
is compiled all of that is known — every shape and stride, which inputs of a fused kernel are
scalars, which buffer of the memory plan each value lives in — so this module writes it down
once as the source of one function (a "wrapper", as PyTorch Inductor calls its own) and
compiles it with `exec`. Part of a compiled train step's wrapper on `simple`:

    def train_step(feeds):
        v0 = _feed(feeds[0], (1, 2), float64)  # %0:f64[1,2] = input 'x'
        ...
        b0 = _empty(32, float64)  # buffer 0 (256 bytes), first use
        matmul(b0, i4, i5, v0, i6, i7, v2, i8, i9)  # %9:f64[1,32] = matmul %0 %8 buffer=0
        b1 = _empty(32, float64)  # buffer 1 (256 bytes), first use
        zip_add(b1, i10, i11, b0, i10, i11, v3, i12, i13)  # %10:f64[1,32] = add %9 %3 buffer=1
        map_relu(b0, i10, i11, b1, i10, i11)  # %11:f64[1,32] = relu %10 buffer=0
        ...
        _fused(fused_5f3a09c2, b5, [b4, v7])  # %19:f64[1,1] = fused %17 %7 buffer=5 ops=2 {...}

Values are flat storages (numpy arrays); shapes and strides are constants (`i4`, `i5`: the
kernels' int64 index arrays). Each buffer is allocated once per call, at its first value, and
the values the plan puts there later reuse it (`relu` above writes over `%9`, dead by then).
Views (`permute`, `view`) are new strides on the same variable and cost nothing. Ops with no
direct spelling here (convolution, pooling, unfold, fold) call the plan's own kernel for them.
On `fast` the lines call the Numba kernels themselves, with the op's code where the library
would pick it (`zip_kernel(add, b1, ...)`, `fused_5f3a09c2(b5, b4, v7)`), and set the thread
count (`_threads(1)`) only where it changes, instead of asking Numba before every launch.

The wrapper reports no kernel events: a plan runs its steps instead while anyone listens.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..backends.base import TensorBackend
from ..tensor_data import Storage, TensorData, _index_arrays, strides_from_shape
from . import codegen
from .ir import BINARY, REDUCTIONS, UNARY, Graph, Node
from .passes.memory_plan import MemoryPlan, one_buffer_each, plan_memory

Layout = tuple[tuple[int, ...], tuple[int, ...]]  # (shape, strides) of a value


class WrapperMismatch(Exception):
    """The feeds are not what the wrapper was generated for (shape or dtype): run the steps."""


def feed(x: TensorData, shape: tuple[int, ...], dtype: np.dtype) -> Storage:
    """A fed value as flat contiguous storage (a view when it is contiguous, else a copy)."""
    if x.shape != shape or x.dtype != dtype:
        raise WrapperMismatch(f"fed {x.dtype}{list(x.shape)}, compiled for {dtype}{list(shape)}")
    if x.is_contiguous():
        return x.storage[: x.size]
    return np.ascontiguousarray(x.to_numpy()).reshape(-1)


def flat_result(x: TensorData) -> Storage:
    """A kernel's result as flat contiguous storage."""
    return x.storage[: x.size] if x.is_contiguous() else np.ascontiguousarray(x.to_numpy()).reshape(-1)


def memory_for(graph: Graph, keep: set[int]) -> MemoryPlan:
    """The graph's memory plan (from the memory_planning pass) when it covers every computed
    value and keeps `keep` alive to the end; else one planned here with `keep` as outputs.
    Without the pass, no reuse: a buffer for each value."""
    plan: MemoryPlan | None = getattr(graph, "memory", None)
    if plan is None:
        return one_buffer_each(graph)
    end, ids = len(graph.nodes), {n.id for n in graph.nodes}
    if plan is not None:
        owners = [plan.storage_of.get(i, i) for i in keep if i in ids]
        if all(plan.lifetime.get(o, (0, end))[1] == end for o in owners) and all(
            n.id in plan.buffer_of for n in graph.nodes if n.op not in ("input", "param", "const", "permute", "view")
        ):
            return plan
    copy = graph.copy()
    copy.outputs = list(dict.fromkeys([*graph.outputs, *sorted(keep & ids)]))
    return plan_memory(copy)


class Writer:
    """Writes one wrapper: its lines, and the names (kernels, constants) its source refers to."""

    def __init__(self, graph: Graph, backend: TensorBackend, keep: set[int], kernels: dict[int, Callable]) -> None:
        self.graph, self.backend, self.kernels = graph, backend, kernels
        self.memory = memory_for(graph, keep)
        self.keep = sorted((keep | set(graph.outputs)) & {n.id for n in graph.nodes})
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_feed": feed, "_empty": np.empty, "_td": TensorData._unchecked}
        self.names.update({"_flat": flat_result, "_fused": codegen.LAUNCH[self.target]})
        self.var: dict[int, str] = {}  # node id -> the variable holding its storage
        self.layout: dict[int, Layout] = {}
        self.dtype: dict[int, str] = {n.id: n.dtype for n in graph.nodes}
        self.allocated: set[int] = set()
        self.copies: dict[int, str] = {}  # node id -> a contiguous copy made of it
        self.constants: dict[Any, str] = {}
        self.fast: Any = None  # on the `fast` library: its module, whose kernels are called directly
        self.thread_count = 0  # the thread count the lines so far leave set (0: not known)
        if getattr(backend.kernels, "name", "") == "fast":
            import numba

            from ..backends import fast

            self.fast, self.names["_threads"] = fast, numba.set_num_threads

    @property
    def target(self) -> str:
        return self.backend.name if self.backend.name in codegen.TARGETS else "simple"

    def constant(self, key: Any, value: Any, prefix: str) -> str:
        """The name of a constant in the wrapper's namespace (one name per distinct key)."""
        if key not in self.constants:
            name = f"{prefix}{len(self.constants)}"
            if prefix.endswith("#"):  # a kernel: its own name, numbered only when taken
                name = prefix[:-1] if prefix[:-1] not in self.names else f"{prefix[:-1]}_{len(self.constants)}"
            self.constants[key] = name
            self.names[name] = value
        return self.constants[key]

    def index(self, layout: Layout) -> str:
        """`i4, i5`: the kernels' shape and strides arrays of a layout, as two constants."""
        shape, strides = _index_arrays(*layout)
        return f"{self.constant(('shape', layout), shape, 'i')}, {self.constant(('strides', layout), strides, 'i')}"

    def kernel(self, kind: str, op: str, work: int) -> str:
        """How a call of the library's `kind` kernel ("map", "zip", "reduce") for `op` starts:
        `map_relu(`, the library's function; on `fast` the Numba kernel itself with the op's
        code, `map_kernel(relu, `, after setting the thread count for `work` if it changes."""
        fn = (ops.REDUCTIONS[op] if kind == "reduce" else ops.primitive(op)).fn
        if self.fast is None:
            return self.constant((kind, op), getattr(self.backend.kernels, kind)(fn), f"{kind}_{op}#") + "("
        self.threads(work)
        code = self.constant(("code", fn), ops.code_of(fn, 1 if kind == "map" else 2, "fast"), f"{fn.__name__}#")
        return f"{self.constant(kind, getattr(self.fast, kind + '_kernel'), kind + '_kernel#')}({code}, "

    def threads(self, work: int) -> None:
        """On `fast`: a line setting the thread count for `work` elements (or flops), when it
        differs from the count the lines before left (known: the code has no branches)."""
        count = 1 if work < self.fast.PARALLEL_MIN_WORK else self.fast.MAX_THREADS
        if count != self.thread_count:
            self.thread_count = count
            self.lines.append(f"_threads({count})")

    def arg(self, i: int) -> str:
        """`b3, i4, i5`: a value as a kernel argument (storage, shape, strides)."""
        return f"{self.var[i]}, {self.index(self.layout[i])}"

    def out(self, node: Node) -> str:
        """The storage the node's value goes to: its buffer of the memory plan (allocated at
        the buffer's first use, a prefix of it when the value is smaller), else a new array."""
        size, dtype = math.prod(node.shape), node.dtype
        self.layout[node.id] = (node.shape, strides_from_shape(node.shape))
        buffer = self.memory.buffer_of.get(node.id)
        if buffer is None:
            self.lines.append(f"v{node.id} = _empty({size}, {dtype})  # not planned")
            self.var[node.id] = f"v{node.id}"
            return self.var[node.id]
        held = {self.dtype[v] for v, b in self.memory.buffer_of.items() if b == buffer}
        byte_count = self.memory.buffer_bytes[buffer]
        kind = dtype if len(held) == 1 else "uint8"  # several dtypes share raw bytes
        if buffer not in self.allocated:
            self.allocated.add(buffer)
            count = byte_count // np.dtype(kind).itemsize
            self.lines.append(f"b{buffer} = _empty({count}, {kind})  # buffer {buffer} ({byte_count} bytes), first use")
        whole = size * np.dtype(dtype).itemsize == byte_count
        name = f"b{buffer}"
        if not whole or kind != dtype:
            name = f"v{node.id}"
            nbytes = size * np.dtype(dtype).itemsize
            view = f"b{buffer}[:{size}]" if kind == dtype else f"b{buffer}[:{nbytes}].view({dtype})"
            self.lines.append(f"{name} = {view}")
        self.var[node.id] = name
        return name

    def contiguous(self, i: int) -> str:
        """A variable holding value i as contiguous storage: its own, or a copy made once."""
        shape, strides = self.layout[i]
        if TensorData._unchecked(np.empty(0), shape, strides).is_contiguous():
            return self.var[i]
        if i not in self.copies:
            name = self.copies[i] = f"c{i}"
            row_major = (shape, strides_from_shape(shape))
            self.lines.append(f"{name} = _empty({math.prod(shape)}, {self.dtype[i]})  # contiguous copy of %{i}")
            copy = self.kernel("map", "id", math.prod(shape))
            self.lines.append(f"{copy}{name}, {self.index(row_major)}, {self.arg(i)})")
        return self.copies[i]

    def emit(self, node: Node) -> None:
        """The lines computing one node, the last one ending in a comment naming it."""
        note = str(node)
        note = note if len(note) <= 110 else note[:107] + "..."
        call = emit_call(self, node)
        self.lines.append(f"{call}  # {note}" if call else f"# {note}")

    def source(self, name: str) -> str:
        """The wrapper's source: a function `name(feeds)` returning a dict of the kept values."""
        for node in self.graph.nodes:
            self.emit(node)
        values = ", ".join(f"{i}: _td({self.var[i]}, {self.layout[i][0]}, {self.layout[i][1]})" for i in self.keep)
        header = (
            f"# Generated by minitorch.graph.wrapper for backend {self.backend.name!r}: {len(self.graph.nodes)} "
            f"nodes, {len(self.allocated)} buffer allocations ({len(self.memory.buffer_bytes)} in the memory plan)."
        )
        body = [*self.lines, f"return {{{values}}}"]
        return "\n".join([header, f"def {name}(feeds):", *("    " + line for line in body)]) + "\n"


def emit_source(w: Writer, node: Node) -> str:
    """The statement for a feed (its flat storage), a const or a view (none: new strides or a
    contiguous copy of the same values)."""
    op, ins, i = node.op, node.inputs, node.id
    if op in ("input", "param"):
        w.var[i], w.layout[i] = f"v{i}", (node.shape, strides_from_shape(node.shape))
        return f"v{i} = _feed(feeds[{i}], {node.shape}, {node.dtype})"
    if op == "const":
        value = np.ascontiguousarray(node.attrs["value"], dtype=node.dtype).reshape(-1)
        w.var[i], w.layout[i] = w.constant(("const", i), value, f"k{i}#"), (node.shape, strides_from_shape(node.shape))
        return ""
    if op == "permute":
        shape, strides = w.layout[ins[0]]
        order = node.attrs["order"]
        w.var[i], w.layout[i] = w.var[ins[0]], (tuple(shape[k] for k in order), tuple(strides[k] for k in order))
        return ""
    w.var[i], w.layout[i] = w.contiguous(ins[0]), (node.shape, strides_from_shape(node.shape))  # a view
    return ""


def emit_call(w: Writer, node: Node) -> str:
    """The statement computing `node` (earlier lines for its allocation go to `w.lines`);
    "" for a node that needs none (a view of the same storage)."""
    op, ins, i = node.op, node.inputs, node.id
    if op in ("input", "param", "const", "permute", "view"):
        return emit_source(w, node)
    if op in UNARY or op in BINARY or op == "cast":
        kind = "map" if op in UNARY or op == "cast" else "zip"
        args = ", ".join(w.arg(k) for k in ins)
        call = w.kernel(kind, "id" if op == "cast" else op, math.prod(node.shape))
        return f"{call}{w.out(node)}, {w.index(w.layout[i])}, {args})"
    if op in REDUCTIONS:
        out = w.out(node)
        start = w.constant(("start", op), float(ops.REDUCTIONS[op].start), f"start_{op}#")
        w.lines.append(f"{out}[:] = {start}")
        call = w.kernel("reduce", op, math.prod(w.layout[ins[0]][0]))
        return f"{call}{out}, {w.index(w.layout[i])}, {w.arg(ins[0])}, {node.attrs['dim']})"
    if op == "fused":
        scalars = tuple(math.prod(w.layout[k][0]) == 1 for k in ins)
        kernel = codegen.compiled_kernel(node, w.backend.name, w.target, scalars)
        spelled = codegen.kernel_name(codegen.check_program(node), scalars)
        name = w.constant(("fused", id(kernel)), kernel, spelled + "#")
        args = ", ".join(w.contiguous(k) for k in ins)
        if w.fast is None:
            return f"_fused({name}, {w.out(node)}, [{args}])"
        w.threads(math.prod(node.shape))
        return f"{name}({w.out(node)}, {args})"  # on `fast`: the Numba kernel itself
    if op == "matmul" and (call := matmul_call(w, node)):
        return call
    return fallback_call(w, node)


def matmul_call(w: Writer, node: Node) -> str:
    """`matmul(out, a, b)` on (batch, rows, cols) layouts, as the backend's matmul makes them
    (a matrix shared by every batch gets batch stride 0); "" where it would copy or is empty.
    On `fast` the Numba kernel itself, given `b` with rows in order as the library does."""
    batch, operands = node.shape[:-2], [(w.var[k], w.layout[k]) for k in node.inputs]
    if w.fast is not None and operands[1][1][1][-1] != 1:
        shape = operands[1][1][0]
        operands[1] = (w.contiguous(node.inputs[1]), (shape, strides_from_shape(shape)))
    args = []
    for var, (shape, strides) in operands:
        if shape[:-2] == batch and TensorData._unchecked(np.empty(0), shape, strides).is_contiguous():
            layout = ((math.prod(batch), *shape[-2:]), strides_from_shape((math.prod(batch), *shape[-2:])))
        elif all(s == 1 for s in shape[:-2]):
            layout = ((1, *shape[-2:]), (0, *strides[-2:]))
        else:
            return ""
        args.append(f"{var}, {w.index(layout)}")
    inner = operands[0][1][0][-1]
    if math.prod(node.shape) == 0 or inner == 0:
        return ""
    out3 = (math.prod(batch), *node.shape[-2:])
    if w.fast is None:
        matmul = w.constant("matmul", w.backend.kernels.matmul, "matmul#")
    else:
        w.threads(math.prod(out3) * inner)
        matmul = w.constant("matmul", w.fast.matmul_kernel, "matmul_kernel#")
    return f"{matmul}({w.out(node)}, {w.index((out3, strides_from_shape(out3)))}, {', '.join(args)})"


def fallback_call(w: Writer, node: Node) -> str:
    """Call the plan's kernel for `node` on TensorData (convolution, pooling, unfold, fold)."""
    kernel = w.constant(("kernel", node.id), w.kernels[node.id], f"{node.op}#")
    args = ", ".join(f"_td({w.var[k]}, {w.layout[k][0]}, {w.layout[k][1]})" for k in node.inputs)
    w.var[node.id], w.layout[node.id] = f"v{node.id}", (node.shape, strides_from_shape(node.shape))
    w.thread_count = 0  # the backend's kernels may have changed it
    return f"v{node.id} = _flat({kernel}({args}))"


class Wrapper:
    """A graph compiled into one Python function: `wrapper(feeds)` is `Plan.run(feeds)`.

    `source` is the function's text; `allocations` the buffers it allocates per call."""

    def __init__(
        self, graph: Graph, backend: TensorBackend, keep: set[int], kernels: dict[int, Callable], name: str = "run"
    ) -> None:
        writer = Writer(graph, backend, keep, kernels)
        self.source = writer.source(name)
        self.allocations = len(writer.allocated)
        self.memory = writer.memory
        filename = f"<minitorch wrapper {name} {id(self):x}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(keepends=True), filename)
        self.namespace: dict[str, Any] = {"__name__": __name__, **writer.names}
        self.namespace.update({dtype: np.dtype(dtype) for dtype in {"uint8"} | {n.dtype for n in graph.nodes}})
        exec(compile(self.source, filename, "exec"), self.namespace)  # our own generated code
        self.fn: Callable[[dict[int, TensorData]], dict[int, TensorData]] = self.namespace[name]

    def __call__(self, feeds: dict[int, TensorData]) -> dict[int, TensorData]:
        return self.fn(feeds)
