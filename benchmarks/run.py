"""Speed of minitorch against numpy, PyTorch and a micrograd-style engine.

    python -m benchmarks.run              # every benchmark
    python -m benchmarks.run matmul zip   # some of them
    python -m benchmarks.run --json out.json   # the figures also as JSON (default benchmarks/results.json)
    python -m benchmarks.run --quiet-only       # skip the second, busy pass

Every benchmark runs twice: quiet, then beside one busy neighbour (a pure-Python loop this script
starts and stops, as a user's other program would be); the table shows both ratios, and a
target is judged on the quiet one. PyTorch's figures come from a fresh process that loads
neither minitorch nor Numba (benchmarks/torch_reference.py): the reference in its own clean state.

Each figure is the median of several repeats after a warm-up call; the first call (Numba
loading or compiling its kernel) is reported apart as "first call". Targets are ratios,
because absolute times on a shared 2-core machine move with its load.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from rich.console import Console
from rich.table import Table

import minitorch
from minitorch.nn import MLP

from .threading import start_busy
from .timing import median_seconds

# PyTorch is optional (its rows then say so) and is never imported here: it loads its own
# OpenMP runtime, and in a process that has it, minitorch's parallel kernels ran 3-4x slower.
# Each PyTorch figure is measured in a fresh process of its own (`in_fresh_process`).
HAVE_TORCH = importlib.util.find_spec("torch") is not None


@dataclass
class Result:
    name: str
    ours: str
    reference: str
    ratio: float  # in the direction of the target: "ours / reference" for times
    target: str
    met: bool
    first_call: float | None = None
    busy_ratio: float | None = None  # the same ratio measured beside one busy process


def median_time(fn: Callable[[], object], repeat: int = 7, number: int = 1) -> tuple[float, float]:
    """(first-call seconds, median seconds per call over `repeat` timed runs)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    return first, median_seconds(fn, repeat, number, warm_up=False)


def interleaved(fn: Callable[[], object], reference: Callable[[], object], repeat: int = 9) -> tuple[float, float]:
    """Median seconds of `fn` and of `reference`, timed alternately so load hits both alike."""
    ours, ref = [], []
    for _ in range(repeat):
        for samples, call in ((ours, fn), (ref, reference)):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(ref)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.2f} µs"


# ## Kernels against numpy


