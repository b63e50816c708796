"""nn: layers, activations, softmax, dropout and losses against numpy, gradients against central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minitorch
from minitorch import ShapeError, Tensor, nn


def grad_check(f: Callable[[Tensor], Tensor], x: np.ndarray, atol: float = 1e-6) -> None:
    """Backprop's gradient of the scalar `f(x)` equals central differences, element by element."""
    t = minitorch.tensor(x, requires_grad=True)
    f(t).backward()
    assert t.grad is not None
    analytic = t.grad.numpy()
    for index in np.ndindex(x.shape):

        def f_at(value: float, index: tuple[int, ...] = index) -> float:
            moved = x.copy()
            moved[index] = value
            return f(minitorch.tensor(moved)).item()

        numeric = minitorch.central_difference(f_at, float(x[index]))
        assert analytic[index] == pytest.approx(numeric, abs=atol, rel=1e-5), f"d/dx{index}"


def np_logsoftmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


RNG = np.random.default_rng(0)
X34 = RNG.normal(size=(3, 4))
WEIGHTS = RNG.normal(size=(3, 4))  # random weights make the checked scalar depend on every entry


# ## Linear and Sequential


def test_linear_forward_matches_numpy() -> None:
    layer = nn.Linear(4, 3, seed=0)
    x = RNG.normal(size=(5, 4))
    w, b = layer.weight.value.numpy(), layer.bias.value.numpy()
    assert w.shape == (3, 4) and b.shape == (3,)
    np.testing.assert_allclose(layer(minitorch.tensor(x)).numpy(), x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(layer(minitorch.tensor(x[0])).numpy(), x[0] @ w.T + b, rtol=1e-12)


def test_linear_without_bias_and_float32() -> None:
    layer = nn.Linear(2, 2, bias=False, dtype="float32", seed=1)
    assert layer.bias is None and [name for name, _ in layer.named_parameters()] == ["weight"]
    out = layer(minitorch.tensor(np.ones((1, 2), dtype=np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), layer.weight.value.numpy().sum(1)[None], rtol=1e-6)


def test_linear_init_bounds_and_seed() -> None:
    layer = nn.Linear(25, 40, seed=3)
    bound = 1 / 5
    for p in (layer.weight.value, layer.bias.value):
        values = p.numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() - values.min() > bound  # spread over the interval, not a constant
        assert p.requires_grad
    again = nn.Linear(25, 40, seed=3)
    np.testing.assert_array_equal(layer.weight.value.numpy(), again.weight.value.numpy())
    assert not np.array_equal(nn.Linear(25, 40, seed=4).weight.value.numpy(), layer.weight.value.numpy())


def test_linear_shape_error_names_layer_and_shapes() -> None:
    with pytest.raises(ShapeError, match=r"Linear.*\(2, 3\).*in_features=4"):
        nn.Linear(4, 1, seed=0)(minitorch.zeros((2, 3)))


def test_linear_gradients_match_central_differences() -> None:
    layer = nn.Linear(4, 3, seed=0)
    grad_check(lambda x: (layer(x) * minitorch.tensor(WEIGHTS[:, :3])).sum(), X34)
    layer.zero_grad()
    layer(minitorch.tensor(X34)).sum().backward()
    np.testing.assert_allclose(layer.weight.value.grad.numpy(), np.tile(X34.sum(0), (3, 1)))
    np.testing.assert_allclose(layer.bias.value.grad.numpy(), [3.0, 3.0, 3.0])


def test_sequential_registers_children_in_order() -> None:
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=1))
    assert len(model) == 3 and isinstance(model[1], nn.ReLU)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = minitorch.tensor([[1.0, -2.0]])
    expected = model[2](model[0](x).relu())
    np.testing.assert_array_equal(model(x).numpy(), expected.numpy())


# ## Activations


