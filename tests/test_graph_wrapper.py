"""Module 5: whole-plan code generation. A plan runs as ONE generated Python function (its
"wrapper", graph/wrapper.py) that equals the step-by-step executor and eager mode, reuses the
memory plan's buffers, and shows every node in its source."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minitorch
from minitorch import nn, optim
from minitorch.graph import CompiledTrainStep, Graph, Plan, passes
from minitorch.graph.executor import feeds_for
from minitorch.nn import MLP
from minitorch.tensor import Tensor
from minitorch.tensor_data import TensorData

Fn = Callable[..., Tensor]


def chain(x: Tensor, w: Tensor) -> Tensor:
    """A fusable chain with a broadcast scalar."""
    return ((x * w + x).sigmoid() * 2.0).exp().relu().neg()


def reductions(x: Tensor, w: Tensor) -> Tensor:
    """Sums and maxes along dims, broadcasting back against x."""
    return (x - x.max(1, keepdim=True).values) * (w.sum(0) + 1.0) + x.sum(1, keepdim=True).exp()


def matmuls(x: Tensor, w: Tensor) -> Tensor:
    """Matmuls of transposed (non-contiguous) operands, a view of a permute (a copy) and a fused
    kernel reading a permute (another copy)."""
    y = (x @ w.permute(1, 0)).relu() @ w
    z = y.permute(1, 0).contiguous().view(-1)
    return (y.permute(1, 0) * 0.5 + w.permute(1, 0)).sum() + z.sum()


def batched(x: Tensor, w: Tensor) -> Tensor:
    """Batched matmul, broadcasting one matrix over the batch."""
    b = x.view(2, 2, 3)
    return (b @ w.permute(1, 0)).tanh().sum(2)


FUNCTIONS = [chain, reductions, matmuls, batched]


def inputs(seed: int, backend: str) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    x = minitorch.tensor(rng.standard_normal((4, 3)), backend=backend, requires_grad=True)
    w = minitorch.tensor(rng.standard_normal((4, 3)), backend=backend, requires_grad=True)
    return x, w


def value_and_grads(fn: Fn, x: Tensor, w: Tensor) -> list[np.ndarray]:
    x.grad = w.grad = None
    out = fn(x, w)
    out.sum().backward()
    assert x.grad is not None and w.grad is not None
    return [out.numpy(), x.grad.numpy(), w.grad.numpy()]


def check_wrapper(fn: Fn, backend: str, seeds: int) -> minitorch.graph.Compiled:
    """Values and gradients with the wrapper = with the plan's steps (exactly) = eager (1e-12)."""
    with_wrapper = minitorch.compile(fn)
    stepping = minitorch.compile(fn, wrapper=False)
    for seed in range(seeds):
        ours, steps, eager = (value_and_grads(f, *inputs(seed, backend)) for f in (with_wrapper, stepping, fn))
        for a, b, c in zip(ours, steps, eager):
            np.testing.assert_array_equal(a, b)  # the same kernels, in the same order
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
    assert stepping.latest is not None and stepping.latest.forward_plan._wrapper is None  # never built
    return with_wrapper


@pytest.mark.parametrize("backend", ["simple", "fast"])
@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_wrapper_equals_executor_and_eager(fn: Fn, backend: str) -> None:
    compiled = check_wrapper(fn, backend, seeds=3)
    assert compiled.latest is not None and compiled.latest.forward_plan.wrapper.fn.__name__ == "forward"
    assert "def backward_0(feeds):" in compiled.source()


def test_wrapper_on_cuda() -> None:
    """The cuda library's kernels and fused launches (Numba's CUDA simulator without a GPU)."""
    source = check_wrapper(matmuls, "cuda", seeds=1).source()
    assert "_fused(fused_" in source and "matmul(" in source


