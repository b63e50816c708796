"""The house rules ARCHITECTURE.md states: a line budget for minitorch/, short functions, and
no citing of files outside the project."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LONG_REASON = "Longer than 40 lines because"


def tracked_python_files(*folders: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", *folders], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split() if name.endswith(".py")]


def docstring_lines(tree: ast.Module) -> set[int]:
    """Line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    """Non-blank lines that are neither comments nor docstrings."""
    skip = docstring_lines(ast.parse(source))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in skip
    )


def stated_budget() -> int:
    match = re.search(r"at most \*\*(\d+)\*\* lines of code", (ROOT / "ARCHITECTURE.md").read_text())
    assert match, "ARCHITECTURE.md states the line budget as 'at most **N** lines of code'"
    return int(match.group(1))


def test_code_lines_count_code_only() -> None:
    source = '"""Doc\nstring."""\n\n# a comment\ndef f():\n    """Doc."""\n    return 1  # trailing\n'
    assert code_lines(source) == 2


def test_minitorch_keeps_to_its_line_budget() -> None:
    total = sum(code_lines(path.read_text()) for path in tracked_python_files("minitorch"))
    print(f"minitorch/: {total} lines of code, budget {stated_budget()}")
    assert total <= stated_budget(), f"minitorch/ has {total} lines of code, over the budget in ARCHITECTURE.md"


def test_functions_are_short_or_say_why() -> None:
    long = []
    for path in tracked_python_files("minitorch", "visualizer"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 40 and LONG_REASON not in (ast.get_docstring(node) or ""):
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 40 lines without a reason in their docstring:\n" + "\n".join(long)


def test_the_project_cites_no_file_outside_itself() -> None:
    found = subprocess.run(
        ["git", "grep", "-nE", r"DESIGN\.md|STYLE\.md|\.\./shared", "--", ":!tests/test_house_rules.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.stdout == ""
