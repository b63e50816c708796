"""`python -m assignments course-check`: are the tasks independent of each other?

For every task T, a tree that solves every task but T (the reference with only T's regions
stubbed) is graded: exactly T must fail. A test of another task that fails there depends on
T's code, and a task that still passes has tests that do not test its code. Heavy (a full
grading per task), so it runs outside the test suite (`make course-check`), with few
Hypothesis examples per test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .grader import grade
from .student import build_student_version
from .tasklist import REPO_ROOT, load_task_list


@dataclass
class LeaveOneOut:
    """What grading the tree without task `task_id` showed."""

    task_id: str
    still_passes: bool = False  # the left-out task earned full marks: its tests miss its code
    broken: dict[str, list[str]] = field(default_factory=dict)  # other task -> its failing tests
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.still_passes or self.broken or self.errors)

    def describe(self) -> str:
        if self.ok:
            return f"task {self.task_id}: independent"
        lines = [f"task {self.task_id}:"]
        if self.still_passes:
            lines.append("  still earns full marks with its code stubbed")
        for other, tests in self.broken.items():
            lines.append(f"  breaks task {other}: " + ", ".join(tests[:3]) + (" ..." if len(tests) > 3 else ""))
        lines += [f"  grader error: {error}" for error in self.errors]
        return "\n".join(lines)


def leave_one_out(task_id: str, reference: Path = REPO_ROOT, max_examples: int = 5, **options: object) -> LeaveOneOut:
    """Grade the reference with only `task_id` stubbed."""
    result = LeaveOneOut(task_id)
    with tempfile.TemporaryDirectory(prefix=f"minitorch-without-{task_id}-") as folder:
        tree = Path(folder) / "tree"
        build_student_version(reference, tree, only={task_id})
        report = grade(tree, reference_dir=reference, max_examples=max_examples, **options)  # type: ignore[arg-type]
    result.errors = list(report.errors)
    for task in report.tasks:
        failing = [o.nodeid for o in task.outcomes if not o.passed]
        if task.task.id == task_id:
            result.still_passes = not failing and task.error is None
        elif failing:
            result.broken[task.task.id] = failing
    return result


def course_check(
    reference: Path = REPO_ROOT, tasks: Iterable[str] | None = None, max_examples: int = 5, **options: object
) -> list[LeaveOneOut]:
    """Leave each task out in turn (all tasks by default); print and return the findings."""
    ids = list(tasks) if tasks is not None else load_task_list(reference).ids
    results = []
    for task_id in ids:
        result = leave_one_out(task_id, reference, max_examples, **options)
        print(result.describe(), flush=True)
        results.append(result)
    return results
