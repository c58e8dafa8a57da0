"""The comparison series and the named diagnoses, on hand-made student/reference pairs."""
import copy
import tomllib
from dataclasses import dataclass

import numpy as np
import pytest

from grader.checks import inputs as input_gen
from grader.checks.compare import DEFAULT_ATOL, DEFAULT_DTYPE, DEFAULT_RTOL, Policy, compare
from grader.checks.judging import judge
from grader.checks.spec import list_assignments, load_spec
from grader.checks.diagnose import diff_grid, equals_input
from grader.run.wire import Opaque

rng = np.random.default_rng(0)
REF = rng.standard_normal((4, 6))
P = Policy()


def test_equal_arrays_pass():
    assert compare(REF.copy(), REF, P).passed


def test_tiny_float_noise_passes_but_real_error_fails():
    assert compare(REF + 1e-12, REF, P).passed
    verdict = compare(REF + 1e-3, REF, P)
    assert not verdict.passed
    assert verdict.details["max_abs_error"] == pytest.approx(1e-3, rel=1e-6)
    assert verdict.details["mismatch_count"] == REF.size


def test_float32_result_gets_float32_tolerance():
    assert compare(REF.astype(np.float32), REF, P).passed
    assert not compare((REF * 1.01).astype(np.float32), REF, P).passed


@pytest.mark.parametrize(
    "student, diagnosis",
    [
        (None, "returns-none"),
        (Opaque("Figure", "<Figure>"), "wrong-type"),
        (REF.T.copy(), "transposed"),
        (-REF, "sign-flipped"),
        (100 * REF, "percent-vs-fraction"),
        (REF / 100, "fraction-vs-percent"),
        (10 * REF, "factor-10"),
        (REF * 6, "factor-n"),  # 6 = the number of columns (samples)
        (REF / 6, "factor-1/n"),
        (REF * 3.7, "constant-factor"),
        (np.zeros_like(REF), "all-zero"),
        (np.ones((3, 8)), "wrong-shape"),
    ],
)
def test_named_causes(student, diagnosis):
    verdict = compare(student, REF, P)
    assert not verdict.passed
    assert verdict.diagnosis == diagnosis, verdict.message


def test_square_transpose_is_named():
    square = rng.standard_normal((5, 5))
    verdict = compare(square.T.copy(), square, P)
    assert verdict.diagnosis == "transposed"


def test_missing_keepdims_is_named():
    bias = rng.standard_normal((5, 1))
    broadcast = bias - rng.standard_normal(5)  # (5, 1) - (5,) -> (5, 5)
    verdict = compare(broadcast, bias, P)
    assert verdict.diagnosis == "missing-keepdims"
    assert "(5, 5)" in verdict.message


def test_nan_on_large_inputs_is_named():
    student = REF.copy()
    student[0, 0] = np.nan
    verdict = compare(student, REF, P)
    assert verdict.diagnosis == "not-finite"
    assert "1 of 24" in verdict.message


def test_softmax_normalised_over_whole_batch_is_named():
    a = rng.standard_normal((10, 7))
    per_column = np.exp(a) / np.exp(a).sum(axis=0)
    whole = np.exp(a) / np.exp(a).sum()
    assert compare(whole, per_column, P).diagnosis == "normalised-whole-batch"
    rows = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    assert compare(rows, per_column, P).diagnosis == "normalised-wrong-axis"


def test_scalar_comparisons_name_percent_and_factor():
    assert compare(12.5, 12.5, P).passed
    assert compare(np.float64(12.5), 12.5, P).passed
    assert compare(np.array([12.5]), 12.5, P).passed
    assert compare(0.125, 12.5, P).diagnosis == "fraction-vs-percent"
    assert compare(1.25, 12.5, P).diagnosis == "factor-0.1"
    assert compare(float("nan"), 12.5, P).diagnosis == "not-finite"
    assert compare("12.5", 12.5, P).diagnosis == "wrong-type"


def test_tuples_compare_item_by_item_with_labels():
    net = (REF, REF[:, :1])
    labelled = Policy(labels=("W1", "b1"))
    verdict = compare((REF, REF[:, :1] + 1), net, labelled)
    assert not verdict.passed
    assert verdict.message.startswith("b1:")
    assert compare((REF,), net, P).diagnosis == "wrong-length"
    assert compare(REF, net, P).diagnosis == "wrong-type"


