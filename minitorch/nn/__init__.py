"""Module 4 — neural-network layers, activations and losses, API after `torch.nn`.

Everything here is composed from the primitive tensor ops (`tensor_functions`): a layer is
a `Module` that holds `Parameter`s, an activation or a loss is a few lines of Tensor math.
So every gradient comes from the same engine, with no backward written by hand.

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = nn.cross_entropy(model(x), labels)
    loss.backward()
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import events
from ..backends.base import TensorBackend
from ..conv import AvgPool1d, AvgPool2d, Conv1d, Conv2d, MaxPool1d, MaxPool2d
from ..creation import generator_for
from ..module import Module, Parameter
from ..tensor import Tensor, tensor
from ..tensor_data import ShapeError, get_default_dtype, resolve_dtype

# ## Helpers


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator: the one given, a new one from `seed`, or (None) the global one (`manual_seed`)."""
    return generator_for(seed)


def copy_(target: Tensor, values: np.ndarray | Tensor) -> Tensor:
    """Write `values` into `target`'s storage in place: `target.copy_(values)` (see `Tensor.copy_`)."""
    return target.copy_(values)


def _check_same_shape(op: str, a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{op}: input has shape {a.shape} but target has shape {b.shape}; they must be equal")


def _reduce(losses: Tensor, reduction: str, op: str) -> Tensor:
    """'mean' (default), 'sum' or 'none' of per-element losses."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


# ## Layers


class Linear(Module):
    """$y = x W^T + b$ with weight $W$ of shape (out_features, in_features), bias (out_features,).

    Initialised as in PyTorch: every entry uniform in $[-1/\\sqrt{in}, 1/\\sqrt{in}]$, drawn
    from a numpy Generator seeded with `seed`.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        backend: str | TensorBackend | None = None,
        dtype: Any = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Linear: argument '{name}' must be a positive integer, got {size!r}")
        self.in_features, self.out_features = in_features, out_features
        rng = _rng(seed)
        bound = 1.0 / math.sqrt(in_features)

        def uniform(*shape: int) -> Tensor:
            values = rng.uniform(-bound, bound, size=shape)
            return tensor(values, backend=backend, dtype=resolve_dtype(dtype or get_default_dtype()))

        self.weight = Parameter(uniform(out_features, in_features))
        self.bias = Parameter(uniform(out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.dims == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear: input of shape {x.shape} has last dimension "
                f"{x.shape[-1] if x.dims else None}, expected in_features={self.in_features}"
            )
        out = x @ self.weight.mT
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        has_bias = self.bias is not None
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={has_bias})"


class Sequential(Module):
    """Modules applied one after another: `Sequential(f, g)(x) = g(f(x))`."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential: argument {i} is a {type(layer).__name__}, not a Module "
                    "(wrap a function in a Module subclass, or use nn.ReLU() etc.)"
                )
            setattr(self, str(i), layer)  # registered as children "0", "1", ... (as PyTorch)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self._modules.values():
            x = layer(x)
        return x


from .containers import Flatten, Identity, ModuleDict, ModuleList  # noqa: E402

# ## Activations


def tanh(x: Tensor) -> Tensor:
    """$\\tanh(x)$, the op-table primitive (exact for small x; $\\tanh' = 1 - \\tanh^2$)."""
    return x.tanh()


class ReLU(Module):
    """$\\max(0, x)$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(Module):
    """$\\sigma(x) = 1 / (1 + e^{-x})$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """$\\tanh(x)$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


@events.scoped("softmax")
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """$\\mathrm{softmax}(x)_i = e^{x_i - m} / \\sum_j e^{x_j - m}$ along `dim`, $m = \\max_j x_j$.

    Subtracting the max changes nothing mathematically but keeps every $e^{\\cdot} \\le 1$,
    so inputs like 1000 do not overflow. The max is detached: softmax does not depend on
    it, so no gradient needs to flow through it.
    """
    shifted = x - x.max(dim, keepdim=True).values.detach()
    exps = shifted.exp()
    return exps / exps.sum(dim, keepdim=True)


@events.scoped("log_softmax")
def logsoftmax(x: Tensor, dim: int = -1) -> Tensor:
    """$\\log \\mathrm{softmax}(x)_i = (x_i - m) - \\log \\sum_j e^{x_j - m}$ (the stable logsumexp)."""
    shifted = x - x.max(dim, keepdim=True).values.detach()
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


log_softmax = logsoftmax  # PyTorch's spelling


# ## Dropout


def dropout(x: Tensor, p: float = 0.5, training: bool = True, seed: int | np.random.Generator | None = None) -> Tensor:
    """Zero each element with probability `p` and scale the rest by $1/(1-p)$ (inverted dropout).

    The scaling keeps the expected value: $E[\\mathrm{dropout}(x)] = x$, so at evaluation
    time (`training=False`) the layer is the identity.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    # Drawn through the backend: graph mode feeds a fresh mask into the compiled graph per call.
    mask = x.backend.random(lambda: (_rng(seed).random(x.shape) >= p) / (1.0 - p), x.shape, x.dtype)
    return x * Tensor(mask, backend=x.backend)


class Dropout(Module):
    """`dropout` as a layer: active in `train()` mode, the identity after `eval()`."""

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = None if seed is None else _rng(seed)  # None: the global generator at each call

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.rng)


# ## Losses


@events.scoped("mse_loss")
def mse_loss(pred: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: $\\frac{1}{N}\\sum_i (p_i - t_i)^2$."""
    _check_same_shape("mse_loss", pred, target)
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


# log(p) is clamped at log(BCE_EPS): a confident wrong answer (p = 0) costs ~27.6, not inf.
BCE_EPS = 1e-12


def _clamped_log(p: Tensor) -> Tensor:
    """$\\log(\\max(p, \\epsilon))$, the max built from relu:

    $\\max(p, \\epsilon) = \\mathrm{relu}(p - \\epsilon) + \\epsilon$ (gradient 0 where $p < \\epsilon$).
    """
    return ((p - BCE_EPS).relu() + BCE_EPS).log()


@events.scoped("binary_cross_entropy")
def binary_cross_entropy(prob: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """$-\\frac{1}{N}\\sum_i \\big(t_i \\log p_i + (1 - t_i)\\log(1 - p_i)\\big)$ for probabilities $p$.

    Each log is clamped: $\\log \\max(p, 10^{-12})$, so $p = 0$ or $1$ gives a large finite loss
    (about 27.6), never inf or NaN. (PyTorch clamps the log at -100 instead.) For outputs
    of a final sigmoid prefer `binary_cross_entropy_with_logits`, which is exact.
    """
    _check_same_shape("binary_cross_entropy", prob, target)
    losses = -(target * _clamped_log(prob) + (1.0 - target) * _clamped_log(1.0 - prob))
    return _reduce(losses, reduction, "binary_cross_entropy")


@events.scoped("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """BCE of $p = \\sigma(z)$, written stably: $(1 - t) z + \\mathrm{softplus}(-z)$, with
    $\\mathrm{softplus}(u) = \\max(u, 0) + \\log(1 + e^{-|u|})$ and $|u| = 2\\max(u, 0) - u$.

    The exponent is never positive, so no overflow for any $z$; writing $|u|$ this way makes
    the gradient $\\sigma(z) - t$ everywhere, at $z = 0$ too (PyTorch's).
    """
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    u = -logits
    softplus = u.relu() + ((-(u.relu() * 2.0 - u)).exp() + 1.0).log()
    losses = logits * (1.0 - target) + softplus
    return _reduce(losses, reduction, "binary_cross_entropy_with_logits")


def one_hot(indices: Labels, num_classes: int, like: Tensor) -> Tensor:
    """A constant (N, num_classes) tensor with 1.0 at [i, indices[i]], dtype and backend of `like`."""
    labels = indices.numpy() if isinstance(indices, Tensor) else np.asarray(indices)
    as_int = labels.astype(np.int64)
    if labels.ndim != 1 or np.any(as_int != labels):
        raise ValueError(f"one_hot: expected a 1-D list of whole class indices, got {labels!r}")
    if as_int.size and (as_int.min() < 0 or as_int.max() >= num_classes):
        raise ValueError(
            f"one_hot: class index out of range [0, {num_classes}): min {as_int.min()}, max {as_int.max()}"
        )
    encoded = np.zeros((len(as_int), num_classes), dtype=like.dtype)
    encoded[np.arange(len(as_int)), as_int] = 1.0
    return tensor(encoded, backend=like.backend, dtype=like.dtype)


Labels = Tensor | Sequence[int] | np.ndarray  # class indices: a float tensor, a list or an array


@events.scoped("nll_loss")
def nll_loss(logprobs: Tensor, target: Labels, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: $-\\frac{1}{N}\\sum_i \\log p_{i, t_i}$ for (N, C) log-probabilities.

    Picking entry $t_i$ of each row is a product with a one-hot mask, then a row sum.
    """
    if logprobs.dims != 2:
        raise ShapeError(f"nll_loss: log-probabilities must have shape (N, C), got {logprobs.shape}")
    mask = one_hot(target, logprobs.shape[1], like=logprobs)
    if mask.shape[0] != logprobs.shape[0]:
        raise ShapeError(f"nll_loss: {mask.shape[0]} targets for {logprobs.shape[0]} rows of shape {logprobs.shape}")
    return _reduce(-(logprobs * mask).sum(1), reduction, "nll_loss")


@events.scoped("cross_entropy")
def cross_entropy(logits: Tensor, target: Labels, reduction: str = "mean") -> Tensor:
    """$-\\frac{1}{N}\\sum_i \\log \\mathrm{softmax}(z_i)_{t_i}$.

    That is `nll_loss(logsoftmax(logits, 1), target)`: stable for any logits.
    """
    if logits.dims != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    return nll_loss(logsoftmax(logits, dim=1), target, reduction)


class MSELoss(Module):
    """`mse_loss` as a module."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return mse_loss(pred, target, self.reduction)


class CrossEntropyLoss(Module):
    """`cross_entropy` as a module."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(logits, target, self.reduction)


# ## A model: the multi-layer perceptron

ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


class MLP(Module):
    """Linear layers of `sizes` (e.g. [2, 16, 16, 2]) with an activation between them.

    The last layer has no activation: it outputs logits, for `cross_entropy`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        backend: str | TensorBackend | None = None,
        dtype: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs an input and an output size, got {list(sizes)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
        rng = _rng(seed)  # one generator for all layers: each layer gets new numbers
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(n_in, n_out, backend=backend, dtype=dtype, seed=rng))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.layers = Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


__all__ = [
    "ACTIVATIONS",
    "AvgPool1d",
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "MaxPool1d",
    "MaxPool2d",
    "BCE_EPS",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "MLP",
    "MSELoss",
    "ModuleDict",
    "ModuleList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "copy_",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "logsoftmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "softmax",
    "tanh",
]

from . import functional, utils  # noqa: E402, F401 (after the definitions it re-exports: `minitorch.nn.functional`)
