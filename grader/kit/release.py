"""Make the student notebook from the solution notebook, so the two cannot drift apart.

Markers, in code cells (any indentation):

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

Inside a function the region becomes `raise NotImplementedError(...)` at the
same indentation; at the top level it becomes `# YOUR CODE HERE`. In markdown
cells, the region between `<!-- BEGIN ANSWER -->` and `<!-- END ANSWER -->`
becomes "*Write your answer here.*". Outputs are cleared, and the notebook's
metadata names the assignment so `grader check` needs no `-a`.

`release` writes the whole student kit: that notebook (its metadata also
names its check pack), the check pack of the public checks (grader/pack.py),
the student engine `nncheck/` (grader/kit.py) and a README saying what to type.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
ANSWER = re.compile(r"<!-- BEGIN ANSWER -->.*?<!-- END ANSWER -->", re.S)
STUB_MESSAGE = "write this part"


class ReleaseError(Exception):
    pass


def strip_code(source: str, where: str = "cell") -> str:
    """Replace every marked solution region of a code cell."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ReleaseError(f"{where}: BEGIN SOLUTION inside another solution region")
            inside = True
            indent = begin.group(1)
            out.append(f"{indent}raise NotImplementedError({STUB_MESSAGE!r})" if indent else "# YOUR CODE HERE")
            continue
        if END.match(line):
            if not inside:
                raise ReleaseError(f"{where}: END SOLUTION without BEGIN")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: BEGIN SOLUTION is never closed")
    return "\n".join(out)


def solution_source(source: str) -> str:
    """The solution as it runs: markers removed, code kept."""
    return "\n".join(line for line in source.splitlines() if not (BEGIN.match(line) or END.match(line)))


def student_notebook(solution: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(solution)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source, f"cell {index}")
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = ANSWER.sub("*Write your answer here.*", cell.source)
    nb.metadata.setdefault("grader", {})["assignment"] = assignment
    return nb


def release(assignment: str, dest: str | Path, assignments_dir: Path | None = None) -> list[Path]:
    """Write the student kit of an assignment (an id, or a course's folder) into dest; returns the paths written."""
    from grader.kit import kitfiles, pack, vendor as kit
    from grader.checks.spec import load_spec

    spec = load_spec(assignment, assignments_dir)
    folder, assignment = spec.folder, spec.id
    solution_path = folder / "solution.ipynb"
    if not solution_path.exists():
        raise ReleaseError(f"{assignment}: no solution.ipynb in {folder}")
    solution = nbformat.read(solution_path, as_version=4)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{assignment}.ipynb"
    notebook = student_notebook(solution, assignment)
    notebook.metadata["grader"]["pack"] = f"{assignment}.checks.json"
    nbformat.write(notebook, out)
    written = [out]
    for extra in sorted(folder.glob("handout_files/*")):
        shutil.copyfile(extra, dest / extra.name)
        written.append(dest / extra.name)
    beside = kitfiles.write_kit_files(solution, dest)  # so that the released notebook runs end to end
    written += beside
    written += pack.write_pack(spec, dest)
    written += kit.write_engine(dest)
    shipped = {p.stem for p in written if p.suffix == ".py"}
    readme = kit.readme(assignment, out.name, kitfiles.install_line(solution, shipped), tuple(p.name for p in beside))
    (dest / "README.txt").write_text(readme, encoding="utf-8")
    written.append(dest / "README.txt")
    return written
