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

Parameters come in `param_groups`, a list of dicts as in PyTorch: each holds its `"params"`
and its own settings (`opt.param_groups[0]["lr"] = 0.01` changes the learning rate of the
next step; `optim.lr_scheduler` does exactly that).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import events
from ..module import Parameter
from ..tensor import Tensor

Params = Iterable[Parameter | Tensor] | Iterable[dict[str, Any]]


def _check_number(op: str, name: str, value: Any, low: float = 0.0) -> None:
    """A clear error unless `value` is a real number >= `low` (bools and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: argument '{name}' must be a number, got {value!r} ({type(value).__name__})")
    number: Any = value  # a Real: compare it as given (nan included)
    if not number >= low:  # also catches nan
        raise ValueError(f"{op}: argument '{name}' must be >= {low}, got {value}")


def _check_betas(op: str, betas: Any) -> tuple[float, float]:
    """`betas` as a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{op}: argument 'betas' must be a pair (beta1, beta2), got {betas!r}")
    for beta in betas:
        _check_number(op, "betas", beta)
        if not beta < 1.0:
            raise ValueError(f"{op}: betas must be in [0, 1), got {betas}")
    return (float(betas[0]), float(betas[1]))


class Optimizer:
    """Base class: holds the parameter groups and the per-parameter state.

    `state[i]` is a dict of numpy arrays (and counters) for parameter `i`, counting through
    all groups in order; subclasses fill it in `update`. A parameter given twice is kept once.
    """

    def __init__(self, params: Params, **defaults: Any) -> None:
        self.defaults: dict[str, Any] = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        given: list[Any] = list(params) if not isinstance(params, (Tensor, Parameter)) else [params]
        groups = given if given and all(isinstance(g, dict) for g in given) else [{"params": given}]
        for group in groups:
            self.add_param_group(group)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group: `{"params": [...], "lr": ...}`; settings it lacks come from the defaults."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with 'params', got {group!r}")
        given = group["params"]
        given = [given] if isinstance(given, (Tensor, Parameter)) else list(given)
        # A Parameter is a Tensor; a bare Tensor works too, so `SGD([w], lr=0.1)` works as in PyTorch.
        params = list(given)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: expected Parameters holding Tensors (model.parameters()) or Tensors, got {p!r}"
                )
        seen = {id(p) for p in self.parameters}
        unique = []
        for p in params:
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        settings = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self.check_settings(settings)
        self.param_groups.append({"params": unique, **settings})

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise a clear error for a bad setting (subclasses: their ranges)."""

    @property
    def parameters(self) -> list[Parameter]:
        """Every parameter of every group, in order (the indices of `state`)."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The settings of the first group (all of them, with one group)."""
        return {k: v for k, v in self.param_groups[0].items() if k != "params"}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (the next backward starts from zero)."""
        for p in self.parameters:
            p.zero_grad_()

    def step(self) -> None:
        """Update every parameter that has a gradient; parameters with `grad is None` are skipped."""
        events.report_optimizer_step(self.parameters)  # closes a training iteration in recordings
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    value = p.numpy()
                    grad = p.grad.numpy().astype(value.dtype)
                    state = self.state.setdefault(index, {})
                    p.copy_(self.update(value, grad, state, group))
                index += 1

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        """The new value of one parameter, with its group's settings (subclasses: the update rule)."""
        raise NotImplementedError(f"{type(self).__name__} must define update() (abstract)")

    # -- checkpoints -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A copy of everything needed to resume: per-parameter state and the groups' settings.

        PyTorch's layout: `{"state": {0: {"momentum_buffer": array}, ...},
          "param_groups": [{"lr": ..., "params": [0, 1, ...]}, ...]}`
        """
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            settings = {k: v for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": list(range(start, start + count))})
            start += count
        return {"state": copy.deepcopy(self.state), "param_groups": groups}

    def _check_groups(self, saved_groups: list[dict[str, Any]]) -> None:
        """The saved groups match ours in number, settings and sizes (else ValueError)."""
        name = type(self).__name__
        counts = [len(g.get("params", [])) for g in saved_groups]
        if len(counts) != len(self.param_groups) or sum(counts) != len(self.parameters):
            raise ValueError(
                f"{name}.load_state_dict: the state is for {sum(counts)} parameters, this optimizer has "
                f"{len(self.parameters)} (in {len(counts)} and {len(self.param_groups)} groups)"
            )
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            keys, ours = set(saved) - {"params"}, set(group) - {"params"}
            if keys != ours:
                raise ValueError(
                    f"{name}.load_state_dict: the state has settings {sorted(keys)}, this optimizer has "
                    f"{sorted(ours)} (a state dict of another optimizer?)"
                )
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group sizes differ: {counts}")

    def _check_state(self, saved_state: dict[Any, dict[str, Any]]) -> None:
        """Each saved state entry is for an existing parameter, with arrays of its shape."""
        name = type(self).__name__
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

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`; checks everything before changing anything."""
        name = type(self).__name__
        try:
            saved_groups = [dict(g) for g in state_dict["param_groups"]]
            saved_state = dict(state_dict["state"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{name}.load_state_dict: not an optimizer state dict ({error!r})") from None
        self._check_groups(saved_groups)
        self._check_state(saved_state)
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {int(i): copy.deepcopy(dict(entries)) for i, entries in saved_state.items()}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum $\\mu$ (Nesterov's too) and weight decay $\\lambda$:

    $$g = \\nabla_\\theta L + \\lambda\\theta, \\qquad
      b \\leftarrow \\mu b + g \\ (b = g \\text{ on the first step}), \\qquad
      \\theta \\leftarrow \\theta - \\eta\\, b$$

    (without momentum, $\\theta \\leftarrow \\theta - \\eta g$; with `nesterov`, the step is
    $\\eta (g + \\mu b)$). The group holds `nesterov` only when it is on.
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        settings: dict[str, Any] = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        if nesterov:
            settings["nesterov"] = True
        super().__init__(params, **settings)

    def check_settings(self, settings: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            _check_number("SGD", name, settings[name])
        if settings.get("nesterov") and settings["momentum"] <= 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        lr, momentum, weight_decay = (group[k] for k in ("lr", "momentum", "weight_decay"))
        if weight_decay != 0.0:
            grad = grad + weight_decay * value
        if momentum != 0.0:
            buffer = state.get("momentum_buffer")
            buffer = grad.copy() if buffer is None else momentum * buffer + grad
            state["momentum_buffer"] = buffer
            grad = grad + momentum * buffer if group.get("nesterov", False) else buffer
        return value - lr * grad


def _adam_step(grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
    """Adam's bias-corrected step $\\eta \\hat m / (\\sqrt{\\hat v} + \\epsilon)$, updating m, v and t in `state`."""
    (beta1, beta2), eps, lr = group["betas"], group["eps"], group["lr"]
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(grad), exp_avg_sq=np.zeros_like(grad))
    state["step"] += 1
    step = state["step"]
    state["exp_avg"] = beta1 * state["exp_avg"] + (1.0 - beta1) * grad
    state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * grad * grad
    bias_correction1 = 1.0 - beta1**step
    bias_correction2 = 1.0 - beta2**step
    denominator = np.sqrt(state["exp_avg_sq"]) / math.sqrt(bias_correction2) + eps
    return (lr / bias_correction1) * state["exp_avg"] / denominator


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
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def check_settings(self, settings: dict[str, Any]) -> None:
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            _check_number(name, key, settings[key])
        settings["betas"] = _check_betas(name, settings["betas"])

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * value
        return value - _adam_step(grad, state, group)


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's AdamW): the decay shrinks $\\theta$ directly,

    $$\\theta \\leftarrow \\theta - \\eta\\lambda\\theta, \\quad \\text{then the Adam step of } g = \\nabla_\\theta L$$
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        decayed = value * (1.0 - group["lr"] * group["weight_decay"])
        return decayed - _adam_step(grad, state, group)


