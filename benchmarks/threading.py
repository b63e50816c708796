"""Does the `fast` backend's parallelism fight its neighbours? One subprocess per choice.

    python -m benchmarks.threading            # every choice, 3 rounds
    python -m benchmarks.threading --rounds 5 --json threading.json

For each choice of threading layer, OpenMP wait policy and `PARALLEL_MIN_WORK`, a fresh
process (the layer and the wait policy are fixed when Numba starts its threads) measures:

- **numpy after fast**: numpy's BLAS matmul (256×256, float64) timed right after a parallel
  fast-backend call, as a share of the same matmul in a *separate* process that never imports
  Numba ("numpy clean"). OpenMP workers that spin after a parallel region steal its cores.
- **digits epoch, quiet / busy**: one epoch of a 64-128-10 MLP on the 8×8 digits (Adam, batch
  64, float64), first alone, then beside one busy process that this script starts and stops
  (a Python busy loop that also ends by itself after `BUSY_SECONDS`).

Each round runs every choice once, in turn, so the machine's load hits them alike; figures are
medians over rounds. Targets (issue "speed that holds"): numpy after fast >= 0.85 of clean,
busy epoch <= 1.3x quiet, and the quiet epoch no slower than numba's default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from .timing import median_seconds

BUSY_SECONDS = 60  # the background load ends by itself after this, whatever happens to us

# name -> (environment, PARALLEL_MIN_WORK or None for fast.py's own)
CHOICES: dict[str, tuple[dict[str, str], int | None]] = {
    "numba default (omp, active wait)": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "active"}, 32_768),
    "omp, passive wait": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "passive"}, 32_768),
    "workqueue": ({"NUMBA_THREADING_LAYER": "workqueue"}, 32_768),
    "omp, passive, min work 1M": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "passive"}, 1_000_000),
    "one thread": ({"NUMBA_NUM_THREADS": "1"}, None),
    "minitorch's choice (fast.py)": ({}, None),
}


def numpy_matmul() -> Callable[[], object]:
    import numpy as np

    a, b = np.random.default_rng(0).random((2, 256, 256))
    return lambda: a @ b


def numpy_clean() -> dict[str, float]:
    """In a process without Numba: numpy's matmul alone."""
    matmul = numpy_matmul()
    matmul()
    return {"numpy": median_seconds(matmul, 15, warm_up=False)}


def digits_epoch() -> Callable[[], None]:
    """One epoch of the digits MLP (64-128-10, Adam, batch 64, float64) on the fast backend."""
    import minitorch

    train = minitorch.data.load_digits("train", seed=0)
    batches = list(minitorch.data.DataLoader(train, batch_size=64, backend="fast"))
    model = minitorch.nn.MLP([64, 128, 10], backend="fast", seed=0)
    optimizer = minitorch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch() -> None:
        for X, y in batches:
            loss = minitorch.nn.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def start_busy(seconds: float = BUSY_SECONDS) -> subprocess.Popen:
    """One busy neighbour: a pure-Python loop that stops by itself after `seconds`."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def worker(min_work: int | None) -> dict[str, float | str]:
    """In a process with one choice: numpy after a fast call, and the epoch quiet and busy."""
    import numba
    import numpy as np

    import minitorch
    from minitorch.backends import fast

    if min_work is not None:
        fast.PARALLEL_MIN_WORK = min_work
    x = minitorch.tensor(np.random.default_rng(1).random((400, 400)), backend="fast")
    matmul = numpy_matmul()
    (x * x).sum(1)  # compile or load, and start the threads
    matmul()

    def numpy_after_fast() -> float:
        (x * x).sum(1)  # a parallel call (160,000 elements), then numpy at once
        start = time.perf_counter()
        matmul()
        return time.perf_counter() - start

    after = statistics.median(numpy_after_fast() for _ in range(15))
    epoch = digits_epoch()
    epoch()  # warm-up: compile or load every kernel
    quiet = median_seconds(epoch, 3, warm_up=False)
    busy_process = start_busy()
    try:
        time.sleep(0.2)  # let it get going
        busy = median_seconds(epoch, 3, warm_up=False)
    finally:
        busy_process.kill()
        busy_process.wait()
    layer = numba.threading_layer()
    return {"layer": layer, "min_work": fast.PARALLEL_MIN_WORK, "numpy_after": after, "quiet": quiet, "busy": busy}


def run_child(args: list[str], env: dict[str, str]) -> dict:
    command = [sys.executable, "-m", "benchmarks.threading", *args]
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rounds: int) -> dict[str, dict[str, float | str]]:
    """Every choice once per round, in turn; medians over rounds (clean numpy paired per round)."""
    samples: dict[str, list[dict]] = {name: [] for name in CHOICES}
    for _ in range(rounds):
        for name, (env, min_work) in CHOICES.items():
            clean = run_child(["--numpy-clean"], {})["numpy"]
            result = run_child(["--worker", str(min_work or 0)], env)
            samples[name].append({**result, "numpy_share": clean / result["numpy_after"]})
    summary = {}
    for name, runs in samples.items():
        summary[name] = {"layer": runs[0]["layer"], "min_work": runs[0]["min_work"]}
        for key in ("numpy_share", "quiet", "busy"):
            summary[name][key] = statistics.median(r[key] for r in runs)
        summary[name]["busy_ratio"] = statistics.median(r["busy"] / r["quiet"] for r in runs)
    return summary


def report(summary: dict[str, dict]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before: {load}; {os.cpu_count()} CPUs")
    print(f"{'choice':34} {'layer':>9} {'min work':>9} {'numpy share':>11} {'quiet':>9} {'busy':>9} {'busy/quiet':>10}")
    for name, s in summary.items():
        print(
            f"{name:34} {s['layer']:>9} {s['min_work']:>9,} {s['numpy_share']:>11.2f} "
            f"{s['quiet'] * 1e3:>6.1f} ms {s['busy'] * 1e3:>6.1f} ms {s['busy_ratio']:>10.2f}"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threading", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--numpy-clean", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.numpy_clean:
        print(json.dumps(numpy_clean()))
        return {}
    if args.worker is not None:
        print(json.dumps(worker(args.worker or None)))
        return {}
    load = os.getloadavg()
    summary = measure(args.rounds)
    report(summary)
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_before": load, "load_after": os.getloadavg(), "choices": summary}, f, indent=2)
    return summary


if __name__ == "__main__":
    main()