def numpy_matmul_alone(n: int, dtype: str, repeat: int = 15) -> float:
    """Median seconds of numpy's `a @ b` (n×n) in a fresh process that never imported Numba or
    minitorch: timed in this one, between our calls, BLAS shares the cores with Numba's threads
    and finds the caches full of our data, and runs slower than it does alone."""
    script = (
        "import statistics, time\nimport numpy as np\n"
        f"a, b = np.random.default_rng(0).random((2, {n}, {n})).astype('{dtype}')\n"
        "a @ b\nsamples = []\n"
        f"for _ in range({repeat}):\n"
        "    start = time.perf_counter(); a @ b; samples.append(time.perf_counter() - start)\n"
        "print(statistics.median(samples))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # minitorch's fast backend sets it
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    return float(done.stdout)


def bench_matmul(n: int = 512, dtype: str = "float64") -> Result:
    """minitorch's matmul alone (median of 15 calls) against numpy alone in a fresh process."""
    a_np, b_np = np.random.default_rng(0).random((2, n, n)).astype(dtype)
    a, b = (minitorch.tensor(x, backend="fast", dtype=dtype) for x in (a_np, b_np))
    first, ours = median_time(lambda: a @ b, repeat=15)
    ref = numpy_matmul_alone(n, dtype)
    flops, share = 2 * n**3, ref / ours
    return Result(
        f"matmul {n}×{n} {dtype}",
        f"{flops / ours / 1e9:.1f} GFLOP/s",
        f"numpy alone {flops / ref / 1e9:.1f} GFLOP/s",
        share,
        "≥ 40% of numpy",
        share >= 0.40,
        first,
    )


def bench_zip(n: int = 10_000_000) -> list[Result]:
    rng = np.random.default_rng(1)
    a_np, b_np = rng.random(n), rng.random(n)
    a, b = minitorch.tensor(a_np, backend="fast"), minitorch.tensor(b_np, backend="fast")
    first, _ = median_time(lambda: a * b, repeat=1)
    ours, ref = interleaved(lambda: a * b, lambda: a_np * b_np)
    results = [
        Result(
            "zip a*b, 10M contiguous", fmt(ours), f"numpy {fmt(ref)}", ours / ref, "≤ 1.0× numpy", ours <= ref, first
        )
    ]
    side = int(np.sqrt(n))
    m_np, k_np = rng.random((side, side)), rng.random((side, side))
    m = minitorch.tensor(m_np, backend="fast").permute(1, 0)
    k = minitorch.tensor(k_np, backend="fast")
    first, _ = median_time(lambda: m * k, repeat=1)
    ours, ref = interleaved(lambda: m * k, lambda: m_np.T * k_np)
    results.append(
        Result(
            f"zip a.T*b, {side}×{side} permuted",
            fmt(ours),
            f"numpy {fmt(ref)}",
            ours / ref,
            "≤ 3× numpy",
            ours <= 3 * ref,
            first,
        )
    )
    return results


def bench_sum(n: int = 4096) -> Result:
    x_np = np.random.default_rng(2).random((n, n))
    x = minitorch.tensor(x_np, backend="fast")
    first, _ = median_time(lambda: x.sum(1), repeat=1)
    ours, ref = interleaved(lambda: x.sum(1), lambda: x_np.sum(1))
    return Result(
        f"sum(dim=-1) {n}×{n}", fmt(ours), f"numpy {fmt(ref)}", ours / ref, "≤ 1.0× numpy", ours <= ref, first
    )


# ## Dispatch: the cost of one small op


def in_fresh_process(name: str) -> float:
    """PyTorch's median seconds for `name` (benchmarks/torch_reference.py), measured in a new
    process that loads neither minitorch nor Numba: the reference in its own clean state."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "benchmarks.torch_reference", name]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def bench_dispatch() -> Result:
    a = minitorch.tensor([1.5], requires_grad=True, backend="fast")
    b = minitorch.tensor([2.5], requires_grad=True, backend="fast")
    _, ours = median_time(lambda: a * b, number=2000)
    name, target = "eager dispatch, 1-element op with grad", "≤ 5× PyTorch"
    if not HAVE_TORCH:
        return Result(name, fmt(ours), "PyTorch not installed", float("nan"), target, False)
    ref = in_fresh_process("dispatch")
    return Result(name, fmt(ours), f"PyTorch {fmt(ref)}", ours / ref, target, ours <= 5 * ref)


class Value:
    """A minimal micrograd-style scalar: the reference engine (closures for backward)."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data: float, children: tuple = ()) -> None:
        self.data, self.grad, self._backward, self._prev = data, 0.0, lambda: None, children

    def __add__(self, other: Value) -> Value:
        out = Value(self.data + other.data, (self, other))

        def backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other: Value) -> Value:
        out = Value(self.data * other.data, (self, other))

        def backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def backward(self) -> None:
        order, seen = [], set()

        def visit(v: Value) -> None:
            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def chain(make: Callable[[float], object], steps: int = 200) -> Callable[[], None]:
    """A forward+backward workload of `2 * steps` ops: y = ((x*w + x)*w + x) ..."""

    def run() -> None:
        x, w = make(0.5), make(0.999)
        y = x
        for _ in range(steps):
            y = y * w + x
        y.backward()

    return run


def bench_scalar_engine() -> Result:
    ops = 2 * 200
    _, ours = median_time(chain(minitorch.Scalar), repeat=5, number=5)
    _, ref = median_time(chain(Value), repeat=5, number=5)
    ratio = (ops / ours) / (ops / ref)
    return Result(
        "scalar engine fwd+bwd",
        f"{ops / ours / 1e3:.0f}k ops/s",
        f"micrograd-style {ops / ref / 1e3:.0f}k ops/s",
        ratio,
        "≥ 0.5× micrograd",
        ratio >= 0.5,
    )


