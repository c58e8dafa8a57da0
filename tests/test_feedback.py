"""Feedback that says why, from the student's own code (grader/pipeline/feedback.py)."""
from __future__ import annotations

from pathlib import Path

from grader.checks.spec import load_spec
from grader.notebook.definitions import Definition, globals_in_place_of_params
from grader.pipeline.grade import Grader, Options
from grader.run.sandbox import Limits, SandboxConfig

CORPUS = Path(__file__).resolve().parent / "resources" / "corpus"
BASE = (CORPUS / "good_vectorised_alt.py").read_text()


def test_a_function_that_reads_a_global_in_place_of_its_argument_is_named_in_its_feedback(tmp_path):
    path = tmp_path / "globals.py"
    # eval_loss never uses its d: it reads the notebook's ds (the first 60 training labels) instead
    path.write_text(BASE + "\n# %%\ndef eval_loss(y, d):\n    return -np.sum(ds[:, :y.shape[1]] * np.log(y))\n")
    options = Options(limits=Limits(cell_timeout=10, notebook_timeout=120), sandbox=SandboxConfig(mode="none"))
    result = Grader(load_spec("shallow-backprop"), options).grade(path)
    failed = [t for t in result.tests if t.function == "eval_loss" and t.status != "passed"]
    assert failed
    assert all("never uses its parameter `d` but reads the notebook's global `ds`" in t.output for t in failed), [t.output for t in failed]
    passed = [t for t in result.tests if t.status == "passed"]
    assert passed and not any("reads the notebook's global" in t.output for t in passed)


def test_a_parameter_in_use_or_a_global_named_otherwise_is_no_such_case():
    reads_x = Definition("grad_loss", 3, ("X", "y", "W"), "def grad_loss(X, y, W):\n    return x.T @ (x @ W - y)\n", 1)
    assert globals_in_place_of_params(reads_x, {"x": 2, "W0": 2}) == [("x", "X")]
    uses_both = Definition("grad_loss", 3, ("X", "y", "W"), "def grad_loss(X, y, W):\n    return X.T @ (x @ W - y)\n", 1)
    assert globals_in_place_of_params(uses_both, {"x": 2}) == []  # it reads its X: no claim
    other = Definition("f", 3, ("a",), "def f(a):\n    return np.maximum(weights, 0)\n", 1)
    assert globals_in_place_of_params(other, {"weights": 1, "np": 0}) == []


def test_when_the_retry_finds_the_functions_own_mistake_that_leads_beside_its_badge():
    """ben (examples): update_shallow fails first on his relu's signature; with the reference relu it still
    fails on a hard-coded size, which is its diagnosis. The text must lead with that, not with relu's error."""
    options = Options(limits=Limits(cell_timeout=10, notebook_timeout=120), sandbox=SandboxConfig(mode="none"))
    ben = next((Path(__file__).resolve().parent.parent / "examples" / "shallow-backprop" / "ben").glob("*.ipynb"))
    result = Grader(load_spec("shallow-backprop"), options).grade(ben)
    update = [t for t in result.tests if t.function == "update_shallow" and t.diagnosis == "hard-coded-size"]
    assert update
    for test in update:
        lines = test.output.splitlines()
        assert lines[0].startswith("called ") and "cannot reshape" in lines[1], test.output
        assert "relu() missing 1 required positional argument" in test.output  # still said, after
