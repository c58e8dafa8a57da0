"""Where and how the student's process runs: limits, an unprivileged user, a private filesystem.

Three layers, each used where the machine allows it:

* bubblewrap (``--sandbox bwrap``, or ``auto`` once a real worker has started in it):
  private mount, PID, network, IPC and UTS namespaces; the system and the
  interpreter's own folders read-only; a size-limited tmpfs for ``/tmp`` and the
  working folder; nothing else of the host visible.
* an unprivileged user: when the grader runs as root, student code runs as a uid
  no account uses (``UID_BASE + the grader's pid``), in either isolation; every
  process of that uid is killed when the notebook ends.
* resource limits (always): memory, CPU, file size, processes, core dumps.

Without bubblewrap, a grader running as root still gives the notebook a private
mount namespace (a sized tmpfs ``/tmp``, the project, the inputs and the outputs
hidden) and no network when the kernel lets it; a grader that is not root can only
apply limits, and says so (``containment`` in the result).

The grader never reads a file the student's process could have written: cells,
inputs and results travel over the worker's pipes (see channel.py); the files the
notebook reads (the worker script, the data shims) are staged once per grader
process in a folder the student cannot write, and bound read-only.
"""
from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import site
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.run import confine
from grader.run.confine import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUTS, MS_BIND, MS_NODEV, MS_NOSUID,
                                 MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Never visible to student code, wherever they are installed (an install into site-packages
# puts the reference beside numpy, inside a folder the sandbox must bind).
SECRET_DIRS = (Path(__file__).resolve().parents[1], PROJECT_ROOT / "reference", PROJECT_ROOT / "assignments")
WORKER_SOURCE = Path(__file__).resolve().parent / "worker.py"
# Staged beside worker.py (and zygote.py), which import them by plain name: the worker's own modules,
# and the two both sides share (wire.py, the value format; privilege.py, the one checked drop).
SANDBOX_MODULES: tuple[str, ...] = (
    "worker.py", "worker_channel.py", "worker_shell.py", "worker_calls.py", "worker_shims.py",
    "wire.py",
    "privilege.py",
)
UID_BASE = 2_100_000_000  # + the grader's pid: below 2**31, far above any account range in use
STAGE_PREFIX = "nn-grader-"
INSIDE_WORK = "/tmp/work"  # the notebook's folder, inside the private filesystem
INSIDE_WORKER = "/tmp/.grader/worker.py"
SYSTEM_DIRS = ("/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")


class SandboxError(Exception):
    """The sandbox could not be prepared or started: the machine's fault, never the student's."""


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    call_timeout: float = 30.0
    memory_bytes: int = 2 * 1024**3
    output_chars: int = 20_000  # kept per cell and stream; the rest is counted and dropped
    file_bytes: int = 256 * 1024**2  # largest file the student may write
    scratch_bytes: int = 512 * 1024**2  # /tmp and the working folder together (private tmpfs)
    processes: int = 64
    message_bytes: int = 64 * 1024**2  # largest message the grader accepts from the notebook's process
    helper_calls: int = 2000  # reference answers one retry may ask for
    helper_seconds: float = 10.0  # time one reference answer may take


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "auto"  # "auto" | "bwrap" | "none"
    data_source: str | None = None  # "embedded" | "embedded-mnist" | "fashion" | a folder; None: env GRADER_DATA
    subsample: int | None = None  # serve only the first N training images
    extra_files: tuple[Path, ...] = field(default_factory=tuple)  # data loader modules etc.
    hidden: tuple[Path, ...] = field(default_factory=tuple)  # host folders never shown (inputs, outputs)


@dataclass
class Launch:
    """Everything needed to start one worker process."""

    argv: list[str]
    env: dict[str, str]
    preexec: Callable[[], None]
    isolation: str  # "bwrap" | "rlimits"
    containment: str  # what is contained, in words, for the result
    uid: int | None  # the unprivileged uid the notebook runs as (None: the grader's own)
    host_workdir: Path | None  # a host folder to remove afterwards (only without a private tmpfs)


# ------------------------------------------------------------------ staging


def clean_stale(parent: str | None = None) -> list[Path]:
    """Remove staging and work folders left by grader processes that no longer run."""
    removed = []
    parent_dir = Path(parent or tempfile.gettempdir())
    try:
        entries = list(parent_dir.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = re.match(rf"{STAGE_PREFIX}(\d+)-", entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, someone else's
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def stage(config: SandboxConfig, with_data: bool = True) -> Path:
    """A grader-owned folder: worker.py and files/ (what the notebook's folder holds)."""
    from reference import data

    root = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-stage-"))
    atexit.register(shutil.rmtree, root, True)
    os.chmod(root, 0o755)
    files = root / "files"
    files.mkdir(mode=0o755)
    for name in SANDBOX_MODULES:
        shutil.copyfile(WORKER_SOURCE.parent / name, root / name)
    try:
        if with_data:
            data.write_dataset(files, source=config.data_source, subsample=config.subsample)
            shutil.copyfile(data.mnisttools_path(), files / "MNISTtools.py")
            for extra in config.extra_files:
                shutil.copyfile(extra, files / Path(extra).name)
    except (OSError, ValueError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise SandboxError(f"could not prepare the data for the notebook: {exc}") from exc
    for path in [*(root / name for name in SANDBOX_MODULES), *files.iterdir()]:
        os.chmod(path, 0o644)
    return root


# ------------------------------------------------------------------ what the interpreter needs


def interpreter_paths() -> list[Path]:
    """Folders the worker's Python needs, wherever it lives: prefixes and site folders."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable))}
    try:
        candidates.update(site.getsitepackages())
    except AttributeError:  # pragma: no cover - old virtualenv
        pass
    if site.ENABLE_USER_SITE:
        candidates.add(site.getusersitepackages())
    candidates.update(p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")))
    paths = set()
    for raw in candidates:
        if not raw:
            continue
        for path in {Path(raw).absolute(), Path(raw).resolve()}:
            if path.is_dir() and path != Path("/"):
                paths.add(path)
    # Parents first, nothing covered twice.
    chosen: list[Path] = []
    for path in sorted(paths, key=lambda p: (len(p.parts), str(p))):
        if not any(_inside(path, other) for other in chosen):
            chosen.append(path)
    return chosen


def _secret_dirs() -> list[Path]:
    """The grader's and the reference's packages and the assignments, where they really are."""
    found = set(SECRET_DIRS)
    try:
        import reference

        found.add(Path(reference.__file__).resolve().parent)
    except ImportError:  # pragma: no cover - the grader always ships it
        pass
    return sorted(p for p in found if p.is_dir())


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _under_system(path: Path) -> bool:
    return any(_inside(path, Path(d)) for d in SYSTEM_DIRS)


def unprivileged_uid() -> int | None:
    """The uid student code runs as, when the grader is root; None otherwise."""
    if os.geteuid() != 0:
        return None
    uid = UID_BASE + os.getpid()
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 4_194_304  # past the largest pid: no other grader process picks it


def worker_env(limits: Limits, home: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT", "TZ")
    }
    env.update(
        HOME=home,
        MPLBACKEND="Agg",
        MPLCONFIGDIR=os.path.join(home, ".mpl"),
        PAGER="cat",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONIOENCODING="utf-8",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        GRADER_OUTPUT_LIMIT=str(limits.output_chars),
    )
    return env


def python_argv(worker: str) -> list[str]:
    return [sys.executable, "-u", "-X", "utf8", worker]


# ------------------------------------------------------------------ bubblewrap


def bwrap_launch(staged: Path, limits: Limits, config: SandboxConfig, bwrap: str = "bwrap") -> Launch:
    uid = unprivileged_uid()
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if uid is not None:
        # Root without a user namespace: the worker keeps only what it needs to drop to `uid`,
        # then loses every capability with it (see worker.drop_privileges).
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        args += ["--unshare-user"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    # /tmp first: whatever is bound below it later (a venv in /tmp) stays visible.
    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    hide_project = any(_inside(PROJECT_ROOT, Path(d)) for d in SYSTEM_DIRS)
    needed = interpreter_paths()
    if hide_project:
        args += ["--tmpfs", str(PROJECT_ROOT)]
    made = {Path("/"), Path("/tmp"), *(Path(d) for d in SYSTEM_DIRS)}
    for path in needed:
        if _under_system(path) and not (hide_project and _inside(path, PROJECT_ROOT)):
            continue
        # bubblewrap would create the parents with the host's modes (0700 for /root): open them to all.
        for parent in reversed(path.parents):
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(path), str(path)]
    for secret in _secret_dirs():
        if any(_inside(secret, p) for p in needed) or _under_system(secret):
            args += ["--tmpfs", str(secret)]
    args += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "0755", "--dir", "/tmp/.grader"]
    for name in SANDBOX_MODULES:
        args += ["--ro-bind", str(staged / name), f"{os.path.dirname(INSIDE_WORKER)}/{name}"]
    args += ["--perms", "0777", "--dir", INSIDE_WORK]
    for item in sorted((staged / "files").iterdir()):
        args += ["--ro-bind", str(item), f"{INSIDE_WORK}/{item.name}"]
    args += ["--chdir", INSIDE_WORK]
    env = worker_env(limits, INSIDE_WORK)
    if uid is not None:
        env["GRADER_DROP_TO"] = str(uid)
    who = f"uid {uid}" if uid is not None else "the grader's own user in a user namespace"
    return Launch(
        argv=args + python_argv(INSIDE_WORKER),
        env=env,
        preexec=confine.preexec(limits, uid=None),
        isolation="bwrap",
        containment=f"bubblewrap: private filesystem, processes and network; {who}; {limits.scratch_bytes >> 20} MiB scratch",
        uid=uid,
        host_workdir=None,
    )


# ------------------------------------------------------------------ without bubblewrap


def rlimits_launch(staged: Path, limits: Limits, config: SandboxConfig) -> Launch:
    uid = unprivileged_uid()
    if uid is not None and confine.can_unshare_mounts():
        hidden = [PROJECT_ROOT, *config.hidden]
        env = worker_env(limits, INSIDE_WORK)
        return Launch(
            argv=python_argv(INSIDE_WORKER),
            env=env,
            preexec=confine.preexec(limits, uid=uid, namespace=_NamespacePlan(staged, hidden, limits.scratch_bytes), own_signals_only=True),
            isolation="rlimits",
            containment=(f"resource limits; uid {uid}; private mount namespace (project, inputs and outputs hidden, "
                         f"{limits.scratch_bytes >> 20} MiB scratch); no network. Other users' readable files are readable."),
            uid=uid,
            host_workdir=None,
        )
    # A plain folder on the host: what the notebook may write there is bounded per file only.
    workdir = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-work-"))
    for item in (staged / "files").iterdir():
        shutil.copyfile(item, workdir / item.name)
    if uid is not None:
        for path in [workdir, *workdir.iterdir()]:
            os.chown(path, uid, uid)
    os.chmod(workdir, 0o700)
    env = worker_env(limits, str(workdir))
    if uid is not None:
        what = f"resource limits; uid {uid}; the host filesystem readable where others may read; network open"
    else:
        what = ("resource limits only: runs as the grader's own user, can read and write what the grader can, "
                "and has the network")
    return Launch(
        argv=python_argv(str(staged / "worker.py")),
        env=env,
        preexec=confine.preexec(limits, uid=uid, cwd=str(workdir), own_signals_only=True),
        isolation="rlimits",
        containment=what,
        uid=uid,
        host_workdir=workdir,
    )


@dataclass
class _NamespacePlan:
    """A private filesystem built with mount(2) by a root grader when bubblewrap is missing."""

    staged: Path
    hidden: list[Path]
    scratch_bytes: int

    def build(self) -> None:
        confine.check(confine.libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        confine.mount(None, "/", None, MS_REC | MS_PRIVATE)
        needed = interpreter_paths()
        # Folders to cover with an empty tmpfs: what must stay hidden, and any folder that
        # others cannot enter on the way to the interpreter (/root for a pyenv install).
        covers = {p for p in self.hidden if p.is_dir()}
        for path in needed:
            for parent in reversed(path.parents):
                if parent != Path("/") and not os.stat(parent).st_mode & stat.S_IXOTH:
                    covers.add(parent)
                    break
        shared = confine.shared_writable_dirs() - covers  # /dev/shm, /var/tmp...: one private copy per notebook
        covers = {c for c in covers if not _inside(c, Path("/tmp"))}
        keep = {str(p): os.open(p, os.O_PATH | os.O_DIRECTORY) for p in needed
                if any(_inside(p, c) for c in covers | shared) or _inside(p, Path("/tmp"))}
        staged_fd = os.open(self.staged, os.O_PATH | os.O_DIRECTORY)
        confine.mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={self.scratch_bytes},mode=1777")
        for cover in sorted(covers, key=lambda p: len(p.parts)):
            if cover.is_dir():
                confine.mount("tmpfs", str(cover), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        confine.cover_shared(shared)
        for path, fd in sorted(keep.items()):
            os.makedirs(path, exist_ok=True)
            confine.mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            confine.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
        for secret in _secret_dirs():  # after the rebinds: inside site-packages too
            if secret.is_dir():
                confine.mount("tmpfs", str(secret), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        os.makedirs("/tmp/.grader", mode=0o755)
        for name in SANDBOX_MODULES:
            target = f"{os.path.dirname(INSIDE_WORKER)}/{name}"
            open(target, "w").close()
            confine.mount(f"/proc/self/fd/{staged_fd}/{name}", target, None, MS_BIND)
        os.makedirs(INSIDE_WORK, mode=0o777)
        os.chmod(INSIDE_WORK, 0o777)
        for name in sorted(os.listdir(f"/proc/self/fd/{staged_fd}/files")):
            target = f"{INSIDE_WORK}/{name}"
            open(target, "w").close()
            confine.mount(f"/proc/self/fd/{staged_fd}/files/{name}", target, None, MS_BIND)
            confine.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        for fd in [staged_fd, *keep.values()]:
            os.close(fd)
        os.chdir(INSIDE_WORK)


