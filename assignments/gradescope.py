"""`python -m assignments gradescope OUT.zip`: a ready Gradescope autograder.

The zip holds, at its root, what Gradescope expects: `setup.sh` (run once when the image is
built) and `run_autograder` (run for every submission); next to them the reference repository
with this grader and its tests, `requirements.txt` (the grading environment's exact versions,
minitorch itself excluded: the reference is never installed where the student's code could
import or read it) and, optionally, the instructor's hidden tests in `hidden_tests/`.

Gradescope unpacks the zip into /autograder/source and the student's files into
/autograder/submission; results go to /autograder/results/results.json.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from .student import list_repo_files
from .tasklist import REPO_ROOT

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3.11 >/dev/null; then
    apt-get update
    apt-get install -y software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y python3.11 python3.11-venv
fi
python3.11 -m venv "$ROOT/venv"              # outside source/: the sandbox user may run it
"$ROOT/venv/bin/pip" install --quiet -r "$ROOT/source/requirements.txt"
chmod -R go-rwx "$ROOT/source"                # the reference: readable by root only
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this, as root, for every submission.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${MINITORCH_GRADER_PYTHON:-$ROOT/venv/bin/python}"
EXTRA=()
if [ -d "$ROOT/source/hidden_tests" ]; then EXTRA=(--extra-tests "$ROOT/source/hidden_tests"); fi
mkdir -p "$ROOT/results"
cd "$ROOT/source"
"$PYTHON" -m assignments grade "$ROOT/submission" --reference "$ROOT/source" \\
    --json "$ROOT/results/results.json" "${EXTRA[@]}"
exit 0  # the score is in results.json; a non-zero exit would hide it behind an error
"""


def requirements(python: str = sys.executable) -> str:
    """The grading environment's packages at their exact versions (minitorch excluded)."""
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    keep = [line for line in frozen.splitlines() if line and not line.lower().startswith(("minitorch", "-e "))]
    return "\n".join(keep) + "\n"


def build_bundle(out: Path, repo: Path = REPO_ROOT, hidden_tests: Path | None = None) -> Path:
    """Write the autograder zip to `out`; returns `out`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    grader = Path(__file__).resolve().parent
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add(bundle, "setup.sh", SETUP_SH, executable=True)
        _add(bundle, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add(bundle, "requirements.txt", requirements())
        files = list_repo_files(repo)
        for rel in files:
            bundle.write(repo / rel, rel.as_posix())
        for path in sorted(grader.glob("*.py")):  # this grader, if the repository lacks it
            if Path("assignments", path.name) not in files:
                bundle.write(path, f"assignments/{path.name}")
        if hidden_tests is not None:
            for path in sorted(Path(hidden_tests).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    bundle.write(path, f"hidden_tests/{path.relative_to(hidden_tests).as_posix()}")
    return out


def _add(bundle: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    bundle.writestr(info, text)


def unpack(bundle: Path, root: Path) -> Path:
    """Unpack as Gradescope does: the zip into root/source, run_autograder next to it."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(source)
        for info in archive.infolist():  # zipfile drops the modes
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (source / info.filename).chmod(mode)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    return root
