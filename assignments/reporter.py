"""pytest plugin that the grader loads into its child pytest process (`-p`).

It reports to the grader over a pipe, one JSON record per line. The grader scores only from
these records, never from the child's output or exit status. This file is copied next to the
workspace under a name of its own, so it imports nothing but the standard library and pytest.

Settings come from environment variables, read and removed when pytest loads the plugin
(before any test or student code runs):

* MINITORCH_GRADER_FD: the pipe's write end (a file descriptor number).
* MINITORCH_GRADER_TOKEN: a random string every record carries, so stray writes don't count.
* MINITORCH_GRADER_MODE: "collect" (report every test and its markers) or "run".
* MINITORCH_GRADER_PLAN: run mode: a JSON file {"tests": node ids in running order,
  "tasks": node id -> task ids, "fail_fast": bool}. With fail_fast, a test whose tasks all
  have a failing test already is skipped (it fails without running).
* MINITORCH_GRADER_PACKAGES: comma-separated packages whose origin to report.
* MINITORCH_GRADER_SHRINK: "0" turns off Hypothesis's shrink and explain phases. A failing
  Hypothesis test then fails as soon as it finds a failing example, instead of spending up
  to tens of seconds minimising it. Pass or fail stays the same; only the example in the
  message is less tidy (running the test locally shows the minimal one).

* MINITORCH_GRADER_SEED: the seed of Python's, numpy's and Hypothesis's random numbers, set
  before every test, so that the student's and the reference's processes see the same inputs.
* MINITORCH_GRADER_MAX_EXAMPLES: if set and not 0, Hypothesis tries at most this many examples
  per test (the leave-one-out course check uses a small number).
* MINITORCH_GRADER_TESTS: comma-separated directories of test code; MINITORCH_GRADER_CODE:
  comma-separated directories of graded code. Every call from the first into the second is a
  *value*: the function's name and what it returned (or the type of error it raised), in a
  canonical form (numbers, lists, arrays as shape and numbers; an object by its `numpy()` or
  its numeric `data`, else its class name). A finish record carries the test's values; the
  grader compares them with the reference's, so a test passes only where the code computed
  the reference's answers (see values.py).

Numba's compiler runs without the value tracer (it only slowed it down), and failure reports
are pytest's `--tb=short` text built one line per frame (`_short_report`): both were most of
a grading's time.

Records: origins (at start and after collection), collect_error, item (collect mode),
collection_done, start, finish.
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import os
import sys
import time
import traceback
from collections.abc import Callable

import pytest

_FD = int(os.environ.pop("MINITORCH_GRADER_FD"))
_TOKEN = os.environ.pop("MINITORCH_GRADER_TOKEN")
_MODE = os.environ.pop("MINITORCH_GRADER_MODE")
_PLAN_FILE = os.environ.pop("MINITORCH_GRADER_PLAN", "")
_PACKAGES = [p for p in os.environ.pop("MINITORCH_GRADER_PACKAGES", "").split(",") if p]
_SHRINK = os.environ.pop("MINITORCH_GRADER_SHRINK", "1") != "0"
_SEED = int(os.environ.pop("MINITORCH_GRADER_SEED", "0"))
_MAX_EXAMPLES = int(os.environ.pop("MINITORCH_GRADER_MAX_EXAMPLES", "0") or 0)
_TEST_DIRS = tuple(d.rstrip("/") + "/" for d in os.environ.pop("MINITORCH_GRADER_TESTS", "").split(",") if d)
_CODE_DIRS = tuple(d.rstrip("/") + "/" for d in os.environ.pop("MINITORCH_GRADER_CODE", "").split(",") if d)
_MAX_MESSAGE = 4000  # characters of a failure message worth sending
_MAX_VALUES = 2000  # values recorded per test (both processes stop at the same count)
_MAX_ITEMS = 256  # items of one list or array in a value

_plan: dict = {"tests": [], "tasks": {}, "fail_fast": False}
_failed_tasks: set[str] = set()  # tasks with a failing test (for fail_fast)
_current: dict[str, object] = {}  # the running test: its phases are reported together


def _send(event: str, **fields: object) -> None:
    """Write one record to the pipe."""
    data = (json.dumps({"token": _TOKEN, "event": event, **fields}) + "\n").encode()
    while data:
        data = data[os.write(_FD, data) :]


def _origin(package: str) -> str | None:
    """Where `import package` would load from, found without running the package's code."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin or next(iter(spec.submodule_search_locations or []), None)


