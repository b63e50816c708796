"""`minitorch.nn.functional`: layers and losses as plain functions, after `torch.nn.functional`.

    import minitorch.nn.functional as F
    loss = F.cross_entropy(F.linear(F.relu(x), w, b), labels, reduction="mean")

The functions live in `minitorch.nn`; this module gathers them under PyTorch's names.
"""

from __future__ import annotations

from .. import events
from ..conv import avg_pool1d, avg_pool2d, conv1d, conv2d, fold, max_pool1d, max_pool2d, unfold
from ..tensor import Tensor
from . import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    log_softmax,
    mse_loss,
    nll_loss,
    one_hot,
    softmax,
    tanh,
)


def relu(input: Tensor) -> Tensor:
    """$\\max(0, x)$ elementwise."""
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    """$\\sigma(x) = 1 / (1 + e^{-x})$ elementwise."""
    return input.sigmoid()


@events.scoped("linear")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """$y = x W^T + b$, with `weight` of shape (out_features, in_features) as in `nn.Linear`."""
    out = input @ weight.mT
    return out + bias if bias is not None else out


__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "fold",
    "max_pool1d",
    "max_pool2d",
    "unfold",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
