"""Any machine: the sandbox starts wherever Python lives, and a fault of the machine is never a grade."""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from grader.run.execute import probe_bwrap
from grader.checks.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "assignments" / "shallow-backprop" / "solution.ipynb"
GOOD = ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py"
FULL = load_spec("shallow-backprop").max_score  # the honest score: every graded function right
HAVE_BWRAP = probe_bwrap() is None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap cannot start Python here")


def grader(*args, python: str = sys.executable, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "grader", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=env or os.environ.copy(), timeout=timeout)


def venv(where: Path) -> Path:
    """A real virtual environment that sees this one's packages (nothing is downloaded).

    `--system-site-packages` alone would show the BASE interpreter's packages when the tests
    themselves run in a venv (as the README's test command does): a .pth line adds this
    interpreter's site folders, their own .pth files (an editable install) included.
    """
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    inner = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(inner, "outer_site.pth").write_text(f"import site; [site.addsitedir(p) for p in {ours!r}]\n")
    return python


def with_fake_bwrap(tmp_path: Path, script: str) -> dict:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\n" + script)
    (fake / "bwrap").chmod(0o755)
    env = os.environ.copy()
    env["PATH"] = f"{fake}:{env['PATH']}"
    return env


# ------------------------------------------------------------------ wherever Python lives


@needs_bwrap
@pytest.mark.parametrize("layout", ["temp", "private-parent"])
def test_a_venv_in_the_temp_folder_grades_under_bubblewrap(tmp_path, layout):
    parent = tmp_path / "private" if layout == "private-parent" else tmp_path
    parent.mkdir(exist_ok=True)
    python = venv(parent / "v")
    if layout == "private-parent":
        parent.chmod(0o700)  # like /root: others cannot enter on the way to the interpreter
    out = tmp_path / "r.json"
    proc = grader("check", SOLUTION, "-a", "shallow-backprop", "--json", out, "--cell-timeout", "30", python=str(python))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["score"] == result["max_score"] == FULL
    assert result["execution"]["isolation"] == "bwrap"


@pytest.mark.skipif(os.geteuid() != 0, reason="a private filesystem without bubblewrap needs a root grader")
def test_a_venv_behind_a_private_folder_grades_without_bubblewrap(tmp_path):
    parent = tmp_path / "private"
    parent.mkdir()
    python = venv(parent / "v")
    parent.chmod(0o700)
    out = tmp_path / "r.json"
    proc = grader("check", GOOD, "-a", "shallow-backprop", "--json", out, "--sandbox", "none", "--cell-timeout", "30", python=str(python))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["score"] == FULL and result["execution"]["isolation"] == "rlimits"


# ------------------------------------------------------------------ when bubblewrap cannot start


BROKEN = 'echo "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n'


def test_check_falls_back_with_one_warning_when_bubblewrap_cannot_start(tmp_path):
    env = with_fake_bwrap(tmp_path, BROKEN)
    out = tmp_path / "r.json"
    proc = grader("check", GOOD, "-a", "shallow-backprop", "--json", out, "--cell-timeout", "30", env=env)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "warning" in warnings[0] and "uid map: Permission denied" in warnings[0]
    result = json.loads(out.read_text())
    assert result["score"] == FULL and result["execution"]["isolation"] == "rlimits"


def test_grade_refuses_to_run_other_peoples_code_without_bubblewrap(tmp_path):
    env = with_fake_bwrap(tmp_path, BROKEN)
    proc = grader("grade", GOOD, "-a", "shallow-backprop", "-o", tmp_path / "out", env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install bubblewrap" in lines[0] and "--sandbox none" in lines[0]
    assert not (tmp_path / "out" / "gradebook.sqlite").exists()


def test_sandbox_bwrap_that_cannot_start_is_one_line_and_exit_2(tmp_path):
    env = with_fake_bwrap(tmp_path, BROKEN)
    for command in (["check", GOOD, "-a", "shallow-backprop"], ["grade", GOOD, "-a", "shallow-backprop", "-o", tmp_path / "o"],
                    ["selftest", "-a", "shallow-backprop", "--quick"]):
        proc = grader(*command, "--sandbox", "bwrap", env=env)
        assert proc.returncode == 2, (command, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "uid map" in proc.stderr


@needs_bwrap
def test_a_harness_fault_is_not_a_grade_and_a_rerun_grades_everyone(tmp_path):
    real = shutil.which("bwrap")
    counter = tmp_path / "starts"
    # Works for the start-up proof, then fails: the machine broke half-way, not the students.
    env = with_fake_bwrap(tmp_path, f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}\n'
                                    f'if [ "$n" -lt 1 ]; then exec {real} "$@"; fi\n' + BROKEN)
    env["GRADER_WARM"] = "0"  # every notebook starts through bwrap (a warm child failing late: tests/test_warm.py)
    folder = tmp_path / "class"
    for name in ("ann", "bob", "cyd"):
        (folder / name).mkdir(parents=True)
        shutil.copy(GOOD, folder / name / "hw.py")
    outdir = tmp_path / "out"
    first = grader("grade", folder, "-a", "shallow-backprop", "-o", outdir, "-j", "2", "--cell-timeout", "30", env=env)
    assert first.returncode == 1, first.stderr
    assert "NOT graded" in first.stderr and all(name in first.stderr for name in ("ann", "bob", "cyd"))
    assert "could not start Python" in first.stderr and "uid map" in first.stderr
    assert not list((outdir / "results").glob("*.json")) if (outdir / "results").exists() else True
    canvas = (outdir / "canvas.csv").read_text(encoding="utf-8-sig") if (outdir / "canvas.csv").exists() else ""
    assert "ann" not in canvas
    second = grader("grade", folder, "-a", "shallow-backprop", "-o", outdir, "-j", "2", "--cell-timeout", "30")
    assert second.returncode == 0, second.stderr
    results = {p.stem: json.loads(p.read_text()) for p in (outdir / "results").glob("*.json")}
    assert sorted(results) == ["ann", "bob", "cyd"] and all(r["score"] == FULL for r in results.values())


# ------------------------------------------------------------------ what "already graded" means


def test_changing_an_option_that_can_change_a_score_regrades_and_says_why(tmp_path):
    folder = tmp_path / "class"
    (folder / "ann").mkdir(parents=True)
    shutil.copy(GOOD, folder / "ann" / "hw.py")
    outdir = tmp_path / "out"
    base = ["grade", folder, "-a", "shallow-backprop", "-o", outdir, "-j", "1", "--sandbox", "none"]
    first = grader(*base, "--cell-timeout", "30")
    again = grader(*base, "--cell-timeout", "30")
    changed = grader(*base, "--cell-timeout", "25")
    subsampled = grader(*base, "--cell-timeout", "25", "--subsample", "500")
    assert first.returncode == again.returncode == changed.returncode == subsampled.returncode == 0
    assert "1 submission(s) already graded" in again.stdout and "regraded" not in again.stdout
    assert "regraded 1: options changed (cell_timeout 30.0 -> 25.0): ann" in changed.stdout
    assert "regraded 1: options changed (subsample None -> 500): ann" in subsampled.stdout
    result = json.loads((outdir / "results" / "ann.json").read_text())
    assert result["grading"]["subsample"] == 500 and result["grading"]["grader"].startswith("0.")
