"""Collect and run tests in child processes; each test's outcome arrives over a pipe.

The parent (this module) believes only the records from the child's plugin: a test passed
only if a `finish` record with outcome "passed" arrived for it. Printing, exit codes,
crashes, hangs and rewritten files in the child can therefore fail tests but never pass them.

The parent enforces the time limits itself. A test that runs too long, or a child that dies,
fails the running test; the parent kills the child's process group and starts a new child
for the tests not yet run. If the reference's files in the workspace (tests, config) change
during a run, no test earns credit.

What no design can stop: code that deliberately tampers with pytest or the plugin from inside
the child (every test has to run the student's code in that process). The per-child token
keeps naive forgeries, such as writing records to every open file descriptor, from counting.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .child import Child, GraderError
from .sandbox import Sandbox

_EXIT_GRACE_S = 10.0  # after its last test, how long a child may take to exit


@dataclass
class Outcome:
    """What happened to one test."""

    nodeid: str
    passed: bool
    message: str = ""
    duration: float = 0.0
    values: list = field(default_factory=list)  # what the graded code returned (reporter.py)


@dataclass
class Collection:
    """The reference's tests: node id -> its marker names; and any collection errors."""

    markers: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    visibility: dict[str, str] = field(default_factory=dict)  # node id -> its own visibility marker


@dataclass(frozen=True)
class Settings:
    """How tests run: time limits in seconds (one test; all tests of one task together;
    collection), Hypothesis shrinking, fail-fast per task, and the Python to run them with."""

    timeout_test: float = 60.0
    timeout_task: float = 600.0
    timeout_collect: float = 120.0
    shrink: bool = False
    fail_fast: bool = False
    python: str = sys.executable
    seed: int = 0  # of random, numpy.random and Hypothesis, in every test process
    max_examples: int = 0  # if not 0, at most this many Hypothesis examples per test


def _seconds(value: float) -> str:
    return f"{value:g} s"


def collect(workspace: Path, plugin_dir: Path, packages: Iterable[str], settings: Settings) -> Collection:
    """Collect the tests of `workspace` (the reference's), with their markers, in one child."""
    child = Child(workspace, plugin_dir, "collect", ["--collect-only"], packages, python=settings.python)
    return _collect(child, settings)


def _collect(child: Child, settings: Settings) -> Collection:
    collection = Collection()
    timeout = settings.timeout_collect
    deadline = time.monotonic() + timeout
    try:
        while True:
            records = child.records(deadline)
            if records == []:
                raise GraderError(f"collecting the reference tests took over {_seconds(timeout)}")
            if records is None:
                raise GraderError(
                    f"collecting the reference tests failed ({child.exit_description()}):\n{child.output_tail()}"
                )
            for record in records:
                event = record.get("event")
                if event == "origins":
                    child.check_origins(record)
                elif event == "collect_error":
                    collection.errors.append(f"{record['nodeid']}: {record['message']}")
                elif event == "item":
                    collection.markers[record["nodeid"]] = list(record["markers"])
                    if record.get("visibility"):
                        collection.visibility[record["nodeid"]] = str(record["visibility"])
                elif event == "collection_done":
                    return collection
    finally:
        child.close()


