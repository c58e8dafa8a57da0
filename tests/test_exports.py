"""Exports: gradebook CSV, Canvas import CSV, Gradescope results.json and its run_autograder.

Also grader.progress (progress lines and the batch summary), kept here because this file
is the one the batch-output work owns; move to tests/test_progress.py if that file appears.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from grader.exports import main
from grader.outputs.exports import (gradescope_results, graded_functions, run_autograder_script,
                            write_canvas_csv, write_gradescope, write_grades_csv)
from grader.outputs.progress import Progress, summary_text
from grader.result import Result, result_from_dict

RESULTS_DIR = Path(__file__).parent / "resources" / "results"
FIXTURES = sorted(p.stem for p in RESULTS_DIR.glob("*.json"))
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def load(name: str) -> Result:
    return result_from_dict(json.loads((RESULTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def all_results() -> list[Result]:
    return [load(name) for name in FIXTURES]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


# ---------------------------------------------------------------- grades CSV

def test_grades_csv_round_trips_and_totals_match(tmp_path):
    results = all_results()
    path = tmp_path / "grades.csv"
    write_grades_csv(results, path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "BOM so Excel reads UTF-8"
    rows = read_csv(path)
    header, body = rows[0], rows[1:]
    functions = graded_functions(results)
    assert header == ["submission", "score", "max_score", *functions, "needs_person"]
    by_sub = {r.submission: r for r in results}
    assert sorted(row[0] for row in body) == sorted(by_sub)
    for row in body:
        result = by_sub[row[0]]
        assert float(row[1]) == pytest.approx(result.score)
        assert float(row[2]) == pytest.approx(result.max_score)
        assert sum(float(x) for x in row[3:-1]) == pytest.approx(result.score)


def test_grades_csv_numbers_are_unquoted(tmp_path):
    path = tmp_path / "grades.csv"
    write_grades_csv([load("partial")], path)
    line = path.read_text(encoding="utf-8-sig").splitlines()[1]
    assert line.startswith("bob,30,50,")
    assert '"' not in line


def test_grades_csv_follows_the_given_function_order(tmp_path):
    path = tmp_path / "grades.csv"
    order = ["update_shallow", "softmax", "not_in_results"]
    write_grades_csv([load("partial")], path, functions=order)
    header, row = read_csv(path)
    assert header[3:-1] == order
    assert [float(x) for x in row[3:-1]] == [3.0, 3.0, 0.0]


def test_grades_csv_escapes_commas_quotes_and_unicode(tmp_path):
    import dataclasses
    weird = dataclasses.replace(load("full_marks"), submission='Zoë "Z", =cmd')
    path = tmp_path / "grades.csv"
    write_grades_csv([weird], path)
    assert read_csv(path)[1][0] == 'Zoë "Z", =cmd'


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-2+3", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def read_canvas(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("name", FORMULAS, ids=repr)
def test_csv_cells_a_spreadsheet_would_run_are_made_inert(tmp_path, name):
    import dataclasses
    result = dataclasses.replace(load("partial"), submission=name)
    write_grades_csv([result], tmp_path / "grades.csv", functions=[name, "softmax"])
    write_canvas_csv([result], tmp_path / "canvas.csv", name, 50)
    header, row = read_csv(tmp_path / "grades.csv")
    assert row[0] == "'" + name and header[3] == "'" + name
    canvas = read_canvas(tmp_path / "canvas.csv")
    assert canvas[0][5] == "'" + name
    assert canvas[2][0] == canvas[2][3] == "'" + name
    assert float(row[1]) == pytest.approx(result.score) and float(canvas[2][5]) == pytest.approx(result.score)


def test_numbers_and_plain_text_are_not_touched(tmp_path):
    import dataclasses
    result = dataclasses.replace(load("partial"), submission="o'brien - 2", score=-1.5)
    write_grades_csv([result], tmp_path / "grades.csv")
    write_canvas_csv([result], tmp_path / "canvas.csv", "HW 1", 50)
    line = (tmp_path / "grades.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert line.startswith("o'brien - 2,-1.5,50,")  # a negative score written from a float stays a number
    assert read_canvas(tmp_path / "canvas.csv")[2] == ["o'brien - 2", "", "", "o'brien - 2", "", "-1.5"]


# ---------------------------------------------------------------- file modes

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask_like_open_does(tmp_path, umask, mode):
    from grader.outputs.overview import write_overview
    from grader.outputs.report import write_report
    from grader.result import write_atomic

    result = load("partial")
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "results" / "bob.json", result.to_json())
        write_report(result, tmp_path / "bob.html")
        write_overview([result], {}, "HW 1", tmp_path / "index.html")
        write_grades_csv([result], tmp_path / "grades.csv")
        write_canvas_csv([result], tmp_path / "canvas.csv", "HW 1", 50)
        write_gradescope(result, tmp_path / "results.json")
        with open(tmp_path / "plain.txt", "w") as handle:  # what a normal open() gives
            handle.write("x")
    finally:
        os.umask(old)
    for name in ("results/bob.json", "bob.html", "index.html", "grades.csv", "canvas.csv", "results.json", "plain.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"


def test_an_atomic_write_replaces_the_file_whole(tmp_path):
    from grader.result import write_atomic

    path = tmp_path / "grades.csv"
    write_atomic(path, "old\n")
    write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


# ---------------------------------------------------------------- Canvas

def test_canvas_csv_has_points_possible_row(tmp_path):
    results = all_results()
    path = tmp_path / "canvas.csv"
    write_canvas_csv(results, path, "Homework 1 (1234)", 50)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Homework 1 (1234)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == 50
    by_login = {row[3]: float(row[5]) for row in rows[2:]}
    assert by_login == {r.submission: r.score for r in results}
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


# ---------------------------------------------------------------- Gradescope

def check_gradescope(data: dict, result: Result) -> None:
    assert isinstance(data["score"], (int, float)) and not isinstance(data["score"], bool)
    assert data["score"] == pytest.approx(result.score)
    assert isinstance(data["execution_time"], (int, float))
    assert isinstance(data["output"], str)
    assert data["output_format"] == "text"
    assert data["visibility"] in VISIBILITY and data["stdout_visibility"] in VISIBILITY
    assert len(data["tests"]) == len(result.tests)
    for test, source in zip(data["tests"], result.tests):
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str) and test["name"] == source.name
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert (test["status"] == "passed") == (source.status == "passed")
        assert isinstance(test["output"], str)
        assert test["visibility"] == "visible"
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(result.max_score)


@pytest.mark.parametrize("name", FIXTURES)
def test_gradescope_results_follow_the_spec(name):
    result = load(name)
    data = gradescope_results(result)
    check_gradescope(data, result)
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN even when details hold one


def test_gradescope_failed_test_output_explains(tmp_path):
    data = gradescope_results(load("partial"))
    softmaxp = next(t for t in data["tests"] if t["name"].startswith("softmaxp"))
    assert "transposed" in softmaxp["output"]
    assert "Call: softmaxp(a, e)" in softmaxp["output"]
    assert "Cell 14: error" in data["output"]
    assert "integrity" in data["extra_data"] and "reads-test-labels" not in data["output"]


def test_write_gradescope_and_command_agree(tmp_path):
    result = load("partial")
    write_gradescope(result, tmp_path / "a.json")
    source = tmp_path / "result.json"
    source.write_text(result.to_json(), encoding="utf-8")
    assert main(["gradescope", str(source), str(tmp_path / "b.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())


def test_command_writes_zero_score_when_grading_produced_nothing(tmp_path):
    errors = tmp_path / "stderr.txt"
    errors.write_text("grader: hw.ipynb: not a notebook (invalid JSON at line 1)\n")
    target = tmp_path / "results.json"
    assert main(["gradescope", str(tmp_path / "missing.json"), str(target), "--error-file", str(errors)]) == 0
    data = json.loads(target.read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "not a notebook" in data["output"]


@pytest.mark.parametrize("argv", [[], ["gradescope"], ["csv", "a", "b"], ["gradescope", "a", "b", "--error-file"]])
def test_command_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_command_runs_as_module(tmp_path):
    source = tmp_path / "result.json"
    source.write_text(load("full_marks").to_json(), encoding="utf-8")
    target = tmp_path / "results.json"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "grader.exports", "gradescope", str(source), str(target)],
                          cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["score"] == 50


def test_run_autograder_script():
    script = run_autograder_script("shallow-backprop")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "pip install" in script and "/autograder/source" in script
    assert "grader check" in script and "-a shallow-backprop --json /tmp/result.json" in script
    assert "grader gradescope-result /tmp/result.json /autograder/results/results.json" in script
    assert "'x; rm -rf /'" in run_autograder_script("x; rm -rf /"), "assignment id is shell-quoted"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_run_autograder_script_is_valid_bash(tmp_path):
    path = tmp_path / "run_autograder"
    path.write_text(run_autograder_script("shallow-backprop"))
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- progress and summary


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_mode_prints_one_line_per_notebook():
    stream = io.StringIO()
    progress = Progress(40, stream=stream)
    progress.advance("alice.ipynb", "41.5/50", 2.1)
    progress.advance("bob.ipynb")
    progress.close()
    assert stream.getvalue().splitlines() == ["[1/40] alice.ipynb 41.5/50 (2.1 s)", "[2/40] bob.ipynb"]
    assert "\r" not in stream.getvalue()


def test_tty_mode_redraws_one_line_with_rate_and_eta(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    stream, clock = FakeTTY(), FakeClock()
    progress = Progress(10, stream=stream, clock=clock, width=100)
    clock.now += 4.0
    progress.advance("alice.ipynb")
    clock.now += 4.0
    progress.advance("bob.ipynb")  # 2 done in 8 s: 0.25 nb/s, 8 left: 32 s
    out = stream.getvalue()
    assert out.count("\r") == 2 and "\n" not in out
    last = out.split("\r")[-1]
    assert "2/10" in last and "0.25 nb/s" in last and "ETA 0:32" in last and "bob.ipynb" in last
    assert last.startswith("[####----------------]")
    assert len(last) == 99, "padded to overwrite a longer previous line, never the last column"
    progress.close()
    assert stream.getvalue().endswith("\n")


def test_tty_line_is_cut_to_the_terminal_width(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTTY()
    progress = Progress(3, stream=stream, width=40)
    progress.advance("a-very-long-student-name-" * 5 + ".ipynb")
    assert all(len(part) <= 39 for part in stream.getvalue().split("\r"))


def test_context_manager_ends_the_tty_line(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTTY()
    with Progress(1, stream=stream, width=80) as progress:
        progress.advance("a.ipynb")
    assert stream.getvalue().endswith("\n")


def test_summary_text():
    results = [result_from_dict(json.loads(p.read_text())) for p in sorted(RESULTS_DIR.glob("*.json"))]
    durations = {"alice.ipynb": 3.4, "bob.ipynb": 12.7, "dave.ipynb": 300.0, "erin.ipynb": 2.9, "carol.ipynb": 4.2}
    text = summary_text(results, "reports", 42.0, durations)
    lines = text.splitlines()
    assert lines[0] == f"Graded {len(results)} notebooks in 42.0 s."
    assert "Failed to run: 2" in text and "carol (crashed)" in text and "dave (timeout)" in text
    scores = sorted(r.score for r in results)
    mean = sum(scores) / len(scores)
    assert f"Mean score {mean:.2f}".rstrip("0") in text
    assert "Slowest: dave.ipynb (300.0 s), bob.ipynb (12.7 s), carol.ipynb (4.2 s)" in text
    assert "reports/index.html" in text
    assert len(lines) <= 24, "fits on one screen"


@pytest.mark.parametrize("results, expected", [([], "Graded 0 notebooks"), (None, "Failed to run: 0")])
def test_summary_text_edge_cases(results, expected):
    if results is None:
        results = [result_from_dict(json.loads((RESULTS_DIR / "full_marks.json").read_text()))]
    assert expected in summary_text(results, "out", 1.0, {})


# ---------------------------------------------------------------- manual items not read yet

def _manual(reviewed: dict[str, float]):
    from grader.checks.rubric import ManualItem
    from grader.outputs.gradebook import ManualEntry
    from grader.outputs.manual import ManualGrade

    items = (ManualItem("q8", "Q8: a derivation", 2.0), ManualItem("q9", "Q9: another", 3.0))
    entries = {k: ManualEntry(1, "a", "s", k, v, "seen", "ta", "now") for k, v in reviewed.items()}
    return ManualGrade(items, entries)


def test_an_unread_answer_is_not_graded_yet_in_canvas_and_gradescope_never_a_zero(tmp_path):
    result = all_results()[0]
    partly, fully = _manual({"q8": 2.0}), _manual({"q8": 2.0, "q9": 1.0})
    for grade, expected in ((partly, ""), (fully, result.score + 3.0)):
        write_canvas_csv([result], tmp_path / "canvas.csv", "HW 1", 50, manual={result.submission: grade})
        rows = read_canvas(tmp_path / "canvas.csv")
        assert float(rows[1][5]) == 55  # the assignment's whole maximum
        assert rows[2][5] == (expected if expected == "" else rows[2][5]) and (expected == "" or float(rows[2][5]) == pytest.approx(expected))
    tests = {t["name"]: t for t in gradescope_results(result, manual=partly)["tests"]}
    unread = tests["Read by a person: Q9: another"]
    assert "score" not in unread and "status" not in unread and unread["max_score"] == 3
    assert "not graded yet" in unread["output"].lower()
    read = tests["Read by a person: Q8: a derivation"]
    assert read["score"] == 2 and read["status"] == "passed"
