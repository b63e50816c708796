"""Module 5, task 5.2: the graph passes, each shown on a small graph (its text before and
after) and checked to keep the program's values; then the whole pipeline on random graphs
and on compiled functions against eager mode."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch.graph import Graph, IRError, Node, executor, interpret
from minitorch.graph.ir import ELEMENTWISE, infer_shape
from minitorch.graph.passes import (
    PIPELINE,
    MemoryPlan,
    algebraic_simplification,
    common_subexpression_elimination,
    constant_folding,
    dead_code_elimination,
    elementwise_fusion,
    infer_shapes,
    memory_planning,
    plan_memory,
)
from minitorch.graph.passes.algebraic import RULES
from minitorch.tensor_data import ShapeError, TensorData

SIMPLE = minitorch.get_backend("simple")


# ## Building and running small graphs by hand


class Builder:
    """Write a graph one node at a time; shapes and dtypes are inferred like tracing does."""

    def __init__(self) -> None:
        self.graph = Graph()

    def input(self, name: str, shape: tuple[int, ...] = (4, 3), dtype: str = "float64") -> int:
        return self.graph.add("input", [], shape, dtype, name=name).id

    def const(self, value: float | list, shape: tuple[int, ...] = (), dtype: str = "float64") -> int:
        array = np.array(np.broadcast_to(np.asarray(value, dtype=dtype), shape))
        return self.graph.add("const", [], array.shape, dtype, value=array).id

    def __call__(self, op: str, *inputs: int, **attrs: object) -> int:
        nodes = [self.graph.node(i) for i in inputs]
        shape = infer_shape(Node(-1, op, list(inputs), (), "", dict(attrs)), nodes)
        dtype = np.result_type(*[n.dtype for n in nodes]).name
        return self.graph.add(op, list(inputs), shape, dtype, **attrs).id

    def returns(self, *outputs: int) -> Graph:
        self.graph.outputs = list(outputs)
        return self.graph


def program_kernel(node: Node, backend: Any) -> Callable[..., TensorData]:
    """A fused node's program run op by op with the backend's map and zip: fusion (task 5.2)
    is checked without generating a kernel's source (task 5.3)."""

    def run_program(*inputs: TensorData) -> TensorData:
        temps = {f"in{k}": x for k, x in enumerate(inputs)}
        for j, (op, args) in enumerate(node.attrs["program"]):
            values = [temps[arg] for arg in args]
            temps[f"t{j}"] = backend.map(op, *values) if len(values) == 1 else backend.zip(op, *values)
        return temps[f"t{len(node.attrs['program']) - 1}"]

    return run_program


