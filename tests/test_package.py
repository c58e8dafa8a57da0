"""The wheel is the product: built from this repository, installed in a fresh venv outside it (no editable
install, no checkout on sys.path), it lists, grades, releases and self-tests the bundled assignments."""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=env or clean_env())


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_ASSIGNMENTS", "VIRTUAL_ENV")}
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a venv holding only the wheel (its dependencies are this interpreter's, seen as plain paths)."""
    where = tmp_path_factory.mktemp("wheel")
    # `python -m build`, as the README says; no isolation: this venv's setuptools builds it, offline
    built = run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", where / "dist", ROOT, cwd=where, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((where / "dist").glob("nn_grader-*.whl"))
    made = run(sys.executable, "-m", "venv", where / "v", cwd=where)
    assert made.returncode == 0, made.stderr
    python = where / "v" / "bin" / "python"
    inner = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=where).stdout.strip()
    # This interpreter's packages as plain path entries: their .pth files (an editable install of this
    # checkout among them) are NOT processed, so nothing of the checkout can be imported.
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(inner, "zz_dependencies.pth").write_text("\n".join(ours) + "\n")
    pip = run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=where)
    assert pip.returncode == 0, pip.stderr
    return where / "v" / "bin"


def test_the_installed_grader_is_the_wheel_not_the_checkout(installed, tmp_path):
    probe = run(installed / "python", "-c", "import grader, reference; print(grader.__file__); print(reference.__file__)",
                cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    for line in probe.stdout.split():
        assert str(installed.parent) in line and str(ROOT) not in line


def test_the_wheel_lists_grades_releases_and_selftests_a_bundled_assignment(installed, tmp_path):
    listed = run(installed / "grader", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for assignment in ("shallow-backprop", "ffnn-pure-numpy", "digits-logreg-mlp", "mlp-scalar-to-tensor"):
        assert assignment in listed.stdout
    students = tmp_path / "class"
    students.mkdir()
    shutil.copy(ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py", students / "ada.py")
    shutil.copy(ROOT / "tests" / "resources" / "corpus" / "bug_onehot_rows.py", students / "bob.py")
    graded = run(installed / "grader", "grade", students, "-a", "shallow-backprop", "-o", tmp_path / "out",
                 "--sandbox", "none", "--cell-timeout", "20", cwd=tmp_path)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    ada = json.loads((tmp_path / "out" / "results" / "ada.json").read_text())
    bob = json.loads((tmp_path / "out" / "results" / "bob.json").read_text())
    assert ada["score"] == ada["max_score"] > bob["score"] > 0
    released = run(installed / "grader", "release", "-a", "shallow-backprop", "-o", tmp_path / "kit", cwd=tmp_path)
    assert released.returncode == 0, released.stderr
    kit = tmp_path / "kit"
    notebook = next(kit.glob("*.ipynb"))
    checked = run(installed / "python", "-m", "nncheck", notebook, cwd=kit)
    assert "softmax" in checked.stdout, checked.stdout + checked.stderr
    selftest = run(installed / "grader", "selftest", "-a", "shallow-backprop", "--quick", cwd=tmp_path)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
