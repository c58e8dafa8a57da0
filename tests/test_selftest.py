"""`grader selftest` through the whole pipeline: solutions full, released zero, every mistake caught and named."""
import io

import nbformat
import pytest

from grader.checks import bank
from grader.batch.selftest import run_selftest
from grader.checks.spec import list_assignments, load_spec


@pytest.mark.parametrize("assignment", list_assignments())
def test_selftest_passes_with_every_banked_mistake_caught_and_named(assignment):
    out = io.StringIO()
    ok = run_selftest([assignment], workers=2, stream=out)
    text = out.getvalue()
    assert ok, text
    assert f"PASS: {assignment}" in text
    spec = load_spec(assignment)
    mistakes = [v for v in bank.variants(spec.bank_module()) if v.kind == "mistake"]
    assert len(mistakes) >= len([f for f in spec.functions if not f.given]), "at least one banked mistake per graded function"
    total = next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert total.split()[1:] == [str(len(mistakes))] * 3  # banked, caught, named


@pytest.mark.parametrize("assignment", list_assignments())
def test_every_mistake_changes_what_its_function_returns(assignment):
    """A banked mistake identical to the reference on every probe would be a test with no power."""
    spec = load_spec(assignment)
    names = {v.id for v in bank.variants(spec.bank_module())}
    assert len(names) == len(bank.variants(spec.bank_module())), "variant ids are unique"
    for variant in bank.variants(spec.bank_module()):
        assert variant.function in {f.name for f in spec.functions}, variant.id
        source = variant.source()
        compile(source, variant.id, "exec")


def test_selftest_fails_when_a_mistake_goes_unnoticed(tmp_path, monkeypatch):
    """Break the grader's power on purpose: a check that cannot see the bug must turn the selftest red."""
    from grader.batch import selftest

    spec = load_spec("shallow-backprop")
    real = selftest.make_cases

    def only_one_case(spec_, folder, quick):
        cases = [c for c in real(spec_, folder, quick) if c.label in ("solution", "eval-loss-sum")]
        return [selftest.Case(c.assignment, c.label, c.kind, "softmax" if c.kind == "mistake" else c.function, c.path) for c in cases]

    monkeypatch.setattr(selftest, "make_cases", only_one_case)
    out = io.StringIO()
    assert not run_selftest(["shallow-backprop"], workers=1, stream=out)
    assert "NOT CAUGHT" in out.getvalue()
