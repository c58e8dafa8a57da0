"""A grader that is not root, without bubblewrap (issue 20 item 4): notebooks share its uid.

Run for real as an unprivileged user: a venv of this machine's system Python (the test interpreter
may live where that user cannot read) gets the dependencies, and `grader grade --sandbox none -j 2`
runs as uid 65534 on this checkout. A notebook that kill(-1)s must not take the batch down, and
none may read the grader's environment through /proc.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
NOBODY = 65534
DEPENDENCIES = ["numpy", "nbformat", "nbconvert", "ipython", "jinja2", "nh3", "matplotlib", "scikit-learn"]
BASE = (ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py").read_text()
KILLER = BASE + """
# %%
import os, signal, time
time.sleep(1.0)  # the honest notebook is running by now
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
"""
# A secret in the grader's environment; the notebook breaks its own onehot2label when it finds it anywhere in /proc.
SNOOP = BASE + """
# %%
import os
found = False
for pid in os.listdir('/proc'):
    try:
        with open(f'/proc/{pid}/environ', 'rb') as handle:
            found = found or b'NNG_TEST_SECRET=' in handle.read()
    except OSError:
        pass
if found:  # a wrong axis: a student's own (wrong) code, never the handout's
    def onehot2label(d):
        return np.argmax(d, axis=1)
"""


def why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start the grader as another user"
    if not shutil.which("setpriv") or not SYSTEM_PYTHON.exists():
        return "needs setpriv and a system Python at /usr/bin/python3"
    return None


@pytest.fixture(scope="module")
def nobody():
    """A world-usable folder holding a venv of the system Python with the grader's dependencies
    (not under pytest's own temp folder: that one is private to root)."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    where = Path(tempfile.mkdtemp(prefix="not-root-test-"))
    os.chmod(where, 0o777)
    try:
        yield prepared(where)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def prepared(where: Path) -> Path:
    made = subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", str(where / "v")], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"the system Python cannot make a venv: {made.stderr.strip()[-200:]}")
    pip = subprocess.run([str(where / "v" / "bin" / "pip"), "install", "-q", *DEPENDENCIES], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    for path in [where, *where.rglob("*")]:
        os.chmod(path, os.stat(path).st_mode | 0o777 if path.is_dir() else os.stat(path).st_mode | 0o666)
    return where


def grade_as_nobody(where: Path, students: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict]:
    shutil.rmtree(where / "class", ignore_errors=True)
    shutil.rmtree(where / "out", ignore_errors=True)
    for name, text in students.items():
        (where / "class" / name).mkdir(parents=True)
        (where / "class" / name / "hw.py").write_text(text)
    for path in [where / "class", *(where / "class").rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(where), "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "NNG_TEST_SECRET": "s3cret"}
    run = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", str(where / "v" / "bin" / "python"),
                          "-m", "grader", "grade", str(where / "class"), "-a", "shallow-backprop", "-o", str(where / "out"),
                          "--sandbox", "none", "-j", "2", "--cell-timeout", "20"],
                         capture_output=True, text=True, timeout=600, cwd=where, env=env)
    results = {p.stem: json.loads(p.read_text()) for p in (where / "out" / "results").glob("*.json")} if (where / "out" / "results").exists() else {}
    return run, results


def test_a_notebook_that_kills_every_process_it_may_does_not_take_the_batch_down(nobody):
    honest = BASE
    run, results = grade_as_nobody(nobody, {"honest": honest, "killer": KILLER})
    assert run.returncode == 0 and set(results) == {"honest", "killer"}, (run.stdout[-1500:], run.stderr[-1500:])
    assert results["honest"]["score"] == results["honest"]["max_score"]


def test_a_notebook_cannot_read_the_graders_environment(nobody):
    run, results = grade_as_nobody(nobody, {"snoop": SNOOP})
    assert run.returncode == 0 and "snoop" in results, (run.stdout[-1500:], run.stderr[-1500:])
    labels = [t for t in results["snoop"]["tests"] if t["function"] == "onehot2label"]
    assert labels and all(t["status"] == "passed" for t in labels), "the notebook found the grader's environment"