def test_activation_modules_match_numpy() -> None:
    x = np.linspace(-3, 3, 7)
    t = minitorch.tensor(x)
    np.testing.assert_allclose(nn.ReLU()(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(nn.Sigmoid()(t).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Tanh()(t).numpy(), np.tanh(x), atol=1e-12)
    np.testing.assert_allclose(nn.tanh(minitorch.tensor([-800.0, 800.0])).numpy(), [-1.0, 1.0])


def test_tanh_gradient() -> None:
    grad_check(lambda x: (nn.tanh(x) * minitorch.tensor(WEIGHTS)).sum(), X34)


# ## softmax and logsoftmax


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_logsoftmax_match_numpy(dim: int) -> None:
    t = minitorch.tensor(X34)
    expected = np_logsoftmax(X34, dim)
    np.testing.assert_allclose(nn.logsoftmax(t, dim).numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(nn.softmax(t, dim).numpy(), np.exp(expected), rtol=1e-12)
    np.testing.assert_allclose(nn.softmax(t, dim).numpy().sum(axis=dim), 1.0, rtol=1e-12)


def test_softmax_is_stable_for_huge_inputs() -> None:
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0]])
    t = minitorch.tensor(x, requires_grad=True)
    probs, logprobs = nn.softmax(t, 1), nn.logsoftmax(t, 1)
    assert np.all(np.isfinite(probs.numpy())) and np.all(np.isfinite(logprobs.numpy()))
    np.testing.assert_allclose(logprobs.numpy(), np_logsoftmax(x, 1), rtol=1e-12)
    np.testing.assert_allclose(probs.numpy(), np.exp(np_logsoftmax(x, 1)), rtol=1e-12)
    (logprobs * minitorch.tensor(RNG.normal(size=(3, 3)))).sum().backward()
    assert np.all(np.isfinite(t.grad.numpy()))


def test_softmax_float32_keeps_dtype_and_stability() -> None:
    t = minitorch.tensor(np.array([[100.0, 0.0, -100.0]], dtype=np.float32))
    out = nn.softmax(t, 1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[1.0, np.exp(-100.0), 0.0]], atol=1e-7)


@pytest.mark.parametrize("fn", [nn.softmax, nn.logsoftmax])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_gradients(fn: Callable[[Tensor, int], Tensor], dim: int) -> None:
    grad_check(lambda x: (fn(x, dim) * minitorch.tensor(WEIGHTS)).sum(), X34)


# ## Dropout


def test_dropout_statistics() -> None:
    x = minitorch.ones((200, 50))
    out = nn.dropout(x, p=0.3, seed=0).numpy()
    kept = out != 0
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7])
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    assert out.mean() == pytest.approx(1.0, abs=0.03)  # inverted dropout keeps the expected value


def test_dropout_gradient_uses_the_same_mask() -> None:
    x = minitorch.ones((4, 5), requires_grad=True)
    out = nn.dropout(x, p=0.5, seed=1)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_dropout_module_train_and_eval() -> None:
    layer = nn.Dropout(0.5, seed=0)
    x = minitorch.tensor(RNG.normal(size=(10, 10)))
    first, second = layer(x).numpy(), layer(x).numpy()
    assert not np.array_equal(first, second)  # a new mask each call
    assert np.any(first == 0)
    layer.eval()
    assert layer(x) is x
    np.testing.assert_array_equal(nn.dropout(x, 0.5, training=False).numpy(), x.numpy())
    assert np.all(nn.dropout(x, 1.0).numpy() == 0) and nn.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_dropout_seed_reproducible() -> None:
    x = minitorch.ones((6, 6))
    np.testing.assert_array_equal(nn.dropout(x, 0.5, seed=7).numpy(), nn.dropout(x, 0.5, seed=7).numpy())


# ## Losses

PRED = RNG.normal(size=(3, 4))
TARGET = RNG.normal(size=(3, 4))
PROB = RNG.uniform(0.05, 0.95, size=(3, 4))
LABELS = (RNG.random(size=(3, 4)) > 0.5).astype(float)
CLASSES = np.array([1, 3, 0])


