"""`python -m assignments.leaks [REPO]`: find reference solutions left in the student version.

The student version stubs every marked region, but a renamed copy of a solution elsewhere
(a helper, a chapter, a notebook, a test) would hand the answer out. This checker compares
code *shapes*: each line becomes its tokens with names and literals normalised away
(keywords and operators stay; comments, docstrings and blank lines go), so

    total = total + x * self.weights[i][j].value   ->   N = N + N * N . N [ N ] [ N ] . N

and any run of `WINDOW` consecutive normalised lines of a solution region that appears
anywhere in the student tree (.py files, code blocks of .md files, code cells of notebooks)
is reported with the task, the file and the lines.
"""

from __future__ import annotations

import io
import json
import keyword
import re
import sys
import tempfile
import textwrap
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .student import _MARKER_LINE, build_student_version
from .tasklist import load_task_list, task_id_from_marker

WINDOW = 3  # consecutive normalised lines that make a match (4 misses copies of short helpers)
CELL = 10_000  # a notebook's line numbers: cell index * CELL + line in the cell
MIN_TOKENS = 16  # a window with fewer tokens (e.g. `else:` / `return N`) is too common to mean anything
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
_FENCE = re.compile(r"^```+\s*(\w*)[^\n]*\n(.*?)^```+\s*$", re.MULTILINE | re.DOTALL)

Line = tuple[int, str]  # (line number in the file, normalised tokens)


@dataclass(frozen=True)
class Leak:
    """Lines `first..last` of `path` (in the student tree) repeat a solution of task `task_id`."""

    task_id: str
    path: str
    first: int
    last: int
    source: str  # where the solution is: "minitorch/x.py:12-20"

    def __str__(self) -> str:
        return f"{self.path}:{self.first}-{self.last}: task {self.task_id} solution ({self.source})"


def _token_text(token: tokenize.TokenInfo) -> str:
    if token.type == tokenize.NAME:
        return token.string if keyword.iskeyword(token.string) else "N"
    if token.type in (tokenize.NUMBER, tokenize.STRING) or tokenize.tok_name[token.type].startswith("FSTRING"):
        return "L"
    return token.string


def _tokens(source: str, offset: int = 0) -> Iterator[tokenize.TokenInfo]:
    """The tokens of `source`; after a tokenize error, tokenizing restarts on the next line.

    Chapters and notebooks hold fragments (IPython magics, cut-off code), so errors are normal.
    """
    lines = source.splitlines(keepends=True)
    start = 0
    while start < len(lines):
        chunk = "".join(lines[start:])
        try:
            for token in tokenize.generate_tokens(io.StringIO(chunk).readline):
                yield token._replace(start=(token.start[0] + start + offset, token.start[1]))
            return
        except (tokenize.TokenError, IndentationError, SyntaxError) as error:
            bad = getattr(error, "lineno", None) or (error.args[1][0] if len(error.args) > 1 else 1)
            start += max(int(bad), 1)


def normalised_lines(source: str, offset: int = 0) -> list[Line]:
    """(line number, normalised tokens) of each line with code (see `_has_code`)."""
    by_line: dict[int, list[str]] = {}
    for token in _tokens(source, offset):
        if token.type not in _SKIPPED and token.type != tokenize.ERRORTOKEN:
            by_line.setdefault(token.start[0], []).append(_token_text(token))
    return [(n, " ".join(words)) for n, words in sorted(by_line.items()) if _has_code(words)]


def _has_code(words: list[str]) -> bool:
    """False for a line of only literals and punctuation: a docstring, a row of a table of data."""
    return any(word == "N" or keyword.iskeyword(word) for word in words)


def _windows(lines: list[Line]) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    for i in range(len(lines) - WINDOW + 1):
        window = tuple(text for _, text in lines[i : i + WINDOW])
        if sum(len(text.split()) for text in window) >= MIN_TOKENS:
            yield lines[i][0], lines[i + WINDOW - 1][0], window


