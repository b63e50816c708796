"""Helpers for checking a backend against `simple`: the same values on both, compared."""

from __future__ import annotations

import numpy as np

import minitorch


def pair(shape, seed, backend, dtype="float64", positive=False, permute=None):
    """The same random values on `simple` and on `backend` (optionally permuted: a non-contiguous view)."""
    values = np.random.default_rng(seed).uniform(0.1 if positive else -2.0, 2.0, size=shape)
    out = []
    for name in ("simple", backend):
        t = minitorch.tensor(values, backend=name, dtype=dtype)
        out.append(t.permute(*permute) if permute else t)
    return out


def assert_same(simple: minitorch.Tensor, other: minitorch.Tensor, tol: float, backend: str) -> None:
    """`other` is on `backend`, with the shape, dtype and (within `tol`) values of `simple`."""
    assert other.backend.name == backend
    assert other.shape == simple.shape and other.dtype == simple.dtype
    np.testing.assert_allclose(other.numpy(), simple.numpy(), rtol=tol, atol=tol)


UNARY = {
    "neg": lambda t: -t,
    "exp": lambda t: t.exp(),
    "log": lambda t: t.log(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
    "inv": lambda t: 1.0 / t,
    "contiguous": lambda t: t.contiguous(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "is_close": lambda a, b: a.is_close(b),
}
