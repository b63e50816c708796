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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


def stub_regions(source: str, titles: Mapping[str, str], filename: str = "<source>") -> tuple[str, list[Region]]:
    """Replace the body of every marked region in `source` by a `raise NotImplementedError`.

    `titles` maps task id -> title (the known tasks). Returns the new source and its regions.
    Raises StudentVersionError, naming `filename` and the line, for a malformed, nested,
    unbalanced or unknown marker, or when the result is not valid Python.
    """
    out: list[str] = []
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None  # (line, marker, indent) of the open BEGIN
    for lineno, line in enumerate(source.splitlines(keepends=True), 1):
        if not _LOOKS_LIKE_MARKER.search(line):
            if open_at is None:
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
            open_at = (lineno, marker, indent)
            newline = line[len(line.rstrip("\r\n")) :] or "\n"
            message = json.dumps(f"Task {task_id}: {titles[task_id]}", ensure_ascii=False)
            out += [line, f"{indent}raise NotImplementedError({message}){newline}"]
        else:
            if open_at is None:
                raise StudentVersionError(f"{where}: END {marker} without a BEGIN before it")
            begin, open_marker, open_indent = open_at
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
        begin, marker, _ = open_at
        raise StudentVersionError(f"{filename}:{begin}: BEGIN {marker} is never closed")
    stubbed = "".join(out)
    if regions:
        _check_compiles(stubbed, filename)
    return stubbed, regions


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


def build_student_version(repo: Path, out: Path) -> StudentBuild:
    """Write the student version of `repo` into `out` (absent or empty); see the module doc.

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
    stubs, regions = _stub_code_files(repo, files, task_list)

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
    return build


def _stub_code_files(repo: Path, files: list[Path], task_list: TaskList) -> tuple[dict[Path, str], Counter[str]]:
    """Stubbed source of every code file that has regions, and the region count per task."""
    titles = {task.id: task.title for task in task_list.tasks}
    stubs: dict[Path, str] = {}
    regions: Counter[str] = Counter()
    for rel in files:
        if rel.suffix != ".py" or not any(rel.is_relative_to(d) for d in task_list.code_dirs):
            continue
        source = (repo / rel).read_text(encoding="utf-8")
        stubbed, found = stub_regions(source, titles, filename=str(rel))
        if found:
            stubs[rel] = stubbed
            regions.update(region.task_id for region in found)
    return stubs, regions


def make_student_version(repo: Path, out: Path) -> list[Path]:
    """Write the student version of `repo` into `out`; return the files with stubbed regions."""
    return build_student_version(repo, out).stubbed
