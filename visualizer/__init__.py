"""minitorch's visual debugger: see a computation graph, its gradients and kernel timings.

    from visualizer import render, save, show, Stepper, GraphModel
    render(loss)                  # Graphviz drawing (inline in Jupyter)
    save(render(loss), "loss.svg")
    show(loss)                    # the Textual app: step through forward and backward
    Stepper(GraphModel.from_value(loss)).next()   # the same steps as text
    render(ir_graph)              # a graph-mode IR graph; render(after, before=before) for a pass
    render(rec, iteration=3)      # one training iteration of a recording (default: the last)

Everything draws from a `GraphModel`, built from a live Scalar/Tensor or a
`minitorch.Recording`. The engine never imports this package.
"""

from __future__ import annotations

from typing import Any

from .dot import GraphTooLarge, GraphvizNotInstalled, render, save, to_svg
from .model import GraphModel, NodeView, Stepper, StepView, step_text


def show(x: Any) -> None:
    """Open the Textual app on `x`: a Scalar, a Tensor, a Recording or a GraphModel."""
    try:
        from .tui import run_app  # imported here: Textual loads only when the app opens
    except ImportError as err:
        raise ImportError(
            f"show: the terminal app is not available ({err}); install it with `pip install minitorch[viz]`"
        ) from err
    from minitorch.events import Recording

    from .dot import as_model

    if isinstance(x, Recording) and (x.iterations or x.error):
        run_app(as_model(x.iteration_recording(-1) if x.iterations else x), recording=x)
    else:
        run_app(as_model(x))


__all__ = [
    "GraphModel",
    "GraphTooLarge",
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
