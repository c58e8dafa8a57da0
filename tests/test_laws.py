"""Random initialisers judged by the law of their draws (issue 22 item 3), one test per named cause.

The laws are the handouts': 000's N(0, 1)/sqrt((Ni + 1)/2) and N(0, 1)/sqrt(Nh + 1), 002's small
random weights (the law left open), 003's N(0, 1)/sqrt(n), 004's normal weights and zero biases.
Each cause is shown on a hand-made draw; a correct initialiser passes under many seeds, so the bounds
cannot fail a right answer by bad luck.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest

from grader.checks.judging import judge
from grader.checks.laws import judge_draws, law_problem
from grader.checks.spec import load_spec

SMALL = {"W_h": {"law": "bounded", "bound": 1}, "b_h": {"law": "bounded", "bound": 1, "constant_ok": True}}
SCALED = {"return": {"law": "normal", "std": 1 / np.sqrt(40)}}


def one(table, **arrays):
    """Judge a single observation: arrays as attributes read back."""
    return judge_draws(table, {"return": None, "attrs": arrays})


def two_calls(table, first, second):
    return judge_draws(table, {"draws": [{"return": first}, {"return": second}], "return": second})


# ------------------------------------------------------------------ the causes


def test_every_weight_the_same_value_is_named_and_says_the_hidden_units_stay_identical():
    passed, message, diagnosis = one(SMALL, W_h=np.random.uniform(size=(100, 80), low=-0.1, high=-0.1), b_h=np.zeros(80))
    assert not passed and diagnosis == "init-constant"
    assert "every value of W_h is the same (-0.1)" in message and "hidden units" in message


def test_zero_weights_are_constant_too():
    passed, message, diagnosis = one(SMALL, W_h=np.zeros((100, 80)), b_h=np.zeros(80))
    assert (passed, diagnosis) == (False, "init-constant") and "(zero)" in message


def test_zero_biases_pass_where_the_handout_leaves_biases_open():
    assert one(SMALL, W_h=np.random.default_rng(1).uniform(-0.01, 0.01, (100, 80)), b_h=np.zeros(80))[0]


def test_weights_outside_the_range_the_handout_asks_are_named():
    passed, message, diagnosis = one(SMALL, W_h=np.random.default_rng(2).standard_normal((100, 80)), b_h=np.zeros(80))
    assert (passed, diagnosis) == (False, "init-out-of-range") and "+-1" in message
    uniform = {"return": {"law": "uniform", "low": -0.01, "high": 0.01}}
    passed, message, diagnosis = judge_draws(uniform, {"return": np.random.default_rng(3).uniform(-0.1, 0.1, (50, 40))})
    assert (passed, diagnosis) == (False, "init-out-of-range") and "(-0.01, 0.01)" in message


def test_a_uniform_draw_narrower_than_asked_is_named():
    uniform = {"return": {"law": "uniform", "low": -0.1, "high": 0.1}}
    passed, message, diagnosis = judge_draws(uniform, {"return": np.random.default_rng(4).uniform(-0.01, 0.01, (50, 40))})
    assert (passed, diagnosis) == (False, "init-spread") and "cover the whole range" in message


@pytest.mark.parametrize("scale, says", [(1.0, "a factor 6."), (1 / np.sqrt(300), "a factor 0.3"), (1 / 40, "a factor 0.15")])
def test_a_normal_draw_with_the_wrong_scaling_is_named(scale, says):
    w = np.random.default_rng(5).standard_normal((300, 40)) * scale
    passed, message, diagnosis = judge_draws(SCALED, {"return": w})
    assert (passed, diagnosis) == (False, "init-spread") and says in message, message


def test_draws_not_centred_on_zero_are_named():
    w = np.random.default_rng(6).standard_normal((300, 40)) / np.sqrt(40) + 0.05
    passed, message, diagnosis = judge_draws(SCALED, {"return": w})
    assert (passed, diagnosis) == (False, "init-off-centre") and "mean 0.04" in message


def test_a_uniform_draw_where_the_handout_asks_for_a_normal_one_is_named():
    """Same mean and standard deviation as N(0, 1)/sqrt(n): only the shape of the law tells them apart."""
    w = np.random.default_rng(7).uniform(-np.sqrt(3), np.sqrt(3), (300, 40)) / np.sqrt(40)
    passed, message, diagnosis = judge_draws(SCALED, {"return": w})
    assert (passed, diagnosis) == (False, "init-not-normal") and "kurtosis" in message


def test_biases_not_zero_where_the_handout_sets_them_to_zero_are_named():
    table = {"W": {"law": "normal"}, "b": {"law": "zeros"}}
    rng = np.random.default_rng(8)
    passed, message, diagnosis = judge_draws(table, {"return": (rng.standard_normal((200, 150)), rng.standard_normal(150) * 0.1)},
                                             ("W", "b"))
    assert (passed, diagnosis) == (False, "init-bias-not-zero") and "b is not zero" in message
    assert judge_draws(table, {"return": (rng.standard_normal((200, 150)), np.zeros(150))}, ("W", "b"))[0]


def test_the_same_weights_on_every_call_are_named():
    w = np.random.default_rng(9).standard_normal((300, 40)) / np.sqrt(40)
    passed, message, diagnosis = two_calls(SCALED, w, w.copy())
    assert (passed, diagnosis) == (False, "init-same-every-call") and "np.random.seed" in message
    assert two_calls(SCALED, w, np.random.default_rng(10).standard_normal((300, 40)) / np.sqrt(40))[0]


def test_a_missing_part_and_a_stub_are_told_apart():
    assert one(SMALL, W_h=None, b_h=None)[2] == "not-attempted"
    assert judge_draws(SMALL, {"return": None, "attrs": {"W_h": np.ones((2, 2))}})[2] == "init-missing"
    assert one(SMALL, W_h="weights", b_h=np.zeros(3))[2] == "init-not-array"


# ------------------------------------------------------------------ no false failures


@pytest.mark.parametrize("seed", range(0, 400, 7))
def test_right_initialisers_pass_under_any_seed(seed):
    rng = np.random.default_rng(seed)
    assert judge_draws(SCALED, {"return": rng.standard_normal((300, 40)) / np.sqrt(40)})[0]
    assert judge_draws({"r": {"law": "normal", "std": 1 / 11}}, {"return": {"r": rng.standard_normal((100, 1)) / 11}})[0]
    uniform = {"return": {"law": "uniform", "low": -0.1, "high": 0.1}}
    assert judge_draws(uniform, {"return": rng.uniform(-0.1, 0.1, (100, 80))})[0]
    assert one(SMALL, W_h=rng.standard_normal((100, 80)) * np.sqrt(2 / 100), b_h=rng.uniform(-0.1, 0.1, 80))[0]


@pytest.mark.parametrize("assignment", ["shallow-backprop", "digits-logreg-mlp", "ffnn-pure-numpy", "mlp-scalar-to-tensor"])
def test_each_assignment_judges_an_initialiser_by_its_draws_and_the_reference_obeys(assignment):
    """The reference is held to the handout's law (not to itself): its draws pass, seed after seed."""
    spec = load_spec(assignment)
    checks = [c for c in spec.checks if c.draws]
    assert checks, f"{assignment}: no check judges an initialiser's draws"
    ref = spec.reference_module()
    for check in checks:
        labels = spec.function(check.function).returns
        for seed in range(20):
            np.random.seed(seed)
            draws = []
            for _ in range(check.repeat):
                if check.class_name:
                    obj = getattr(ref, check.class_name)(*check.init)
                    draws.append({"return": None, "attrs": {a: getattr(obj, a) for a in check.read_attrs}})
                else:
                    kwargs = {k: (seed if k == "rng" else v) for k, v in check.kwargs.items()}
                    draws.append({"return": getattr(ref, check.function)(*check.args, **kwargs)})
            verdict = judge_draws(check.draws, dict(draws[-1], draws=draws) if len(draws) > 1 else draws[0], labels)
            assert verdict[0], (check.name, seed, verdict)


# ------------------------------------------------------------------ through judging


@dataclass
class _Check:
    draws: dict
    compare: tuple = ("return",)
    rtol: float = 1e-7
    atol: float = 1e-9
    dtype: str = "float"


@dataclass
class _Outcome:
    value: dict
    status: str = "ok"
    error: str = ""
    traceback: str = ""
    mutated: list = field(default_factory=list)


def test_judging_a_draws_check_ignores_the_references_own_values():
    rng = np.random.default_rng(11)
    expected = {"return": rng.standard_normal((300, 40)) / np.sqrt(40)}
    other = rng.standard_normal((300, 40)) / np.sqrt(40)
    assert judge(_Check(SCALED), expected, _Outcome({"return": other}), [300, 40], []).passed
    verdict = judge(_Check(SCALED), expected, _Outcome({"return": np.full((300, 40), 0.1)}), [300, 40], [])
    assert not verdict.passed and verdict.diagnosis == "init-constant"
