"""`grader selftest` through the whole pipeline: solutions full, released zero, every mistake caught and named;
and the student kit agrees with the grader on every banked mistake of every assignment."""
import io
import json
import os
import subprocess
import sys

import nbformat
import pytest

from grader.checks import bank
from grader.batch.selftest import run_selftest
from grader.checks.spec import list_assignments, load_spec
from grader.kit.release import release
from grader.notebook.cells import transform_cell
from grader.notebook.defsonly import defs_only
from test_kit_truth import assert_kit_agrees

GRADED: dict = {}  # (assignment, label) -> (Case, Result), kept from each assignment's selftest


@pytest.mark.parametrize("assignment", list_assignments())
def test_selftest_passes_with_every_banked_mistake_caught_and_named(assignment):
    out = io.StringIO()
    ok = run_selftest([assignment], workers=2, stream=out, keep=GRADED)
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


# Run inside the released kit, with the kit's folder as its only code: each case's definitions in a
# fresh namespace (as the grader's definitions-only run of a banked mistake), then every public check.
KIT_DRIVER = """
import io, json, sys
from nncheck.kitcli import make_shell, run_notebook
from nncheck.kitcore import run_checks
from nncheck.kitpack import find_pack
pack = find_pack(sys.argv[3])
out = {}
for label, cells in json.load(open(sys.argv[1])).items():
    make_shell().reset(new_session=False)  # the kit's own IPython shell, emptied between cases
    namespace, _ = run_notebook(list(enumerate(cells)), 30, out=io.StringIO())
    out[label] = {r.name: {"status": r.status, "diagnosis": r.diagnosis, "score": r.score, "output": r.output}
                  for r in run_checks(None, namespace, pack).results}
json.dump(out, open(sys.argv[2], "w"))
"""


@pytest.mark.parametrize("assignment", list_assignments())
def test_the_kit_agrees_with_the_grader_on_every_banked_mistake(assignment, tmp_path):
    spec = load_spec(assignment)
    if not any(key[0] == assignment for key in GRADED):
        run_selftest([assignment], workers=2, stream=io.StringIO(), keep=GRADED)
    mistakes = {v.id: v for v in bank.variants(spec.bank_module()) if v.kind == "mistake"}
    solution = nbformat.read(spec.folder / "solution.ipynb", as_version=4)
    solution_cells = [c.source for c in solution.cells if c.cell_type == "code"]
    cases = {label: [defs_only(transform_cell(src)) for src in solution_cells + [variant.source()]] for label, variant in mistakes.items()}
    kit = tmp_path / "kit"
    release(assignment, kit)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "driver.py").write_text(KIT_DRIVER)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(kit), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "cases.json"), str(tmp_path / "kit.json"),
                          str(next(kit.glob("*.checks.json")))], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    verdicts = json.loads((tmp_path / "kit.json").read_text())
    compared = 0
    for label in mistakes:
        _, result = GRADED[(assignment, label)]
        graded = {t.name: t for t in result.tests if t.visibility == "visible"}
        assert_kit_agrees(spec, graded, verdicts[label])
        compared += 1
    assert compared == len(mistakes) > 0