def fingerprint(root: Path, names: Iterable[str]) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root/<name>`, to notice modifications."""
    digests = {}
    for name in names:
        top = root / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@dataclass
class _Watch:
    """What the parent knows about the child it follows."""

    deadline: float  # time.monotonic() by which the child must report again
    selected: list[str] | None = None  # the tests it will run; None while it collects
    running: str | None = None  # the test it runs now
    started: float = 0.0  # when that test started
    collect_errors: dict[str, str] = field(default_factory=dict)  # file -> error


class TestRun:
    """Runs tests in as few children as possible, within the time limits; see `run`."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        workspace: Path,
        plugin_dir: Path,
        tests: list[str],
        tasks_of: Mapping[str, list[str]],
        packages: Iterable[str],
        settings: Settings,
        protected: Iterable[str] = (),
        sandbox: Sandbox | None = None,
    ) -> None:
        """`tests`: node ids in running order; `tasks_of`: node id -> its task ids;
        `protected`: reference paths in the workspace that must not change (their calls into
        the packages are the values); `sandbox`: whom the tests run as."""
        self.sandbox = sandbox
        self.test_dirs = [workspace / name for name in protected if (workspace / name).is_dir()]
        self.left_behind: list[str] = []  # processes and files the children left
        self.workspace, self.plugin_dir = workspace, plugin_dir
        self.tests, self.tasks_of = tests, tasks_of
        self.packages = list(packages)
        self.settings = settings
        self.protected = list(protected)
        self.outcomes: dict[str, Outcome] = {}
        self.task_time: dict[str, float] = {}  # task id -> seconds its tests have run
        self._baseline = fingerprint(workspace, self.protected)

    def run(self) -> dict[str, Outcome]:
        """Every test's outcome. A child that settles no test is not started again."""
        pending = self._pending()
        while pending:
            settled = len(self.outcomes)
            reason = self._run_child(pending)
            if fingerprint(self.workspace, self.protected) != self._baseline:
                self._void(
                    f"the reference files in the grading workspace "
                    f"({', '.join(self.protected)}) were modified while tests ran"
                )
                break
            pending = self._pending()
            if pending and len(self.outcomes) == settled:
                for nodeid in pending:
                    self._fail(nodeid, f"not run: {reason or 'the test process stopped early'}")
                break
        return self.outcomes

    # -- bookkeeping ---------------------------------------------------------------------------

    def _pending(self) -> list[str]:
        """Tests without an outcome. Those of tasks out of time, or (fail_fast) of tasks that
        failed already, fail here without running."""
        failed = {
            task for outcome in self.outcomes.values() if not outcome.passed for task in self.tasks_of[outcome.nodeid]
        }
        for nodeid in self.tests:
            if nodeid in self.outcomes:
                continue
            if self._task_time_left(nodeid) <= 0:
                self._fail(nodeid, f"not run: {self._out_of_time(nodeid)}")
            elif self.settings.fail_fast and failed.issuperset(self.tasks_of[nodeid]):
                tasks = ", ".join(self.tasks_of[nodeid])
                self._fail(nodeid, f"not run: task {tasks} already failed (fail-fast)")
        return [nodeid for nodeid in self.tests if nodeid not in self.outcomes]

    def _task_time_left(self, nodeid: str) -> float:
        limit = self.settings.timeout_task
        return min((limit - self.task_time.get(t, 0.0) for t in self.tasks_of[nodeid]), default=limit)

    def _out_of_time(self, nodeid: str) -> str:
        tasks = ", ".join(self.tasks_of[nodeid])
        return f"task {tasks} ran out of its time limit of {_seconds(self.settings.timeout_task)}"

    def _fail(self, nodeid: str, message: str, duration: float = 0.0) -> None:
        self.outcomes[nodeid] = Outcome(nodeid, False, message, duration)

    def _void(self, why: str) -> None:
        """No test earns credit: something undermined the whole run."""
        for nodeid in self.tests:
            self._fail(nodeid, f"no credit: {why}")

    def _settle_running(
        self, watch: _Watch, now: float, passed: bool, message: str, values: list | None = None
    ) -> None:
        """Record the running test's outcome and charge its time to its tasks."""
        nodeid, duration = watch.running, now - watch.started
        assert nodeid is not None
        for task in self.tasks_of[nodeid]:
            self.task_time[task] = self.task_time.get(task, 0.0) + duration
        self.outcomes[nodeid] = Outcome(nodeid, passed, message, duration, list(values or []))
        watch.running = None

    def _all_done(self, watch: _Watch) -> bool:
        return watch.selected is not None and all(n in self.outcomes for n in watch.selected)

    # -- one child -----------------------------------------------------------------------------

    def _run_child(self, pending: list[str]) -> str | None:
        """Run `pending` in one child until it ends; return why it ended early, if it did."""
        plan = {"tests": pending, "tasks": {n: self.tasks_of[n] for n in pending}, "fail_fast": self.settings.fail_fast}
        plan_file = self.workspace.parent / f"plan-{secrets.token_hex(4)}.json"
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        files = sorted({nodeid.split("::")[0] for nodeid in pending})
        child = Child(
            self.workspace,
            self.plugin_dir,
            "run",
            files,
            self.packages,
            plan_file,
            self.settings.python,
            self.settings.shrink,
            self.sandbox,
            self.settings.seed,
            self.test_dirs,
            self.settings.max_examples,
        )
        try:
            return self._follow(child, pending)
        finally:
            child.close()
            self.left_behind += child.left_behind
            plan_file.unlink(missing_ok=True)

    def _follow(self, child: Child, pending: list[str]) -> str | None:
        """Read the child's records until it exits or misses a deadline."""
        watch = _Watch(deadline=time.monotonic() + self.settings.timeout_collect)
        wanted = set(pending)
        while True:
            records = child.records(watch.deadline)
            now = time.monotonic()
            if records is None:
                return self._exited(child, watch, now)
            if not records:
                child.kill()
                return self._deadline_passed(watch, now)
            for record in records:
                self._handle(child, watch, record, wanted, now)

    def _handle(self, child: Child, watch: _Watch, record: dict, wanted: set[str], now: float) -> None:
        event, nodeid = record.get("event"), record.get("nodeid")
        if event == "origins":
            child.check_origins(record)
        elif event == "collect_error":
            watch.collect_errors[str(nodeid)] = str(record.get("message", ""))
        elif event == "collection_done":
            watch.selected = [n for n in record.get("selected", []) if n in wanted]
            self._fail_uncollected(wanted, set(watch.selected), watch.collect_errors)
            watch.deadline = now + self.settings.timeout_test
        elif event == "start" and watch.running is None and nodeid in wanted and nodeid not in self.outcomes:
            watch.running, watch.started = nodeid, now
            allowed = min(self.settings.timeout_test, self._task_time_left(nodeid))
            watch.deadline = now + max(0.0, allowed)
        elif event == "finish" and nodeid == watch.running:
            passed = record.get("outcome") == "passed"
            values = record.get("values") if isinstance(record.get("values"), list) else []
            self._settle_running(watch, now, passed, "" if passed else str(record.get("message")), values)
            wait = _EXIT_GRACE_S if self._all_done(watch) else self.settings.timeout_test
            watch.deadline = now + wait

    def _exited(self, child: Child, watch: _Watch, now: float) -> str | None:
        """The child exited: a test it was running crashed."""
        how = child.exit_description()
        if watch.running is not None:
            self._settle_running(
                watch, now, False, f"crashed ({how}) while this test ran; output:\n{child.output_tail()}"
            )
            return f"an earlier test crashed the test process ({how})"
        if watch.selected is None:
            return f"the test process exited while collecting tests ({how}):\n{child.output_tail()}"
        return None

    def _deadline_passed(self, watch: _Watch, now: float) -> str | None:
        """The child (now killed) was silent too long: the running test fails."""
        if watch.running is None:
            if watch.selected is None:
                return f"collecting the tests took over {_seconds(self.settings.timeout_collect)}"
            return None if self._all_done(watch) else "the test process hung between tests"
        nodeid, duration = watch.running, now - watch.started
        out_of_task_time = self._task_time_left(nodeid) - duration <= 0
        message = (
            f"stopped: {self._out_of_time(nodeid)}"
            if out_of_task_time
            else f"timed out after {_seconds(self.settings.timeout_test)}"
        )
        self._settle_running(watch, now, False, message)
        return "an earlier test timed out"

    def _fail_uncollected(self, wanted: set[str], selected: set[str], errors: Mapping[str, str]) -> None:
        """Tests the child did not collect fail, with their file's collection error if any."""
        for nodeid in sorted(wanted):
            if nodeid in selected or nodeid in self.outcomes:
                continue
            path = nodeid.split("::")[0]
            error = next(
                (e for where, e in errors.items() if where and path.startswith(where)),
                next(iter(errors.values()), None),
            )
            self._fail(
                nodeid,
                f"not run: collecting {path} failed:\n{error}" if error else "not run: the test was not collected",
            )
