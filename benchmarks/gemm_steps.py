"""How to make a matrix multiply fast, step by step: GFLOP/s of each step at one size.

    python -m benchmarks.gemm_steps             # 512×512, float64 and float32
    python -m benchmarks.gemm_steps --size 256 --repeat 9

The steps of chapter 03, section 5 (the classic "how to optimise GEMM" tutorials, in Numba):

1. naive i-j-k: the inner loop walks down a column of B (a stride of a whole row per step);
2. i-k-j: the inner loop walks rows of B and C, contiguous, and vectorises (task 3.2's old kernel);
3. i-k-j, blocked: the same loop over KC x NC blocks of B, so that the block in use stays in
   the L2 cache while every row of A passes over it;
4. packed + micro-kernel: `fast.matmul_kernel` (task 3.2) on one thread: A and B^T packed
   contiguous, 4 x 3 tiles of dot products in 12 register accumulators, cache-sized blocks;
5. the same on every thread (the `fast` backend's matmul);
6. numpy's BLAS, alone in a fresh process (`benchmarks.run.numpy_matmul_alone`).

Steps 1-3 run on one thread and are defined here (not in minitorch). Each figure is the median
of `--repeat` calls after a warm-up call (naive: 3 calls, it is slow). Print-only, no targets:
the ratios that count are in `python -m benchmarks.run matmul matmul32`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import numba
import numpy as np

from minitorch.backends import fast

from .run import numpy_matmul_alone
from .timing import median_seconds


@numba.njit(fastmath=True)
def matmul_ijk(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Step 1: out[i, j] = sum_k a[i, k] * b[k, j], the textbook order."""
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            total = out.dtype.type(0)
            for k in range(a.shape[1]):
                total += a[i, k] * b[k, j]
            out[i, j] = total


@numba.njit(fastmath=True)
def matmul_ikj(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Step 2: for each k, add a[i, k] * (row k of B) to row i of C; rows as slices (from 0)."""
    for i in range(a.shape[0]):
        row = out[i]
        row[:] = 0
        for k in range(a.shape[1]):
            a_ik, b_row = a[i, k], b[k]
            for j in range(row.shape[0]):
                row[j] += a_ik * b_row[j]


@numba.njit(fastmath=True)
def matmul_ikj_blocked(a: np.ndarray, b: np.ndarray, out: np.ndarray, kc: int = 128, nc: int = 256) -> None:
    """Step 3: step 2 over kc x nc blocks of B (128 x 256 x 8 B = 256 KB: fits in L2)."""
    out[:] = 0
    for j0 in range(0, b.shape[1], nc):
        for k0 in range(0, a.shape[1], kc):
            for i in range(a.shape[0]):
                row = out[i, j0 : j0 + nc]
                for k in range(k0, min(k0 + kc, a.shape[1])):
                    a_ik, b_row = a[i, k], b[k, j0 : j0 + nc]
                    for j in range(row.shape[0]):
                        row[j] += a_ik * b_row[j]


def minitorch_kernel(threads: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """Steps 4-5: task 3.2's `fast.matmul_kernel` on 2-D arrays, with `threads` threads."""

    def layout(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.array((1, *x.shape)), np.array((x.size, *(s // x.itemsize for s in x.strides)))

    def run(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        numba.set_num_threads(threads)
        fast.matmul_kernel(out.reshape(-1), *layout(out), a.reshape(-1), *layout(a), b.reshape(-1), *layout(b))

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gemm_steps", description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    n, threads = args.size, numba.config.NUMBA_NUM_THREADS
    steps: list[tuple[str, Callable[..., None], int]] = [
        ("1. naive i-j-k, 1 thread", matmul_ijk, 3),
        ("2. i-k-j, vectorised rows, 1 thread", matmul_ikj, args.repeat),
        ("3. i-k-j, blocked for L2, 1 thread", matmul_ikj_blocked, args.repeat),
        ("4. packed + 4x3 micro-kernel, 1 thread", minitorch_kernel(1), args.repeat),
        (f"5. the same, {threads} threads (fast backend)", minitorch_kernel(threads), args.repeat),
    ]
    flops = 2 * n**3
    print(f"{n}×{n} matmul, GFLOP/s (median of {args.repeat} calls; naive: 3)")
    print(f"{'step':46} {'float64':>8} {'float32':>8}")
    for name, kernel, repeat in steps:
        figures = []
        for dtype in ("float64", "float32"):
            a, b = np.random.default_rng(0).random((2, n, n)).astype(dtype)
            out = np.empty((n, n), dtype)
            seconds = median_seconds(lambda kernel=kernel, a=a, b=b, out=out: kernel(a, b, out), repeat)
            assert np.allclose(out, a.astype(np.float64) @ b, rtol=1e-3), name
            figures.append(flops / seconds / 1e9)
        print(f"{name:46} {figures[0]:8.1f} {figures[1]:8.1f}", flush=True)
    alone = [flops / numpy_matmul_alone(n, dtype, args.repeat) / 1e9 for dtype in ("float64", "float32")]
    print(f"{'6. numpy (BLAS) alone, fresh process':46} {alone[0]:8.1f} {alone[1]:8.1f}")
    print("load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
