"""`python -m assignments course-check`: do the tasks' tests test exactly their own task's code?

Three checks, cheapest first:

1. The probe run (`probe`): the task tests run once on the reference with a probe call at the
   top of every marked region (student.py, mode "probe"), so each test reports which tasks'
   code it ran. Numba's JIT is off in this run (NUMBA_DISABLE_JIT=1), so the regions inside
   compiled kernels report too. A test must run its own task's code (else it passes on a stub:
   free points) and no other task's (else a student cannot pass it before that other task),
   and it counts for one task only.
   A course builds on itself, so a task may declare in tasks.toml the tasks its tests also
   use (`uses`); any other task's code in a test is an error.
2. Leave-one-out (`leave_one_out`): for every task T, the reference with only T's regions
   stubbed is graded. T must fail, and no task that does not declare T. A test that never
   runs T's code runs the same code, on the same seeded inputs, as on the reference, so its
   outcome cannot change; the grading therefore runs T's tests and the tests the probe saw
   running T's code undeclared. Without a probe map it grades every test (slow: one full
   grading per task) and any other failing task counts.
3. The student version (every region a `raise`) and a do-nothing version (every region
   `pass`) must score 0 (`zero_scores`).

Heavy (minutes), so it runs as its own step of CI (`make course-check`), with few Hypothesis
examples per test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .grader import grade
from .student import StubMode, build_student_version
from .tasklist import REPO_ROOT, load_task_list


@dataclass
class TestMap:
    """The probe run's findings: node id -> the tasks it belongs to, the tasks whose code it ran."""

    __test__ = False  # not a pytest test class

    own: dict[str, set[str]] = field(default_factory=dict)
    ran: dict[str, set[str]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # tests that failed on the probed reference
    uses: dict[str, set[str]] = field(default_factory=dict)  # task -> the tasks tasks.toml lets it use

    def tests_of(self, task_id: str) -> list[str]:
        return [n for n, tasks in self.own.items() if task_id in tasks]

    def allowed(self, nodeid: str) -> set[str]:
        """The tasks whose code the test may run: its own and those they declare (`uses`)."""
        own = self.own[nodeid]
        return own.union(*(self.uses.get(task, set()) for task in own))

    def running(self, task_id: str) -> list[str]:
        """Tests of other tasks that run `task_id`'s code without declaring it."""
        return [n for n, ran in self.ran.items() if task_id in ran and task_id not in self.allowed(n)]

    def used(self, task_id: str) -> set[str]:
        """The other tasks whose code the tests of `task_id` run (what `uses` should say)."""
        return set().union(*(self.ran[n] for n in self.tests_of(task_id))) - {task_id}

    def shared(self, task_id: str) -> list[str]:
        """Tests of `task_id` that count for another task too: one stub costs points twice."""
        return [n for n in self.tests_of(task_id) if len(self.own[n]) > 1]

    def free(self, task_id: str) -> list[str]:
        """Tests of `task_id` that never run its code: a stub passes them."""
        return [n for n in self.tests_of(task_id) if not self.ran[n] & self.own[n]]


@dataclass
class LeaveOneOut:
    """What grading the tree without task `task_id` showed."""

    task_id: str
    still_passes: bool = False  # the left-out task earned full marks: its tests miss its code
    broken: dict[str, list[str]] = field(default_factory=dict)  # other task -> its failing tests
    free: list[str] = field(default_factory=list)  # its tests that never run its code (probe)
    shared: list[str] = field(default_factory=list)  # its tests that count for another task too
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.still_passes or self.broken or self.free or self.shared or self.errors)

    def describe(self) -> str:
        if self.ok:
            return f"task {self.task_id}: independent"
        lines = [f"task {self.task_id}:"]
        if self.still_passes:
            lines.append("  still earns full marks with its code stubbed")
        if self.free:
            lines.append("  tests that never run its code: " + _some(self.free))
        if self.shared:
            lines.append("  tests that count for another task too: " + _some(self.shared))
        for other, tests in self.broken.items():
            lines.append(f"  breaks task {other}: " + _some(tests))
        lines += [f"  grader error: {error}" for error in self.errors]
        return "\n".join(lines)


def _some(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" ... ({len(items)} in all)" if len(items) > 3 else "")


