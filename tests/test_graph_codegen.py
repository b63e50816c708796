"""Module 5, task 5.3: fused elementwise kernels generated as source for simple, fast and cuda.

Fused nodes are built by hand here (the fusion pass makes them in compiled code). Every
generated kernel must give what the same ops give one by one on the simple backend
(`interpret` on the unfused graph). On the CUDA simulator every GPU thread is a Python
thread, so cuda sizes stay small; each distinct program costs Numba a compile on `fast`
(about a second), so the fast cases reuse a few programs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import minitorch
from minitorch import events
from minitorch.backends import get_backend
from minitorch.graph import codegen
from minitorch.graph.codegen import fused_kernel, generate_source
from minitorch.graph.executor import Plan, interpret
from minitorch.graph.ir import BINARY, UNARY, Graph, IRError, Node
from minitorch.tensor_data import ShapeError, TensorData

TARGETS = ["simple", "fast", "cuda"]
DTYPES = ["float64", "float32"]
# float64: the same IEEE operations per element as op by op. float32: op by op rounds every
# temporary to float32, a fused kernel keeps temporaries in registers (as XLA does).
TOL = {"float64": 1e-12, "float32": 1e-5}
ON_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


@pytest.fixture(autouse=True, scope="module")
def quick_simulator_thread_switching() -> Iterator[None]:
    """The simulator busy-polls its threads holding the GIL; switching often lets them run."""
    if not ON_SIMULATOR:
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


# ## Building fused nodes and their unfused twins


def fused_graph(
    program: list[tuple[str, list[str]]],
    shapes: list[tuple[int, ...]],
    out_shape: tuple[int, ...],
    dtype: str = "float64",
) -> tuple[Graph, Node]:
    """A graph of inputs with `shapes` feeding one fused node running `program`."""
    graph = Graph()
    inputs = [graph.add("input", [], shape, dtype, name=f"x{k}") for k, shape in enumerate(shapes)]
    node = graph.add("fused", [x.id for x in inputs], out_shape, dtype, program=program, ops=len(program))
    graph.outputs = [node.id]
    return graph, node


def unfused_graph(program: list[tuple[str, list[str]]], shapes: list[tuple[int, ...]], dtype: str = "float64") -> Graph:
    """The same computation as one IR node per program entry (what eager mode runs)."""
    graph = Graph()
    names = {f"in{k}": graph.add("input", [], shape, dtype, name=f"x{k}") for k, shape in enumerate(shapes)}
    for j, (op, args) in enumerate(program):
        parents = [names[a] for a in args]
        shape = parents[0].shape if len(parents) == 1 else np.broadcast_shapes(parents[0].shape, parents[1].shape)
        names[f"t{j}"] = graph.add(op, [p.id for p in parents], tuple(shape), dtype)
    graph.outputs = [names[f"t{len(program) - 1}"].id]
    return graph


def op_by_op(program: list[tuple[str, list[str]]], values: list[TensorData], out_shape: tuple[int, ...]) -> np.ndarray:
    """The program's result computed one op at a time by the simple backend."""
    graph = unfused_graph(program, [v.shape for v in values], values[0].dtype.name)
    feeds = {node.id: v for node, v in zip(graph.inputs, values)}
    result = interpret(graph, feeds, get_backend("simple"))[graph.outputs[0]]
    return np.broadcast_to(result.to_numpy(), out_shape)


def data(values: np.ndarray, dtype: str) -> TensorData:
    return TensorData(np.ascontiguousarray(values, dtype=dtype).reshape(-1), values.shape)


def check_matches_op_by_op(
    program: list[tuple[str, list[str]]], values: list[TensorData], out_shape: tuple[int, ...], target: str
) -> TensorData:
    _, node = fused_graph(program, [v.shape for v in values], out_shape, values[0].dtype.name)
    out = fused_kernel(node, get_backend(target))(*values)
    assert out.shape == tuple(out_shape) and out.dtype == values[0].dtype and out.is_contiguous()
    expected = op_by_op(program, values, out_shape)
    tol = TOL[out.dtype.name]
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=tol, atol=tol)
    return out


