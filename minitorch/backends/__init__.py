"""Backends by name. `simple` always exists; `fast` and `cuda` join in module 3.

The default is `fast`, loaded (Numba imported) only when the first tensor needs it.
"""

from __future__ import annotations

import threading

from .base import TensorBackend
from .simple import SimpleKernels

_BACKENDS: dict[str, TensorBackend] = {}
_LOCK = threading.RLock()  # two threads asking for "fast" at once still build one backend


def _load_fast() -> TensorBackend:
    try:
        from .fast import FastKernels  # imports Numba: only when asked for
    except ImportError as err:
        raise RuntimeError(f"backend 'fast' is not available: Numba failed to import ({err})") from err

    return TensorBackend(FastKernels())


def _load_cuda() -> TensorBackend:
    """The CUDA backend, on a real GPU or on Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)."""
    try:
        from numba import cuda
    except ImportError as err:
        raise RuntimeError(f"backend 'cuda' is not available: Numba CUDA failed to import ({err})") from err
    if not cuda.is_available():  # True on a working GPU, and always under the simulator
        reason = " ".join(str(cuda.cuda_error() or "").split())
        raise RuntimeError(
            "backend 'cuda' is not available: no CUDA GPU was found (numba.cuda.is_available() is "
            "False) and the Numba CUDA simulator is off; set NUMBA_ENABLE_CUDASIM=1 to run CUDA "
            "kernels on the CPU simulator" + (f" [Numba says: {reason}]" if reason else "")
        )
    from .cuda import CudaKernels

    return TensorBackend(CudaKernels())


_LOADERS = {"simple": lambda: TensorBackend(SimpleKernels()), "fast": _load_fast, "cuda": _load_cuda}
_default_name = "fast"  # Numba compiles on first use (the pure-Python `simple` is ~1,400x slower)


def get_backend(name: str | TensorBackend | None = None) -> TensorBackend:
    """The backend called `name` (the default one for None), built on first use."""
    if isinstance(name, TensorBackend):
        return name
    name = name or _default_name
    if name not in _LOADERS:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(sorted(_LOADERS))}")
    backend = _BACKENDS.get(name)
    if backend is None:
        with _LOCK:  # checked again inside: another thread may have built it meanwhile
            if name not in _BACKENDS:
                _BACKENDS[name] = _LOADERS[name]()
            backend = _BACKENDS[name]
    return backend


def set_default_backend(name: str) -> None:
    """Make `name` the backend of tensors created without one."""
    global _default_name
    get_backend(name)  # fail now, clearly, if it is not available
    _default_name = name


def default_backend_name() -> str:
    return _default_name


def available_backends() -> list[str]:
    return sorted(_LOADERS)


def register_backend(name: str, loader) -> None:  # a zero-argument factory
    """Make a backend available by name (loaded lazily on first use)."""
    _LOADERS[name] = loader


__all__ = ["TensorBackend", "get_backend", "set_default_backend", "available_backends", "register_backend"]