def test_dicts_need_every_key():
    grads = {"W": REF, "b": REF[0]}
    assert compare({"W": REF, "b": REF[0], "extra": 1}, grads, P).passed
    assert compare({"W": REF}, grads, P).diagnosis == "missing-keys"


def test_lists_of_lists_compare_as_arrays():
    reference = [[-0.4404, 0.4404], [-0.4404, 0.4404]]
    assert compare([[-0.4404, 0.4404], [-0.4404, 0.4404]], reference, Policy(atol=1e-4)).passed
    assert compare(np.array(reference), reference, Policy(atol=1e-4)).passed
    assert not compare([[0.4404, -0.4404], [0.4404, -0.4404]], reference, Policy(atol=1e-4)).passed


@pytest.mark.parametrize(
    "policy, student, ok",
    [
        ("float32", REF.astype(np.float32), True),
        ("float32", REF, False),
        ("float", np.round(REF).astype(int), False),
        ("int", np.array([1, 2, 3]), True),
        ("int", np.array([1.0, 2.0, 3.0]), True),
        ("int", np.array([1.5, 2.0, 3.0]), False),
        ("number", np.array([1, 0, 1]), True),
    ],
)
def test_dtype_policies(policy, student, ok):
    reference = student.astype(np.float64) if policy != "float" else REF
    if policy == "float32":
        reference = REF
    verdict = compare(student, reference, Policy(dtype=policy))
    assert verdict.passed is ok, verdict.message


def test_integer_answers_that_are_exact_pass_a_float_policy():
    onehot = np.eye(3)
    assert compare(onehot.astype(int), onehot, P).passed


def test_diff_grid_is_bounded_and_scaled():
    diff = np.abs(rng.standard_normal((100, 300)))
    grid = diff_grid(diff)
    assert len(grid) == 24 and len(grid[0]) == 24
    assert max(max(row) for row in grid) == pytest.approx(1.0)
    assert len(diff_grid(np.arange(5.0))) == 5


def test_equals_input_finds_a_stub_that_returns_its_argument():
    net = (REF, REF[:, :1])
    assert equals_input(net, [REF, net]) == 1
    assert equals_input((REF + 1, REF[:, :1]), [REF, net]) is None


def test_ragged_lists_compare_item_by_item():
    reference = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0.0, 0.0, 0.0], [-0.5, 0.5]]
    assert compare([[[0, 0, 0], [0, 0, 0]], [0, 0, 0], [-0.5, 0.5]], reference, P).passed
    verdict = compare([[[0, 0, 0], [0, 0, 0]], [0, 0, 0], [0.5, -0.5]], reference, P)
    assert not verdict.passed and verdict.message.startswith("[2]")


# ---------------------------------------------------------------- complex and object results

SCALAR = 0.25