def _send_origins() -> None:
    """Where the graded packages come from: before any of their code runs, and once imported."""
    origins = {}
    for package in _PACKAGES:
        module = sys.modules.get(package)
        if module is None:
            origins[package] = _origin(package)
        else:  # a namespace package has no __file__, only __path__
            paths = list(getattr(module, "__path__", []))
            origins[package] = getattr(module, "__file__", None) or (paths[0] if paths else None)
    _send("origins", origins=origins)


_send_origins()


# -- values: what the graded code returned to the tests ---------------------------------------

_values: list[list] = []  # [function name, canonical value] of the running test
_kinds: dict[object, int] = {}  # code object -> 1 test code, 2 graded code, 0 other
_raised: dict[object, str] = {}  # frame -> type of the exception passing through it


def _kind(code) -> int:  # a code object
    kind = _kinds.get(code)
    if kind is None:
        name = code.co_filename
        kind = 1 if name.startswith(_TEST_DIRS) else 2 if name.startswith(_CODE_DIRS) else 0
        _kinds[code] = kind
    return kind


def _canon(value: object, depth: int = 0) -> object:
    """A JSON-able form of `value` that two implementations computing the same thing share."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:200]
    if depth > 4:
        return "<" + type(value).__name__ + ">"
    if hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "ravel"):  # numpy
        flat = value.ravel()[:_MAX_ITEMS].tolist()
        return {"shape": list(value.shape), "values": flat} if value.shape else flat[0]
    if isinstance(value, list | tuple):
        items = [_canon(item, depth + 1) for item in value[:_MAX_ITEMS]]
        if items and all(isinstance(item, dict) for item in items):  # objects: order may differ
            items.sort(key=lambda item: json.dumps(item, sort_keys=True, default=str))
        return items
    if isinstance(value, dict):
        return {str(k): _canon(v, depth + 1) for k, v in list(value.items())[:_MAX_ITEMS]}
    numpy = getattr(type(value), "numpy", None)
    if callable(numpy) and hasattr(value, "shape"):
        try:
            return {"object": type(value).__name__, "value": _canon(numpy(value), depth + 1)}
        except Exception as error:  # the student's code may raise anything
            return {"object": type(value).__name__, "error": type(error).__name__}
    data = getattr(value, "data", None)
    if isinstance(data, int | float) and not isinstance(data, bool):
        return {"object": type(value).__name__, "value": data}
    return "<" + type(value).__name__ + ">"


def _local_trace(frame, event: str, arg: object):  # sys.settrace's protocol
    if event == "exception":
        _raised[frame] = arg[0].__name__  # type: ignore[index]
    elif event == "return":
        error = _raised.pop(frame, None)
        if len(_values) < _MAX_VALUES:
            value = {"raised": error} if error is not None and arg is None else _canon(arg)
            _values.append([frame.f_code.co_qualname, value])
    return _local_trace


def _global_trace(frame, event: str, arg: object):
    """Trace a call of graded code made by test code; ignore every other call."""
    if _kind(frame.f_code) != 2:
        return None
    caller = frame.f_back
    if caller is None or _kind(caller.f_code) != 1:
        return None
    frame.f_trace_lines = False
    return _local_trace


def _untraced(function: Callable[..., object]) -> Callable[..., object]:
    """`function`, run without the value tracer."""

    def call(*args: object, **kwargs: object) -> object:
        tracer = sys.gettrace()
        sys.settrace(None)
        try:
            return function(*args, **kwargs)
        finally:
            sys.settrace(tracer)

    return call


def _untrace_numba_compiler() -> None:
    """Numba's compiler runs untraced: it is Python (tens of seconds for a parallel kernel), and
    the tracer's check on each of its calls made it 2-3 times slower. A value is a test's call
    into graded code; the compiler makes no such call, so the values are the same."""
    dispatcher = sys.modules.get("numba.core.dispatcher")
    base = getattr(dispatcher, "_DispatcherBase", None)
    if base is not None:  # once per process: collection runs once
        base._compile_for_args = _untraced(base._compile_for_args)


def _seed() -> None:
    """The same random numbers in the student's and the reference's process, whichever tests
    ran before: Python's, numpy's legacy generator and minitorch's global generator."""
    import random

    random.seed(_SEED)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(_SEED)
    manual_seed = getattr(sys.modules.get("minitorch"), "manual_seed", None)
    if callable(manual_seed):
        manual_seed(_SEED)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Seed before the fixtures too; fail_fast: skip a test whose tasks have all failed already."""
    _seed()
    tasks = _plan["tasks"].get(item.nodeid, [])
    if _plan["fail_fast"] and tasks and _failed_tasks.issuperset(tasks):
        _current["problem"] = f"not run: task {', '.join(tasks)} already failed (fail-fast)"
        pytest.skip("fail-fast")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Record the values of the test's call phase (not of fixtures)."""
    _seed()
    _values.clear()
    _raised.clear()
    restore = _cap_examples(item)
    if _CODE_DIRS and _TEST_DIRS:
        sys.settrace(_global_trace)
    try:
        yield
    finally:
        sys.settrace(None)
        restore()


