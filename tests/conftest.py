"""Shared test set-up: task markers come from assignments/tasks.toml; hypothesis profiles;
the CUDA simulator when there is no GPU."""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings


def use_cuda_simulator_without_gpu() -> None:
    """Without an NVIDIA GPU, run the `cuda` backend on Numba's CUDA simulator.

    Only when NUMBA_ENABLE_CUDASIM is unset (whoever set it chose), and before anything
    imports numba.cuda (the simulator is chosen at that import), so the same test files
    run unchanged on a real GPU.
    """
    if "NUMBA_ENABLE_CUDASIM" in os.environ:
        return
    if shutil.which("nvidia-smi") or Path("/dev/nvidia0").exists():  # a GPU, cheaply detected
        return
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    if "numba" in sys.modules:  # numba read its config at import: make it read the variable again
        from numba.core import config

        config.reload_config()


use_cuda_simulator_without_gpu()


def lock_simulator_shared_arrays() -> None:
    """Numba's CUDA simulator gives a block's threads one shared array per source line, but
    looks it up and stores it without a lock: two threads can each make their own (np.empty),
    and the tiled matmul then reads garbage now and then. The same lookup, under a lock."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        return
    import threading

    import numpy as np
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    allocate = kernelapi.FakeCUDAShared.array
    if getattr(allocate, "locked", False):
        return
    lock = threading.Lock()

    def array(self, shape, dtype):  # type: ignore[no-untyped-def]
        if shape == 0:  # dynamic shared memory: one buffer, no lookup
            return allocate(self, shape, dtype)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        where = (caller.f_code.co_filename, caller.f_lineno)  # the simulator's key
        with lock:
            if where not in self._allocations:
                self._allocations[where] = np.empty(shape, dtype)
            return self._allocations[where]

    array.locked = True  # type: ignore[attr-defined]
    kernelapi.FakeCUDAShared.array = array


lock_simulator_shared_arrays()


@pytest.fixture(autouse=True)
def pin_default_backend_to_simple() -> None:
    """The library's default backend is `fast`; the course's tests pin it to `simple`, so a test
    that names no backend (module 2's) needs no module-3 kernels, and Numba compiles nothing extra.
    Tests of other backends pass `backend=` explicitly."""
    from minitorch import backends

    backends.set_default_backend("simple")


ROOT = Path(__file__).resolve().parent.parent
TASKS_FILE = ROOT / "assignments" / "tasks.toml"

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, max_examples=40, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def task_marker_names() -> list[str]:
    """`task0_1`, `task1_2`, ... for every task in the task list."""
    tasks = tomllib.loads(TASKS_FILE.read_text())["task"]
    return ["task" + task["id"].replace(".", "_") for task in tasks]


def pytest_configure(config) -> None:  # pytest hook
    for name in task_marker_names():
        config.addinivalue_line("markers", f"{name}: tests of assignment task {name[4:].replace('_', '.')}")


# The CUDA simulator runs every GPU thread as a Python thread: far slower than the CPU backends.
# The op suite still runs on it, with fewer hypothesis examples per test (same tests, same asserts).
CUDA_SIMULATOR_EXAMPLES = 2


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):  # pytest hook
    test = getattr(item, "obj", None)
    params = getattr(getattr(item, "callspec", None), "params", {})
    original = getattr(test, "_hypothesis_internal_use_settings", None)  # hypothesis reads it per call
    shrink = original is not None and "cuda" in params.values() and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    if shrink:
        test._hypothesis_internal_use_settings = settings(
            original, max_examples=min(original.max_examples, CUDA_SIMULATOR_EXAMPLES)
        )
    try:
        yield
    finally:
        if shrink:
            test._hypothesis_internal_use_settings = original


# A module-2 test parametrized over backends tests module 2's code only on `simple`. On `fast`
# and `cuda` it runs module 3's kernels: the kernel tests (2.3 map/zip/reduce, 2.4 matmul)
# count there for the task that writes those kernels; the others are conformance tests of the
# backend, graded by no task. So a task's points depend on its own code (assignments'
# course check verifies it), and every backend still runs every test.
BACKEND_TASKS: dict[str, dict[str, str | None]] = {
    "task2_3": {"fast": "task3_1", "cuda": "task3_3"},
    "task2_4": {"fast": "task3_2", "cuda": "task3_4"},
}
MODULE_2_TASKS = ("task2_1", "task2_2", "task2_5", "task2_6")


UNGRADED = pytest.mark.ungraded  # a case that runs only given code: it counts for no task


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:  # pytest hook
    for item in items:
        if item.get_closest_marker("ungraded") is not None:
            item.own_markers = [mark for mark in item.own_markers if not mark.name.startswith("task")]
            continue
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
        if backend not in ("fast", "cuda"):
            continue
        names = {mark.name for mark in item.iter_markers()}
        moved = {BACKEND_TASKS[n][backend] for n in names if n in BACKEND_TASKS} - {None}
        dropped = names & (set(BACKEND_TASKS) | set(MODULE_2_TASKS))
        if not dropped:
            continue
        item.own_markers = [mark for mark in item.own_markers if mark.name not in dropped]
        for name in sorted(moved - names):
            item.add_marker(name)
