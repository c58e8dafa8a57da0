"""A small graded class for the review tests: notebooks with saved outputs (plots, printed
errors), one hostile answer, and their Results recorded in a gradebook without running them."""
from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path

import nbformat

from grader.outputs.answers import handout_lines, map_items
from grader.outputs.gradebook import Gradebook
from grader.result import Result, result_from_dict
from grader.checks.spec import load_spec

RESULTS_DIR = Path(__file__).parent / "resources" / "results"


def curve_png(seed: int = 0) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(seed)
    epochs = np.arange(1, 21)
    fig, ax = plt.subplots(figsize=(4.5, 2.8), dpi=72)
    ax.plot(epochs, 2.3 * np.exp(-epochs / 6) + 0.1 + 0.02 * rng.random(20), label="training")
    ax.plot(epochs, 2.3 * np.exp(-epochs / 7) + 0.25 + 0.03 * rng.random(20), label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def hostile_markdown(port: int) -> str:
    return ("\n\nMy derivation: <script>window.__pwned = 1</script>"
            '<img src=x onerror="window.__pwned = 2">'
            f'<img src="http://127.0.0.1:{port}/leak.png" alt="remote">'
            '<a href="javascript:window.__pwned = 3">click me</a>'
            f'<iframe src="http://127.0.0.1:{port}/frame"></iframe>'
            '<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:red">overlay</div>')


def student_notebook(assignment: str, seed: int, hostile_port: int | None = None) -> nbformat.NotebookNode:
    """The solution notebook with outputs saved, as a student who ran it would submit it."""
    spec = load_spec(assignment)
    nb = nbformat.read(str(spec.folder / "solution.ipynb"), as_version=4)
    mapping = map_items(nb, spec.manual_items, handout_lines(spec.folder))
    curve_cells = set()
    for item in spec.manual_items:
        code = [i for i in mapping.get(item.id, []) if nb.cells[i].cell_type == "code"]
        if item.curve and code:
            curve_cells.add(code[-1])
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"epoch 5: training error {12.5 - seed:.1f}%, test error {13.9 - seed:.1f}%\n")]
        if index in curve_cells:
            cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": curve_png(seed), "text/plain": "<Figure>"}))
    if hostile_port is not None:
        first = mapping[spec.manual_items[1].id][0]
        nb.cells[first].source += hostile_markdown(hostile_port)
        code = next(i for i in range(len(nb.cells)) if nb.cells[i].cell_type == "code")
        nb.cells[code].outputs.append(nbformat.v4.new_output(
            "display_data", data={"text/html": "<table><tr><td>ok</td></tr></table><script>window.__pwned = 4</script>"}))
    return nb


def make_class(outdir: Path, assignment: str, students: list[str], hostile: str | None = None,
               hostile_port: int = 9) -> list[Result]:
    """Write each student's notebook under outdir/submissions, record a Result for it."""
    spec = load_spec(assignment)
    base = result_from_dict(json.loads((RESULTS_DIR / "partial.json").read_text(encoding="utf-8")))
    results = []
    with Gradebook(outdir / "gradebook.sqlite") as book:
        for k, name in enumerate(students):
            path = outdir / "submissions" / name / "notebook.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(student_notebook(assignment, k, hostile_port if name == hostile else None), str(path))
            result = dataclasses.replace(base, assignment=assignment, submission=name, notebook=str(path),
                                         score=float(30 + k), manual_review=spec.manual_review,
                                         content_hash=f"{k:064d}", spec_version=spec.digest)
            book.record(result)
            results.append(result)
    return results
