"""Calling the student's function in the kit, as the grader's worker does: fresh inputs, a seed, a time limit.

The value comes back as the grader would receive it from the student's process (plain data,
anything else opaque), with the arguments the call changed. Part of the student engine
(vendored into the kit's `nncheck`): numpy only.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.checks.compare import Opaque
from grader.kit.kitpack import Pack, PackCheck

DEFAULT_CALL_TIMEOUT = 30.0  # seconds, as in the grader


@dataclass
class Outcome:
    """The attributes of execute.CallOutcome that judging reads."""

    status: str  # "ok" | "error" | "timeout" | "missing"
    value: Any = None
    error: str = ""
    traceback: str = ""
    mutated: list = field(default_factory=list)
    seconds: float = 0.0


class CallTimeout(BaseException):
    """The call ran past its time limit (a BaseException: the student's `except Exception` cannot swallow it)."""


def plain(value: Any, depth: int = 0) -> Any:
    """The value as the grader receives it from the student's process: plain data, anything else opaque."""
    if depth > 6:
        return Opaque(type(value).__name__, "(nested too deep)")
    if value is None or isinstance(value, str):
        return value if value is None else value[:2000]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and abs(int(value)) < 2**53:
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return np.array(value)
    if isinstance(value, (tuple, list)) and len(value) <= 10000:
        items = [plain(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict) and len(value) <= 1000 and all(isinstance(k, str) for k in value):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    try:
        text = repr(value)[:200]
    except BaseException:
        text = "(repr failed)"
    return Opaque(type(value).__name__, text)


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value) if isinstance(value, tuple) else [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except BaseException:
        return False


def error_text(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0][:300]}" if message else type(exc).__name__


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise CallTimeout after `seconds` (main thread on Unix; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_timer(signum, frame):
        raise CallTimeout()

    previous = signal.signal(signal.SIGALRM, on_timer)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _observe(call: dict, namespace: dict, obj: Any, value: Any) -> dict:
    """What one call gives back: its return, and the globals and attributes the call reads (as the worker does)."""
    observed = {"return": value}
    if call.get("read_globals"):
        observed["globals"] = {g: namespace.get(g) for g in call["read_globals"]}
    if call.get("read_attrs") and obj is not None:
        observed["attrs"] = {a: getattr(obj, a, None) for a in call["read_attrs"]}
    return observed


def call_student(check: PackCheck, pack: Pack, namespace: dict) -> Outcome:
    """Call the student's function on fresh copies of the check's inputs, as the grader's worker does."""
    call = check.call
    target_name = call.get("class") or call.get("function")
    target = namespace.get(target_name)
    if target is None:
        return Outcome("missing", error=f"{target_name} is not defined")
    if not call.get("class") and not callable(target):
        return Outcome("missing", error=f"{target_name} is a {type(target).__name__}, not a function")
    inputs = pack.value(check.inputs)
    args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
    saved_globals = {name: namespace.get(name, KeyError) for name in inputs.get("globals", {})}
    namespace.update(inputs.get("globals", {}))
    before = _snapshot(args)
    rng_state = np.random.get_state()
    timeout = call.get("timeout", DEFAULT_CALL_TIMEOUT)
    started = time.perf_counter()
    obj = None
    here = os.getcwd()
    try:
        os.chdir(pack.path.parent)  # the handout's data files sit next to the pack, as in the grader's folder
        with time_limit(timeout), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if call.get("seed") is not None:
                np.random.seed(call["seed"])
            if call.get("class"):
                obj = target(*inputs.get("init", []))
                for attr, value in inputs.get("attrs", {}).items():
                    setattr(obj, attr, value)
                method = getattr(obj, call["method"], None)
                if method is None:
                    raise AttributeError(f"{call['class']} has no method {call['method']}")
                target = method
            draws = []
            for _ in range(call.get("repeat", 1)):
                observed = _observe(call, namespace, obj, target(*args, **kwargs))
                if call.get("each"):
                    draws.append(_snapshot(observed))  # a copy: the next call may refill the same arrays
        if draws:
            observed["draws"] = draws
        mutated = [i for i, (a, b) in enumerate(zip(before, args)) if not _same(a, b)]
        return Outcome("ok", plain(observed), mutated=mutated, seconds=time.perf_counter() - started)
    except CallTimeout:
        return Outcome("timeout", error=f"did not return within {timeout} s", seconds=time.perf_counter() - started)
    except BaseException as exc:  # the student's code may raise anything, SystemExit included
        if isinstance(exc, KeyboardInterrupt):
            raise
        tail = "\n".join("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip().splitlines()[-8:])
        return Outcome("error", error=error_text(exc), traceback=tail, seconds=time.perf_counter() - started)
    finally:
        os.chdir(here)
        np.random.set_state(rng_state)
        for name, old in saved_globals.items():
            if old is KeyError:
                namespace.pop(name, None)
            else:
                namespace[name] = old
