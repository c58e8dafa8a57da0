"""Confinement of one process at the OS level: in the child before exec (limits, the privilege drop), and afterwards.

Used by sandbox.py's launch plans: `preexec` is what the child runs between fork and exec;
`kill_uid` ends whatever the notebook's uid left running, however it detached. The mount
helpers serve the private mount namespace a root grader builds without bubblewrap
(sandbox._NamespacePlan).
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
from pathlib import Path
from typing import Any, Callable

from grader.run import privilege

libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1


def can_unshare_mounts() -> bool:
    return libc is not None and os.geteuid() == 0


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


# Folders every user may write that outlive a process: without a private copy, one student's notebook could
# leave files (or links) there for the next student of the batch to read. /tmp has its own sized tmpfs.
SHARED_WRITABLE = ("/dev/shm", "/var/tmp", "/run/shm", "/run/lock", "/var/lock", "/var/crash", "/dev/mqueue")
_SCANNED = ("/", "/var", "/run", "/dev", "/srv", "/opt", "/home", "/mnt", "/media", "/usr/local")


def shared_writable_dirs() -> set[Path]:
    """SHARED_WRITABLE, and any other world-writable folder one or two levels down, but /tmp, /proc and /sys."""
    found = {Path(p) for p in SHARED_WRITABLE if os.path.isdir(p) and not os.path.islink(p)}
    for top in _SCANNED:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mode & stat.S_IWOTH:
                    found.add(Path(entry.path))
            except OSError:
                continue
    return {p for p in found if p.parts[1:2] not in (("tmp",), ("proc",), ("sys",))}


def cover_shared(dirs: set[Path], size: int = 16 << 20) -> None:
    """An empty private tmpfs over each, writable by all as before (semaphores in /dev/shm keep working)."""
    for path in sorted(dirs, key=lambda p: len(p.parts)):
        mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")


def preexec(limits: Any, uid: int | None, namespace: Any = None, cwd: str | None = None,
            own_signals_only: bool = False) -> Callable[[], None]:
    """The function run in the child between fork and exec (as the grader's user).

    `own_signals_only`: the notebook runs in the host's PID namespace (no bubblewrap, no warm start),
    where it shares a uid with other notebooks or with the grader: it may signal itself only.

    `limits` is a sandbox.Limits, `namespace` a sandbox._NamespacePlan (typed loosely: sandbox imports this module).
    """
    nproc_in_use = 0 if uid is not None or os.geteuid() == 0 else tasks_of(os.getuid()) + 16

    def apply() -> None:
        try:
            os.setsid()
            if namespace is not None:
                namespace.build()
            elif cwd is not None:
                os.chdir(cwd)
            cpu = int(limits.notebook_timeout + 30)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            # Counted per real uid: on a shared uid (a grader that is not root) add what already runs.
            nproc = limits.processes + (0 if uid is not None else nproc_in_use)
            try:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            except (ValueError, OSError):
                pass
            if libc is not None:  # the shared drop: every step checked, a failure ends the child
                privilege.drop_to(uid)
                if own_signals_only:  # kill(-1) would end every notebook of the batch, or the grader itself
                    privilege.signal_only_self(libc)
                check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")  # after setuid
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        except BaseException as exc:  # say why on the captured stderr, then give up
            os.write(2, f"sandbox setup failed: {type(exc).__name__}: {exc}\n".encode())
            os._exit(121)

    return apply


# ------------------------------------------------------------------ afterwards


def kill_uid(uid: int) -> None:
    """Kill every process of `uid` (a double fork or setsid cannot escape this)."""
    for _ in range(5):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            except BaseException:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
        if not processes_of(uid):
            return


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def tasks_of(uid: int) -> int:
    """Threads of `uid` (what RLIMIT_NPROC counts)."""
    total = 0
    for pid in processes_of(uid):
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total