class RMSprop(Optimizer):
    """RMSprop (PyTorch's): divide the gradient by a running root-mean-square of its past values,

    $$g = \\nabla_\\theta L + \\lambda\\theta, \\quad v \\leftarrow \\alpha v + (1-\\alpha) g^2, \\quad
      \\theta \\leftarrow \\theta - \\eta\\, g / (\\sqrt{v} + \\epsilon)$$

    With `centered`, $v$ is replaced by $v - \\bar g^2$ (running mean $\\bar g$); with momentum $\\mu$,
    $b \\leftarrow \\mu b + g / (\\sqrt{v} + \\epsilon)$ and $\\theta \\leftarrow \\theta - \\eta b$.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )

    def check_settings(self, settings: dict[str, Any]) -> None:
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_number("RMSprop", key, settings[key])

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * value
        if not state:
            state.update(step=0, square_avg=np.zeros_like(value))
        state["step"] += 1
        state["square_avg"] = alpha * state["square_avg"] + (1.0 - alpha) * grad * grad
        average = state["square_avg"]
        if group["centered"]:
            state["grad_avg"] = alpha * state.get("grad_avg", np.zeros_like(value)) + (1.0 - alpha) * grad
            average = average - state["grad_avg"] ** 2
        direction = grad / (np.sqrt(average) + eps)
        if momentum > 0.0:
            state["momentum_buffer"] = momentum * state.get("momentum_buffer", np.zeros_like(value)) + direction
            direction = state["momentum_buffer"]
        return value - group["lr"] * direction


from . import lr_scheduler  # noqa: E402, F401 (minitorch.optim.lr_scheduler)

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
