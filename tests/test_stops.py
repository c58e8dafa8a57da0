"""No definition is lost to top-level code (issue 22 item 1), and an answer equal to the handout's code is the student's (item 4).

Each grading test runs a real notebook in the sandbox; the unit tests hold the classification of a
stop (the machine's, the data's, the student's) and the count rule of the answer cell.
"""
from __future__ import annotations

import nbformat
import pytest

from grader.checks.spec import load_spec
from grader.notebook.load import load_notebook
from grader.notebook.template import Handout
from grader.pipeline.grade import Grader, Options
from grader.pipeline.stops import failing_statement, lost_definitions, top_level_stops
from grader.result import CellOutcome
from grader.run.sandbox import Limits, SandboxConfig

TRACE = 'Traceback (most recent call last):\n  File "<ipython-input-3-0a1b2c3d4e5f>", line {line}, in <module>\n    {code}\n{error}'


def _outcome(error: str, line: int, code: str, status: str = "error") -> CellOutcome:
    return CellOutcome(4, status, error, code, TRACE.format(line=line, code=code, error=error))


@pytest.mark.parametrize("error,code,whose", [
    ("ValueError: cannot reshape array of size 5883920 into shape (60000,784)", "x = x_train.reshape(60000, 784)", "data"),
    ("ValueError: cannot reshape array of size 5883920 into shape (784,60000)", "x = x_train.reshape(784, 60000)", "data"),
    ("AssertionError: (784, 7505)", "assert xtrain.shape == (784, 60000)", "data"),
    ("IndexError: index 9000 is out of bounds for axis 0 with size 7505", "show(x[9000])", "data"),
    ("ModuleNotFoundError: No module named 'keras'", "import keras", "machine"),
    ("NameError: name 'softmax_check' is not defined", "print(softmax_check)", "student"),
    ("SystemExit: 3", "sys.exit(3)", "student"),
    ("AssertionError", "assert loss < 0.1", "student"),
    ("ValueError: operands could not be broadcast together with shapes (3,) (4,)", "y = a + b", "student"),
])
def test_a_stop_is_classified_by_whose_fault_it_is(error, code, whose):
    (stop,) = top_level_stops([CellOutcome(1, "ok"), _outcome(error, 2, code)])
    assert stop.whose == whose
    assert (stop.line, stop.statement) == (2, code)


def test_a_timeout_and_a_skipped_cell_are_the_machines():
    stops = top_level_stops([_outcome("cell ran past its 20 s limit", 3, "train()", "timeout"),
                             CellOutcome(5, "skipped", "notebook time limit reached")])
    assert [(s.whose, s.outcome.index) for s in stops] == [("machine", 4), ("machine", 5)]


def test_the_failing_statement_is_the_cells_own_frame_not_a_callee():
    trace = ('Traceback (most recent call last):\n  File "<ipython-input-2-aa>", line 7, in <module>\n    run(3)\n'
             '  File "<ipython-input-1-bb>", line 2, in run\n    raise ValueError\nValueError')
    assert failing_statement(CellOutcome(2, "error", "ValueError", "", trace)) == (7, "run(3)")
    assert failing_statement(CellOutcome(2, "error", "ValueError", "", "")) == (0, "")


def test_lost_definitions_are_the_graded_ones_after_the_failing_line():
    source = "def relu(a):\n    return a\n\nx = broken()\n\ndef relup(a, e):\n    return e\n\ndef helper():\n    pass\n"
    (stop,) = top_level_stops([_outcome("NameError: name 'broken' is not defined", 4, "x = broken()")])
    assert lost_definitions(stop, source, {"relu", "relup"}) == ["relup"]
    (skipped,) = top_level_stops([CellOutcome(4, "skipped", "notebook time limit reached")])
    assert lost_definitions(skipped, source, {"relu", "relup"}) == ["relu", "relup"]


def test_an_answer_equal_to_the_handouts_later_code_is_the_students():
    handout = Handout("def softmax(X):\n    # TODO:\n    return None\n\n\ndef softmax(X):\n    e = np.exp(X)\n    return e / e.sum()\n",
                      {"softmax"})

    class Definition:
        def __init__(self, source):
            self.source = source

    given = "def softmax(X):\n    e = np.exp(X)\n    return e / e.sum()"
    answer, later = Definition(given), Definition(given)
    assert handout.student_definition("softmax", [answer, later]) == (answer, "student")
    # one copy only: the handout's own cell (the stub deleted), not an attempt
    assert handout.student_definition("softmax", [later])[1] == "handout"
    # the stub left as it was, then the handout's cell: nothing of the student's
    stub = Definition("def softmax(X):\n    # TODO:\n    return None")
    assert handout.student_definition("softmax", [stub, later])[1] == "handout"