def run(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """The graph's outputs on random inputs (the same for the same seed and input ids)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for node in graph.nodes:
        if node.op in ("input", "param"):
            values = rng.uniform(-2.0, 2.0, math.prod(node.shape)).astype(node.dtype)
            feeds[node.id] = TensorData(values, node.shape)
    with fused_programs_run_op_by_op():
        values = interpret(graph, feeds, SIMPLE)
    return [np.array(values[i].to_numpy()) for i in graph.outputs]


def fused_programs_run_op_by_op() -> Any:
    """While active, the executor runs each fused node with `program_kernel`."""
    original = executor.kernel_for

    def kernel_for(node: Node, backend: Any) -> Callable[..., TensorData]:
        return program_kernel(node, backend) if node.op == "fused" else original(node, backend)

    return mock.patch.object(executor, "kernel_for", kernel_for)


def assert_same_values(before: Graph, after: Graph, seeds: tuple[int, ...] = (0, 1)) -> None:
    for seed in seeds:
        for b, a in zip(run(before, seed), run(after, seed), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def lines(graph: Graph) -> list[str]:
    return str(graph).splitlines()


def text(block: str) -> list[str]:
    return textwrap.dedent(block).strip().splitlines()


def elementwise_count(graph: Graph) -> int:
    return sum(node.op in ELEMENTWISE for node in graph.nodes)


# ## Shape inference


def test_infer_shapes_keeps_a_well_typed_graph() -> None:
    b = Builder()
    x, w = b.input("x"), b.input("w", (3, 2))
    y = b("matmul", x, w)
    s = b("sum", b("permute", y, order=(1, 0)), dim=1)
    graph = b.returns(b("view", s, shape=(2,)))
    inferred = infer_shapes(graph)
    assert inferred is not graph
    assert lines(inferred) == lines(graph)
    assert lines(inferred)[-3:-1] == ["%4:f64[2,1] = sum %3 dim=1", "%5:f64[2] = view %4 shape=(2)"]


def test_infer_shapes_catches_a_wrong_recorded_shape_and_dtype() -> None:
    b = Builder()
    x, y = b.input("x"), b.input("y")
    graph = b.returns(b("add", x, y))
    graph.nodes[-1].shape = (4, 4)  # built by hand, wrongly
    with pytest.raises(IRError, match=r"%2 = add: recorded as float64\[4, 4\] but its inputs give float64\[4, 3\]"):
        infer_shapes(graph)
    graph.nodes[-1].shape, graph.nodes[-1].dtype = (4, 3), "float32"
    with pytest.raises(IRError, match=r"%2 = add: recorded as float32"):
        infer_shapes(graph)


@pytest.mark.parametrize(
    "op, shape_of_y, attrs, error, message",
    [
        ("add", (2,), {}, ShapeError, r"%2 = add: add: shapes \(4, 3\) and \(2,\) cannot broadcast"),
        ("matmul", (2, 5), {}, ShapeError, r"%2 = matmul: .*inner dimensions 3 and 2"),
        ("sum", None, {"dim": 2}, ShapeError, r"%2 = sum: dim=2 is out of range"),
        ("permute", None, {"order": (0, 0)}, ShapeError, r"%2 = permute: order \(0, 0\)"),
        ("view", None, {"shape": (5,)}, ShapeError, r"%2 = view: cannot view shape \(4, 3\) \(12 elements\) as \(5,\)"),
        ("neg", (4, 3), {}, IRError, r"%2 = neg: takes 1 inputs, got 2"),
    ],
)
def test_infer_shapes_names_the_node_and_op_of_a_mismatch(
    op: str, shape_of_y: tuple | None, attrs: dict, error: type, message: str
) -> None:
    graph = Graph()
    x = graph.add("input", [], (4, 3), "float64", name="x")
    inputs = [x.id]
    if shape_of_y is not None:
        inputs.append(graph.add("input", [], shape_of_y, "float64", name="y").id)
    else:
        graph.add("input", [], (1,), "float64", name="unused")
    graph.add(op, inputs, (4, 3), "float64", **attrs)
    graph.outputs = [2]
    with pytest.raises(error, match=message):
        infer_shapes(graph)


def test_infer_shapes_catches_bad_order_and_undefined_outputs() -> None:
    b = Builder()
    x = b.input("x")
    graph = b.returns(b("exp", x))
    graph.nodes.reverse()
    with pytest.raises(IRError, match="%1 = exp: input %0 is not defined before it"):
        infer_shapes(graph)
    graph.nodes.reverse()
    graph.outputs = [7]
    with pytest.raises(IRError, match="output %7"):
        infer_shapes(graph)


# ## Constant folding


def test_constant_folding_computes_const_only_nodes_keeping_their_ids() -> None:
    b = Builder()
    x = b.input("x")
    two, three = b.const(2.0), b.const(3.0)
    six = b("mul", two, three)
    minus_six = b("neg", six)
    graph = b.returns(b("add", x, minus_six))
    assert lines(graph) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[] = const 2
        %2:f64[] = const 3
        %3:f64[] = mul %1 %2
        %4:f64[] = neg %3
        %5:f64[4,3] = add %0 %4
        return %5
    """)
    folded = constant_folding(graph)
    assert lines(folded)[3:5] == ["%3:f64[] = const 6", "%4:f64[] = const -6"]
    assert lines(dead_code_elimination(folded)) == text("""
        %0:f64[4,3] = input 'x'
        %4:f64[] = const -6
        %5:f64[4,3] = add %0 %4
        return %5
    """)
    assert_same_values(graph, folded)


