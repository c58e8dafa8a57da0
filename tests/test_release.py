"""Releasing: the student notebook is the solution minus the marked regions, and runs without crashing."""
import nbformat
import pytest

from grader.pipeline.grade import Grader, Options
from grader.kit.release import ReleaseError, release, solution_source, strip_code, student_notebook
from grader.checks.spec import list_assignments, load_spec


def test_strip_code_keeps_the_frame_and_replaces_answers():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x * 2\n    ### END SOLUTION\n    return y\n### BEGIN SOLUTION\nprint(f(2))\n### END SOLUTION"
    out = strip_code(source)
    assert out == "def f(x):\n    y = 1\n    raise NotImplementedError('write this part')\n    return y\n# YOUR CODE HERE"
    assert "BEGIN" not in solution_source(source) and "y = x * 2" in solution_source(source)


@pytest.mark.parametrize(
    "source",
    ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"],
)
def test_unbalanced_markers_are_an_error(source):
    with pytest.raises(ReleaseError):
        strip_code(source)


@pytest.mark.parametrize("assignment", list_assignments())
def test_released_notebook_has_no_solution_and_names_its_assignment(assignment, tmp_path):
    (path,) = [p for p in release(assignment, tmp_path) if p.suffix == ".ipynb"]
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN ANSWER" not in text
    assert nb.metadata["grader"]["assignment"] == assignment
    assert all(cell.get("outputs", []) == [] for cell in nb.cells if cell.cell_type == "code")
    solution = nbformat.read(load_spec(assignment).folder / "solution.ipynb", as_version=4)
    assert len(nb.cells) == len(solution.cells)


@pytest.mark.parametrize("assignment", list_assignments())
def test_released_notebook_runs_top_to_bottom_and_earns_zero_for_what_it_leaves_out(assignment, tmp_path):
    (path,) = [p for p in release(assignment, tmp_path) if p.suffix == ".ipynb"]
    spec = load_spec(assignment)
    result = Grader(spec, Options()).grade(path)
    assert result.execution.status in ("ok", "errors")
    stubbed = [t for t in result.tests if t.diagnosis == "not-attempted"]
    assert stubbed, "the released notebook leaves functions to write"
    assert all(t.score == 0 for t in stubbed)
    given = {f.name for f in spec.functions if f.given}
    assert {t.function for t in result.tests if t.score > 0} <= given
