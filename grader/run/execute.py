"""The grader's side of a student's process: run cells, make probe calls, survive it.

A `Session` is a `Worker` (process.py: started by a handshake, warm or cold, in its
sandbox) that is talked to. Cells run in order; a failing cell is recorded and the
next one runs. A cell that hangs past its limit is interrupted by the worker's own
timer; one that cannot be interrupted (a loop that swallows the interrupt, a
crash, os._exit) costs the worker, which is restarted and brought back to the
same state by replaying the cells that had succeeded, so the rest of the
notebook is still run and graded.

Everything the process sends is checked as hostile data (channel.py), and the only
thing the grader does on its request is answer a retry's declared helpers with the
reference, within a budget (`HelperPolicy`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader.result import CellOutcome
from grader.run import sandbox
from grader.run.channel import ChannelClosed, ChannelGarbage, ChannelTimeout, decode_tree
from grader.run.process import HarnessFault, Worker, describe_exit, probe_bwrap, resolve_isolation
from grader.run.wire import encode

__all__ = ["CallOutcome", "HarnessFault", "HelperPolicy", "Session", "probe_bwrap", "resolve_isolation"]

HARD_GRACE = 3.0  # seconds past a limit before the worker is killed rather than interrupted
MAX_RESTARTS = 4


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


@dataclass
class HelperPolicy:
    """Which reference answers one retry may ask for, and how many."""

    allowed: frozenset[str]
    answer: Callable[[str, list, dict], Any]
    budget: int
    used: int = 0


class Session(Worker):
    """One student process: cells in, probe results out."""

    def __init__(self, limits: sandbox.Limits, config: sandbox.SandboxConfig, isolation: str | None = None,
                 staged: Path | None = None, with_data: bool = True, warm: bool | None = None) -> None:
        if isolation is None:
            isolation, _ = resolve_isolation(config.mode, limits)
        super().__init__(limits, config, isolation, staged, with_data, warm)
        self._calls = 0
        self._calling = ""  # the function being called, for the record of refused requests
        self.refused: list[tuple[str, str]] = []  # (function being called, name it asked the grader for)
        self.restarts = 0
        self.succeeded: list[tuple[int, str]] = []  # cells to replay after a restart
        self.student_seconds = 0.0
        self.started = time.perf_counter()
        self.deadline = self.started + limits.notebook_timeout

    def start_checks(self) -> None:
        """The top level is over: the definitions-only pass and the checks get their own time.

        Half the notebook's limit, or what the top level left if that is more: top-level training
        that used the whole limit must not leave the checks (each bounded by the call limit) none.
        """
        self.deadline = max(self.deadline, time.perf_counter() + self.limits.notebook_timeout / 2)

    # ------------------------------------------------------------ restarts

    def _restart(self) -> bool:
        """A new worker brought back to the state of the cells that succeeded so far."""
        self._kill()
        if self.restarts >= MAX_RESTARTS or time.perf_counter() > self.deadline:
            return False
        self.restarts += 1
        self._spawn()  # a HarnessFault here is the machine's, and ends the grading of this notebook
        try:
            for index, source in self.succeeded:
                reply = self._request({"op": "run", "index": index, "source": source, "timeout": self.limits.cell_timeout}, None, self.limits.cell_timeout, "cell")
                self.student_seconds += reply[0].get("seconds", 0.0)
        except (WorkerDied, WorkerTimeout):
            self._kill()
            return False
        return True

    # ------------------------------------------------------------ protocol

    def _request(self, message: dict, arrays: dict | None, limit: float, expect: str,
                 policy: HelperPolicy | None = None) -> tuple[dict, dict]:
        """Send a request; answer helper requests until the reply of kind `expect` comes."""
        if self.channel is None:
            raise WorkerDied("the notebook's process is not running")
        deadline = min(time.perf_counter() + limit + HARD_GRACE, self.deadline + HARD_GRACE)
        try:
            self.channel.send(message, arrays, deadline)
            while True:
                reply, reply_arrays = self.channel.receive(deadline)
                if reply.get("op") == "helper" and expect == "result":
                    self._answer_helper(reply, reply_arrays, policy, deadline)
                    continue
                if reply.get("op") != expect or reply.get("id", message.get("id")) != message.get("id"):
                    raise ChannelGarbage("a reply to a question the grader did not ask")
                return reply, reply_arrays
        except ChannelTimeout:
            raise WorkerTimeout() from None
        except ChannelClosed:
            raise WorkerDied(describe_exit(self._exit_code())) from None
        except ChannelGarbage as exc:
            raise WorkerDied(f"the notebook's process wrote garbage on the grading channel ({exc})") from None

    def _answer_helper(self, request: dict, arrays: dict, policy: HelperPolicy | None, deadline: float) -> None:
        """The reference's answer for one of the retry's declared helpers, or a refusal."""
        from grader.run.refcall import ReferenceFailed

        assert self.channel is not None
        name = request.get("name")
        if policy is None or name not in policy.allowed:
            self.refused.append((self._calling, str(name)[:80]))
            self.channel.send({"op": "answer", "status": "error", "error": "no reference answer for that name"}, None, deadline)
            return
        if policy.used >= policy.budget:
            self.channel.send({"op": "answer", "status": "error", "error": f"more than {policy.budget} helper calls"}, None, deadline)
            return
        policy.used += 1
        inputs = decode_tree(request.get("tree"), arrays)
        if not isinstance(inputs, dict) or not isinstance(inputs.get("args"), list) or not isinstance(inputs.get("kwargs"), dict):
            raise ChannelGarbage("a malformed helper request")
        try:
            value = policy.answer(name, inputs["args"], inputs["kwargs"])
        except ReferenceFailed as exc:
            self.channel.send({"op": "answer", "status": "error", "error": str(exc)}, None, deadline)
            return
        out: dict = {}
        tree = encode(value, out)
        self.channel.send({"op": "answer", "status": "ok", "tree": tree}, out, deadline)

    # ------------------------------------------------------------ cells

    def run_cells(self, cells: list[tuple[int, str]]) -> tuple[list[CellOutcome], str]:
        """Run cells in order; returns each cell's outcome and the overall execution status."""
        outcomes: list[CellOutcome] = []
        status = "ok"
        for position, (index, source) in enumerate(cells):
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0 or (self.proc is None and not self._restart()):
                reason = "notebook time limit reached" if remaining <= 0 else "the notebook's process could not be restarted"
                outcomes += [CellOutcome(index=i, status="skipped", error=reason, source=excerpt(s)) for i, s in cells[position:]]
                status = "timeout" if remaining <= 0 else "crashed"
                break
            limit = min(self.limits.cell_timeout, remaining)
            try:
                reply, _ = self._request({"op": "run", "index": index, "source": source, "timeout": limit}, None, limit, "cell")
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
            seconds = _number(reply.get("seconds"))
            self.student_seconds += seconds
            if reply.get("status") == "ok":
                self.succeeded.append((index, source))
                outcomes.append(CellOutcome(index, "ok", seconds=seconds))
                continue
            if reply.get("status") == "timeout":
                message = f"cell ran past its {limit:.0f} s limit and was interrupted"
                status = worse(status, "timeout")
            else:
                message = str(reply.get("error", "error"))[:2000]
                status = worse(status, "errors")
                # A cell that failed part-way may still have defined things later cells use.
                self.succeeded.append((index, source))
            outcomes.append(CellOutcome(index, "timeout" if reply.get("status") == "timeout" else "error", message, excerpt(source), str(reply.get("traceback", ""))[:4000], seconds))
        return outcomes, status

    # ------------------------------------------------------------ probe calls

    def call(self, spec: dict, inputs: dict, policy: HelperPolicy | None = None) -> CallOutcome:
        """Call a student function (or method) on inputs; only plain values come back."""
        if self.proc is None and not self._restart():
            return CallOutcome("crashed", error="the notebook's process could not be restarted")
        self._calls += 1
        self._calling = str(spec.get("function") or f"{spec.get('class')}.{spec.get('method')}")
        arrays: dict = {}
        tree = encode(inputs, arrays)
        limit = float(spec.get("timeout", self.limits.call_timeout))
        spec = dict(spec, timeout=limit, helpers=sorted(policy.allowed) if policy else [])
        message = {"op": "call", "id": self._calls, "spec": spec, "tree": tree}
        try:
            reply, reply_arrays = self._request(message, arrays, limit, "result", policy)
        except WorkerTimeout:
            self._kill()
            self._restart()
            return CallOutcome("timeout", error=f"did not return within {limit:.0f} s (and ignored the interrupt)", seconds=limit)
        except WorkerDied as died:
            self._kill()
            self._restart()
            return CallOutcome("crashed", error=died.reason)
        seconds = _number(reply.get("seconds"))
        self.student_seconds += seconds
        status = reply.get("status")
        if status not in ("ok", "error", "timeout", "missing"):
            status, reply = "error", {"error": "the notebook's process sent a malformed reply"}
        outcome = CallOutcome(
            status,
            error=str(reply.get("error", ""))[:2000],
            traceback=str(reply.get("traceback", ""))[:4000],
            mutated=[i for i in reply.get("mutated", []) if isinstance(i, int)][:64] if isinstance(reply.get("mutated"), list) else [],
            seconds=seconds,
            stdout=str(reply.get("stdout", ""))[:2000],
        )
        if status == "ok":
            try:
                outcome.value = decode_tree(reply.get("tree"), reply_arrays)
            except ChannelGarbage as exc:
                return CallOutcome("error", error=f"the result could not be read back: {exc}", seconds=seconds)
            if not isinstance(outcome.value, dict):
                return CallOutcome("error", error="the result could not be read back", seconds=seconds)
        return outcome


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 0.0


STATUS_ORDER = {"ok": 0, "errors": 1, "crashed": 2, "timeout": 3}


def worse(current: str, new: str) -> str:
    return new if STATUS_ORDER[new] > STATUS_ORDER[current] else current


def excerpt(source: str, lines: int = 8, width: int = 160) -> str:
    rows = source.strip("\n").splitlines()
    shown = [row[:width] for row in rows[:lines]]
    if len(rows) > lines:
        shown.append(f"... ({len(rows) - lines} more lines)")
    return "\n".join(shown)