def test_constant_folding_of_arrays_reductions_and_layout() -> None:
    b = Builder()
    x = b.input("x", (3, 2))
    c = b.const(np.arange(6.0).reshape(2, 3), (2, 3))
    t = b("permute", c, order=(1, 0))
    s = b("sum", b("exp", t), dim=1)
    graph = b.returns(b("mul", x, s))
    folded = dead_code_elimination(constant_folding(graph))
    assert [n.op for n in folded.nodes] == ["input", "const", "mul"]
    expected = np.exp(np.arange(6.0).reshape(2, 3).T).sum(1, keepdims=True)
    np.testing.assert_allclose(folded.node(s).attrs["value"], expected)
    assert folded.node(s).shape == (3, 1)
    assert_same_values(graph, folded)


def test_constant_folding_leaves_inputs_outputs_and_its_argument_alone() -> None:
    b = Builder()
    x = b.input("x")
    one = b.const(1.0)
    y = b("add", x, one)  # reads an input: not constant
    out = b("exp", one)  # an output: stays computed (callers may write into what they get)
    graph = b.returns(y, out)
    before = str(graph)
    folded = constant_folding(graph)
    assert str(folded) == before == str(graph)


# ## Algebraic simplification: one graph per rule, before and after


def rule_case(name: str) -> tuple[Graph, list[str]]:
    """(graph, its text after simplification and DCE) for each rule."""
    b = Builder()
    x = b.input("x")
    if name == "x*1":
        v = b("mul", x, b.const(1.0))
    elif name == "1*x":
        v = b("mul", b.const(1.0, (4, 3)), x)
    elif name == "x+0":
        v = b("add", x, b.const(0.0, (1, 3)))
    elif name == "0+x":
        v = b("add", b.const(0.0), x)
    elif name == "neg(neg(x))":
        v = b("neg", b("neg", x))
    elif name == "inv(inv(x))":
        v = b("inv", b("inv", x))
    elif name == "id(x)":
        v = b("id", x)
    elif name == "identity permute":
        v = b("permute", x, order=(0, 1))
    elif name == "view to same shape":
        v = b("view", x, shape=(4, 3))
    out = b("exp", v)
    return b.returns(out), ["%0:f64[4,3] = input 'x'", f"%{out}:f64[4,3] = exp %0", f"return %{out}"]


RULE_CASES = [
    "x*1",
    "1*x",
    "x+0",
    "0+x",
    "neg(neg(x))",
    "inv(inv(x))",
    "id(x)",
    "identity permute",
    "view to same shape",
]


@pytest.mark.parametrize("name", RULE_CASES)
def test_each_algebraic_rule(name: str) -> None:
    graph, expected = rule_case(name)
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert lines(simplified) == expected
    assert_same_values(graph, simplified)


def test_permute_of_permute_composes_the_orders() -> None:
    b = Builder()
    x = b.input("x", (2, 3, 4))
    p = b("permute", x, order=(1, 2, 0))  # (3, 4, 2)
    q = b("permute", p, order=(2, 0, 1))  # (2, 3, 4): the identity overall
    r = b("permute", b("permute", x, order=(2, 0, 1)), order=(0, 2, 1))  # (4, 3, 2)
    graph = b.returns(b("neg", q), b("neg", r))
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert lines(simplified) == text("""
        %0:f64[2,3,4] = input 'x'
        %4:f64[4,3,2] = permute %0 order=(2,1,0)
        %5:f64[2,3,4] = neg %0
        %6:f64[4,3,2] = neg %4
        return %5, %6
    """)
    assert_same_values(graph, simplified)


