"""Points are decided in one place (judging.decide, for the grader and the kit); scoring passes return new attempts."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader.checks.compare import Verdict
from grader.checks.judging import Decision, decide
from grader.checks.spec import load_spec
from grader.pipeline.grade import Grader, Options
from grader.run.execute import CallOutcome
from grader.run.sandbox import Limits
from grader.scoring.attempts import Attempt
from grader.scoring.passes import Scoring

GRADER = Path(__file__).resolve().parent.parent / "grader"


@pytest.mark.parametrize("verdict, status, kwargs, expected", [
    (None, "missing", {}, Decision("missing", 0.0, "missing")),
    (Verdict(False, "not attempted", "not-attempted"), "ok", {}, Decision("missing", 0.0, "not-attempted")),
    (Verdict(True), "ok", {}, Decision("passed", 3.0, None)),
    (Verdict(True, "", "found-as"), "ok", {"share": 0.5}, Decision("passed", 1.5, "found-as")),
    (Verdict(False, "x", "transposed"), "ok", {}, Decision("failed", 0.0, "transposed")),
    (Verdict(False, "x", "modifies-input"), "ok", {}, Decision("failed", 1.5, "modifies-input")),
    (Verdict(False, "x", "raises"), "error", {}, Decision("error", 0.0, "raises")),
    (Verdict(False, "x", "timeout"), "timeout", {}, Decision("timeout", 0.0, "timeout")),
    (Verdict(False, "x", "crashed"), "crashed", {}, Decision("error", 0.0, "crashed")),
    (Verdict(False, "x", None), "ok", {"partial": 2.0}, Decision("failed", 2.0, None, True)),
    (Verdict(False, "x", "unshuffled"), "ok", {"partial": 2.0, "no_partial": {"unshuffled"}}, Decision("failed", 0.0, "unshuffled")),
    (Verdict(False, "x", "modifies-input"), "ok", {"partial": 1.0}, Decision("failed", 1.5, "modifies-input", True)),
    (Verdict(False, "x", "raises"), "error", {"other_signature": True}, Decision("error", 0.0, "redefined-other-signature")),
    (Verdict(False, "x", "transposed"), "ok", {"other_signature": True}, Decision("failed", 0.0, "transposed")),
    (Verdict(True), "ok", {"other_signature": True}, Decision("passed", 3.0, None)),
])
def test_decide_is_the_rule(verdict, status, kwargs, expected):
    assert decide(verdict, status, 3.0, **kwargs) == expected


def test_only_judging_decides_and_both_sides_ask_it():
    # the outcome -> status table and the half points for an input changed in place live in judging.py only
    deciders = sorted(str(p.relative_to(GRADER)) for p in GRADER.rglob("*.py")
                      if '"crashed": "error"' in p.read_text() or "points / 2" in p.read_text())
    assert deciders == ["checks/judging.py"]
    for user in ("pipeline/feedback.py", "kit/kitcore.py"):
        assert "decide(" in (GRADER / user).read_text(), f"{user} must take its points from judging.decide"


def test_an_attempt_is_never_changed_in_place():
    attempt = Attempt({}, {}, CallOutcome("ok"), Verdict(True))
    with pytest.raises(dataclasses.FrozenInstanceError):
        attempt.verdict = Verdict(False)  # type: ignore[misc]


def test_every_pass_returns_new_attempts_and_leaves_its_input_alone():
    spec = load_spec("shallow-backprop")
    grader = Grader(spec, Options(limits=Limits(cell_timeout=5, notebook_timeout=90, call_timeout=5)))

    class Failing:
        refused: list = []

        def call(self, call, payload, policy=None):
            return CallOutcome("error", error="ValueError: nope")

    scoring = Scoring(grader, Failing(), {}, [])
    first = [scoring.first_call(p) for p in grader.probes]
    snapshot = [(id(a), a.verdict) for a in first]
    by_function: dict[str, list[int]] = {}
    for i, p in enumerate(grader.probes):
        by_function.setdefault(p.check.function, []).append(i)
    for step in (scoring.discover, scoring.rebinder.reshape, scoring.consistent_causes):
        out = step(first, by_function)
        assert out is not first and len(out) == len(first)
        assert [(id(a), a.verdict) for a in first] == snapshot, f"{step.__name__} changed its input"
    scored = scoring.run()
    assert len(scored) == len(grader.probes) and all(isinstance(a, Attempt) for _, a, _ in scored)
