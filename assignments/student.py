"""`python -m assignments student OUT_DIR`: write the student version of the repository.

Every file is copied as is, except the .py files under the code directories (tasks.toml's
`code_dirs`: minitorch/, visualizer/). There, the body of each marked region

    # BEGIN ASSIGN1_2
    ...reference solution...
    # END ASSIGN1_2

becomes one line, `raise NotImplementedError("Task 1.2: <title>")`, at the marker's
indentation. The markers stay, so students see where to write; signatures and docstrings sit
outside the markers and stay too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from .tasklist import TaskList, TaskListError, load_task_list, task_id_from_marker

# Anything that looks like a marker; checked strictly below so typos are errors, not code.
_LOOKS_LIKE_MARKER = re.compile(r"#\s*(?:BEGIN|END)\s*ASSIGN", re.IGNORECASE)
_MARKER_LINE = re.compile(r"(?P<indent>[ \t]*)# (?P<kind>BEGIN|END) (?P<marker>ASSIGN\d+_\d+)[ \t]*")

# Never copied when the repository is not a git checkout.
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "node_modules",
    "build",
    "dist",
}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")


class StudentVersionError(ValueError):
    """The student version cannot be made; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    """One marked region: its task and the lines of its BEGIN and END markers (1-based)."""

    task_id: str
    begin: int
    end: int


@dataclass
class StudentBuild:
    """What `build_student_version` wrote."""

    out: Path
    files: list[Path] = field(default_factory=list)  # every file written, under out
    stubbed: list[Path] = field(default_factory=list)  # files whose regions were replaced
    regions: Counter[str] = field(default_factory=Counter)  # task id -> number of regions
    tasks_without_regions: list[str] = field(default_factory=list)


# What `stub_regions` puts in a region: the student's stub; a do-nothing body (the course check
# shows such a version scores 0); or the reference's code after a probe call that tells the
# course check which tests run which task's code (course_check.py).
StubMode = Literal["stub", "nothing", "probe"]
PROBE = "__minitorch_probe__"  # a builtin only in the course check's probe run


def stub_regions(
    source: str,
    titles: Mapping[str, str],
    filename: str = "<source>",
    only: Collection[str] | None = None,
    mode: StubMode = "stub",
) -> tuple[str, list[Region]]:
    """Replace the body of every marked region in `source` by a `raise NotImplementedError`.

    `titles` maps task id -> title (the known tasks); `only`, if given, limits stubbing to
    these tasks (the other regions keep their code); `mode` (see StubMode) "nothing" writes
    `pass` instead of the raise, "probe" keeps the code after a `__minitorch_probe__(task id)`
    line. Returns the new source and its regions.
    Raises StudentVersionError, naming `filename` and the line, for a malformed, nested,
    unbalanced or unknown marker, or when the result is not valid Python.
    """
    out: list[str] = []
    regions: list[Region] = []
    open_at: tuple[int, str, str, bool] | None = None  # (line, marker, indent, kept) of the open BEGIN
    for lineno, line in enumerate(source.splitlines(keepends=True), 1):
        if not _LOOKS_LIKE_MARKER.search(line):
            if open_at is None or open_at[3]:
                out.append(line)
            continue
        where = f"{filename}:{lineno}"
        indent, kind, marker = _parse_marker(line, where)
        task_id = task_id_from_marker(marker)
        if task_id not in titles:
            raise StudentVersionError(f"{where}: {marker} names task {task_id}, which tasks.toml does not list")
        if kind == "BEGIN":
            if open_at is not None:
                raise StudentVersionError(
                    f"{where}: BEGIN {marker} inside the region BEGIN {open_at[1]} opened at line "
                    f"{open_at[0]}; regions cannot nest"
                )
            kept = only is not None and task_id not in only
            open_at = (lineno, marker, indent, kept or mode == "probe")
            out += [line] if kept else [line, _region_start(task_id, titles[task_id], indent, line, mode)]
        else:
            if open_at is None:
                raise StudentVersionError(f"{where}: END {marker} without a BEGIN before it")
            begin, open_marker, open_indent, _ = open_at
            if marker != open_marker:
                raise StudentVersionError(f"{where}: END {marker} closes BEGIN {open_marker} from line {begin}")
            if indent != open_indent:
                raise StudentVersionError(
                    f"{where}: END {marker} is indented differently from its BEGIN at line {begin}"
                )
            out.append(line)
            regions.append(Region(task_id, begin, lineno))
            open_at = None
    if open_at is not None:
        begin, marker, _, _ = open_at
        raise StudentVersionError(f"{filename}:{begin}: BEGIN {marker} is never closed")
    stubbed = "".join(out)
    if regions:
        _check_compiles(stubbed, filename)
    return stubbed, regions