def test_view_of_view_is_one_view() -> None:
    b = Builder()
    x = b.input("x", (2, 6))
    v = b("view", b("view", b("view", x, shape=(12,)), shape=(3, 4)), shape=(4, 3))
    graph = b.returns(b("exp", v))
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert lines(simplified)[1:3] == ["%3:f64[4,3] = view %0 shape=(4,3)", "%4:f64[4,3] = exp %3"]
    assert_same_values(graph, simplified)


def test_rules_apply_in_one_pass_through_chains() -> None:
    b = Builder()
    x = b.input("x")
    v = b("neg", b("neg", b("neg", b("neg", x))))
    v = b("mul", b("id", b("add", v, b.const(0.0))), b.const(1.0))
    graph = b.returns(b("sigmoid", v))
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert [n.op for n in simplified.nodes] == ["input", "sigmoid"]
    assert simplified.nodes[1].inputs == [x]
    assert_same_values(graph, simplified)


def test_rules_that_would_change_shape_dtype_or_nan_are_skipped() -> None:
    b = Builder()
    x = b.input("x", (3,))
    broadcast = b("add", x, b.const(0.0, (4, 3)))  # (4, 3), not x's (3,)
    x32 = b.input("x32", (3,), "float32")
    widened = b("mul", x32, b.const(1.0))  # float64, not x32's float32
    times_zero = b("mul", x, b.const(0.0))  # inf * 0 = nan: not folded to 0
    graph = b.returns(b("exp", broadcast), b("exp", widened), b("exp", times_zero))
    simplified = algebraic_simplification(graph)
    assert str(simplified) == str(graph)


def test_outputs_keep_their_ids_and_never_alias_an_input() -> None:
    b = Builder()
    x = b.input("x")
    copy_of_input = b("id", x)  # an output copy of the caller's input stays a copy
    computed = b("exp", x)
    copy_of_computed = b("id", computed)  # ... of a computed value: the value takes its id
    neg_neg = b("neg", b("neg", computed))  # an output equal to another output: stays
    copy_of_input_view = b("id", b("permute", x, order=(1, 0)))  # stays a copy
    copy_of_computed_view = b("id", b("permute", computed, order=(1, 0)))  # the view takes its id
    graph = b.returns(copy_of_input, copy_of_computed, neg_neg, copy_of_input_view, copy_of_computed_view)
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert lines(simplified) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[4,3] = id %0
        %3:f64[4,3] = exp %0
        %4:f64[4,3] = neg %3
        %5:f64[4,3] = neg %4
        %6:f64[3,4] = permute %0 order=(1,0)
        %7:f64[3,4] = id %6
        %9:f64[3,4] = permute %3 order=(1,0)
        return %1, %3, %5, %7, %9
    """)
    assert_same_values(graph, simplified)


def test_every_rule_is_a_documented_function() -> None:
    assert len(RULES) >= 9
    assert all(rule.__doc__ and "->" in rule.__doc__ for rule in RULES)


# ## Common-subexpression elimination


@pytest.mark.task5_2
def test_cse_merges_equal_expressions_transitively() -> None:
    b = Builder()
    x, y = b.input("x"), b.input("y")
    e1, e2 = b("exp", x), b("exp", x)
    n1, n2 = b("neg", e1), b("neg", e2)  # equal once e2 is e1
    m1, m2 = b("mul", x, y), b("mul", y, x)  # commutative
    graph = b.returns(b("add", b("add", n1, n2), b("add", m1, m2)))
    assert len(graph.nodes) == 11
    merged = common_subexpression_elimination(graph)
    assert lines(merged) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[4,3] = input 'y'
        %2:f64[4,3] = exp %0
        %4:f64[4,3] = neg %2
        %6:f64[4,3] = mul %0 %1
        %8:f64[4,3] = add %4 %4
        %9:f64[4,3] = add %6 %6
        %10:f64[4,3] = add %8 %9
        return %10
    """)
    assert_same_values(graph, merged)


