"""Creating tensors: `zeros`, `ones`, `full`, `rand`, `randn`, `arange`, `linspace`, `eye`, the `*_like`
forms, and `manual_seed`, after PyTorch's.

Every shape may be given as separate numbers or as one sequence: `zeros(2, 3) == zeros((2, 3))`.
Random numbers come from one global numpy Generator (`manual_seed(s)` resets it), which
`nn.Linear`'s initialisation and dropout use too; `rand(shape, seed=s)` draws from its own.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backends.base import TensorBackend
from .tensor import Tensor, tensor
from .tensor_data import get_default_dtype, resolve_dtype

Backend = str | TensorBackend | None
_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (as `torch.manual_seed`); returns it."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator that `rand`, `randn`, `nn.Linear` and dropout draw from."""
    return _generator


def generator_for(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The Generator given, a new one seeded with `seed`, or (None) the global one."""
    if isinstance(seed, np.random.Generator):
        return seed
    return _generator if seed is None else np.random.default_rng(seed)


def _shape(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """`(2, 3)` from `f(2, 3)` or `f((2, 3))`; a clear error for negative or non-integer sizes."""
    dims = size[0] if len(size) == 1 and isinstance(size[0], (Sequence, np.ndarray)) else size
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{op}: argument 'size' must be integers, got {tuple(dims)!r}")
        if d < 0:
            raise ValueError(f"{op}: argument 'size' has a negative dimension {d} in {tuple(dims)!r}")
    return tuple(int(d) for d in dims)


def _make(values: np.ndarray, requires_grad: bool, backend: Backend, dtype: Any) -> Tensor:
    return tensor(
        values, requires_grad=requires_grad, backend=backend, dtype=resolve_dtype(dtype or get_default_dtype())
    )


def full(
    size: Sequence[int], fill_value: float, requires_grad: bool = False, backend: Backend = None, dtype: Any = None
) -> Tensor:
    """A tensor of `size` with every entry `fill_value`."""
    return _make(np.full(_shape((size,), "full"), float(fill_value)), requires_grad, backend, dtype)


def zeros(*size: Any, requires_grad: bool = False, backend: Backend = None, dtype: Any = None) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return _make(np.zeros(_shape(size, "zeros")), requires_grad, backend, dtype)


def ones(*size: Any, requires_grad: bool = False, backend: Backend = None, dtype: Any = None) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return _make(np.ones(_shape(size, "ones")), requires_grad, backend, dtype)


def rand(
    *size: Any,
    seed: int | np.random.Generator | None = None,
    requires_grad: bool = False,
    backend: Backend = None,
    dtype: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Uniform values in [0, 1); the same `seed` gives the same tensor (no seed: the global generator)."""
    rng = generator_for(generator if generator is not None else seed)
    return _make(rng.random(_shape(size, "rand")), requires_grad, backend, dtype)


def randn(
    *size: Any,
    seed: int | np.random.Generator | None = None,
    requires_grad: bool = False,
    backend: Backend = None,
    dtype: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal values $\\mathcal{N}(0, 1)$."""
    rng = generator_for(generator if generator is not None else seed)
    return _make(rng.standard_normal(_shape(size, "randn")), requires_grad, backend, dtype)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    requires_grad: bool = False,
    backend: Backend = None,
    dtype: Any = None,
) -> Tensor:
    """`start, start + step, ...` up to but excluding `end`; `arange(n)` is `0, 1, ..., n-1`."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: argument 'step' must be nonzero")
    return _make(np.arange(start, end, step, dtype=np.float64), requires_grad, backend, dtype)


def linspace(
    start: float, end: float, steps: int, requires_grad: bool = False, backend: Backend = None, dtype: Any = None
) -> Tensor:
    """`steps` evenly spaced values from `start` to `end`, both included."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: argument 'steps' must be a non-negative integer, got {steps!r}")
    return _make(np.linspace(start, end, int(steps)), requires_grad, backend, dtype)


def eye(
    n: int, m: int | None = None, requires_grad: bool = False, backend: Backend = None, dtype: Any = None
) -> Tensor:
    """The (n, m) identity matrix (m defaults to n)."""
    rows, cols = _shape((n, n if m is None else m), "eye")
    return _make(np.eye(rows, cols), requires_grad, backend, dtype)


def _like(x: Tensor, values: np.ndarray, kwargs: dict[str, Any]) -> Tensor:
    """`values` as a tensor with x's dtype and backend unless `kwargs` say otherwise."""
    dtype = kwargs.get("dtype") or x.dtype
    backend = kwargs.get("backend") or x.backend
    return _make(values, kwargs.get("requires_grad", False), backend, dtype)


def zeros_like(x: Tensor, **kwargs: Any) -> Tensor:
    """Zeros of x's shape, dtype and backend."""
    return _like(x, np.zeros(x.shape), kwargs)


def ones_like(x: Tensor, **kwargs: Any) -> Tensor:
    """Ones of x's shape, dtype and backend."""
    return _like(x, np.ones(x.shape), kwargs)


def full_like(x: Tensor, fill_value: float, **kwargs: Any) -> Tensor:
    """`fill_value` everywhere, in x's shape, dtype and backend."""
    return _like(x, np.full(x.shape, float(fill_value)), kwargs)


def rand_like(x: Tensor, **kwargs: Any) -> Tensor:
    """Uniform [0, 1) values (global generator) in x's shape, dtype and backend."""
    return _like(x, _generator.random(x.shape), kwargs)


def randn_like(x: Tensor, **kwargs: Any) -> Tensor:
    """Standard normal values (global generator) in x's shape, dtype and backend."""
    return _like(x, _generator.standard_normal(x.shape), kwargs)


__all__ = [
    "arange",
    "default_generator",
    "eye",
    "full",
    "full_like",
    "linspace",
    "manual_seed",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "zeros",
    "zeros_like",
]