def _region_start(task_id: str, title: str, indent: str, marker_line: str, mode: StubMode) -> str:
    """The line written after a BEGIN marker (see StubMode)."""
    newline = marker_line[len(marker_line.rstrip("\r\n")) :] or "\n"
    if mode == "probe":
        return f"{indent}{PROBE}({json.dumps(task_id)}){newline}"
    if mode == "nothing":
        return f"{indent}pass{newline}"
    message = json.dumps(f"Task {task_id}: {title}", ensure_ascii=False)
    return f"{indent}raise NotImplementedError({message}){newline}"


def _parse_marker(line: str, where: str) -> tuple[str, str, str]:
    """(indent, "BEGIN" or "END", "ASSIGN1_2") of a marker line, or a clear error."""
    match = _MARKER_LINE.fullmatch(line.rstrip("\r\n"))
    if match is None:
        raise StudentVersionError(
            f"{where}: malformed marker {line.strip()!r}; a marker is a line of its own, "
            "'# BEGIN ASSIGN<m>_<n>' or '# END ASSIGN<m>_<n>'"
        )
    return match["indent"], match["kind"], match["marker"]


def _check_compiles(source: str, filename: str) -> None:
    """The stubbed file must still be valid Python (a region's indentation can break it)."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise StudentVersionError(
            f"{filename}:{error.lineno}: the student version is not valid Python ({error.msg}); "
            "check that the markers are indented like the code they enclose"
        ) from None


def list_repo_files(repo: Path) -> list[Path]:
    """The repository's files, relative to it: git's view (tracked + untracked, not ignored)
    in a git checkout, else a walk that skips virtualenvs, caches and build output."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [Path(name) for name in listed.split("\0") if name]
        return sorted(name for name in names if (repo / name).is_file())  # not deleted ones
    except (OSError, subprocess.CalledProcessError):
        return sorted(_walk(repo))


def _walk(repo: Path) -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(_SKIP_SUFFIXES)]
        kept = [n for n in names if not n.endswith(_SKIP_SUFFIXES)]
        files += [Path(folder, n).relative_to(repo) for n in kept]
    return files


