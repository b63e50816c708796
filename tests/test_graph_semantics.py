"""Graph mode keeps eager semantics: for each case, the compiled function gives the eager
values and gradients, and retraces (or feeds fresh inputs) where eager code would see a change."""

from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch import nn, tensor


def grads_of(fn, values, **kwargs):
    """(output values, x.grad) of `fn(x)` with a loss summing every output and x itself."""
    x = tensor(values, requires_grad=True)
    out = fn(x, **kwargs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = x.sum()
    for o in outs:
        loss = loss + o.sum()
    loss.backward()
    return [o.numpy() for o in outs], x.grad.numpy()


# ## Several outputs: the backward of a compiled call combines the gradients of all outputs


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: (x, x * x),  # an output that is the input itself
        lambda x: (x * 2.0, x * x),
        lambda x: (x.exp(), (x * x).sum(), x.sigmoid()),
        lambda x: [x * x, x * x],  # a list; one value used twice
    ],
)
def test_several_outputs_get_every_gradient(fn) -> None:
    eager_values, eager_grad = grads_of(fn, [2.0, 3.0])
    values, grad = grads_of(minitorch.compile(fn), [2.0, 3.0])
    for e, c in zip(eager_values, values):
        np.testing.assert_allclose(c, e)
    np.testing.assert_allclose(grad, eager_grad)


def test_the_issue_example_gives_6_and_8() -> None:
    x = tensor([2.0, 3.0], requires_grad=True)
    a, b = minitorch.compile(lambda x: (x, x * x))(x)
    (a.sum() + b.sum() + x.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])  # 1 + 2x + 1


def test_only_the_outputs_used_send_gradients() -> None:
    x = tensor([1.0, 2.0], requires_grad=True)
    a, b = minitorch.compile(lambda x: (x * 3.0, x * x))(x)
    b.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# ## Dropout: the module's training flag is in the key; the mask is fresh on every call


def test_dropout_draws_a_fresh_mask_per_call_and_eval_is_the_identity() -> None:
    layer = nn.Dropout(0.5, seed=0)
    compiled = minitorch.compile(layer)
    x = minitorch.ones((8, 8))
    first, second = compiled(x).numpy(), compiled(x).numpy()
    assert set(np.unique(first)) <= {0.0, 2.0} and set(np.unique(second)) <= {0.0, 2.0}
    assert not np.array_equal(first, second)  # P(equal masks) = 2**-64
    layer.eval()
    np.testing.assert_array_equal(compiled(x).numpy(), x.numpy())
    layer.train()
    assert set(np.unique(compiled(x).numpy())) <= {0.0, 2.0}
    assert compiled.compile_count == 2  # one trace per training flag


def test_compiled_dropout_draws_what_eager_draws() -> None:
    """Same generator seed: call after call, the compiled masks are the eager masks."""
    eager_layer, graph_layer = nn.Dropout(0.3, seed=7), nn.Dropout(0.3, seed=7)
    compiled = minitorch.compile(graph_layer)
    for _ in range(3):
        eager_x = tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        graph_x = tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        eager_y, graph_y = eager_layer(eager_x), compiled(graph_x)
        np.testing.assert_array_equal(graph_y.numpy(), eager_y.numpy())
        eager_y.sum().backward()
        graph_y.sum().backward()
        np.testing.assert_array_equal(graph_x.grad.numpy(), eager_x.grad.numpy())  # grad = the mask


def test_dropout_inside_a_model_follows_eval() -> None:
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Dropout(0.5, seed=1))
    compiled = minitorch.compile(model)
    x = tensor(np.ones((2, 3)))
    compiled(x)
    model.eval()
    np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy())


# ## Guards: what the trace read is checked; a change traces again


