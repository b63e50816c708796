"""Warm start: how much slower is a fresh process's first epoch than a steady one?

    python -m benchmarks.warm_start            # 3 fresh processes after one that fills the cache

Numba compiles each fast-backend kernel once and caches it on disk (`cache=True`); a later
process *loads* it instead (a "cache hit"), which still costs a few milliseconds per kernel and
signature. Each measured process runs the digits MLP of benchmarks/threading.py (64-128-10,
Adam, batch 64, float64): its first epoch (loading every kernel) against the median of the next
five, and it counts the kernels' cache hits and misses (Numba's `Dispatcher.stats`). Target
(issue "speed that holds"): first epoch within 2x a steady one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def cache_counts() -> tuple[int, int]:
    """(hits, misses) of Numba's disk cache over every dispatcher minitorch's fast backend made."""
    import gc

    from numba.core.registry import CPUDispatcher

    hits = misses = 0
    for obj in gc.get_objects():
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__.startswith("minitorch"):
            hits += sum(obj.stats.cache_hits.values())
            misses += sum(obj.stats.cache_misses.values())
    return hits, misses


def time_cache_loads() -> list[float]:
    """Count the seconds Numba spends loading cached kernels (the first load also sets up its
    CPU target: importing the lowering registries). Returns the list it appends to."""
    from numba.core import caching

    spent: list[float] = []
    load = caching.Cache.load_overload

    def timed_load(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202  (Numba's signature)
        tick = time.perf_counter()
        try:
            return load(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - tick)

    caching.Cache.load_overload = timed_load
    return spent


def worker() -> dict[str, float]:
    """In a fresh process: import, first epoch, steady epochs, cache hits and misses."""
    start = time.perf_counter()
    loads = time_cache_loads()
    import minitorch  # noqa: F401  (its import time is part of a warm start)
    from benchmarks.threading import digits_epoch

    imported = time.perf_counter()
    epoch = digits_epoch()
    start_first = time.perf_counter()
    epoch()
    first = time.perf_counter() - start_first
    steady = []
    for _ in range(5):
        tick = time.perf_counter()
        epoch()
        steady.append(time.perf_counter() - tick)
    hits, misses = cache_counts()
    return {
        "import_s": imported - start,
        "first_s": first,
        "steady_s": statistics.median(steady),
        "cache_hits": hits,
        "cache_misses": misses,
        "loading_s": sum(loads),
        "first_load_s": loads[0] if loads else 0.0,
    }


def run_fresh() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.warm_start", "--worker"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warm_start", description=__doc__)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker()))
        return
    filling = run_fresh()  # compiles whatever the cache lacks
    print(f"cache-filling process: first epoch {filling['first_s'] * 1e3:.0f} ms, misses {filling['cache_misses']}")
    runs = [run_fresh() for _ in range(args.processes)]
    for r in runs:
        print(
            f"fresh process: import {r['import_s'] * 1e3:.0f} ms, first epoch {r['first_s'] * 1e3:.0f} ms, "
            f"steady {r['steady_s'] * 1e3:.1f} ms ({r['first_s'] / r['steady_s']:.1f}x), "
            f"cache hits {r['cache_hits']}, misses {r['cache_misses']}, loading them {r['loading_s'] * 1e3:.0f} ms "
            f"(the first {r['first_load_s'] * 1e3:.0f} ms: it also sets up Numba's CPU target)"
        )
    ratio = statistics.median(r["first_s"] / r["steady_s"] for r in runs)
    print(f"median first/steady {ratio:.1f}x (target <= 2x); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
