"""conv2d forward + backward: minitorch's backends against a numpy reference (torch is not installed).

    python -m benchmarks.conv                  # 64x1x8x8 input, 16 filters 3x3, padding 1
    python -m benchmarks.conv --batch 256 --repeats 20

The numpy reference: windows by `sliding_window_view`, products by `einsum` (forward, weight
gradient) and the input gradient by a padded-sum of shifted products. Each figure is the
median of `--repeats` timed runs after a warm-up (which compiles Numba kernels); ratios are
minitorch / numpy, so lower is better. Absolute times move with the load of the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

import minitorch
from minitorch import conv


def numpy_conv_step(x: np.ndarray, w: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(out, grad_x, grad_w) of `sum(conv2d(x, w))`, in numpy."""
    kh, kw = w.shape[2:]
    padded = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    out = np.einsum("nchwij,ocij->nohw", windows, w, optimize=True)
    grad = np.ones_like(out)
    grad_w = np.einsum("nchwij,nohw->ocij", windows, grad, optimize=True)
    grad_padded = np.zeros_like(padded)
    for i in range(kh):  # each kernel tap adds its share back: fold, by shifted slices
        for j in range(kw):
            grad_padded[:, :, i : i + out.shape[2], j : j + out.shape[3]] += np.einsum(
                "nohw,oc->nchw", grad, w[:, :, i, j]
            )
    grad_x = grad_padded[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]]
    return out, grad_x, grad_w


def minitorch_conv_step(x: np.ndarray, w: np.ndarray, padding: int, backend: str) -> Callable[[], tuple]:
    xt = minitorch.tensor(x, backend=backend, requires_grad=True)
    wt = minitorch.tensor(w, backend=backend, requires_grad=True)

    def step() -> tuple:
        xt.grad = wt.grad = None
        out = conv.conv2d(xt, wt, padding=padding)
        out.sum().backward()
        return out, xt.grad, wt.grad

    return step


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: compiles or loads kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["fast", "simple"])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(args.batch, 1, 8, 8)), rng.normal(size=(args.filters, 1, 3, 3))
    reference = numpy_conv_step(x, w, 1)
    numpy_time = median_seconds(lambda: numpy_conv_step(x, w, 1), args.repeats)
    table = Table(title=f"conv2d forward + backward, input {x.shape}, weight {w.shape}, padding 1")
    for column in ("implementation", "median ms", "ratio to numpy"):
        table.add_column(column, justify="right")
    table.add_row("numpy (sliding_window_view + einsum)", f"{numpy_time * 1e3:.2f}", "1.00")
    for backend in args.backends:
        step = minitorch_conv_step(x, w, 1, backend)
        for got, want in zip(step(), reference):  # the same answer, or the timing means nothing
            np.testing.assert_allclose(got.numpy(), want, atol=1e-9)
        seconds = median_seconds(step, args.repeats if backend != "simple" else 1)
        table.add_row(f"minitorch {backend}", f"{seconds * 1e3:.2f}", f"{seconds / numpy_time:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
