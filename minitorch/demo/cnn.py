"""Module 4 — a LeNet-style CNN on handwritten digits: scikit-learn's 8x8, or MNIST's 28x28.

    python -m minitorch.demo --model cnn                       # 8x8 digits, fast backend
    python -m minitorch.demo --model cnn --mnist FOLDER        # MNIST's IDX files in FOLDER

conv 3x3 (same size) -> ReLU -> max-pool 2 -> conv 3x3 -> ReLU -> max-pool 2 -> flatten -> linear:
an 8x8 image becomes 16 maps of 2x2, a 28x28 one 16 maps of 7x7, then 10 class scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import data, nn, optim
from ..conv import Conv2d, max_pool2d
from ..module import Module
from ..tensor import Tensor
from .tensor_train import EpochStats, evaluate, train


class LeNet(Module):
    """Two conv + pool stages and a linear classifier, for square images of side `side`."""

    def __init__(
        self,
        side: int = 8,
        channels: tuple[int, int] = (8, 16),
        classes: int = 10,
        backend: str = "fast",
        seed: int = 0,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.conv1 = Conv2d(1, channels[0], 3, padding=1, backend=backend, seed=rng)
        self.conv2 = Conv2d(channels[0], channels[1], 3, padding=1, backend=backend, seed=rng)
        self.side = side
        self.fc = nn.Linear(channels[1] * (side // 4) ** 2, classes, backend=backend, seed=rng)

    def forward(self, x: Tensor) -> Tensor:
        x = x.contiguous().view(x.shape[0], 1, self.side, self.side)  # rows of pixels -> images
        x = max_pool2d(self.conv1(x).relu(), 2)
        x = max_pool2d(self.conv2(x).relu(), 2)
        return self.fc(x.contiguous().view(x.shape[0], -1))


@dataclass
class CNNResult:
    model: LeNet
    history: list[EpochStats]
    test_accuracy: float


def cnn_datasets(mnist: str | None = None, seed: int = 0) -> tuple[data.TensorDataset, data.TensorDataset, int]:
    """(train, test, image side): 8x8 digits, or MNIST from the IDX files in the folder `mnist`."""
    if mnist:
        return data.load_mnist(mnist, "train"), data.load_mnist(mnist, "test"), 28
    return data.load_digits("train", seed=seed), data.load_digits("test", seed=seed), 8


def train_cnn(
    epochs: int = 10,
    backend: str = "fast",
    seed: int = 0,
    lr: float = 0.01,
    batch: int = 32,
    mnist: str | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> CNNResult:
    """Train LeNet with Adam and cross-entropy, the learning rate annealed along a cosine
    from `lr` to 0 over the epochs; report the test accuracy."""
    train_set, test_set, side = cnn_datasets(mnist, seed)
    model = LeNet(side, backend=backend, seed=seed)
    loader = data.DataLoader(train_set, batch_size=batch, shuffle=True, seed=seed, backend=backend)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    def epoch_done(stats: EpochStats) -> None:
        schedule.step()
        if on_epoch is not None:
            on_epoch(stats)

    history = train(model, loader, nn.cross_entropy, optimizer, epochs, epoch_done)
    accuracy = evaluate(model, test_set.X, test_set.y, backend=backend)
    return CNNResult(model, history, accuracy)
