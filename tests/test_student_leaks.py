"""The student version hands out no solution: no solution region's code appears elsewhere in it."""

from __future__ import annotations

from pathlib import Path

from assignments.leaks import check, normalised_lines

REPO = Path(__file__).resolve().parent.parent


def test_lines_are_normalised_to_their_shape() -> None:
    source = 'def f(x):\n    """Doc."""\n    total = x[0] + 1.5  # note\n\n    return {"a": 1}\n'
    assert normalised_lines(source) == [
        (1, "def N ( N ) :"),
        (3, "N = N [ L ] + L"),
        (5, "return { L : L }"),
    ]


def test_student_version_contains_no_copy_of_a_solution() -> None:
    leaks = check(REPO)
    assert not leaks, "solution code left in the student version:\n" + "\n".join(str(leak) for leak in leaks)
