"""Learning-rate schedules after `torch.optim.lr_scheduler`: each `step()` sets every group's "lr".

    scheduler = lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        train_one_epoch(...)      # optimizer.step() inside
        scheduler.step()

Epoch $t$ counts `scheduler.step()` calls (0 right after construction, which sets the
initial rates). Each schedule is PyTorch's closed form in $t$ and the group's base rate
$\\eta_0$ (its "lr" when the scheduler was made).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

LrLambda = Callable[[int], float]  # epoch -> factor of the base lr


class LRScheduler:
    """Base class: `lr_at(base_lr, epoch, group_index)` is the schedule."""

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, base_lr: float, epoch: int, index: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define lr_at() (abstract)")

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups."""
        self.last_epoch += 1
        for index, (group, base) in enumerate(zip(self.optimizer.param_groups, self.base_lrs, strict=True)):
            group["lr"] = self.lr_at(base, self.last_epoch, index)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates the last `step()` set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_epoch, self.base_lrs = int(state["last_epoch"]), list(state["base_lrs"])


def _positive(op: str, name: str, value: Any, integer: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    is_number = not isinstance(value, bool) and isinstance(value, kind)
    if not is_number or not value > 0:
        raise ValueError(
            f"{op}: argument '{name}' must be a positive {'integer' if integer else 'number'}, got {value!r}"
        )


class StepLR(LRScheduler):
    """$\\eta_t = \\eta_0 \\gamma^{\\lfloor t / s \\rfloor}$: multiply by `gamma` every `step_size` epochs."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        _positive("StepLR", "step_size", step_size, integer=True)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int, index: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """$\\eta_t = \\eta_0 \\gamma^t$."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        _positive("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int, index: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """$\\eta_t = \\eta_{min} + \\frac{1}{2}(\\eta_0 - \\eta_{min})(1 + \\cos(\\pi t / T_{max}))$."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _positive("CosineAnnealingLR", "T_max", T_max, integer=True)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int, index: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


class LambdaLR(LRScheduler):
    """$\\eta_t = \\eta_0 \\cdot f(t)$ for a function `lr_lambda` (or one per group)."""

    def __init__(
        self,
        optimizer: Any,
        lr_lambda: LrLambda | list[LrLambda] | tuple[LrLambda, ...],
        last_epoch: int = -1,
    ) -> None:
        groups = len(optimizer.param_groups) if hasattr(optimizer, "param_groups") else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups or not all(callable(f) for f in lambdas):
            raise ValueError(f"LambdaLR: expected a function or {groups} functions (one per group), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int, index: int) -> float:
        return base_lr * self.lr_lambdas[index](epoch)


__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "StepLR"]
