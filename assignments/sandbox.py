"""Where the student's code runs: an unprivileged user, resource limits, and a clean-up after.

Run as root (CI, Gradescope), the grader starts the student's test process as the user
`minitorch-grader` (created on first use), which owns only its workspace. The reference
checkout and the installed copies of the graded packages are made unreadable to others while
grading runs (`protect`). After the process ends, every process of that user dies (double
forks and new sessions included) and whatever it left in the world-writable temporary
directories is deleted.

Run as another user (a student grading their own work), there is no second user: the limits
apply, and the processes the test process left behind are found because the grader is their
"subreaper" (orphans are re-parented to it), but the code can read what the grader's user can.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SANDBOX_USER = "minitorch-grader"
#: World-writable places where sandboxed code could leave files; cleaned after each run.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def _find_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None).prctl if sys.platform == "linux" else None
    except (OSError, AttributeError):
        return None


_PRCTL = _find_prctl()  # looked up here: the forked child should only call it
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36


@dataclass(frozen=True)
class Limits:
    """What one test process may use: CPU seconds, bytes of address space, processes (only
    enforced with the sandbox user, whose processes they count), bytes of any file it writes
    (its output included)."""

    cpu_s: int = 1800
    memory_bytes: int = 16 << 30
    processes: int = 512
    file_bytes: int = 256 << 20

    def describe_signal(self, name: str) -> str | None:
        """Why the kernel sent this signal, in words; None for other signals."""
        return {
            "SIGXCPU": f"used more than its {self.cpu_s} s of CPU time",
            "SIGXFSZ": f"wrote a file (or output) larger than {self.file_bytes >> 20} MiB",
        }.get(name)


@dataclass(frozen=True)
class Sandbox:
    """The user the student's code runs as (None: the grader's own) and its limits."""

    uid: int | None = None
    gid: int | None = None
    limits: Limits = Limits()

    def preexec(self) -> Callable[[], None]:
        """What the forked child does before exec: limits, then the user, then die with us."""
        limits, uid, gid = self.limits, self.uid, self.gid

        def run() -> None:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if uid is not None and gid is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            if _PRCTL is not None:  # after setuid, which clears it
                _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)

        return run

    def lock(self) -> int | None:
        """With a user of its own: wait until no other grading on this machine runs code as that
        user (clean-up kills all its processes), and hold the lock; returns the lock's fd."""
        if self.uid is None:
            return None
        folder = "/run" if os.access("/run", os.W_OK) else "/var/lock"
        fd = os.open(os.path.join(folder, "minitorch-grader.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold `lock()` for the duration of a grading (nothing to hold without a user)."""
        fd = self.lock()
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)

    def own(self, path: Path, recursive: bool = True) -> None:
        """Give `path` (and, if `recursive`, everything under it) to the sandbox user."""
        if self.uid is None or self.gid is None:
            return
        if not recursive:
            os.lchown(path, self.uid, self.gid)
            return
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.lchown(name, self.uid, self.gid)

    def clean_up(self, keep: Path) -> list[str]:
        """Kill what the test process left running; delete what it left outside `keep` (the
        grading folder). Returns a line per thing found, for the report."""
        if self.uid is None:  # no user of its own: what it left are orphans re-parented to us
            return kill_orphans(set())
        return kill_user(self.uid, self.gid or 0) + remove_files_of(self.uid, SHARED_TMP, keep)


def make_sandbox(limits: Limits | None = None, user: str = SANDBOX_USER) -> Sandbox:
    """As root: the sandbox user (created if missing). Otherwise: no user, the same limits."""
    become_subreaper()
    limits = limits or Limits()
    if os.geteuid() != 0:
        return Sandbox(None, None, limits)
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                user,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(user)
    return Sandbox(entry.pw_uid, entry.pw_gid, limits)


def become_subreaper() -> None:
    """Orphans of our descendants become our children (Linux), so none escapes clean_up."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_CHILD_SUBREAPER, 1)


def _processes() -> Iterator[tuple[int, int, int, str]]:
    """(pid, parent pid, real uid, state) of every process."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            yield int(entry.name), int(fields["PPid"]), int(fields["Uid"].split()[0]), fields["State"].strip()
        except (KeyError, ValueError, IndexError):
            continue


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def kill_orphans(spared: set[int]) -> list[str]:
    """Kill our children other than `spared` (orphans re-parented to us), until none is left."""
    found: list[str] = []
    me = os.getpid()
    for _ in range(200):
        orphans = [pid for pid, ppid, _, state in _processes() if ppid == me and pid not in spared]
        alive = []
        for pid in orphans:
            _reap(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                alive.append(pid)
        if not orphans:
            return found
        found += [f"killed process {pid}, left running by the tests" for pid in alive]
        time.sleep(0.02)
        for pid in orphans:
            _reap(pid)
    return found


def kill_user(uid: int, gid: int) -> list[str]:
    """Kill every process of `uid`: a child that becomes `uid` sends SIGKILL to all it may."""
    found: list[str] = []
    for _ in range(200):
        left = [pid for pid, _, owner, state in _processes() if owner == uid and not state.startswith("Z")]
        if not left:
            return found
        found += [f"killed process {pid} of {SANDBOX_USER}" for pid in left if not found]
        killer = os.fork()
        if killer == 0:  # pragma: no cover - the forked killer
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(killer, 0)
        time.sleep(0.02)
        for pid in left:
            _reap(pid)
    return found


def remove_files_of(uid: int, places: Iterable[str], keep: Path) -> list[str]:
    """Delete every file and folder owned by `uid` under `places`, except under `keep`."""
    found = []
    keep = keep.resolve()
    for place in places:
        for folder, dirs, files in os.walk(place):
            # Only folders others may write into can hold the user's files (besides its own).
            dirs[:] = [d for d in dirs if Path(folder, d).resolve() != keep and _writable_or_owned(folder, d, uid)]
            for name in list(dirs) + files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if info.st_uid != uid:
                    continue
                found.append(f"deleted {path}, written by the tests")
                if stat.S_ISDIR(info.st_mode):
                    dirs.remove(name)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
    return found


def python_folders(python: str = sys.executable) -> list[Path]:
    """The folders the sandbox user must pass through to run `python` and its packages."""
    places = {Path(os.path.realpath(python)).parent, Path(sys.prefix), Path(sys.base_prefix)}
    places.update(Path(p) for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    folders = set()
    for place in places:
        resolved = place.resolve()
        folders.update([resolved, *resolved.parents])
    return sorted(folders)


def _writable_or_owned(folder: str, name: str, uid: int) -> bool:
    try:
        info = os.lstat(os.path.join(folder, name))
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and (info.st_uid == uid or bool(info.st_mode & stat.S_IWOTH))


@contextlib.contextmanager
def protect(paths: Iterable[Path], passable: Iterable[Path] = ()) -> Iterator[None]:
    """While grading runs as root, `paths` are readable by root only, and the folders in
    `passable` (on the way to Python) can be passed through by others; afterwards as before.

    The old modes are written to a journal first, so a grading killed before it could restore
    them (SIGKILL, a power cut) is undone when the next grading starts (`restore_interrupted`)."""
    saved: list[tuple[Path, int]] = []
    try:
        if os.geteuid() == 0:
            restore_interrupted()
            planned: list[tuple[Path, int, int | None]] = [
                (p, stat.S_IMODE(os.lstat(p).st_mode), 0o700) for p in paths if _plain(p)
            ]
            planned += [(f, stat.S_IMODE(os.stat(f).st_mode), None) for f in passable if f.is_dir()]
            _write_journal([(path, mode) for path, mode, _ in planned])
            for path, mode, keep in planned:
                new_mode = mode & keep if keep is not None else mode | stat.S_IXOTH
                if new_mode != mode:
                    with contextlib.suppress(OSError):
                        os.chmod(path, new_mode)
                        saved.append((path, mode))
        yield
    finally:
        for path, mode in reversed(saved):
            with contextlib.suppress(OSError):
                os.chmod(path, mode)
        if os.geteuid() == 0:
            _journal().unlink(missing_ok=True)


def _plain(path: Path) -> bool:
    return path.exists() and not path.is_symlink()


def _journal() -> Path:
    """Where `protect` notes the modes it changed: a folder only root may write to."""
    return Path("/run" if os.access("/run", os.W_OK) else "/var/lock", "minitorch-grader-modes.json")


def _write_journal(modes: list[tuple[Path, int]]) -> None:
    journal = _journal()
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump([[str(path), mode] for path, mode in modes], file)


def restore_interrupted() -> list[str]:
    """Give back the modes a killed grading changed (from its journal, if root wrote it). Call
    it holding the gradings' lock (`Sandbox.exclusive`), as `protect` is;
    returns those paths."""
    journal = _journal()
    try:
        info = os.lstat(journal)
    except FileNotFoundError:
        return []
    restored = []
    if stat.S_ISREG(info.st_mode) and info.st_uid == 0:
        for path, mode in json.loads(journal.read_text(encoding="utf-8")):
            with contextlib.suppress(OSError):
                os.chmod(path, mode)
                restored.append(path)
    journal.unlink()
    return restored


def reference_copies(reference: Path, packages: Iterable[str]) -> list[Path]:
    """What would show the reference's code to the student's process: the reference's entries
    (except one holding the running Python), and installed copies of the graded packages."""
    python = Path(sys.prefix).resolve()
    paths = [entry for entry in reference.iterdir() if not python.is_relative_to(entry.resolve())]
    packages = list(packages)
    for folder in {Path(p) for p in sys.path if p and Path(p).is_dir()}:
        if folder.resolve() == reference.resolve() or reference.resolve().is_relative_to(folder.resolve()):
            continue
        for entry in folder.iterdir():
            name = entry.name
            if name in packages or name.startswith("__editable__") or name.endswith((".egg-link", ".pth")):
                if any(p in name for p in packages) or name in packages:
                    paths.append(entry)
            if name.endswith((".dist-info", ".egg-info")) and any(name.startswith(p + "-") for p in packages):
                paths.append(entry)
    return paths
