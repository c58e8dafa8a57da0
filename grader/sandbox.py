"""Where and how the student's process runs: a fresh folder, resource limits, an OS sandbox.

The working folder holds only what the handout's notebook expects to find
(MNISTtools.py, the idx files, a data loader module) plus the worker script.
On Linux with bubblewrap the process also gets no network, a read-only
system, a private /tmp, its own process namespace, and cannot see the
project's source or the reference solutions.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKER_SOURCE = Path(__file__).resolve().parent / "worker.py"
SHIMS = Path(__file__).resolve().parent / "shims"
WORKER_NAME = "grader_worker.py"


class SandboxError(Exception):
    """The sandbox could not be prepared (not the student's fault)."""


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    call_timeout: float = 30.0
    memory_bytes: int = 2 * 1024**3
    output_chars: int = 20_000  # kept per cell and stream; the rest is counted and dropped
    file_bytes: int = 256 * 1024**2  # largest file the student may write
    processes: int = 64


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "auto"  # "auto" | "bwrap" | "none"
    data_source: str | None = None  # "embedded" | "fashion" | a folder; None: env GRADER_DATA
    subsample: int | None = None  # serve only the first N training images
    extra_files: tuple[Path, ...] = field(default_factory=tuple)  # data loader modules etc.


def bwrap_available() -> bool:
    """bubblewrap is installed and can create namespaces here."""
    path = shutil.which("bwrap")
    if not path or not sys.platform.startswith("linux"):
        return False
    try:
        probe = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--dev", "/dev", "--proc", "/proc", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


_BWRAP_OK: bool | None = None


def choose_isolation(mode: str) -> str:
    """'bwrap' when asked for or available under auto; 'rlimits' otherwise."""
    global _BWRAP_OK  # cached probe of the OS, not grading state
    if mode == "none":
        return "rlimits"
    if _BWRAP_OK is None:
        _BWRAP_OK = bwrap_available()
    if mode == "bwrap" and not _BWRAP_OK:
        raise SandboxError("--sandbox bwrap was asked for but bubblewrap is not installed or cannot create namespaces")
    return "bwrap" if _BWRAP_OK else "rlimits"


def prepare_workdir(config: SandboxConfig, parent: str | None = None) -> Path:
    """A fresh folder with the worker, the data shims and the idx files."""
    from reference import data

    workdir = Path(tempfile.mkdtemp(prefix="grader-", dir=parent))
    (workdir / ".grader").mkdir()
    shutil.copyfile(WORKER_SOURCE, workdir / ".grader" / WORKER_NAME)
    try:
        data.write_dataset(workdir, source=config.data_source, subsample=config.subsample)
    except (OSError, ValueError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError(f"could not prepare the data for the notebook: {exc}") from exc
    shutil.copyfile(Path(data.__file__).with_name("MNISTtools.py"), workdir / "MNISTtools.py")
    for extra in config.extra_files:
        shutil.copyfile(extra, workdir / Path(extra).name)
    return workdir


def worker_env(limits: Limits, isolation: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT", "TZ")
    }
    env.update(
        HOME="/tmp",
        MPLBACKEND="Agg",
        MPLCONFIGDIR="/tmp/mpl",
        PAGER="cat",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONIOENCODING="utf-8",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        GRADER_OUTPUT_LIMIT=str(limits.output_chars),
    )
    if isolation != "bwrap":
        env["GRADER_HIDE_ROOT"] = str(PROJECT_ROOT)
    return env


def _bwrap_prefix(workdir: Path) -> list[str]:
    """bubblewrap arguments: read-only system, writable workdir only, no network, own pids."""
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"]
    for path in ("/usr", "/etc", "/opt", "/lib", "/lib64", "/bin", "/sbin", "/root/.pyenv"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    prefix = Path(sys.prefix).resolve()
    base = Path(sys.base_prefix).resolve()
    for path in {prefix, base}:
        if not str(path).startswith(("/usr", "/opt", "/root/.pyenv")):
            args += ["--ro-bind", str(path), str(path)]
    # The project's own source and reference stay invisible, even when they sit under a bound path.
    args += ["--tmpfs", str(PROJECT_ROOT)] if _inside_bound(PROJECT_ROOT) else []
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return args


def _inside_bound(path: Path) -> bool:
    return any(str(path).startswith(p) for p in ("/usr", "/opt", "/root/.pyenv", "/etc"))


def worker_command(workdir: Path, isolation: str) -> list[str]:
    python = [sys.executable, "-u", "-X", "utf8", str(workdir / ".grader" / WORKER_NAME)]
    if isolation == "bwrap":
        return _bwrap_prefix(workdir) + python
    return python


def _die_with_parent() -> None:
    """Linux: the worker is killed if the grader dies (a killed batch leaves nothing running)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def limit_resources(limits: Limits):
    """A preexec function that applies rlimits in the child before it becomes the worker."""

    def apply() -> None:
        os.setsid()
        cpu = int(limits.notebook_timeout + 30)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        except (ValueError, OSError):
            pass
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        _die_with_parent()

    return apply