def _cap_examples(item: pytest.Item):
    """MAX_EXAMPLES caps a Hypothesis test's examples even where its own @settings ask for more
    (the profile only sets the default). Returns the function that undoes it."""
    test = getattr(item, "obj", None)
    original = getattr(test, "_hypothesis_internal_use_settings", None)  # Hypothesis reads it per call
    if not _MAX_EXAMPLES or original is None or original.max_examples <= _MAX_EXAMPLES:
        return lambda: None
    import hypothesis

    test._hypothesis_internal_use_settings = hypothesis.settings(original, max_examples=_MAX_EXAMPLES)  # type: ignore[union-attr]
    return lambda: setattr(test, "_hypothesis_internal_use_settings", original)


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The readable part of a report: the traceback, or a skip's reason."""
    if isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
        return str(report.longrepr[2])
    text = report.longreprtext or ""
    return text if len(text) <= _MAX_MESSAGE else "...\n" + text[-_MAX_MESSAGE:]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """After conftest chose a Hypothesis profile: the same profile, without shrinking."""
    hypothesis = sys.modules.get("hypothesis")  # only if the tests' set-up imported it
    if hypothesis is None:
        return
    import hypothesis.core

    hypothesis.core.global_force_seed = _SEED  # what --hypothesis-seed does
    current = hypothesis.settings.default
    skip = set() if _SHRINK else {hypothesis.Phase.shrink, hypothesis.Phase.explain}
    phases = [phase for phase in current.phases if phase not in skip]
    examples = min(current.max_examples, _MAX_EXAMPLES) if _MAX_EXAMPLES else current.max_examples
    hypothesis.settings.register_profile(
        "minitorch-grader", parent=current, phases=phases, database=None, max_examples=examples
    )
    hypothesis.settings.load_profile("minitorch-grader")


# -- failure reports ---------------------------------------------------------------------------

_CHAIN = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)


def _report_cheaply(item: pytest.Item) -> None:
    """Make `item`'s failure report `_short_report`, except pytest's own errors (a missing
    fixture, `pytest.fail`) and exception groups, which keep pytest's report."""
    original = item.repr_failure

    def repr_failure(excinfo: pytest.ExceptionInfo[BaseException], *args: object) -> object:
        error = excinfo.value
        if isinstance(error, BaseExceptionGroup) or type(error).__module__.startswith("_pytest"):
            return original(excinfo, *args)  # type: ignore[arg-type]
        return _short_report(item, excinfo)

    item.repr_failure = repr_failure  # type: ignore[method-assign,assignment]