def probe(reference: Path = REPO_ROOT, max_examples: int = 3, timeout: float = 1800.0) -> TestMap:
    """Run every task test once on the probed reference; see the module doc, check 1."""
    task_list = load_task_list(reference)
    markers = {task.pytest_marker: task.id for task in task_list.tasks}
    with tempfile.TemporaryDirectory(prefix="minitorch-probe-") as folder:
        tree, out, plugin = Path(folder) / "tree", Path(folder) / "probe.json", Path(folder) / "plugin"
        build_student_version(reference, tree, mode="probe")
        plugin.mkdir()
        shutil.copy(Path(__file__).with_name("probe_plugin.py"), plugin)
        env = dict(
            os.environ,
            NUMBA_DISABLE_JIT="1",
            MINITORCH_PROBE_OUT=str(out),
            MINITORCH_PROBE_MAX_EXAMPLES=str(max_examples),
            PYTHONPATH=str(plugin),
            PYTHONDONTWRITEBYTECODE="1",
        )
        select = " or ".join(markers)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "probe_plugin", "-p", "no:cacheprovider", "-m", select]
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if not out.exists():
            raise RuntimeError(f"the probe run wrote no results (exit {done.returncode}):\n{done.stdout[-3000:]}")
        found = json.loads(out.read_text(encoding="utf-8"))
        collected = _markers_of(tree, env, select, timeout)
    test_map = TestMap(uses={task.id: set(task.uses) for task in task_list.tasks})
    for nodeid, record in found.items():
        test_map.own[nodeid] = {markers[m] for m in collected.get(nodeid, []) if m in markers}
        test_map.ran[nodeid] = set(record["tasks"])
        if not record["passed"]:
            test_map.failed.append(nodeid)
    return test_map


_LIST_MARKERS = """
import json, sys, pytest
class Markers:
    found = {}
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        self.found.update({i.nodeid: sorted({m.name for m in i.iter_markers()}) for i in items})
plugin = Markers()
pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "-m", sys.argv[1]], plugins=[plugin])
print("MARKERS=" + json.dumps(plugin.found))
"""


def _markers_of(tree: Path, env: dict[str, str], select: str, timeout: float) -> dict[str, list[str]]:
    """Node id -> marker names of the selected tests of `tree`."""
    done = subprocess.run(
        [sys.executable, "-c", _LIST_MARKERS, select],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("MARKERS=")), None)
    if line is None:
        raise RuntimeError(f"collecting the probe tree's tests failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return json.loads(line.removeprefix("MARKERS="))


def leave_one_out(
    task_id: str,
    reference: Path = REPO_ROOT,
    max_examples: int = 3,
    test_map: TestMap | None = None,
    **options: object,
) -> LeaveOneOut:
    """Grade the reference with only `task_id` stubbed (see the module doc, check 2)."""
    result = LeaveOneOut(task_id)
    tasks: list[str] | None = None
    only: list[str] | None = None
    if test_map is not None:
        only = test_map.tests_of(task_id) + test_map.running(task_id)
        tasks = sorted({t for n in only for t in test_map.own[n]} | {task_id})
        result.free, result.shared = test_map.free(task_id), test_map.shared(task_id)
    with tempfile.TemporaryDirectory(prefix=f"minitorch-without-{task_id}-") as folder:
        tree = Path(folder) / "tree"
        build_student_version(reference, tree, only={task_id})
        settings: dict = dict(options, tasks=tasks, only_tests=only, max_examples=max_examples)
        report = grade(tree, reference_dir=reference, **settings)
    result.errors = list(report.errors)
    for task in report.tasks:
        failing = [o.nodeid for o in task.outcomes if not o.passed]
        if task.task.id == task_id:
            result.still_passes = not failing and task.error is None
        elif failing:
            result.broken[task.task.id] = failing
    return result


def zero_scores(reference: Path = REPO_ROOT, max_examples: int = 3, **options: object) -> dict[str, float]:
    """The scores of the student version and of a do-nothing version (both must be 0)."""
    scores = {}
    modes: dict[str, StubMode] = {"student version": "stub", "do-nothing version": "nothing"}
    for name, mode in modes.items():
        with tempfile.TemporaryDirectory(prefix="minitorch-zero-") as folder:
            tree = Path(folder) / "tree"
            build_student_version(reference, tree, mode=mode)
            settings: dict = dict(options, max_examples=max_examples)
            report = grade(tree, reference_dir=reference, **settings)
        if report.errors:
            raise RuntimeError(f"grading the {name} failed: " + "; ".join(report.errors))
        scores[name] = report.score
    return scores


def course_check(
    reference: Path = REPO_ROOT, tasks: Iterable[str] | None = None, max_examples: int = 3, **options: object
) -> list[LeaveOneOut]:
    """Probe, then leave each task out in turn (all tasks by default); print and return the findings."""
    test_map = probe(reference, max_examples)
    print(f"probe run: {len(test_map.own)} tests", flush=True)
    for nodeid in test_map.failed:
        print(f"  fails on the probed reference: {nodeid}", flush=True)
    ids = list(tasks) if tasks is not None else load_task_list(reference).ids
    results = []
    for task_id in ids:
        result = leave_one_out(task_id, reference, max_examples, test_map, fail_fast=True, **options)
        print(result.describe(), flush=True)
        results.append(result)
    return results
