"""The grader's side of a student's process: start it, run cells, make probe calls, survive it.

A `Session` owns one worker process (see worker.py) in a fresh sandbox
folder. Cells run in order; a failing cell is recorded and the next one
runs. A cell that hangs past its limit is interrupted by the worker's own
timer; one that cannot be interrupted (a loop that swallows the interrupt, a
crash, os._exit) costs the worker, which is restarted and brought back to the
same state by replaying the cells that had succeeded, so the rest of the
notebook is still run and graded.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader import sandbox
from grader.result import CellOutcome
from grader.worker import decode, encode

HARD_GRACE = 3.0  # seconds past a limit before the worker is killed rather than interrupted
MAX_RESTARTS = 4

HelperFn = Callable[[str, list, dict], Any]


class WorkerDied(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerTimeout(Exception):
    pass


@dataclass
class CallOutcome:
    status: str  # "ok" | "error" | "timeout" | "missing" | "crashed"
    value: Any = None  # {"return": ..., "globals": {...}, "attrs": {...}} when ok
    error: str = ""
    traceback: str = ""
    mutated: list[int] = field(default_factory=list)
    seconds: float = 0.0
    stdout: str = ""


def describe_exit(code: int | None) -> str:
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


class Session:
    """One student process: cells in, probe results out."""

    def __init__(self, limits: sandbox.Limits, config: sandbox.SandboxConfig) -> None:
        self.limits = limits
        self.config = config
        self.isolation = sandbox.choose_isolation(config.mode)
        self.workdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._buffer = b""
        self._calls = 0
        self.restarts = 0
        self.succeeded: list[tuple[int, str]] = []  # cells to replay after a restart
        self.student_seconds = 0.0
        self.started = time.perf_counter()
        self.deadline = self.started + limits.notebook_timeout

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Session":
        self.workdir = sandbox.prepare_workdir(self.config)
        self._spawn()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self) -> None:
        assert self.workdir is not None
        self._buffer = b""
        self.proc = subprocess.Popen(
            sandbox.worker_command(self.workdir, self.isolation),
            cwd=self.workdir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=sandbox.worker_env(self.limits, self.isolation),
            preexec_fn=sandbox.limit_resources(self.limits),
        )
        ready = self._read(time.perf_counter() + 60)
        if ready.get("op") != "ready":
            raise WorkerDied(f"the worker did not start: {ready}")

    def _kill(self) -> None:
        if self.proc is None:
            return
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

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"op": "quit"})
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired, WorkerDied):
                pass
        self._kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _restart(self) -> bool:
        """A new worker brought back to the state of the cells that succeeded so far."""
        self._kill()
        if self.restarts >= MAX_RESTARTS or time.perf_counter() > self.deadline:
            return False
        self.restarts += 1
        try:
            self._spawn()
            for index, source in self.succeeded:
                reply = self._request({"op": "run", "index": index, "source": source, "timeout": self.limits.cell_timeout}, self.limits.cell_timeout)
                self.student_seconds += reply.get("seconds", 0.0)
        except (WorkerDied, WorkerTimeout):
            self._kill()
            return False
        return True

    # ------------------------------------------------------------ protocol

    def _send(self, message: dict) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise WorkerDied("the notebook's process is not running")
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied(describe_exit(self.proc.poll())) from None

    def _read(self, deadline: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise WorkerTimeout()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                try:
                    code = self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    code = None
                raise WorkerDied(describe_exit(code))
            self._buffer += chunk
            if len(self._buffer) > 64 << 20:
                raise WorkerDied("the notebook's process sent more than 64 MB on the grading channel")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise WorkerDied("the notebook's process wrote garbage on the grading channel") from None

    def _request(self, message: dict, limit: float, on_helper: HelperFn | None = None) -> dict:
        self._send(message)
        deadline = min(time.perf_counter() + limit + HARD_GRACE, self.deadline + HARD_GRACE)
        while True:
            reply = self._read(deadline)
            if reply.get("op") == "helper":
                self._answer_helper(reply, on_helper)
                continue
            return reply

    def _answer_helper(self, request: dict, on_helper: HelperFn | None) -> None:
        assert self.workdir is not None
        try:
            if on_helper is None:
                raise RuntimeError("no reference helper was offered for this call")
            with np.load(self.workdir / request["file"], allow_pickle=False) as data:
                inputs = decode(request["tree"], dict(data))
            value = on_helper(request["name"], inputs["args"], inputs["kwargs"])
            arrays: dict = {}
            tree = encode(value, arrays)
            path = Path(".grader") / f"answer_{self._calls}_{request['name']}.npz"
            np.savez(self.workdir / path, **arrays)
            self._send({"op": "answer", "status": "ok", "tree": tree, "file": str(path)})
        except (WorkerDied, WorkerTimeout):
            raise
        except Exception as exc:  # a reference helper fed the student's garbage
            self._send({"op": "answer", "status": "error", "error": f"{type(exc).__name__}: {exc}"})

    # ------------------------------------------------------------ cells

    def run_cells(self, cells: list[tuple[int, str]]) -> tuple[list[CellOutcome], str]:
        """Run cells in order; returns each cell's outcome and the overall execution status."""
        outcomes: list[CellOutcome] = []
        status = "ok"
        for position, (index, source) in enumerate(cells):
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0 or self.proc is None:
                reason = "notebook time limit reached" if remaining <= 0 else "the notebook's process could not be restarted"
                outcomes += [CellOutcome(index=i, status="skipped", error=reason, source=excerpt(s)) for i, s in cells[position:]]
                status = "timeout" if remaining <= 0 else "crashed"
                break
            limit = min(self.limits.cell_timeout, remaining)
            try:
                reply = self._request({"op": "run", "index": index, "source": source, "timeout": limit}, limit)
            except WorkerTimeout:
                outcomes.append(CellOutcome(index, "timeout", f"cell did not finish within its {limit:.0f} s limit (it ignored the interrupt, or broke the notebook's process)", excerpt(source), seconds=limit))
                status = worse(status, "timeout")
                self._restart()
                continue
            except WorkerDied as died:
                outcomes.append(CellOutcome(index, "error", died.reason, excerpt(source)))
                status = worse(status, "crashed")
                self._restart()
                continue
            seconds = float(reply.get("seconds", 0.0))
            self.student_seconds += seconds
            if reply["status"] == "ok":
                self.succeeded.append((index, source))
                outcomes.append(CellOutcome(index, "ok", seconds=seconds))
                continue
            if reply["status"] == "timeout":
                message = f"cell ran past its {limit:.0f} s limit and was interrupted"
                status = worse(status, "timeout")
            else:
                message = reply.get("error", "error")
                status = worse(status, "errors")
                # A cell that failed part-way may still have defined things later cells use.
                self.succeeded.append((index, source))
            outcomes.append(CellOutcome(index, reply["status"], message, excerpt(source), reply.get("traceback", ""), seconds))
        return outcomes, status

    # ------------------------------------------------------------ probe calls

    def call(self, spec: dict, inputs: dict, on_helper: HelperFn | None = None) -> CallOutcome:
        """Call a student function (or method) on inputs; only plain values come back."""
        if self.proc is None and not self._restart():
            return CallOutcome("crashed", error="the notebook's process could not be restarted")
        assert self.workdir is not None
        self._calls += 1
        call_id = self._calls
        arrays: dict = {}
        tree = encode(inputs, arrays)
        path = Path(".grader") / f"in_{call_id}.npz"
        np.savez(self.workdir / path, **arrays)
        limit = float(spec.get("timeout", self.limits.call_timeout))
        spec = dict(spec, timeout=limit)
        message = {"op": "call", "id": call_id, "spec": spec, "tree": tree, "file": str(path)}
        try:
            reply = self._request(message, limit, on_helper)
        except WorkerTimeout:
            self._restart()
            return CallOutcome("timeout", error=f"did not return within {limit:.0f} s (and ignored the interrupt)", seconds=limit)
        except WorkerDied as died:
            self._restart()
            return CallOutcome("crashed", error=died.reason)
        seconds = float(reply.get("seconds", 0.0))
        self.student_seconds += seconds
        outcome = CallOutcome(
            reply["status"],
            error=reply.get("error", ""),
            traceback=reply.get("traceback", ""),
            mutated=list(reply.get("mutated", [])),
            seconds=seconds,
            stdout=reply.get("stdout", ""),
        )
        if reply["status"] == "ok":
            try:
                with np.load(self.workdir / reply["file"], allow_pickle=False) as data:
                    outcome.value = decode(reply["tree"], dict(data))
            except (OSError, ValueError, KeyError) as exc:
                return CallOutcome("error", error=f"the result could not be read back: {exc}", seconds=seconds)
        return outcome


STATUS_ORDER = {"ok": 0, "errors": 1, "crashed": 2, "timeout": 3}


def worse(current: str, new: str) -> str:
    return new if STATUS_ORDER[new] > STATUS_ORDER[current] else current


def excerpt(source: str, lines: int = 8, width: int = 160) -> str:
    rows = source.strip("\n").splitlines()
    shown = [row[:width] for row in rows[:lines]]
    if len(rows) > lines:
        shown.append(f"... ({len(rows) - lines} more lines)")
    return "\n".join(shown)
