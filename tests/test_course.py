"""The course runs: every `python` block of every chapter, and every lesson notebook.

Chapters (`chapters/*.md`) follow pytest-markdown-docs' conventions, so
`pytest --markdown-docs chapters/` runs the same blocks:

- a fence tagged `python` (or `py`, `python3`) is code that must run; use `text` for output;
- `python continuation` continues the namespace of the block before it; a plain `python`
  block starts a fresh one;
- `python notest` is shown but not run.

Here each chapter is one test that executes its blocks in order (no re-running of earlier
blocks as pytest-markdown-docs does for continuations, so long chapters stay fast), and a
failure names the chapter line where the failing block starts. The notebooks
(`notebooks/*.ipynb`) run headless through nbclient on this interpreter's kernel and must be
stored without outputs. New chapters and notebooks are picked up from the folders.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

PYTHON_LANGS = {"py", "python", "python3"}  # what pytest-markdown-docs runs
MIN_BLOCKS_PER_CHAPTER = 3
CELL_TIMEOUT_S = 120
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Fence:
    """One fenced code block of a chapter."""

    line: int  # 1-based line of the first code line (the one after the ``` line)
    lang: str
    options: set[str]
    code: str

    @property
    def runs(self) -> bool:
        return self.lang in PYTHON_LANGS and "notest" not in self.options

    @property
    def continues(self) -> bool:
        return "continuation" in self.options


def fences(path: Path) -> list[Fence]:
    """Every fenced block of a markdown file, parsed as pytest-markdown-docs parses it."""
    from markdown_it import MarkdownIt

    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text("utf8")):
        if token.type != "fence" or not token.map:
            continue
        info = token.info.split()
        lang = info[0] if info else ""
        found.append(Fence(token.map[0] + 2, lang, set(info[1:]), token.content))
    return found


def run_chapter(path: Path) -> int:
    """Execute the chapter's python blocks in order; return how many ran."""
    namespace: dict = {}
    ran = 0
    for fence in fences(path):
        if not fence.runs:
            continue
        if not fence.continues or not namespace:
            namespace = types.ModuleType("fence").__dict__
        # Pad with blank lines so tracebacks point at the right line of the markdown file.
        code = compile("\n" * (fence.line - 1) + fence.code, str(path), "exec", dont_inherit=True)
        trace = None
        try:
            exec(code, namespace)  # running the chapter's code is the test
        except Exception as err:  # any error fails, reported with its line
            # Drop this function's own frame: the traceback starts in the chapter.
            trace = "".join(traceback.format_exception(type(err), err, err.__traceback__.tb_next))
        if trace is not None:
            pytest.fail(
                f"{_shown(path)}: the python block starting at line {fence.line} failed:\n{trace}",
                pytrace=False,
            )
        ran += 1
    return ran


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# ## Chapters


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_code_runs(chapter: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # blocks see the repository as a student's shell would
    ran = run_chapter(chapter)
    assert ran >= MIN_BLOCKS_PER_CHAPTER, (
        f"{chapter.name}: only {ran} runnable python blocks; chapters show their claims as code"
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_fences_are_tagged(chapter: Path) -> None:
    """A fence without a language would be silently skipped; say `python` or `text`."""
    untagged = [fence.line - 1 for fence in fences(chapter) if not fence.lang]
    assert not untagged, f"{chapter.name}: fences without a language at lines {untagged}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_blocks_match_pytest_markdown_docs(chapter: Path) -> None:
    """Our runner and `pytest --markdown-docs` see exactly the same blocks."""
    from markdown_it import MarkdownIt
    from pytest_markdown_docs import plugin  # the dev extra installs it: a failure, not a skip

    theirs = [
        test.start_line + 1  # their start_line is 0-based
        for test in plugin.extract_fence_tests(MarkdownIt("commonmark"), chapter.read_text("utf8"), 0, chapter)
    ]
    ours = [fence.line for fence in fences(chapter) if fence.runs]
    assert ours == theirs


# ## Notebooks


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(notebook: Path) -> None:
    import nbclient
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    # One extra cell (in memory only) reports which Python the kernel runs.
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},  # run where a student opens it
    )
    # The kernel imports this checkout's minitorch whatever the state of the installed copy.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    failure = None
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as err:
        failure = ANSI_ESCAPE.sub("", str(err))  # IPython colours its tracebacks
    if failure is not None:
        pytest.fail(f"{_shown(notebook)}: a cell failed:\n{failure}", pytrace=False)

    kernel_prefix = "".join(out.get("text", "") for out in nb.cells[-1].outputs).strip()
    assert kernel_prefix == sys.prefix, (
        f"the notebook ran on {kernel_prefix!r}, not on this environment ({sys.prefix!r})"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_clean(notebook: Path) -> None:
    """Notebooks are committed without outputs, so diffs show only what a person wrote."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{notebook.name}: cells {dirty} hold outputs or execution counts; clear them "
        "(jupyter nbconvert --clear-output --inplace) before committing"
    )


def test_every_chapter_has_a_lesson() -> None:
    """One lesson notebook per chapter, with the chapter's file name."""
    lessons = {notebook.stem for notebook in NOTEBOOKS}
    missing = [chapter.name for chapter in CHAPTERS if chapter.stem not in lessons]
    assert not missing, f"chapters without notebooks/<same name>.ipynb: {missing}"
