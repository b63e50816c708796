"""minitorch's visual debugger: see a computation graph, its gradients and kernel timings.

    from visualizer import render, save, show, Stepper, GraphModel
    render(loss)                  # Graphviz drawing (inline in Jupyter)
    save(render(loss), "loss.svg")
    show(loss)                    # the Textual app: step through forward and backward
    Stepper(GraphModel.from_value(loss)).next()   # the same steps as text

Everything draws from a `GraphModel`, built from a live Scalar/Tensor or a
`minitorch.Recording`. The engine never imports this package.
"""

from __future__ import annotations

from typing import Any

from .dot import GraphvizNotInstalled, render, save, to_svg
from .model import GraphModel, NodeView, Stepper, StepView, step_text


def show(x: Any) -> None:
    """Open the Textual app on `x`: a Scalar, a Tensor, a Recording or a GraphModel."""
    try:
        from .tui import run_app  # imported here: Textual loads only when the app opens
    except ImportError as err:
        raise ImportError(
            f"show: the terminal app is not available ({err}); install it with `pip install minitorch[viz]`"
        ) from err
    from .dot import as_model

    run_app(as_model(x))


__all__ = [
    "GraphModel",
    "GraphvizNotInstalled",
    "NodeView",
    "StepView",
    "Stepper",
    "render",
    "save",
    "show",
    "step_text",
    "to_svg",
]
