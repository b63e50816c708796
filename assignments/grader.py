"""`python -m assignments grade [DIR]`: grade a student's checkout against the reference.

1. Collect the reference's tests (in a child process, on the reference's own code) and group
   them by task marker. A task without tests is a grader error, never a pass.
2. Build the student's workspace: the student's code directories (tasks.toml's `code_dirs`; a
   file the submission lacks becomes the reference's file with its regions stubbed; symlinks
   are refused) plus the reference's tests, pytest config and task list. Run the tests there
   in a sandboxed child (sandbox.py): the *values* each test got from the graded code
   (reporter.py), with the tests' random numbers seeded before each test.
3. Run the tests the student passed on the reference's code in a reference child, with the
   same seeds (cached per test: one reference serves many gradings).
4. Decide here, in the grader's process, which never imports the student's code: a test
   passes only if it passed in both children *and* the student's values agree with the
   reference's (values.py). Each test is worth points / tests of its task.

The reference is the repository this package belongs to. `python -m` imports it from the
current directory first, so official grading runs from the reference checkout:
`cd reference && python -m assignments grade /path/to/submission`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path

from .child import GraderError, inherited_environment, install_plugin
from .report import GradeReport, TaskResult, write_results_json
from .rules import Shortcuts, shortcut_violations
from .runner import Collection, Outcome, Settings, TestRun, collect, fingerprint
from .sandbox import Limits, make_sandbox, protect, python_folders, reference_copies
from .student import stub_regions
from .tasklist import REPO_ROOT, VISIBILITIES, Task, TaskList, TaskListError, load_task_list
from .values import difference

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
    seed: int = 0,
    limits: Limits | None = None,
    max_examples: int = 0,
    extra_tests: Path | None = None,
    only_tests: Iterable[str] | None = None,
) -> GradeReport:
    """Grade `student_dir` with the tests of `reference_dir`; optionally write results.json.

    `tasks` limits grading to these task ids; the timeouts are in seconds; `shrink` lets
    Hypothesis minimise failing examples (slow); `fail_fast` stops each task at its first
    failing test (quick checks only: the unrun tests count as failed); `seed` seeds every
    test's random numbers and Hypothesis; `limits` bound the student's process; `max_examples`
    (if not 0) caps Hypothesis's examples per test; `extra_tests`: a folder of the instructor's
    tests (hidden from students) graded with the reference's, as tests/extra/. Never raises
    for a grader error: the report's `errors` says what went wrong, and results.json is written.
    """
    report = GradeReport(Path(student_dir).resolve(), Path(reference_dir).resolve(), seed=seed)
    settings = Settings(timeout_test, timeout_task, timeout_collect, shrink, fail_fast, python, seed, max_examples)
    start = time.monotonic()
    try:
        task_ids = None if tasks is None else list(tasks)
        only = None if only_tests is None else set(only_tests)
        _grade(report, task_ids, settings, limits or Limits(), extra_tests, only)
    except (GraderError, TaskListError, OSError) as error:
        report.errors.append(str(error))
    except Exception:  # a grader bug: keep its traceback for whoever fixes it
        report.errors.append("unexpected grader failure:\n" + traceback.format_exc())
    report.seconds = time.monotonic() - start
    if json_path is not None:
        write_results_json(report, Path(json_path))
    return report


SELF_CHECK_NOTE = (
    "Self-check: this checkout grades itself, so there are no reference values to compare with and "
    "the tests' own verdicts count; the official grading also compares your values with the reference's."
)
# The reference's tests and values, by (its content, tests, settings): the leave-one-out check
# (and a test suite) grades many trees against one reference in one process.
_COLLECTED: dict[tuple, Collection] = {}
_EXPECTED: dict[tuple, dict[str, Outcome]] = {}  # (reference, settings) -> node id -> outcome


def _grade(
    report: GradeReport,
    task_ids: list[str] | None,
    settings: Settings,
    limits: Limits,
    extra: Path | None,
    only: set[str] | None,
) -> None:
    """Longer than 40 lines because it is the grading's one sequence of steps, in order."""
    task_list = load_task_list(report.reference_dir)
    selected = task_list.tasks if task_ids is None else tuple(task_list.get(i) for i in task_ids)
    report.tasks = [TaskResult(task) for task in selected]
    if not report.student_dir.is_dir():
        raise GraderError(f"{report.student_dir} is not a directory")
    links = symlinks(report.student_dir, task_list)
    if links:
        refusal = "symlinks are not accepted in a submission; replace them by the files: " + ", ".join(links)
        for result in report.tasks:
            result.error = refusal
        return
    shortcuts = Shortcuts(**dict(task_list.shortcuts))
    for result in report.tasks:
        found = shortcut_violations([report.student_dir / n for n in task_list.code_dirs], result.task.id, shortcuts)
        if found:
            result.error = (
                f"no shortcuts: task {result.task.id} may not use {', '.join(shortcuts.forbidden)} "
                f"(except {', '.join(shortcuts.allowed) or 'nothing'}); found " + "; ".join(found[:5])
            )
    packages = _packages(report.reference_dir, task_list)
    sandbox = make_sandbox(limits)
    hidden = reference_copies(report.reference_dir, packages)
    with (
        sandbox.exclusive(),  # gradings as root take turns: permissions, the sandbox user
        tempfile.TemporaryDirectory(prefix="minitorch-grade-") as temporary,
        protect(hidden, python_folders(settings.python)),
    ):
        root = Path(temporary)
        os.chmod(root, 0o711)  # the sandbox user may pass through to its workspace, not list
        plugin_dir = install_plugin(root / "plugin")

        # 1. The reference's tests, by task, collected on the reference's own code.
        reference_dir, student_dir = report.reference_dir, report.student_dir
        reference = build_workspace(reference_dir, reference_dir, task_list, root / "reference", extra)
        names = [*task_list.code_dirs, *task_list.reference_paths]
        # The same reference and environment (a test may read it: MINITORCH_TEST_BACKENDS picks
        # the backends a test runs on): the same tests and values.
        content = str((sorted(fingerprint(reference, names).items()), sorted(inherited_environment().items())))
        if (content, settings) not in _COLLECTED:
            _COLLECTED[content, settings] = collect(reference, plugin_dir, packages, settings)
        collection = _COLLECTED[content, settings]
        report.errors += [f"collecting the reference tests: {error}" for error in collection.errors]
        tests = tests_by_task(collection, selected)
        for result in report.tasks:
            if not tests[result.task.id] and result.error is None:
                result.error = f"no tests collected with marker {result.task.pytest_marker}"
                report.errors.append(f"task {result.task.id}: {result.error}")
        tasks_of: dict[str, list[str]] = {}  # node id -> its tasks; ordered by task
        for task in selected:
            for nodeid in tests[task.id]:
                tasks_of.setdefault(nodeid, []).append(task.id)

        # 2. The student's values, in the sandbox. 3. The reference's, for the tests the student
        # passed (a failing test needs no comparison). 4. Compare them.
        protected = task_list.reference_paths
        order = [n for n in tasks_of if only is None or n in only]
        if report.self_check:  # no reference to compare with: the tests' own verdicts
            report.notes.append(SELF_CHECK_NOTE)
        workspace = build_workspace(student_dir, reference_dir, task_list, root / "student", extra)
        sandbox.own(workspace, recursive=False)  # the reference's tests stay root's, read-only
        for name in task_list.code_dirs:
            if (workspace / name).exists():
                sandbox.own(workspace / name)
        student = TestRun(workspace, plugin_dir, order, tasks_of, packages, settings, protected, sandbox)
        got = student.run()
        report.left_behind = student.left_behind
        if report.self_check:
            decided = got
        else:
            expected = dict(_EXPECTED.setdefault((content, settings), {}))
            wanted = [n for n in order if got[n].passed and n not in expected]
            if wanted:
                expected.update(TestRun(reference, plugin_dir, wanted, tasks_of, packages, settings, protected).run())
                # Only what the reference passed is kept for later gradings: a failure there is a
                # grader problem (a killed or timed-out child), and the next grading tries again.
                _EXPECTED[content, settings].update({n: o for n, o in expected.items() if o.passed})
            decided = {n: decide(expected[n], got[n]) if got[n].passed else got[n] for n in order}
        report.errors += sorted({o.message for o in decided.values() if o.message.startswith("grader problem")})
        for result in report.tasks:
            if result.error is None:
                result.outcomes = [decided[n] for n in tests[result.task.id] if n in decided]
                result.visibility = test_visibility(collection, [o.nodeid for o in result.outcomes], report.errors)


