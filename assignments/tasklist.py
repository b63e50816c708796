"""The task list, `assignments/tasks.toml`, and the three names each task goes by.

A task has an id such as `"1.2"`. Its reference solution sits between the source markers
`# BEGIN ASSIGN1_2` and `# END ASSIGN1_2`, and its tests carry the pytest marker `task1_2`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

#: The repository that contains this package: the reference solution and its tests.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where a repository keeps its task list, relative to its root.
TASKS_FILE = Path("assignments") / "tasks.toml"
#: Defaults for the optional top-level keys of tasks.toml.
DEFAULT_CODE_DIRS = ("minitorch", "visualizer")
DEFAULT_REFERENCE_PATHS = ("tests", "pyproject.toml", "assignments")

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
_TASK_ID = re.compile(r"\d+\.\d+")
_MARKER = re.compile(r"(?:ASSIGN|task)(\d+)_(\d+)")


class TaskListError(ValueError):
    """tasks.toml is missing or malformed, or names a task that does not exist."""


def source_marker(task_id: str) -> str:
    """`"1.2"` -> `"ASSIGN1_2"`, the marker around the task's code."""
    return "ASSIGN" + task_id.replace(".", "_")


def pytest_marker(task_id: str) -> str:
    """`"1.2"` -> `"task1_2"`, the pytest marker on the task's tests."""
    return "task" + task_id.replace(".", "_")


def task_id_from_marker(marker: str) -> str:
    """`"ASSIGN1_2"` or `"task1_2"` -> `"1.2"`; ValueError for anything else."""
    match = _MARKER.fullmatch(marker)
    if match is None:
        raise ValueError(f"{marker!r} is not a task marker (expected ASSIGN<m>_<n> or task<m>_<n>)")
    return f"{match[1]}.{match[2]}"


@dataclass(frozen=True)
class Task:
    """One assignment task, as listed in tasks.toml."""

    id: str
    title: str
    points: float
    chapter: str = ""
    #: Gradescope visibility of the task's result: visible, after_due_date, after_published, hidden.
    visibility: str = "visible"
    #: The other tasks whose code this task's tests also run (the course check allows these,
    #: and no others); the student README lists them as what to finish first.
    uses: tuple[str, ...] = ()

    @property
    def source_marker(self) -> str:
        return source_marker(self.id)

    @property
    def pytest_marker(self) -> str:
        return pytest_marker(self.id)


@dataclass(frozen=True)
class TaskList:
    """Everything tasks.toml says: the tasks, and which paths are student code."""

    tasks: tuple[Task, ...]
    #: Directories the student writes (stubbed by `student`, taken from the student by `grade`).
    code_dirs: tuple[str, ...] = DEFAULT_CODE_DIRS
    #: Paths `grade` takes from the reference repository (tests, pytest config, task list).
    reference_paths: tuple[str, ...] = DEFAULT_REFERENCE_PATHS
    #: [shortcuts]: {"tasks": [...], "forbidden": [...], "allowed": [...]} (see rules.py).
    shortcuts: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def ids(self) -> list[str]:
        return [task.id for task in self.tasks]

    def get(self, task_id: str) -> Task:
        """The task with this id; TaskListError naming the known ids if there is none."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise TaskListError(f"no task {task_id!r} in tasks.toml (known: {', '.join(self.ids)})")


def _order(task_id: str) -> tuple[int, int]:
    """Course order of a task id: "2.10" comes after "2.9" (the file lists 5.x before 4.x)."""
    module, number = task_id.split(".")
    return int(module), int(number)


def load_task_list(repo: Path = REPO_ROOT) -> TaskList:
    """Read and check `<repo>/assignments/tasks.toml`."""
    path = Path(repo) / TASKS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskListError(f"{path}: no task list") from None
    except tomllib.TOMLDecodeError as error:
        raise TaskListError(f"{path}: {error}") from None
    tasks = tuple(_parse_task(path, n, entry) for n, entry in enumerate(data.get("task", []), 1))
    ids = [task.id for task in tasks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise TaskListError(f"{path}: task ids listed twice: {', '.join(duplicates)}")
    unknown = sorted({u for task in tasks for u in task.uses} - set(ids))
    if unknown:
        raise TaskListError(f"{path}: uses names tasks it does not list: {', '.join(unknown)}")
    forward = [f"{task.id} uses {u}" for task in tasks for u in task.uses if _order(u) >= _order(task.id)]
    if forward:  # a student doing the tasks in order could not pass this one when finishing it
        raise TaskListError(f"{path}: a task may use only earlier tasks: {', '.join(forward)}")
    code_dirs = _names(path, data, "code_dirs", DEFAULT_CODE_DIRS)
    reference_paths = _names(path, data, "reference_paths", DEFAULT_REFERENCE_PATHS)
    if set(code_dirs) & set(reference_paths):
        raise TaskListError(f"{path}: a path cannot be both student code and reference")
    shortcuts = data.get("shortcuts", {})
    if not isinstance(shortcuts, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in shortcuts.values()
    ):
        raise TaskListError(f"{path}: [shortcuts] holds lists of strings (tasks, forbidden, allowed)")
    return TaskList(tasks, code_dirs, reference_paths, tuple((k, tuple(v)) for k, v in shortcuts.items()))


def _parse_task(path: Path, number: int, entry: dict) -> Task:
    """One [[task]] table -> Task, with errors that say which entry is wrong."""
    where = f"{path}: task #{number}"
    task_id, title, points = entry.get("id"), entry.get("title"), entry.get("points")
    if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id):
        raise TaskListError(f'{where}: id must be a string like "1.2", got {task_id!r}')
    if not isinstance(title, str) or not title.strip():
        raise TaskListError(f"{where} ({task_id}): title must be a non-empty string")
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise TaskListError(f"{where} ({task_id}): points must be a number >= 0, got {points!r}")
    visibility = entry.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise TaskListError(f"{where} ({task_id}): visibility must be one of {', '.join(VISIBILITIES)}")
    uses = entry.get("uses", [])
    if not isinstance(uses, list) or not all(isinstance(u, str) and _TASK_ID.fullmatch(u) for u in uses):
        raise TaskListError(f'{where} ({task_id}): uses must be a list of task ids like ["0.1"]')
    return Task(task_id, title, points, str(entry.get("chapter", "")), visibility, tuple(uses))


def _names(path: Path, data: dict, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """An optional top-level list of relative paths."""
    value = data.get(key, list(default))

    def relative(v: object) -> bool:
        return isinstance(v, str) and bool(v) and not Path(v).is_absolute() and ".." not in Path(v).parts

    if not isinstance(value, list) or not all(relative(v) for v in value):
        raise TaskListError(f"{path}: {key} must be a list of relative paths inside the repository")
    return tuple(value)
