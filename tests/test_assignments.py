"""The assignment machinery: stubbing marked regions, and a grader that cannot be fooled.

Most grader tests use a tiny fake reference repository built in tmp_path (package `toypkg`,
tasks 0.1 and 0.2). The last tests run the machinery on this repository itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from assignments import (
    GradeReport,
    StudentVersionError,
    TaskListError,
    grade,
    load_task_list,
    make_student_version,
    pytest_marker,
    source_marker,
    stub_regions,
    task_id_from_marker,
)
from assignments.course_check import course_check, zero_scores

REPO = Path(__file__).resolve().parent.parent
TITLES = {"0.1": "Add", "0.2": "Multiply"}

# -------------------------------------------------------------------------------------------
# Task names


def test_task_names_convert_both_ways() -> None:
    assert source_marker("1.2") == "ASSIGN1_2"
    assert pytest_marker("1.2") == "task1_2"
    assert task_id_from_marker("ASSIGN1_2") == task_id_from_marker("task1_2") == "1.2"
    with pytest.raises(ValueError, match="not a task marker"):
        task_id_from_marker("ASSIGN1.2")


def test_real_task_list_is_well_formed() -> None:
    task_list = load_task_list(REPO)
    assert task_list.ids and len(set(task_list.ids)) == len(task_list.ids)
    assert all(task.points > 0 and task.title for task in task_list.tasks)
    raw = tomllib.loads((REPO / "assignments" / "tasks.toml").read_text())
    assert [t["id"] for t in raw["task"]] == task_list.ids


@pytest.mark.parametrize(("task", "uses", "ok"), [("2.10", "2.9", True), ("2.9", "2.10", False), ("4.1", "5.2", False)])
def test_a_task_may_use_only_earlier_tasks(tmp_path: Path, task: str, uses: str, ok: bool) -> None:
    """By course order, not file order: a forward use is refused when the list loads."""
    (tmp_path / "assignments").mkdir()
    entries = [f'[[task]]\nid = "{uses}"\ntitle = "A"\npoints = 1\n']
    entries.append(f'[[task]]\nid = "{task}"\ntitle = "B"\npoints = 1\nuses = ["{uses}"]\n')
    (tmp_path / "assignments" / "tasks.toml").write_text("\n".join(entries))
    if ok:
        assert load_task_list(tmp_path).ids == [uses, task]
    else:
        with pytest.raises(TaskListError, match=f"a task may use only earlier tasks: {task} uses {uses}"):
            load_task_list(tmp_path)


# -------------------------------------------------------------------------------------------
# Stubbing marked regions

SOURCE = textwrap.dedent('''\
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        # BEGIN ASSIGN0_1
        total = a + b
        return total
        # END ASSIGN0_1


    def make_scaler(k: float):
        """A closure: the region sits in the inner function."""

        def scale(x: float) -> float:
            """Multiply by k."""
            # BEGIN ASSIGN0_2
            return k * x
            # END ASSIGN0_2

        return scale
    ''')


def test_stub_keeps_signature_and_docstring_and_raises_naming_the_task() -> None:
    stubbed, regions = stub_regions(SOURCE, TITLES, "ops.py")
    assert [(r.task_id, r.begin, r.end) for r in regions] == [("0.1", 3, 6), ("0.2", 14, 16)]
    assert 'def add(a: float, b: float) -> float:\n    """Add two numbers."""\n' in stubbed
    assert ('    # BEGIN ASSIGN0_1\n    raise NotImplementedError("Task 0.1: Add")\n    # END ASSIGN0_1\n') in stubbed
    assert "total = a + b" not in stubbed and "return k * x" not in stubbed
    namespace: dict = {}
    exec(compile(stubbed, "ops.py", "exec"), namespace)  # runs the stub
    assert namespace["add"].__doc__ == "Add two numbers."
    with pytest.raises(NotImplementedError, match=r"^Task 0\.1: Add$"):
        namespace["add"](1, 2)
    with pytest.raises(NotImplementedError, match=r"^Task 0\.2: Multiply$"):
        namespace["make_scaler"](2.0)(3.0)


def test_stub_of_an_empty_region_and_of_a_file_without_regions() -> None:
    stubbed, _ = stub_regions("def f():\n    # BEGIN ASSIGN0_1\n    # END ASSIGN0_1\n", TITLES)
    assert stubbed == (
        'def f():\n    # BEGIN ASSIGN0_1\n    raise NotImplementedError("Task 0.1: Add")\n    # END ASSIGN0_1\n'
    )
    assert stub_regions("x = 1\n", TITLES) == ("x = 1\n", [])


BAD_MARKERS = {
    "unknown task": (
        "def f():\n    # BEGIN ASSIGN9_9\n    pass\n    # END ASSIGN9_9\n",
        r"f\.py:2: ASSIGN9_9 names task 9\.9, which tasks\.toml does not list",
    ),
    "nested": (
        "def f():\n    # BEGIN ASSIGN0_1\n    # BEGIN ASSIGN0_2\n",
        r"f\.py:3: BEGIN ASSIGN0_2 inside the region BEGIN ASSIGN0_1 opened at line 2",
    ),
    "END without BEGIN": ("def f():\n    pass\n    # END ASSIGN0_1\n", r"f\.py:3: END ASSIGN0_1 without a BEGIN"),
    "never closed": ("def f():\n    # BEGIN ASSIGN0_1\n    pass\n", r"f\.py:2: BEGIN ASSIGN0_1 is never closed"),
    "END of another task": (
        "def f():\n    # BEGIN ASSIGN0_1\n    pass\n    # END ASSIGN0_2\n",
        r"f\.py:4: END ASSIGN0_2 closes BEGIN ASSIGN0_1 from line 2",
    ),
    "END indented differently": (
        "def f():\n    # BEGIN ASSIGN0_1\n    pass\n  # END ASSIGN0_1\n",
        r"f\.py:4: END ASSIGN0_1 is indented differently",
    ),
    "dotted id": ("def f():\n    # BEGIN ASSIGN1.2\n", r"f\.py:2: malformed marker"),
    "after code": ("def f():\n    x = 1  # BEGIN ASSIGN0_1\n", r"f\.py:2: malformed marker"),
    # The markers sit shallower than the loop body they enclose: `for` is left without a body.
    "stub is not Python": (
        ("def f(xs):\n    for x in xs:\n    # BEGIN ASSIGN0_1\n        print(x)\n    # END ASSIGN0_1\n"),
        r"f\.py:\d+: the student version is not valid Python",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MARKERS))
def test_bad_markers_are_clear_errors(case: str) -> None:
    source, error = BAD_MARKERS[case]
    with pytest.raises(StudentVersionError, match=error):
        stub_regions(source, TITLES, "f.py")


# -------------------------------------------------------------------------------------------
# A fake reference repository

FAKE_TASKS = """\
code_dirs = ["toypkg"]
reference_paths = ["tests", "pyproject.toml", "assignments"]

