"""Grade one submission: the pipeline, step by step.

    load -> static analysis -> run cells in a sandboxed worker -> probe each check
    -> compare with the reference (computed here, never sent over) -> diagnose -> score

Only this module knows the order; each step lives in its own module.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import re
import datetime as _dt
import io
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import bank, judging, inputs as input_gen
from grader.notebook import lean
from grader.notebook.cells import python2_reason, transform_cell, unparsable_cells
from grader.notebook.definitions import close_names, defined_functions
from grader.notebook.defsonly import defs_only
from grader.notebook.fingerprint import function_fingerprint, similarity
from grader.notebook.integrity import loaded_files, scan_integrity
from grader.checks.compare import Policy, Verdict
from grader.run.execute import CallOutcome, Session, resolve_isolation
from grader.notebook.load import Notebook, load_notebook
from grader.result import Attention, CellOutcome, Execution, IntegrityFlag, Result, TestResult
from grader.scoring.passes import Scoring
from grader.notebook.template import Handout
from grader.run.sandbox import Limits, SandboxConfig, stage
from grader.checks.spec import Check, Spec


MIN_FINGERPRINT = 240  # characters of normalised code below which similarity proves nothing


@dataclass(frozen=True)
class Options:
    limits: Limits = field(default_factory=Limits)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    defs_only: bool = False
    lean: bool = False  # leave out top-level statements no check can observe (grader/lean.py)
    isolation: str | None = None  # resolved once by the caller ("bwrap" | "rlimits"); None: resolve here


@dataclass
class Probe:
    """One check's inputs, and the reference's observation for them."""

    check: Check
    env: dict[str, Any]
    call: dict[str, Any]  # what the worker needs: names, seeds, what to read back
    payload: dict[str, Any]  # the inputs sent over
    expected: dict[str, Any]  # reference observation: {"return": ..., "attrs": ..., "globals": ...}


@functools.lru_cache(maxsize=1)
def grader_version() -> str:
    """The package version and a digest of the code that computes scores (grader and reference)."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        number = version("nn-grader")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        number = "0"
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted([*root.joinpath("grader").rglob("*.py"), *root.joinpath("reference").glob("*.py")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{number}+{digest.hexdigest()[:12]}"


def grading_key(options: Options) -> dict[str, Any]:
    """Everything but the notebook and the spec that can change a score: a change regrades."""
    import os

    data = options.sandbox.data_source or os.environ.get("GRADER_DATA") or "embedded"
    if data not in ("embedded", "fashion"):
        data = str(Path(data).resolve())
    limits = options.limits
    return {
        "grader": grader_version(),
        "cell_timeout": limits.cell_timeout,
        "timeout": limits.notebook_timeout,
        "memory_gib": round(limits.memory_bytes / 1024**3, 3),
        "data": data,
        "subsample": options.sandbox.subsample,
        "defs_only": options.defs_only,
        "lean": options.lean and not options.defs_only,
    }


def submission_id(path: str | Path) -> str:
    """A folder per student (LMS exports) names the student; otherwise the file's stem."""
    path = Path(path)
    return path.stem


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------ probes


def build_probe(spec: Spec, check: Check) -> Probe:
    reference = spec.reference_module()
    env = input_gen.make_inputs(check.let, check.seed, reference)
    args = [input_gen.resolve(a, env) for a in check.args]
    kwargs = {k: input_gen.resolve(v, env) for k, v in check.kwargs.items()}
    payload: dict[str, Any] = {"args": args, "kwargs": kwargs}
    call: dict[str, Any] = {"seed": check.call_seed, "repeat": check.repeat}
    if check.timeout:
        call["timeout"] = check.timeout
    if check.class_name:
        call.update({"class": check.class_name, "method": check.method})
        payload["init"] = [input_gen.resolve(a, env) for a in check.init]
        payload["attrs"] = {k: input_gen.resolve(v, env) for k, v in check.attrs.items()}
    else:
        call["function"] = check.function
    if check.globals:
        payload["globals"] = {k: input_gen.resolve(v, env) for k, v in check.globals.items()}
    if check.read_globals:
        call["read_globals"] = list(check.read_globals)
    if check.read_attrs:
        call["read_attrs"] = list(check.read_attrs)
    expected = reference_observation(spec, check, env, payload)
    return Probe(check, env, call, payload, expected)


def reference_observation(spec: Spec, check: Check, env: dict, payload: dict, impl=None) -> dict[str, Any]:
    """What the reference (or a bank variant, `impl`) observes for the same inputs, in this process."""
    reference = spec.reference_module()
    payload = copy.deepcopy(payload)
    args = payload["args"] if check.ref_args is None else [input_gen.resolve(a, env) for a in check.ref_args]
    kwargs = payload["kwargs"]
    observed: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        if check.call_seed is not None:
            np.random.seed(check.call_seed)
        if check.class_name and check.reference is None:
            obj = getattr(reference, check.class_name)(*payload["init"])
            for attr, value in payload["attrs"].items():
                setattr(obj, attr, value)
            if check.call_seed is not None:
                np.random.seed(check.call_seed)
            method = impl.__get__(obj) if impl else getattr(obj, check.method)
            for _ in range(check.repeat):
                observed["return"] = method(*args, **kwargs)
            observed["attrs"] = {a: getattr(obj, a) for a in check.read_attrs}
        else:
            name = check.reference or check.function
            fn = impl or getattr(reference, name, None) or getattr(spec.bank_module(), name)
            if check.globals:
                kwargs = dict(kwargs, **payload.get("globals", {}))
            for _ in range(check.repeat):
                value = fn(*args, **kwargs)
            if check.reference and isinstance(value, dict) and "return" in value:
                observed = value  # an adapter returns the whole observation
            else:
                observed["return"] = value
    return {k: v for k, v in observed.items() if k in check.compare}


# ------------------------------------------------------------------ judging one call


def judge(spec: Spec, probe: Probe, outcome: CallOutcome) -> Verdict:
    """Compare the student's observation with the reference's, then look for a named cause (grader.judging)."""
    check = probe.check
    return judging.judge(check, probe.expected, outcome, probe.payload["args"], candidates(spec, probe), spec.function(check.function).returns)


def candidates(spec: Spec, probe: Probe) -> list[judging.Candidate]:
    """The check's accepted variants, then the function's banked mistakes, each observed lazily on the check's inputs."""
    module = spec.bank_module()
    check = probe.check
    found = [v for v in bank.for_function(module, check.function) if v.kind == "accepted" and v.id in check.accept]
    found += bank.for_function(module, check.function, "mistake")

    def observer(variant):
        return lambda: reference_observation(spec, check, probe.env, probe.payload, impl=variant.impl)

    return [judging.Candidate(v.id, v.kind, v.text, observer(v)) for v in found]


def match_variant(spec: Spec, probe: Probe, student: dict, policy: Policy):
    """The first banked variant whose output on these inputs equals the student's."""
    match = judging.first_match(student, candidates(spec, probe), policy)
    return None if match is None else next(v for v in bank.variants(spec.bank_module()) if v.id == match.id and v.function == probe.check.function)


def partial_credit(spec: Spec, probe: Probe, outcome: CallOutcome) -> tuple[float, str] | None:
    """Behavioural partial credit from the bank (e.g. a training loss that falls like the reference's)."""
    module = spec.bank_module()
    name = probe.check.partial.get("function")
    if not name or module is None or outcome.status != "ok":
        return None
    fn = getattr(module, name)
    with contextlib.redirect_stdout(io.StringIO()):
        fraction, message = fn(probe.env, outcome.value, probe.expected)
    return max(0.0, min(1.0, fraction)) * float(probe.check.partial.get("points", 0.0)), message


# ------------------------------------------------------------------ the whole submission


def describe_call(check: Check, payload: dict) -> str:
    args = ", ".join(input_gen.describe(a) for a in payload["args"])
    kwargs = ", ".join(f"{k}={input_gen.describe(v)}" for k, v in payload["kwargs"].items())
    inner = ", ".join(p for p in (args, kwargs) if p)
    if check.class_name:
        init = ", ".join(input_gen.describe(a) for a in payload.get("init", []))
        return f"{check.class_name}({init}).{check.method}({inner})"
    return f"{check.function}({inner})"


class Grader:
    """Grades notebooks for one spec; holds what is per-spec, nothing per-student."""

    def __init__(self, spec: Spec, options: Options | None = None) -> None:
        self.spec = spec
        options = options or Options()
        if spec.data_files:  # the handout's helper modules go into every sandbox folder
            extra = tuple(spec.folder / f for f in spec.data_files)
            options = replace(options, sandbox=replace(options.sandbox, extra_files=options.sandbox.extra_files + extra))
        self.options = options
        self.probes = [build_probe(spec, check) for check in spec.checks]
        self.reference = spec.reference_module()
        self._official: dict[str, list[tuple[str, str]]] | None = None
        self._notebook: Notebook | None = None  # the one being graded, for messages
        self._staged = None  # the files every notebook's folder holds, staged once per process
        self.handout = Handout(spec.handout_source(), {fn.name for fn in spec.functions})
        self._missing: dict[str, tuple] = {}

    def candidates_for(self, probe: Probe) -> list[judging.Candidate]:
        return candidates(self.spec, probe)

    def observe(self, probe: Probe, impl) -> dict:
        return reference_observation(self.spec, probe.check, probe.env, probe.payload, impl=impl)

    def reference_callable(self, name: str):
        """The reference for `name` as its checks call it (an adapter in bank.py, or the reference module's)."""
        check = next((c for c in self.spec.checks if c.function == name), None)
        label = (check.reference if check and check.reference else name)
        return getattr(self.reference, label, None) or getattr(self.spec.bank_module(), label)

    def invalid(self, path: str | Path, message: str, content_hash: str = "", submission: str | None = None) -> Result:
        """A result for a file that could not be run at all: every check is there, at zero."""
        tests = tuple(
            TestResult(c.name, c.function, "missing", 0.0, c.points, "not graded: " + message, visibility=c.visibility) for c in self.spec.checks
        )
        return Result(
            assignment=self.spec.id,
            submission=submission or submission_id(path),
            score=0.0,
            max_score=self.spec.max_score,
            execution=Execution("invalid", 0.0, (), "none", message=message),
            tests=tests,
            notebook=str(path),
            content_hash=content_hash,
            spec_version=self.spec.digest,
            manual_review=self.spec.manual_review,
            graded_at=now_iso(),
            grading=grading_key(self.options),
        )

    def grade(self, path: str | Path, submission: str | None = None, notebook: Notebook | None = None) -> Result:
        """Grade one file. Raises load.NotebookError for a file that is not a notebook."""
        started = time.perf_counter()
        nb = notebook or load_notebook(path)
        submission = submission or submission_id(path)
        py2 = python2_reason(nb)
        if py2:
            return self.invalid(path, py2, nb.content_hash, submission)
        defined = defined_functions(nb)
        self._notebook = nb
        cells = [(c.index, c.source) for c in nb.code_cells()]
        skipped: tuple[str, ...] = ()
        if self.options.defs_only:
            cells = [(i, defs_only(transform_cell(src))) for i, src in cells]
        elif self.options.lean:
            try:
                lean_plan = lean.plan(cells, keep={fn.name.split(".")[0] for fn in self.spec.functions})
                cells, skipped = lean_plan.cells, tuple(map(str, lean_plan.skipped))
            except (RecursionError, MemoryError, ValueError):  # code too deep to analyse: run every cell
                pass
        isolation = self.options.isolation or resolve_isolation(self.options.sandbox.mode, self.options.limits)[0]
        if self._staged is None:
            self._staged = stage(self.options.sandbox)
        with Session(self.options.limits, self.options.sandbox, isolation=isolation, staged=self._staged) as session:
            outcomes, status = session.run_cells(cells)
            machine = [] if self.options.defs_only else machine_failures(outcomes)
            if machine:  # grade the definitions anyway: an automatic definitions-only pass from the first such cell
                rerun = [(i, defs_only(transform_cell(src))) for i, src in cells if i >= machine[0][0].index]
                session.run_cells([(i, src) for i, src in rerun if src.strip() != "pass"])
            scoring = Scoring(self, session, defined, outcomes)
            self._missing = {fn.name: (defined, outcomes) for fn in self.spec.functions}  # explained on first use
            scored = scoring.run()
            tests = [self.test_result(probe, attempt, note, defined) for probe, attempt, note in scored]
            retry_flags = scoring.flags
            student_seconds = session.student_seconds
            containment = session.containment
        seconds = time.perf_counter() - started
        flags = tuple(IntegrityFlag(flag, detail) for flag, detail in scan_integrity(nb, self.handout)) + self.copy_flags(defined) + tuple(retry_flags)
        attention = self.attention(nb, defined, scored, machine)
        return Result(
            assignment=self.spec.id,
            submission=submission,
            score=round(sum(t.score for t in tests), 4),
            max_score=self.spec.max_score,
            execution=Execution(
                status=status,
                seconds=round(seconds, 3),
                cells=tuple(o for o in outcomes if o.status != "ok"),
                isolation=isolation,
                containment=containment,
                message="" if status == "ok" else summary_line(outcomes),
                harness_seconds=round(max(seconds - student_seconds, 0.0), 3),
                skipped=skipped,
            ),
            tests=tuple(tests),
            integrity=flags,
            notebook=str(path),
            content_hash=nb.content_hash,
            spec_version=self.spec.digest,
            manual_review=self.spec.manual_review,
            graded_at=now_iso(),
            grading=grading_key(self.options),
            attention=attention,
        )

    def attention(self, nb: Notebook, defined: dict, scored: list, machine: list) -> tuple[Attention, ...]:
        """Why a person should read this submission (issue 11 item 4)."""
        found: list[Attention] = []
        wanted = [fn.name for fn in self.spec.functions if not fn.given]
        by_own_name = [n for n in wanted if n in defined]
        discovered = sorted({a.found_as for _, a, _ in scored if a.found_as})
        if wanted and len(by_own_name) < len(wanted) / 2:
            what = "no graded function is" if not by_own_name else f"only {len(by_own_name)} of {len(wanted)} graded functions are"
            more = f"; found under other names: {', '.join(discovered)}" if discovered else ", and none was found under another name"
            found.append(Attention("off-template", f"{what} defined under the handout's names{more}: it was written outside the released notebook, a person should grade it"))
        for cell, reason in machine:
            found.append(Attention("defs-only-fallback", f"cell {cell.index} failed for a reason of the grading machine, not of the graded functions ({reason}): the definitions after it were graded anyway (a definitions-only pass)"))
            break
        renamed = sorted({f"{p.check.function} as `{a.found_as}`" for p, a, _ in scored if a.found_as and a.verdict and a.verdict.passed})
        renamed += sorted({f"{p.check.function} as {a.variant}" for p, a, _ in scored if a.variant})
        if renamed:
            found.append(Attention("renamed", "accepted under another name: " + "; ".join(renamed)))
        reshaped = sorted({p.check.function for p, a, _ in scored if a.verdict and a.verdict.diagnosis == "open-return"})
        reordered = sorted({p.check.function for p, a, _ in scored if a.notes and not a.bound})
        bound = sorted({f"{p.check.function} as {a.bound}" for p, a, _ in scored if a.bound and a.verdict and a.verdict.passed})
        if reshaped or reordered or bound:
            parts = ([f"return form accepted for {', '.join(reshaped)}"] if reshaped else []) + ([f"arguments matched by name for {', '.join(reordered)}"] if reordered else [])
            parts += [f"its own parameters bound by meaning (check how): {'; '.join(bound)}"] if bound else []
            found.append(Attention("reshaped", "; ".join(parts)))
        for cell, path, names in loaded_files(nb):
            what = f" (defines {', '.join(names)})" if names else ""
            found.append(Attention("solution-loaded", f"cell {cell}: %load {path} ran its code{what}; a person decides what is the student's"))
        return tuple(found)

    def copy_flags(self, defined: dict) -> tuple[IntegrityFlag, ...]:
        """Graded functions whose code is the reference's or the solution's, up to names and formatting."""
        flags = []
        for fn in self.spec.functions:
            if fn.given or fn.name not in defined:
                continue
            mine = defined[fn.name][-1]
            if len(function_fingerprint(mine.source)) < MIN_FINGERPRINT:
                continue  # too short to tell copying from writing the obvious
            if self.handout.is_handout_code(fn.name, mine.source):
                continue  # the handout's own code (or what it dictates line by line) is nobody's copy
            for label, source in self.official_sources(fn.name):
                score = similarity(mine.source, source, at_least=0.99)
                if score >= 0.99:
                    flags.append(IntegrityFlag(f"matches-{label}", f"cell {mine.cell}: {fn.name} is the {label} solution's code up to names and formatting (similarity {score:.2f})"))
                    break
        return tuple(flags)

    def official_sources(self, name: str) -> list[tuple[str, str]]:
        if self._official is None:
            self._official = {}
            for fn in self.spec.functions:
                found = []
                ref = getattr(self.reference, fn.name, None)
                if callable(ref):
                    try:
                        found.append(("reference", inspect.getsource(ref)))
                    except (OSError, TypeError):
                        pass
                self._official[fn.name] = found
            solution = self.spec.folder / "solution.ipynb"
            if solution.exists():
                for fname, definitions in defined_functions(load_notebook(solution)).items():
                    if fname in self._official:
                        self._official[fname].append(("handout", definitions[-1].source))
        return self._official.get(name, [])

    def test_result(self, probe: Probe, attempt, helper_note: str, defined: dict) -> TestResult:
        check = probe.check
        outcome, verdict = attempt.outcome, attempt.verdict
        if verdict is None:  # nothing to call under any name
            return TestResult(check.name, check.function, "missing", 0.0, check.points, self._missing_once(check.function),
                              "missing", visibility=check.visibility)
        if verdict.diagnosis == "not-attempted":
            return TestResult(check.name, check.function, "missing", 0.0, check.points, verdict.message, "not-attempted", visibility=check.visibility)
        call = describe_call(check, attempt.payload).replace(f"{check.function}(", f"{attempt.found_as}(", 1) if attempt.found_as else describe_call(check, attempt.payload)
        lines = []
        if attempt.found_as:
            lines.append(f"found as `{attempt.found_as}`: {check.function} is not defined, and {attempt.found_as} behaves like it")
        if attempt.variant:
            lines.append(f"accepted as {attempt.variant}, a known variant of the handout's own API")
        lines += attempt.notes
        if verdict.passed:
            status, score = "passed", check.points
            lines.append(verdict.message or "matches the reference")
            if attempt.found_as:
                score = check.points * self.spec.function(check.function).rename_credit
        else:
            score = 0.0
            status = {"ok": "failed", "timeout": "timeout", "crashed": "error"}.get(outcome.status, "error")
            if verdict.diagnosis == "modifies-input":
                score = check.points / 2
            lines.append(f"called {call}")
            lines.append(verdict.message)
            if outcome.status == "ok" and check.partial:
                credit = partial_credit(self.spec, probe, outcome)
                if credit is not None and verdict.diagnosis not in self.no_partial_for():
                    score = max(score, credit[0])
                    lines.append(credit[1])
            if helper_note:
                lines.append(helper_note)
            last = outcome.traceback.strip().splitlines()[-1] if outcome.traceback.strip() else ""
            if last and last not in verdict.message and verdict.diagnosis != "not-implemented":
                lines.append(last)
        redefinition = self.redefinition_note(check.function, defined, attempt)
        if redefinition:
            lines.append(redefinition)
            wanted = self.spec.function(check.function).params
            last = defined[check.function][-1].params
            if not verdict.passed and wanted and tuple(last) != tuple(wanted) and verdict.diagnosis in (None, "raises"):
                verdict = replace(verdict, diagnosis="redefined-other-signature")
        if check.optional and not verdict.passed:
            lines.append("optional: reported, not charged")
        if check.note:
            lines.append(check.note)
        details = dict(verdict.details)
        details["call"] = call
        if attempt.found_as:
            details["found_as"] = attempt.found_as
        if attempt.variant:
            details["api_variant"] = attempt.variant
        if outcome.traceback:
            details["traceback"] = outcome.traceback
        return TestResult(
            name=check.name,
            function=check.function,
            status=status,
            score=round(score, 4),
            max_score=check.points,
            output="\n".join(line for line in lines if line),
            diagnosis=verdict.diagnosis,
            details=details,
            visibility=check.visibility,
        )

    def no_partial_for(self) -> set[str]:
        """Mistakes that earn no behavioural credit (e.g. minibatches never shuffled)."""
        module = self.spec.bank_module()
        return set(getattr(module, "NO_PARTIAL_CREDIT", ())) if module else set()

    def _missing_once(self, name: str) -> str:
        """Why ``name`` is missing, in full for its first test; "see above" for the others."""
        context = self._missing.pop(name, None)
        return self.missing_text(name, *context) if context else f"{name} is missing (see above)"

    def missing_text(self, name: str, defined: dict, outcomes: list[CellOutcome]) -> str:
        base = name.split(".")[0]
        if base in defined:
            cell = defined[base][-1].cell
            failed = [o for o in outcomes if o.index == cell and o.status != "ok"]
            if failed:
                return f"{base} is defined in cell {cell}, but that cell failed ({failed[0].error}), so it never existed"
        pattern = re.compile(rf"^\s*(def|class)\s+{re.escape(base)}\b", re.M)
        for cell, message in unparsable_cells(self._notebook) if self._notebook else []:
            source = next((c.source for c in self._notebook.cells if c.index == cell), "")
            if pattern.search(source):
                return f"{base} is written in cell {cell}, but that cell has a SyntaxError ({message}), so it never ran"
        text = f"{name} is not defined in the notebook"
        params = self.spec.function(name).params
        hints = close_names(name, params or None, defined)
        if hints:
            text += "; did you mean: " + "; ".join(hints)
        return text

    def redefinition_note(self, name: str, defined: dict, attempt=None) -> str:
        definitions = defined.get(name, [])
        if len(definitions) < 2:
            return ""
        if attempt is not None and "definition" in attempt.call:
            cell = attempt.call["definition"]
            return (f"{name} is defined {len(definitions)} times; the graded one is your own (cell {cell}): a later cell "
                    f"({definitions[-1].cell}) holds the handout's code")
        last = definitions[-1]
        others = ", ".join(str(d.cell) for d in definitions[:-1])
        note = f"{name} is defined {len(definitions)} times; the last definition (cell {last.cell}, parameters ({', '.join(last.params)})) is the one graded (earlier: cell {others})"
        return note


# Top-level failures that are the grading machine's, not the graded functions': the data under another
# name (served anyway, see worker.serve_data_everywhere), a module this machine lacks, no network or
# display, a NumPy alias the handout's own code uses, the time limit on top-level training.
_MACHINE_ERRORS = (
    ("FileNotFoundError", "a file that is not here"),
    ("ModuleNotFoundError", "a module this machine does not have"),
    ("ImportError", "a module this machine does not have"),
    ("URLError", "no network while grading"),
    ("ConnectionError", "no network while grading"),
    ("gaierror", "no network while grading"),
    ("TclError", "no display while grading"),
    ("module 'numpy' has no attribute", "a NumPy alias removed in this machine's NumPy"),
)


def machine_failures(outcomes: list[CellOutcome]) -> list[tuple[CellOutcome, str]]:
    """Cells that failed for a reason of the grading machine, with that reason in words."""
    found = []
    for outcome in outcomes:
        if outcome.status == "timeout":
            found.append((outcome, "top-level code ran past the time limit"))
        elif outcome.status == "error" and outcome.error:
            reason = next((why for fragment, why in _MACHINE_ERRORS if fragment in outcome.error), None)
            if reason:
                found.append((outcome, f"{reason}: {outcome.error[:120]}"))
    return found


def summary_line(outcomes: list[CellOutcome]) -> str:
    failed = [o for o in outcomes if o.status != "ok"]
    if not failed:
        return ""
    first = failed[0]
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return f"cell {first.index}: {first.error}{more}"
