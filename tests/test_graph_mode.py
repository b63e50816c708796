"""Module 5: graph mode gives eager mode's numbers — op by op, program by program, model by model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch import nn, optim
from minitorch.graph import Compiled, CompiledTrainStep, Program, TracingError, compile, interpret
from minitorch.graph.compile import default_passes
from minitorch.graph.executor import feeds_for
from minitorch.nn import MLP

BACKENDS = ["simple", "fast", "cuda"]
TOL = 1e-10  # same kernels, same order of operations: only fusion's single pass may differ by an ulp

# name -> (function of two tensors, domain of the first argument: "any" or "positive")
PROGRAMS: dict[str, tuple[Callable, str]] = {
    "neg": (lambda x, w: -x, "any"),
    "add": (lambda x, w: x + w, "any"),
    "sub": (lambda x, w: x - w, "any"),
    "mul": (lambda x, w: x * w, "any"),
    "div": (lambda x, w: x / (w * w + 1.0), "any"),
    "sigmoid": (lambda x, w: (x * w).sigmoid(), "any"),
    "relu": (lambda x, w: (x - w).relu(), "any"),
    "log": (lambda x, w: x.log() * w, "positive"),
    "exp": (lambda x, w: (x * 0.5).exp() + w, "any"),
    "lt": (lambda x, w: (x < w) * x, "any"),
    "eq": (lambda x, w: (x == x) * w, "any"),
    "sum": (lambda x, w: x.sum(1) * 2.0 + w.sum(), "any"),
    "mean": (lambda x, w: x.mean(0) + w.mean(0), "any"),
    "max": (lambda x, w: x.max(1, keepdim=True).values * w, "any"),
    "permute": (lambda x, w: x.permute(1, 0) * 3.0, "any"),
    "view": (lambda x, w: x.contiguous().view(12) * 2.0, "any"),
    "transpose_view": (lambda x, w: x.permute(1, 0).contiguous().view(3, 4) + 1.0, "any"),
    "matmul": (lambda x, w: x @ w.permute(1, 0), "any"),
    "softmax": (lambda x, w: nn.softmax(x * w, dim=1), "any"),
    "logsoftmax": (lambda x, w: nn.logsoftmax(x + w, dim=0), "any"),
    "mlp_like": (lambda x, w: ((x @ w.permute(1, 0)).relu() + 0.5).sigmoid().sum(1), "any"),
    "chain7": (lambda x, w: ((((x * w + x).sigmoid() * 2.0).exp() - w).relu() * 0.5).neg(), "any"),
}


def make_inputs(backend: str, domain: str, seed: int = 0) -> tuple[minitorch.Tensor, minitorch.Tensor]:
    rng = np.random.default_rng(seed)
    low = 0.5 if domain == "positive" else -1.5
    x = minitorch.tensor(rng.uniform(low, 1.5, (4, 3)), backend=backend, requires_grad=True)
    w = minitorch.tensor(rng.uniform(-1.5, 1.5, (4, 3)), backend=backend, requires_grad=True)
    return x, w


def grad_of(t: minitorch.Tensor) -> np.ndarray:
    """The gradient, or zeros where no gradient reached `t` (the same in both modes)."""
    return t.grad.numpy() if t.grad is not None else np.zeros(t.shape)


def eager_and_compiled(fn: Callable, backend: str, domain: str, passes=None):
    """(eager output, eager grads, compiled output, compiled grads) for fn(x, w)."""
    x, w = make_inputs(backend, domain)
    out = fn(x, w)
    (out * 1.7).sum().backward()
    eager = (out.numpy(), grad_of(x), grad_of(w))
    x2, w2 = make_inputs(backend, domain)
    compiled = compile(fn, passes=passes)
    out2 = compiled(x2, w2)
    (out2 * 1.7).sum().backward()
    return eager, (out2.numpy(), grad_of(x2), grad_of(w2)), compiled


def assert_same(eager: tuple, compiled: tuple) -> None:
    for e, c in zip(eager, compiled):
        np.testing.assert_allclose(c, e, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name", PROGRAMS)
def test_compiled_equals_eager_with_the_full_pipeline(name: str) -> None:
    fn, domain = PROGRAMS[name]
    eager, compiled, _ = eager_and_compiled(fn, "fast", domain)
    assert_same(eager, compiled)


@pytest.mark.task5_1
@pytest.mark.parametrize("name", PROGRAMS)
def test_compiled_equals_eager_without_passes_on_simple(name: str) -> None:
    fn, domain = PROGRAMS[name]
    eager, compiled, _ = eager_and_compiled(fn, "simple", domain, passes=[])
    assert_same(eager, compiled)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["mlp_like", "chain7", "softmax", "max"])
def test_compiled_equals_eager_on_every_backend(name: str, backend: str) -> None:
    fn, domain = PROGRAMS[name]
    eager, compiled, _ = eager_and_compiled(fn, backend, domain)
    assert_same(eager, compiled)


def passes_one_at_a_time() -> list[tuple[str, list]]:
    return [(p.__name__, [p]) for p in default_passes()]


@pytest.mark.parametrize("label, passes", passes_one_at_a_time(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("name", ["chain7", "softmax", "mlp_like", "view", "max"])
def test_each_pass_alone_keeps_the_numbers(name: str, label: str, passes: list) -> None:
    fn, domain = PROGRAMS[name]
    eager, compiled, _ = eager_and_compiled(fn, "fast", domain, passes=passes)
    assert_same(eager, compiled)


@pytest.mark.task5_1
@pytest.mark.parametrize("name", ["chain7", "softmax", "matmul"])
def test_interpreter_and_plan_agree(name: str) -> None:
    fn, domain = PROGRAMS[name]
    x, w = make_inputs("fast", domain)
    compiled = compile(fn, passes=[])  # task 5.1 alone: no optimisation passes needed
    planned = compiled(x, w).numpy()
    graph = compiled.graph(x, w)
    values = interpret(graph, feeds_for(graph, [x, w]), minitorch.get_backend("fast"))
    np.testing.assert_allclose(values[graph.outputs[0]].to_numpy(), planned, rtol=TOL, atol=TOL)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "add_w",
                "mul_w",
                "neg",
                "sigmoid",
                "relu",
                "exp_small",
                "square",
                "sum_keep",
                "max_keep",
                "mul_c",
                "sub_c",
                "permute_back",
            ]
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 1000),
)
def test_property_generated_programs(steps: list[str], seed: int) -> None:
    """Random chains of ops: compiled (full pipeline) output and gradients equal eager ones."""

    def program(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
        y = x
        for step in steps:
            y = {
                "add_w": lambda v: v + w,
                "mul_w": lambda v: v * w,
                "neg": lambda v: -v,
                "sigmoid": lambda v: v.sigmoid(),
                "relu": lambda v: v.relu(),
                "exp_small": lambda v: (v.sigmoid() - 0.5).exp(),
                "square": lambda v: v * v,
                "sum_keep": lambda v: v.sum(1, keepdim=True) + v,
                "max_keep": lambda v: v - v.max(0, keepdim=True).values,
                "mul_c": lambda v: v * 0.7,
                "sub_c": lambda v: v - 0.3,
                "permute_back": lambda v: v.permute(1, 0).permute(1, 0),
            }[step](y)
        return y

    rng = np.random.default_rng(seed)
    xs, ws = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (4, 3))
    results = []
    for compiled in (False, True):
        x = minitorch.tensor(xs, backend="fast", requires_grad=True)
        w = minitorch.tensor(ws, backend="fast", requires_grad=True)
        fn = compile(program) if compiled else program
        out = fn(x, w)
        (out * out).sum().backward()
        results.append((out.numpy(), grad_of(x), grad_of(w)))
    for e, c in zip(*results):
        np.testing.assert_allclose(c, e, rtol=1e-9, atol=1e-9)


@pytest.mark.task5_1
def test_graph_text_is_deterministic_and_checks() -> None:
    def f(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
        return (x * w).sum(1)

    texts = []
    for _ in range(2):
        x, w = make_inputs("simple", "any")
        graph = compile(f, passes=[]).graph(x, w)
        graph.check()
        texts.append(str(graph))
    assert texts[0] == texts[1]
    assert texts[0].splitlines() == [
        "%0:f64[4,3] = input 'arg0'",
        "%1:f64[4,3] = input 'arg1'",
        "%2:f64[4,3] = mul %0 %1",
        "%3:f64[4,1] = sum %2 dim=1",
        "%4:f64[4] = view %3 shape=(4)",
        "return %4",
    ]


def test_check_rejects_malformed_graphs() -> None:
    from minitorch.graph import Graph, IRError

    graph = Graph()
    x = graph.add("input", [], (2, 3), "float64", name="x")
    bad = graph.add("sum", [x.id], (2, 3), "float64", dim=1)  # sum keeps dim 1 as size 1
    graph.outputs = [bad.id]
    with pytest.raises(IRError, match="sum: shape"):
        graph.check()
    graph.nodes.reverse()
    with pytest.raises(IRError, match="not defined before"):
        graph.check()


# ## Caching and errors


def test_cache_new_values_no_recompile_new_shape_one_recompile() -> None:
    compiled = compile(lambda x: (x * x).sum())
    compiled(minitorch.rand((3, 2), seed=0))
    compiled(minitorch.rand((3, 2), seed=1))
    assert compiled.compile_count == 1
    compiled(minitorch.rand((5, 2), seed=2))
    assert compiled.compile_count == 2
    compiled(minitorch.rand((3, 2), seed=3, dtype="float32"))
    assert compiled.compile_count == 3
    compiled(minitorch.rand((3, 2), seed=4, backend="fast"))
    assert compiled.compile_count == 4


def test_value_dependent_control_flow_is_a_clear_error() -> None:
    def branchy(x: minitorch.Tensor) -> minitorch.Tensor:
        if (x.sum() > 0).item():
            return x * 2.0
        return x

    with pytest.raises(TracingError, match=r"made by 'lt'.*depends on tensor values"):
        compile(branchy)(minitorch.rand((3,), seed=0))

    def truthy(x: minitorch.Tensor) -> minitorch.Tensor:
        return x if x.max() > 0.5 else -x

    with pytest.raises(TracingError, match="cannot be compiled"):
        compile(truthy)(minitorch.rand((3,), seed=0))


def test_shape_dependent_code_specialises() -> None:
    compiled = compile(lambda x: x.sum(1) if x.shape[1] > 2 else x.sum(0))
    assert compiled(minitorch.ones((2, 3))).shape == (2,)
    assert compiled(minitorch.ones((2, 2))).shape == (2,)
    assert compiled.compile_count == 2


def test_shape_mismatch_found_at_compile_time() -> None:
    with pytest.raises(minitorch.ShapeError, match=r"matmul: shapes \(2, 3\) and \(2, 3\)"):
        compile(lambda a, b: a @ b)(minitorch.ones((2, 3)), minitorch.ones((2, 3)))


def test_symbolic_program_api() -> None:
    program = Program(backend="fast")
    x = program.placeholder((4, 3), name="x", requires_grad=True)
    w = program.placeholder((3, 2), name="w", requires_grad=True)
    loss = (x @ w).sigmoid().sum()
    dx, dw = program.gradients(loss, [x, w])
    run = program.compile([loss, dx, dw])
    xs, ws = np.random.default_rng(0).random((4, 3)), np.random.default_rng(1).random((3, 2))
    loss_value, dx_value, dw_value = run(x=xs, w=ws)

    ex = minitorch.tensor(xs, requires_grad=True, backend="fast")
    ew = minitorch.tensor(ws, requires_grad=True, backend="fast")
    eager = (ex @ ew).sigmoid().sum()
    eager.backward()
    assert loss_value.item() == pytest.approx(eager.item(), rel=1e-12)
    np.testing.assert_allclose(dx_value.numpy(), ex.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dw_value.numpy(), ew.grad.numpy(), rtol=1e-10)
    with pytest.raises(TypeError, match="missing values for placeholders: w"):
        run(x=xs)


# ## Modules and training


def test_compiled_module_matches_eager_and_fills_parameter_grads() -> None:
    model = MLP([2, 8, 3], backend="fast", seed=0)
    X = minitorch.tensor(np.random.default_rng(0).random((5, 2)), backend="fast")
    compiled = compile(model)
    out = compiled(X)
    np.testing.assert_allclose(out.numpy(), model(X).numpy(), rtol=1e-12)
    out.sum().backward()
    compiled_grads = [p.grad.numpy() for p in model.parameters()]
    model.zero_grad()
    model(X).sum().backward()
    for c, p in zip(compiled_grads, model.parameters()):
        np.testing.assert_allclose(c, p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_compiled_module_sees_updated_parameters_without_recompiling() -> None:
    model = MLP([2, 4, 1], backend="fast", seed=0)
    X = minitorch.tensor(np.ones((3, 2)), backend="fast")
    compiled = compile(model)
    before = compiled(X).numpy()
    opt = optim.SGD(model.parameters(), lr=0.5)
    compiled(X).sum().backward()
    opt.step()
    after = compiled(X).numpy()
    assert compiled.compile_count == 1
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model(X).numpy(), rtol=1e-12)


@pytest.mark.task5_1
def test_compiled_training_steps_equal_eager_steps() -> None:
    """N compiled SGD steps (forward, backward, update in one graph) = N eager steps."""
    data = minitorch.data.toy_dataset("xor", 40, seed=1)
    X = minitorch.tensor(data.X, backend="fast")
    y = minitorch.tensor(data.y.reshape(-1, 1), backend="fast")

    def loss_fn(out: minitorch.Tensor, target: minitorch.Tensor) -> minitorch.Tensor:
        return nn.binary_cross_entropy(out.sigmoid(), target)

    eager_model = MLP([2, 8, 1], backend="fast", seed=3)
    graph_model = MLP([2, 8, 1], backend="fast", seed=3)
    opt = optim.SGD(eager_model.parameters(), lr=0.5)
    step = CompiledTrainStep(graph_model, loss_fn, lr=0.5, passes=[])
    eager_losses, graph_losses = [], []
    for _ in range(15):
        loss = loss_fn(eager_model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        eager_losses.append(loss.item())
        graph_losses.append(step(X, y))
    np.testing.assert_allclose(graph_losses, eager_losses, rtol=1e-10)
    assert step.compile_count == 1
    assert graph_losses[-1] < graph_losses[0]
    for a, b in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(b.value.numpy(), a.value.numpy(), rtol=1e-10)


def test_backward_graph_is_a_graph_of_the_eager_rules() -> None:
    x, w = make_inputs("simple", "any")
    entry = compile(lambda a, b: (a * b).sigmoid().sum(), passes=[]).entry(x, w)
    ops = [n.op for n in entry.backward.nodes]
    # Sigmoid's rule grad * out * (1 - out) and Mul's rule grad * other, as nodes
    assert ops.count("mul") >= 4 and "neg" in ops
    assert entry.backward.outputs == [g for g in entry.grads if g is not None]


def test_concrete_tensors_captured_by_a_traced_function_are_constants() -> None:
    bias = minitorch.tensor([1.0, 2.0, 3.0])
    compiled = compile(lambda x: x * 2.0 + bias)
    x = minitorch.rand((2, 3), seed=0)
    np.testing.assert_allclose(compiled(x).numpy(), x.numpy() * 2.0 + bias.numpy())
    reversed_order = compile(lambda x: bias - x)
    np.testing.assert_allclose(reversed_order(x).numpy(), bias.numpy() - x.numpy())
    assert compile(lambda x: bias @ x.permute(1, 0))(x).shape == (2,)


def test_isinstance_of_compiled() -> None:
    assert isinstance(minitorch.compile(lambda x: x), Compiled)
