"""The one timing loop of the benchmarks. It imports nothing of minitorch, so that
benchmarks/torch_reference.py can time PyTorch in a process without minitorch or Numba."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeat: int, number: int = 1, warm_up: bool = True) -> float:
    """Median seconds per call of `fn` over `repeat` timed runs of `number` calls each, after one
    untimed call (it compiles or loads kernels) unless `warm_up` is False."""
    if warm_up:
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)
