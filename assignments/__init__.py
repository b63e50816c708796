"""Assignment machinery: the task list, the student version of the repository, and the grader.

    python -m assignments tasks                      # list the tasks
    python -m assignments student OUT_DIR [--modules 0,1]   # the student version (solutions stubbed)
    python -m assignments grade [DIR] [--extra-tests D]     # grade a checkout by its values
    python -m assignments gradescope OUT.zip         # a ready Gradescope autograder
    python -m assignments course-check               # leave-one-out: are the tasks independent?

The same from Python: `load_task_list`, `make_student_version`, `grade`. The instructor guide
(chapters/instructor-guide.md) explains grading and its threat model.
"""

from .child import GraderError
from .grader import grade
from .report import GradeReport, TaskResult, print_report, write_results_json
from .runner import Outcome
from .student import StudentVersionError, build_student_version, make_student_version, stub_regions
from .tasklist import (
    REPO_ROOT,
    Task,
    TaskList,
    TaskListError,
    load_task_list,
    pytest_marker,
    source_marker,
    task_id_from_marker,
)

__all__ = [
    "REPO_ROOT",
    "GradeReport",
    "GraderError",
    "Outcome",
    "StudentVersionError",
    "Task",
    "TaskList",
    "TaskListError",
    "TaskResult",
    "build_student_version",
    "grade",
    "load_task_list",
    "make_student_version",
    "print_report",
    "pytest_marker",
    "source_marker",
    "stub_regions",
    "task_id_from_marker",
    "write_results_json",
]
