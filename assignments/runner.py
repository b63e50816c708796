"""Run pytest in child processes and collect each test's outcome over a pipe.

The child loads `reporter.py` as a plugin and writes JSON records to an inherited pipe. The
parent (this module) believes only those records: a test passed only if a `finish` record
with outcome "passed" arrived for it. Printing, exit codes, crashes, hangs and rewritten files
in the child can therefore fail tests but never pass them.

The parent enforces the time limits itself. A test that runs too long, or a child that dies,
fails the running test; the parent kills the child's process group and starts a new child for
the tests not yet run. If the reference's files in the workspace (tests, config) change during
a run, no test earns credit.

What this cannot stop: code that deliberately tampers with pytest or with this plugin from
inside the child process (every test necessarily runs the student's code in that process).
The per-run token keeps naive forgeries, such as writing records to every open file
descriptor, from counting.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN = "_minitorch_grader_reporter"  # module name of reporter.py inside the child
_PLUGIN_SOURCE = Path(__file__).with_name("reporter.py")
_EXIT_GRACE_S = 10.0  # after the last test, how long the child may take to exit


class GraderError(RuntimeError):
    """Grading itself went wrong (not the student's code): the score is not trustworthy."""


@dataclass
class Outcome:
    """What happened to one test."""

    nodeid: str
    passed: bool
    message: str = ""
    duration: float = 0.0


@dataclass
class Collection:
    """The reference's tests: node id -> its marker names; and any collection errors."""

    markers: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def install_plugin(folder: Path) -> Path:
    """Copy the reporter plugin into `folder` (put on the child's PYTHONPATH) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{PLUGIN}.py").write_text(_PLUGIN_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _seconds(value: float) -> str:
    return f"{value:g} s"


class Child:
    """One pytest child process and the pipe it reports on."""

    def __init__(self, workspace: Path, plugin_dir: Path, mode: str, args: list[str],
                 packages: Iterable[str], tests_file: Path | None = None,
                 python: str = sys.executable) -> None:
        self.workspace = workspace
        self.token = secrets.token_hex(16)
        read_fd, write_fd = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(workspace), str(plugin_dir)]),  # the workspace wins
            PYTHONDONTWRITEBYTECODE="1",
            MINITORCH_GRADER_FD=str(write_fd),
            MINITORCH_GRADER_TOKEN=self.token,
            MINITORCH_GRADER_MODE=mode,
            MINITORCH_GRADER_TESTS=str(tests_file or ""),
            MINITORCH_GRADER_PACKAGES=",".join(packages),
        )
        command = [python, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider",
                   f"--rootdir={workspace}", "--continue-on-collection-errors",
                   "--tb=short", "-q", *args]
        self.log = tempfile.TemporaryFile()  # the child's stdout and stderr, for crash reports
        try:
            self.process = subprocess.Popen(
                command, cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)  # the child holds the write end now
        self._fd = read_fd
        os.set_blocking(read_fd, False)
        self._buffer = b""
        self._eof = False

    def records(self, deadline: float) -> list[dict] | None:
        """The next records, waiting until `deadline` (time.monotonic()) at most.

        Returns [] when the deadline passed first, None once the child exited and every
        record it sent has been read.
        """
        while True:
            records = self._parse()
            if records:
                return records
            if self.process.poll() is not None:
                self._read_available()
                return self._parse() or None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            if self._eof:  # pipe closed: only the exit is left to wait for
                try:
                    self.process.wait(timeout=min(remaining, 0.1))
                except subprocess.TimeoutExpired:
                    pass
            elif select.select([self._fd], [], [], min(remaining, 0.1))[0]:
                self._read_available()

    def _read_available(self) -> None:
        while not self._eof:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._eof = True
            self._buffer += chunk

    def _parse(self) -> list[dict]:
        """Complete lines in the buffer -> records carrying our token; anything else is ignored."""
        *lines, self._buffer = self._buffer.split(b"\n")
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("token") == self.token:
                records.append(record)
        return records

    def kill(self) -> None:
        """Kill the child and everything it started (its process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def close(self) -> None:
        self.kill()
        os.close(self._fd)
        self.log.close()

    def exit_description(self) -> str:
        """"exit code 3" or "signal SIGSEGV"."""
        code = self.process.wait()
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def output_tail(self, chars: int = 1500) -> str:
        """The end of what the child printed (its stdout and stderr)."""
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip()
        return text if len(text) <= chars else "..." + text[-chars:]

    def check_origins(self, record: dict) -> None:
        """Each graded package must be imported from the workspace, not from an installed copy."""
        for package, origin in record.get("origins", {}).items():
            if origin is None or not Path(origin).resolve().is_relative_to(self.workspace.resolve()):
                raise GraderError(
                    f"in the test process, package {package!r} resolves to {origin}, "
                    f"outside the grading workspace {self.workspace}")


def collect(workspace: Path, plugin_dir: Path, packages: Iterable[str], timeout: float,
            python: str = sys.executable) -> Collection:
    """Collect the tests of `workspace` (the reference's) with their markers, in one child."""
    child = Child(workspace, plugin_dir, "collect", ["--collect-only"], packages, python=python)
    collection = Collection()
    deadline = time.monotonic() + timeout
    try:
        while True:
            records = child.records(deadline)
            if records == []:
                raise GraderError(f"collecting the reference tests timed out after {_seconds(timeout)}")
            if records is None:
                raise GraderError(f"collecting the reference tests failed ({child.exit_description()}):\n"
                                  f"{child.output_tail()}")
            for record in records:
                event = record["event"]
                if event == "origins":
                    child.check_origins(record)
                elif event == "collect_error":
                    collection.errors.append(f"{record['nodeid']}: {record['message']}")
                elif event == "item":
                    collection.markers[record["nodeid"]] = list(record["markers"])
                elif event == "collection_done":
                    return collection
    finally:
        child.close()


@dataclass
class Limits:
    """Time limits in seconds: per test, per task (all its tests together), and for collection."""

    test: float = 60.0
    task: float = 600.0
    collect: float = 120.0


def fingerprint(root: Path, names: Iterable[str]) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root/<name>`, to notice modifications."""
    digests = {}
    for name in names:
        top = root / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


class TestRun:
    """Runs the given tests in as few children as possible, honouring the time limits."""

    __test__ = False  # not a pytest test class

    def __init__(self, workspace: Path, plugin_dir: Path, tests: list[str],
                 tasks_of: Mapping[str, list[str]], packages: Iterable[str], limits: Limits,
                 protected: Iterable[str] = (), python: str = sys.executable) -> None:
        self.workspace, self.plugin_dir, self.python = workspace, plugin_dir, python
        self.tests = tests  # node ids, in the order to run them
        self.tasks_of = tasks_of  # node id -> ids of the tasks it counts for
        self.packages = list(packages)
        self.limits = limits
        self.outcomes: dict[str, Outcome] = {}
        self.task_time: dict[str, float] = {}  # task id -> seconds its tests have run
        self.protected = list(protected)  # reference paths in the workspace, which must not change
        self._baseline = fingerprint(workspace, self.protected)

    def run(self) -> dict[str, Outcome]:
        """Every test's outcome. A child that resolves no test is not tried again."""
        pending = self._pending()
        while pending:
            before = len(self.outcomes)
            reason = self._run_child(pending)
            if fingerprint(self.workspace, self.protected) != self._baseline:
                self._void(f"the reference files in the grading workspace ({', '.join(self.protected)}) "
                           "were modified while tests ran")
                break
            pending = self._pending()
            if pending and len(self.outcomes) == before:
                for nodeid in pending:
                    self._fail(nodeid, f"not run: {reason or 'the test process stopped before it'}")
                break
        return self.outcomes

    def _void(self, why: str) -> None:
        """No test earns credit: something undermined the whole run."""
        for nodeid in self.tests:
            self._fail(nodeid, f"no credit: {why}")

    def _pending(self) -> list[str]:
        """Tests without an outcome; those of tasks out of time fail here without running."""
        for nodeid in self.tests:
            if nodeid not in self.outcomes and self._task_time_left(nodeid) <= 0:
                self._fail(nodeid, f"not run: {self._out_of_time_message(nodeid)}")
        return [nodeid for nodeid in self.tests if nodeid not in self.outcomes]

    def _task_time_left(self, nodeid: str) -> float:
        return min((self.limits.task - self.task_time.get(t, 0.0) for t in self.tasks_of[nodeid]),
                   default=self.limits.task)

    def _out_of_time_message(self, nodeid: str) -> str:
        tasks = ", ".join(self.tasks_of[nodeid])
        return f"task {tasks} ran out of its time limit of {_seconds(self.limits.task)}"

    def _fail(self, nodeid: str, message: str, duration: float = 0.0) -> None:
        self.outcomes[nodeid] = Outcome(nodeid, False, message, duration)

    def _charge(self, nodeid: str, seconds: float) -> None:
        for task in self.tasks_of[nodeid]:
            self.task_time[task] = self.task_time.get(task, 0.0) + seconds

    def _run_child(self, pending: list[str]) -> str | None:
        """Run `pending` in one child until it ends; return why it ended early, if it did."""
        tests_file = self.workspace.parent / f"tests-{secrets.token_hex(4)}.json"
        tests_file.write_text(json.dumps(pending), encoding="utf-8")
        files = sorted({nodeid.split("::")[0] for nodeid in pending})
        child = Child(self.workspace, self.plugin_dir, "run", files, self.packages, tests_file, self.python)
        try:
            return self._follow(child, pending)
        finally:
            child.close()
            tests_file.unlink(missing_ok=True)

    def _follow(self, child: Child, pending: list[str]) -> str | None:
        """Read the child's records, enforce the limits, and record outcomes."""
        collect_errors: dict[str, str] = {}
        selected: list[str] | None = None
        running: str | None = None
        started = 0.0
        deadline = time.monotonic() + self.limits.collect
        while True:
            records = child.records(deadline)
            now = time.monotonic()
            if records is None:  # the child exited
                if running is not None:
                    self._charge(running, now - started)
                    self._fail(running, f"crashed ({child.exit_description()}) while this test ran; "
                                        f"output:\n{child.output_tail()}", now - started)
                    return f"an earlier test crashed the test process ({child.exit_description()})"
                if selected is None:
                    return (f"the test process exited while collecting tests "
                            f"({child.exit_description()}); output:\n{child.output_tail()}")
                return None
            if records == []:  # a deadline passed
                child.kill()
                if running is None:
                    if selected is None:
                        return f"collecting the tests took over {_seconds(self.limits.collect)}"
                    return None if all(n in self.outcomes for n in selected) else "the test process hung"
                self._charge(running, now - started)
                if self._task_time_left(running) <= 0:
                    self._fail(running, f"stopped: {self._out_of_time_message(running)}", now - started)
                else:
                    self._fail(running, f"timed out after {_seconds(self.limits.test)}", now - started)
                return "an earlier test timed out"
            for record in records:
                event = record.get("event")
                if event == "origins":
                    child.check_origins(record)
                elif event == "collect_error":
                    collect_errors[record["nodeid"]] = record["message"]
                elif event == "collection_done":
                    selected = list(record["selected"])
                    self._fail_uncollected(pending, set(selected), collect_errors)
                    deadline = now + self.limits.test
                elif event == "start" and record["nodeid"] in pending and record["nodeid"] not in self.outcomes:
                    running, started = record["nodeid"], now
                    deadline = now + max(0.0, min(self.limits.test, self._task_time_left(running)))
                elif event == "finish" and record["nodeid"] == running:
                    duration = now - started
                    self._charge(running, duration)
                    passed = record.get("outcome") == "passed"
                    self.outcomes[running] = Outcome(running, passed, "" if passed else str(record.get("message", "")), duration)
                    running = None
                    done = all(nodeid in self.outcomes for nodeid in selected or [])
                    deadline = now + (_EXIT_GRACE_S if done else self.limits.test)

    def _fail_uncollected(self, pending: list[str], selected: set[str], errors: Mapping[str, str]) -> None:
        """Tests the child could not collect fail, with their file's collection error if any."""
        for nodeid in pending:
            if nodeid in selected or nodeid in self.outcomes:
                continue
            path = nodeid.split("::")[0]
            error = next((message for where, message in errors.items() if where and path.startswith(where)), None)
            if error is None:
                error = next(iter(errors.values()), None)
            self._fail(nodeid, f"not run: collecting {path} failed:\n{error}" if error
                       else "not run: the test was not collected")
