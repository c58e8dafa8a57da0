"""The result of grading one submission: frozen dataclasses and their JSON form.

The JSON shape is a contract (see the README's "Result JSON"): reports, the
gradebook and the Gradescope export all read it, so fields are only added,
never renamed.
"""
from __future__ import annotations

import json
import math
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

EXECUTION_STATUSES = ("ok", "errors", "timeout", "crashed", "invalid")
TEST_STATUSES = ("passed", "failed", "error", "missing", "timeout")


@dataclass(frozen=True)
class CellOutcome:
    """One code cell that did not simply succeed (or every cell, when asked)."""

    index: int
    status: str  # "ok" | "error" | "timeout" | "skipped"
    error: str | None = None  # "NameError: name 'relup' is not defined"
    source: str = ""  # excerpt of the cell's source
    traceback: str = ""  # last lines of the traceback, ANSI codes removed
    seconds: float = 0.0


@dataclass(frozen=True)
class Execution:
    status: str  # one of EXECUTION_STATUSES
    seconds: float
    cells: tuple[CellOutcome, ...] = ()
    isolation: str = "none"  # "bwrap" | "rlimits" | "none"
    containment: str = ""  # what the isolation contained, in words
    message: str = ""  # one line when the whole run went wrong
    harness_seconds: float = 0.0  # time not spent in the student's cells or calls
    skipped: tuple[str, ...] = ()  # --lean: top-level statements not run, "cell 7, line 6: xtrain = ..."


@dataclass(frozen=True)
class TestResult:
    name: str
    function: str
    status: str  # one of TEST_STATUSES
    score: float
    max_score: float
    output: str = ""
    diagnosis: str | None = None
    # Structured detail for reports: call, expected/received shape and dtype,
    # error statistics, a small grid of where values differ.
    details: dict[str, Any] = field(default_factory=dict)
    visibility: str = "visible"  # "visible" | "after_due" | "hidden" (from the spec): who may see this test


@dataclass(frozen=True)
class IntegrityFlag:
    flag: str
    detail: str


@dataclass(frozen=True)
class Attention:
    """Why a person should read this submission (instructors only): a short id and a sentence."""

    reason: str  # "off-template" | "defs-only-fallback" | "renamed" | "reshaped" | "solution-loaded" | ...
    detail: str


@dataclass(frozen=True)
class Result:
    assignment: str
    submission: str
    score: float
    max_score: float
    execution: Execution
    tests: tuple[TestResult, ...] = ()
    integrity: tuple[IntegrityFlag, ...] = ()
    notebook: str = ""  # path of the graded file, as given
    content_hash: str = ""  # sha256 of the submitted bytes
    spec_version: str = ""
    manual_review: tuple[str, ...] = ()  # written answers a person must read
    graded_at: str = ""  # ISO time; excluded from determinism checks
    grading: dict[str, Any] = field(default_factory=dict)  # grader version and options (grade.grading_key)
    attention: tuple[Attention, ...] = ()  # why a person should look (added field: old JSON loads without it)

    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self))

    def for_students(self) -> "Result":
        """What a student may see: visible tests only, scored on them; no integrity flags, no attention entries."""
        tests = tuple(t for t in self.tests if t.visibility == "visible")
        return replace(self, tests=tests, integrity=(), attention=(), score=round(sum(t.score for t in tests), 4),
                       max_score=float(sum(t.max_score for t in tests)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def result_from_dict(data: dict[str, Any]) -> Result:
    """Rebuild a Result from its JSON form (as written by Result.to_json)."""
    execution = dict(data["execution"])
    execution["cells"] = tuple(CellOutcome(**c) for c in execution.get("cells", ()))
    execution["skipped"] = tuple(execution.get("skipped", ()))
    return Result(
        assignment=data["assignment"],
        submission=data["submission"],
        score=float(data["score"]),
        max_score=float(data["max_score"]),
        execution=Execution(**execution),
        tests=tuple(TestResult(**t) for t in data.get("tests", ())),
        integrity=tuple(IntegrityFlag(**f) for f in data.get("integrity", ())),
        notebook=data.get("notebook", ""),
        content_hash=data.get("content_hash", ""),
        spec_version=data.get("spec_version", ""),
        manual_review=tuple(data.get("manual_review", ())),
        graded_at=data.get("graded_at", ""),
        grading=dict(data.get("grading", {})),
        attention=tuple(Attention(**a) for a in data.get("attention", ())),
    )


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file next to `path`, with the mode a plain open() would give it.

    tempfile.mkstemp creates files 0600, which would leave reports and CSVs unreadable to
    the rest of a course team; O_CREAT with 0666 lets the process umask decide, as open() does.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary file name for {path.name}")


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text so that readers see the old file or the new one, never half of one.

    The new file's mode follows the process umask (0644 under umask 022), like open()'s.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
