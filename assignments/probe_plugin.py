"""pytest plugin of the course check's probe run (course_check.py): which task's code each test runs.

The probe tree is the reference with a `__minitorch_probe__("m.n")` call at the top of every
marked region (student.py, mode "probe"). This plugin defines that builtin, clears the set of
tasks hit when a test starts and keeps it when the test ends, with the test's outcome; at the
end it writes {node id: {"tasks": [...], "passed": bool}} as JSON to MINITORCH_PROBE_OUT.
MINITORCH_PROBE_MAX_EXAMPLES (if not 0) caps Hypothesis's examples per test, decorators included.
MINITORCH_PROBE_SECONDS (default 20) stops a test that runs longer (a training run without the
JIT): its first steps have run every region it reaches, and the probe keeps what they hit.
It imports nothing but the standard library and pytest: it is loaded by module name (`-p`).
"""

from __future__ import annotations

import builtins
import json
import os
import signal

import pytest

_OUT = os.environ["MINITORCH_PROBE_OUT"]
_MAX_EXAMPLES = int(os.environ.get("MINITORCH_PROBE_MAX_EXAMPLES", "0") or 0)
_SECONDS = float(os.environ.get("MINITORCH_PROBE_SECONDS", "20"))
_hits: set[str] = set()
_passed: dict[str, bool] = {}
_found: dict[str, dict] = {}
builtins.__minitorch_probe__ = _hits.add  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The same Hypothesis examples every run (as the grader: seed 0), so the map is stable."""
    import hypothesis.core

    hypothesis.core.global_force_seed = 0  # type: ignore[assignment]


def pytest_runtest_logstart(nodeid: str) -> None:
    _hits.clear()
    _passed[nodeid] = True


class ProbeTimeUp(Exception):
    """A test ran past MINITORCH_PROBE_SECONDS."""


def _time_up(signum: int, frame: object) -> None:
    raise ProbeTimeUp(f"stopped by the probe after {_SECONDS:g} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Stop the test after _SECONDS; cap its Hypothesis examples, whatever its settings say."""
    previous = signal.signal(signal.SIGALRM, _time_up)
    signal.setitimer(signal.ITIMER_REAL, _SECONDS, 1.0)  # and every second after: replays stop too
    try:
        yield from _capped(item)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _capped(item: pytest.Item):
    test = getattr(item, "obj", None)
    original = getattr(test, "_hypothesis_internal_use_settings", None)
    if _MAX_EXAMPLES and original is not None and original.max_examples > _MAX_EXAMPLES:
        import hypothesis

        test._hypothesis_internal_use_settings = hypothesis.settings(original, max_examples=_MAX_EXAMPLES)  # type: ignore[union-attr]
        try:
            yield
        finally:
            test._hypothesis_internal_use_settings = original  # type: ignore[union-attr]
    else:
        yield


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed or (report.when == "call" and report.skipped):
        _passed[report.nodeid] = False


def pytest_runtest_logfinish(nodeid: str) -> None:
    _found[nodeid] = {"tasks": sorted(_hits), "passed": _passed.get(nodeid, False)}


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(_OUT, "w", encoding="utf-8") as file:
        json.dump(_found, file)