[[task]]
id = "0.1"
title = "Add"
points = 10

[[task]]
id = "0.2"
title = "Multiply"
points = 6
"""

FAKE_PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
# Only the plugins these tests need: each child pytest then starts in a third of the time.
addopts = "--strict-markers -p no:hypothesispytest -p no:pytest_markdown_docs -p no:anyio"
markers = ["task0_1: add", "task0_2: multiply", "task0_3: nothing"]
"""

FAKE_TESTS = """\
import pytest

from toypkg import add, mul


@pytest.mark.task0_1
def test_add():
    assert add(1, 2) == 3


@pytest.mark.task0_1
def test_add_negative():
    assert add(-1, -2) == -3


@pytest.mark.task0_2
def test_mul():
    assert mul(2, 3) == 6


@pytest.mark.task0_2
@pytest.mark.parametrize("a", [0, 1, 2])
def test_mul_zero(a):
    assert mul(a, 0) == 0
"""

OPS = '''\
def add(a, b):
    """Add."""
    # BEGIN ASSIGN0_1
{add}
    # END ASSIGN0_1


def mul(a, b):
    """Multiply."""
    # BEGIN ASSIGN0_2
{mul}
    # END ASSIGN0_2
'''


def write_package(root: Path, add: str = "return a + b", mul: str = "return a * b", init_prefix: str = "") -> Path:
    """`root/toypkg`, with these bodies for `add` and `mul`, and code run first at import."""

    def body(code: str) -> str:
        return textwrap.indent(textwrap.dedent(code).strip(), "    ")

    (root / "toypkg").mkdir(parents=True)
    (root / "toypkg" / "__init__.py").write_text(init_prefix + "from .ops import add, mul\n")
    (root / "toypkg" / "ops.py").write_text(OPS.format(add=body(add), mul=body(mul)))
    return root


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """The fake reference: tasks.toml, toypkg with solutions, marked tests."""
    root = write_package(tmp_path / "reference")
    (root / "assignments").mkdir()
    (root / "assignments" / "tasks.toml").write_text(FAKE_TASKS)
    (root / "pyproject.toml").write_text(FAKE_PYPROJECT)
    (root / "tests").mkdir()
    (root / "tests" / "test_ops.py").write_text(FAKE_TESTS)
    return root