# ## Training: full-batch epochs of an MLP


def circle_data(points: int) -> tuple[np.ndarray, np.ndarray]:
    data = minitorch.data.toy_dataset("circle", points, seed=0)
    return data.X, data.y.reshape(-1, 1)


def bench_training(points: int = 500, hidden: int = 100) -> Result:
    model = MLP([2, hidden, hidden, 1], backend="fast", seed=0)
    optimizer = minitorch.optim.SGD(model.parameters(), lr=0.1)
    X, y = (minitorch.tensor(a, backend="fast") for a in circle_data(points))

    def epoch() -> None:
        loss = minitorch.nn.binary_cross_entropy(model(X).sigmoid(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    first, ours = median_time(epoch, repeat=7, number=3)
    name, target = f"MLP 2→{hidden}→{hidden}→1 epoch, {points} points", "≤ 5× PyTorch"
    if not HAVE_TORCH:
        return Result(name, fmt(ours), "PyTorch not installed", float("nan"), target, False, first)
    ref = in_fresh_process("training")
    return Result(name, fmt(ours), f"PyTorch {fmt(ref)}", ours / ref, target, ours <= 5 * ref, first)


# ## Graph mode against eager mode


def chain7(x: minitorch.Tensor, w: minitorch.Tensor) -> minitorch.Tensor:
    """Seven elementwise ops: eager launches seven kernels, a fused graph one."""
    return ((((x * w + x).sigmoid() * 2.0).exp() - w).relu() * 0.5).neg()


def bench_graph_chain(n: int = 1_000_000) -> Result:
    rng = np.random.default_rng(3)
    x = minitorch.tensor(rng.random(n), backend="fast")
    w = minitorch.tensor(rng.random(n), backend="fast")
    compiled = minitorch.compile(chain7)
    start = time.perf_counter()
    compiled(x, w)
    compile_seconds = time.perf_counter() - start
    chain7(x, w)
    graph, eager = interleaved(lambda: compiled(x, w), lambda: chain7(x, w))
    speedup = eager / graph
    launches = compiled.entry(x, w).forward_plan.kernel_launches
    return Result(
        f"graph: 7-op chain, 1M elements ({launches} launch)",
        fmt(graph),
        f"eager {fmt(eager)}",
        speedup,
        "≥ 2× faster than eager",
        speedup >= 2.0,
        compile_seconds,
    )


def xor_batch() -> tuple[minitorch.Tensor, minitorch.Tensor]:
    """The batch-1 xor data of the graph-mode benchmarks, on `fast`."""
    data = minitorch.data.toy_dataset("xor", 1, seed=0)
    return minitorch.tensor(data.X, backend="fast"), minitorch.tensor(data.y.reshape(-1, 1), backend="fast")


def loss_fn(out: minitorch.Tensor, target: minitorch.Tensor) -> minitorch.Tensor:
    """Binary cross-entropy of the MLP's sigmoid output (the graph-mode benchmarks' loss)."""
    return minitorch.nn.binary_cross_entropy(out.sigmoid(), target)


def bench_graph_training(hidden: int = 32) -> Result:
    X, y = xor_batch()

    eager_model = MLP([2, hidden, hidden, 1], backend="fast", seed=0)
    optimizer = minitorch.optim.SGD(eager_model.parameters(), lr=0.01)

    def eager_step() -> None:
        loss = loss_fn(eager_model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    graph_model = MLP([2, hidden, hidden, 1], backend="fast", seed=0)
    step = minitorch.graph.CompiledTrainStep(graph_model, loss_fn, lr=0.01)
    start = time.perf_counter()
    step(X, y)
    compile_seconds = time.perf_counter() - start
    eager_step()

    def twenty(fn: Callable[[], object]) -> Callable[[], None]:
        return lambda: [fn() for _ in range(20)]

    graph, eager = interleaved(twenty(lambda: step(X, y)), twenty(eager_step))
    graph, eager = graph / 20, eager / 20
    speedup = eager / graph
    return Result(
        "graph: batch-1 MLP training step",
        fmt(graph),
        f"eager {fmt(eager)}",
        speedup,
        "≥ 3× faster than eager",
        speedup >= 3.0,
        compile_seconds,
    )


def bench_graph_wrapper(hidden: int = 32, rounds: int = 7) -> list[Result]:
    """A batch-1 MLP training step (as `bench_graph_training`) run five ways, interleaved in one
    process: eager; `compile(model)` in an eager loop (forward and backward compiled, SGD eager)
    and `CompiledTrainStep` (one graph), each run by its plans' steps (`wrapper=False`) and by
    their generated wrapper functions (the default). Medians over `rounds` rounds of 20 steps."""
    X, y = xor_batch()

    def sgd_step(model: minitorch.Module, forward: Callable[[minitorch.Tensor], minitorch.Tensor]) -> Callable:
        optimizer = minitorch.optim.SGD(model.parameters(), lr=0.01)

        def step() -> None:
            loss = loss_fn(forward(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        return step

    def mlp() -> MLP:
        return MLP([2, hidden, hidden, 1], backend="fast", seed=0)

    calls: dict[str, Callable[[], object]] = {}
    eager_model = mlp()
    calls["eager"] = sgd_step(eager_model, eager_model)
    for wrapper, label in ((False, "steps"), (True, "wrapper")):
        model = mlp()
        calls[f"compile(model), {label}"] = sgd_step(model, minitorch.compile(model, wrapper=wrapper))
        train_step = minitorch.graph.CompiledTrainStep(mlp(), loss_fn, lr=0.01, wrapper=wrapper)
        calls[f"CompiledTrainStep, {label}"] = lambda step=train_step: step(X, y)
    first = {}
    for name, call in calls.items():
        start = time.perf_counter()
        call()
        call()  # a plan's wrapper is generated on its first run
        first[name] = time.perf_counter() - start
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(20):
                call()
            samples[name].append((time.perf_counter() - start) / 20)
    median = {name: statistics.median(times) for name, times in samples.items()}
    results = []
    for name in list(calls)[1:]:
        ratio = median["eager"] / median[name]
        target = "≥ 3× faster than eager" if name.endswith("wrapper") and "Train" in name else "(for comparison)"
        met = ratio >= 3.0 if target.startswith("≥") else True
        ours = fmt(median[name])
        results.append(
            Result(
                f"graph: batch-1 step, {name}", ours, f"eager {fmt(median['eager'])}", ratio, target, met, first[name]
            )
        )
    for kind in ("compile(model)", "CompiledTrainStep"):
        steps, wrapped = median[f"{kind}, steps"], median[f"{kind}, wrapper"]
        results.append(
            Result(
                f"graph: {kind}, wrapper against steps",
                fmt(wrapped),
                f"steps {fmt(steps)}",
                steps / wrapped,
                "≥ 1.5× faster than steps",
                steps / wrapped >= 1.5,
            )
        )
    return results


def bench_graph_digits(rounds: int = 7) -> Result:
    """One epoch of the 8×8 digits (1437 training images, batches of 64) through a 64→128→10
    MLP in float64: `compile(model)` with eager cross-entropy and Adam, against PyTorch on one
    thread. Each side runs in a process of its own (benchmarks/graph_digits.py says why), and
    their epochs alternate so load hits both alike; the first epoch (tracing) is reported apart."""
    name, target = "graph: digits MLP 64→128→10 epoch, Adam, batch 64", "≤ 1.5× PyTorch (1 thread)"
    sides = ["minitorch"] + (["torch"] if HAVE_TORCH else [])
    workers = {
        side: subprocess.Popen(
            [sys.executable, "-m", "benchmarks.graph_digits", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        for side in sides
    }
    try:
        first = {side: float(w.stdout.readline().split()[1]) for side, w in workers.items()}  # type: ignore[union-attr]
        samples: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(rounds):
            for side, w in workers.items():
                w.stdin.write("epoch\n")  # type: ignore[union-attr]
                w.stdin.flush()  # type: ignore[union-attr]
                samples[side].append(float(w.stdout.readline()))  # type: ignore[union-attr]
    finally:
        for w in workers.values():
            w.stdin.close()  # type: ignore[union-attr]
            w.wait()
    ours = statistics.median(samples["minitorch"])
    if not HAVE_TORCH:
        return Result(name, fmt(ours), "PyTorch not installed", float("nan"), target, False, first["minitorch"])
    ref = statistics.median(samples["torch"])
    return Result(name, fmt(ours), f"PyTorch {fmt(ref)}", ours / ref, target, ours <= 1.5 * ref, first["minitorch"])


BENCHMARKS: dict[str, Callable[[], Result | list[Result]]] = {
    "matmul": bench_matmul,
    "zip": bench_zip,
    "sum": bench_sum,
    "dispatch": bench_dispatch,
    "scalar": bench_scalar_engine,
    "training": bench_training,
    "graph_chain": bench_graph_chain,
    "graph_training": bench_graph_training,
    "graph_wrapper": bench_graph_wrapper,
    "graph_digits": bench_graph_digits,
}


def machine_line() -> str:
    versions = f"numpy {np.__version__}, numba {numba.__version__}"
    versions += f", torch {importlib.metadata.version('torch')}" if HAVE_TORCH else ", torch not installed"
    return (
        f"{platform.processor() or platform.machine()}, {numba.config.NUMBA_NUM_THREADS} threads, "
        f"Python {platform.python_version()}, {versions}"
    )


def bench_matmul32(n: int = 512) -> Result:
    return bench_matmul(n, "float32")


BENCHMARKS["matmul32"] = bench_matmul32


def write_json(path: str, results: list[Result]) -> None:
    """The figures as JSON, with the machine, the date and the load average (NaN as null)."""
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in dataclasses.asdict(r).items()}
        for r in results
    ]
    record = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_line(),
        "load_average": os.getloadavg(),
        "results": rows,
    }
    with open(path, "w") as f:
        json.dump(record, f, indent=2)


def run_all(names: list[str]) -> list[Result]:
    results: list[Result] = []
    for name in names:
        outcome = BENCHMARKS[name]()
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def run_busy(names: list[str], quiet: list[Result]) -> None:
    """Run the benchmarks again beside one busy process; store each ratio as `busy_ratio`."""
    neighbour = start_busy(seconds=900)  # ends by itself even if we are killed
    try:
        time.sleep(0.2)  # let it get going
        busy = run_all(names)
    finally:
        neighbour.kill()
        neighbour.wait()
    for result, busy_result in zip(quiet, busy, strict=True):
        result.busy_ratio = busy_result.ratio


def print_table(results: list[Result]) -> None:
    table = Table(title=f"minitorch benchmarks — {machine_line()}", title_justify="left")
    for column in ("benchmark", "minitorch", "reference", "ratio", "busy ratio", "target", "met", "first call"):
        table.add_column(column, justify="left" if column in ("benchmark", "target") else "right")
    for r in results:
        table.add_row(
            r.name,
            r.ours,
            r.reference,
            f"{r.ratio:.2f}",
            f"{r.busy_ratio:.2f}" if r.busy_ratio is not None else "-",
            r.target,
            "[green]yes[/]" if r.met else "[red]no[/]",
            fmt(r.first_call) if r.first_call else "-",
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default all)")
    parser.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results.json"))
    parser.add_argument("--quiet-only", action="store_true", help="skip the pass beside a busy process")
    args = parser.parse_args(argv)
    np.seterr(all="ignore")
    names = args.names or list(BENCHMARKS)
    load_before = os.getloadavg()
    results = run_all(names)
    if not args.quiet_only:
        run_busy(names, results)
    print_table(results)
    print(
        f"load average before {', '.join(f'{x:.1f}' for x in load_before)}, "
        f"after {', '.join(f'{x:.1f}' for x in os.getloadavg())}; JSON in {args.json}"
    )
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
