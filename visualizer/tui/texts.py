"""What each panel says, as plain lines of text built from a GraphModel.

No widgets here: the app puts these lines on screen, `python -m visualizer ... --print`
writes them to stdout, and tests read them directly.
"""

from __future__ import annotations

import linecache
import os
from typing import TYPE_CHECKING, Any

from minitorch.events import Recording, is_nonfinite
from minitorch.profiler import KernelStats, Profile
from visualizer.groups import group_lines
from visualizer.model import norm_text

if TYPE_CHECKING:
    from visualizer.model import GraphModel, StepView

PHASE_SHORT = {"forward": "fwd", "backward": "bwd"}


def format_seconds(seconds: float) -> str:
    """1.2 s, 3.40 ms or 56.0 µs: the unit that keeps the number readable."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def kernel_op(step: StepView) -> str | None:
    """The op name its kernels were recorded under: `Mul` forward, `Mul.backward` backward."""
    if step.op is None:
        return None
    if step.phase == "backward" and not step.op.endswith(".backward"):
        return f"{step.op}.backward"
    return step.op


def step_line(model: GraphModel, step: StepView) -> str:
    """One line per step for the event log: index, phase, node, and its value or gradient."""
    what = step.op or "leaf"
    if step.phase == "forward":
        number = f"= {model.summary(step.output_value)}"
    else:
        number = f"grad {model.summary(step.grad_output)}"
    flag = "  ⚠ non-finite" if _step_nonfinite(model, step) else ""
    phase = PHASE_SHORT.get(step.phase, step.phase)
    return f"{step.index + 1:>5} {phase} {what:<10} {model.name(step.node)} {number}{flag}"


def step_title(model: GraphModel, step: StepView) -> str:
    """`step 4/9 · backward · Mul #7`, for the header."""
    return f"step {step.index + 1}/{len(model.steps)} · {step.phase} · {model.name(step.node)}"


def node_detail_lines(model: GraphModel, node_id: int) -> list[str]:
    """The node: what made it, from which inputs, its value and its gradient."""
    node = model.nodes.get(node_id)
    if node is None:
        return [f"#{node_id}: not in the graph"]
    made_by = f"output of {node.op}" if node.op else node.kind
    if node.group is not None:
        made_by = "group (collapsed; o opens it)"
    lines = [f"{model.name(node_id)}   {made_by}"]
    lines += ["  " + line for line in group_lines(model, node)]
    if node.scope:
        lines.append("scope: " + " › ".join(node.scope))
    if node.parents:
        lines.append("inputs: " + ", ".join(model.name(p) for p in node.parents))
    lines += value_lines("value: ", node.value, model)
    lines += value_lines("grad:  ", node.grad, model)
    if node.nonfinite:
        lines.append("⚠ holds NaN or Inf")
    if node.where:
        lines.append("made at: " + where_text(node.where))
    return lines


def value_lines(heading: str, value: Any, model: GraphModel) -> list[str]:
    """A value in one line; a tensor gets a second line with its norm."""
    if value is None:
        return [f"{heading} —"]
    lines = [f"{heading} {model.summary(value)}"]
    if isinstance(value, dict) and value["shape"]:  # a 0-d tensor is one number: said once
        lines.append(f"{' ' * len(heading)} {norm_text(value)}")
    return lines


def where_text(where: str) -> str:
    """`script.py:12  loss = F.cross_entropy(out, y)`: the place (relative to the working folder
    when inside it) and, if the file is here to read, its line of code."""
    path, _, line = where.rpartition(":")
    if not line.isdigit():
        return where
    shown = os.path.relpath(path) if path.startswith(os.getcwd() + os.sep) else path
    code = linecache.getline(path, int(line)).strip()
    return f"{shown}:{line}" + (f"  {code}" if code else "")


def chain_lines(model: GraphModel, step: StepView) -> list[str]:
    """Forward: the op applied to its input values. Backward: the chain rule as numbers."""
    if step.phase == "backward":
        incoming = f"incoming d/d{model.name(step.node)} = {model.summary(step.grad_output)}"
        return [incoming, *step.chain_rule_lines(model)]
    lines = [f"{model.name(step.node)} = {step.op}({', '.join(model.name(i) for i in step.inputs)})"]
    for input_id, value in zip(step.inputs, step.input_values):
        lines.append(f"  {model.name(input_id)} = {model.summary(value)}")
    lines.append(f"  → {model.summary(step.output_value)}")
    return lines


def step_report(model: GraphModel, step: StepView) -> list[str]:
    """Everything the app shows for one step, as text (for `--print`)."""
    return [
        f"── {step_title(model, step)}",
        *("  " + line for line in node_detail_lines(model, step.node)),
        *("  " + line for line in chain_lines(model, step)),
    ]


def _step_nonfinite(model: GraphModel, step: StepView) -> bool:
    return is_nonfinite(step.output_value) or is_nonfinite(step.grad_output)


# ## Kernel timings, from the seconds the recording holds (never from the clock at display)


def profile_of(model: GraphModel) -> Profile:
    """A Profile holding the model's recorded kernel launches."""
    profile = Profile()
    profile.launches = list(model.kernels)
    return profile


