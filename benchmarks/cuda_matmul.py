"""Matrix multiply on the GPU: minitorch's tiled CUDA kernel against torch.matmul (cuBLAS).

    python -m benchmarks.cuda_matmul                      # sizes 256 .. 2048, float32 and float64
    python -m benchmarks.cuda_matmul --sizes 512 --json results.json
    NUMBA_ENABLE_CUDASIM=1 python -m benchmarks.cuda_matmul --simulator --sizes 32

For each square size n and dtype, on one GPU and in one run:

- minitorch kernel: the shared-memory tiled kernel alone, inputs already on the GPU;
- minitorch op: `a @ b` on cuda tensors, which also copies a, b and out between host and GPU;
- torch.matmul on the same GPU (cuBLAS; TF32 off, so float32 is true float32), if installed.

Each figure is the median of `--repeats` timed runs after `--warmup` untimed ones, in
GFLOP/s (2 n^3 floating-point operations per product). The first launch of a kernel
compiles it; that time is measured on a tiny product first and reported apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

import minitorch

DEFAULT_SIZES = [256, 512, 1024, 2048]
SIMULATOR_MAX_SIZE = 64  # one Python thread per GPU thread: 64 x 64 already takes seconds
console = Console()


def median_seconds(run: Callable[[], None], sync: Callable[[], None], warmup: int, repeats: int) -> float:
    """Median wall time of `run()` followed by `sync()` (kernel launches return before they finish)."""
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gflops(n: int, seconds: float) -> float:
    return 2 * n**3 / seconds / 1e9


def load_torch() -> tuple[Any, str]:
    """(torch or None, why not) — torch is optional; it needs a CUDA build and a visible GPU."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install torch): minitorch figures only"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} sees no CUDA GPU: minitorch figures only"
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 products in float32, as minitorch does
    return torch, ""


def compile_seconds(dtype: str) -> float:
    """Time of the first launch (compilation included) minus a warm one, on a 16 x 16 product."""
    a = minitorch.tensor(np.ones((16, 16)), backend="cuda", dtype=dtype)
    start = time.perf_counter()
    a @ a
    first = time.perf_counter() - start
    start = time.perf_counter()
    a @ a
    warm = time.perf_counter() - start
    return first - warm


def measure(n: int, dtype: str, torch: Any, warmup: int, repeats: int) -> dict[str, Any]:
    """The figures of one row of the table."""
    from numba import cuda

    from minitorch.backends import cuda as cuda_kernels

    rng = np.random.default_rng(n)
    a_np, b_np = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    row: dict[str, Any] = {"n": n, "dtype": dtype}

    # minitorch kernel alone: operands uploaded once, as a framework keeping tensors on the GPU would.
    kernel = cuda_kernels.MATMUL_KERNELS[np.dtype(dtype)]
    out_np = np.zeros(n * n, dtype=dtype)
    shape, strides = np.array([1, n, n], dtype=np.int64), np.array([n * n, n, 1], dtype=np.int64)
    blocks, threads = cuda_kernels.matmul_launch(shape)
    on_gpu = [
        cuda_kernels.to_device(x)
        for x in (out_np, shape, strides, a_np.reshape(-1), shape, strides, b_np.reshape(-1), shape, strides)
    ]
    seconds = median_seconds(lambda: kernel[blocks, threads](*on_gpu), cuda.synchronize, warmup, repeats)
    row["kernel_gflops"] = gflops(n, seconds)
    cuda_kernels.copy_to_host(on_gpu[0], out_np)
    reference = a_np.astype(np.float64) @ b_np.astype(np.float64)
    row["max_rel_error"] = float(np.max(np.abs(out_np.reshape(n, n) - reference)) / np.max(np.abs(reference)))

    # minitorch op: what `a @ b` costs on cuda tensors today, host <-> GPU copies included.
    a_t = minitorch.tensor(a_np, backend="cuda", dtype=dtype)
    b_t = minitorch.tensor(b_np, backend="cuda", dtype=dtype)
    seconds = median_seconds(lambda: a_t @ b_t, cuda.synchronize, warmup, repeats)
    row["op_gflops"] = gflops(n, seconds)

    if torch is not None:
        a_gpu, b_gpu = torch.from_numpy(a_np).cuda(), torch.from_numpy(b_np).cuda()
        seconds = median_seconds(lambda: torch.matmul(a_gpu, b_gpu), torch.cuda.synchronize, warmup, repeats)
        row["torch_gflops"] = gflops(n, seconds)
    return row


