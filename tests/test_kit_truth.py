"""One truth: on the public checks, the student kit's verdicts equal the full grader's.

Every notebook of the shallow-backprop corpus, and for every assignment its
solution and its released notebook, is graded by the
grader (sandboxed worker, reference in the grader's process) and checked by
the released kit (`python -m nncheck`, a separate process with the kit's
folder as its only code). Every banked mistake of every assignment is compared
the same way in tests/test_selftest.py, from the selftest's own grading. Per public check, status and diagnosis must agree,
and the score too where the grader gave no behavioural partial credit.

Two documented differences: the kit cannot call the reference in place of a
broken helper (no reference in the kit), so where the grader says
`broken-helper` the kit says the check fails (naming the helper to fix first
when that helper failed a public check of its own);
and the kit does not read the notebook's source, so it does not relabel a
failure `redefined-other-signature`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.pipeline.grade import Grader, Options
from grader.kit.release import release
from grader.run.sandbox import Limits
from grader.checks.spec import list_assignments, load_spec

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent / "resources" / "corpus"
# Not run by the kit: they end or exhaust the student's own process (the grader survives them in its sandbox),
# or attack the checking itself, which only the grader's separate process can resist.
KIT_SKIPS = {"fault_os_exit.py", "fault_memory_bomb.py", "fault_swallow_interrupt.py", "fault_python2.ipynb",
             "hostile_patch_numpy.py", "hostile_patch_inplace.py", "hostile_fake_results.py"}


def cases() -> list[tuple[str, str]]:
    found = [("shallow-backprop", f"corpus/{p.name}") for p in sorted(CORPUS.iterdir()) if p.name not in KIT_SKIPS]
    for assignment in list_assignments():
        found += [(assignment, "solution"), (assignment, "released")]
    return found


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("truth-kits")
    out = {}
    for assignment in list_assignments():
        release(assignment, root / assignment)
        out[assignment] = root / assignment
    return out


def notebook_for(assignment: str, case: str, kit: Path, tmp: Path) -> Path:
    if case.startswith("corpus/"):
        return CORPUS / case.split("/", 1)[1]
    spec = load_spec(assignment)
    if case == "solution":
        return spec.folder / "solution.ipynb"
    return kit / f"{assignment}.ipynb"  # released


def kit_verdicts(kit: Path, notebook: Path, tmp: Path) -> dict:
    out = tmp / "kit.json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(kit), "MPLBACKEND": "Agg", "HOME": str(tmp)}
    run = subprocess.run([sys.executable, "-m", "nncheck", str(notebook), "--cell-timeout", "5", "--json", str(out),
                          "--pack", str(next(kit.glob("*.checks.json")))], cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return {t["name"]: t for t in json.loads(out.read_text())["tests"]}


@pytest.mark.parametrize("assignment,case", cases())
def test_kit_and_grader_agree_on_every_public_check(assignment, case, kits, tmp_path):
    spec = load_spec(assignment)
    notebook = notebook_for(assignment, case, kits[assignment], tmp_path)
    options = Options(limits=Limits(cell_timeout=5, notebook_timeout=120))
    graded = {t.name: t for t in Grader(spec, options).grade(notebook).tests if t.visibility == "visible"}
    kit = kit_verdicts(kits[assignment], notebook, tmp_path)
    assert_kit_agrees(spec, graded, kit)


def assert_kit_agrees(spec, graded: dict, kit: dict) -> None:
    """The kit's verdict (a dict per check name) equals the grader's TestResult on every public check."""
    assert set(kit) == set(graded)
    partial = {c.name for c in spec.checks if c.partial}
    for name, full in graded.items():
        mine = kit[name]
        if full.diagnosis == "broken-helper":
            assert mine["status"] != "passed", name  # and names the helper when it failed a public check of its own
            continue
        if full.diagnosis == "redefined-other-signature":
            assert mine["status"] == full.status, name
            continue
        assert (mine["status"], mine["diagnosis"]) == (full.status, full.diagnosis), f"{name}: kit {mine['output']!r} vs grader {full.output!r}"
        if name not in partial:
            assert mine["score"] == pytest.approx(full.score), name
