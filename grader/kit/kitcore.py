"""The student kit's engine: run a pack's public checks on functions in the student's own namespace.

Vendored into the kit as the package `nncheck` by grader/kit/vendor.py, together with
compare.py, diagnose.py, judging.py and wire.py, unchanged but for their
`from grader...` imports: the kit judges with the grader's own code. It needs
only numpy (and IPython for notebooks); it never sees reference code. The pack is
read by kitpack.py, the student's function called by kitcall.py, the report shown
by kitview.py.

    check("softmaxp")   check(softmaxp)   check()        inside the notebook
    python -m nncheck homework.ipynb                      from a terminal
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.checks.judging import Candidate, decide, judge
from grader.kit.kitcall import call_student
from grader.kit.kitpack import KitError, Pack, PackCheck, find_pack

# ---------------------------------------------------------------- judging, as the grader does


@dataclass(frozen=True)
class CheckResult:
    """One public check's verdict as the kit shows it (the fields of the grader's TestResult)."""

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
        missing = decide(None, outcome.status, check.points)
        return CheckResult(check.name, check.function, missing.status, missing.score, check.points,
                           f"{outcome.error} (run the cell that defines it first)", missing.diagnosis, {}, 0.0)
    args = pack.value(check.inputs).get("args", [])
    labels = tuple(pack.functions.get(check.function, {}).get("returns", ()))
    verdict = judge(check, pack.value(check.expected), outcome, args, _candidates(check, pack), labels)
    decision = decide(verdict, outcome.status, check.points)  # the grader's own rule (partial credit is the grader's alone)
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
    return CheckResult(check.name, check.function, decision.status, decision.score, check.points, "\n".join(x for x in lines if x),
                       decision.diagnosis, dict(verdict.details, call=check.call_text), outcome.seconds)


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
    """The checks run for one call of `check`: text in a terminal, HTML in Jupyter."""

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