def _short_report(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """What `--tb=short` prints: each frame as `path:line: in name` and its line, then the
    error's `E` lines; a chain of exceptions starts with the first cause, as in pytest.

    pytest's own report finds each frame's whole statement by parsing and walking its file's
    syntax tree, once per frame and report (and Hypothesis reports a failure twice), though the
    short style prints one line: that was most of a grading's time where every test fails.
    """
    error = excinfo.value
    text, seen = _frames_and_error(item, error), {id(error)}
    while True:
        if error.__cause__ is not None:
            error, link = error.__cause__, _CHAIN[0]
        elif error.__context__ is not None and not error.__suppress_context__:
            error, link = error.__context__, _CHAIN[1]
        else:
            return text
        if id(error) in seen:
            return text
        seen.add(id(error))
        text = f"{_frames_and_error(item, error)}\n\n{link}\n{text}"


def _frames_and_error(item: pytest.Item, error: BaseException) -> str:
    """One exception: its frames (cut to the test's, as pytest does) and its `E` lines."""
    lines = []
    if error.__traceback__ is not None:
        excinfo = pytest.ExceptionInfo.from_exception(error)
        cut = getattr(item, "_traceback_filter", None)  # pytest's: from the test function on
        for entry in cut(excinfo) if callable(cut) else excinfo.traceback:
            where = str(entry.path)
            try:
                where = os.path.relpath(where)
            except ValueError:
                pass
            lines.append(f"{where}:{entry.lineno + 1}: in {entry.name}")
            lines.append("    " + linecache.getline(str(entry.path), entry.lineno + 1).strip())
        text = excinfo.exconly(tryshort=True)
    else:
        text = "".join(traceback.format_exception_only(type(error), error)).rstrip()
    return "\n".join(lines + ["E   " + line for line in text.splitlines()])


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _send("collect_error", nodeid=report.nodeid, message=_message(report))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _MODE == "collect":
        for item in items:
            marker = item.get_closest_marker("visibility")  # @pytest.mark.visibility("hidden")
            visibility = str(marker.args[0]) if marker is not None and marker.args else ""
            _send(
                "item", nodeid=item.nodeid, markers=sorted({m.name for m in item.iter_markers()}), visibility=visibility
            )
        _send_origins()
        _send("collection_done", selected=[])
        return
    # Run mode: keep the planned tests, in the planned order (the grader groups them by task).
    with open(_PLAN_FILE, encoding="utf-8") as file:
        _plan.update(json.load(file))
    order = {nodeid: n for n, nodeid in enumerate(_plan["tests"])}
    keep = sorted((item for item in items if item.nodeid in order), key=lambda i: order[i.nodeid])
    dropped = [item for item in items if item.nodeid not in order]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
    for item in keep:
        _report_cheaply(item)
    _untrace_numba_compiler()  # the tests' modules have imported numba by now, if they use it
    _send_origins()
    _send("collection_done", selected=[item.nodeid for item in keep])


def pytest_runtest_logstart(nodeid: str) -> None:
    _current.clear()
    _values.clear()
    _current.update(nodeid=nodeid, start=time.monotonic(), call_passed=False, problem=None)
    _send("start", nodeid=nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid != _current.get("nodeid"):
        return
    if report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
        _current["call_passed"] = True
    elif (report.failed or report.skipped) and _current["problem"] is None:
        kind = "skipped" if report.skipped else f"failed ({report.when})"
        if hasattr(report, "wasxfail"):
            kind = "expected to fail (xfail)"
        _current["problem"] = f"{kind}: {_message(report)}"


def pytest_runtest_logfinish(nodeid: str) -> None:
    if nodeid != _current.get("nodeid"):
        return
    passed = bool(_current["call_passed"]) and _current["problem"] is None
    if not passed:
        _failed_tasks.update(_plan["tasks"].get(nodeid, []))
    start = _current["start"]
    assert isinstance(start, float)  # time.monotonic(), set by pytest_runtest_logstart
    _send(
        "finish",
        nodeid=nodeid,
        outcome="passed" if passed else "failed",
        message="" if passed else str(_current["problem"] or "did not run"),
        values=_values if passed else [],
        duration=time.monotonic() - start,
    )