@pytest.mark.parametrize("policy", ["float", "number", "any"])
@pytest.mark.parametrize(
    "student, reference, expected",
    [
        (REF + 0j, REF, "returns complex numbers; a real array is expected"),  # real part right: still wrong
        (REF + 1j, REF, "returns complex numbers; a real array is expected"),
        (REF.astype(np.complex64), REF, "returns complex numbers; a real array is expected"),
        ((REF + 1j).tolist(), REF, "returns complex numbers; a real array is expected"),
        ([np.complex128(x) for x in REF[0]], REF[0].tolist(), "returns complex numbers; a real array is expected"),
        (complex(SCALAR, 0), SCALAR, "returns a complex number; a real number is expected"),
        (np.complex128(SCALAR + 1j), SCALAR, "returns a complex number; a real number is expected"),
        (np.array([SCALAR + 0j]), SCALAR, "returns complex numbers; a real number is expected"),
        (np.complex128(SCALAR), np.array([SCALAR]), "returns a complex number; a real array is expected"),
        # what crosses over from the worker: complex scalars are opaque objects named by their type
        (Opaque("complex", "(0.25+0j)"), SCALAR, "returns a complex number; a real number is expected"),
        (Opaque("complex128", "np.complex128(0.25+0j)"), REF, "returns a complex number; a real array is expected"),
        (REF.astype(object), REF, "returns an array of Python objects (dtype=object); a real array is expected"),
        (np.array([SCALAR], dtype=object), SCALAR, "returns an array of Python objects (dtype=object); a real number is expected"),
        (Opaque("ndarray", "array([0.25], dtype=object)"), REF, "returns an array of Python objects (dtype=object)"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else v[:20],
)
def test_complex_and_object_results_fail_with_a_type_diagnosis(student, reference, expected, policy):
    verdict = compare(student, reference, Policy(dtype=policy))
    assert not verdict.passed
    assert verdict.diagnosis == "wrong-type"
    assert expected in verdict.message


def test_complex_items_of_a_tuple_are_named_by_their_label():
    verdict = compare((REF, REF + 0j), (REF, REF), Policy(labels=("W1", "b1")))
    assert not verdict.passed and verdict.diagnosis == "wrong-type"
    assert verdict.message.startswith("b1: returns complex numbers")


def test_a_complex_reference_is_compared_as_complex():
    reference = REF + 1j * REF
    assert compare(reference.copy(), reference, P).passed
    assert not compare(REF + 0j, reference, P).passed  # the imaginary part counts


def test_an_unknown_dtype_policy_is_an_error_not_a_free_pass():
    with pytest.raises(ValueError, match="unknown dtype policy 'flaot'"):
        compare(np.zeros_like(REF), REF, Policy(dtype="flaot"))


# ------------------------------------------------------------------ the default tolerance, pinned

# The tolerances a check is graded with when its spec says nothing. Written here as numbers, not
# imported: loosening grader.checks.compare.DEFAULT_RTOL / DEFAULT_ATOL must turn this test red.
PINNED_RTOL = 1e-6
PINNED_ATOL = 1e-8


@dataclass(frozen=True)
class Returned:
    """What execute.CallOutcome carries for a call that returned (the part judging reads)."""

    value: dict
    status: str = "ok"
    error: str = ""
    traceback: str = ""
    mutated: tuple = ()


def default_tolerance_check(assignment: str):
    """The first check of a bundled spec that leaves rtol and atol unsaid and returns a float64 array with values not
    near 0, with its inputs and the reference's result, made as grading makes them."""
    spec = load_spec(assignment)
    raw = tomllib.loads((spec.folder / "spec.toml").read_text(encoding="utf-8"))["check"]
    reference = spec.reference_module()
    for table, check in zip(raw, spec.checks):
        if ("rtol" in table or "atol" in table or check.class_name or check.reference or check.globals or check.ref_args is not None
                or check.compare != ("return",) or check.dtype != "float" or check.call_seed is not None):
            continue
        env = input_gen.make_inputs(check.let, check.seed, reference)
        args = [input_gen.resolve(a, env) for a in check.args]
        kwargs = {k: input_gen.resolve(v, env) for k, v in check.kwargs.items()}
        expected = getattr(reference, check.function)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        if isinstance(expected, np.ndarray) and expected.dtype == np.float64 and np.abs(expected).max() > 1e-2:
            return spec, check, args, expected
    raise AssertionError(f"{assignment}: no check with the default tolerance returns a float array: pick another one")


@pytest.mark.parametrize("assignment", list_assignments())
def test_the_default_tolerance_grading_uses_is_pinned(assignment):
    """Through the real path: a bundled spec's check, the reference's own result, judging.judge, as grading does."""
    spec, check, args, expected = default_tolerance_check(assignment)
    labels = spec.function(check.function).returns

    def verdict(student):
        return judge(check, {"return": expected}, Returned({"return": student}), args, [], labels)

    assert verdict(expected.copy()).passed
    assert verdict(expected * (1 + PINNED_RTOL / 10)).passed, "a relative error 10x below the tolerance must pass"
    failed = verdict(expected * (1 + PINNED_RTOL * 10))
    assert not failed.passed, f"{check.name}: a relative error 10x above the default tolerance passes: was it loosened?"
    # Where the reference is 0 the absolute tolerance alone decides, with the check's own atol.
    zeros = np.zeros(4)
    policy = Policy(check.rtol, check.atol, check.dtype)
    assert compare(zeros + PINNED_ATOL / 10, zeros, policy).passed
    assert not compare(zeros + PINNED_ATOL * 10, zeros, policy).passed, "an absolute error 10x above the default atol passes"


def test_policy_and_spec_defaults_are_the_same_constants():
    assert (Policy().rtol, Policy().atol, Policy().dtype) == (DEFAULT_RTOL, DEFAULT_ATOL, DEFAULT_DTYPE)
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (PINNED_RTOL, PINNED_ATOL)
