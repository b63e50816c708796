"""Training over time: a node's value and gradient across the iterations of a recording.

Iterations repeat the same program, so a node is found again in another iteration by its
place in it: the k-th forward op of iteration 3 is the k-th of iteration 7. A parameter keeps
its id across iterations (the optimizer updates it in place), and its IterationEvent carries
its value and gradient at every optimizer step.

    series = node_series(rec, iteration=2, node=41)   # [(value norm, grad norm), ...]
    sparkline([1.0, 2.0, 4.0])                         # "▁▃█"
"""

from __future__ import annotations

import math
from typing import Any

from minitorch.events import BackwardEvent, ForwardEvent, KernelEvent, Recording
from minitorch.health import norm_of

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """One bar per value, scaled from the smallest (▁) to the largest (█); "!" NaN/Inf, " " none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    bars = []
    for v in values:
        if v is None:
            bars.append(" ")
        elif not math.isfinite(v):
            bars.append("!")
        else:
            level = 0 if high == low else round((v - low) / (high - low) * (len(BARS) - 1))
            bars.append(BARS[level])
    return "".join(bars)


def _forward(rec: Recording, index: int) -> list[ForwardEvent]:
    it = rec.iterations[index]
    return [e for e in rec.events[it.start : it.end] if isinstance(e, ForwardEvent)]


def _grad_of(rec: Recording, index: int, node: int) -> Any:
    it = rec.iterations[index]
    grads = [e.grad_output for e in rec.events[it.start : it.end] if isinstance(e, BackwardEvent) and e.node == node]
    return grads[-1] if grads else None


def node_series(rec: Recording, iteration: int, node: int) -> list[tuple[float | None, float | None]]:
    """(value norm, gradient norm) of `node` (an id seen in `iteration`) in every iteration."""
    iterations = rec.iterations
    params = [p.id for it in iterations if it.closing for p in it.closing.params]
    if node in params:
        return [_param_point(it.closing, node) for it in iterations]
    positions = [k for k, e in enumerate(_forward(rec, iteration)) if e.output.id == node]
    if not positions:
        return [(None, None)] * len(iterations)
    series: list[tuple[float | None, float | None]] = []
    for index in range(len(iterations)):
        forward = _forward(rec, index)
        if positions[0] >= len(forward):
            series.append((None, None))
            continue
        same = forward[positions[0]].output
        series.append((norm_of(same.value), norm_of(_grad_of(rec, index, same.id))))
    return series


def _param_point(closing: Any, node: int) -> tuple[float | None, float | None]:
    if closing is None:
        return (None, None)
    stats = next((p for p in closing.params if p.id == node), None)
    return (None, None) if stats is None else (norm_of(stats.value), norm_of(stats.grad))


def series_lines(rec: Recording, iteration: int, node: int, name: str) -> list[str]:
    """Two sparklines (value and gradient norm across iterations) with their last numbers."""
    points = node_series(rec, iteration, node)
    values, grads = [p[0] for p in points], [p[1] for p in points]

    def last(xs: list[float | None]) -> str:
        known = [x for x in xs if x is not None]
        return f"{known[-1]:.4g}" if known else "—"

    return [
        f"{name} over {len(points)} iterations",
        f"value norm {sparkline(values)}  now {last(values[: iteration + 1])}",
        f"grad norm  {sparkline(grads)}  now {last(grads[: iteration + 1])}",
    ]


def kernel_timeline(kernels: list[KernelEvent], width: int = 40) -> list[str]:
    """A text Gantt chart of kernel launches: one line each, a bar where it ran in the span."""
    timed = [(k.start, k) for k in kernels if k.start is not None]
    if not timed:
        return ["(no timed kernel launches)"]
    begin = min(start for start, _ in timed)
    end = max(start + k.seconds for start, k in timed)
    span = (end - begin) or 1e-9
    lines = []
    for start, k in timed:
        left = int((start - begin) / span * width)
        length = max(1, int(k.seconds / span * width))
        bar = " " * left + "█" * min(length, width - left)
        lines.append(f"{k.kernel[:14]:<14} |{bar:<{width}}| {k.seconds * 1e6:8.1f} µs step {k.step}")
    return lines