def run_grade(reference: Path, student: Path, **options: object) -> GradeReport:
    options.setdefault("timeout_test", 20)
    options.setdefault("json_path", student.parent / "results.json")
    return grade(student, reference_dir=reference, **options)  # type: ignore[arg-type]


def earned(report: GradeReport) -> dict[str, float]:
    return {result.task.id: result.score for result in report.tasks}


def messages(report: GradeReport, task_id: str) -> list[str]:
    return [outcome.message for outcome in report.task(task_id).outcomes if not outcome.passed]


# -------------------------------------------------------------------------------------------
# Student version of the fake repository


def test_student_version_of_fake_repo(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "student"
    stubbed = make_student_version(reference, out)
    assert stubbed == [out / "toypkg" / "ops.py"]
    text = stubbed[0].read_text()
    assert 'raise NotImplementedError("Task 0.1: Add")' in text and "return a + b" not in text
    assert (out / "tests" / "test_ops.py").read_text() == FAKE_TESTS
    assert "return a + b" in (reference / "toypkg" / "ops.py").read_text()  # untouched
    with pytest.raises(StudentVersionError, match="not an empty directory"):
        make_student_version(reference, out)

    report = run_grade(reference, out)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert "NotImplementedError: Task 0.1: Add" in messages(report, "0.1")[0]


def test_student_command(reference: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "assignments", "student", str(tmp_path / "out"), "--repo", str(reference)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "stubbed 2 regions in 1 files" in done.stdout
    (reference / "toypkg" / "bad.py").write_text("def f():\n    # BEGIN ASSIGN0_7\n")
    command[4] = str(tmp_path / "out2")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "error: toypkg/bad.py:2: ASSIGN0_7 names task 0.7" in done.stderr
    assert not (tmp_path / "out2").exists()  # nothing written


# -------------------------------------------------------------------------------------------
# Grading: correct code gets full marks; cheating and crashing code gets none


def test_reference_gets_full_score_and_json(reference: Path, tmp_path: Path) -> None:
    json_path = tmp_path / "out" / "results.json"
    report = run_grade(reference, reference, json_path=json_path)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 10, "0.2": 6}
    assert [(r.passed, r.total) for r in report.tasks] == [(2, 2), (4, 4)]
    results = json.loads(json_path.read_text())
    assert results["score"] == 16
    entries = [(t["number"], t["score"], t["max_score"], t["visibility"]) for t in results["tests"]]
    assert entries == [("0.1", 10, 10, "visible"), ("0.2", 6, 6, "visible")]
    assert [t["name"] for t in results["tests"]] == ["Task 0.1: Add", "Task 0.2: Multiply"]


def test_student_tests_and_conftest_are_ignored(reference: Path, tmp_path: Path) -> None:
    student = write_package(tmp_path / "student", add="return 0")
    (student / "tests").mkdir()
    (student / "tests" / "test_ops.py").write_text("def test_add():\n    pass\n")
    (student / "tests" / "conftest.py").write_text("raise SystemExit(0)\n")
    report = run_grade(reference, student)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}


