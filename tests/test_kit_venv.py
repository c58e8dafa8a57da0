"""The kit works where the answers are not: a fresh venv holding only what the kit's install line names
(from the package index), no access to this repository, in a terminal and through check() in a real
Jupyter kernel; a solved notebook runs top to bottom there (issue 19 item 4)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.checks import bank
from grader.kit.release import release, solution_source
from grader.batch.selftest import write_variant_notebook
from grader.checks.spec import load_spec

pytestmark = pytest.mark.slow

ASSIGNMENT = "shallow-backprop"
MISTAKE = "eval-perfs-fraction"  # caught by a public check


@pytest.fixture(scope="module")
def venv(tmp_path_factory, kit) -> Path:
    """A venv without system site packages, holding exactly what the kit's README says to install
    (`python -m pip install numpy ipython jupyter matplotlib`), from the package index."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(root / "v")], check=True, timeout=300)
    python = root / "v" / "bin" / "python"
    line = next(l for l in (kit / "README.txt").read_text().splitlines() if "python -m pip install" in l)
    packages = line.split("python -m pip install", 1)[1].split("(")[0].split()
    assert "matplotlib" in packages and "jupyter" in packages
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True, timeout=900, capture_output=True)
    return python


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """The kit, plus a solved and a mistaken notebook, in a folder far from the repository."""
    folder = tmp_path_factory.mktemp("kit")
    release(ASSIGNMENT, folder)
    spec = load_spec(ASSIGNMENT)
    solution = nbformat.read(spec.folder / "solution.ipynb", as_version=4)
    for cell in solution.cells:
        if cell.cell_type == "code":
            cell.source = solution_source(cell.source)
    solution.metadata["grader"] = {"assignment": ASSIGNMENT, "pack": f"{ASSIGNMENT}.checks.json"}
    nbformat.write(solution, folder / "solved.ipynb")
    variant = next(v for v in bank.variants(spec.bank_module()) if v.id == MISTAKE)
    write_variant_notebook(solution, variant, folder).rename(folder / "mistaken.ipynb")
    return folder


def clean_env(home: Path) -> dict:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "MPLBACKEND": "Agg", "PYTHONNOUSERSITE": "1"}


def test_the_venv_cannot_see_the_grader_or_the_answers(venv, kit):
    probe = "import importlib.util as u; print([m for m in ('grader', 'reference') if u.find_spec(m)])"  # nbformat comes with jupyter
    out = subprocess.run([str(venv), "-c", probe], cwd=kit, env=clean_env(kit), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def terminal(venv: Path, kit: Path, notebook: str) -> tuple[dict, str, float]:
    started = time.perf_counter()
    out = subprocess.run([str(venv), "-m", "nncheck", notebook, "--json", "r.json", "--cell-timeout", "20"], cwd=kit,
                         env=clean_env(kit), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads((kit / "r.json").read_text()), out.stdout, time.perf_counter() - started


def test_terminal_gives_zero_for_the_released_notebook_full_marks_for_a_solution_and_names_a_mistake(venv, kit):
    released, text, _ = terminal(venv, kit, f"{ASSIGNMENT}.ipynb")
    spec = load_spec(ASSIGNMENT)
    given = {f.name for f in spec.functions if f.given}
    assert all(t["score"] == 0 for t in released["tests"] if t["function"] not in given)
    assert any(t["diagnosis"] == "not-attempted" for t in released["tests"])
    assert "graded by your instructor" in text
    solved, _, seconds = terminal(venv, kit, "solved.ipynb")
    assert solved["score"] == solved["max_score"] == sum(c.points for c in spec.checks if c.visible)
    assert solved["cells"] == [], solved["cells"]  # top to bottom: MNISTtools, the data, matplotlib, training
    mistaken, text, _ = terminal(venv, kit, "mistaken.ipynb")
    failing = [t for t in mistaken["tests"] if t["status"] != "passed"]
    assert [t["function"] for t in failing] == ["eval_perfs"] and failing[0]["diagnosis"] == MISTAKE
    assert "(eval-perfs-fraction)" in text
    print(f"terminal check of the solved notebook: {seconds:.2f} s")


def test_check_in_a_real_jupyter_kernel_shows_html(venv, kit, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    kernels = tmp_path / "jupyter" / "kernels" / "kitvenv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({"argv": [str(venv), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                     "display_name": "kit venv", "language": "python", "env": clean_env(kit)}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(kit / "mistaken.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import time; from nncheck import check\n_t = time.perf_counter(); check('softmaxp'); print('SECONDS', time.perf_counter() - _t)"))
    nb.cells.append(nbformat.v4.new_code_cell("check(eval_perfs)"))
    nb.cells.append(nbformat.v4.new_code_cell("check()"))
    NotebookClient(nb, kernel_name="kitvenv", allow_errors=True, timeout=120, resources={"metadata": {"path": str(kit)}}).execute()
    one, by_object, everything = nb.cells[-3:]

    def html(cell) -> str:
        return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs if o.output_type == "display_data")

    assert "&#10004; softmaxp matches the Jacobian-vector product" in html(one) and "&#10008;" not in html(one)
    seconds = float(next(o.text for o in one.outputs if o.output_type == "stream").split()[-1])
    assert seconds < 1.0
    assert "&#10008; eval_perfs" in html(by_object) and "eval-perfs-fraction" in html(by_object) and "<svg" not in html(by_object)
    assert "public checks" in html(everything) and "graded by your instructor" in html(everything)
    print(f"check('softmaxp') in the kernel: {seconds * 1000:.0f} ms")
