"""Warm start: each notebook's process is forked from a process that has already imported its code.

Starting a notebook's process cold costs an exec of bubblewrap, then Python,
numpy and IPython importing (0.3-0.8 s on a 2-core machine); a fork of a warm
process costs milliseconds. The warm process (zygote.py, one per grader
process) imports the worker's code once and never runs student code; for each
notebook it forks a child that builds the same sandbox bubblewrap would from
the same argument list (`sandbox.bwrap_launch`): new mount, PID, network, IPC
and UTS namespaces, a private root, a sized /tmp, limits, the unprivileged uid,
no_new_privs. Each child is a fresh fork of an untouched parent, so nothing a
notebook does can persist into the next.

Used only where it keeps bubblewrap's isolation: when bubblewrap itself was
proven (isolation "bwrap"), the grader is root (so the child can build
namespaces and then drop to the notebook's uid) and the machine's pivot_root is
known. The first warm child of each grader process is its proof: when it does
not reach "ready", that process starts its notebooks cold (with bubblewrap), and
says why in `why_cold()`. GRADER_WARM=0 turns warm start off.
"""
from __future__ import annotations

import atexit
import json
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.run import sandbox

ZYGOTE_SOURCE = Path(__file__).resolve().parent / "zygote.py"
START_TIMEOUT = 60.0
SPAWN_TIMEOUT = 10.0
PIVOT_ROOT_KNOWN = ("x86_64", "aarch64", "riscv64", "ppc64le", "s390x")


class WarmUnavailable(Exception):
    """The warm process could not start or answer: the machine's fault, never the student's."""


