"""The compiler, pass by pass, in the terminal: n/p page through the passes (IR before and
after, removed lines red, rewritten lines green, node counts and planned memory), then the
source of each fused kernel, then the execution plan with each kernel's time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from visualizer.compiler import Page, PassStep, compiler_pages

STYLES = {"removed": "red strike", "changed": "bold green", "": ""}


class CompilerApp(App[None]):
    """Page through what the compiler did to one or more graphs."""

    TITLE = "minitorch compiler"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_page", "Next"),
        Binding("right", "next_page", "Next", show=False),
        Binding("p", "prev_page", "Prev"),
        Binding("left", "prev_page", "Prev", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, pages: list[Page]) -> None:
        super().__init__()
        self.pages = pages or [Page("nothing was compiled", [])]
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="page-scroll"):
            yield Static(id="page", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.show_page()

    def action_next_page(self) -> None:
        if self.index < len(self.pages) - 1:
            self.index += 1
            self.show_page()

    def action_prev_page(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.show_page()

    @property
    def page(self) -> Page:
        return self.pages[self.index]

    def show_page(self) -> None:
        self.sub_title = f"{self.index + 1}/{len(self.pages)} · {self.page.title}"
        text = Text()
        for number, (style, line) in enumerate(self.page.lines):
            text.append(line + ("\n" if number < len(self.page.lines) - 1 else ""), style=STYLES.get(style, ""))
        self.query_one("#page", Static).update(text)


def make_compiler_app(all_steps: list[list[PassStep]], backend: str = "simple", runs: int = 2) -> CompilerApp:
    """The app on the pass steps of each compiled graph (pages of all of them, in order)."""
    pages: list[Any] = []
    for number, steps in enumerate(all_steps, 1):
        for page in compiler_pages(steps, backend, runs):
            prefix = f"graph {number}/{len(all_steps)} · " if len(all_steps) > 1 else ""
            pages.append(Page(prefix + page.title, page.lines))
    return CompilerApp(pages)


def run_compiler_app(all_steps: list[list[PassStep]], backend: str = "simple") -> None:
    make_compiler_app(all_steps, backend).run()