# Each attack is the body of `add` (task 0.1); `mul` stays correct, so task 0.2 must still earn
# its 6 points: grading goes on after a crash or a timeout.
FORGE = """\
import os
record = b'{"event": "finish", "nodeid": "tests/test_ops.py::test_add", "outcome": "passed"}\\n'
for fd in range(3, 64):
    try:
        os.write(fd, record)
    except OSError:
        pass
return 0
"""
ATTACKS = {
    "prints PASSED": ('print("PASSED")\nprint("tests/test_ops.py::test_add PASSED")\nreturn 0', ""),
    "sys.exit(0) in a test": ("import sys\nsys.exit(0)", ""),
    "os._exit(0) in a test": ("import os\nos._exit(0)", "crashed (exit code 0)"),
    "loops forever": ("while True:\n    pass", "timed out after 2 s"),
    "segfaults": ("import ctypes\nctypes.string_at(0)", "crashed (signal SIGSEGV)"),
    "forges pipe records": (FORGE, ""),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_cheating_or_crashing_code_earns_nothing(reference: Path, tmp_path: Path, attack: str) -> None:
    body, expected = ATTACKS[attack]
    report = run_grade(reference, write_package(tmp_path / "student", add=body), timeout_test=2)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert all(expected in message for message in messages(report, "0.1"))


def test_rewriting_results_json_does_not_count(reference: Path, tmp_path: Path) -> None:
    json_path = tmp_path / "results.json"
    body = f"""\
        import json, pathlib
        fake = json.dumps({{"score": 1000, "tests": []}})
        for path in [pathlib.Path({str(json_path)!r}), pathlib.Path("results.json")]:
            path.write_text(fake)
        return 0
        """
    report = run_grade(reference, write_package(tmp_path / "student", add=body), json_path=json_path)
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert json.loads(json_path.read_text())["score"] == 6


def test_rewriting_the_reference_tests_voids_the_run(reference: Path, tmp_path: Path) -> None:
    """The package rewrites the workspace's tests at import, then crashes so that a new child
    would collect the rewritten ones: every test loses its credit instead (as root, the
    sandbox user cannot write the tests at all, and the import fails)."""
    forged = "import pytest\n" + "".join(
        f"@pytest.mark.{marker}\ndef {name}(*args):\n    pass\n"
        for marker, name in [("task0_1", "test_add"), ("task0_1", "test_add_negative"), ("task0_2", "test_mul")]
    )
    prefix = f"import pathlib\npathlib.Path('tests/test_ops.py').write_text({forged!r})\n"
    student = write_package(tmp_path / "student", add="import os\nos._exit(0)", init_prefix=prefix)
    report = run_grade(reference, student)
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert all(
        "no credit: the reference files" in message or "Permission denied" in message
        for task in ("0.1", "0.2")
        for message in messages(report, task)
    )


@pytest.mark.parametrize("prefix", ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"])
def test_exiting_at_import_earns_nothing(reference: Path, tmp_path: Path, prefix: str) -> None:
    report = run_grade(reference, write_package(tmp_path / "student", init_prefix=prefix))
    assert report.ok, report.errors  # grading ran; the student's package is what failed
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert all(message.startswith("not run") for task in ("0.1", "0.2") for message in messages(report, task))


def test_missing_package_earns_nothing(reference: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = run_grade(reference, tmp_path / "empty")
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert "toypkg/ is missing from the submission" in messages(report, "0.1")[0]


def test_task_time_limit(reference: Path, tmp_path: Path) -> None:
    student = write_package(tmp_path / "student", mul="import time\ntime.sleep(1)\nreturn a * b")
    report = run_grade(reference, student, timeout_task=2.5)
    assert earned(report)["0.1"] == 10
    result = report.task("0.2")
    assert 1 <= result.passed < result.total
    assert any("time limit of 2.5 s" in message for message in messages(report, "0.2"))


def test_fail_fast_stops_a_task_at_its_first_failure(reference: Path, tmp_path: Path) -> None:
    student = write_package(tmp_path / "student", add="return 0")
    report = run_grade(reference, student, fail_fast=True)
    assert earned(report) == {"0.1": 0, "0.2": 6}
    first, second = messages(report, "0.1")
    assert "assert 0 == 3" in first
    assert second == "not run: task 0.1 already failed (fail-fast)"


def test_task_without_tests_is_an_error_not_a_pass(reference: Path, tmp_path: Path) -> None:
    tasks = reference / "assignments" / "tasks.toml"
    tasks.write_text(tasks.read_text() + '\n[[task]]\nid = "0.3"\ntitle = "Nothing"\npoints = 4\n')
    json_path = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "assignments",
        "grade",
        str(reference),
        "--reference",
        str(reference),
        "--json",
        str(json_path),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no tests collected with marker task0_3" in done.stdout
    results = json.loads(json_path.read_text())
    assert results["score"] == 16  # the other tasks were still graded
    assert results["tests"][2]["score"] == 0 and results["tests"][2]["status"] == "failed"
    assert "task0_3" in results["output"] and "task0_3" in results["tests"][2]["output"]


def test_reference_collection_error_is_a_grader_error(reference: Path, tmp_path: Path) -> None:
    (reference / "tests" / "test_broken.py").write_text("import nonexistent_module_xyz\n")
    report = run_grade(reference, reference)
    assert not report.ok
    assert "tests/test_broken.py" in report.errors[0]
    assert "nonexistent_module_xyz" in report.errors[0]
    assert "Grader error" in json.loads((tmp_path / "results.json").read_text())["output"]


def test_only_selected_tasks(reference: Path) -> None:
    report = run_grade(reference, reference, tasks=["0.2"])
    assert earned(report) == {"0.2": 6}
    unknown = run_grade(reference, reference, tasks=["9.9"])
    assert not unknown.ok and "no task '9.9'" in unknown.errors[0]


# -------------------------------------------------------------------------------------------
# This repository, both steps of CI. `make course-check` (marker `course`): every task's tests
# run its own code and only the tasks it declares (probe + leave-one-out). `make course-grade`
# (marker `grading`, three full gradings): the student and do-nothing versions score 0 and the
# reference scores full marks.

GENEROUS = {"timeout_test": 300, "timeout_task": 1200, "timeout_collect": 300}
FEW_EXAMPLES = 3  # Hypothesis examples per test in these gradings (as tasks.toml's `uses` was probed)


@pytest.mark.course
@pytest.mark.timeout(2400)
def test_every_task_of_this_repository_fails_alone() -> None:
    """The probe run and leave-one-out (assignments/course_check.py) for every task."""
    results = course_check(REPO, max_examples=FEW_EXAMPLES, **GENEROUS)
    assert results and all(result.ok for result in results), [r.describe() for r in results if not r.ok]


@pytest.mark.grading
@pytest.mark.timeout(1800)
def test_student_and_do_nothing_versions_of_this_repository_score_zero() -> None:
    scores = zero_scores(REPO, max_examples=FEW_EXAMPLES, **GENEROUS)
    assert scores == {"student version": 0, "do-nothing version": 0}


@pytest.mark.grading
@pytest.mark.timeout(1800)
def test_this_repository_passes_every_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The op suite's backend matrix (tests/tensor_strategies.py) narrows to `simple` here: the
    # tasks' tests are the same, and the fast/cuda kernels have their own tasks (3.x). The
    # regular test run covers every backend.
    monkeypatch.setenv("MINITORCH_TEST_BACKENDS", "simple")
    report = grade(REPO, reference_dir=REPO, json_path=tmp_path / "results.json", max_examples=FEW_EXAMPLES, **GENEROUS)
    assert report.ok, report.errors
    no_tests = [r.task.id for r in report.tasks if r.total == 0]
    assert not no_tests, f"tasks without tests: {no_tests}"
    failing = {
        r.task.id: [(o.nodeid, o.message[:300]) for o in r.outcomes if not o.passed]
        for r in report.tasks
        if r.passed < r.total
    }
    assert not failing, f"the reference fails tests: {failing}"
    assert report.score == report.max_score


@pytest.mark.course
def test_missing_minitorch_does_not_fall_back_to_the_installed_one(tmp_path: Path) -> None:
    """minitorch is installed in editable mode from this repository; grading must not use it."""
    (tmp_path / "empty").mkdir()
    task = load_task_list(REPO).ids[0]
    report = grade(
        tmp_path / "empty", reference_dir=REPO, tasks=[task], json_path=tmp_path / "results.json", **GENEROUS
    )
    assert report.ok, report.errors
    assert report.score == 0
    assert all("minitorch/ is missing" in o.message for o in report.task(task).outcomes)
