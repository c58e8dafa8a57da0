"""The command line as a user meets it: commands, help, exit codes, one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from grader.cli_args import EXAMPLES, build_parser

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "assignments" / "shallow-backprop" / "solution.ipynb"
SEED001 = ROOT / "tests" / "resources" / "notebooks" / "seed001_submission.ipynb"


def grader(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and f"grader {command}" in text


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for command in EXAMPLES:
        assert f"`grader {command}" in readme


def test_list_shows_assignments_functions_and_points(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "shallow-backprop" in out and "(50 points)" in out
    assert "softmaxp(a, e)" in out and "update_shallow" in out


@pytest.mark.parametrize(
    "content, suffix, fragment",
    [
        (b"", ".ipynb", "empty"),
        (b"this is not json", ".ipynb", "not a notebook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", ".ipynb", ""),
        (b'{"just": "json"}', ".ipynb", ""),
        (b"hello", ".docx", "unsupported"),
    ],
)
def test_check_on_an_unusable_file_exits_2_with_one_line_naming_it(tmp_path, content, suffix, fragment):
    bad = tmp_path / f"submission{suffix}"
    bad.write_bytes(content)
    proc = grader("check", bad, "-a", "shallow-backprop")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad) in lines[0] or bad.name in lines[0]
    assert fragment.lower() in lines[0].lower()
    assert "Traceback" not in proc.stderr


def test_check_on_a_missing_file_and_an_unknown_assignment(tmp_path):
    proc = grader("check", tmp_path / "nope.ipynb", "-a", "shallow-backprop")
    assert proc.returncode == 2 and "nope.ipynb" in proc.stderr
    proc = grader("check", SOLUTION, "-a", "no-such-assignment")
    assert proc.returncode == 2 and "unknown assignment" in proc.stderr and "shallow-backprop" in proc.stderr


def test_check_guesses_the_assignment_from_function_names(tmp_path):
    code = "import numpy as np\n# %%\ndef softmaxp(a, e):\n    pass\n# %%\ndef relup(a, e):\n    pass\ndef update_shallow(x, d, net, gamma=.05):\n    pass\ndef eval_perfs(y, lbl):\n    pass\n"
    path = tmp_path / "hw.py"
    path.write_text(code)
    proc = grader("check", path, "--defs-only")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("shallow-backprop")


def test_check_without_a_recognisable_assignment_asks_for_a(tmp_path):
    path = tmp_path / "other.py"
    path.write_text("x = 1\n")
    proc = grader("check", path)
    assert proc.returncode == 2 and "-a" in proc.stderr


def test_check_on_the_solution_gives_full_marks_and_writes_json_and_html(tmp_path):
    proc = grader("check", SOLUTION, "--json", tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert proc.returncode == 0, proc.stderr
    assert "Score: 48 / 48" in proc.stdout  # init_shallow is the handout's: no points
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["score"] == result["max_score"] == 48
    assert "<html" in (tmp_path / "r.html").read_text().lower()


def test_check_prints_per_function_feedback_for_a_real_submission():
    proc = grader("check", SEED001)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Score: 21 / 48" in out
    assert "relup" in out and "did you mean: relu (cell 28) takes (a, e)" in out
    assert "eval-perfs-onehot-average" in out
    assert "backprop-ignores-gamma" in out


def test_bad_option_values_are_usage_errors(tmp_path):
    proc = grader("check", SOLUTION, "--cell-timeout", "-1")
    assert proc.returncode == 2 and "positive" in proc.stderr
    proc = grader("grade", "-a", "shallow-backprop")
    assert proc.returncode == 2


def test_release_writes_a_student_notebook(tmp_path):
    proc = grader("release", "-a", "shallow-backprop", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "shallow-backprop.ipynb"
    assert written.exists()
    text = written.read_text()
    assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text


def test_export_without_a_gradebook_is_a_usage_error(tmp_path):
    proc = grader("export", "-o", tmp_path)
    assert proc.returncode == 2 and "gradebook" in proc.stderr


def test_an_unusable_data_folder_is_a_usage_error(tmp_path):
    proc = grader("check", SOLUTION, "--data", tmp_path / "no-such-folder")
    assert proc.returncode == 2 and "--data" in proc.stderr and "Traceback" not in proc.stderr


def test_no_assignment_found_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    """A broken install that knows no assignment must not let `grader list` or `grader selftest` pass a CI job."""
    from grader import cli
    from grader.checks import spec

    monkeypatch.setattr(spec, "ASSIGNMENTS_DIR", tmp_path / "none")
    for command in (["list"], ["selftest", "--quick"]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no assignment found" in err[0]


def test_a_notebook_without_cell_ids_prints_no_library_warning(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},  # 4.5 requires cell ids; this one has none
          "cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None}]}
    (tmp_path / "class" / "ana").mkdir(parents=True)
    (tmp_path / "class" / "ana" / "hw.ipynb").write_text(json.dumps(nb))
    run = subprocess.run([sys.executable, "-W", "default", "-m", "grader", "grade", str(tmp_path / "class"), "-a", "shallow-backprop",
                          "-o", str(tmp_path / "out"), "--sandbox", "none"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr and "nbformat" not in run.stderr, run.stderr