def build_student_version(
    repo: Path,
    out: Path,
    only: Collection[str] | None = None,
    modules: Collection[int] | None = None,
    mode: StubMode = "stub",
) -> StudentBuild:
    """Write the student version of `repo` into `out` (absent or empty); see the module doc.

    `only`: stub only these tasks' regions (the leave-one-out check stubs one task at a time).
    `modules`: the modules released so far; the README lists their tasks, and the stubs of
    later modules say they come later. Every region is stubbed either way (no solution ships).
    `mode`: what goes in the regions (see StubMode; the course check uses the others).
    Every file is stubbed in memory first, so a marker error leaves `out` untouched.
    """
    repo, out = Path(repo).resolve(), Path(out).resolve()
    if out == repo:
        raise StudentVersionError("the output directory must differ from the repository")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StudentVersionError(f"{out} already exists and is not an empty directory")
    try:
        task_list = load_task_list(repo)
    except TaskListError as error:
        raise StudentVersionError(str(error)) from None
    files = [f for f in list_repo_files(repo) if not (repo / f).resolve().is_relative_to(out)]
    if modules is not None:
        later = {t.id: t for t in task_list.tasks if int(t.id.split(".")[0]) not in modules}
        renamed = [replace(t, title=f"{t.title} (released with module {t.id.split('.')[0]})") for t in later.values()]
        task_list = replace(task_list, tasks=tuple(t if t.id not in later else renamed.pop(0) for t in task_list.tasks))
    stubs, regions = _stub_code_files(repo, files, task_list, only, mode)

    build = StudentBuild(out, regions=regions)
    for rel in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in stubs:
            target.write_text(stubs[rel], encoding="utf-8", newline="")
            shutil.copymode(repo / rel, target)
            build.stubbed.append(target)
        else:
            shutil.copy2(repo / rel, target)
        build.files.append(target)
    build.tasks_without_regions = [t for t in task_list.ids if not regions[t]]
    if only is None and mode == "stub":
        (out / "README.md").write_text(student_readme(task_list, modules), encoding="utf-8")
    return build


def _stub_code_files(
    repo: Path, files: list[Path], task_list: TaskList, only: Collection[str] | None = None, mode: StubMode = "stub"
) -> tuple[dict[Path, str], Counter[str]]:
    """Stubbed source of every code file that has regions, and the region count per task."""
    titles = {task.id: task.title for task in task_list.tasks}
    stubs: dict[Path, str] = {}
    regions: Counter[str] = Counter()
    for rel in files:
        if rel.suffix != ".py" or not any(rel.is_relative_to(d) for d in task_list.code_dirs):
            continue
        source = (repo / rel).read_text(encoding="utf-8")
        stubbed, found = stub_regions(source, titles, filename=str(rel), only=only, mode=mode)
        if found:
            stubs[rel] = stubbed
            regions.update(region.task_id for region in found)
    return stubs, regions


STUDENT_README = """\
# minitorch: your copy

You build a deep-learning framework here, one task at a time. Every task's code goes between
the markers `# BEGIN ASSIGN<m>_<n>` and `# END ASSIGN<m>_<n>` in `minitorch/`; each stub raises
`NotImplementedError("Task m.n: ...")` until you write it. Signatures and docstrings say what
every function must do, edge cases included.

## Where to start

1. Set up: `make setup` (a virtual environment in `.venv` with every extra), then
   `source .venv/bin/activate`.
2. Read `chapters/00-fundamentals.md`, then do task 0.1.
3. Run one task's tests: `pytest -m task0_1` (the markers are `task<m>_<n>`).
4. Grade yourself as the course will: `python -m assignments grade . --task 0.1`.
   The grader compares what your code computes with the reference's answers on the same,
   seeded inputs; `python -m assignments tasks` lists the tasks and their points.

## Tasks released

{tasks}

A task whose tests also run other tasks' code says so: finish those first.

The demo (`python -m minitorch.demo`), the notebooks and the chapters' examples use the code
of these tasks: until the task they need is done, they stop with
`NotImplementedError: Task m.n: ...`, which names the task they wait for.
"""


def student_readme(task_list: TaskList, modules: Collection[int] | None = None) -> str:
    """The student version's README.md: how to start, test, self-grade; the released tasks."""
    lines = [
        f"- Task {task.id} ({task.points:g} points): {task.title}"
        + (f" - {task.chapter}" if task.chapter else "")
        + (f" (its tests also run tasks {', '.join(task.uses)})" if task.uses else "")
        for task in task_list.tasks
        if modules is None or int(task.id.split(".")[0]) in modules
    ]
    return STUDENT_README.format(tasks="\n".join(lines))


def make_student_version(repo: Path, out: Path) -> list[Path]:
    """Write the student version of `repo` into `out`; return the files with stubbed regions."""
    return build_student_version(repo, out).stubbed
