"""A corpus of small shallow-backprop notebooks, graded the way a careful TA would grade them.

Each file in tests/resources/corpus is one case: a correct solution written in
another style (full marks), a common mistake (points lost on the right function,
with the right diagnosis, and only once), or a notebook-level fault (syntax
errors, hangs, crashes, exits, memory and output floods, patched libraries, fake
results, Python 2, magics) after which grading must still finish and grade the
rest. Every notebook is graded once per module and the result is shared.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from grader.pipeline.grade import Grader, Options
from grader.run.sandbox import Limits, SandboxConfig
from grader.checks.spec import load_spec

CORPUS = Path(__file__).resolve().parent / "resources" / "corpus"
FULL = load_spec("shallow-backprop").max_score  # the handout's given init_shallow carries no points (issue 11)
CELL_TIMEOUT = 5.0
HARD_GRACE = 3.0  # grader.execute.HARD_GRACE: past it a worker that ignores the interrupt is killed
SLACK = 15.0  # generous: two cores shared with other test runs


@pytest.fixture(scope="module")
def grader() -> Grader:
    options = Options(limits=Limits(cell_timeout=CELL_TIMEOUT, notebook_timeout=60), sandbox=SandboxConfig(mode="auto"), defs_only=False)
    return Grader(load_spec("shallow-backprop"), options)


@pytest.fixture(scope="module")
def grading_cwd(tmp_path_factory) -> Path:
    """The grader runs from an empty folder, so a file a notebook writes 'in the cwd' would show up here."""
    return tmp_path_factory.mktemp("grading-cwd")


@pytest.fixture(scope="module")
def graded(grader, grading_cwd):
    """name -> (Result, seconds); each notebook is graded once per module."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            path = CORPUS / name
            assert path.is_file(), path
            previous = os.getcwd()
            os.chdir(grading_cwd)
            try:
                started = time.perf_counter()
                result = grader.grade(path)
                cache[name] = (result, time.perf_counter() - started)
            finally:
                os.chdir(previous)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def max_points(grader) -> dict[str, float]:
    points: dict[str, float] = {}
    for check in grader.spec.checks:
        points[check.function] = points.get(check.function, 0.0) + check.points
    return points


def checks_of(result, function: str):
    found = [t for t in result.tests if t.function == function]
    assert found, f"no test entry for {function}"
    return found


def score_of(result, function: str) -> float:
    return sum(t.score for t in checks_of(result, function))


def failed_cells(result):
    return [c for c in result.execution.cells if c.status != "ok"]


def flags(result) -> set[str]:
    return {f.flag for f in result.integrity}


def assert_others_full(result, max_points, except_for=()):
    for function, points in max_points.items():
        if function in except_for:
            continue
        assert score_of(result, function) == points, (function, [(t.status, t.output) for t in checks_of(result, function)])


# ---------------------------------------------------------------- 1. correct solutions in other styles

CORRECT = [
    "good_loops.ipynb",  # column-by-column softmax, per-sample loop in update_shallow
    "good_vectorised_alt.py",  # delta2 = y - d, @, np.where
    "good_float32.py",  # every function casts to float32
    "good_nbconvert_export.py",  # `# In[n]:` script export
    "good_shuffle_arange.py",  # np.random.shuffle(np.arange(N)) each epoch
    "good_relup_geq.py",  # relup with a >= 0
    "good_shuffle_persistent.py",  # one index array reshuffled in place each epoch: accepted
]


@pytest.mark.parametrize("name", CORRECT)
def test_correct_styles_earn_full_marks(graded, name):
    result, seconds = graded(name)
    assert result.execution.status == "ok", result.execution.message
    assert failed_cells(result) == []
    assert (result.score, result.max_score) == (FULL, FULL)
    for test in result.tests:
        assert test.status == "passed" and test.score == test.max_score, (test.name, test.output)
    assert result.integrity == ()
    assert seconds < 5 + SLACK


def test_correct_styles_carry_no_penalty_diagnosis(graded):
    for name in CORRECT:
        result, _ = graded(name)
        diagnoses = {t.diagnosis for t in result.tests} - {None}
        expected = {"good_relup_geq.py": {"relup-zero-as-one"}, "good_shuffle_persistent.py": {"minibatch-reshuffled-in-place"}}.get(name, set())
        assert diagnoses == expected, (name, diagnoses)


