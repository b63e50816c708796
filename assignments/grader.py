"""`python -m assignments grade [DIR]`: grade a student's checkout against the reference.

1. Collect the reference's tests (in a child process, on the reference's own code) and group
   them by task marker. A task without tests is a grader error, never a pass.
2. Build a workspace: the student's code directories (tasks.toml's `code_dirs`) plus the
   reference's tests, pytest config and task list (`reference_paths`). The student's tests
   and conftest are never used.
3. Run the tests there in a child process (see runner.py), with time limits, and score from
   the outcomes the child reported over its pipe: each test is worth points / tests of a task.

The reference is the repository this package belongs to. `python -m` imports it from the
current directory first, so official grading runs from the reference checkout:
`cd reference && python -m assignments grade /path/to/submission`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from .child import GraderError, install_plugin
from .report import GradeReport, TaskResult, write_results_json
from .runner import Collection, Settings, TestRun, collect
from .tasklist import REPO_ROOT, Task, TaskList, TaskListError, load_task_list

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")

# Stands in for a code directory the student's checkout lacks, so that `import` fails instead
# of finding the reference's copy (the reference may be installed in the environment).
_MISSING_PACKAGE = """raise ImportError("{name}/ is missing from the submission")\n"""


def grade(
    student_dir: Path,
    reference_dir: Path = REPO_ROOT,
    tasks: Iterable[str] | None = None,
    timeout_test: float = 60.0,
    timeout_task: float = 600.0,
    timeout_collect: float = 120.0,
    json_path: Path | None = None,
    shrink: bool = False,
    fail_fast: bool = False,
    python: str = sys.executable,
) -> GradeReport:
    """Grade `student_dir` with the tests of `reference_dir`; optionally write results.json.

    `tasks` limits grading to these task ids; the timeouts are in seconds; `shrink` lets
    Hypothesis minimise failing examples (slow); `fail_fast` stops each task at its first
    failing test (quick checks only: the unrun tests count as failed). Never raises for a
    grader error: the report's `errors` says what went wrong, and results.json is written.
    """
    report = GradeReport(Path(student_dir).resolve(), Path(reference_dir).resolve())
    settings = Settings(timeout_test, timeout_task, timeout_collect, shrink, fail_fast, python)
    start = time.monotonic()
    try:
        _grade(report, None if tasks is None else list(tasks), settings)
    except (GraderError, TaskListError, OSError) as error:
        report.errors.append(str(error))
    except Exception:  # a grader bug: keep its traceback for whoever fixes it
        report.errors.append("unexpected grader failure:\n" + traceback.format_exc())
    report.seconds = time.monotonic() - start
    if json_path is not None:
        write_results_json(report, Path(json_path))
    return report


def _grade(report: GradeReport, task_ids: list[str] | None, settings: Settings) -> None:
    task_list = load_task_list(report.reference_dir)
    selected = task_list.tasks if task_ids is None else tuple(task_list.get(i) for i in task_ids)
    report.tasks = [TaskResult(task) for task in selected]
    if not report.student_dir.is_dir():
        raise GraderError(f"{report.student_dir} is not a directory")
    packages = _packages(report.reference_dir, task_list)
    with tempfile.TemporaryDirectory(prefix="minitorch-grade-") as temporary:
        root = Path(temporary)
        plugin_dir = install_plugin(root / "plugin")

        # 1. The reference's tests, by task, collected on the reference's own code.
        reference_dir, student_dir = report.reference_dir, report.student_dir
        reference = build_workspace(reference_dir, reference_dir, task_list, root / "reference")
        collection = collect(reference, plugin_dir, packages, settings)
        report.errors += [f"collecting the reference tests: {error}" for error in collection.errors]
        tests = tests_by_task(collection, selected)
        for result in report.tasks:
            if not tests[result.task.id]:
                result.error = f"no tests collected with marker {result.task.pytest_marker}"
                report.errors.append(f"task {result.task.id}: {result.error}")

        # 2. The student's code with the reference's tests. 3. Run them, in task order.
        workspace = build_workspace(student_dir, reference_dir, task_list, root / "student")
        tasks_of: dict[str, list[str]] = {}  # node id -> its tasks; ordered by task
        for task in selected:
            for nodeid in tests[task.id]:
                tasks_of.setdefault(nodeid, []).append(task.id)
        outcomes = TestRun(
            workspace, plugin_dir, list(tasks_of), tasks_of, packages, settings, protected=task_list.reference_paths
        ).run()
        for result in report.tasks:
            if result.error is None:
                result.outcomes = [outcomes[n] for n in tests[result.task.id]]


def tests_by_task(collection: Collection, tasks: Iterable[Task]) -> dict[str, list[str]]:
    """Task id -> node ids of the collected tests carrying its pytest marker."""
    return {
        task.id: [nodeid for nodeid, markers in collection.markers.items() if task.pytest_marker in markers]
        for task in tasks
    }


def _packages(reference: Path, task_list: TaskList) -> list[str]:
    """The importable code directories, whose origin the child must show is the workspace."""
    return [name for name in task_list.code_dirs if "/" not in name and (reference / name).is_dir()]


def build_workspace(code_from: Path, reference: Path, task_list: TaskList, dest: Path) -> Path:
    """Make `dest`: the code directories of `code_from`, the reference paths of `reference`."""
    dest.mkdir(parents=True)
    for name in task_list.code_dirs:
        source = code_from / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORE)
        elif (reference / name).is_dir():
            (dest / name).mkdir(parents=True)
            stand_in = _MISSING_PACKAGE.format(name=name)
            (dest / name / "__init__.py").write_text(stand_in, encoding="utf-8")
    for name in task_list.reference_paths:
        source = reference / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORE)
        elif source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest
