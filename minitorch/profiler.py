"""Kernel timings: `with minitorch.profile() as prof:` records every kernel launch.

Each launch arrives as an `events.KernelEvent` (kernel, backend, the op that launched it,
input shapes, seconds, bytes moved, flops), so recordings carry kernel timings too.
`prof.table()` aggregates per kernel, like torch.profiler's `key_averages().table()`:

    kernel     backend  calls  total   mean   share  GFLOP/s  GB/s  first call  steady mean

The first launch of a kernel (fast and cuda backends: Numba compiles it then, JIT) is shown
apart from the steady state, the mean of the later launches: `first call - steady mean`
estimates the compilation time (`KernelStats.jit_seconds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from . import events


@dataclass
class KernelStats:
    """All launches of one kernel on one backend."""

    kernel: str
    backend: str
    calls: int = 0
    seconds: float = 0.0
    bytes: int = 0
    flops: int = 0
    first_seconds: float = 0.0  # the first launch: includes JIT compilation if it compiled then

    @property
    def mean(self) -> float:
        return self.seconds / self.calls if self.calls else 0.0

    @property
    def steady_mean(self) -> float:
        """Mean time of the launches after the first (the first's if there is only one)."""
        if self.calls < 2:
            return self.first_seconds
        return (self.seconds - self.first_seconds) / (self.calls - 1)

    @property
    def jit_seconds(self) -> float:
        """How much longer the first launch took than a steady one: about the compilation time."""
        return max(self.first_seconds - self.steady_mean, 0.0) if self.calls >= 2 else 0.0

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else 0.0

    @property
    def gbytes_per_second(self) -> float:
        return self.bytes / self.seconds / 1e9 if self.seconds > 0 else 0.0


SORT_KEYS = {"total": "seconds", "calls": "calls", "mean": "mean", "name": "kernel", "flops": "flops"}


class Profile:
    """The kernel launches seen inside `profile()`."""

    def __init__(self) -> None:
        self.launches: list[events.KernelEvent] = []

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.KernelEvent):
            self.launches.append(event)

    @property
    def total_seconds(self) -> float:
        return sum(e.seconds for e in self.launches)

    def key_averages(self, sort_by: str = "total", op: str | None = None) -> list[KernelStats]:
        """One row per (kernel, backend), optionally only launches made by `op`, sorted."""
        if sort_by not in SORT_KEYS:
            raise ValueError(f"sort_by must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}")
        rows: dict[tuple[str, str], KernelStats] = {}
        for event in self.launches:
            if op is not None and event.op != op:
                continue
            row = rows.setdefault((event.kernel, event.backend), KernelStats(event.kernel, event.backend))
            if row.calls == 0:
                row.first_seconds = event.seconds
            row.calls += 1
            row.seconds += event.seconds
            row.bytes += event.bytes or 0
            row.flops += event.flops or 0
        key = SORT_KEYS[sort_by]
        return sorted(rows.values(), key=lambda r: getattr(r, key), reverse=key != "kernel")

    def table(self, sort_by: str = "total", op: str | None = None, limit: int | None = None) -> Table:
        """A Rich table of `key_averages` (print it with rich or `prof.print()`)."""
        title = "Kernel timings" + (f" for {op}" if op else "")
        table = Table(title=title)
        for name, justify in [
            ("kernel", "left"),
            ("backend", "left"),
            ("calls", "right"),
            ("total", "right"),
            ("mean", "right"),
            ("share", "right"),
            ("GFLOP/s", "right"),
            ("GB/s", "right"),
            ("first call", "right"),
            ("steady mean", "right"),
        ]:
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        total = self.total_seconds or 1.0
        for row in self.key_averages(sort_by, op)[:limit]:
            table.add_row(
                row.kernel,
                row.backend,
                str(row.calls),
                _time(row.seconds),
                _time(row.mean),
                f"{row.seconds / total:.1%}",
                f"{row.gflops:.2f}",
                f"{row.gbytes_per_second:.2f}",
                _time(row.first_seconds),
                _time(row.steady_mean),
            )
        return table

    def jit_seconds(self) -> float:
        """Estimated compilation time over all kernels (first calls beyond their steady time)."""
        return sum(row.jit_seconds for row in self.key_averages())

    def print(self, **kwargs: object) -> None:
        Console().print(self.table(**kwargs))  # type: ignore[arg-type]


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


@contextlib.contextmanager
def profile() -> Iterator[Profile]:
    """Record every kernel launch inside the block."""
    prof = Profile()
    events.LISTENERS.append(prof)
    try:
        yield prof
    finally:
        events.LISTENERS.remove(prof)