def test_a_captured_tensor_changed_in_place_is_seen() -> None:
    scale = tensor([1.0, 2.0])
    compiled = minitorch.compile(lambda x: x * scale)
    x = tensor([3.0, 4.0])
    np.testing.assert_allclose(compiled(x).numpy(), [3.0, 8.0])
    scale.copy_(np.array([10.0, 20.0]))
    np.testing.assert_allclose(compiled(x).numpy(), [30.0, 80.0])
    assert compiled.compile_count == 2


def test_a_rebound_closure_variable_is_seen() -> None:
    scale = tensor([1.0, 2.0])

    def f(x):
        return x * scale

    compiled = minitorch.compile(f)
    x = tensor([3.0, 4.0])
    compiled(x)
    scale = tensor([5.0, 5.0])  # noqa: F841 (read by f)
    np.testing.assert_allclose(compiled(x).numpy(), [15.0, 20.0])


def test_a_captured_tensor_that_requires_grad_gets_its_gradient() -> None:
    w = tensor([1.0, -2.0], requires_grad=True)
    compiled = minitorch.compile(lambda x: (x * w).sigmoid().sum())
    x = tensor([0.5, 1.5], requires_grad=True)
    compiled(x).backward()
    ew, ex = tensor([1.0, -2.0], requires_grad=True), tensor([0.5, 1.5], requires_grad=True)
    (ex * ew).sigmoid().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), ew.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), ex.grad.numpy())
    w.copy_(np.array([3.0, 3.0]))  # fed on every call: no retrace needed
    np.testing.assert_allclose(compiled(x).item(), (1 / (1 + np.exp(-3.0 * np.array([0.5, 1.5])))).sum())
    assert compiled.compile_count == 1


def test_a_captured_model_gets_gradients_and_follows_eval() -> None:
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Dropout(0.5, seed=0))
    compiled = minitorch.compile(lambda x: model(x).sum())
    x = tensor([[1.0, 2.0]])
    compiled(x)  # traced in training mode
    model.eval()
    y = compiled(x)
    y.backward()
    grads = [p.value.grad.numpy() for p in model.parameters()]
    model.zero_grad()
    expected = model(x).sum()
    expected.backward()
    np.testing.assert_allclose(y.item(), expected.item())
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.value.grad.numpy())


def test_a_module_attribute_changed_after_compiling_is_seen() -> None:
    class Scale(minitorch.Module):
        def __init__(self) -> None:
            super().__init__()
            self.factor = 2.0

        def forward(self, x):
            return x * self.factor

    module = Scale()
    compiled = minitorch.compile(module)
    x = tensor([1.0, 2.0])
    np.testing.assert_allclose(compiled(x).numpy(), [2.0, 4.0])
    module.factor = 5.0
    np.testing.assert_allclose(compiled(x).numpy(), [5.0, 10.0])


def test_numpy_arguments_with_the_same_repr_do_not_share_a_trace() -> None:
    a, b = np.zeros(2000), np.zeros(2000)
    b[1000] = 1.0
    assert repr(a) == repr(b)  # numpy elides the middle of long arrays
    compiled = minitorch.compile(lambda x, arr: x + tensor(arr))
    x = minitorch.zeros((2000,))
    assert compiled(x, a).numpy()[1000] == 0.0
    assert compiled(x, b).numpy()[1000] == 1.0


def test_numbers_are_keyed_by_type_and_value() -> None:
    compiled = minitorch.compile(lambda x, k: x * k)
    x = tensor([1.0, 2.0])
    np.testing.assert_allclose(compiled(x, 2.0).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(compiled(x, 3.0).numpy(), [3.0, 6.0])
    np.testing.assert_allclose(compiled(x, 2.0).numpy(), [2.0, 4.0])
    assert compiled.compile_count == 2


# ## Backends and keyword arguments


def test_backend_override_keeps_results_and_gradients_on_the_inputs_backend() -> None:
    x = tensor([1.0, 2.0], requires_grad=True)
    y = minitorch.compile(lambda x: (x * x).sum(), backend="fast")(x)
    y.backward()
    assert y.backend.name == "simple" and x.grad.backend.name == "simple"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_keyword_arguments_tensors_are_inputs_others_are_keys() -> None:
    def f(x, *, w, power=2):
        return (x * w) ** power if power != 1 else x * w

    compiled = minitorch.compile(f)
    for power in (2, 1, 2):
        x, w = tensor([1.0, 2.0], requires_grad=True), tensor([3.0, 4.0], requires_grad=True)
        compiled(x, w=w, power=power).sum().backward()
        ex, ew = tensor([1.0, 2.0], requires_grad=True), tensor([3.0, 4.0], requires_grad=True)
        f(ex, w=ew, power=power).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), ex.grad.numpy())
        np.testing.assert_allclose(w.grad.numpy(), ew.grad.numpy())
    assert compiled.compile_count == 2