@pytest.mark.task5_2
def test_cse_compares_const_values_and_attributes() -> None:
    b = Builder()
    x = b.input("x")
    two_a, two_b, three = b.const(2.0), b.const(2.0), b.const(3.0)
    two_f32 = b.const(2.0, dtype="float32")
    s0, s1, s1_again = b("sum", x, dim=0), b("sum", x, dim=1), b("sum", x, dim=1)
    graph = b.returns(
        b("mul", x, two_a), b("mul", x, two_b), b("mul", x, three), b("mul", x, two_f32), s0, s1, s1_again
    )
    merged = dead_code_elimination(common_subexpression_elimination(graph))
    consts = [n for n in merged.nodes if n.op == "const"]
    assert [(n.id, n.dtype) for n in consts] == [(two_a, "float64"), (three, "float64"), (two_f32, "float32")]
    assert merged.count("sum") == 3  # dim 0 differs; s1_again is an output and keeps its node
    assert merged.outputs == graph.outputs
    assert_same_values(graph, merged)


@pytest.mark.task5_2
def test_cse_never_merges_inputs() -> None:
    b = Builder()
    x, y = b.input("x"), b.input("y")
    graph = b.returns(b("add", b("exp", x), b("exp", y)))
    assert str(common_subexpression_elimination(graph)) == str(graph)


# ## Dead-code elimination


def test_dce_drops_unread_nodes_but_keeps_inputs() -> None:
    b = Builder()
    x = b.input("x")
    b.input("unused")
    dead = b("exp", b("neg", x))
    graph = b.returns(b("sigmoid", x))
    assert dead in graph.by_id()
    cleaned = dead_code_elimination(graph)
    assert lines(cleaned) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[4,3] = input 'unused'
        %4:f64[4,3] = sigmoid %0
        return %4
    """)
    assert len(graph.nodes) == 5  # the argument is untouched
    assert_same_values(graph, cleaned)


# ## Elementwise fusion


def chain7() -> tuple[Graph, int]:
    """((x*y + x).sigmoid().exp() * 2).relu().neg(), written by hand."""
    b = Builder()
    x, y = b.input("x"), b.input("y")
    v = b("add", b("mul", x, y), x)
    v = b("mul", b("exp", b("sigmoid", v)), b.const(2.0))
    out = b("neg", b("relu", v))
    return b.returns(out), out


@pytest.mark.task5_2
def test_fusion_turns_a_7_op_chain_into_one_fused_node() -> None:
    graph, out = chain7()
    assert elementwise_count(graph) == 7
    fused = elementwise_fusion(graph)
    assert fused.count("fused") == 1 and elementwise_count(fused) == 0
    assert lines(fused) == [
        "%0:f64[4,3] = input 'x'",
        "%1:f64[4,3] = input 'y'",
        "%6:f64[] = const 2",
        (
            "%9:f64[4,3] = fused %0 %1 %6 ops=7 {mul(in0, in1); add(t0, in0); sigmoid(t1); exp(t2); mul(t3, in2); "
            "relu(t4); neg(t5)}"
        ),
        "return %9",
    ]
    node = fused.node(out)
    assert node.attrs["ops"] == 7 and node.attrs["program"][-1] == ("neg", ["t5"])
    assert_same_values(graph, fused)


@pytest.mark.task5_2
def test_fusion_of_a_traced_chain() -> None:
    def f(x: minitorch.Tensor, y: minitorch.Tensor) -> minitorch.Tensor:
        return -((x * y + x).sigmoid().exp() * 2).relu()

    x, y = minitorch.rand((4, 3), backend="simple"), minitorch.rand((4, 3), backend="simple")
    compiled = minitorch.compile(f, passes=[elementwise_fusion], wrapper=False)  # plan steps: kernel_for
    with fused_programs_run_op_by_op():  # the plan is built here, with fused nodes run op by op
        graph = compiled.graph(x, y)
        np.testing.assert_allclose(compiled(x, y).numpy(), f(x, y).numpy(), rtol=1e-12)
    assert graph.count("fused") == 1 and elementwise_count(graph) == 0


@pytest.mark.task5_2
def test_fusion_does_not_fuse_across_a_value_used_twice() -> None:
    b = Builder()
    x = b.input("x")
    shared = b("exp", b("neg", x))  # read by two nodes: must exist in memory
    left = b("sigmoid", b("relu", shared))
    right = b("log", shared)
    graph = b.returns(b("add", left, right))
    fused = elementwise_fusion(graph)
    assert lines(fused) == text("""
        %0:f64[4,3] = input 'x'
        %2:f64[4,3] = fused %0 ops=2 {neg(in0); exp(t0)}
        %6:f64[4,3] = fused %2 ops=4 {relu(in0); sigmoid(t0); log(in0); add(t1, t2)}
        return %6
    """)
    assert_same_values(graph, fused)


@pytest.mark.task5_2
def test_fusion_keeps_outputs_broadcasts_and_other_ops_outside() -> None:
    b = Builder()
    x, row = b.input("x"), b.input("row", (4, 1))
    saved = b("exp", x)  # an output (e.g. saved for backward): stays its own node
    v = b("add", b("neg", saved), row)  # row is (4, 1): a fused loop cannot read it flat
    s = b("sum", b("exp", b("sigmoid", v)), dim=0)  # a reduction ends the group
    graph = b.returns(saved, b("relu", s))
    fused = elementwise_fusion(graph)
    assert lines(fused) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[4,1] = input 'row'
        %2:f64[4,3] = exp %0
        %3:f64[4,3] = neg %2
        %4:f64[4,3] = add %3 %1
        %6:f64[4,3] = fused %4 ops=2 {sigmoid(in0); exp(t0)}
        %7:f64[1,3] = sum %6 dim=0
        %8:f64[1,3] = relu %7
        return %2, %8
    """)
    assert_same_values(graph, fused)


