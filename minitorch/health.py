"""Gradient health: is each parameter learning? One row per parameter per training iteration.

    with minitorch.record() as rec:
        for x, y in loader: ...; optimizer.step()
    print(rec.gradient_health())       # a table; `.rows` are plain data

Per row: the gradient norm $\\|g\\|$, the update/weight ratio $\\|\\Delta w\\| / \\|w\\|$, and the
fraction of dead ReLU units right after the parameter's layer (units that output 0 for every
example of the batch). Rules of thumb (not laws), flagged when broken:

- vanishing gradient: $\\|g\\| < 10^{-7}$ (the parameter no longer learns);
- exploding gradient: $\\|g\\| > 10^{3}$;
- update ratio far from about $10^{-3}$: above $10^{-2}$ (learning rate too high) or below
  $10^{-4}$ (too low);
- dead ReLUs: half or more of the units after the layer output 0 on the whole batch.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .events import ForwardEvent, Recording

VANISHING = 1e-7
EXPLODING = 1e3
RATIO_LOW, RATIO_HIGH = 1e-4, 1e-2  # a factor 10 either side of the usual ~1e-3
DEAD_FRACTION = 0.5


@dataclass
class HealthRow:
    """One parameter at one iteration."""

    iteration: int
    name: str
    grad_norm: float | None
    weight_norm: float | None
    update_ratio: float | None
    dead_relu: float | None  # fraction of dead units after this parameter's layer (None: no ReLU)
    flags: list[str] = field(default_factory=list)


@dataclass
class GradientHealth:
    """The rows of `Recording.gradient_health()`; `str()` draws them as a Rich table."""

    rows: list[HealthRow]

    def flagged(self) -> list[HealthRow]:
        return [row for row in self.rows if row.flags]

    def at(self, iteration: int) -> list[HealthRow]:
        return [row for row in self.rows if row.iteration == iteration]

    def table(self) -> Any:
        from rich.table import Table

        table = Table(title="Gradient health")
        for name in ("iter", "parameter", "grad norm", "update/weight", "dead ReLU", "flags"):
            table.add_column(name, justify="left" if name in ("parameter", "flags") else "right")
        for row in self.rows:
            table.add_row(*row_cells(row))
        return table

    def __str__(self) -> str:
        from rich.console import Console

        console = Console(width=110, record=True, file=_Null(), color_system=None)
        console.print(self.table())
        return console.export_text().rstrip()

    def __len__(self) -> int:
        return len(self.rows)


class _Null(io.StringIO):
    """A text file that forgets what is written to it."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def row_cells(row: HealthRow) -> tuple[str, ...]:
    """A row as text cells: iteration, name, grad norm, ratio, dead fraction, flags."""

    def number(x: float | None) -> str:
        return "—" if x is None else f"{x:.3g}"

    dead = "—" if row.dead_relu is None else f"{row.dead_relu:.0%}"
    return (str(row.iteration), row.name, number(row.grad_norm), number(row.update_ratio), dead, ", ".join(row.flags))


def flags_for(grad_norm: float | None, ratio: float | None, dead: float | None) -> list[str]:
    """The rules of thumb in the module docstring, as short flags."""
    flags = []
    if grad_norm is not None and not math.isfinite(grad_norm):
        flags.append("NaN/Inf gradient")
    elif grad_norm is not None and grad_norm < VANISHING:
        flags.append("vanishing")
    elif grad_norm is not None and grad_norm > EXPLODING:
        flags.append("exploding")
    if ratio is not None and ratio > RATIO_HIGH:
        flags.append("update too large")
    elif ratio is not None and 0 < ratio < RATIO_LOW:
        flags.append("update too small")
    if dead is not None and dead >= DEAD_FRACTION:
        flags.append("dead ReLUs")
    return flags


def norm_of(summary: Any) -> float | None:
    """The norm of a summarized value (a float's absolute value); NaN if it holds NaN/Inf."""
    if summary is None:
        return None
    if isinstance(summary, dict):
        return math.nan if summary.get("nonfinite") else float(summary["norm"])
    return abs(float(summary))


