"""--lean: top-level statements nothing graded can observe are left out; everything a function can see runs."""
from __future__ import annotations

import json
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.pipeline.grade import Grader, Options
from grader.notebook.lean import plan
from grader.result import result_from_dict
from grader.run.sandbox import Limits, SandboxConfig
from grader.checks.spec import load_spec


def skipped_lines(*cells: str) -> set[str]:
    return {s.text for s in plan(list(enumerate(cells))).skipped}


def run_lean(*cells: str) -> dict:
    """Execute the lean plan of these cells in one namespace (plain exec: they hold no magics)."""
    namespace: dict = {}
    for _, source in plan(list(enumerate(cells))).cells:
        exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def test_training_prints_and_checks_at_top_level_are_left_out():
    left_out = skipped_lines(
        "import numpy as np\ndef relu(a):\n    return np.maximum(a, 0)",
        "x = np.random.randn(5, 3)\nnet = train(x, 100)\nprint(relu(x).mean())",
    )
    assert left_out == {"x = np.random.randn(5, 3)", "net = train(x, 100)", "print(relu(x).mean())"}


def test_a_global_a_function_reads_is_bound_with_everything_it_needs():
    namespace = run_lean(
        "import numpy as np\nsizes = [3, 4]\nscale = 0.5",
        "def make(m, n):\n    return np.ones((m, n)) * scale",
        "W = make(sizes[0], sizes[1])\nunused = make(100, 100)",
        "def forward(x):\n    return W @ x",
    )
    assert namespace["W"].shape == (3, 4) and namespace["W"][0, 0] == 0.5
    assert "unused" not in namespace


@pytest.mark.parametrize("mutation", [
    "W[0, 0] = 7.0",                      # subscript store
    "W += 6.0",                           # augmented assignment
    "fill(W)",                            # a call that mutates it in place (mentions it)
    "reset()",                            # a function whose own globals include W
    "Box().reset_weights()",              # a method whose globals include W
])
def test_whatever_may_change_a_global_a_function_reads_runs(mutation):
    namespace = run_lean(
        "import numpy as np\nW = np.ones((2, 2))",
        "def fill(a):\n    a[...] = 7.0\ndef reset():\n    W[...] = 7.0\n"
        "class Box:\n    def reset_weights(self):\n        W[...] = 7.0",
        mutation,
        "def forward(x):\n    return W @ x",
    )
    assert namespace["W"][0, 0] == 7.0


def test_a_function_that_rebinds_a_global_through_global_runs_when_called():
    namespace = run_lean(
        "w1 = None\ndef init():\n    global w1\n    w1 = 3",
        "init()",
        "def forward(x):\n    return w1 * x",
    )
    assert namespace["w1"] == 3


def test_code_that_cannot_be_judged_statically_runs():
    namespace = run_lean(
        "exec('w = 5')",
        "globals()['v'] = 6",
        "if True:\n    def g():\n        return 1",
        "def forward(x):\n    return w * v * g() * x",
    )
    assert namespace["w"] * namespace["v"] == 30


def test_a_class_attached_method_and_a_rebound_graded_name_run():
    namespace = run_lean(
        "class Net:\n    pass",
        "def my_forward(self, x):\n    return x",
        "Net.forward = my_forward",
        "def softmax(a):\n    return a\nsoftmax = lambda a: a * 2",
    )
    assert namespace["Net"].forward is namespace["my_forward"] and namespace["softmax"](1) == 2


def test_timing_magics_are_judged_by_what_they_time_and_other_magics_run():
    cells = [(0, "%matplotlib inline\n%time net = train(x)\n%time w = 2\nimport numpy as np"),
             (1, "def forward(x):\n    return w * x")]
    result = plan(cells)
    assert [s.text for s in result.skipped] == ["get_ipython().run_line_magic('time', 'net = train(x)')"]
    assert "matplotlib" in result.cells[0][1] and "'w = 2'" in result.cells[0][1]


def test_a_cell_with_nothing_left_out_runs_exactly_as_written_and_line_numbers_stay():
    cells = [(0, "%matplotlib inline\nimport numpy as np"), (1, "def f(x):\n    return x\n\nprint(f(2))\ny = 1")]
    result = plan(cells)
    assert result.cells[0] == cells[0]
    assert result.cells[1][1].splitlines()[:2] == ["def f(x):", "    return x"]
    assert result.cells[1][1].splitlines()[3:] in ([], [""])


def test_a_cell_that_does_not_parse_runs_as_written():
    cells = [(0, "def f(x:\n    return x"), (1, "print(1)")]
    assert plan(cells).cells[0] == cells[0]


def _notebook(tmp_path, *cells: str):
    path = tmp_path / "hw.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), path)
    return path


def test_grading_with_lean_skips_a_slow_top_level_run_and_says_so(tmp_path):
    """A real notebook: the 30 s "training" is left out, the functions it would have used are graded."""
    spec = load_spec("shallow-backprop")
    path = _notebook(
        tmp_path,
        "import numpy as np\nimport time",
        "def softmax(a):\n    z = np.exp(a - a.max(axis=0, keepdims=True))\n    return z / z.sum(axis=0, keepdims=True)",
        "def relu(a):\n    return np.maximum(a, 0)\n\ndef relup(a, e):\n    return e * (a > 0)",
        "time.sleep(30)\nprint('trained')",
    )
    options = Options(limits=Limits(cell_timeout=60, notebook_timeout=120), sandbox=SandboxConfig(mode="auto"), lean=True)
    started = time.perf_counter()
    result = Grader(spec, options).grade(path)
    assert time.perf_counter() - started < 25
    assert result.execution.skipped == ("cell 3, line 1: time.sleep(30)", "cell 3, line 2: print('trained')")
    relup = [t for t in result.tests if t.function == "relup"]
    assert relup and all(t.status == "passed" for t in relup)
    assert result.grading["lean"] is True
    assert result_from_dict(json.loads(result.to_json())) == result  # as the gradebook stores and reads it
