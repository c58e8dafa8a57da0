"""`grader grade` on a class: mixed submissions, every output written, nothing regraded twice."""
import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.runner import collect

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "shallow-backprop"


def test_collect_reads_a_folder_per_student_and_flat_files(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "hw.ipynb").write_text("{}")
    (tmp_path / "alice" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "alice" / ".ipynb_checkpoints" / "hw-checkpoint.ipynb").write_text("{}")
    (tmp_path / "bob.py").write_text("x = 1")
    (tmp_path / "notes.txt").write_text("not a notebook")
    subs, ignored = collect([tmp_path])
    assert [(s.id, s.path.name) for s in subs] == [("alice", "hw.ipynb"), ("bob", "bob.py")]
    assert [p.name for p in ignored] == ["notes.txt"]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("class")
    cmd = [sys.executable, "-m", "grader", "grade", str(EXAMPLES), "-a", "shallow-backprop", "-o", str(outdir), "--cell-timeout", "5", "-j", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    return outdir, first, second


def test_a_mixed_class_is_graded_and_every_output_written(graded_class):
    outdir, first, _ = graded_class
    assert first.returncode == 0, first.stderr
    results = {p.stem: json.loads(p.read_text()) for p in (outdir / "results").glob("*.json")}
    assert set(results) == {"ada", "ben", "cleo", "dan", "eve"}
    assert results["ada"]["score"] == results["ada"]["max_score"] == 48  # init_shallow is the handout's: no points
    assert results["ben"]["score"] == 21
    assert results["eve"]["execution"]["status"] == "invalid" and results["eve"]["score"] == 0
    assert results["dan"]["execution"]["status"] == "timeout"
    assert results["dan"]["score"] == 48  # a hanging cell at the end costs nothing the functions earned
    cleo = {t["diagnosis"] for t in results["cleo"]["tests"] if t["status"] != "passed"}
    assert {"softmax-unstable", "eval-loss-mean-over-samples", "minibatch-never-shuffled"} <= cleo
    for name in results:
        assert (outdir / "reports" / f"{name}.html").exists()
        gradescope = json.loads((outdir / "gradescope" / name / "results.json").read_text())
        assert gradescope["score"] == pytest.approx(results[name]["score"])
    assert (outdir / "index.html").exists()
    with open(outdir / "grades.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert {k: float(v["score"]) for k, v in rows.items()} == {k: r["score"] for k, r in results.items()}
    assert "Graded 5 notebooks" in first.stdout and "index.html" in first.stdout


def test_the_second_run_grades_nothing_new(graded_class):
    outdir, _, second = graded_class
    assert second.returncode == 0, second.stderr
    assert "5 submission(s) already graded" in second.stdout
    with sqlite3.connect(outdir / "gradebook.sqlite") as db:
        runs = db.execute("select count(*) from runs").fetchone()[0]
    assert runs == 5


def test_a_changed_submission_is_regraded_and_history_kept(graded_class, tmp_path):
    outdir, _, _ = graded_class
    work = tmp_path / "class"
    shutil.copytree(EXAMPLES, work)
    seed = work / "ben" / "Lab2.ipynb"
    seed.write_text(seed.read_text().replace("error = 50 *", "error = 500 *"))
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(work), "-a", "shallow-backprop", "-o", str(outdir), "--cell-timeout", "5", "-j", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 submission(s) already graded" in proc.stdout
    ben = json.loads((outdir / "results" / "ben.json").read_text())
    assert ben["score"] == 24  # eval_perfs is now right: 500 * mean of 2 wrong entries out of 10 = 100 * error rate
    with sqlite3.connect(outdir / "gradebook.sqlite") as db:
        runs = db.execute("select count(*) from runs where submission = 'ben'").fetchone()[0]
    assert runs == 2


def test_after_an_incremental_run_the_terminal_and_the_overview_tell_the_same_class(tmp_path):
    import re

    work, outdir = tmp_path / "class", tmp_path / "out"
    work.mkdir()
    shutil.copytree(EXAMPLES / "eve", work / "eve")  # a corrupt file: 0, and a person must look
    cmd = [sys.executable, "-m", "grader", "grade", str(work), "-a", "shallow-backprop", "-o", str(outdir), "--cell-timeout", "60",
           "--sandbox", "none"]  # a loaded CI machine must not turn ada's training cells into a timeout
    subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, check=True)
    shutil.copytree(EXAMPLES / "ada", work / "ada")  # full marks, handed in later
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, check=True)
    assert "Graded 1 notebook " in second.stdout and "1 kept from earlier runs" in second.stdout
    shown = float(re.search(r"Mean score ([\d.]+)", second.stdout).group(1))
    overview = float(re.search(r'id="mean" data-value="([\d.]+)"', (outdir / "index.html").read_text()).group(1))
    assert shown == pytest.approx(overview, abs=0.01) == 24  # (48 + 0) / 2, not ada's 48 alone
    assert "Failed to run: 1: eve (invalid)" in second.stdout and "Need a person: 1: eve" in second.stdout, second.stdout
