"""Every lesson notebook ends with an exercise whose check cell says what is wrong.

The last three cells of each lesson are: the exercise (markdown), the student's answer
(pre-filled with a correct one, so `test_course` runs the notebook), and a check cell that
defines `check_exercise(answer)` and asserts it finds nothing wrong. Here the check cell runs
in-process on a deliberately wrong answer, and must fail with a message that explains it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.stem != "instructor-guide")

# notebook -> (a wrong answer cell, a phrase the check's message must contain)
WRONG = {
    "00-fundamentals": (
        "from minitorch.operators import sigmoid\n\ndef sigmoid_derivative(x):\n    return sigmoid(x)\n",
        "that is sigmoid(x) itself",
    ),
    "01-autodiff": (
        "def derivative(x):\n    return 1.0 / (x * x + 1.0)\n",
        "your derivative at x=2 is 0.2; the central difference says 0.8",
    ),
    "02-tensors": ("STRIDES = (6, 3, 1)\n", "permute makes a view"),
    "03-efficiency": ("def matmul_flops(batch, n, k, m):\n    return batch * n * k * m\n", "multiplications only"),
    "04-networks": (
        "def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):\n    return size - kernel + 1\n",
        "conv1d produces 5",
    ),
    "05-graph-mode": ("CHAIN_BUFFERS = 1\n", "may not write over an input"),
    "06-stack-tour": ("NBYTES = 8_000_000\n", "that is float64"),
    "debugging": ("RELU_GRAD_AT_ZERO = 0.5\n", "backward gives 0.0"),
}


def exercise_cells(notebook: Path) -> tuple[str, str, str]:
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells[-3:]
    return tuple(cell.source for cell in cells)  # type: ignore[return-value]


def test_every_lesson_has_a_wrong_answer_case() -> None:
    assert sorted(WRONG) == [p.stem for p in LESSONS]


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_ends_with_an_exercise(notebook: Path) -> None:
    question, answer, check = exercise_cells(notebook)
    assert question.startswith("## Exercise"), f"{notebook.name}: the third cell from the end is not the exercise"
    assert "replace this with your own" in answer
    assert "def check_exercise" in check and "assert not problems" in check


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_check_cell_accepts_the_answer_and_explains_a_wrong_one(notebook: Path, capsys) -> None:
    _, answer, check = exercise_cells(notebook)
    right: dict = {}
    exec(compile(answer + "\n" + check, notebook.name, "exec"), right)  # the pre-filled answer passes
    assert "Correct" in capsys.readouterr().out

    wrong_answer, phrase = WRONG[notebook.stem]
    wrong: dict = {}
    with pytest.raises(AssertionError) as info:
        exec(compile(wrong_answer + "\n" + check, notebook.name, "exec"), wrong)
    assert phrase in str(info.value), f"{notebook.name}: the check said {str(info.value)!r}"