@pytest.mark.task5_2
def test_fusion_reads_one_element_inputs_of_any_shape() -> None:
    b = Builder()
    x = b.input("x")
    v = b("mul", b("add", x, b.const(0.5, (1, 1))), b.input("scale", (1,)))
    graph = b.returns(b("sigmoid", v))
    fused = elementwise_fusion(graph)
    assert [n.op for n in fused.nodes] == ["input", "const", "input", "fused"]
    assert fused.nodes[-1].inputs == [x, 1, 3]
    assert_same_values(graph, fused)


# ## Memory planning


@pytest.mark.task5_2
def test_memory_plan_of_a_chain_reuses_two_buffers() -> None:
    b = Builder()
    x = b.input("x")
    graph = b.returns(b("relu", b("sigmoid", b("neg", b("exp", x)))))
    plan = plan_memory(graph)
    assert plan.buffer_of == {1: 0, 2: 1, 3: 0, 4: 1}  # a value's buffer is free once it is read
    assert plan.buffer_bytes == [96, 96]
    assert (plan.peak_bytes, plan.naive_bytes, plan.max_live_bytes) == (192, 384, 192)
    planned = memory_planning(graph)
    assert lines(planned) == text("""
        %0:f64[4,3] = input 'x'
        %1:f64[4,3] = exp %0 buffer=0
        %2:f64[4,3] = neg %1 buffer=1
        %3:f64[4,3] = sigmoid %2 buffer=0
        %4:f64[4,3] = relu %3 buffer=1
        return %4
    """)
    assert isinstance(planned.memory, MemoryPlan) and planned.memory.peak_bytes == 192
    assert lines(planned.copy()) == lines(planned)  # the annotations are ordinary attrs
    assert "buffer" not in graph.nodes[1].attrs  # the argument is untouched
    assert_same_values(graph, planned)


@pytest.mark.task5_2
def test_memory_plan_views_alias_and_extend_their_input() -> None:
    b = Builder()
    x = b.input("x")
    a = b("exp", x)
    t = b("permute", a, order=(1, 0))  # a view of a: no buffer of its own
    c = b("neg", x)
    d = b("sigmoid", c)  # a is still alive (t is read below), so d cannot take a's buffer
    graph = b.returns(b("add", b("relu", t), b("permute", d, order=(1, 0))))
    plan = plan_memory(graph)
    assert plan.buffer_for(t) == plan.buffer_for(a) and t not in plan.buffer_of
    assert plan.lifetime[a] == (1, 5)  # to the relu (step 5) reading the permute of a
    assert plan.buffer_for(d) not in (plan.buffer_for(a),)
    assert plan.peak_bytes < plan.naive_bytes


