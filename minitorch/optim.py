"""Module 4 — optimizers: turn each parameter's `.grad` into an update, API after `torch.optim`.

    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

An update is plain arithmetic on numpy copies of the values, outside the graph; the result
is written back into the parameter's own storage (`Tensor.copy_`), so the model, the optimizer
and anyone else holding the parameter keep seeing the same tensor. The formulas are
PyTorch's, step for step, so results can be compared with it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .module import Parameter
from .tensor import Tensor


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and the hyperparameters.

    `state[i]` is a dict of numpy arrays (and counters) for parameter `i`, in the order the
    parameters were given; subclasses fill it in `update`.
    """

    def __init__(self, params: Iterable[Parameter | Tensor], **hyperparameters: Any) -> None:
        # A Parameter is a Tensor, and a bare Tensor works too: `SGD([w], lr=0.1)` as in PyTorch.
        self.parameters: list[Tensor] = list(params)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        for p in self.parameters:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: expected Parameters holding Tensors (model.parameters()), got {p!r}"
                )
        self.hyperparameters: dict[str, Any] = hyperparameters
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (the next backward starts from zero)."""
        for p in self.parameters:
            p.zero_grad_()

    def step(self) -> None:
        """Update every parameter that has a gradient; parameters with `grad is None` are skipped."""
        for index, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            value = p.numpy()
            grad = p.grad.numpy().astype(value.dtype)
            state = self.state.setdefault(index, {})
            p.copy_(self.update(value, grad, state))

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """The new value of one parameter (subclasses: the update rule)."""
        raise NotImplementedError(f"{type(self).__name__} must define update() (abstract)")

    # -- checkpoints -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A copy of everything needed to resume: per-parameter state and hyperparameters.

        PyTorch's layout, with one group:
        `{"state": {0: {"momentum_buffer": array}, ...},
          "param_groups": [{"lr": ..., "params": [0, 1, ...]}]}`
        """
        group = {**self.hyperparameters, "params": list(range(len(self.parameters)))}
        return {"state": copy.deepcopy(self.state), "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`; checks everything before changing anything."""
        name = type(self).__name__
        try:
            (group,) = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{name}.load_state_dict: not an optimizer state dict ({error!r})") from None
        group = dict(group)
        params = group.pop("params", [])
        if set(group) != set(self.hyperparameters):
            raise ValueError(
                f"{name}.load_state_dict: the state has settings {sorted(group)}, this optimizer has "
                f"{sorted(self.hyperparameters)} (a state dict of another optimizer?)"
            )
        if len(params) != len(self.parameters):
            raise ValueError(
                f"{name}.load_state_dict: the state is for {len(params)} parameters, this optimizer has "
                f"{len(self.parameters)}"
            )
        for index, entries in saved_state.items():
            if not 0 <= int(index) < len(self.parameters):
                raise ValueError(f"{name}.load_state_dict: state for parameter {index} that does not exist")
            expected = self.parameters[int(index)].shape
            for key, value in entries.items():
                if isinstance(value, np.ndarray) and value.shape != expected:
                    raise ValueError(
                        f"{name}.load_state_dict: state[{index}][{key!r}] has shape {value.shape}, "
                        f"parameter {index} has shape {expected}"
                    )
        self.hyperparameters.update(group)
        self.state = {int(i): copy.deepcopy(dict(entries)) for i, entries in saved_state.items()}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum $\\mu$ and weight decay $\\lambda$:

    $$g = \\nabla_\\theta L + \\lambda\\theta, \\qquad
      b \\leftarrow \\mu b + g \\ (b = g \\text{ on the first step}), \\qquad
      \\theta \\leftarrow \\theta - \\eta\\, b$$

    (without momentum, $\\theta \\leftarrow \\theta - \\eta g$).
    """

    def __init__(
        self,
        params: Iterable[Parameter | Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        if lr < 0.0 or momentum < 0.0 or weight_decay < 0.0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        lr, momentum, weight_decay = (self.hyperparameters[k] for k in ("lr", "momentum", "weight_decay"))
        if weight_decay != 0.0:
            grad = grad + weight_decay * value
        if momentum != 0.0:
            buffer = state.get("momentum_buffer")
            grad = grad.copy() if buffer is None else momentum * buffer + grad
            state["momentum_buffer"] = grad
        return value - lr * grad


class Adam(Optimizer):
    """Adam: running averages of the gradient and its square, bias-corrected.

    $$g = \\nabla_\\theta L + \\lambda\\theta, \\quad m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
      v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2$$
    $$\\theta \\leftarrow \\theta - \\frac{\\eta}{1-\\beta_1^t}\\,
      \\frac{m}{\\sqrt{v}/\\sqrt{1-\\beta_2^t} + \\epsilon}$$

    at step $t = 1, 2, \\ldots$ (the $1-\\beta^t$ terms undo the pull towards the zero start).
    """

    def __init__(
        self,
        params: Iterable[Parameter | Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if lr < 0.0 or eps < 0.0 or weight_decay < 0.0:
            raise ValueError(f"Adam: lr, eps and weight_decay must be >= 0, got {lr}, {eps}, {weight_decay}")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        lr, eps, weight_decay = (self.hyperparameters[k] for k in ("lr", "eps", "weight_decay"))
        beta1, beta2 = self.hyperparameters["betas"]
        if weight_decay != 0.0:
            grad = grad + weight_decay * value
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(value), exp_avg_sq=np.zeros_like(value))
        state["step"] += 1
        step = state["step"]
        state["exp_avg"] = beta1 * state["exp_avg"] + (1.0 - beta1) * grad
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * grad * grad
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        denominator = np.sqrt(state["exp_avg_sq"]) / math.sqrt(bias_correction2) + eps
        return value - (lr / bias_correction1) * state["exp_avg"] / denominator


__all__ = ["SGD", "Adam", "Optimizer"]
