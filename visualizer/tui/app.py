"""The step-through debugger: graph tree, node detail, chain rule, kernel timings, event log.

Stepping changes only the StepCursor and the panels that show it: the tree is never rebuilt
(it only moves its cursor to the current node), the run's kernel table is filled once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Input, RichLog, Static, Tree

from visualizer.groups import ScopePath, collapse, opened_scopes, scope_paths
from visualizer.model import GraphModel
from visualizer.timeline import kernel_timeline, series_lines

from . import texts
from .cursor import StepCursor
from .graph_tree import GraphTree

if TYPE_CHECKING:
    from minitorch.events import Recording
    from visualizer.model import StepView

LOG_TAIL = 200  # steps the event log keeps on screen
EXPAND_ALL_LIMIT = 2000  # above this many nodes, "expand all" opens modules but not node lists


class VisualizerApp(App[None]):
    """Step through a recorded forward and backward pass."""

    TITLE = "minitorch visualizer"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_step", "Next"),
        Binding("right", "next_step", "Next", show=False),
        Binding("p", "prev_step", "Prev"),
        Binding("left", "prev_step", "Prev", show=False),
        Binding("f", "forward_start", "Forward"),
        Binding("b", "backward_start", "Backward"),
        Binding("x", "first_nonfinite", "NaN/Inf"),
        Binding("o", "toggle_group", "Open/close group"),
        Binding("e", "expand_all", "Expand all"),
        Binding("c", "collapse_all", "Collapse all"),
        Binding("[", "prev_iteration", "Prev iter"),
        Binding("]", "next_iteration", "Next iter"),
        Binding("g", "ask_iteration", "Go to iter"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, model: GraphModel, recording: Recording | None = None, expand: Any = None) -> None:
        super().__init__()
        self.full_model = model  # every op; `model` is what is shown, scopes not opened collapsed
        self.opened: set[ScopePath] = opened_scopes(model, expand)
        model = self.model = collapse(model, self.opened)
        self.recording = recording
        self.iterations = recording.iterations if recording is not None else []
        self.iteration: int | None = len(self.iterations) - 1 if self.iterations else None
        failed = recording is not None and recording.error is not None
        self.cursor = StepCursor(len(model.steps), index=len(model.steps) - 1 if failed else 0)
        self.profile = texts.profile_of(model)
        self._logged_up_to: int | None = None  # last step written to the event log

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield GraphTree(self.model, id="graph")
            with Vertical(id="right"):
                with Horizontal(id="top"):
                    yield Static(id="detail", markup=False)
                    yield Static(id="chain", markup=False)
                yield DataTable(id="op-kernels", cursor_type="none", zebra_stripes=True)
                yield DataTable(id="run-kernels", cursor_type="none", zebra_stripes=True)
                yield Static(id="timeline", markup=False)
                if self.iterations:
                    with Horizontal(id="over-time"):
                        yield Static(id="series", markup=False)
                        yield Static(id="health", markup=False)
                if self.recording is not None and self.recording.error:
                    yield Static(self.recording.error.rstrip(), id="error", markup=False)
                yield RichLog(id="log", max_lines=LOG_TAIL, wrap=False)
        yield Input(id="goto", placeholder="iteration number, then Enter")
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "#graph": "graph",
            "#detail": "node",
            "#chain": "chain rule",
            "#op-kernels": "kernels of this step",
            "#run-kernels": "kernels, whole run",
            "#timeline": "kernel timeline",
            "#log": "steps",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        for selector in ("#op-kernels", "#run-kernels", "#log"):
            self.query_one(selector).can_focus = False  # arrows stay with the tree and the steps
        self.query_one("#run-kernels", DataTable).add_columns(*texts.RUN_KERNEL_COLUMNS)
        self.query_one("#op-kernels", DataTable).add_columns(*texts.STEP_KERNEL_COLUMNS)
        self.query_one("#goto", Input).display = False
        if self.recording is not None and self.recording.error:
            self.query_one("#error").border_title = "the script raised here"
            self.notify("the script raised: opened on its last recorded step", severity="error")
        self.show_run()
        self.query_one("#graph", GraphTree).focus()
        self.show_step()

    def show_run(self) -> None:
        """The panels that depend on the model only: whole-run kernels, timeline, health."""
        run_table = self.query_one("#run-kernels", DataTable)
        run_table.clear()
        run_table.add_rows(texts.run_kernel_rows(self.profile))
        self.query_one("#timeline", Static).update(Text("\n".join(kernel_timeline(self.model.kernels))))
        if self.iteration is not None and self.recording is not None:
            first = self.recording.first_nonfinite_iteration()
            health = self.query_one("#health", Static)
            health.border_title = f"gradient health, iteration {self.iteration}"
            lines = texts.health_lines(self.recording, self.iteration)
            if first is not None:
                lines.append(f"⚠ first NaN/Inf in iteration {first}")
            health.update(styled(lines))

    # ## Iterations: each is its own graph; the scrubber swaps the model

    async def action_prev_iteration(self) -> None:
        if self.iteration is not None:
            await self.goto_iteration(self.iteration - 1)

    async def action_next_iteration(self) -> None:
        if self.iteration is not None:
            await self.goto_iteration(self.iteration + 1)

    def action_ask_iteration(self) -> None:
        if self.iteration is None:
            self.notify("this recording has no iterations")
            return
        field = self.query_one("#goto", Input)
        field.display = True
        field.focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        event.input.value, text = "", event.value.strip()
        self.query_one("#graph", GraphTree).focus()
        if text.lstrip("-").isdigit():
            await self.goto_iteration(int(text))
        else:
            self.notify(f"not an iteration number: {text!r}")

    async def goto_iteration(self, index: int) -> None:
        """Show iteration `index` (clamped into the recording), at the same step number."""
        if self.recording is None or self.iteration is None:
            return
        index = min(max(index, 0), len(self.iterations) - 1)
        if index == self.iteration:
            return
        self.iteration = index
        self.full_model = GraphModel.from_recording(self.recording.iteration_recording(index))
        self.model = collapse(self.full_model, self.opened)
        self.profile = texts.profile_of(self.model)
        self.cursor = StepCursor(len(self.model.steps), self.cursor.index or 0)
        await self.remount_tree()
        self.show_run()
        self.show_step()

    async def remount_tree(self) -> None:
        """A new tree for a new model (another iteration, or a group opened or closed)."""
        await self.query_one("#graph", GraphTree).remove()
        tree = GraphTree(self.model, id="graph")
        await self.query_one("#main").mount(tree, before=0)
        tree.border_title = "graph"
        tree.focus()
        self._logged_up_to = None

    # ## Groups: a scope (module, loss, composite op) is one node and one step until opened

    async def action_toggle_group(self) -> None:
        """Open the group at the current step; inside an opened one, close the innermost."""
        step = self.step
        node = None if step is None else self.model.nodes.get(step.node)
        if node is None or (node.group is None and not node.scope):
            self.notify("this step is not inside a group")
            return
        if node.group is not None:
            opened = self.opened | {node.group.path}
        else:
            inner = tuple(node.scope)
            opened = {path for path in self.opened if path[: len(inner)] != inner}
        await self.show_groups(opened)

    async def show_groups(self, opened: set[ScopePath]) -> None:
        """Show the view with `opened` open, staying at the step that holds the current one."""
        if opened == self.opened:
            return
        source = self.step.sources[0] if self.step is not None and self.step.sources else 0
        self.opened = opened
        self.model = collapse(self.full_model, opened)
        index = next((s.index for s in self.model.steps if source in s.sources), 0)
        self.cursor = StepCursor(len(self.model.steps), index)
        await self.remount_tree()
        self.show_step()

    # ## Actions: each moves the cursor, then shows the step if it changed

    def action_next_step(self) -> None:
        if self.cursor.next():
            self.show_step()

    def action_prev_step(self) -> None:
        if self.cursor.prev():
            self.show_step()

    def action_forward_start(self) -> None:
        self.jump(self.model.phase_start("forward"), "no forward steps in this run")

    def action_backward_start(self) -> None:
        self.jump(self.model.phase_start("backward"), "no backward steps in this run")

    def action_first_nonfinite(self) -> None:
        self.jump(self.model.first_nonfinite_step(), "no NaN or Inf in this run")

    async def action_expand_all(self) -> None:
        """Open every group, then expand the whole tree."""
        await self.show_groups(set(scope_paths(self.full_model)))
        if not self.query_one("#graph", GraphTree).expand_everything(EXPAND_ALL_LIMIT):
            self.notify(f"more than {EXPAND_ALL_LIMIT} nodes: modules expanded, node lists left folded")

    async def action_collapse_all(self) -> None:
        """Close every group, then fold the tree."""
        await self.show_groups(set())
        self.query_one("#graph", GraphTree).collapse_everything()

    def jump(self, index: int | None, missing: str) -> None:
        if index is None:
            self.notify(missing)
        elif self.cursor.jump(index):
            self.show_step()

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        """Enter (or a click) on a node goes to the first step that computes it."""
        node_id = event.node.data
        if isinstance(node_id, int):
            first = next((s.index for s in self.model.steps if s.node == node_id), None)
            if first is not None and self.cursor.jump(first):
                self.show_step()

    # ## Showing the current step

    @property
    def step(self) -> StepView | None:
        return None if self.cursor.index is None else self.model.steps[self.cursor.index]

    def show_step(self) -> None:
        """Update the panels for the cursor's step (and only them)."""
        step = self.step
        detail = self.query_one("#detail", Static)
        chain = self.query_one("#chain", Static)
        if step is None:
            self.sub_title = "no steps recorded"
            detail.update(Text("no steps recorded"))
            chain.update(Text(""))
            return
        self.sub_title = texts.step_title(self.model, step)
        if self.iteration is not None:
            self.sub_title += f" · iteration {self.iteration}/{len(self.iterations) - 1}"
        detail.update(styled(texts.node_detail_lines(self.model, step.node)))
        chain.update(styled(texts.chain_lines(self.model, step)))
        chain.border_title = "chain rule" if step.phase == "backward" else "forward: the op"
        self.show_step_kernels(step)
        self.show_log(step.index)
        self.show_series(step.node)
        self.follow_in_tree(step.node)

    def show_step_kernels(self, step: StepView) -> None:
        """This step's launches only (a compiled call shows its fused kernels)."""
        table = self.query_one("#op-kernels", DataTable)
        rows = texts.step_kernel_rows(self.model, step.index)
        table.border_title = f"kernels of this step ({step.op or 'leaf'})" + ("" if rows else ": none")
        table.clear()
        table.add_rows(rows)

    def show_series(self, node_id: int) -> None:
        """Sparklines of the node's value and gradient norm across the iterations."""
        if self.iteration is None or self.recording is None:
            return
        lines = series_lines(self.recording, self.iteration, node_id, self.model.name(node_id))
        series = self.query_one("#series", Static)
        series.border_title = "over iterations"
        series.update(styled(lines))

    def show_log(self, index: int) -> None:
        """Steps up to `index`: one more line when stepping on, the tail rewritten otherwise."""
        log = self.query_one("#log", RichLog)
        if self._logged_up_to is not None and index == self._logged_up_to + 1:
            first = index
        else:
            log.clear()
            first = max(0, index - LOG_TAIL + 1)
        for step in self.model.steps[first : index + 1]:
            log.write(styled([texts.step_line(self.model, step)]))
        self._logged_up_to = index

    def follow_in_tree(self, node_id: int) -> None:
        tree = self.query_one("#graph", GraphTree)
        leaf = tree.reveal(node_id)
        if leaf is not None:
            # the leaf's line number exists once the tree has laid out its lines again
            self.call_after_refresh(self._move_tree_cursor, node_id)

    def _move_tree_cursor(self, node_id: int) -> None:
        step = self.step
        tree = self.query_one("#graph", GraphTree)
        if step is not None and step.node == node_id and node_id in tree.leaves:
            tree.move_cursor(tree.leaves[node_id])


NONFINITE = re.compile(r"⚠|NaN/Inf|(?<![\w.])-?(nan|inf)\b")


def styled(lines: list[str]) -> Text:
    """Lines as one Text: the first bold, lines with NaN or Inf red (plain text, never markup)."""
    text = Text()
    for number, line in enumerate(lines):
        style = "bold red" if NONFINITE.search(line) else ("bold" if number == 0 else "")
        text.append(line + ("\n" if number < len(lines) - 1 else ""), style=style)
    return text