def test_relup_at_zero_is_accepted_with_a_note(graded):
    result, _ = graded("good_relup_geq.py")
    random_inputs, at_zeros = checks_of(result, "relup")
    assert random_inputs.diagnosis is None and random_inputs.status == "passed"
    assert at_zeros.status == "passed" and at_zeros.score == at_zeros.max_score == 1.0
    assert at_zeros.diagnosis == "relup-zero-as-one"
    assert at_zeros.output.startswith("accepted:") and "a >= 0" in at_zeros.output


def test_nbconvert_export_is_split_into_its_cells(graded):
    result, _ = graded("good_nbconvert_export.py")
    assert result.execution.status == "ok"
    assert result.notebook.endswith("good_nbconvert_export.py")


# ---------------------------------------------------------------- 2. common bugs

# name -> (total, {function: score}, {function: diagnosis}, {function: fragment of its output})
BUGS = {
    "bug_softmax_no_return.py": (46.0, {"softmax": 0.0}, {"softmax": "returns-none"}, {"softmax": "Is a `return` missing?"}),
    "bug_update_stub.py": (42.0, {"update_shallow": 0.0}, {"update_shallow": "returns-input-unchanged"}, {"update_shallow": "returns argument 3 unchanged"}),
    "bug_perfs_fraction.py": (47.0, {"eval_perfs": 0.0}, {"eval_perfs": "eval-perfs-fraction"}, {"eval_perfs": "100 times too small"}),
    "bug_minibatch_default_rng.py": (47.0, {"backprop_minibatch_shallow": 3.0}, {"backprop_minibatch_shallow": None}, {"backprop_minibatch_shallow": "the loss still falls"}),
    "bug_minibatch_unshuffled.py": (44.0, {"backprop_minibatch_shallow": 0.0}, {"backprop_minibatch_shallow": "minibatch-never-shuffled"}, {"backprop_minibatch_shallow": "never shuffled"}),
    "bug_relup_helper.py": (47.0, {"relup": 0.0}, {"relup": "relup-normalised"}, {"relup": "norm of e"}),
    "bug_update_inplace.py": (46.0, {"update_shallow": 4.0}, {"update_shallow": "modifies-input"}, {"update_shallow": "in place"}),
    "bug_update_hardcoded_size.py": (42.0, {"update_shallow": 0.0}, {"update_shallow": "hard-coded-size"}, {"update_shallow": "cannot reshape array"}),
    "bug_update_no_keepdims.py": (42.0, {"update_shallow": 0.0}, {"update_shallow": "update-bias-no-keepdims"}, {"update_shallow": "keepdims=True"}),
    "bug_onehot_rows.py": (48.0, {"label2onehot": 0.0}, {"label2onehot": "label2onehot-rows"}, {"label2onehot": "transposed"}),
    "bug_softmax_unstable.py": (49.0, {"softmax": 3.0}, {"softmax": "softmax-unstable"}, {"softmax": "NaN or inf"}),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_common_bug_costs_points_on_its_function(graded, max_points, name):
    total, scores, diagnoses, mentions = BUGS[name]
    total -= 50.0 - FULL  # the totals below were written when the given init_shallow was worth 2 points
    result, seconds = graded(name)
    assert result.score == total, [(t.function, t.score, t.diagnosis) for t in result.tests if t.score != t.max_score]
    for function, score in scores.items():
        assert score_of(result, function) == score
        failing = [t for t in checks_of(result, function) if t.status != "passed"]
        assert failing, f"{function} should fail at least one check"
        for test in failing:
            assert test.diagnosis == diagnoses[function], (test.name, test.diagnosis, test.output)
            assert mentions[function] in test.output, test.output
            assert test.output.startswith(f"called {function}(")
    assert_others_full(result, max_points, except_for=scores)
    assert seconds < 5 + SLACK


def test_other_rng_gets_partial_not_full_credit(graded):
    result, _ = graded("bug_minibatch_default_rng.py")
    (test,) = checks_of(result, "backprop_minibatch_shallow")
    assert test.status == "failed"
    assert 0 < test.score < test.max_score
    assert "partial credit" in test.output and "values differ" in test.output


def test_never_shuffled_earns_no_behavioural_credit(graded):
    result, _ = graded("bug_minibatch_unshuffled.py")
    (test,) = checks_of(result, "backprop_minibatch_shallow")
    assert test.score == 0.0 and test.status == "failed"
    assert "partial credit" not in test.output


def test_update_stub_fails_only_its_own_checks(graded):
    result, _ = graded("bug_update_stub.py")
    for test in checks_of(result, "update_shallow"):
        assert test.status == "failed" and test.score == 0.0


# (notebook, caller, broken or missing helper): the caller keeps its points, and says which helper broke it
ONE_BUG_COSTS_ONCE = [
    ("bug_relup_helper.py", "update_shallow", "relup"),
    ("bug_softmax_no_return.py", "softmaxp", "softmax"),
    ("bug_softmax_no_return.py", "forwardprop_shallow", "softmax"),
    ("bug_softmax_no_return.py", "update_shallow", "softmax"),
    ("bug_update_stub.py", "backprop_shallow", "update_shallow"),
    ("bug_update_stub.py", "backprop_minibatch_shallow", "update_shallow"),
    ("bug_update_inplace.py", "backprop_shallow", "update_shallow"),
    ("bug_update_hardcoded_size.py", "backprop_minibatch_shallow", "update_shallow"),
    ("bug_softmax_unstable.py", "softmaxp", "softmax"),
    ("fault_redefined_signature.py", "update_shallow", "relup"),
    ("fault_syntax_error.py", "backprop_shallow", "eval_loss"),
]


@pytest.mark.parametrize("name,caller,helper", ONE_BUG_COSTS_ONCE)
def test_broken_helper_costs_once(graded, name, caller, helper):
    result, _ = graded(name)
    callers = checks_of(result, caller)
    assert score_of(result, caller) == sum(t.max_score for t in callers)
    named = [t for t in callers if t.diagnosis == "broken-helper"]
    assert named, [(t.diagnosis, t.output) for t in callers]
    for test in named:
        assert test.status == "passed"
        assert test.output.startswith("passes with the reference "), test.output
        names = test.output[len("passes with the reference "):].split(" in place of yours")[0].split(", ")
        assert helper in names, test.output
        assert "broke it" in test.output


# ---------------------------------------------------------------- 3. notebook-level faults


def test_syntax_error_cell_is_recorded_and_the_rest_graded(graded, max_points):
    result, _ = graded("fault_syntax_error.py")
    assert result.execution.status == "errors"
    bad = [c for c in failed_cells(result) if "def eval_loss" in c.source]
    assert len(bad) == 1 and bad[0].status == "error"
    assert bad[0].error.startswith("SyntaxError")
    (missing,) = checks_of(result, "eval_loss")
    assert missing.status == "missing" and missing.score == 0.0 and missing.diagnosis == "missing"
    assert result.score == 47.0 - (50.0 - FULL)
    assert_others_full(result, max_points, except_for=("eval_loss",))


def test_function_in_a_cell_with_a_syntax_error_is_explained(graded):
    result, _ = graded("fault_syntax_error.py")
    (missing,) = checks_of(result, "eval_loss")
    bad = next(c for c in failed_cells(result) if "def eval_loss" in c.source)
    assert "not defined in the notebook" not in missing.output
    assert f"cell {bad.index}" in missing.output and "SyntaxError" in missing.output


def test_name_defined_in_a_later_cell(graded):
    """forwardprop_shallow is called in its own cell before relu/softmax exist: that cell fails with a
    NameError, but at probe time every cell has run, so the function itself is right and keeps its points."""
    result, _ = graded("fault_later_name.py")
    assert result.execution.status == "errors"
    (cell,) = failed_cells(result)
    assert cell.status == "error" and cell.error == "NameError: name 'relu' is not defined"
    assert "forwardprop_shallow(xs" in cell.source
    assert result.score == FULL
    for test in checks_of(result, "forwardprop_shallow"):
        assert test.status == "passed" and test.diagnosis is None


def test_redefined_with_another_signature_grades_the_last(graded, max_points):
    result, _ = graded("fault_redefined_signature.py")
    relup = checks_of(result, "relup")
    assert score_of(result, "relup") == 0.0
    for test in relup:
        assert test.status == "error"
        assert test.diagnosis in ("wrong-signature", "redefined-other-signature")
        assert "relup is defined 2 times" in test.output
        assert "parameters (a)" in test.output and "is the one graded" in test.output
        assert "takes 1 positional argument but 2 were given" in test.output
    assert result.score == 47.0 - (50.0 - FULL)
    assert_others_full(result, max_points, except_for=("relup",))


def test_infinite_loop_cell_times_out_and_the_rest_runs(graded, max_points):
    result, seconds = graded("fault_infinite_loop.py")
    assert result.execution.status == "timeout"
    (cell,) = failed_cells(result)
    assert cell.status == "timeout" and "while True" in cell.source
    assert "5 s limit" in cell.error
    assert CELL_TIMEOUT <= seconds < CELL_TIMEOUT + SLACK
    assert result.score == FULL  # relu, relup, init_shallow, ... are defined after the loop
    assert_others_full(result, max_points)


def test_loop_swallowing_the_interrupt_costs_the_worker_not_the_grade(graded, max_points):
    result, seconds = graded("fault_swallow_interrupt.py")
    assert result.execution.status == "timeout"
    (cell,) = failed_cells(result)
    assert cell.status == "timeout" and "except BaseException" in cell.source
    assert "ignored the interrupt" in cell.error
    assert CELL_TIMEOUT + HARD_GRACE <= seconds < CELL_TIMEOUT + HARD_GRACE + SLACK
    assert result.score == FULL
    assert_others_full(result, max_points)


def test_sys_exit_is_recorded_and_later_cells_run(graded):
    result, _ = graded("fault_sys_exit.py")
    assert result.execution.status == "errors"
    (cell,) = failed_cells(result)
    assert cell.status == "error" and cell.error == "SystemExit: stopping here"
    assert result.score == FULL
    assert "exits-process" in flags(result)


def test_os_exit_is_a_crash_and_later_cells_run(graded, max_points):
    result, seconds = graded("fault_os_exit.py")
    assert result.execution.status == "crashed"
    (cell,) = failed_cells(result)
    assert cell.status == "error" and "os._exit" in cell.source
    assert "exited with code 1" in cell.error
    assert result.score == FULL
    assert_others_full(result, max_points)
    assert "exits-process" in flags(result)
    assert seconds < 5 + SLACK


def test_memory_bomb_is_recorded_and_grading_goes_on(graded):
    result, seconds = graded("fault_memory_bomb.py")
    assert result.execution.status == "errors"
    (cell,) = failed_cells(result)
    assert cell.status == "error" and cell.error.startswith("MemoryError")
    assert result.score == FULL
    assert seconds < 5 + SLACK


def test_output_flood_is_truncated_and_fast(graded):
    result, seconds = graded("fault_output_flood.py")
    assert result.execution.status == "ok"
    assert result.score == FULL
    assert seconds < 20
    assert len(result.to_json()) < 100_000  # none of the 50 MB reaches the result


def test_patched_numpy_comparisons_change_nothing(graded):
    patched, _ = graded("hostile_patch_numpy.py")
    honest, _ = graded("bug_perfs_fraction.py")
    assert patched.score == honest.score == 47.0 - (50.0 - FULL)
    assert [(t.function, t.score, t.diagnosis) for t in patched.tests] == [(t.function, t.score, t.diagnosis) for t in honest.tests]
    assert "patches-library" in flags(patched)
    details = [f.detail for f in patched.integrity if f.flag == "patches-library"]
    assert any("np.allclose" in d for d in details) and any("np.array_equal" in d for d in details)


def test_patched_array_equal_is_flagged(graded):
    result, _ = graded("hostile_patch_inplace.py")
    assert "patches-library" in flags(result)


def test_patched_array_equal_does_not_hide_an_in_place_update(graded):
    patched, _ = graded("hostile_patch_inplace.py")
    honest, _ = graded("bug_update_inplace.py")
    assert [t.diagnosis for t in checks_of(patched, "update_shallow")] == ["modifies-input", "modifies-input"]
    assert patched.score == honest.score == 46.0 - (50.0 - FULL)


def test_code_swapped_through_object_setattr_is_flagged_and_graded_as_it_runs(graded):
    """`object.__setattr__(onehot2label, "__code__", ...)` at the top level: the function that runs is graded,
    and the swap is an integrity flag (the same with --lean: tests/test_lean.py)."""
    swapped, _ = graded("hostile_replace_code.py")
    honest, _ = graded("hostile_patch_inplace.py")
    assert "replaces-code" in flags(swapped)
    assert all(t.status == "failed" for t in checks_of(swapped, "onehot2label"))
    assert swapped.score == honest.score - score_of(honest, "onehot2label")


def test_fake_results_change_nothing(graded, grading_cwd):
    fake, _ = graded("hostile_fake_results.py")
    honest, _ = graded("bug_update_stub.py")
    assert fake.score == honest.score == 42.0 - (50.0 - FULL)
    # the fake notebook's update_shallow only returns its input: a stub, "not attempted" (issue 11)
    assert [t.diagnosis for t in checks_of(fake, "update_shallow")] == ["not-attempted"] * 2
    assert {"fake-results", "writes-files"} <= flags(fake)
    assert any("All tests passed" in f.detail for f in fake.integrity if f.flag == "fake-results")
    assert not (grading_cwd / "results.json").exists()
    assert json.loads(fake.to_json())["score"] == 42.0 - (50.0 - FULL)


def test_python2_notebook_is_invalid_with_one_clear_message(graded, max_points):
    result, seconds = graded("fault_python2.ipynb")
    assert result.execution.status == "invalid"
    assert result.score == 0.0 and result.max_score == FULL
    message = result.execution.message
    assert "Python 2" in message and "print statements" in message and "convert it to Python 3" in message
    assert result.execution.cells == ()
    assert {t.function for t in result.tests} == set(max_points)
    for test in result.tests:
        assert test.status == "missing" and test.score == 0.0
        assert message in test.output
    assert seconds < 5


def test_magics_shell_escapes_help_and_display(graded, max_points):
    result, _ = graded("fault_magics.ipynb")
    assert result.execution.status == "errors"
    (cell,) = failed_cells(result)  # only %load of a missing file fails
    assert cell.source.strip() == "%load missing_file.py"
    assert cell.error.startswith("FileNotFoundError") and "missing_file.py" in cell.error
    assert result.score == FULL
    assert_others_full(result, max_points)
    assert result.integrity == ()  # !pip install is not a flag


def test_every_case_in_the_corpus_is_graded_by_a_test():
    named = set(CORRECT) | set(BUGS) | {n for n, _, _ in ONE_BUG_COSTS_ONCE}
    named |= {"fault_syntax_error.py", "fault_later_name.py", "fault_redefined_signature.py", "fault_infinite_loop.py",
              "fault_swallow_interrupt.py", "fault_sys_exit.py", "fault_os_exit.py", "fault_memory_bomb.py",
              "fault_output_flood.py", "hostile_patch_numpy.py", "hostile_patch_inplace.py", "hostile_fake_results.py",
              "hostile_replace_code.py", "fault_python2.ipynb", "fault_magics.ipynb"}
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb")}
    assert on_disk == named


# ---------------------------------------------------------------- discovery: guesses are not answers

GOOD = (CORPUS / "good_vectorised_alt.py").read_text()
NORMALIZE = ("def normalize_MNIST_images(x):\n    return (x.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)")


def with_guesses(tmp_path: Path, name: str, *guesses: str) -> Path:
    """The honest notebook, normalize_MNIST_images missing and these functions defined instead."""
    source = GOOD.replace(NORMALIZE, "\n\n".join(guesses)).replace("normalize_MNIST_images(xtrain", "norm_a(xtrain")
    assert source != GOOD
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_guesses_that_disagree_earn_nothing_and_are_flagged(grader, tmp_path, max_points):
    right = "def norm_a(x):\n    return (x.astype(np.float32) - 127.5) / 127.5"
    wrong = "def norm_b(x):\n    return x.astype(np.float32) / 255.0"
    result = grader.grade(with_guesses(tmp_path, "guesses", right, wrong))
    assert score_of(result, "normalize_MNIST_images") == 0
    flag = [f for f in result.integrity if f.flag == "ambiguous-candidates"]
    assert flag and "norm_a" in flag[0].detail and "norm_b" in flag[0].detail
    assert "ambiguous-candidates" in {a.reason for a in result.attention}
    assert_others_full(result, max_points, except_for=("normalize_MNIST_images",))


def test_candidates_that_agree_are_credited_once_and_the_others_named(grader, tmp_path, max_points):
    one = "def norm_a(x):\n    return (x.astype(np.float32) - 127.5) / 127.5"
    two = "def norm_c(x):\n    return x.astype(np.float32) / 127.5 - 1.0"
    result = grader.grade(with_guesses(tmp_path, "agree", one, two))
    assert score_of(result, "normalize_MNIST_images") == max_points["normalize_MNIST_images"]
    assert "ambiguous-candidates" not in flags(result)
    assert any("behave the same on every check" in t.output for t in checks_of(result, "normalize_MNIST_images"))