def np_bce(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    def log(v: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(v, nn.BCE_EPS))

    return -(t * log(p) + (1 - t) * log(1 - p))


def test_mse_loss_matches_numpy() -> None:
    pred, target = minitorch.tensor(PRED), minitorch.tensor(TARGET)
    assert nn.mse_loss(pred, target).item() == pytest.approx(np.mean((PRED - TARGET) ** 2), rel=1e-12)
    assert nn.mse_loss(pred, target, "sum").item() == pytest.approx(np.sum((PRED - TARGET) ** 2), rel=1e-12)
    np.testing.assert_allclose(nn.mse_loss(pred, target, "none").numpy(), (PRED - TARGET) ** 2)
    assert nn.MSELoss()(pred, target).item() == pytest.approx(np.mean((PRED - TARGET) ** 2), rel=1e-12)


def test_binary_cross_entropy_matches_numpy() -> None:
    loss = nn.binary_cross_entropy(minitorch.tensor(PROB), minitorch.tensor(LABELS))
    assert loss.item() == pytest.approx(np_bce(PROB, LABELS).mean(), rel=1e-12)


def test_binary_cross_entropy_is_finite_at_0_and_1() -> None:
    p, t = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    prob = minitorch.tensor(p, requires_grad=True)
    loss = nn.binary_cross_entropy(prob, minitorch.tensor(t), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [-np.log(1e-12), -np.log(1e-12), 0.0, 0.0], atol=1e-9)
    loss.sum().backward()
    assert np.all(np.isfinite(prob.grad.numpy()))


def test_binary_cross_entropy_with_logits_matches_numpy_and_is_stable() -> None:
    z = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    t = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    loss = nn.binary_cross_entropy_with_logits(minitorch.tensor(z), minitorch.tensor(t), reduction="none")
    expected = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    small = z[1:4]
    p = 1 / (1 + np.exp(-small))
    np.testing.assert_allclose(loss.numpy()[1:4], -(t[1:4] * np.log(p) + (1 - t[1:4]) * np.log(1 - p)), rtol=1e-10)


def test_nll_and_cross_entropy_match_numpy() -> None:
    logprobs = np_logsoftmax(PRED, 1)
    expected = -logprobs[np.arange(3), CLASSES]
    assert nn.nll_loss(minitorch.tensor(logprobs), CLASSES).item() == pytest.approx(expected.mean(), rel=1e-12)
    for target in (CLASSES.tolist(), minitorch.tensor(CLASSES.astype(float)), CLASSES):
        loss = nn.cross_entropy(minitorch.tensor(PRED), target, reduction="none")
        np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    assert nn.cross_entropy(minitorch.tensor(PRED), CLASSES, "sum").item() == pytest.approx(expected.sum())
    assert nn.CrossEntropyLoss()(minitorch.tensor(PRED), CLASSES).item() == pytest.approx(expected.mean())


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    logits = minitorch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]])
    assert nn.cross_entropy(logits, [0, 1]).item() == 0.0
    assert nn.cross_entropy(logits, [1, 0]).item() == pytest.approx(2000.0)


@pytest.mark.parametrize(
    "loss",
    [
        lambda x: nn.mse_loss(x, minitorch.tensor(TARGET)),
        lambda x: nn.binary_cross_entropy((x * 0.3).sigmoid(), minitorch.tensor(LABELS)),
        lambda x: nn.binary_cross_entropy_with_logits(x, minitorch.tensor(LABELS)),
        lambda x: nn.nll_loss(x, CLASSES),
        lambda x: nn.cross_entropy(x, CLASSES),
    ],
    ids=["mse", "bce", "bce_logits", "nll", "cross_entropy"],
)
def test_loss_gradients(loss: Callable[[Tensor], Tensor]) -> None:
    grad_check(loss, PRED)


def test_cross_entropy_gradient_is_softmax_minus_one_hot() -> None:
    x = minitorch.tensor(PRED, requires_grad=True)
    nn.cross_entropy(x, CLASSES).backward()
    one_hot = np.eye(4)[CLASSES]
    np.testing.assert_allclose(x.grad.numpy(), (np.exp(np_logsoftmax(PRED, 1)) - one_hot) / 3, rtol=1e-10)


def test_loss_errors_name_op_and_shapes() -> None:
    with pytest.raises(ShapeError, match=r"mse_loss.*\(3, 4\).*\(4, 3\)"):
        nn.mse_loss(minitorch.zeros((3, 4)), minitorch.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy.*\(3,\).*\(3, 1\)"):
        nn.binary_cross_entropy(minitorch.zeros((3,)), minitorch.zeros((3, 1)))
    with pytest.raises(ShapeError, match=r"nll_loss.*2 targets.*3 rows"):
        nn.nll_loss(minitorch.zeros((3, 4)), [0, 1])
    with pytest.raises(ShapeError, match=r"cross_entropy.*\(4,\)"):
        nn.cross_entropy(minitorch.zeros((4,)), [0])
    with pytest.raises(ValueError, match=r"out of range \[0, 4\)"):
        nn.cross_entropy(minitorch.zeros((2, 4)), [0, 4])
    with pytest.raises(ValueError, match="whole class indices"):
        nn.nll_loss(minitorch.zeros((2, 4)), [0.5, 1])
    with pytest.raises(ValueError, match="reduction"):
        nn.mse_loss(minitorch.zeros((2,)), minitorch.zeros((2,)), reduction="avg")


def test_copy_writes_in_place() -> None:
    t = minitorch.zeros((2, 3))
    view = t.detach()
    nn.copy_(t, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(view.numpy(), np.arange(6.0).reshape(2, 3))
    transposed = minitorch.zeros((3, 2)).mT  # a non-contiguous view
    nn.copy_(transposed, np.ones((2, 3)))
    np.testing.assert_array_equal(transposed.numpy(), np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"copy_.*\(3,\).*\(2, 3\)"):
        nn.copy_(t, np.zeros(3))
