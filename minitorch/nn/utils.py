"""`nn.utils.clip_grad_norm_`: rescale gradients so their joint norm is at most `max_norm`."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..module import Parameter
from ..tensor import Tensor


def clip_grad_norm_(
    parameters: Iterable[Parameter | Tensor] | Parameter | Tensor, max_norm: float, norm_type: float = 2.0
) -> float:
    """Scale every `.grad` in place by $\\min(1, c / (\\|g\\| + 10^{-6}))$, PyTorch's formula.

    $\\|g\\|$ is the `norm_type` norm of all gradients joined into one vector ($\\infty$: the max).
    Returns that total norm (before clipping). Parameters without a gradient are skipped.
    """
    if isinstance(parameters, (Parameter, Tensor)):
        parameters = [parameters]
    values = [p.value if isinstance(p, Parameter) else p for p in parameters]
    grads = [v.grad for v in values if v.grad is not None]
    if not grads:
        return 0.0
    flat = np.concatenate([g.numpy().reshape(-1).astype(np.float64) for g in grads])
    if norm_type == math.inf:
        total = float(np.max(np.abs(flat))) if flat.size else 0.0
    else:
        total = float(np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type))
    scale = min(1.0, max_norm / (total + 1e-6))
    if scale < 1.0:
        for g in grads:
            g.copy_(g.numpy() * scale)
    return total


__all__ = ["clip_grad_norm_"]
