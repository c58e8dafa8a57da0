"""Intake of a messy class (issue 19 item 1): nobody vanishes, zips are unpacked safely, the right
notebook is graded, and every unusable input is a 0 that a person is told to look at."""
from __future__ import annotations

import csv
import io
import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.batch import intake
from grader.batch.intake import collect, unpack_notebooks

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "assignments" / "shallow-backprop" / "solution.ipynb"
GRADED = ("softmax", "softmaxp", "relu", "relup", "eval_loss")


def notebook_text(*sources: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return nbformat.writes(nb)


def make_zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_a_folder_without_a_notebook_is_a_submission_that_says_what_it_found(tmp_path):
    (tmp_path / "class" / "zoe").mkdir(parents=True)
    (tmp_path / "class" / "zoe" / "report.docx").write_bytes(b"PK fake docx")
    make_zip(tmp_path / "class" / "zoe" / "submission.zip", {"notes.txt": b"hello"})
    found = collect([tmp_path / "class"], tmp_path / "unpack", GRADED)
    (sub,) = found.submissions
    assert sub.id == "zoe" and sub.unusable == "no notebook (found report.docx, submission.zip)"
    assert "1 folder: 0 with a notebook, 1 without one, 0 with several" in found.summary()[0]
    assert any("zoe: no notebook (found report.docx, submission.zip)" in line for line in found.summary())


def test_a_zip_holding_a_notebook_is_unpacked_and_graded(tmp_path):
    (tmp_path / "class" / "amy").mkdir(parents=True)
    make_zip(tmp_path / "class" / "amy" / "hw.zip", {"hw/Lab2.ipynb": notebook_text("x = 1"), "hw/data.csv": b"1,2"})
    make_zip(tmp_path / "class" / "bo.zip", {"Lab2.ipynb": notebook_text("y = 2")})  # a zip handed in flat
    found = collect([tmp_path / "class"], tmp_path / "unpack", GRADED)
    by_id = {s.id: s for s in found.submissions}
    assert set(by_id) == {"amy", "bo"}
    assert by_id["amy"].path.name == "Lab2.ipynb" and by_id["amy"].path.is_relative_to(tmp_path / "unpack")
    assert nbformat.read(by_id["bo"].path, as_version=4).cells[0].source == "y = 2"
    assert not list((tmp_path / "unpack").rglob("data.csv")), "only notebooks are unpacked"


def test_zip_members_that_leave_the_folder_or_are_links_are_refused(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {"../../escaped.py": b"x = 1", "/abs.py": b"x = 2", "ok.py": b"x = 3"},
                       links={"link.py": "/etc/passwd"})
    written, problem = unpack_notebooks(archive, tmp_path / "out")
    assert [p.name for p in written] == ["ok.py"]
    assert not (tmp_path / "escaped.py").exists() and not list(tmp_path.rglob("abs.py"))
    assert "leaves the folder" in problem and "a link" in problem
    assert all(not p.is_symlink() for p in (tmp_path / "out").rglob("*"))


def test_a_zip_bomb_is_cut_at_the_limit_as_bytes_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "ZIP_MAX_NOTEBOOK_BYTES", 1000)
    archive = make_zip(tmp_path / "bomb.zip", {"big.py": b"0" * 5_000_000})
    assert archive.stat().st_size < 20_000  # compresses a thousandfold
    written, problem = unpack_notebooks(archive, tmp_path / "out")
    assert written == [] and "limit" in problem
    assert sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file()) == 0 if (tmp_path / "out").exists() else True


def test_a_zip_with_too_many_entries_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "ZIP_MAX_MEMBERS", 10)
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.py": b"x = 1" for i in range(11)})
    written, problem = unpack_notebooks(archive, tmp_path / "out")
    assert written == [] and "11 entries" in problem


