"""The retry's limits hold on real notebooks: the helper-call budget, and a machine that fails on restart.

"One bug costs once" runs a function again with the reference in place of its broken helpers. A
function may ask for that reference as often as it likes: the budget (`Limits.helper_calls`, 2,000
per retry) ends it. A notebook that crashes is restarted; when the machine cannot restart it, that is
a harness fault, never a grade of 0 (issue 20 item 6).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.batch import runner
from grader.batch.assignment import AssignmentRef
from grader.batch.intake import Submission
from grader.checks.spec import load_spec
from grader.pipeline.grade import Grader, Options
from grader.run import process
from grader.run.process import HarnessFault
from grader.run.sandbox import Limits, SandboxConfig

CORPUS = Path(__file__).resolve().parent / "resources" / "corpus"
BASE = (CORPUS / "good_vectorised_alt.py").read_text()
CALLS = 60  # reference answers one call of eval_perfs asks for
# onehot2label is wrong (rows, not columns), so eval_perfs is retried with the reference's; it asks CALLS times.
GREEDY = BASE + """
# %%
def onehot2label(d):
    return np.argmax(d, axis=1)

def eval_perfs(y, lbl):
    for _ in range(%d):
        onehot2label(y)
    return 100.0 * np.mean(onehot2label(y) != lbl)
""" % CALLS


def graded(tmp_path: Path, budget: int):
    limits = Limits(cell_timeout=10, notebook_timeout=120, call_timeout=10, helper_calls=budget)
    path = tmp_path / "greedy.py"
    path.write_text(GREEDY)
    result = Grader(load_spec("shallow-backprop"), Options(limits=limits, sandbox=SandboxConfig(mode="none"))).grade(path)
    return [t for t in result.tests if t.function == "eval_perfs"]


def test_the_default_budget_is_two_thousand_reference_answers_per_retry():
    assert Limits().helper_calls == 2000


def test_a_retry_that_asks_for_more_reference_answers_than_its_budget_earns_nothing(tmp_path):
    within = graded(tmp_path, budget=CALLS + 5)
    assert within and all(t.status == "passed" and t.diagnosis == "broken-helper" for t in within), [t.output for t in within]
    beyond = graded(tmp_path, budget=CALLS - 5)
    assert beyond and all(t.score == 0 and t.diagnosis != "broken-helper" for t in beyond), [t.output for t in beyond]
    assert any(f"more than {CALLS - 5} helper calls" in t.output for t in beyond)


CRASH = BASE + """
# %%
import os
os._exit(3)
"""


def test_a_machine_that_cannot_restart_a_crashed_notebook_is_a_fault_never_a_grade(tmp_path, monkeypatch):
    path = tmp_path / "crash.py"
    path.write_text(CRASH)
    spec = load_spec("shallow-backprop")
    options = Options(limits=Limits(cell_timeout=10, notebook_timeout=120), sandbox=SandboxConfig(mode="none"))
    runner._init_worker(AssignmentRef.of(spec), options)
    spawn, started = process.Worker._spawn, []

    def spawn_once(self):  # the first start works; the restart after the crash finds a broken machine
        started.append(1)
        if len(started) > 1:
            raise HarnessFault("the sandbox could not start Python: injected for this test")
        return spawn(self)

    monkeypatch.setattr(process.Worker, "_spawn", spawn_once)
    kind, payload, _ = runner.grade_one(Submission("crash", path))
    assert len(started) == 2, "the crashed notebook was never restarted"
    assert kind == "fault" and "injected" in payload["message"], (kind, payload)
