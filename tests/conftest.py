"""Shared test set-up: task markers come from assignments/tasks.toml; hypothesis profiles."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
TASKS_FILE = ROOT / "assignments" / "tasks.toml"

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


def task_marker_names() -> list[str]:
    """`task0_1`, `task1_2`, ... for every task in the task list."""
    tasks = tomllib.loads(TASKS_FILE.read_text())["task"]
    return ["task" + task["id"].replace(".", "_") for task in tasks]


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest hook
    for name in task_marker_names():
        config.addinivalue_line("markers", f"{name}: tests of assignment task {name[4:].replace('_', '.')}")
