"""Module 4: a tensor MLP learns the toy datasets and the 8x8 digits (fixed seeds, deterministic)."""

from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch import data, nn, optim
from minitorch.demo.tensor_train import EpochStats, evaluate, predicted_classes, train
from minitorch.nn import MLP

# The Numba backend when it exists: the same numbers, many times faster than Python loops.
TRAIN_BACKEND = "fast" if "fast" in minitorch.available_backends() else "simple"

# dataset -> (hidden units, Adam learning rate, model seed, epochs); 50 points from dataset seed 1,
# full batch. Each reaches >= 95% in about half of its epochs (measured), so seeds are not lucky picks.
TOY_CONFIGS = {
    "simple": (8, 0.1, 0, 30),
    "diag": (12, 0.1, 0, 40),
    "xor": (12, 0.05, 0, 70),
    "circle": (12, 0.05, 0, 90),
}


@pytest.mark.parametrize("dataset", sorted(TOY_CONFIGS))
def test_mlp_reaches_95_percent_on_toy_dataset(dataset: str) -> None:
    hidden, lr, seed, epochs = TOY_CONFIGS[dataset]
    points = data.toy_dataset(dataset, 50, seed=1)
    model = MLP([2, hidden, hidden, 2], seed=seed, backend=TRAIN_BACKEND)
    loader = data.DataLoader(points, batch_size=len(points), backend=TRAIN_BACKEND)
    history = train(model, loader, nn.cross_entropy, optim.Adam(model.parameters(), lr=lr), epochs)
    assert history[-1].loss < history[0].loss / 4
    assert evaluate(model, points.X, points.y) >= 0.95, f"{dataset}: {history[-1]}"


def test_mlp_reaches_90_percent_test_accuracy_on_digits() -> None:
    """1438 training images, 4 epochs of minibatch Adam; held-out 359 images (measured: 95%)."""
    train_set, test_set = data.load_digits("train"), data.load_digits("test")
    model = MLP([64, 32, 10], seed=0, backend=TRAIN_BACKEND)
    loader = data.DataLoader(train_set, batch_size=64, shuffle=True, seed=0, backend=TRAIN_BACKEND)
    history = train(model, loader, nn.cross_entropy, optim.Adam(model.parameters(), lr=0.01), epochs=4)
    assert history[-1].accuracy > history[0].accuracy
    assert evaluate(model, test_set.X, test_set.y) >= 0.90


def test_mlp_layers_and_parameters() -> None:
    model = MLP([4, 6, 5, 3], activation="tanh", seed=0)
    kinds = [type(layer).__name__ for layer in model.layers._modules.values()]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    shapes = [p.value.shape for p in model.parameters()]
    assert shapes == [(6, 4), (6,), (5, 6), (5,), (3, 5), (3,)]
    out = model(minitorch.tensor(np.ones((2, 4))))
    assert out.shape == (2, 3)
    # Layers draw from one generator: no two layers start with the same numbers.
    first, second = (model.layers[i].weight.value.numpy().ravel()[:4] for i in (0, 2))
    assert not np.array_equal(first, second)
    again = MLP([4, 6, 5, 3], activation="tanh", seed=0)
    assert all(np.array_equal(a.value.numpy(), b.value.numpy()) for a, b in zip(model.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="activation 'gelu'"):
        MLP([2, 2], activation="gelu")
    with pytest.raises(ValueError, match="sizes"):
        MLP([2])


def test_train_reports_each_epoch_and_evaluate_restores_mode() -> None:
    points = data.toy_dataset("simple", 20, seed=0)
    model = MLP([2, 4, 2], seed=0, dtype="float32")
    seen: list[EpochStats] = []
    loader = data.DataLoader(points, batch_size=8, shuffle=True, seed=0, dtype="float32")
    history = train(model, loader, nn.cross_entropy, optim.SGD(model.parameters(), lr=0.5), 3, on_epoch=seen.append)
    assert seen == history and [s.epoch for s in history] == [1, 2, 3]
    assert all(s.seconds > 0 and 0.0 <= s.accuracy <= 1.0 and np.isfinite(s.loss) for s in history)
    assert model.layers[0].weight.value.dtype == np.float32
    accuracy = evaluate(model, points.X, minitorch.tensor(points.y), batch_size=7)
    assert 0.0 <= accuracy <= 1.0 and model.training
    model.eval()
    evaluate(model, points.X, points.y)
    assert not model.training


def test_predicted_classes() -> None:
    np.testing.assert_array_equal(predicted_classes(minitorch.tensor([[0.1, 0.9], [2.0, -1.0]])), [1, 0])
    np.testing.assert_array_equal(predicted_classes(minitorch.tensor([[0.3], [-0.2]])), [1, 0])  # one logit