OP_KERNEL_COLUMNS = ("kernel", "backend", "calls", "total", "mean", "shapes")
RUN_KERNEL_COLUMNS = ("kernel", "backend", "calls", "total", "mean", "share", "GFLOP/s", "GB/s", "first", "steady")


def op_kernel_rows(profile: Profile, op: str | None) -> list[tuple[str, ...]]:
    """Per kernel, the launches made by `op` over the whole run, with the shapes they saw."""
    if op is None:
        return []
    shapes: dict[tuple[str, str], list[str]] = {}
    for launch in profile.launches:
        if launch.op == op:
            seen = shapes.setdefault((launch.kernel, launch.backend), [])
            text = " ".join(_shape(s) for s in launch.shapes)
            if text not in seen:
                seen.append(text)
    rows = []
    for stats in profile.key_averages(op=op):
        seen = shapes[(stats.kernel, stats.backend)]
        shown = "; ".join(seen[:2]) + (f"; +{len(seen) - 2}" if len(seen) > 2 else "")
        rows.append((*_timing(stats), shown))
    return rows


def run_kernel_rows(profile: Profile) -> list[tuple[str, ...]]:
    """Per kernel over the whole run, like `Profile.key_averages`: time share, throughput, and
    the first launch (JIT compilation included) apart from the steady mean of the others."""
    total = profile.total_seconds or 1.0
    return [
        (
            *_timing(stats),
            f"{stats.seconds / total:.1%}",
            f"{stats.gflops:.2f}",
            f"{stats.gbytes_per_second:.2f}",
            format_seconds(stats.first_seconds),  # the first launch: JIT compilation included
            format_seconds(stats.steady_mean),
        )
        for stats in profile.key_averages()
    ]


def _timing(stats: KernelStats) -> tuple[str, ...]:
    return (stats.kernel, stats.backend, str(stats.calls), format_seconds(stats.seconds), format_seconds(stats.mean))


def _shape(shape: Any) -> str:
    return "(" + ",".join(str(n) for n in shape) + ")"


# ## Iterations, gradient health, a script's error


def recording_lines(rec: Recording) -> list[str]:
    """What `--print` adds after the steps: iterations, first NaN, gradient health, the error."""
    lines = []
    iterations = rec.iterations
    if iterations:
        lines.append(f"── {len(iterations)} iterations (showing the last)")
        if rec.dropped_iterations:
            lines.append(f"  steps of {rec.dropped_iterations} early iterations dropped to stay under max_bytes")
        first = rec.first_nonfinite_iteration()
        lines.append(f"  first NaN/Inf in iteration {first}" if first is not None else "  no NaN/Inf")
        health = rec.gradient_health()
        if health.rows:
            lines.append("── gradient health")
            lines += ["  " + line for line in str(health).split("\n")]
    if rec.error:
        lines.append("── the script raised (steps up to the failure are above)")
        lines += ["  " + line for line in rec.error.rstrip().split("\n")]
    return lines


def health_lines(rec: Recording, iteration: int) -> list[str]:
    """The gradient health rows of one iteration, one line per parameter."""
    from minitorch.health import row_cells

    rows = rec.gradient_health().at(iteration)
    if not rows:
        return [f"iteration {iteration}: no optimizer step recorded"]
    lines = [f"{'parameter':<20} {'grad norm':>10} {'upd/weight':>10} {'dead':>5}  flags"]
    for row in rows:
        _, name, grad, ratio, dead, flags = row_cells(row)
        lines.append(f"{name[:20]:<20} {grad:>10} {ratio:>10} {dead:>5}  {flags}")
    return lines


STEP_KERNEL_COLUMNS = ("kernel", "backend", "calls", "total", "mean", "shapes")


def step_kernel_rows(model: GraphModel, index: int) -> list[tuple[str, ...]]:
    """This step's launches only (a compiled call: its fused kernels), per kernel."""
    profile = Profile()
    profile.launches = list(model.kernels_of_step(index))
    shapes: dict[tuple[str, str], list[str]] = {}
    for launch in profile.launches:
        seen = shapes.setdefault((launch.kernel, launch.backend), [])
        text = " ".join(_shape(s) for s in launch.shapes)
        if text not in seen:
            seen.append(text)
    return [(*_timing(stats), "; ".join(shapes[(stats.kernel, stats.backend)][:2])) for stats in profile.key_averages()]
