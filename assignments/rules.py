""" "No shortcuts": names that the student's code for some tasks may not use, checked statically.

tasks.toml's `[shortcuts]` table lists the tasks, the forbidden names (modules such as numpy
and torch, functions such as as_strided) and the allowed exceptions (`np.zeros`): the kernels
of modules 2-3 are loops over strided storage, not calls of numpy's vectorised operations.
The check reads the submission's marked regions of those tasks; an alias bound anywhere in
the file (`import numpy as xp`, `from numpy import sum`) counts as the name it stands for.
What it cannot see: a method call on an array (`a.sum()`), or a helper defined outside the
markers that the region calls.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from .tasklist import source_marker


@dataclass(frozen=True)
class Shortcuts:
    """What tasks.toml's [shortcuts] says."""

    tasks: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


@dataclass
class _Names(ast.NodeVisitor):
    """Dotted names used in a file, with their lines; and the aliases its imports bind."""

    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted origin
    used: list[tuple[int, str]] = field(default_factory=list)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            self.aliases[alias.asname or root] = alias.name if alias.asname else root  # using it counts

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            self.used.append((node.lineno, f"{node.module}.{alias.name}"))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if dotted is None:
            self.generic_visit(node)
        else:
            self.used.append((node.lineno, dotted))

    def visit_Name(self, node: ast.Name) -> None:
        self.used.append((node.lineno, node.id))

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult):  # numpy's matrix product, as an operator
            self.used.append((node.lineno, "@"))
        self.generic_visit(node)


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _regions(source: str, task_id: str) -> list[tuple[int, int]]:
    marker = source_marker(task_id)
    begins = [n for n, line in enumerate(source.splitlines(), 1) if re.fullmatch(rf"\s*# BEGIN {marker}\s*", line)]
    ends = [n for n, line in enumerate(source.splitlines(), 1) if re.fullmatch(rf"\s*# END {marker}\s*", line)]
    return list(zip(begins, ends, strict=False))


def _forbidden(name: str, rules: Shortcuts, aliases: dict[str, str]) -> bool:
    root, _, rest = name.partition(".")
    full = aliases.get(root, root) + ("." + rest if rest else "")
    if any(full == a or full.startswith(a + ".") for a in rules.allowed) or name in rules.allowed:
        return False
    parts = full.split(".")
    return any(part in rules.forbidden for part in parts) or parts[0] in rules.forbidden


def shortcut_violations(code_dirs: list[Path], task_id: str, rules: Shortcuts) -> list[str]:
    """`file:line: name` for every forbidden name in the task's regions under `code_dirs`."""
    if task_id not in rules.tasks:
        return []
    found = []
    for top in code_dirs:
        for path in sorted(top.rglob("*.py")) if top.is_dir() else []:
            source = path.read_text(encoding="utf-8", errors="replace")
            regions = _regions(source, task_id)
            if not regions:
                continue
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            names = _Names()
            names.visit(tree)
            for line, name in names.used:
                inside = any(begin < line < end for begin, end in regions)
                if inside and _forbidden(name, rules, names.aliases):
                    found.append(f"{path.relative_to(top.parent)}:{line}: {name}")
    return found