def comparison_pair(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x in ±[0.5, 2] (no zeros), and y = x/2 nudged so that lt, eq and is_close each see
    both answers: a quarter equal, a quarter close (within 1e-2), half far on either side."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    nudge = rng.choice([0.0, 0.004, 0.5, -0.5], size=shape)
    return x, x * 0.5 + nudge  # x * 0.5 is exact in float32 too


# Every op once, temporaries read out of order, scalar inputs on either side of a binary op.
ALL_OPS = [
    ("mul", ["in2", "in0"]),  # t0: scalar first
    ("relu", ["t0"]),  # t1
    ("relu_back", ["in0", "in1"]),  # t2
    ("add", ["t1", "t2"]),  # t3
    ("sigmoid", ["t3"]),  # t4: in (0, 1)
    ("log", ["t4"]),  # t5: negative
    ("neg", ["t5"]),  # t6: positive
    ("inv", ["t6"]),  # t7
    ("exp", ["t0"]),  # t8: positive
    ("log_back", ["t8", "t7"]),  # t9
    ("inv_back", ["t4", "t9"]),  # t10
    ("id", ["t10"]),  # t11
    ("lt", ["in0", "in1"]),  # t12
    ("eq", ["in1", "t0"]),  # t13: in1 == x/2 exactly, where no nudge
    ("is_close", ["t0", "in1"]),  # t14
    ("add", ["t12", "t13"]),  # t15
    ("mul", ["t14", "in3"]),  # t16: scalar second
    ("add", ["t15", "t16"]),  # t17
    ("add", ["t11", "t17"]),  # t18
    ("maximum", ["t18", "in0"]),  # t19
    ("tanh", ["t19"]),  # t20
    ("tanh_back", ["in0", "t20"]),  # t21
    ("abs", ["t21"]),  # t22: >= 0
    ("sqrt", ["t22"]),  # t23
    ("sqrt_back", ["t8", "t23"]),  # t24: t8 > 0
    ("abs_back", ["in0", "t24"]),  # t25
    ("sin", ["t25"]),  # t26
    ("sin_back", ["t0", "t26"]),  # t27
    ("cos", ["t27"]),  # t28
    ("cos_back", ["in1", "t28"]),  # t29
    ("pow", ["t8", "t29"]),  # t30: a positive base
    ("pow_base_grad", ["t8", "t29"]),  # t31
    ("pow_exponent_grad", ["t8", "t31"]),  # t32
    ("add", ["t30", "t32"]),  # t33
    ("add", ["t18", "t33"]),  # t34: the result
]


def all_ops_inputs(shape: tuple[int, ...], dtype: str, seed: int = 0) -> list[TensorData]:
    x, y = comparison_pair(shape, seed)
    return [data(x, dtype), data(y, dtype), data(np.array([0.5]), dtype), data(np.array([[4.0]]), dtype)]


def test_all_ops_program_uses_every_elementwise_op() -> None:
    assert {op for op, _ in ALL_OPS} == UNARY | BINARY


# ## The generated source


@pytest.mark.task5_3
def test_source_is_the_readable_loop_students_see() -> None:
    """The example at the top of codegen.py, exactly: a golden text."""
    _, node = fused_graph(
        [("mul", ["in0", "in1"]), ("add", ["t0", "in2"]), ("sigmoid", ["t1"])], [(3, 4), (1,), (3, 4)], (3, 4)
    )
    source = generate_source(node, "fast", scalars=[False, True, False])
    expected = """\
# Generated by minitorch.graph.codegen for target "fast" (Numba: a parallel loop on the CPU).
# Fused ops (3): mul -> add -> sigmoid
# Inputs: in0 (every element), in1 (one element, read at [0]), in2 (every element)
@njit(parallel=True, fastmath=False)
def fused_28a2000a(out, in0, in1, in2):
    for i in prange(len(out)):
        t0 = _mul(in0[i], in1[0])
        t1 = _add(t0, in2[i])
        t2 = _sigmoid(t1)
        out[i] = t2
"""
    assert source == expected
    assert expected in codegen.__doc__.replace("\n    ", "\n")


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_source_has_one_loop_with_the_ops_in_order(target: str) -> None:
    _, node = fused_graph(ALL_OPS, [(4, 6), (4, 6), (1,), (1, 1)], (4, 6))
    scalars = [False, False, True, True]
    source = generate_source(node, target, scalars)
    compile(source, "<test>", "exec")  # valid Python
    assert source == generate_source(node, target, scalars)  # deterministic
    loops = len(re.findall(r"\bfor i in (?:range|prange)\(", source))
    assert loops == (0 if target == "cuda" else 1)
    if target == "cuda":
        assert source.count("cuda.grid(1)") == 1 and "if i < len(out):" in source
        assert "@cuda.jit" in source
    if target == "fast":
        assert "@njit(parallel=True, fastmath=False)" in source
    prefix = "_"  # every target calls op `mul` as `_mul` (see codegen.namespace_for)
    statements = [line.strip() for line in source.splitlines() if line.strip().startswith("t")]
    assert [s.split(" = ")[0] for s in statements] == [f"t{j}" for j in range(len(ALL_OPS))]
    assert [s.split(" = ")[1].split("(")[0] for s in statements] == [prefix + op for op, _ in ALL_OPS]
    assert f"t0 = {prefix}mul(in2[0], in0[i])" in source  # scalars at [0], the rest at [i]
    assert f"t16 = {prefix}mul(t14, in3[0])" in source
    assert source.rstrip().endswith(f"out[i] = t{len(ALL_OPS) - 1}")
    header = source.splitlines()[1]
    assert header == f"# Fused ops ({len(ALL_OPS)}): " + " -> ".join(op for op, _ in ALL_OPS)


@pytest.mark.task5_3
def test_same_program_same_name_different_program_different_name() -> None:
    program = [("exp", ["in0"]), ("neg", ["t0"])]
    _, a = fused_graph(program, [(5,)], (5,))
    _, b = fused_graph(program, [(5,)], (5,))
    b.id = 99  # node ids do not matter
    _, c = fused_graph([("exp", ["in0"]), ("relu", ["t0"])], [(5,)], (5,))
    name = re.compile(r"def (fused_[0-9a-f]{8})\(")
    assert name.search(generate_source(a, "fast"))[1] == name.search(generate_source(b, "fast"))[1]
    assert name.search(generate_source(a, "fast"))[1] != name.search(generate_source(c, "fast"))[1]
    assert generate_source(a, "fast", [True]) != generate_source(a, "fast", [False])


@pytest.mark.parametrize(
    "program, message",
    [
        ([], "missing or empty"),
        ([("sum", ["in0"])], "not an elementwise op"),
        ([("add", ["in0"])], "takes 2 args"),
        ([("neg", ["in0", "in0"])], "takes 1 args"),
        ([("neg", ["in1"])], "reads 'in1'"),
        ([("neg", ["t0"])], "reads 't0'"),
        ([("neg", ["in0"]), ("add", ["t0", "t1"])], "reads 't1'"),
    ],
)
def test_bad_programs_are_clear_errors(program: list[tuple[str, list[str]]], message: str) -> None:
    _, node = fused_graph(program, [(3,)], (3,))
    with pytest.raises(IRError, match=message):
        generate_source(node, "simple")
    with pytest.raises(IRError, match=message):
        fused_kernel(node, get_backend("simple"))


def test_unknown_target_and_wrong_scalar_flags() -> None:
    _, node = fused_graph([("neg", ["in0"])], [(3,)], (3,))
    with pytest.raises(ValueError, match="unknown target 'tpu'"):
        generate_source(node, "tpu")
    with pytest.raises(ValueError, match="2 scalar flags for 1 inputs"):
        generate_source(node, "fast", [True, False])


# ## Running: each target agrees with the ops run one by one


@pytest.mark.task5_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", TARGETS)
def test_every_op_in_one_kernel_matches_op_by_op(target: str, dtype: str) -> None:
    shape = (8, 32) if target == "cuda" else (16, 33)
    check_matches_op_by_op(ALL_OPS, all_ops_inputs(shape, dtype), shape, target)


@pytest.mark.task5_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("target", ["simple", "cuda"])  # fast: every op is in ALL_OPS (a compile each)
def test_each_unary_op_in_a_chain(target: str, op: str, dtype: str) -> None:
    x, y = comparison_pair((4, 6), seed=1)
    x = np.abs(x) if op == "log" else x
    program = [(op, ["in0"]), ("mul", ["t0", "in2"]), ("add", ["t1", "in1"])]
    check_matches_op_by_op(program, [data(x, dtype), data(y, dtype), data(np.array([0.75]), dtype)], (4, 6), target)


@pytest.mark.task5_3
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("target", ["simple", "cuda"])
def test_each_binary_op_in_a_chain(target: str, op: str, dtype: str) -> None:
    x, y = comparison_pair((4, 6), seed=2)
    program = [("mul", ["in0", "in2"]), (op, ["t0", "in1"]), ("add", ["t1", "in0"])]
    check_matches_op_by_op(program, [data(x, dtype), data(y, dtype), data(np.array([0.5]), dtype)], (4, 6), target)


@pytest.mark.task5_3
@pytest.mark.parametrize("scalar_shape", [(), (1,), (1, 1)])
def test_scalar_inputs_of_any_one_element_shape(scalar_shape: tuple[int, ...]) -> None:
    x, _ = comparison_pair((3, 5), seed=3)
    scalar = data(np.full(scalar_shape, 1.5), "float64")
    program = [("mul", ["in0", "in1"]), ("exp", ["t0"])]
    check_matches_op_by_op(program, [data(x, "float64"), scalar], (3, 5), "simple")


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_output_computed_from_scalars_only_fills_every_element(target: str) -> None:
    """A program reading only one-element inputs still writes the whole output."""
    _, node = fused_graph([("exp", ["in0"]), ("mul", ["t0", "in1"])], [(1,), ()], (2, 3))
    out = fused_kernel(node, get_backend(target))(data(np.array([0.0]), "float64"), data(np.array(-3.0), "float64"))
    np.testing.assert_array_equal(out.to_numpy(), np.full((2, 3), -3.0))


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_zero_dimensional_and_empty_outputs(target: str) -> None:
    program = [("exp", ["in0"]), ("mul", ["t0", "in1"])]
    _, node = fused_graph(program, [(), ()], ())
    out = fused_kernel(node, get_backend(target))(data(np.array(0.0), "float64"), data(np.array(3.0), "float64"))
    assert out.shape == () and out.to_numpy() == 3.0
    _, node = fused_graph(program, [(0, 3), (1,)], (0, 3))
    out = fused_kernel(node, get_backend(target))(data(np.zeros((0, 3)), "float64"), data(np.array([3.0]), "float64"))
    assert out.shape == (0, 3) and out.size == 0


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_non_contiguous_inputs_are_read_in_index_order(target: str) -> None:
    """A permuted view's storage is not in row-major order: the kernel must see a copy that is."""
    x, y = comparison_pair((5, 4), seed=4)
    transposed = data(x.T.copy(), "float64").permute(1, 0)  # shape (5, 4), strides (1, 5)
    assert transposed.shape == (5, 4) and not transposed.is_contiguous()
    values = [transposed, data(y, "float64"), data(np.array([0.5]), "float64"), data(np.array([[4.0]]), "float64")]
    out = check_matches_op_by_op(ALL_OPS, values, (5, 4), target)
    plain = fused_kernel(fused_graph(ALL_OPS, [(5, 4), (5, 4), (1,), (1, 1)], (5, 4))[1], get_backend(target))
    np.testing.assert_array_equal(out.to_numpy(), plain(data(x, "float64"), *values[1:]).to_numpy())


def test_wrong_input_shape_is_a_clear_error() -> None:
    _, node = fused_graph([("add", ["in0", "in1"])], [(3, 4), (3, 4)], (3, 4))
    run = fused_kernel(node, get_backend("simple"))
    with pytest.raises(ShapeError, match=r"input 1 has shape \(4,\).*output's shape \(3, 4\)"):
        run(data(np.ones((3, 4)), "float64"), data(np.ones(4), "float64"))
    with pytest.raises(IRError, match="takes 2 inputs, got 1"):
        run(data(np.ones((3, 4)), "float64"))


# ## Compiling once; running through the executor


@pytest.mark.task5_3
def test_each_program_compiles_once_per_backend() -> None:
    program = [("neg", ["in0"]), ("exp", ["t0"]), ("add", ["t1", "in1"])]
    _, node = fused_graph(program, [(2, 3), (1,)], (2, 3))
    source = generate_source(node, "simple", [False, True])
    values = [data(np.ones((2, 3)), "float64"), data(np.array([1.0]), "float64")]
    fused_kernel(node, get_backend("simple"))(*values)
    compiled = codegen._COMPILED[(source, "simple")]
    fused_kernel(node, get_backend("simple"))(*values)  # a second plan for the same program
    assert codegen._COMPILED[(source, "simple")] is compiled


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_plan_and_interpreter_run_fused_nodes(target: str) -> None:
    """The executor hands fused nodes to codegen: same numbers as the unfused graph."""
    graph, node = fused_graph(ALL_OPS, [(4, 8), (4, 8), (1,), (1, 1)], (4, 8))
    values = all_ops_inputs((4, 8), "float64", seed=5)
    feeds = {n.id: v for n, v in zip(graph.inputs, values)}
    expected = op_by_op(ALL_OPS, values, (4, 8))
    backend = get_backend(target)
    planned = Plan(graph, backend).run(feeds)[node.id]
    interpreted = interpret(graph, feeds, backend)[node.id]
    np.testing.assert_allclose(planned.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(interpreted.to_numpy(), planned.to_numpy())


# ## The profiler sees generated kernels


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_profiler_records_one_fused_launch(target: str) -> None:
    graph, _ = fused_graph(ALL_OPS, [(4, 8), (4, 8), (1,), (1, 1)], (4, 8))
    values = all_ops_inputs((4, 8), "float64", seed=6)
    feeds = {n.id: v for n, v in zip(graph.inputs, values)}
    plan = Plan(graph, get_backend(target))
    with minitorch.profile() as prof:
        plan.run(feeds)
    assert len(prof.launches) == 1
    launch = prof.launches[0]
    assert launch.kernel == f"fused_{len(ALL_OPS)}ops" and launch.backend == target
    assert launch.op == "graph:fused"
    assert launch.shapes == [[4, 8], [4, 8], [1], [1, 1]]
    assert launch.flops == 32 * len(ALL_OPS)
    assert launch.bytes == (32 + 32 + 1 + 1 + 32) * 8
    assert launch.seconds > 0
    assert [row.kernel for row in prof.key_averages()] == [f"fused_{len(ALL_OPS)}ops"]


@pytest.mark.task5_3
def test_recordings_see_fused_launches_and_silence_costs_nothing() -> None:
    _, node = fused_graph([("exp", ["in0"]), ("neg", ["t0"])], [(6,)], (6,))
    run = fused_kernel(node, get_backend("simple"))
    x = data(np.arange(6.0), "float64")
    with events.record() as recording:
        run(x)
    assert [e.kernel for e in recording.kernel_events] == ["fused_2ops"]
    assert not events.LISTENERS
    run(x)  # nobody listening: nothing reported, nothing fails


# ## End to end: compile -> fusion pass -> generated kernels


def sigmoid_layer(x: minitorch.Tensor, w: minitorch.Tensor, b: minitorch.Tensor) -> minitorch.Tensor:
    return ((x * w + b).sigmoid() * 2.0).relu()


@pytest.mark.task5_3
@pytest.mark.parametrize("target", TARGETS)
def test_compiled_function_with_fusion_matches_eager(target: str) -> None:
    from minitorch.graph.passes.dce import dead_code_elimination
    from minitorch.graph.passes.fusion import elementwise_fusion

    rng = np.random.default_rng(7)
    x, w = (minitorch.tensor(rng.normal(size=(4, 5)), backend=target, requires_grad=True) for _ in range(2))
    b = minitorch.tensor(rng.normal(size=(4, 5)), backend=target)
    compiled = minitorch.compile(sigmoid_layer, passes=[elementwise_fusion, dead_code_elimination])
    y = compiled(x, w, b)
    entry = compiled.entry(x, w, b)
    assert entry.forward.count("fused") >= 1 and entry.backward.count("fused") >= 1
    y.sum().backward()
    compiled_grads = [x.grad.numpy(), w.grad.numpy()]
    x.grad = w.grad = None
    eager = sigmoid_layer(x, w, b)
    eager.sum().backward()
    np.testing.assert_allclose(y.numpy(), eager.numpy(), rtol=1e-12, atol=1e-12)
    for got, expected in zip(compiled_grads, [x.grad.numpy(), w.grad.numpy()]):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