class WarmProcess:
    """The grader's handle on one warm child (its monitor's pid), shaped like subprocess.Popen."""

    def __init__(self, pid: int, stdin, stdout, status_fd: int) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        self._status_fd = status_fd

    def poll(self) -> int | None:
        return self._read_status(0.0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._read_status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired("warm child", timeout or 0.0)
        return code

    def _read_status(self, timeout: float | None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        ready, _, _ = select.select([self._status_fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self._status_fd, 64)
        os.close(self._status_fd)
        try:
            self.returncode = int(data)
        except ValueError:  # the monitor itself was killed before it could say
            self.returncode = -signal.SIGKILL
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __del__(self) -> None:
        if self.returncode is None:
            try:
                os.close(self._status_fd)
            except OSError:
                pass


def why_not_here() -> str | None:
    """Why this machine cannot give a warm child bubblewrap's isolation; None when it can."""
    if os.environ.get("GRADER_WARM", "1") == "0":
        return "warm start turned off (GRADER_WARM=0)"
    if not sys.platform.startswith("linux"):
        return "warm start needs Linux namespaces"
    if os.geteuid() != 0:
        return "warm start needs a root grader (to build the namespaces, then drop to the notebook's uid)"
    if platform.machine() not in PIVOT_ROOT_KNOWN:
        return f"pivot_root is not known on {platform.machine()}"
    return None


class ForkServer:
    """One zygote for this grader process; requests go one at a time."""

    def __init__(self, limits: sandbox.Limits) -> None:
        self.owner = os.getpid()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{sandbox.STAGE_PREFIX}{os.getpid()}-warm-"))
        shutil.copyfile(ZYGOTE_SOURCE, self.folder / "zygote.py")
        for name in sandbox.SANDBOX_MODULES:  # worker.py and the sibling modules it and the zygote import
            shutil.copyfile(sandbox.WORKER_SOURCE.parent / name, self.folder / name)
        (self.folder / "home").mkdir()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        env = sandbox.worker_env(limits, str(self.folder / "home"))
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [*sandbox.python_argv(str(self.folder / "zygote.py")), str(theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr, env=env,
            pass_fds=[theirs.fileno()], cwd="/", start_new_session=True,
        )
        theirs.close()
        reply = self._receive(START_TIMEOUT)
        if "ready" not in reply:
            self.close()
            raise WarmUnavailable(f"the warm process did not start: {reply.get('error') or self._stderr_text()}")

    def _receive(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            raise WarmUnavailable("the warm process did not answer")
        try:
            data = self.sock.recv(1 << 16)
        except OSError as exc:
            raise WarmUnavailable(f"the warm process is gone: {exc}") from None
        if not data:
            raise WarmUnavailable(f"the warm process is gone: {self._stderr_text() or 'no reason given'}")
        return json.loads(data)

    def _stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return " | ".join(self._stderr.read(4000).decode("utf-8", "replace").strip().splitlines()[-3:])
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc.poll() is None

    def spawn(self, launch: sandbox.Launch, limits: sandbox.Limits, stderr_fd: int) -> WarmProcess:
        """A new warm child for `launch` (bubblewrap's plan); its pipes, and a handle for its exit code."""
        bwrap_args = launch.argv[1:len(launch.argv) - len(sandbox.python_argv(sandbox.INSIDE_WORKER))]
        plan = {"bwrap": bwrap_args, "env": launch.env, "uid": launch.uid, "scratch_bytes": limits.scratch_bytes,
                "rlimits": rlimits(limits, launch.uid)}
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            socket.send_fds(self.sock, [json.dumps(plan).encode()], [in_r, out_w, stderr_fd, status_w])
            reply = self._receive(SPAWN_TIMEOUT)
        except (OSError, WarmUnavailable) as exc:
            for fd in (in_w, out_r, status_r):
                os.close(fd)
            raise WarmUnavailable(str(exc)) from None
        finally:
            for fd in (in_r, out_w, status_w):
                os.close(fd)
        if "pid" not in reply:
            for fd in (in_w, out_r, status_r):
                os.close(fd)
            raise WarmUnavailable(f"the warm process could not fork: {reply.get('error')}")
        return WarmProcess(int(reply["pid"]), os.fdopen(in_w, "wb", buffering=0), os.fdopen(out_r, "rb", buffering=0), status_r)

    def close(self) -> None:
        if self.owner != os.getpid():
            return  # a forked copy (a pool process): the zygote belongs to the parent
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def rlimits(limits: sandbox.Limits, uid: int | None) -> dict[str, int]:
    """The limits the cold start's preexec applies (confine.preexec), by name."""
    cpu = int(limits.notebook_timeout + 30)
    found = {"RLIMIT_CPU": cpu, "RLIMIT_AS": limits.memory_bytes, "RLIMIT_FSIZE": limits.file_bytes, "RLIMIT_CORE": 0}
    if uid is not None:
        found["RLIMIT_NPROC"] = limits.processes
    return found


# ------------------------------------------------------------------ one per grader process

_SERVER: ForkServer | None = None
_COLD_BECAUSE: str | None = None  # set once warm start failed its proof in this process
_PROVEN = False  # a warm child of this process has reached "ready"


def why_cold() -> str | None:
    """Why this process starts notebooks cold (None: it starts them warm)."""
    return why_not_here() or _COLD_BECAUSE


def server(limits: sandbox.Limits) -> ForkServer:
    global _SERVER
    if _SERVER is None or not _SERVER.alive():
        if _SERVER is not None:
            _SERVER.close()
        _SERVER = ForkServer(limits)
        atexit.register(_SERVER.close)
    return _SERVER


def prestart(limits: sandbox.Limits) -> None:
    """Start this process's warm process now (a pool or Dask worker's start-up), not in its first notebook's time.

    A failure here is not reported: the first notebook tries again, and its proof decides warm or cold.
    """
    if why_cold() is None:
        try:
            server(limits)
        except (WarmUnavailable, OSError):
            pass


def proven() -> bool:
    return _PROVEN


def mark_proven() -> None:
    global _PROVEN
    _PROVEN = True


def give_up(reason: str) -> None:
    """The first warm child did not come up: this process starts its notebooks cold from now on."""
    global _COLD_BECAUSE, _SERVER
    _COLD_BECAUSE = f"warm start failed its proof: {reason}"
    if _SERVER is not None:
        _SERVER.close()
        _SERVER = None


def shutdown() -> None:
    global _SERVER
    if _SERVER is not None:
        _SERVER.close()
        _SERVER = None
