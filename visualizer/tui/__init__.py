"""Textual app that steps through a recorded forward and backward pass (see ARCHITECTURE.md: events flow one way).

from visualizer.tui import run_app
run_app(GraphModel.from_recording(rec))     # keys: n/p step, f/b phases, x first NaN, o open a group, q quit
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import VisualizerApp
from .cursor import StepCursor

if TYPE_CHECKING:
    from minitorch.events import Recording
    from visualizer.model import GraphModel


def make_app(model: GraphModel, recording: Recording | None = None, expand: Any = None) -> VisualizerApp:
    """The app on `model` (with `recording`: its iterations too), not yet running
    (tests drive it with `run_test()`). Scopes are single steps until opened (key o, or
    `expand` as in `render`)."""
    return VisualizerApp(model, recording, expand)


def run_app(model: GraphModel, recording: Recording | None = None, expand: Any = None) -> None:
    """Open the app on `model` in the terminal; returns when the user quits."""
    make_app(model, recording, expand).run()


__all__ = ["StepCursor", "VisualizerApp", "make_app", "run_app"]