@pytest.mark.task5_2
def test_memory_plan_reuses_a_bigger_free_buffer_best_fit() -> None:
    b = Builder()
    x = b.input("x", (4, 4))
    big = b("exp", x)  # 128 bytes
    small = b("sum", big, dim=0)  # 32 bytes; big dies here
    graph = b.returns(b("neg", small))  # 32 bytes: fits in big's buffer
    plan = plan_memory(graph)
    assert plan.buffer_of[small] == 1 and plan.buffer_of[graph.outputs[0]] == 0
    assert plan.buffer_bytes == [128, 32]


# ## Random graphs: every pass keeps the values; memory plans never overlap


SHAPES = [(2, 3), (2, 3), (3,), (2, 1), (1,), ()]


@st.composite
def random_graphs(draw: st.DrawFn) -> Graph:
    """A random DAG over a few inputs and consts: elementwise ops, reductions and views."""
    b = Builder()
    values = [b.input("x", (2, 3)), b.input("y", (2, 3)), b.input("r", (3,))]
    for k in range(draw(st.integers(0, 3))):
        shape = draw(st.sampled_from(SHAPES))
        fill = draw(st.sampled_from([0.0, 1.0, 0.5, -2.0, "random"]))
        value = np.random.default_rng(k).uniform(-1, 1, shape) if fill == "random" else fill
        values.append(b.const(value, shape))
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "sum", "permute", "view", "copy"]))
        a = draw(st.sampled_from(values))
        shape = b.graph.node(a).shape
        if kind == "unary":
            values.append(b(draw(st.sampled_from(["neg", "inv", "sigmoid", "relu", "exp", "id", "log"])), a))
        elif kind == "binary":
            fitting = [v for v in values if broadcasts(shape, b.graph.node(v).shape)]
            other = draw(st.sampled_from(fitting))
            op = draw(st.sampled_from(["add", "mul", "lt", "eq", "relu_back", "add", "mul"]))
            values.append(b(op, *draw(st.permutations([a, other]))))
        elif kind == "sum" and shape:
            values.append(b(draw(st.sampled_from(["sum", "max"])), a, dim=draw(st.integers(0, len(shape) - 1))))
        elif kind == "permute" and shape:
            order = tuple(draw(st.permutations(range(len(shape)))))
            p = b("permute", a, order=order)
            values.append(b("permute", p, order=tuple(order.index(i) for i in range(len(shape)))))
        elif kind == "view":
            values.append(b("view", a, shape=(math.prod(shape),)))
        elif kind == "copy":  # the same expression twice, for CSE
            node = b.graph.node(values[-1])
            if node.op not in ("input", "const"):
                values.append(b(node.op, *node.inputs, **node.attrs))
    computed = [v for v in values if b.graph.node(v).op not in ("input", "const")]
    outputs = draw(st.lists(st.sampled_from(computed), min_size=1, max_size=3, unique=True)) if computed else []
    return b.returns(*(outputs or [values[0]]))


def broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(a, b) is not None
    except ValueError:
        return False


