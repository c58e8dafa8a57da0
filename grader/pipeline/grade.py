"""Grade one submission: the pipeline, step by step.

    load -> static analysis -> run cells in a sandboxed worker -> probe each check
    -> compare with the reference (computed here, never sent over) -> diagnose -> score

Only this module knows the order; each step lives in its own module.
"""
from __future__ import annotations

import functools
import hashlib
import os
import datetime as _dt
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.checks import judging
from grader.notebook import lean
from grader.notebook.cells import python2_reason, transform_cell
from grader.notebook.definitions import defined_functions
from grader.notebook.datasize import writes_mnist_counts
from grader.notebook.defsonly import defs_only
from grader.notebook.integrity import scan_integrity
from grader.run.execute import Session, resolve_isolation
from grader.notebook.load import Notebook, load_notebook
from grader.result import Attention, CellOutcome, Execution, IntegrityFlag, Result, TestResult
from grader.pipeline.feedback import Feedback
from grader.scoring.passes import Scoring
from grader.pipeline.attention import ForAPerson
from grader.pipeline.stops import top_level_stops
from grader.pipeline.probes import (  # noqa: F401 - part of this module's interface (the kit's pack uses them)
    Probe, build_probe, candidates, describe_call, judge, partial_credit, reference_observation)
from grader.notebook.template import Handout
from grader.run.sandbox import Limits, SandboxConfig, stage
from grader.checks.spec import Spec


@dataclass(frozen=True)
class Options:
    limits: Limits = field(default_factory=Limits)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    defs_only: bool = False
    lean: bool = False  # leave out top-level statements no check can observe (grader/lean.py)
    isolation: str | None = None  # resolved once by the caller ("bwrap" | "rlimits"); None: resolve here


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

    data = options.sandbox.data_source or os.environ.get("GRADER_DATA") or "embedded"
    if data not in ("embedded", "embedded-mnist", "fashion"):
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


class Grader(ForAPerson):
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
        self._staged: dict[SandboxConfig, Path] = {}  # the files every notebook's folder holds, staged once per process
        self.handout = Handout(spec.handout_source(), {fn.name for fn in spec.functions})

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
        cells, skipped = self.cells_to_run(nb)
        isolation = self.options.isolation or resolve_isolation(self.options.sandbox.mode, self.options.limits)[0]
        sandbox_config = self.sandbox_for(nb)
        if sandbox_config not in self._staged:
            self._staged[sandbox_config] = stage(sandbox_config)
        with Session(self.options.limits, sandbox_config, isolation=isolation, staged=self._staged[sandbox_config]) as session:
            outcomes, status = session.run_cells(cells)
            stops = [] if self.options.defs_only else top_level_stops(outcomes)
            session.start_checks()
            if stops:  # whatever stopped the top level, no definition is lost: a definitions-only pass from there
                rerun = [(i, defs_only(transform_cell(src))) for i, src in cells if i >= stops[0].outcome.index]
                session.run_cells([(i, src) for i, src in rerun if src.strip() != "pass"])
            scoring = Scoring(self, session, defined, outcomes)
            scored = scoring.run()
            feedback = Feedback(self.spec, nb, defined, outcomes)
            tests = [feedback.test_result(probe, attempt, note) for probe, attempt, note in scored]
            retry_flags = scoring.flags
            student_seconds = session.student_seconds
            containment = session.containment
        seconds = time.perf_counter() - started
        flags = tuple(IntegrityFlag(flag, detail) for flag, detail in scan_integrity(nb, self.handout)) + self.copy_flags(defined) + tuple(retry_flags)
        attention = self.attention(nb, defined, scored, stops) + tuple(
            Attention(f.flag, f.detail) for f in retry_flags if f.flag == "ambiguous-candidates")
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

    def sandbox_for(self, nb: Notebook) -> SandboxConfig:
        """The embedded data at MNIST's own counts for a notebook whose code writes them (grader/notebook/datasize.py)."""
        config = self.options.sandbox
        embedded = (config.data_source or os.environ.get("GRADER_DATA") or "embedded").strip().lower() == "embedded"
        if embedded and config.subsample is None and writes_mnist_counts(nb):
            return replace(config, data_source="embedded-mnist")
        return config

    def cells_to_run(self, nb: Notebook) -> tuple[list[tuple[int, str]], tuple[str, ...]]:
        """The code cells as this run executes them (all, definitions only, or lean) and what lean left out."""
        cells = [(c.index, c.source) for c in nb.code_cells()]
        if self.options.defs_only:
            return [(i, defs_only(transform_cell(src))) for i, src in cells], ()
        if self.options.lean:
            try:
                lean_plan = lean.plan(cells, keep={fn.name.split(".")[0] for fn in self.spec.functions})
                return lean_plan.cells, tuple(map(str, lean_plan.skipped))
            except (RecursionError, MemoryError, ValueError):  # code too deep to analyse: run every cell
                pass
        return cells, ()


def summary_line(outcomes: list[CellOutcome]) -> str:
    failed = [o for o in outcomes if o.status != "ok"]
    if not failed:
        return ""
    first = failed[0]
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return f"cell {first.index}: {first.error}{more}"
