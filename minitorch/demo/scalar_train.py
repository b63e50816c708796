"""Module 1 — the training loop that fits a `ScalarNetwork` to a toy dataset.

Full-batch gradient descent: the loss summed over all points, one `backward()`, then every
weight moves against its gradient,

    w <- w - lr * dL/dw
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..datasets import Points
from ..scalar import Scalar
from ..scalar_nn import ScalarNetwork, binary_log_loss


@dataclass
class EpochStats:
    """One epoch: the loss summed over the points, and how many were classified correctly."""

    epoch: int
    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


@dataclass
class ScalarTrainer:
    """Full-batch gradient descent of a `ScalarNetwork` on a toy dataset."""

    hidden: int = 4
    learning_rate: float = 0.5
    seed: int = 0
    history: list[EpochStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = ScalarNetwork(self.hidden, self.seed)

    def predict(self, point: Sequence[float]) -> float:
        """P(label = 1) for one point."""
        return self.model.forward([Scalar(v, requires_grad=False) for v in point]).data

    def train(
        self,
        data: Points,
        epochs: int,
        on_epoch: Callable[[EpochStats], None] | None = None,
    ) -> list[EpochStats]:
        """Run `epochs` epochs; `on_epoch` sees each epoch's loss and accuracy."""
        for epoch in range(1, epochs + 1):
            stats = self.train_epoch(data, epoch)
            self.history.append(stats)
            if on_epoch is not None:
                on_epoch(stats)
        return self.history

    def train_epoch(self, data: Points, epoch: int) -> EpochStats:
        """One step: loss summed over all points, backward, update every parameter."""
        self.model.zero_grad()
        total_loss, correct = 0.0, 0
        for point, label in zip(data.X, data.y):
            prob = self.predict_scalar(point)
            loss = binary_log_loss(prob, label) / data.N
            loss.backward()
            total_loss += loss.data
            correct += int((prob.data > 0.5) == (label == 1))
        for parameter in self.model.parameters():
            scalar: Any = parameter.value  # a ScalarParameter's Scalar (parameters() is typed for Tensors)
            if scalar.grad is not None:
                parameter.update(Scalar(scalar.data - self.learning_rate * scalar.grad))
        return EpochStats(epoch, total_loss, correct, data.N)

    def predict_scalar(self, point: Sequence[float]) -> Scalar:
        return self.model.forward([Scalar(v, requires_grad=False) for v in point])
