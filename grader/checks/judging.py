"""Judge one call: the student's observation against the reference's, then a named cause.

Pure: numpy and the comparison only, no spec files, no reference module, no
bank source. The grader feeds it the reference's observation and the bank's
variants computed on the spot; the student kit feeds it the same things read
from its check pack. Both run this very code (the kit vendors this file at
release), so a verdict cannot differ between the two.

`check` is anything with `compare`, `rtol`, `atol`, `dtype` (a spec.Check, or
the kit's record of one); `outcome` anything with `status`, `value`, `error`,
`traceback`, `mutated` (execute.CallOutcome, or the kit's).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

import numpy as np

from grader.checks.compare import Policy, Verdict, compare
from grader.checks.diagnose import equals_input
from grader.checks.laws import judge_draws


@dataclass(frozen=True)
class Candidate:
    """A banked variant as judging needs it: who it is, and what it observes on the check's inputs."""

    id: str
    kind: str  # "mistake" | "accepted"
    text: str
    observe: Callable[[], Any]  # -> its observation dict, or None when it cannot run on these inputs


ERROR_CAUSES = (
    ("cannot reshape array of size", "hard-coded-size", "a size written as a number (10, 64, ...) instead of read from the arrays' shapes"),
    ("could not be broadcast together", "shape-mismatch", "shapes do not line up: a transposed matrix, or a sum without keepdims?"),
    ("not aligned", "shape-mismatch", "a matrix product of mismatched shapes: transposed weights, or samples in rows instead of columns?"),
    ("matmul: Input operand", "shape-mismatch", "a matrix product of mismatched shapes: transposed weights, or samples in rows instead of columns?"),
    ("required positional argument", "wrong-signature", "the grader calls it with the signature the task asks for"),
    ("positional argument", "wrong-signature", "the grader calls it with the signature the task asks for"),
    ("is not defined", "undefined-name", "a name it uses does not exist when it runs: defined in a later cell, misspelt, or never defined"),
    ("RecursionError", "recursion", "it calls itself without end"),
    ("MemoryError", "memory", "it needs far more memory than the inputs call for"),
)


def error_diagnosis(error: str) -> tuple[str, str] | None:
    """A named cause for a common exception message."""
    for fragment, ident, sentence in ERROR_CAUSES:
        if fragment in error:
            return ident, sentence
    return None


def compare_observation(student: dict, expected: dict, policy: Policy) -> Verdict:
    """Compare the parts of an observation: the return value, then attributes, then globals."""
    for part, value in expected.items():
        if part == "return":
            verdict = compare(student.get("return"), value, policy)
        else:
            label = {"attrs": "attribute", "globals": "global"}[part]
            got = student.get(part) or {}
            for name, ref in value.items():
                verdict = compare(got.get(name), ref, policy, f"{label} {name}")
                if not verdict.passed:
                    return verdict
            continue
        if not verdict.passed:
            return verdict
    return Verdict(True)


def first_match(student: dict, candidates: Iterable[Candidate], policy: Policy) -> Candidate | None:
    """The first variant whose observation on these inputs equals the student's."""
    for candidate in candidates:
        try:
            expected = candidate.observe()
        except Exception:
            continue  # a mistake that cannot even run on these inputs explains nothing
        if expected is not None and compare_observation(student, expected, policy).passed:
            return candidate
    return None


