"""Every way a submission has scored without the work, tried on the fake reference repository.

Each attack is aimed at task 0.1 (`add`); it must earn 0 there and leave nothing behind: no
file outside its workspace, no process. Attacks on the sandbox (reading the reference, the
grader's files, /proc of the grader) are defended only when the grader runs as root (CI,
Gradescope); as another user, the grader cannot make a second user to run the code as.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import pytest

from assignments.sandbox import SANDBOX_USER, Limits, _processes
from tests.test_assignments import earned, messages, reference, run_grade, write_package

__all__ = ["reference"]  # the fixture, used by name

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user exists only when grading as root")


def sandbox_processes() -> list[int]:
    """Processes of the sandbox user, or (as another user) our own children."""
    if os.geteuid() == 0:
        import pwd

        try:
            uid = pwd.getpwnam(SANDBOX_USER).pw_uid
        except KeyError:
            return []
        return [pid for pid, _, owner, state in _processes() if owner == uid and not state.startswith("Z")]
    return [pid for pid, ppid, _, state in _processes() if ppid == os.getpid() and not state.startswith("Z")]


def steal(paths: str) -> str:
    """The body of `add` that tries to run the reference's `add` from one of `paths` (a Python
    expression of a list of files), and otherwise returns 0."""
    return f"""\
import glob, os
for pattern in {paths}:
    for path in glob.glob(pattern):
        try:
            source = open(path).read()
        except OSError:
            continue
        namespace = {{}}
        exec(source.replace("def add", "def _ref_add"), namespace)
        if "_ref_add" in namespace:
            return namespace["_ref_add"](a, b)
return 0
"""


def test_deleted_module_file_is_stubbed_and_earns_nothing(reference: Path, tmp_path: Path) -> None:
    student = write_package(tmp_path / "student")
    (student / "toypkg" / "ops.py").unlink()
    report = run_grade(reference, student)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert "NotImplementedError: Task 0.1: Add" in messages(report, "0.1")[0]


def test_symlink_to_the_reference_is_refused(reference: Path, tmp_path: Path) -> None:
    student = write_package(tmp_path / "student")
    (student / "toypkg" / "ops.py").unlink()
    (student / "toypkg" / "ops.py").symlink_to(reference / "toypkg" / "ops.py")
    report = run_grade(reference, student)
    assert earned(report) == {"0.1": 0, "0.2": 0}
    assert "symlinks are not accepted" in report.task("0.1").output()
    assert "toypkg/ops.py" in report.task("0.1").output()


@AS_ROOT
@pytest.mark.parametrize("where", ["grader's workspace", "reference checkout", "/proc of the grader"])
def test_reading_the_reference_earns_nothing(reference: Path, tmp_path: Path, where: str) -> None:
    paths = {
        "grader's workspace": '["/tmp/minitorch-grade-*/*/toypkg/ops.py"]',
        "reference checkout": repr([str(reference / "toypkg" / "ops.py")]),
        "/proc of the grader": (
            '[f"/proc/{os.getppid()}/cwd/toypkg/ops.py", f"/proc/{os.getppid()}/root/tmp/minitorch-grade-*/reference'
            '/toypkg/ops.py"] + [f"/proc/{os.getppid()}/root" + p + "/toypkg/ops.py" for p in '
            'open(f"/proc/{os.getppid()}/cmdline").read().split("\\0")]'
        ),
    }[where]
    report = run_grade(reference, write_package(tmp_path / "student", add=steal(paths)))
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert "assert 0 == 3" in messages(report, "0.1")[0]  # nothing was readable


FORGE_RECORDS = """\
import sys
_reporter = sys.modules.get("_minitorch_grader_reporter")
if _reporter is not None:
    _send = _reporter._send

    def _forged(event, **fields):
        if event == "finish":
            fields.update(outcome="passed", message="")
        _send(event, **fields)

    _reporter._send = _forged
"""
FORGE_PLUGIN = """\
import gc
import pytest


class _AllPassed:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome, report.longrepr = "passed", None


for _config in [o for o in gc.get_objects() if type(o).__name__ == "Config"]:
    _config.pluginmanager.register(_AllPassed())
