"""One pytest child process, and the pipe on which its plugin (reporter.py) reports.

The child runs pytest with the reporter plugin in a workspace, in a session of its own, as
the sandbox's user and within its limits (sandbox.py). Python starts isolated (`-I -S`): no
PYTHONPATH, no site hooks, so no installed or editable copy of a graded package can stand in
for a file the workspace lacks; its path is the workspace, the plugin, the standard library
and the site-packages folders, in that order. Its stdout and stderr go to a temporary file
that is read only to explain crashes; records come from the pipe and count only if they
carry this child's random token.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from .sandbox import Sandbox

PLUGIN = "_minitorch_grader_reporter"  # module name of reporter.py inside the child
_PLUGIN_SOURCE = Path(__file__).with_name("reporter.py")


class GraderError(RuntimeError):
    """Grading itself went wrong (not the student's code): the score is not trustworthy."""


def install_plugin(folder: Path) -> Path:
    """Copy the reporter plugin into `folder`, which goes on the child's PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    source = _PLUGIN_SOURCE.read_text(encoding="utf-8")
    (folder / f"{PLUGIN}.py").write_text(source, encoding="utf-8")
    return folder


def _site_packages() -> list[str]:
    """Where the grader's Python finds third-party packages (pytest, numpy, ...)."""
    folders = site.getsitepackages() if hasattr(site, "getsitepackages") else []
    return [folder for folder in folders if os.path.isdir(folder)]


def _bootstrap(front: list[str], args: list[str]) -> str:
    """The `-c` program of an isolated child: set the import path, then run pytest."""
    return (
        f"import sys; sys.path[:0] = {front!r}; sys.path += {_site_packages()!r}; "
        f"import pytest; sys.exit(pytest.main({args!r}))"
    )


def inherited_environment() -> dict[str, str]:
    """What a child inherits of our environment: all but pytest's and Python's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}


def _child_environment(workspace: Path, plugin_dir: Path, **settings: str) -> dict[str, str]:
    """The inherited environment and the grader's settings; the workspace first on the path."""
    env = inherited_environment()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["HOME"] = str(workspace)
    env["TMPDIR"] = str(workspace / ".tmp")
    env["NUMBA_CACHE_DIR"] = str(workspace / ".tmp" / "numba")
    env.update({f"MINITORCH_GRADER_{key.upper()}": value for key, value in settings.items()})
    return env


class Child:
    """A running pytest child. `mode` is "collect" or "run" (see reporter.py)."""

    def __init__(
        self,
        workspace: Path,
        plugin_dir: Path,
        mode: str,
        args: list[str],
        packages: Iterable[str],
        plan_file: Path | None = None,
        python: str = sys.executable,
        shrink: bool = True,
        sandbox: Sandbox | None = None,
        seed: int = 0,
        test_dirs: Iterable[Path] = (),
        max_examples: int = 0,
    ) -> None:
        self.workspace = workspace
        self.sandbox = sandbox or Sandbox()
        self.left_behind: list[str] = []  # what clean-up found after the child ended
        packages = list(packages)
        self.token = secrets.token_hex(16)
        self._fd, write_fd = os.pipe()
        env = _child_environment(
            workspace,
            plugin_dir,
            fd=str(write_fd),
            token=self.token,
            mode=mode,
            plan=str(plan_file or ""),
            packages=",".join(packages),
            shrink=str(int(shrink)),
            seed=str(seed),
            max_examples=str(max_examples),
            tests=",".join(str(Path(d).resolve()) for d in test_dirs),
            code=",".join(str((workspace / p).resolve()) for p in packages),
        )
        (workspace / ".tmp").mkdir(exist_ok=True)
        self.sandbox.own(workspace / ".tmp")
        pytest_args = [
            "-p",
            PLUGIN,
            "-p",
            "no:cacheprovider",
            f"--rootdir={workspace}",
            "--continue-on-collection-errors",
            "--tb=short",
            "-q",
            *args,
        ]
        command = [python, "-I", "-S", "-c", _bootstrap([str(workspace), str(plugin_dir)], pytest_args)]
        self.log = tempfile.TemporaryFile()  # closed by close()
        try:
            self.process = subprocess.Popen(
                command,
                cwd=workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
                preexec_fn=self.sandbox.preexec(),
            )  # setrlimit, set*id and prctl calls only: no locks
        except OSError:
            os.close(self._fd)
            self.log.close()
            raise
        finally:
            os.close(write_fd)  # only the child writes
        os.set_blocking(self._fd, False)
        self._buffer = b""
        self._eof = False

    def records(self, deadline: float) -> list[dict] | None:
        """The next records, waiting until `deadline` (a time.monotonic() value) at most.

        Returns [] if the deadline passed first, and None once the child has exited and
        everything it sent has been read.
        """
        while True:
            records = self._parse()
            if records:
                return records
            if self.process.poll() is not None:
                self._read_available()
                return self._parse() or None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            if self._eof:  # the pipe is closed: only the exit is left to wait for
                try:
                    self.process.wait(timeout=min(remaining, 0.1))
                except subprocess.TimeoutExpired:
                    pass
            elif select.select([self._fd], [], [], min(remaining, 0.1))[0]:
                self._read_available()

    def _read_available(self) -> None:
        while not self._eof:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            self._eof = not chunk
            self._buffer += chunk

    def _parse(self) -> list[dict]:
        """Complete lines -> records carrying our token; anything else is ignored."""
        *lines, self._buffer = self._buffer.split(b"\n")
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("token") == self.token:
                records.append(record)
        return records

    def check_origins(self, record: dict) -> None:
        """The graded packages must come from the workspace, not from an installed copy."""
        workspace = self.workspace.resolve()
        for package, origin in record.get("origins", {}).items():
            if origin is None or not Path(origin).resolve().is_relative_to(workspace):
                raise GraderError(
                    f"in the test process, package {package!r} resolves to "
                    f"{origin}, outside the grading workspace {workspace}"
                )

    def kill(self) -> None:
        """Kill the child and everything it started (its process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def close(self) -> None:
        """Kill the child, then whatever it left running or wrote outside its workspace."""
        self.kill()
        self.left_behind = self.sandbox.clean_up(keep=self.workspace.parent)
        os.close(self._fd)
        self.log.close()

    def exit_description(self) -> str:
        """ "exit code 3" or "signal SIGSEGV"."""
        code = self.process.wait()
        if code >= 0:
            return f"exit code {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
        why = self.sandbox.limits.describe_signal(name)
        return f"signal {name}: {why}" if why else f"signal {name}"

    def output_tail(self, chars: int = 1500) -> str:
        """What the child printed last; for a fatal error such as a segfault, the start of
        Python's report, whose first frames are the code that crashed."""
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip()
        fatal = text.rfind("Fatal Python error")
        if fatal >= 0:
            return text[fatal : fatal + chars] + ("\n..." if len(text) > fatal + chars else "")
        return text if len(text) <= chars else "..." + text[-chars:]