def alive_together(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def independent_lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """(first, last) step of each computed non-view value, from the rules, written again."""
    owner, span = {}, {}
    for k, node in enumerate(graph.nodes):
        owner[node.id] = owner[node.inputs[0]] if node.op in ("permute", "view") else node.id
        if node.op not in ("input", "param", "const", "permute", "view"):
            span[node.id] = [k, k]
    for k, node in enumerate(graph.nodes):
        for i in node.inputs:
            if owner[i] in span:
                span[owner[i]][1] = max(span[owner[i]][1], k)
    for i in graph.outputs:
        if owner[i] in span:
            span[owner[i]][1] = len(graph.nodes)
    return {i: (s[0], s[1]) for i, s in span.items()}


@pytest.mark.task5_2
@settings(max_examples=50, deadline=None)
@given(random_graphs())
def test_property_memory_plan_never_shares_a_buffer_between_live_values(graph: Graph) -> None:
    plan = plan_memory(graph)
    lifetime = independent_lifetimes(graph)
    assert set(plan.buffer_of) == set(lifetime)
    for a in lifetime:
        for b in lifetime:
            if a < b and plan.buffer_of[a] == plan.buffer_of[b]:
                assert not alive_together(lifetime[a], lifetime[b]), (a, b, str(graph))
    by_id = graph.by_id()
    for value, buffer in plan.buffer_of.items():  # each value fits in its buffer
        assert plan.buffer_bytes[buffer] >= math.prod(by_id[value].shape) * 8
    assert plan.max_live_bytes <= plan.peak_bytes <= plan.naive_bytes


PASSES = [
    infer_shapes,
    constant_folding,
    algebraic_simplification,
    common_subexpression_elimination,
    dead_code_elimination,
    elementwise_fusion,
    memory_planning,
]


@settings(max_examples=40, deadline=None)
@given(random_graphs(), st.sampled_from(PASSES + [None]))
def test_property_each_pass_and_the_pipeline_keep_values_ids_and_argument(
    graph: Graph, one_pass: Callable | None
) -> None:
    before = str(graph)
    passes = PIPELINE if one_pass is None else [one_pass]
    result = graph
    for apply_pass in passes:
        result = apply_pass(result)
        result.check()
    assert str(graph) == before  # passes return a new graph and leave their argument alone
    assert result.outputs == graph.outputs
    assert [n.id for n in result.nodes if n.op == "input"] == [n.id for n in graph.nodes if n.op == "input"]
    for seed in (0, 1):
        for b, a in zip(run(graph, seed), run(result, seed), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ## The pipeline, and compiled functions against eager mode


def test_pipeline_order() -> None:
    assert [p.__name__ for p in PIPELINE] == [p.__name__ for p in PASSES]


def mlp(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
    return ((x @ w.permute(1, 0)).relu() * 1.0 + 0.0).sigmoid().sum(1)


def repeated(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
    negated = -x.permute(1, 0).permute(1, 0)
    twice_negated = -negated
    return (x * w).exp() + (x * w).exp() * 2.0 + twice_negated


def softmax_chain(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
    return minitorch.nn.softmax(-((x * w + x).sigmoid().exp() * 2).relu(), dim=1)


@pytest.mark.task5_2
@pytest.mark.parametrize("fn", [mlp, repeated, softmax_chain], ids=lambda f: f.__name__)
def test_compiled_with_the_pipeline_equals_eager(fn: Callable) -> None:
    rng = np.random.default_rng(3)
    xs, ws = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (4, 3))
    results, graphs = [], []
    for compiled in (False, True):
        x = minitorch.tensor(xs, backend="simple", requires_grad=True)
        w = minitorch.tensor(ws, backend="simple", requires_grad=True)
        run_fn = minitorch.compile(fn, wrapper=False) if compiled else fn
        with fused_programs_run_op_by_op():  # the passes' results, without task 5.3's codegen
            out = run_fn(x, w)
            (out * out).sum().backward()
        results.append((out.numpy(), x.grad.numpy(), w.grad.numpy()))
        if compiled:
            entry = run_fn.entry(x, w)
            graphs = [entry.traced, entry.forward, entry.backward]
    for eager, compiled in zip(*results, strict=True):
        np.testing.assert_allclose(compiled, eager, rtol=1e-10, atol=1e-12)
    traced, forward, backward = graphs
    assert len(forward.nodes) < len(traced.nodes)
    assert forward.count("fused") + backward.count("fused") >= 1
    assert isinstance(forward.memory, MemoryPlan) and isinstance(backward.memory, MemoryPlan)
