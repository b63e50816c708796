"""A grading's results: scores per task, a Rich table, and Gradescope's results.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .runner import Outcome
from .tasklist import Task

_MAX_FAILURE_CHARS = 1500  # of a task's first failing test's message, in results.json
_MAX_LINES = 4  # lines of every other failing test's message
MAX_RESULTS_BYTES = 1 << 20  # Gradescope's results.json stays under 1 MB


@dataclass
class TaskResult:
    """One task: its tests' outcomes, or the grader error that kept it from being graded."""

    task: Task
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None
    visibility: dict[str, str] = field(default_factory=dict)  # node id -> its own, if not the task's

    def groups(self) -> list[tuple[str, TaskResult]]:
        """(visibility, the part of this result with it): the task's own first, then one part
        per other visibility its tests ask for. Each part scores its tests' share of the points."""
        levels = [self.task.visibility] + sorted(set(self.visibility.values()) - {self.task.visibility})
        if len(levels) == 1:
            return [(self.task.visibility, self)]
        parts = []
        for level in levels:
            outcomes = [o for o in self.outcomes if self.visibility.get(o.nodeid, self.task.visibility) == level]
            share = replace(self.task, points=self.task.points * len(outcomes) / self.total)
            parts.append((level, TaskResult(share, outcomes, self.error)))
        return parts

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def score(self) -> float:
        """Each test is worth points / total; a task in error earns nothing."""
        if self.error is not None or not self.outcomes:
            return 0.0
        return self.task.points * self.passed / self.total

    @property
    def status(self) -> str:
        if self.error is not None or not self.outcomes:
            return "error"
        if self.passed == self.total:
            return "passed"
        return "partial" if self.passed else "failed"

    def output(self) -> str:
        """What the student reads about this task: the error, or which tests failed and why."""
        if self.error is not None:
            return f"Grader error: {self.error}"
        lines = [f"{self.passed}/{self.total} tests passed."]
        failed = [outcome for outcome in self.outcomes if not outcome.passed]
        for number, outcome in enumerate(failed):
            message = outcome.message.strip()
            if number == 0:  # the first failure in full (pytest's report, with the example)
                message = message if len(message) <= _MAX_FAILURE_CHARS else message[:_MAX_FAILURE_CHARS] + "\n..."
            else:  # the others in brief: the exception and its example
                message = "\n".join(_brief(message))
            lines += ["", f"FAILED {outcome.nodeid}", message]
        return "\n".join(lines)


@dataclass
class GradeReport:
    """The result of `grade()`. `errors` lists grader errors; empty means grading ran."""

    student_dir: Path
    reference_dir: Path
    tasks: list[TaskResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seed: int = 0  # of every test's random numbers and Hypothesis
    left_behind: list[str] = field(default_factory=list)  # processes killed, files deleted
    notes: list[str] = field(default_factory=list)  # for the reader, not errors

    @property
    def self_check(self) -> bool:
        """A checkout graded against itself (a student's own check): no reference values."""
        return self.student_dir == self.reference_dir

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def score(self) -> float:
        return sum(result.score for result in self.tasks)

    @property
    def max_score(self) -> float:
        return sum(result.task.points for result in self.tasks)

    def task(self, task_id: str) -> TaskResult:
        return next(result for result in self.tasks if result.task.id == task_id)

    def summary(self) -> str:
        score = f"Score: {self.score:.4g} / {self.max_score:g}"
        lines = [f"{score} ({len(self.tasks)} tasks, {self.seconds:.1f} s, seed {self.seed})."]
        if self.left_behind:
            lines.append(f"Cleaned up after the tests: {len(self.left_behind)} processes or files.")
        lines += self.notes
        lines += [f"Grader error: {error}" for error in self.errors]
        return "\n".join(lines)

    def to_gradescope(self) -> dict:
        """Gradescope's results.json format: one entry per task."""
        return {
            "score": round(self.score, 4),
            "execution_time": round(self.seconds, 1),
            "output": self.summary(),
            "visibility": "visible",
            "tests": [
                {
                    "name": f"Task {part.task.id}: {part.task.title}"
                    + ("" if level == result.task.visibility else f" ({level.replace('_', ' ')} tests)"),
                    "number": part.task.id,
                    "score": round(part.score, 4),
                    "max_score": round(part.task.points, 4),
                    "status": "passed" if part.status == "passed" else "failed",
                    "output": part.output(),
                    "visibility": level,
                }
                for result in self.tasks
                for level, part in result.groups()
            ],
        }


def _brief(message: str) -> list[str]:
    """A few lines of a failure: pytest's `E ...` lines (the error and the falsifying example)."""
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ") or line.lstrip().startswith("Falsifying")]
    chosen = (errors or lines)[:_MAX_LINES]
    return [line if len(line) <= 200 else line[:197] + "..." for line in chosen]


def results_json(report: GradeReport, limit: int = MAX_RESULTS_BYTES) -> str:
    """results.json's text, under `limit` bytes: task outputs are cut to fit if need be."""
    results = report.to_gradescope()
    text = json.dumps(results, indent=2) + "\n"
    while len(text.encode()) > limit:
        longest = max(results["tests"], key=lambda test: len(test["output"]))
        keep = len(longest["output"]) // 2
        longest["output"] = longest["output"][:keep] + "\n... (cut: results.json must stay under 1 MB)"
        text = json.dumps(results, indent=2) + "\n"
    return text


def write_results_json(report: GradeReport, path: Path) -> None:
    """Write results.json atomically, replacing whatever a test may have put there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(results_json(report), encoding="utf-8")
    os.replace(temporary, path)


_FAILURES_SHOWN = 3  # failing tests listed per task under the table
_STATUS_STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "bold red"}


def print_report(report: GradeReport, console: Console | None = None) -> None:
    """The score table, then a few failing tests per task, then any grader errors."""
    console = console or Console()
    table = Table(title=f"Grade of {report.student_dir}")
    for column, justify in [
        ("Task", "left"),
        ("Title", "left"),
        ("Tests", "right"),
        ("Points", "right"),
        ("Status", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for result in report.tasks:
        style = _STATUS_STYLE[result.status]
        table.add_row(
            result.task.id,
            result.task.title,
            f"{result.passed}/{result.total}",
            f"{result.score:.3g}/{result.task.points:g}",
            f"[{style}]{result.status}[/]",
        )
    table.add_section()
    table.add_row("", "Total", "", f"{report.score:.4g}/{report.max_score:g}", "")
    console.print(table)
    for result in report.tasks:
        if result.error is not None:
            console.print(f"[bold red]Task {result.task.id}:[/] {escape(result.error)}", highlight=False)
        failed = [outcome for outcome in result.outcomes if not outcome.passed]
        for outcome in failed[:_FAILURES_SHOWN]:
            gist = escape(_gist(outcome.message))
            console.print(f"[red]FAILED[/] {escape(outcome.nodeid)}: {gist}", highlight=False)
        if len(failed) > _FAILURES_SHOWN:
            more = len(failed) - _FAILURES_SHOWN
            console.print(
                f"  ... and {more} more failing tests of task {result.task.id} (all of them are in the results file)",
                highlight=False,
            )
    for note in report.notes:
        console.print(escape(note), highlight=False)
    for error in report.errors:
        console.print(f"[bold red]Grader error:[/] {escape(error)}", highlight=False)


def _gist(message: str) -> str:
    """One line of a failure: pytest's first `E ...` line (the exception), else the first line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    gist = errors[0] if errors else (lines[0] if lines else "")
    return gist if len(gist) <= 160 else gist[:157] + "..."
