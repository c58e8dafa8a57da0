"""Starting, proving and ending the notebook's process: the handshake, warm or cold, and the isolation it runs in.

A `Worker` owns one worker process (see worker.py) in a sandbox (see sandbox.py).
Starting it is a handshake: until the worker says it is ready, no student code has
run, so a process that dies before then is the machine's fault (`HarnessFault`, with
bubblewrap's or Python's own words), never the student's. Ending it kills whatever
the notebook's uid started. What is said to it afterwards is execute.py's `Session`.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from grader.run import confine, forkserver, privilege, sandbox
from grader.run.channel import Channel, ChannelClosed, ChannelGarbage, ChannelTimeout

START_TIMEOUT = 60.0  # seconds for Python, numpy and IPython to start in the sandbox


class HarnessFault(Exception):
    """The grader or the machine failed, not the student: never recorded as a grade."""


def describe_exit(code: int | None) -> str:
    """How the notebook's process ended, in words for the result."""
    if code is None:
        return "the notebook's process stopped answering"
    if code > 128 and code - 128 in {s.value for s in signal.Signals}:
        code = -(code - 128)  # bubblewrap reports a child killed by signal N as 128 + N
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        meaning = {
            "SIGSEGV": "segmentation fault",
            "SIGKILL": "killed (memory or time limit)",
            "SIGXCPU": "CPU time limit",
            "SIGABRT": "aborted",
            "SIGBUS": "bus error",
        }.get(name, name)
        return f"the notebook's process crashed: {meaning}"
    return f"the notebook's process exited with code {code} (sys.exit or os._exit in the notebook)"


# ------------------------------------------------------------------ choosing the isolation

_PROBED: dict[tuple, str | None] = {}  # per process: (bwrap, python, euid) -> None if it works, else why not


def probe_bwrap(limits: sandbox.Limits | None = None) -> str | None:
    """Start the real worker interpreter under bubblewrap once; None when it works, else the reason."""
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    key = (path, os.path.realpath(path), os.sys.executable, os.geteuid())
    if key not in _PROBED:
        config = sandbox.SandboxConfig(mode="bwrap")
        try:
            with Worker(limits or sandbox.Limits(), config, isolation="bwrap", with_data=False, warm=False):
                pass
            _PROBED[key] = None
        except (HarnessFault, sandbox.SandboxError) as exc:
            _PROBED[key] = str(exc)
    return _PROBED[key]


def resolve_isolation(mode: str, limits: sandbox.Limits | None = None) -> tuple[str, str | None]:
    """The isolation to use for `mode`, and why bubblewrap was not used (None when it was or was not asked for).

    Raises SandboxError when `--sandbox bwrap` was asked for and cannot start Python.
    """
    if mode == "none":
        return "rlimits", None
    reason = probe_bwrap(limits)
    if reason is None:
        return "bwrap", None
    if mode == "bwrap":
        raise sandbox.SandboxError(f"--sandbox bwrap: {reason}")
    return "rlimits", reason


class Worker:
    """One student process, from its start to its end."""

    def __init__(self, limits: sandbox.Limits, config: sandbox.SandboxConfig, isolation: str,
                 staged: Path | None = None, with_data: bool = True, warm: bool | None = None) -> None:
        self.limits = limits
        self.config = config
        self.isolation = isolation
        self.warm = warm  # None: fork from the warm process where it keeps bubblewrap's isolation (forkserver.py)
        self.staged = staged
        self._own_stage = staged is None
        self._with_data = with_data
        self.launch: sandbox.Launch | None = None
        self.proc: subprocess.Popen | None = None
        self.channel: Channel | None = None
        self._stderr = None

    @property
    def containment(self) -> str:
        return self.launch.containment if self.launch else ""

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Worker":
        try:
            if self.staged is None:
                self.staged = sandbox.stage(self.config, with_data=self._with_data)
            self._spawn()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self) -> None:
        assert self.staged is not None
        if os.geteuid() != 0:  # the notebook may share our uid: our /proc files must not be its to read
            privilege.undumpable()
        if self.launch is not None:
            self._cleanup_launch()
        if self.isolation == "bwrap":
            self.launch = sandbox.bwrap_launch(self.staged, self.limits, self.config, shutil.which("bwrap") or "bwrap")
        else:
            self.launch = sandbox.rlimits_launch(self.staged, self.limits, self.config)
        self._stderr = tempfile.TemporaryFile()  # grader-owned: bubblewrap's and Python's own complaints
        warm = self.isolation == "bwrap" and self.warm is not False and forkserver.why_cold() is None
        if warm:
            try:
                self.proc = self._fork_warm()
            except forkserver.WarmUnavailable as exc:
                if forkserver.proven():
                    raise HarnessFault(f"the warm process could not start the notebook's: {exc}") from None
                forkserver.give_up(str(exc))
                return self._spawn()  # cold, with bubblewrap: no student code has run
            self.launch.containment = (f"bubblewrap's sandbox built by a warm fork: private filesystem, processes and "
                                       f"network; {self._who()}; {self.limits.scratch_bytes >> 20} MiB scratch")
        else:
            try:
                self.proc = subprocess.Popen(
                    self.launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                    env=self.launch.env, preexec_fn=self.launch.preexec, close_fds=True, cwd="/",
                )
            except OSError as exc:
                raise HarnessFault(f"the sandbox could not start Python: {exc}") from None
        self.channel = Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno(), self.limits.message_bytes)
        try:
            ready, _ = self.channel.receive(time.perf_counter() + START_TIMEOUT)
            if ready.get("op") != "ready":
                raise ChannelGarbage(f"the worker said {str(ready.get('error') or ready.get('op'))[:300]}")
        except (ChannelClosed, ChannelTimeout, ChannelGarbage) as exc:
            self._kill()
            why = self._stderr_text() or str(exc) or type(exc).__name__
            if warm and not forkserver.proven():
                forkserver.give_up(why)
                return self._spawn()  # the first warm child is the proof: cold from now on, and why
            raise HarnessFault(f"the sandbox could not start Python: {why}") from None
        if warm:
            forkserver.mark_proven()

    def _fork_warm(self):
        assert self.launch is not None and self._stderr is not None
        try:
            return forkserver.server(self.limits).spawn(self.launch, self.limits, self._stderr.fileno())
        except forkserver.WarmUnavailable:
            if not forkserver.proven():
                raise
            forkserver.shutdown()  # the warm process died (the OOM killer, a signal): start a new one, once
            return forkserver.server(self.limits).spawn(self.launch, self.limits, self._stderr.fileno())

    def _who(self) -> str:
        uid = self.launch.uid if self.launch else None
        return f"uid {uid}" if uid is not None else "the grader's own user"

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = self._stderr.read(4000).decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return " | ".join(line.strip() for line in lines[-3:])

    def _kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except (OSError, AttributeError):
                    pass
            self.proc = None
            self.channel = None
        if self.launch is not None and self.launch.uid is not None:
            confine.kill_uid(self.launch.uid)  # whatever it started, however it detached

    def _cleanup_launch(self) -> None:
        if self.launch is not None and self.launch.host_workdir is not None:
            shutil.rmtree(self.launch.host_workdir, ignore_errors=True)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None and self.channel is not None:
            try:
                self.channel.send({"op": "quit"}, None, time.perf_counter() + 1)
                self.proc.wait(timeout=2)
            except (ChannelClosed, ChannelTimeout, subprocess.TimeoutExpired):
                pass
        self._kill()
        self._cleanup_launch()
        if self._own_stage and self.staged is not None:
            shutil.rmtree(self.staged, ignore_errors=True)
            self.staged = None

    def _exit_code(self) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