def judge(check: Any, expected: dict, outcome: Any, args: list, candidates: Iterable[Candidate], labels: tuple[str, ...] = ()) -> Verdict:
    """Compare the student's observation with the reference's, then look for a named cause."""
    if outcome.status != "ok":
        if outcome.error.startswith("NotImplementedError"):
            # The template's stub, whether or not the source shows it: not attempted, no diagnosis.
            return Verdict(False, "not attempted: it still raises NotImplementedError", "not-attempted")
        named = error_diagnosis(outcome.error)
        message = outcome.error + (f" ({named[1]})" if named else "")
        diagnosis = named[0] if named else ("raises" if outcome.status == "error" else outcome.status)
        details = {"traceback": outcome.traceback}
        if named:
            details["diagnosis_text"] = named[1]
        return Verdict(False, message, diagnosis, details)
    if getattr(check, "draws", None):  # a random initialiser: judged by the law of its draws, not the reference's values
        passed, message, diagnosis = judge_draws(check.draws, outcome.value, labels)
        return Verdict(passed, message, diagnosis)
    student = {k: v for k, v in outcome.value.items() if k in check.compare}
    policy = Policy(check.rtol, check.atol, check.dtype, labels)
    verdict = compare_observation(student, expected, policy)
    if verdict.passed:
        if outcome.mutated:
            names = ", ".join(f"argument {i + 1}" for i in outcome.mutated)
            return Verdict(False, f"right values, but it changes its {names} in place: callers still holding the input see it change", "modifies-input")
        ret = student.get("return")
        if check.dtype == "float32-note" and isinstance(ret, np.ndarray) and ret.dtype != np.float32:
            return Verdict(True, f"the handout asks for float32, this returns {ret.dtype} (no points lost: an earlier version of the handout asked for it)", "note-dtype")
        return verdict
    # A result identical to an input: a stub or an update that does nothing.
    ret = student.get("return")
    if ret is not None and equals_input(ret, args) is not None:
        i = equals_input(ret, args)
        return replace(verdict, message=verdict.message + f"; it returns argument {i + 1} unchanged (a stub, or an update that does nothing?)", diagnosis="returns-input-unchanged")
    variant = first_match(student, candidates, policy)
    if variant is not None:
        if variant.kind == "accepted":
            return Verdict(True, f"accepted: {variant.text}", variant.id)
        details = dict(verdict.details, diagnosis_text=variant.text)  # the generic cause stays: it says what is seen, the bank says why
        return replace(verdict, message=verdict.message + f"; this is what happens when {variant.text}", diagnosis=variant.id, details=details)
    return verdict


STATUS_OF_OUTCOME = {"ok": "failed", "timeout": "timeout", "crashed": "error"}  # a failed call's test status; else "error"


@dataclass(frozen=True)
class Decision:
    """What one check's outcome is worth: the test's status, its points, and the mistake it is recorded under."""

    status: str  # "passed" | "failed" | "error" | "missing" | "timeout"
    score: float
    diagnosis: str | None
    partial: bool = False  # the behavioural partial credit counted (its message belongs in the feedback)


def decide(verdict: Verdict | None, outcome_status: str, points: float, *, share: float = 1.0, partial: float | None = None,
           no_partial: Iterable[str] = (), other_signature: bool = False) -> Decision:
    """Status, points and diagnosis of one check: the one place a score is decided, for the grader and the kit.

    `verdict` None: nothing to call. `share`: the fraction a pass earns (a renamed function's rename_credit).
    `partial`: behavioural points the bank found, counted unless the diagnosis is in `no_partial`.
    `other_signature`: the graded definition is a redefinition whose parameters are not the handout's.
    """
    if verdict is None:
        return Decision("missing", 0.0, "missing")
    if verdict.passed:
        return Decision("passed", round(points * share, 4), verdict.diagnosis)
    if verdict.diagnosis == "not-attempted":
        return Decision("missing", 0.0, "not-attempted")
    score = points / 2 if verdict.diagnosis == "modifies-input" else 0.0  # right values, but the caller's input changes
    counted = partial is not None and verdict.diagnosis not in set(no_partial)
    if counted:
        score = max(score, partial)
    # a call that fails on a redefinition with other parameters is the redefinition's doing
    diagnosis = "redefined-other-signature" if other_signature and verdict.diagnosis in (None, "raises") else verdict.diagnosis
    return Decision(STATUS_OF_OUTCOME.get(outcome_status, "error"), round(score, 4), diagnosis, counted)
