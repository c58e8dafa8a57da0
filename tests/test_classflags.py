"""Copy flags judged against the class (grader/outputs/classflags.py): the usual correct answer is no sign."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from grader.outputs.classflags import without_common_copy_flags
from grader.result import IntegrityFlag, result_from_dict
from grader.result import TestResult as Check  # not "Test...": pytest would try to collect it

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = next(iter(sorted((ROOT / "tests" / "resources" / "results").glob("*.json"))))


def student(name: str, copied: bool, correct: bool = True):
    base = result_from_dict(json.loads(FIXTURE.read_text()))
    tests = (Check("update_shallow: one step", "update_shallow", "passed" if correct else "failed", 3.0 if correct else 0.0, 3.0),
             Check("relu: values", "relu", "passed", 1.0, 1.0))
    flags = [IntegrityFlag("network", "cell 3: urllib")]
    if copied:
        flags.append(IntegrityFlag("matches-reference", "cell 27: update_shallow is the reference solution's code up to names and formatting (similarity 1.00)"))
    return replace(base, submission=name, tests=tests, integrity=tuple(flags))


def copy_flags(results) -> dict[str, list[str]]:
    return {r.submission: [f.flag for f in r.integrity] for r in results}


def test_an_answer_nine_in_ten_correct_students_share_loses_its_flag_for_everyone():
    results = [student(f"s{i}", copied=True) for i in range(9)] + [student("own", copied=False), student("wrong", copied=True, correct=False)]
    judged = copy_flags(without_common_copy_flags(results))
    assert all(flags == ["network"] for flags in judged.values()), judged  # other flags stay


def test_a_flag_most_correct_students_do_not_share_stays():
    results = [student(f"s{i}", copied=i < 3) for i in range(8)]
    judged = copy_flags(without_common_copy_flags(results))
    assert [name for name, flags in judged.items() if "matches-reference" in flags] == ["s0", "s1", "s2"]


def test_a_class_too_small_to_tell_keeps_its_flags():
    results = [student(f"s{i}", copied=True) for i in range(4)]
    assert all("matches-reference" in flags for flags in copy_flags(without_common_copy_flags(results)).values())


def test_a_graded_class_of_the_same_answer_shows_no_copy_flag_in_reports_overview_or_exports(tmp_path):
    work = tmp_path / "class"
    for i in range(5):  # five students who all wrote the handout's one natural update
        shutil.copytree(ROOT / "examples" / "shallow-backprop" / "ada", work / f"student{i}")
    outdir = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(work), "-a", "shallow-backprop", "-o", str(outdir),
                          "--cell-timeout", "10", "--sandbox", "none", "-j", "2"], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    for i in range(5):
        result = json.loads((outdir / "results" / f"student{i}.json").read_text())
        assert not [f for f in result["integrity"] if f["flag"].startswith("matches-")], result["integrity"]
        assert "matches-reference" not in (outdir / "reports" / f"student{i}.html").read_text()
    assert "matches-reference" not in (outdir / "index.html").read_text()
    single = subprocess.run([sys.executable, "-m", "grader", "check", str(next((work / "student0").glob("*.ipynb"))), "-a", "shallow-backprop",
                             "--sandbox", "none", "--json", str(tmp_path / "one.json")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert any(f["flag"] == "matches-reference" for f in json.loads((tmp_path / "one.json").read_text())["integrity"]), single.stdout[-500:]