def print_table(rows: list[dict[str, Any]], device: str, with_torch: bool) -> None:
    table = Table(title=f"Matmul n x n @ n x n on {device} (GFLOP/s, median)")
    table.add_column("n", justify="right")
    table.add_column("dtype")
    table.add_column("minitorch kernel", justify="right")
    table.add_column("minitorch a @ b\n(with copies)", justify="right")
    if with_torch:
        table.add_column("torch.matmul", justify="right")
        table.add_column("torch / kernel", justify="right")
    table.add_column("max rel. error\nvs float64 numpy", justify="right")
    for row in rows:
        cells = [str(row["n"]), row["dtype"], f"{row['kernel_gflops']:.4g}", f"{row['op_gflops']:.4g}"]
        if with_torch:
            cells += [f"{row['torch_gflops']:.4g}", f"{row['torch_gflops'] / row['kernel_gflops']:.1f}×"]
        cells.append(f"{row['max_rel_error']:.1e}")
        table.add_row(*cells)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, help="square sizes n")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs; the median is reported")
    parser.add_argument(
        "--simulator",
        action="store_true",
        help=f"allow Numba's CUDA simulator (sizes up to {SIMULATOR_MAX_SIZE}; checks the script, not speed)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    try:
        minitorch.backends.get_backend("cuda")
    except RuntimeError as err:
        console.print(f"[red]{err}[/red]")
        return 2
    from numba import cuda

    from minitorch.backends.cuda import ON_SIMULATOR

    if ON_SIMULATOR:
        if not args.simulator:
            console.print(
                "[red]The CUDA backend is running on Numba's CPU simulator "
                "(NUMBA_ENABLE_CUDASIM=1), which says nothing about GPU speed. Run this on a "
                "machine with an NVIDIA GPU, or pass --simulator with a tiny size "
                f"(--sizes 32, at most {SIMULATOR_MAX_SIZE}) to check the script itself.[/red]"
            )
            return 2
        if max(args.sizes) > SIMULATOR_MAX_SIZE:
            console.print(
                f"[red]--simulator: sizes up to {SIMULATOR_MAX_SIZE}; the simulator runs one "
                f"Python thread per GPU thread (got {max(args.sizes)}).[/red]"
            )
            return 2
        torch, why_not = None, "simulator: torch is not compared"
        device = "the Numba CUDA simulator (CPU)"
    else:
        torch, why_not = load_torch()
        name = cuda.get_current_device().name
        device = name.decode() if isinstance(name, bytes) else str(name)
    if why_not:
        console.print(f"[yellow]{why_not}[/yellow]")

    compile_times = {dtype: compile_seconds(dtype) for dtype in args.dtypes}
    if ON_SIMULATOR:
        console.print("Kernel compilation: none on the simulator (it runs the Python code)")
    else:
        console.print(
            "Kernel compilation (first launch minus a warm one): "
            + ", ".join(f"{dtype} {seconds:.2f} s" for dtype, seconds in compile_times.items())
        )
    rows = []
    for n in args.sizes:
        for dtype in args.dtypes:
            rows.append(measure(n, dtype, torch, args.warmup, args.repeats))
            console.print(f"  measured n={n} {dtype}", style="dim")
    print_table(rows, device, torch is not None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "device": device,
                    "compile_seconds": compile_times,
                    "torch": torch is not None,
                    "warmup": args.warmup,
                    "repeats": args.repeats,
                    "rows": rows,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