def test_tensors_inside_containers_are_inputs() -> None:
    compiled = minitorch.compile(lambda pair: pair[0] * pair[1])
    a, b = tensor([1.0, 2.0], requires_grad=True), tensor([3.0, 4.0])
    compiled((a, b)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(compiled((a, tensor([5.0, 6.0]))).numpy(), [5.0, 12.0])
    assert compiled.compile_count == 1


def test_compiled_train_step_draws_a_fresh_dropout_mask_each_step_and_obeys_eval() -> None:
    from minitorch.graph import CompiledTrainStep

    model = nn.Sequential(nn.Linear(4, 8, seed=0), nn.Dropout(0.5, seed=1), nn.Linear(8, 1, seed=2))
    step = CompiledTrainStep(model, lambda out, y: ((out - y) * (out - y)).mean(), lr=0.0)  # lr 0: weights stay
    x, y = tensor(np.ones((16, 4))), tensor(np.zeros((16, 1)))
    losses = {step(x, y) for _ in range(4)}
    assert len(losses) > 1  # a new mask each step (a mask frozen at trace time gives one loss)
    model.eval()
    eval_losses = {step(x, y) for _ in range(3)}
    assert len(eval_losses) == 1 and step.compile_count == 2  # eval(): retraced, no dropout
    with minitorch.no_grad():
        expected = ((model(x) - y) * (model(x) - y)).mean().item()
    assert eval_losses.pop() == pytest.approx(expected)


@pytest.mark.parametrize("backend", ["simple", "fast"])
def test_compiling_a_mixed_dtype_function_with_gradients(backend: str) -> None:
    """float32 weights times float64 data: the float32 leaf's gradient is cast back to float32
    by a `cast` node of the compiled backward graph, as eager mode casts it."""

    def f(w: minitorch.Tensor, x: minitorch.Tensor) -> minitorch.Tensor:
        return ((w * x).sigmoid() * x).sum()

    rng = np.random.default_rng(0)
    w_data, x_data = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4))
    grads = []
    for fn in (f, minitorch.compile(f)):
        w = tensor(w_data, dtype="float32", backend=backend, requires_grad=True)
        x = tensor(x_data, backend=backend)
        out = fn(w, x)
        assert out.dtype == np.float64
        out.backward()
        assert w.grad.dtype == np.float32 and w.grad.backend.name == backend
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)
    s = 1 / (1 + np.exp(-(w_data.astype(np.float64) * x_data)))
    np.testing.assert_allclose(grads[0], (s * (1 - s) * x_data * x_data).astype(np.float32), rtol=1e-5)


def test_cast_is_an_ir_op_that_exports_to_onnx() -> None:
    from minitorch.graph import Graph
    from minitorch.graph.onnx import run_onnxruntime, to_onnx

    graph = Graph()
    x = graph.add("input", [], (2, 2), "float64", name="x")
    graph.outputs = [graph.add("cast", [x.id], (2, 2), "float32", to="float32").id]
    graph.check()
    data = np.array([[1.5, -2.25], [1e-3, 3.0]])
    (result,) = run_onnxruntime(to_onnx(graph), data)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, data.astype(np.float32))