def gradient_health(rec: Recording) -> GradientHealth:
    """One row per parameter per iteration closed by an optimizer step."""
    rows = []
    for iteration in rec.iterations:
        if iteration.closing is None or iteration.closing.reason != "optimizer":
            continue
        steps = rec.events[iteration.start : iteration.end]
        forward = cast("list[ForwardEvent]", [e for e in steps if e.kind == "forward"])  # kind names the class
        names = parameter_paths(forward)
        for p in iteration.closing.params:
            grad, weight = norm_of(p.grad), norm_of(p.value)
            ratio = p.update_norm / weight if p.update_norm is not None and weight else None
            dead = dead_relu_after(forward, p.id)
            name = names.get(p.id, p.label)
            rows.append(HealthRow(iteration.index, name, grad, weight, ratio, dead, flags_for(grad, ratio, dead)))
    return GradientHealth(rows)


def parameter_paths(forward: list[ForwardEvent]) -> dict[int, str]:
    """Leaf id -> its path in the model (`layers.0.weight`), from the modules its users ran in.

    A module scope reads "0:Linear" (attribute name, type); the model itself, "MLP", has no name.
    """
    scopes: dict[int, list[list[str]]] = {}
    labels: dict[int, str] = {}
    for event in forward:
        for ref in event.inputs:
            scopes.setdefault(ref.id, []).append(event.scope)
            labels[ref.id] = ref.label
    paths = {}
    for leaf, seen in scopes.items():
        common = seen[0]
        for scope in seen[1:]:
            n = 0
            while n < min(len(common), len(scope)) and common[n] == scope[n]:
                n += 1
            common = common[:n]
        names = [label.split(":", 1)[0] for label in common if ":" in label]
        paths[leaf] = ".".join([*names, labels[leaf]])
    return paths


def dead_relu_after(forward: list[ForwardEvent], param: int) -> float | None:
    """Fraction of dead units in the first ReLUs downstream of `param` (None if none is reached)."""
    users: dict[int, list[ForwardEvent]] = {}
    for event in forward:
        for ref in event.inputs:
            users.setdefault(ref.id, []).append(event)
    frontier, seen, relus = [param], {param}, []
    while frontier:
        node = frontier.pop()
        for event in users.get(node, []):
            if event.op == "ReLU":
                relus.append(event.output.value)
            elif event.output.id not in seen:
                seen.add(event.output.id)
                frontier.append(event.output.id)
    columns = [(v["zero_columns"], v["shape"][-1]) for v in relus if isinstance(v, dict) and "zero_columns" in v]
    if not columns:
        return None
    return sum(z for z, _ in columns) / sum(n for _, n in columns)


class LiveHealth:
    """Gradient health of a model read straight from its parameters, once per epoch: the rows a
    training loop shows live (the demo), without a recording. The update ratio is the epoch's
    mean per step: $\\|w_{now} - w_{epoch\\ start}\\| / (\\|w\\| \\cdot steps)$; dead ReLUs need a
    recording (`Recording.gradient_health`), so they show as —."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.start = self._weights()
        self.epoch = 0
        self.health = GradientHealth([])

    def _weights(self) -> dict[str, Any]:
        return {name: p.numpy().copy() for name, p in self.model.named_parameters()}

    def update(self, epoch: int, steps: int) -> GradientHealth:
        """The rows for the epoch that just ended (`steps` optimizer steps long)."""
        import numpy as np

        now = self._weights()
        rows = []
        for name, p in self.model.named_parameters():
            grad = None if p.grad is None else float(np.linalg.norm(p.grad.numpy()))
            weight = float(np.linalg.norm(now[name]))
            moved = float(np.linalg.norm(now[name] - self.start[name])) / max(steps, 1)
            ratio = moved / weight if weight > 0 else None
            rows.append(HealthRow(epoch, name, grad, weight, ratio, None, flags_for(grad, ratio, None)))
        self.start, self.health = now, GradientHealth(rows)
        return self.health