"""


@pytest.mark.parametrize("forgery", [FORGE_RECORDS, FORGE_PLUGIN], ids=["patches the reporter", "pytest plugin"])
def test_marking_every_test_passed_earns_nothing(reference: Path, tmp_path: Path, forgery: str) -> None:
    student = write_package(tmp_path / "student", add="return 0", init_prefix=forgery)
    report = run_grade(reference, student)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}


@AS_ROOT
def test_files_written_outside_the_workspace_are_deleted(reference: Path, tmp_path: Path) -> None:
    token = secrets.token_hex(6)
    targets = [f"/tmp/attack-{token}", f"/var/tmp/attack-{token}", f"/dev/shm/attack-{token}/x"]
    body = f"""\
import os
for target in {targets!r}:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    open(target, "w").write("left behind")
return 0
"""
    report = run_grade(reference, write_package(tmp_path / "student", add=body))
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert not [target for target in targets if os.path.exists(target)]
    assert not os.path.exists(f"/dev/shm/attack-{token}")
    assert any("deleted" in line for line in report.left_behind)


def test_double_forked_daemon_is_killed(reference: Path, tmp_path: Path) -> None:
    json_path = tmp_path / "results.json"
    body = f"""\
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3)
        open({str(json_path)!r}, "w").write('{{"score": 1000}}')
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
return 0
"""
    report = run_grade(reference, write_package(tmp_path / "student", add=body), json_path=json_path)
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert not sandbox_processes()
    time.sleep(4)
    assert json.loads(json_path.read_text())["score"] == 6


RUNAWAYS = {
    "allocates 64 GiB": ("x = bytearray(64 << 30)\nreturn 0", "MemoryError"),
    "floods its output": ("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", "File too large"),
    "writes a huge file": ("f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * 65536)", "File too large"),
    "spins on the CPU": ("while True:\n    pass", "timed out after 3 s"),
}


@pytest.mark.parametrize("runaway", list(RUNAWAYS))
def test_runaway_code_fails_its_test_clearly(reference: Path, tmp_path: Path, runaway: str) -> None:
    body, expected = RUNAWAYS[runaway]
    limits = Limits(memory_bytes=8 << 30, file_bytes=1 << 20)
    report = run_grade(reference, write_package(tmp_path / "student", add=body), timeout_test=3, limits=limits)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert expected in messages(report, "0.1")[0]
    assert not sandbox_processes()


@AS_ROOT
def test_fork_bomb_is_contained(reference: Path, tmp_path: Path) -> None:
    body = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    limits = Limits(processes=64)
    report = run_grade(reference, write_package(tmp_path / "student", add=body), timeout_test=3, limits=limits)
    assert report.ok, report.errors
    assert earned(report) == {"0.1": 0, "0.2": 6}
    assert not sandbox_processes()


def test_same_submission_same_score(reference: Path, tmp_path: Path) -> None:
    """A submission right on some random inputs only: two gradings agree, and say the seed."""
    body = "import random\nreturn a + b if random.random() < 0.5 else 0"
    student = write_package(tmp_path / "student", add=body)
    first, second = run_grade(reference, student), run_grade(reference, student)
    assert [o.passed for o in first.task("0.1").outcomes] == [o.passed for o in second.task("0.1").outcomes]
    assert first.score == second.score
    assert "seed 0" in first.summary()


@AS_ROOT
def test_a_killed_grading_gives_the_reference_back(tmp_path: Path) -> None:
    """`protect` journals the modes it changes: a grading killed by SIGKILL (no `finally` runs)
    is undone when the next grading starts."""
    import signal
    import subprocess
    import sys

    from assignments.sandbox import make_sandbox, protect, restore_interrupted

    entry = tmp_path / "reference-entry"
    entry.mkdir(mode=0o755)
    os.chmod(entry, 0o755)
    script = (  # as the grader does: protect while holding the gradings' lock
        "import time\nfrom pathlib import Path\nfrom assignments.sandbox import Limits, make_sandbox, protect\n"
        "with make_sandbox(Limits()).exclusive(), "
        f"protect([Path({str(entry)!r})]):\n    print('in', flush=True)\n    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "in"
    assert entry.stat().st_mode & 0o777 == 0o700  # root-only while grading runs
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert entry.stat().st_mode & 0o777 == 0o700  # the killed grading could not restore it
    with make_sandbox(Limits()).exclusive():
        assert str(entry) in restore_interrupted()
        assert entry.stat().st_mode & 0o777 == 0o755
        with protect([entry]):  # a new grading works as before
            assert entry.stat().st_mode & 0o777 == 0o700
    assert entry.stat().st_mode & 0o777 == 0o755 and restore_interrupted() == []
