"""Command line: `python -m assignments {tasks,student,grade,gradescope,course-check} ...` (see --help)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .grader import grade
from .report import print_report
from .student import StudentVersionError, build_student_version
from .tasklist import REPO_ROOT, TaskListError, load_task_list


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status is 0 unless the machinery itself failed."""
    args = _parser().parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assignments", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    tasks = commands.add_parser("tasks", help="list the assignment tasks")
    tasks.add_argument("--repo", type=Path, default=REPO_ROOT, help="repository (default: ours)")
    tasks.set_defaults(command=_tasks)

    student = commands.add_parser("student", help="write the student version of the repository")
    student.add_argument("out", type=Path, metavar="OUT_DIR", help="output (absent or empty)")
    student.add_argument("--repo", type=Path, default=REPO_ROOT, help="repository (default: ours)")
    student.add_argument(
        "--modules",
        type=lambda text: [int(m) for m in text.split(",")],
        default=None,
        metavar="M,N",
        help="release only these modules (e.g. 0,1): the README lists their tasks; later ones say they come later",
    )
    student.set_defaults(command=_student)

    grader = commands.add_parser("grade", help="grade a checkout with the reference tests")
    grader.add_argument(
        "student_dir",
        type=Path,
        nargs="?",
        default=Path("."),
        metavar="REPO_DIR",
        help="the checkout to grade (default: the current directory)",
    )
    grader.add_argument(
        "--task",
        action="append",
        dest="tasks",
        metavar="ID",
        help="grade only this task, e.g. 1.2 (repeatable; default: all)",
    )
    grader.add_argument(
        "--json",
        type=Path,
        default=Path("results.json"),
        dest="json_path",
        help="Gradescope results file to write (default: results.json)",
    )
    grader.add_argument(
        "--timeout-test", type=float, default=60.0, metavar="S", help="seconds one test may run (default: 60)"
    )
    grader.add_argument(
        "--timeout-task",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds all tests of one task may run together (default: 600)",
    )
    grader.add_argument(
        "--fail-fast", action="store_true", help="stop each task at its first failing test (a quick check)"
    )
    grader.add_argument("--shrink", action="store_true", help="let Hypothesis minimise failing examples (slower)")
    grader.add_argument(
        "--reference", type=Path, default=REPO_ROOT, help="reference repository whose tests grade (default: this one)"
    )
    grader.add_argument("--seed", type=int, default=0, help="seed of every test's random inputs (default: 0)")
    grader.add_argument(
        "--extra-tests",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder of the instructor's own (hidden) tests, graded with the reference's",
    )
    grader.add_argument(
        "--max-examples", type=int, default=0, metavar="N", help="at most N Hypothesis examples per test"
    )
    grader.set_defaults(command=_grade)

    bundle = commands.add_parser("gradescope", help="write a ready Gradescope autograder zip")
    bundle.add_argument("out", type=Path, metavar="OUT.zip")
    bundle.add_argument("--repo", type=Path, default=REPO_ROOT, help="reference repository (default: ours)")
    bundle.add_argument("--hidden-tests", type=Path, default=None, metavar="DIR", help="the instructor's hidden tests")
    bundle.set_defaults(command=_gradescope)

    check = commands.add_parser(
        "course-check",
        help="probe which code each test runs; leave each task out in turn (exactly that task must fail); "
        "the student and do-nothing versions must score 0",
    )
    check.add_argument("--task", action="append", dest="tasks", metavar="ID", help="check only this task")
    check.add_argument("--max-examples", type=int, default=3, metavar="N", help="Hypothesis examples per test")
    check.set_defaults(command=_course_check)
    return parser


def _tasks(args: argparse.Namespace) -> int:
    try:
        task_list = load_task_list(args.repo)
    except TaskListError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    table = Table(title="Assignment tasks")
    for column in ("Task", "Title", "Points", "Chapter", "Markers"):
        table.add_column(column)
    for task in task_list.tasks:
        table.add_row(
            task.id, task.title, f"{task.points:g}", task.chapter, f"{task.source_marker} / {task.pytest_marker}"
        )
    Console().print(table)
    return 0


def _student(args: argparse.Namespace) -> int:
    try:
        build = build_student_version(args.repo, args.out, modules=args.modules)
    except StudentVersionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    regions = sum(build.regions.values())
    print(f"Wrote {len(build.files)} files to {build.out}; stubbed {regions} regions in {len(build.stubbed)} files.")
    for task_id in build.tasks_without_regions:
        print(f"warning: task {task_id} has no marked region", file=sys.stderr)
    return 0


def _grade(args: argparse.Namespace) -> int:
    report = grade(
        args.student_dir,
        reference_dir=args.reference,
        tasks=args.tasks,
        timeout_test=args.timeout_test,
        timeout_task=args.timeout_task,
        json_path=args.json_path,
        shrink=args.shrink,
        fail_fast=args.fail_fast,
        seed=args.seed,
        extra_tests=args.extra_tests,
        max_examples=args.max_examples,
    )
    print_report(report)
    print(f"Wrote {args.json_path}")
    return 0 if report.ok else 1


def _gradescope(args: argparse.Namespace) -> int:
    from .gradescope import build_bundle

    print(f"Wrote {build_bundle(args.out, args.repo, args.hidden_tests)}")
    return 0


def _course_check(args: argparse.Namespace) -> int:
    from .course_check import course_check, zero_scores

    results = course_check(tasks=args.tasks, max_examples=args.max_examples)
    failed = [result.task_id for result in results if not result.ok]
    print(
        f"{len(results) - len(failed)}/{len(results)} tasks independent"
        + (f"; not: {', '.join(failed)}" if failed else "")
    )
    scores = zero_scores(max_examples=args.max_examples) if args.tasks is None else {}
    for name, score in scores.items():
        print(f"the {name} scores {score:g} (must be 0)")
    return 1 if failed or any(scores.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
