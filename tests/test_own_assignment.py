"""A course's own homework, not one of the four: docs/own-assignment.md followed step by step, outside the repo.

The tutorial's blocks are the test's input (its notebook cells, files, spec edits and commands), so the
tutorial cannot drift from what runs. Then a class of five is graded with -j 2 and on a local Dask
cluster, and the released kit checks a notebook: the same scores everywhere.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.run.execute import probe_bwrap

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "own-assignment.md"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(probe_bwrap() is not None, reason="grader grade needs bubblewrap")]
BLOCK = re.compile(r"```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    return [(m.group("lang"), m.group("body")) for m in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8"))]


def grader(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env or os.environ.copy(), timeout=900)


def solution_notebook() -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# 1-D convolution and its gradients")]
    for lang, body in blocks():
        first, _, rest = body.partition("\n")
        if lang == "python" and first.strip() == "# cell: conv1d.ipynb":
            cells.append(new_code_cell(rest.rstrip("\n")))
    return new_notebook(cells=cells)


def run_commands(lang_body: str, work: Path) -> list[subprocess.CompletedProcess]:
    return [grader(*line.split()[1:], cwd=work) for line in lang_body.splitlines() if line.startswith("grader ")]


def defs(nb: nbformat.NotebookNode) -> dict:
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec("\n".join(l for l in cell.source.splitlines() if "###" not in l), namespace)
    return namespace


def test_the_reference_is_the_math():
    """The tutorial's solution against finite differences of L = sum(conv1d(x, w) * dy)."""
    ns = defs(solution_notebook())
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 12)), rng.standard_normal(4)
    dy = rng.standard_normal((3, 9))
    y = ns["conv1d"](x, w)
    assert y.shape == (3, 9) and np.isclose(y[1, 2], sum(x[1, 2 + k] * w[k] for k in range(4)))
    loss = lambda x_, w_: float(np.sum(ns["conv1d"](x_, w_) * dy))  # noqa: E731
    eps = 1e-6
    grad_w = [(loss(x, w + eps * e) - loss(x, w - eps * e)) / (2 * eps) for e in np.eye(4)]
    assert np.allclose(ns["conv1d_grad_w"](x, w, dy), grad_w, atol=1e-6)
    grad_x = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad_x[index] = (loss(x + step, w) - loss(x - step, w)) / (2 * eps)
    assert np.allclose(ns["conv1d_grad_x"](x, w, dy), grad_x, atol=1e-6)


def test_the_tutorial_end_to_end(tmp_path):
    work = tmp_path / "course"
    work.mkdir()
    nbformat.write(solution_notebook(), work / "conv1d.ipynb")
    shell = [body for lang, body in blocks() if lang == "bash"]

    # 2. the starting folder, and the checklist of what is left
    new, checklist = run_commands(shell[0], work) + run_commands(shell[1], work)
    assert new.returncode == 0, new.stderr
    folder = work / "mycourse" / "conv1d"
    for name in ("spec.toml", "reference.py", "handout.py", "bank.py", "solution.ipynb", "student.ipynb"):
        assert (folder / name).is_file(), name
    assert checklist.returncode == 1, checklist.stdout + checklist.stderr
    assert "Traceback" not in checklist.stdout + checklist.stderr
    assert "is a guess" in checklist.stdout and "no mistake yet" in checklist.stdout

    # 3. the checks completed, 4. two mistakes banked
    for lang, body in blocks():
        first, _, rest = body.partition("\n")
        if first.startswith("# spec edits: "):
            spec = folder / "spec.toml"
            text = spec.read_text()
            for line in rest.strip().splitlines():
                key = line.split("=", 1)[0].strip()
                text = re.sub(rf"^{re.escape(key)} = .*$", line, text, flags=re.M)
            assert "TODO" not in text.split("\n", 2)[2]
            spec.write_text(text)
        elif first.startswith("# file: "):
            (work / first[len("# file: "):].strip()).write_text(rest)
    (selftest,) = run_commands(shell[2], work)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr

    # 5. a class of five, graded on cores and on Dask: the same scores
    students = work / "submissions"
    students.mkdir()
    solution = nbformat.read(folder / "solution.ipynb", as_version=4)
    released = nbformat.read(folder / "student.ipynb", as_version=4)

    def student(name: str, replace: dict[str, str] | None = None, base=solution) -> None:
        nb = nbformat.from_dict(base)
        for cell in nb.cells:
            for old, new in (replace or {}).items():
                cell.source = cell.source.replace(old, new)
        nbformat.write(nb, students / f"{name}.ipynb")

    student("ada")
    student("bob", {"windows @ w\n": "windows @ w[::-1]\n"})                          # the flipped kernel
    student("cid", {"np.sum(dy * x[:, k:k + dy.shape[1]])": "np.sum(dy[0] * x[0, k:k + dy.shape[1]])"})
    student("dan", base=released)                                                   # nothing written
    student("eve", {"dx[:, k:k + dy.shape[1]] += dy * w[k]": "dx[:, k:k + dy.shape[1]] += dy * w[::-1][k]"})
    grade_line, release_line = [l for l in shell[3].splitlines() if l.startswith("grader ")]
    pool = grader(*grade_line.split()[1:], cwd=work)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    dask = grader(*grade_line.replace("reports/", "dask/").replace("-j 2", "--cluster local:2").split()[1:], cwd=work)
    assert dask.returncode == 0, dask.stdout + dask.stderr
    scores = {}
    for outdir in ("reports", "dask"):
        scores[outdir] = {p.stem: json.loads(p.read_text()) for p in (work / outdir / "results").glob("*.json")}
    by_name = {name: r["score"] for name, r in scores["reports"].items()}
    assert by_name == {name: r["score"] for name, r in scores["dask"].items()}
    full = scores["reports"]["ada"]["max_score"]
    assert by_name["ada"] == full and by_name["dan"] == 0
    assert 0 < by_name["bob"] < full and 0 < by_name["cid"] < full and 0 < by_name["eve"] < full
    named = {name: {t.get("diagnosis") for t in r["tests"]} for name, r in scores["reports"].items()}
    assert "conv1d-flipped" in named["bob"] and "conv1d-grad-w-first-row" in named["cid"]

    # the kit: the students' notebook and the check pack, checked offline
    released_kit = grader(*release_line.split()[1:], cwd=work)
    assert released_kit.returncode == 0, released_kit.stderr
    kit = work / "kit"
    shutil.copy(students / "bob.ipynb", kit / "bob.ipynb")
    checked = subprocess.run([sys.executable, "-m", "nncheck", "bob.ipynb"], capture_output=True, text=True, cwd=kit,
                             timeout=600, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    text = checked.stdout + checked.stderr
    assert "conv1d" in text and "flipped" in text, text

    # found by id from GRADER_ASSIGNMENTS, or --assignments: the same grade
    env = os.environ | {"GRADER_ASSIGNMENTS": str(work / "mycourse")}
    listed = grader("list", cwd=work, env=env)
    assert listed.returncode == 0 and "conv1d" in listed.stdout and "shallow-backprop" in listed.stdout
    out = work / "bob-by-id.json"
    by_id = grader("check", students / "bob.ipynb", "-a", "conv1d", "--json", out, cwd=work, env=env)
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(out.read_text())["score"] == by_name["bob"]
    flag = grader("check", students / "bob.ipynb", "-a", "conv1d", "--assignments", work / "mycourse", "--json", out, cwd=tmp_path)
    assert flag.returncode == 0, flag.stderr
    assert json.loads(out.read_text())["score"] == by_name["bob"]
