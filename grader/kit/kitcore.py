"""The student kit's engine: run a pack's public checks on functions in the student's own namespace.

Vendored into the kit as the package `nncheck` by grader/kit.py, together with
compare.py, diagnose.py, judging.py and packformat.py, unchanged but for their
`from grader...` imports: the kit judges with the grader's own code. It needs
only numpy (and IPython for notebooks); it never sees reference code.

    check("softmaxp")   check(softmaxp)   check()        inside the notebook
    python -m nncheck homework.ipynb                      from a terminal
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.compare import Opaque
from grader.checks.judging import Candidate, judge, status_and_score
from grader.kit.packformat import PACK_FORMAT, from_tree

DEFAULT_CALL_TIMEOUT = 30.0  # seconds, as in the grader


class KitError(Exception):
    """No pack found, or a pack this engine cannot read."""


# ---------------------------------------------------------------- the pack


@dataclass(frozen=True)
class PackCheck:
    """One public check as the pack holds it (the attributes judging reads, as on spec.Check)."""

    name: str
    function: str
    points: float
    compare: tuple[str, ...]
    rtol: float
    atol: float
    dtype: str
    call: dict
    call_text: str
    note: str
    partial_points: float
    inputs: dict
    expected: dict
    candidates: tuple[dict, ...]


class Pack:
    def __init__(self, manifest_path: str | Path) -> None:
        self.path = Path(manifest_path)
        manifest = json.loads(self.path.read_text(encoding="utf-8"))
        if manifest.get("format") != PACK_FORMAT:
            raise KitError(f"{self.path.name}: pack format {manifest.get('format')} needs another version of nncheck")
        with np.load(self.path.parent / manifest["arrays"], allow_pickle=False) as data:
            self.arrays = {key: data[key] for key in data.files}
        self.assignment = manifest["assignment"]
        self.title = manifest.get("title", self.assignment)
        self.functions: dict[str, dict] = manifest["functions"]
        self.withheld = manifest.get("withheld", {"count": 0, "points": 0.0})
        self.checks = [
            PackCheck(c["name"], c["function"], float(c["points"]), tuple(c["compare"]), c["rtol"], c["atol"], c["dtype"],
                      c["call"], c["call_text"], c.get("note", ""), c.get("partial_points", 0.0), c["inputs"], c["expected"],
                      tuple(c["candidates"]))
            for c in manifest["checks"]
        ]

    def value(self, tree: dict) -> Any:
        return from_tree(tree, self.arrays)

    def graded_names(self) -> list[str]:
        return list(dict.fromkeys(c.function for c in self.checks))


def find_pack(where: str | Path | None = None, name: str | None = None) -> Pack:
    """The pack in a folder (default: here, then next to this engine): `*.checks.json`."""
    folders = [Path(where)] if where else [Path.cwd(), Path(__file__).resolve().parent.parent]
    for folder in folders:
        if folder.is_file():
            return Pack(folder)
        found = sorted(folder.glob("*.checks.json"))
        if name:
            found = [p for p in found if p.name == f"{name}.checks.json"] or found
        if len(found) == 1:
            return Pack(found[0])
        if len(found) > 1:
            raise KitError(f"several check packs in {folder}: say which with use('<assignment>')")
    raise KitError("no check pack (*.checks.json) here: run from the kit's folder, or use('path/to/<id>.checks.json')")


# ---------------------------------------------------------------- calling the student's code


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
    pass


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
            for _ in range(call.get("repeat", 1)):
                value = target(*args, **kwargs)
        observed = {"return": value}
        if call.get("read_globals"):
            observed["globals"] = {g: namespace.get(g) for g in call["read_globals"]}
        if call.get("read_attrs") and obj is not None:
            observed["attrs"] = {a: getattr(obj, a, None) for a in call["read_attrs"]}
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


# ---------------------------------------------------------------- judging, as the grader does


@dataclass(frozen=True)
class CheckResult:
    name: str
    function: str
    status: str  # "passed" | "failed" | "error" | "missing" | "timeout"
    score: float
    max_score: float
    output: str
    diagnosis: str | None
    details: dict
    seconds: float


def _candidates(check: PackCheck, pack: Pack) -> list[Candidate]:
    def observer(tree):
        return lambda: None if tree is None else pack.value(tree)

    return [Candidate(c["id"], c["kind"], c["text"], observer(c["observation"])) for c in check.candidates]


def run_check(check: PackCheck, pack: Pack, namespace: dict, broken: set[str] = frozenset()) -> CheckResult:
    outcome = call_student(check, pack, namespace)
    if outcome.status == "missing":
        return CheckResult(check.name, check.function, "missing", 0.0, check.points,
                           f"{outcome.error} (run the cell that defines it first)", "missing", {}, 0.0)
    args = pack.value(check.inputs).get("args", [])
    labels = tuple(pack.functions.get(check.function, {}).get("returns", ()))
    verdict = judge(check, pack.value(check.expected), outcome, args, _candidates(check, pack), labels)
    status, score = status_and_score(verdict, outcome.status, check.points)
    lines = [verdict.message or "matches the reference"] if verdict.passed else [f"called {check.call_text}", verdict.message]
    if not verdict.passed:
        helpers = [h for h in pack.functions.get(check.function, {}).get("helpers", ()) if h in broken]
        if helpers and verdict.diagnosis not in ("not-implemented", "not-attempted"):
            names = ", ".join(helpers)
            lines.append(f"It calls your {names}, which failed its own checks: fix {names} first. "
                         f"(The grader also tries {check.function} with the reference {names} in its place, so one bug costs once.)")
        if outcome.status == "ok" and check.partial_points:
            lines.append(f"The grader may give up to {check.partial_points:g} of these points for behaviour (e.g. a falling loss).")
        last = outcome.traceback.strip().splitlines()[-1] if outcome.traceback.strip() else ""
        if last and last not in verdict.message and verdict.diagnosis not in ("not-implemented", "not-attempted"):
            lines.append(last)
    if check.note:
        lines.append(check.note)
    return CheckResult(check.name, check.function, status, score, check.points, "\n".join(x for x in lines if x),
                       verdict.diagnosis, dict(verdict.details, call=check.call_text), outcome.seconds)


def _wanted(pack: Pack, target: Any) -> list[str]:
    names = pack.graded_names()
    if target is None:
        return names
    if isinstance(target, str):
        name = target
    else:
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or str(target)
        name = name.rsplit("<locals>.", 1)[-1]  # a function defined inside another one
    chosen = [n for n in names if n == name or n.split(".")[0] == name]
    if not chosen:
        raise KitError(f"{name!r} has no public checks (checked here: {', '.join(names)})")
    return chosen


def run_checks(target: Any = None, namespace: dict | None = None, pack: Pack | None = None) -> "Report":
    """Run the public checks of one function (name or the function itself), a class, or all (None)."""
    pack = pack or default_pack()
    namespace = _caller_namespace(2) if namespace is None else namespace
    wanted = _wanted(pack, target)
    shown: list[CheckResult] = []
    broken: set[str] = set()
    helpers = {h for n in wanted for h in pack.functions.get(n, {}).get("helpers", ())}
    for check in pack.checks:  # in the spec's order, so a helper is judged before its callers
        if check.function not in wanted and check.function not in helpers:
            continue
        result = run_check(check, pack, namespace, broken)
        if result.status != "passed":
            broken.add(check.function)
        if check.function in wanted:
            shown.append(result)
    return Report(pack, shown, all_functions=target is None)


# ---------------------------------------------------------------- showing it


@dataclass
class Report:
    pack: Pack
    results: list[CheckResult]
    all_functions: bool = False

    @property
    def score(self) -> float:
        return float(sum(r.score for r in self.results))

    @property
    def max_score(self) -> float:
        return float(sum(r.max_score for r in self.results))

    def __repr__(self) -> str:
        from grader.kit.kitview import render_text

        return render_text(self)

    def _repr_html_(self) -> str:
        from grader.kit.kitview import render_html

        return render_html(self)


_STATE: dict[str, Any] = {}


def use(pack: str | Path) -> Pack:
    """Choose the pack: an assignment id, a `<id>.checks.json` path, or a folder holding one."""
    path = Path(pack)
    _STATE["pack"] = Pack(path) if path.suffix == ".json" else find_pack(path if path.exists() else None, str(pack))
    return _STATE["pack"]


def default_pack() -> Pack:
    if "pack" not in _STATE:
        _STATE["pack"] = find_pack()
    return _STATE["pack"]


def _caller_namespace(depth: int) -> dict:
    """The student's names: IPython's user namespace in a notebook, else the calling module's globals."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    return sys._getframe(depth).f_globals


def check(target: Any = None, pack: Pack | None = None) -> None:
    """Run the public checks and show them: HTML in Jupyter, text in a terminal."""
    report = run_checks(target, _caller_namespace(2), pack)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None and getattr(get_ipython(), "kernel", None) is not None:
            display(report)
            return None
    except ImportError:
        pass
    print(repr(report))
    return None