def region_sources(source: str) -> Iterator[tuple[str, int, int, str]]:
    """(task id, first line, last line, code) of each marked region of a reference file."""
    lines = source.splitlines(keepends=True)
    begin: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        match = _MARKER_LINE.fullmatch(line.rstrip("\r\n"))
        if match and match["kind"] == "BEGIN":
            begin = (number, match["marker"])
        elif match and begin is not None:
            body = "".join(lines[begin[0] : number - 1])
            yield task_id_from_marker(begin[1]), begin[0] + 1, number - 1, body
            begin = None


def solution_windows(repo: Path) -> dict[tuple[str, ...], tuple[str, str]]:
    """Every window of every solution region -> (task id, "file:lines")."""
    code_dirs = load_task_list(repo).code_dirs
    windows: dict[tuple[str, ...], tuple[str, str]] = {}
    for folder in code_dirs:
        for path in sorted((repo / folder).rglob("*.py")):
            rel = path.relative_to(repo).as_posix()
            for task_id, first, last, body in region_sources(path.read_text(encoding="utf-8")):
                dedented = _dedent(body)
                for _, _, window in _windows(normalised_lines(dedented, first - 1)):
                    windows.setdefault(window, (task_id, f"{rel}:{first}-{last}"))
    return windows


def _dedent(code: str) -> str:
    """Region bodies are indented (inside a def): tokenize wants them at column 0."""
    return textwrap.dedent(code)


def code_pieces(path: Path) -> Iterator[tuple[int, str]]:
    """(line offset, code) of the code in a file: all of a .py, fenced blocks of .md, notebook code cells."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".py":
        yield 0, text
    elif path.suffix == ".md":
        yield from _fenced_blocks(text)
    elif path.suffix == ".ipynb":
        for index, cell in enumerate(json.loads(text).get("cells", [])):
            source = "".join(cell.get("source", []))
            if cell.get("cell_type") == "code":  # IPython magics and shell lines are not Python
                code = "".join(line for line in source.splitlines(keepends=True) if line.lstrip()[:1] not in "%!")
                yield index * CELL, code
            else:
                yield from ((index * CELL + n, code) for n, code in _fenced_blocks(source))


def _fenced_blocks(text: str) -> Iterator[tuple[int, str]]:
    for match in _FENCE.finditer(text):
        if match[1].lower() in ("", "python", "py", "python3", "pycon"):
            yield text.count("\n", 0, match.start(2)), _dedent(match[2])


def find_leaks(repo: Path, student: Path) -> list[Leak]:
    """Every run of solution windows found in the student tree `student`, merged per file and task."""
    solutions = solution_windows(repo)
    leaks: list[Leak] = []
    for path in sorted(student.rglob("*")):
        if path.suffix not in (".py", ".md", ".ipynb") or not path.is_file():
            continue
        rel = path.relative_to(student).as_posix()
        hits = [
            (first, last, solutions[window])
            for offset, code in code_pieces(path)
            for first, last, window in _windows(normalised_lines(code, offset))
            if window in solutions
        ]
        leaks += _merge(rel, hits)
    return leaks


def _merge(rel: str, hits: list[tuple[int, int, tuple[str, str]]]) -> list[Leak]:
    """Overlapping windows of one task in one file become one leak."""
    merged: list[Leak] = []
    for first, last, (task_id, source) in sorted(hits):
        previous = merged[-1] if merged else None
        if previous and previous.task_id == task_id and first <= previous.last:
            merged[-1] = Leak(task_id, rel, previous.first, max(last, previous.last), previous.source)
        else:
            merged.append(Leak(task_id, rel, first, last, source))
    return merged


def check(repo: Path) -> list[Leak]:
    """Build the student version of `repo` in a temporary folder and look for leaks in it."""
    with tempfile.TemporaryDirectory() as folder:
        student = Path(folder) / "student"
        build_student_version(repo, student)
        return find_leaks(repo, student)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo = Path(args[0] if args else ".").resolve()
    leaks = check(repo)
    for leak in leaks:
        print(leak)
    print(f"{len(leaks)} leak(s) of solution code in the student version of {repo}")
    return 1 if leaks else 0


if __name__ == "__main__":
    raise SystemExit(main())