def test_mlp_forward_equals_executor_and_eager() -> None:
    model = MLP([3, 16, 16, 2], backend="fast", seed=0)
    x = minitorch.tensor(np.random.default_rng(5).standard_normal((6, 3)), backend="fast")
    eager = model(x).numpy()
    for wrapper in (True, False):
        compiled = minitorch.compile(model, wrapper=wrapper)
        np.testing.assert_allclose(compiled(x).numpy(), eager, rtol=1e-12, atol=1e-12)
        compiled(x).sum().backward()
    source = minitorch.compile(model).source(x)
    assert "matmul_kernel(" in source and "def forward(feeds):" in source  # on fast: the Numba kernel


def test_train_step_with_wrapper_equals_without_and_eager() -> None:
    data = minitorch.data.toy_dataset("xor", 20, seed=1)
    X = minitorch.tensor(data.X, backend="fast")
    y = minitorch.tensor(data.y.reshape(-1, 1), backend="fast")

    def loss_fn(out: Tensor, target: Tensor) -> Tensor:
        return nn.binary_cross_entropy(out.sigmoid(), target)

    models = [MLP([2, 8, 8, 1], backend="fast", seed=3) for _ in range(3)]
    steps = [CompiledTrainStep(m, loss_fn, lr=0.5, wrapper=w) for m, w in zip(models, (True, False))]
    opt = optim.SGD(models[2].parameters(), lr=0.5)
    for _ in range(4):
        losses = [step(X, y) for step in steps]
        loss = loss_fn(models[2](X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert losses[0] == losses[1]
        np.testing.assert_allclose(losses[0], loss.item(), rtol=1e-12)
    for a, b, c in zip(*(m.parameters() for m in models)):
        np.testing.assert_array_equal(a.value.numpy(), b.value.numpy())
        np.testing.assert_allclose(a.value.numpy(), c.value.numpy(), rtol=1e-12, atol=1e-12)
    assert steps[0].plan(X, y)._wrapper is not None and steps[1].plan(X, y)._wrapper is None


def train_step_plan() -> tuple[CompiledTrainStep, Plan, Tensor, Tensor]:
    X = minitorch.tensor(np.random.default_rng(0).standard_normal((5, 2)), backend="fast")
    y = minitorch.tensor(np.ones((5, 1)), backend="fast")
    model = MLP([2, 8, 8, 1], backend="fast", seed=0)
    step = CompiledTrainStep(model, lambda out, t: ((out - t) * (out - t)).mean(), lr=0.1)
    step(X, y)
    return step, step.plan(X, y), X, y


def test_buffers_are_the_memory_plan() -> None:
    """One allocation per buffer of the memory plan (plus a contiguous copy where a fused
    kernel or a view reads a transposed value), counted as the wrapper runs."""
    step, plan, X, y = train_step_plan()
    memory = plan.graph.memory  # type: ignore[attr-defined]
    wrapper = plan.wrapper
    assert wrapper.memory is memory  # the pipeline's plan, not a new one
    assert wrapper.allocations == len(memory.buffer_bytes) < len(memory.buffer_of)  # values share buffers
    copies = wrapper.source.count("# contiguous copy of")
    sizes: list[int] = []
    wrapper.namespace["_empty"] = lambda n, dtype: sizes.append(n * dtype.itemsize) or np.empty(n, dtype)
    step(X, y)
    assert len(sizes) == wrapper.allocations + copies
    planned = sorted(sizes)
    for nbytes in memory.buffer_bytes:  # every buffer was allocated with its planned size
        planned.remove(nbytes)
    assert len(planned) == copies


def test_values_in_one_buffer_share_its_storage() -> None:
    step, plan, X, y = train_step_plan()
    memory = plan.graph.memory  # type: ignore[attr-defined]
    entry = step._entry(X, y)
    params = [p.value._tensor for _, p in step.model.named_parameters()]
    feeds = dict(zip(entry.input_ids, [X._tensor, y._tensor, *params]))
    values = plan.wrapper(feeds)
    outputs = list(values)
    for i in outputs:
        for j in outputs:
            same = memory.buffer_for(i) == memory.buffer_for(j)
            assert np.shares_memory(values[i].storage, values[j].storage) == (same or i == j)
    reference = plan.step(feeds)
    for i in outputs:
        np.testing.assert_array_equal(values[i].to_numpy(), reference[i].to_numpy())


def test_source_names_every_node() -> None:
    _, plan, _, _ = train_step_plan()
    source = plan.source()
    compile(source, "<test>", "exec")
    assert source.startswith("# Generated by minitorch.graph.wrapper")
    assert "def train_step(feeds):" in source
    for node in plan.graph.nodes:
        assert f"# %{node.id}:" in source
    assert "fused_" in source and "matmul_kernel(" in source and "_threads(1)" in source


def test_conv_graph_runs_window_ops_through_the_plan_kernels() -> None:
    rng = np.random.default_rng(2)
    x = minitorch.tensor(rng.standard_normal((2, 1, 6, 6)), backend="fast")
    conv = nn.Conv2d(1, 2, 3, seed=0, backend="fast")

    def net(x: Tensor) -> Tensor:
        return minitorch.nn.functional.max_pool2d(conv(x).relu(), 2).sum()

    out = minitorch.compile(net)
    np.testing.assert_allclose(out(x).numpy(), net(x).numpy(), rtol=1e-12)
    assert "conv(_td(" in out.source()


def test_feeds_unlike_the_compiled_ones_run_the_steps() -> None:
    """A plan fed another dtype than it was generated for steps through its nodes instead."""
    x, w = inputs(0, "simple")
    graph = minitorch.compile(chain).graph(x, w)
    plan = Plan(graph, x.backend)
    expected = plan.run(feeds_for(graph, [x, w]))
    stepped = []
    plan.step = lambda feeds: stepped.append(feeds) or Plan.step(plan, feeds)  # type: ignore[method-assign]
    feeds = feeds_for(graph, [x, w])
    as32 = {i: TensorData(t.to_numpy().astype(np.float32).reshape(-1), t.shape) for i, t in feeds.items()}
    got = plan.run(as32)
    assert len(stepped) == 1
    for i in expected:
        np.testing.assert_allclose(got[i].to_numpy(), expected[i].to_numpy(), rtol=1e-5)


def test_listening_runs_the_steps_so_kernels_are_reported() -> None:
    x, w = inputs(1, "fast")
    compiled = minitorch.compile(chain)
    compiled(x, w)
    with minitorch.profiler.profile() as prof:
        compiled(x, w)
    assert any("fused" in event.kernel for event in prof.launches)


@pytest.mark.parametrize("backend", ["simple", "fast"])
def test_casts_share_buffers_across_dtypes(backend: str) -> None:
    """float32 values among float64 ones: the memory plan puts both in one buffer, which the
    wrapper allocates as bytes and views with each value's dtype."""
    graph = Graph()
    x = graph.add("input", [], (6,), "float64", name="x")
    a = graph.add("exp", [x.id], (6,), "float64")
    b = graph.add("cast", [a.id], (6,), "float32", to="float32")
    c = graph.add("neg", [b.id], (6,), "float32")
    d = graph.add("cast", [c.id], (6,), "float64", to="float64")
    e = graph.add("sigmoid", [d.id], (6,), "float64")
    graph.outputs = [e.id]
    graph = passes.memory_planning(graph)
    assert graph.memory.buffer_for(c.id) == graph.memory.buffer_for(a.id)  # type: ignore[attr-defined]
    feeds = {x.id: TensorData(np.linspace(-1, 1, 6), (6,))}
    plan = Plan(graph, minitorch.backends.get_backend(backend))
    assert "uint8" in plan.source() and ".view(float64)" in plan.source()
    expected = 1 / (1 + np.exp(np.exp(np.linspace(-1, 1, 6)).astype(np.float32).astype(np.float64)))
    np.testing.assert_array_equal(plan.run(feeds)[e.id].to_numpy(), plan.step(feeds)[e.id].to_numpy())
    np.testing.assert_allclose(plan.run(feeds)[e.id].to_numpy(), expected, rtol=1e-12)
