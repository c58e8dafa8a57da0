"""The grader's feedback and the student kit take every status, score and diagnosis from judging.decide.

A spy in place of `decide` must show up, unchanged, in what each side reports: neither may keep a
rule of its own beside it (issue 21 item 1).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks import judging
from grader.checks.compare import Verdict
from grader.checks.judging import Decision
from grader.checks.spec import load_spec
from grader.kit import kitcore
from grader.kit.kitpack import Pack
from grader.kit.release import release
from grader.pipeline import feedback as feedback_module
from grader.pipeline.feedback import Feedback
from grader.pipeline.probes import build_probe
from grader.run.execute import CallOutcome
from grader.scoring.attempts import Attempt

SPY = Decision("timeout", 0.123, "decided-by-the-spy")


@pytest.fixture
def spy(monkeypatch) -> list:
    """Calls of `decide` as (verdict, outcome status, points); every call answers SPY."""
    calls: list = []

    def fake(verdict, outcome_status, points, **kwargs):
        calls.append((verdict, outcome_status, points))
        return SPY

    monkeypatch.setattr(feedback_module, "decide", fake)
    monkeypatch.setattr(kitcore, "decide", fake)
    return calls


def test_the_graders_feedback_reports_what_decide_decides(spy):
    spec = load_spec("shallow-backprop")
    check = next(c for c in spec.checks if not c.partial and not c.class_name)
    probe = build_probe(spec, check)
    verdict = Verdict(False, "not the reference's values", "transposed")
    attempt = Attempt(probe.call, probe.payload, CallOutcome("ok", value={"return": 0.0}), verdict)
    result = Feedback(spec, None, {}, []).test_result(probe, attempt, "")
    assert spy == [(verdict, "ok", check.points)]
    assert (result.status, result.score, result.diagnosis) == (SPY.status, SPY.score, SPY.diagnosis)
    missing = Feedback(spec, None, {}, []).test_result(probe, Attempt({}, probe.payload, CallOutcome("missing"), None), "")
    assert spy[-1] == (None, "missing", check.points)
    assert (missing.status, missing.score, missing.diagnosis) == (SPY.status, SPY.score, SPY.diagnosis)


def test_the_kit_reports_what_decide_decides(spy, tmp_path):
    release("shallow-backprop", tmp_path)
    pack = Pack(tmp_path / "shallow-backprop.checks.json")
    check = next(c for c in pack.checks if c.function == "eval_perfs")

    def eval_perfs(y, lbl):  # a fraction where a percentage is wanted: a failed check
        return float(np.mean(np.argmax(y, axis=0) != lbl))

    for namespace in ({"eval_perfs": eval_perfs, "np": np}, {}):  # called, then missing
        result = kitcore.run_check(check, pack, namespace)
        assert (result.status, result.score, result.diagnosis) == (SPY.status, SPY.score, SPY.diagnosis)
    assert [(v is None, status, points) for v, status, points in spy] == [(False, "ok", check.points), (True, "missing", check.points)]


def test_the_spy_is_the_real_rule_unpatched():
    # without the spy both modules hold the one function of judging.py
    assert feedback_module.decide is judging.decide and kitcore.decide is judging.decide