def decide(expected: Outcome, got: Outcome) -> Outcome:
    """The test's outcome: passed in both processes, with the reference's values."""
    if not expected.passed:
        return Outcome(got.nodeid, False, f"grader problem: the reference fails {got.nodeid}: {expected.message}")
    if not got.passed:
        return got
    why = difference(expected.values, got.values)
    if why is not None:
        return Outcome(got.nodeid, False, f"wrong values: {why}", got.duration)
    return got


EXTRA_TESTS_VISIBILITY = "hidden"  # the instructor's --extra-tests, unless a test says otherwise


def test_visibility(collection: Collection, nodeids: Iterable[str], errors: list[str]) -> dict[str, str]:
    """Node id -> Gradescope visibility, for the tests that do not take their task's: those
    with a `@pytest.mark.visibility(...)` marker, and the instructor's extra tests."""
    found = {}
    for nodeid in nodeids:
        level = collection.visibility.get(nodeid, EXTRA_TESTS_VISIBILITY if nodeid.startswith("tests/extra/") else "")
        if level and level not in VISIBILITIES:
            errors.append(f"{nodeid}: visibility must be one of {', '.join(VISIBILITIES)}, not {level!r}")
        elif level:
            found[nodeid] = level
    return found


def symlinks(student: Path, task_list: TaskList) -> list[str]:
    """The symbolic links among the submission's code directories (relative paths)."""
    found = []
    for name in task_list.code_dirs:
        top = student / name
        if top.is_symlink():
            found.append(name)
            continue
        for folder, dirs, files in os.walk(top):
            for entry in dirs + files:
                if os.path.islink(os.path.join(folder, entry)):
                    found.append(os.path.relpath(os.path.join(folder, entry), student))
    return sorted(found)


