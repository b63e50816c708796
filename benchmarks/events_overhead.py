"""How much the event layer costs a Scalar op when nobody listens (and when someone does).

    python -m benchmarks.events_overhead

The engine guards every report with `if events.LISTENERS:`. We time (1) a Scalar
forward+backward workload with no listener, (2) the guard alone, and (3) the same
workload with a do-nothing listener and with a full `record()`, all in one process.
"""

from __future__ import annotations

import statistics
import timeit

from rich.console import Console
from rich.table import Table

import minitorch
from minitorch import Scalar, events

OPS_PER_RUN = 7  # forward ops in `workload` (backward visits each once more)


def workload() -> None:
    x, y = Scalar(0.5), Scalar(-1.5)
    z = ((x * y + x).sigmoid() * y - x).relu() + 1.0
    z.backward()


def per_call(fn, repeat: int = 7, number: int = 2000) -> float:
    """Median seconds per call over `repeat` runs of `number` calls (after one warm-up)."""
    fn()
    return statistics.median(timeit.repeat(fn, repeat=repeat, number=number)) / number


def guard_cost() -> float:
    """Seconds for one `if events.LISTENERS:` test (what an op pays when nobody listens)."""
    loop = timeit.repeat("if events.LISTENERS: pass", globals={"events": events}, number=1_000_000, repeat=7)
    empty = timeit.repeat("pass", number=1_000_000, repeat=7)
    return (statistics.median(loop) - statistics.median(empty)) / 1_000_000


def main() -> None:
    quiet = per_call(workload)
    guards_per_run = 2 * OPS_PER_RUN + 1  # one per forward op, one per backward step
    guard = guard_cost()
    events.LISTENERS.append(lambda event: None)
    try:
        null_listener = per_call(workload)
    finally:
        events.LISTENERS.clear()

    def recorded() -> None:
        with minitorch.record():
            workload()

    recording = per_call(recorded, number=500)

    table = Table(title="Event layer overhead (Scalar forward + backward of 7 ops)")
    table.add_column("case")
    table.add_column("time per run", justify="right")
    table.add_column("vs no listener", justify="right")
    table.add_row("no listener", f"{quiet * 1e6:.1f} µs", "1.00×")
    table.add_row(
        f"the guards alone ({guards_per_run} checks)",
        f"{guard * guards_per_run * 1e6:.3f} µs",
        f"{guard * guards_per_run / quiet:.2%} of the run",
    )
    table.add_row("do-nothing listener", f"{null_listener * 1e6:.1f} µs", f"{null_listener / quiet:.2f}×")
    table.add_row("record()", f"{recording * 1e6:.1f} µs", f"{recording / quiet:.2f}×")
    Console().print(table)


if __name__ == "__main__":
    main()