def test_a_corrupt_zip_is_said_not_raised(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    written, problem = unpack_notebooks(tmp_path / "broken.zip", tmp_path / "out")
    assert written == [] and "not a readable zip" in problem


def test_of_several_notebooks_the_one_defining_most_graded_names_is_graded(tmp_path):
    folder = tmp_path / "class" / "ann"
    folder.mkdir(parents=True)
    (folder / "Untitled.ipynb").write_text(notebook_text("print('hi')"))
    shutil.copy(SOLUTION, folder / "hw1_final.ipynb")
    found = collect([tmp_path / "class"], tmp_path / "unpack", GRADED)
    (sub,) = found.submissions
    assert sub.path.name == "hw1_final.ipynb" and sub.others == ("Untitled.ipynb",)
    assert "defines 5 of the 5 graded functions" in sub.note and "Untitled.ipynb (0)" in sub.note
    assert not any("not a notebook" in line for line in found.summary()), "the other notebook is not 'not a notebook'"


@pytest.fixture(scope="module")
def messy_class(tmp_path_factory):
    """A class with every kind of unusable input, graded once through the command line."""
    root = tmp_path_factory.mktemp("messy")
    cls = root / "class"
    for name in ("good", "nothing", "zipped", "two", "corrupt", "empty", "latin1"):
        (cls / name).mkdir(parents=True)
    shutil.copy(SOLUTION, cls / "good" / "Lab2.ipynb")
    (cls / "nothing" / "report.docx").write_bytes(b"docx")
    make_zip(cls / "zipped" / "submission.zip", {"Lab2.ipynb": SOLUTION.read_bytes()})
    (cls / "two" / "Untitled.ipynb").write_text(notebook_text("1 + 1"))
    shutil.copy(SOLUTION, cls / "two" / "hw1_final.ipynb")
    (cls / "corrupt" / "Lab2.ipynb").write_text('{"cells": [')
    (cls / "empty" / "Lab2.ipynb").write_bytes(b"")
    (cls / "latin1" / "Lab2.ipynb").write_bytes(notebook_text("s = 'caf\u00e9'").encode("latin-1"))
    out = root / "out"
    cmd = [sys.executable, "-m", "grader", "grade", str(cls), "-a", "shallow-backprop", "-o", str(out), "--cell-timeout", "10"]
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    return out, dry, run


@pytest.mark.slow
def test_dry_run_says_what_the_input_holds_and_grades_nothing(messy_class):
    out, dry, _ = messy_class
    assert dry.returncode == 0, dry.stderr
    assert "7 folders: 6 with a notebook, 1 without one, 1 with several" in dry.stdout
    assert "nothing: no notebook (found report.docx)" in dry.stdout
    assert "two: graded hw1_final.ipynb" in dry.stdout
    assert "Graded" not in dry.stdout


@pytest.mark.slow
def test_every_unusable_input_is_a_zero_for_a_person_everywhere(messy_class):
    out, _, run = messy_class
    assert run.returncode == 0, run.stderr
    results = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert set(results) == {"good", "nothing", "zipped", "two", "corrupt", "empty", "latin1"}, "nobody vanishes"
    full = results["good"]["max_score"]
    assert results["good"]["score"] == results["zipped"]["score"] == results["two"]["score"] == full
    unusable = {"nothing", "corrupt", "empty", "latin1"}
    for name in unusable:
        assert results[name]["score"] == 0
        assert [a["reason"] for a in results[name]["attention"]] == ["unusable-input"], name
    assert "no notebook (found report.docx)" in results["nothing"]["attention"][0]["detail"]
    # the terminal summary
    needs = next(line for line in run.stdout.splitlines() if line.startswith("Need a person"))
    assert all(name in needs for name in unusable)
    # the overview
    overview = (out / "index.html").read_text()
    assert all(name in overview for name in unusable) and "nothing could be graded" in overview
    # the exports
    rows = {r["submission"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig")))}
    assert {n for n, r in rows.items() if r["needs_person"]} == unusable
    canvas = list(csv.reader((out / "canvas.csv").open(encoding="utf-8")))
    assert {row[3] for row in canvas[2:]} == set(results)
    for name in unusable:
        gradescope = json.loads((out / "gradescope" / name / "results.json").read_text())
        assert gradescope["score"] == 0