def tests_by_task(collection: Collection, tasks: Iterable[Task]) -> dict[str, list[str]]:
    """Task id -> node ids of the collected tests carrying its pytest marker."""
    return {
        task.id: [nodeid for nodeid, markers in collection.markers.items() if task.pytest_marker in markers]
        for task in tasks
    }


def _packages(reference: Path, task_list: TaskList) -> list[str]:
    """The importable code directories, whose origin the child must show is the workspace."""
    return [name for name in task_list.code_dirs if "/" not in name and (reference / name).is_dir()]


def build_workspace(
    code_from: Path, reference: Path, task_list: TaskList, dest: Path, extra_tests: Path | None = None
) -> Path:
    """Make `dest`: the code directories of `code_from`, the reference paths of `reference`,
    and the instructor's `extra_tests` as tests/extra/.

    A code file of the reference that `code_from` lacks is taken from the reference with its
    marked regions stubbed, so a missing file fails exactly the tasks whose code it holds.
    """
    dest.mkdir(parents=True)
    os.chmod(dest, 0o700)
    titles = {task.id: task.title for task in task_list.tasks}
    for name in task_list.code_dirs:
        source = code_from / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORE, symlinks=True)
            if code_from != reference and (reference / name).is_dir():
                _fill_missing(reference / name, dest / name, titles)
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
        _readable(dest / name)  # the reference's copy may be root's only while grading runs
    if extra_tests is not None:
        shutil.copytree(extra_tests, dest / "tests" / "extra", ignore=_IGNORE)
        _readable(dest / "tests" / "extra")
    return dest


def _readable(top: Path) -> None:
    """Everyone may read `top` and everything under it; only its owner may change it."""
    paths = [top, *top.rglob("*")] if top.is_dir() else [top] if top.exists() else []
    for path in paths:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _fill_missing(reference: Path, dest: Path, titles: Mapping[str, str]) -> None:
    """Copy the reference's files that `dest` lacks, .py files with their regions stubbed."""
    for path in sorted(reference.rglob("*")):
        target = dest / path.relative_to(reference)
        if "__pycache__" in path.parts or not path.is_file() or target.exists() or path.suffix == ".pyc":
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            stubbed, _ = stub_regions(path.read_text(encoding="utf-8"), titles, str(path))
            target.write_text(stubbed, encoding="utf-8")
        else:
            shutil.copy2(path, target)
