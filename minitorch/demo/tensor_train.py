"""Module 4 — the training loop that fits a tensor model, such as `nn.MLP`.

    model = nn.MLP([64, 32, 10], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = train(model, DataLoader(data, batch_size=64, shuffle=True, seed=0),
                    nn.cross_entropy, optimizer, epochs=10)
    evaluate(model, test.X, test.y)      # fraction classified correctly

One epoch = for each batch: forward, loss, `zero_grad`, `backward`, `optimizer.step()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..autodiff import no_grad
from ..backends.base import TensorBackend
from ..data import DataLoader, TensorDataset
from ..module import Module
from ..optim import Optimizer
from ..tensor import Tensor


def predicted_classes(output: Tensor) -> np.ndarray:
    """Class of each row: the argmax of (N, C) scores; for one output per row, `logit > 0`."""
    scores = output.numpy()
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    return (scores.reshape(len(scores)) > 0).astype(np.int64)


def count_correct(output: Tensor, target: Tensor) -> int:
    return int(np.sum(predicted_classes(output) == target.numpy().reshape(-1)))


@dataclass
class EpochStats:
    """One epoch of training: mean loss over batches, training accuracy, wall time."""

    epoch: int
    loss: float
    accuracy: float
    seconds: float


def train_epoch(
    model: Module, loader: DataLoader, loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: Optimizer
) -> tuple[float, float]:
    """One pass over the loader; (mean batch loss, fraction of rows classified correctly)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in loader:
        output = model(X)
        loss = loss_fn(output, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        correct += count_correct(output, y)
        seen += len(y)
    return total_loss / max(len(loader), 1), correct / max(seen, 1)


def train(
    model: Module,
    loader: DataLoader,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    optimizer: Optimizer,
    epochs: int,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> list[EpochStats]:
    """Run `epochs` epochs; returns each one's stats, and shows each to `on_epoch` as it ends."""
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        loss, accuracy = train_epoch(model, loader, loss_fn, optimizer)
        stats = EpochStats(epoch, loss, accuracy, time.perf_counter() - start)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    return history


def evaluate(
    model: Module,
    X: np.ndarray | Tensor,
    y: np.ndarray | Tensor,
    batch_size: int = 512,
    backend: str | TensorBackend | None = None,
) -> float:
    """Fraction of rows of `X` whose predicted class equals `y`, in eval mode and without a graph.

    Batches go to `backend`, by default the backend and dtype of the model's first parameter.
    """
    first = next(iter(model.parameters()), None)
    if backend is None and first is not None:
        backend = first.value.backend
    dtype = first.value.dtype if first is not None else None
    was_training = model.training
    model.eval()
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, backend=backend, dtype=dtype)
    correct = 0
    with no_grad():
        for X_batch, y_batch in loader:
            correct += count_correct(model(X_batch), y_batch)
    if was_training:
        model.train()
    return correct / max(len(loader.dataset), 1)


__all__ = ["EpochStats", "evaluate", "predicted_classes", "train", "train_epoch"]
