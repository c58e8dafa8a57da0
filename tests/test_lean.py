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


@pytest.mark.parametrize("statement", [
    'object.__setattr__(relu, "__code__", other.__code__)',   # a dunder, and the builtin `object`
    "vars(np)['maximum'] = np.minimum",                      # vars: not an allowed builtin
    "sys.modules['numpy'].maximum = np.minimum",             # a module that reaches the interpreter
    "f = relu",                                              # a function handed on bare...
    "spoil(relu)",                                           # ...or as an argument
    "np.seterr(all='raise')",                                # configures a module
    "np.random.seed(1)",                                     # seeds
    "np.save('w.npy', x)",                                   # writes a file a function may read
    "fh = open('w.txt', 'w')",                               # opens to write
    "np.linalg.norm = len",                                  # stores into a module
    "relu = lambda a: a",                                    # binds a graded name (keep)
])
def test_a_statement_off_the_allow_list_runs(statement):
    cells = ["import numpy as np\nimport sys\ndef relu(a):\n    return a\ndef other(a):\n    return a\n"
             "def spoil(f):\n    pass\nx = np.ones(3)", statement]
    assert statement not in {s.text for s in plan(list(enumerate(cells)), keep={"relu"}).skipped}


@pytest.mark.parametrize("statement", [
    "y = np.random.randn(3, 2)", "print(relu(x).mean())", "loss = np.mean((relu(x) - 1) ** 2)",
    "for i in range(3):\n    print(i, len(x))", "with open('notes.txt') as fh:\n    notes = fh.read()",
    "import_time = 3",
])
def test_a_statement_on_the_allow_list_that_nothing_reads_is_left_out(statement):
    cells = ["import numpy as np\ndef relu(a):\n    return a\nx = np.ones(3)", statement]
    assert statement.splitlines()[0] in {s.text for s in plan(list(enumerate(cells)), keep={"relu"}).skipped}


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


# ---------------------------------------------------------------- --lean never changes a check, on every corpus

LEAN_HOSTILE = {  # top-level statements that reach a graded function without naming an assignment to it
    "object_setattr_code.py": 'def _argmax_rows(d):\n    return np.argmax(d, axis=1)\n\n'
                              'object.__setattr__(onehot2label, "__code__", _argmax_rows.__code__)',
    "vars_of_a_module.py": "vars(np)['maximum'] = np.minimum",
    "sys_modules.py": "import sys\nsys.modules['numpy'].maximum = np.minimum",
    "getattr_dunder.py": "getattr(relu, '__dict__')['x'] = 1\nrelup.__defaults__ = ()",
    "alias_then_patch.py": "f = relup\nf.__code__ = relu.__code__",
    "seterr.py": "np.seterr(all='raise')",
    "graded_name_by_lambda.py": "relu = lambda a: a * 0",
    "graded_name_by_factory.py": "def make():\n    return lambda a, e: e * 0\n\nrelup = make()",
    "unread_graded_name_rebound.py": "backprop_minibatch_shallow = lambda *args, **kwargs: args[2]",  # nothing reads it
    "handed_to_a_helper.py": "def spoil(f):\n    f.__code__ = (lambda a: a * 0).__code__\n\nspoil(relu)",
}


def _checks(result: dict) -> tuple:
    tests = tuple((t["function"], t["name"], t["status"], t["score"]) for t in result["tests"])
    return tests, result["score"], sorted({f["flag"] for f in result["integrity"]})


@pytest.mark.slow
def test_lean_grades_every_corpus_notebook_exactly_as_a_full_run(tmp_path):
    """Every notebook of the test corpus, the real-pattern corpus, the examples, and top-level attacks on
    graded functions: the same status and points for each check, the same integrity flags, with and without --lean."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("snapshot_results", root / "scripts" / "snapshot_results.py")
    snapshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snapshot)
    hostile = tmp_path / "lean-hostile"
    hostile.mkdir()
    base = (root / "tests" / "resources" / "corpus" / "good_vectorised_alt.py").read_text()
    for name, cell in LEAN_HOSTILE.items():
        (hostile / name).write_text(base + "\n# %%\n" + cell + "\n")
    corpora = snapshot.corpora()
    corpora["lean-hostile"] = [("shallow-backprop", p) for p in sorted(hostile.iterdir())]
    for mode, extra in (("full", []), ("lean", ["--lean"])):
        snapshot.snapshot(tmp_path / mode, extra + ["--cell-timeout", "8"], which=corpora)
    full = {p.relative_to(tmp_path / "full"): p for p in (tmp_path / "full").rglob("*.json")}
    lean = {p.relative_to(tmp_path / "lean"): p for p in (tmp_path / "lean").rglob("*.json")}
    assert set(full) == set(lean) and len(full) >= 60
    differ = []
    for name in sorted(full):
        a, b = (json.loads(p.read_text()) for p in (full[name], lean[name]))
        if name.name.startswith("bug_minibatch_default_rng"):  # an unseeded default_rng: compare its score only
            a, b = a["score"], b["score"]
        else:
            a, b = _checks(a), _checks(b)
        if a != b:
            differ.append(f"{name}: full {a} != lean {b}")
    assert not differ, "\n".join(differ)
    flagged = {p.name: json.loads(p.read_text()) for p in (tmp_path / "lean" / "lean-hostile").glob("*.json")}
    for name in ("object_setattr_code", "getattr_dunder", "alias_then_patch", "handed_to_a_helper"):
        assert "replaces-code" in {f["flag"] for f in flagged[f"{name}.json"]["integrity"]}, name
