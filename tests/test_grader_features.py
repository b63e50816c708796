"""The grader's instructor features on the fake reference repository: leave-one-out, hidden
tests, visibility, results.json's size, module release, the student README, value checks."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assignments import build_student_version, load_task_list, stub_regions
from assignments.course_check import leave_one_out, probe, zero_scores
from assignments.report import GradeReport, TaskResult, results_json
from assignments.runner import Outcome
from assignments.values import difference, same
from tests.test_assignments import SOURCE, TITLES, reference, run_grade, write_package

__all__ = ["reference"]  # the fixture, used by name


def test_values_agree_within_tolerance_and_nan_matches_nan() -> None:
    assert same(1.0, 1.0 + 1e-9) and same([1, {"a": math.nan}], [1, {"a": math.nan}])
    assert not same(1.0, 1.1) and not same(True, 1) and not same([1, 2], [1])
    expected = [["add", 3], ["add", -3]]
    assert difference(expected, [["add", 3], ["add", -3.0000000001]]) is None
    assert "call 2 (add): your code returned 0, the reference -3" in difference(expected, [["add", 3], ["add", 0]])
    assert "made 1 calls" in difference(expected, [["add", 3]])
    assert "cannot be graded" in difference([], [])


def test_stub_only_some_tasks() -> None:
    stubbed, regions = stub_regions(SOURCE, TITLES, "ops.py", only={"0.2"})
    assert len(regions) == 2
    assert "total = a + b" in stubbed and "return k * x" not in stubbed
    assert 'raise NotImplementedError("Task 0.2: Multiply")' in stubbed


def test_leave_one_out_on_independent_tasks(reference: Path) -> None:
    for task_id in ("0.1", "0.2"):
        result = leave_one_out(task_id, reference, timeout_test=20)
        assert result.ok, result.describe()


def test_leave_one_out_finds_a_dependent_task(reference: Path) -> None:
    """mul calls add: leaving out 0.1 breaks 0.2."""
    ops = reference / "toypkg" / "ops.py"
    ops.write_text(ops.read_text().replace("return a * b", "return sum(add(0, a) for _ in range(b))"))
    result = leave_one_out("0.1", reference, timeout_test=20)
    assert not result.ok and "0.2" in result.broken


def test_probe_maps_each_test_to_the_task_code_it_runs(reference: Path) -> None:
    ops = reference / "toypkg" / "ops.py"
    ops.write_text(ops.read_text().replace("return a * b", "return sum(add(0, a) for _ in range(b))"))
    tests = reference / "tests" / "test_ops.py"
    tests.write_text(tests.read_text() + "\n\n@pytest.mark.task0_1\ndef test_runs_nothing():\n    assert 1 + 1 == 2\n")
    test_map = probe(reference)
    assert not test_map.failed
    node = "tests/test_ops.py::"
    assert test_map.own[node + "test_add"] == {"0.1"} and test_map.ran[node + "test_add"] == {"0.1"}
    assert test_map.ran[node + "test_mul"] == {"0.1", "0.2"}  # mul calls add
    assert test_map.running("0.1") == [node + "test_mul"]  # mul(a, 0) adds nothing: never calls add
    assert test_map.free("0.1") == [node + "test_runs_nothing"] and test_map.free("0.2") == []
    result = leave_one_out("0.1", reference, test_map=test_map, timeout_test=20)
    assert result.broken == {"0.2": [node + "test_mul"]} and result.free == [node + "test_runs_nothing"]
    assert not result.still_passes and "never run its code" in result.describe()
    assert leave_one_out("0.2", reference, test_map=test_map, timeout_test=20).ok


def test_student_and_do_nothing_versions_score_zero(reference: Path) -> None:
    """A test that only calls the code passes on a do-nothing body; its values still differ."""
    tests = reference / "tests" / "test_ops.py"
    tests.write_text(tests.read_text() + "\n\n@pytest.mark.task0_2\ndef test_mul_runs():\n    mul(2, 3)\n")
    assert zero_scores(reference, timeout_test=20) == {"student version": 0, "do-nothing version": 0}


def test_hidden_tests_count(reference: Path, tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_hidden.py").write_text(
        "import pytest\nfrom toypkg import add\n\n\n@pytest.mark.task0_1\ndef test_add_floats():\n"
        "    assert add(0.5, 0.25) == 0.75\n"
    )
    student = write_package(tmp_path / "student", add="return int(a + b)")
    report = run_grade(reference, student, extra_tests=hidden)
    assert report.ok, report.errors
    result = report.task("0.1")
    assert (result.passed, result.total) == (2, 3)
    assert any("test_add_floats" in o.nodeid and not o.passed for o in result.outcomes)


def test_visibility_per_test(reference: Path, tmp_path: Path) -> None:
    """A test marked @pytest.mark.visibility(...) and the instructor's extra tests (hidden by
    default) report apart from their task, each with its share of the points."""
    pyproject = reference / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"task0_3: nothing"', '"task0_3: nothing", "visibility: v"'))
    tests = reference / "tests" / "test_ops.py"
    tests.write_text(
        tests.read_text().replace(
            "@pytest.mark.task0_2\ndef test_mul",
            '@pytest.mark.task0_2\n@pytest.mark.visibility("after_due_date")\ndef test_mul',
        )
    )
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_hidden.py").write_text(
        "import pytest\nfrom toypkg import add\n\n\n@pytest.mark.task0_1\ndef test_add_floats():\n"
        "    assert add(0.5, 0.25) == 0.75\n"
    )
    student = write_package(tmp_path / "student", add="return int(a + b)", mul="return 0")
    report = run_grade(reference, student, extra_tests=hidden)
    assert report.ok, report.errors
    entries = {(t["name"], t["visibility"]): (t["score"], t["max_score"]) for t in report.to_gradescope()["tests"]}
    assert entries == {  # rounded to 4 places in results.json
        ("Task 0.1: Add", "visible"): (6.6667, 6.6667),
        ("Task 0.1: Add (hidden tests)", "hidden"): (0, 3.3333),  # int(0.75) is 0
        ("Task 0.2: Multiply", "visible"): (4.5, 4.5),  # mul(a, 0) == 0 passes
        ("Task 0.2: Multiply (after due date tests)", "after_due_date"): (0, 1.5),
    }
    assert sum(score for score, _ in entries.values()) == pytest.approx(report.score, abs=1e-3)


def test_visibility_and_results_size(reference: Path, tmp_path: Path) -> None:
    tasks = reference / "assignments" / "tasks.toml"
    tasks.write_text(tasks.read_text().replace("points = 6\n", 'points = 6\nvisibility = "after_due_date"\n'))
    task_list = load_task_list(reference)
    assert [t.visibility for t in task_list.tasks] == ["visible", "after_due_date"]
    report = GradeReport(tmp_path, tmp_path)
    failures = [Outcome(f"tests/test_x.py::test_{n}", False, "E   assert 0 == 3\n" + "x" * 5000) for n in range(2000)]
    report.tasks = [TaskResult(task_list.tasks[0], failures), TaskResult(task_list.tasks[1])]
    text = results_json(report)
    assert len(text.encode()) <= 1 << 20
    results = json.loads(text)
    assert [t["visibility"] for t in results["tests"]] == ["visible", "after_due_date"]
    assert "assert 0 == 3" in results["tests"][0]["output"]


def test_student_readme_and_module_release(reference: Path, tmp_path: Path) -> None:
    build_student_version(reference, tmp_path / "out", modules=[0])
    readme = (tmp_path / "out" / "README.md").read_text()
    for needed in ("chapters/00-fundamentals.md", "pytest -m task0_1", "python -m assignments grade . --task 0.1"):
        assert needed in readme
    assert "Task 0.1 (10 points): Add" in readme


@pytest.mark.parametrize("modules", [[1]])
def test_unreleased_module_stubs_say_so(reference: Path, tmp_path: Path, modules: list[int]) -> None:
    build_student_version(reference, tmp_path / "out", modules=modules)
    text = (tmp_path / "out" / "toypkg" / "ops.py").read_text()
    assert "Task 0.1: Add (released with module 0)" in text
    assert "Task 0.1" not in (tmp_path / "out" / "README.md").read_text()


def test_gradescope_bundle_grades_like_gradescope(reference: Path, tmp_path: Path) -> None:
    """Unpack the autograder under a temporary root laid out like /autograder, put a submission
    in submission/, run run_autograder, and read results/results.json."""
    import os
    import subprocess
    import sys
    import zipfile

    from assignments.gradescope import build_bundle, unpack

    bundle = build_bundle(tmp_path / "autograder.zip", reference)
    names = zipfile.ZipFile(bundle).namelist()
    assert {"setup.sh", "run_autograder", "requirements.txt", "assignments/grader.py", "toypkg/ops.py"} <= set(names)
    requirements = zipfile.ZipFile(bundle).read("requirements.txt").decode()
    assert "pytest==" in requirements and "minitorch" not in requirements.lower()

    root = unpack(bundle, tmp_path / "autograder")
    write_package(root / "submission", mul="return 1")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "MINITORCH_GRADER_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 10
    assert [t["score"] for t in results["tests"]] == [10, 0]


def test_no_shortcuts_rule_scores_the_task_zero(reference: Path, tmp_path: Path) -> None:
    tasks = reference / "assignments" / "tasks.toml"
    rules = '[shortcuts]\ntasks = ["0.2"]\nforbidden = ["numpy", "@"]\nallowed = ["numpy.zeros"]\n\n'
    tasks.write_text(tasks.read_text().replace("[[task]]", rules + "[[task]]", 1))
    student = write_package(tmp_path / "student", mul="import numpy as xp\nreturn int(xp.multiply(a, b))")
    report = run_grade(reference, student)
    assert report.task("0.1").score == 10 and report.task("0.2").score == 0
    assert "no shortcuts" in report.task("0.2").output() and "xp.multiply" in report.task("0.2").output()
    allowed = write_package(tmp_path / "allowed", mul="import numpy as np\nnp.zeros(1)\nreturn a * b")
    assert run_grade(reference, allowed).task("0.2").score == 6


def test_a_failed_reference_run_is_not_remembered(reference: Path, tmp_path: Path, monkeypatch) -> None:
    """The reference's values are cached between gradings, but not a reference run that failed
    (a killed child): that grading reports a grader problem, the next one runs it again."""
    from assignments import grader, runner

    monkeypatch.setattr(grader, "_EXPECTED", {})  # nothing remembered from earlier tests
    real_run = runner.TestRun.run
    failures = {"left": 1}

    def killed_once(self: runner.TestRun) -> dict:
        outcomes = real_run(self)
        if self.sandbox is None and failures["left"]:  # the reference's run, the first time
            failures["left"] -= 1
            return {n: runner.Outcome(n, False, "not run: the test process was killed") for n in outcomes}
        return outcomes

    monkeypatch.setattr(runner.TestRun, "run", killed_once)
    student = write_package(tmp_path / "student")
    first = run_grade(reference, student)
    assert not first.ok and "grader problem" in first.errors[0]
    second = run_grade(reference, student)
    assert second.ok, second.errors
    assert {t.task.id: t.score for t in second.tasks} == {"0.1": 10, "0.2": 6}


def test_failure_messages_are_what_pytest_tb_short_prints(reference: Path, tmp_path: Path) -> None:
    """The grader builds failure reports itself (pytest's own parse each file per frame): the
    same text as `pytest --tb=short`, without its caret lines, chained exceptions included."""
    mul = "try:\n    return {}[a]\nexcept KeyError as error:\n    raise ValueError('no product') from error"
    student = write_package(tmp_path / "student", add="return a - b", mul=mul)
    report = run_grade(reference, student)
    got = {o.nodeid.split("::")[1]: o.message.removeprefix("failed (call): ") for t in report.tasks for o in t.outcomes}
    shutil.copytree(reference / "tests", student / "tests")
    shutil.copy(reference / "pyproject.toml", student)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider", "tests"],
        cwd=student,
        capture_output=True,
        text=True,
        check=False,
    )
    sections = re.split(r"^_{3,} (\S+) _{3,}$", done.stdout.split("short test summary")[0], flags=re.M)
    printed = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert (
        set(printed)
        == set(got)
        == {"test_add", "test_add_negative", "test_mul", "test_mul_zero[0]", "test_mul_zero[1]", "test_mul_zero[2]"}
    )
    for name, text in printed.items():
        lines = [line for line in text.strip().splitlines() if not re.fullmatch(r"\s*[\^~]+\s*", line)]
        assert got[name] == "\n".join(lines).rstrip("=").strip(), name
    assert "direct cause" in got["test_mul"] and "E   KeyError: 2" in got["test_mul"]