def _notebook(tmp_path, cells: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "student.ipynb"
    nbformat.write(nb, path)
    return path


def _grade(path, limits: Limits):
    grader = Grader(load_spec("shallow-backprop"), Options(limits=limits, sandbox=SandboxConfig(mode="none")))
    return grader.grade(path, notebook=load_notebook(path))


SOFTMAX = "def softmax(a):\n    z = np.exp(a - a.max(axis=0, keepdims=True))\n    return z / z.sum(axis=0, keepdims=True)"
RELU = "def relu(a):\n    return np.maximum(a, 0)\n\ndef relup(a, e):\n    return e * (a > 0)"


def _points(result, function):
    return sum(t.score for t in result.tests if t.function == function), sum(t.max_score for t in result.tests if t.function == function)


def test_a_students_own_crash_before_a_definition_loses_nothing(tmp_path):
    path = _notebook(tmp_path, ["import numpy as np", "print(softmax_check)\n\n" + SOFTMAX, "import sys\nsys.exit('stop here')\n\n" + RELU])
    result = _grade(path, Limits(cell_timeout=10, notebook_timeout=60))
    for function in ("softmax", "relu", "relup"):
        got, top = _points(result, function)
        assert got == top > 0, (function, [(t.name, t.output) for t in result.tests if t.function == function])
    (entry,) = [a for a in result.attention if a.reason == "defs-only-fallback"]
    assert "cell 1, line 1 (`print(softmax_check)`)" in entry.detail and "student's own error" in entry.detail
    assert "softmax" in entry.detail


def test_definitions_after_a_whole_notebook_timeout_are_graded(tmp_path):
    # the top level uses the whole notebook limit; the definitions-only pass and the checks still get their time
    path = _notebook(tmp_path, ["import numpy as np\nimport time\ntime.sleep(2.5)", "time.sleep(2.5)\n\n" + SOFTMAX, RELU])
    result = _grade(path, Limits(cell_timeout=3, notebook_timeout=4, call_timeout=5))
    assert result.execution.status == "timeout"
    for function in ("softmax", "relu", "relup"):
        got, top = _points(result, function)
        assert got == top > 0, (function, [(t.name, t.output) for t in result.tests if t.function == function])
    (entry,) = [a for a in result.attention if a.reason == "defs-only-fallback"]
    assert "grading machine" in entry.detail


def test_a_clean_notebook_gets_no_fallback_entry(tmp_path):
    path = _notebook(tmp_path, ["import numpy as np", SOFTMAX, "print(undefined_name)", RELU])
    result = _grade(path, Limits(cell_timeout=10, notebook_timeout=60))
    # the student's own error stops a cell that defines nothing graded: nothing recovered, nothing to look at
    assert not [a for a in result.attention if a.reason == "defs-only-fallback"]
    assert _points(result, "relup")[0] == _points(result, "relup")[1] > 0


def test_a_notebook_that_writes_mnists_counts_is_served_them(tmp_path):
    from grader.notebook.datasize import writes_mnist_counts

    counted = "import numpy as np\nimport MNISTtools\nxtrain, ltrain = MNISTtools.load(dataset='training')\nassert xtrain.shape == (784, 60000)\n\n" + SOFTMAX
    plain = "import numpy as np\nimport MNISTtools\nxtrain, ltrain = MNISTtools.load(dataset='training')\nassert xtrain.shape[1] < 60000 // 2\n\n" + SOFTMAX
    assert writes_mnist_counts(load_notebook(_notebook(tmp_path, [counted])))
    result = _grade(_notebook(tmp_path, [counted]), Limits(cell_timeout=20, notebook_timeout=60))
    assert result.execution.status == "ok", result.execution.message
    assert not [a for a in result.attention if a.reason == "defs-only-fallback"]
    # a notebook that writes no such count keeps the small, fast set (7,505 images): its own assert holds there
    assert not writes_mnist_counts(load_notebook(_notebook(tmp_path, ["x = 6000 * 10\ny = 1e4"])))
    result = _grade(_notebook(tmp_path, [plain.replace("60000 // 2", "7506")]), Limits(cell_timeout=20, notebook_timeout=60))
    assert result.execution.status == "ok", result.execution.message
