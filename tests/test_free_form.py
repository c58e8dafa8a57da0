"""004's free-form scripts graded by behaviour (issue 22 item 5).

The handout asks for no names, so a script's own functions are bound by meaning (spec key
`meanings`: bias1 is b, w is W; a params dict read as params['w']; a sizes dict read as
sizes['n_hidden']; the cache a forward returns) and their returns are read by value (a dict or a
tuple in another order). The traps must keep failing: a negated gradient, a bias added in the wrong
place that the handout's all-zero biases cannot show, a hidden unit dropped.
"""
from __future__ import annotations

import pytest

from grader.checks.spec import load_spec
from grader.pipeline.grade import Grader, Options
from grader.run.sandbox import Limits, SandboxConfig

SCALAR = '''import math


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def softmax(o):
    top = max(o)
    exps = [math.exp(v - top) for v in o]
    return [e / sum(exps) for e in exps]


def forward_pass(x, params, sizes):
    k = [params['bias1'][j] + sum(x[i] * params['w'][i][j] for i in range(sizes['n_in'])) for j in range(sizes['n_hidden'])]
    h = [sigmoid(v) for v in k]
    o = [params['bias2'][m] + sum(h[j] * params['v'][j][m] for j in range(sizes['n_hidden'])) for m in range(sizes['n_out'])]
    return {'k': k, 'h': h, 'o': o, 'y': softmax(o)}


def backward_pass(x, target, params, cache, sizes):
    h, y = cache['h'], cache['y']
    do = [y[m] - (1.0 if m == target else 0.0) for m in range(sizes['n_out'])]
    dv = [[h[j] * do[m] for m in range(sizes['n_out'])] for j in range(HIDDEN)]
    dh = [sum(params['v'][j][m] * do[m] for m in range(sizes['n_out'])) for j in range(HIDDEN)]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(HIDDEN)]
    dw = [[x[i] * dk[j] for j in range(HIDDEN)] for i in range(sizes['n_in'])]
    return {'dw': dw, 'dbias1': dk, 'dv': dv, 'dbias2': SIGN do}
'''


def _grade(tmp_path, source: str):
    path = tmp_path / "free_form.py"
    path.write_text(source)
    grader = Grader(load_spec("mlp-scalar-to-tensor"), Options(limits=Limits(cell_timeout=10, notebook_timeout=60), sandbox=SandboxConfig(mode="none")))
    result = grader.grade(path)
    points = {}
    for t in result.tests:
        got, top = points.get(t.function, (0.0, 0.0))
        points[t.function] = (got + t.score, top + t.max_score)
    return result, points


def _script(hidden: str = "len(h)", sign: str = "") -> str:
    return SCALAR.replace("HIDDEN", hidden).replace("SIGN ", sign)


def test_a_dict_of_parameters_a_sizes_table_and_a_cache_are_bound_by_meaning(tmp_path):
    result, points = _grade(tmp_path, _script())
    assert points["scalar_forward"][0] == points["scalar_forward"][1] > 0
    assert points["scalar_backward"][0] == points["scalar_backward"][1] > 0
    bound = " ".join(a.detail for a in result.attention)
    assert "params={" in bound and "the number of hidden units" in bound and "the results of your forward_pass" in bound


@pytest.mark.parametrize("hidden,sign,why", [
    ("len(h)", "-", "the output bias's gradient negated"),
    ("2", "", "a hidden unit dropped past the second (the handout's network has 3, the other checks more)"),
])
def test_the_traps_keep_failing(tmp_path, hidden, sign, why):
    _, points = _grade(tmp_path, _script(hidden, sign))
    assert points["scalar_forward"][0] == points["scalar_forward"][1], why
    assert points["scalar_backward"][0] < points["scalar_backward"][1], why


def test_a_bias_in_the_wrong_place_fails_beyond_the_handouts_zero_biases(tmp_path):
    wrong = _script().replace("o = [params['bias2'][m] + sum(", "o = [sum(").replace(
        "h = [sigmoid(v) for v in k]", "h = [sigmoid(v) + params['bias2'][0] for v in k]")
    _, points = _grade(tmp_path, wrong)
    got, top = points["scalar_forward"]
    assert 0 < got < top  # the handout's tiny network (zero biases) passes; non-zero biases do not


ONE_IMAGE = '''import numpy as np
w1, w2, w3 = np.zeros((12, 7)), np.zeros((7, 5)), np.zeros((5, 4))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward_one(vec, w_1, w_2, w_3):
    z1 = vec.reshape(1, vec.shape[0]) @ w_1
    a1 = sigmoid(z1)
    z2 = a1 @ w_2
    a2 = sigmoid(z2)
    z3 = a2 @ w_3
    e = np.exp(z3 - z3.max())
    return z1, a1, z2, a2, z3, e / e.sum()
'''


def _grade_003(tmp_path, source: str):
    path = tmp_path / "one_image.py"
    path.write_text(source)
    grader = Grader(load_spec("ffnn-pure-numpy"), Options(limits=Limits(cell_timeout=10, notebook_timeout=60), sandbox=SandboxConfig(mode="none")))
    result = grader.grade(path)
    return [t for t in result.tests if t.function == "forward_pass"]


def test_a_one_image_function_is_called_row_by_row_on_a_batch(tmp_path):
    tests = _grade_003(tmp_path, ONE_IMAGE)
    assert all(t.score == t.max_score for t in tests), [(t.name, t.output) for t in tests]
    assert any("called on each of the 9 rows" in t.output for t in tests)


def test_a_function_that_answers_a_batch_wrongly_is_not_called_row_by_row(tmp_path):
    # a whole-array softmax: right for one image, a wrong answer (not an error) for a batch
    wrong = ONE_IMAGE.replace("z1 = vec.reshape(1, vec.shape[0]) @ w_1", "z1 = np.atleast_2d(vec) @ w_1")
    tests = _grade_003(tmp_path, wrong)
    batch = [t for t in tests if "batch" in t.name]
    assert batch and all(t.score < t.max_score for t in batch), [(t.name, t.output) for t in batch]
    assert not any("rows" in t.output and "in turn" in t.output for t in batch)


STEP = '''import numpy as np


def sgd_step(X, labels, W, b, V, c, lr=0.05):
    H = 1.0 / (1.0 + np.exp(-(X @ W + b)))
    O = H @ V + c
    P = np.exp(O - O.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    G = P.copy()
    G[np.arange(len(X)), labels] -= 1.0
    G /= len(X)
    dK = (G @ V.T) * H * (1.0 - H)
    return W SIGN lr * (X.T @ dK), b SIGN lr * dK.sum(axis=0), V SIGN lr * (H.T @ G), c SIGN lr * G.sum(axis=0)
'''


@pytest.mark.parametrize("sign,full", [("-", True), ("+", False)])
def test_gradients_read_from_a_step_that_returns_updated_parameters(tmp_path, sign, full):
    result, points = _grade(tmp_path, STEP.replace("SIGN", sign))
    got, top = points["backward_batch"]
    assert (got == top > 0) is full, [(t.name, t.output[:300]) for t in result.tests if t.function == "backward_batch"]


COLUMNS = '''import numpy as np


def forward_columns(X, params):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = 1.0 / (1.0 + np.exp(-Z1))
    Z2 = params["W2"] @ A1 + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=0))
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": E / E.sum(axis=0)}
'''


@pytest.mark.parametrize("softmax_axis,full", [("axis=0", True), ("axis=1", False)])
def test_samples_in_columns_are_given_and_read_back_in_the_handouts_layout(tmp_path, softmax_axis, full):
    # a softmax over the wrong axis in the columns layout normalises each class across samples: a mistake that must stay one
    source = COLUMNS.replace("E / E.sum(axis=0)", f"E / E.sum({softmax_axis})").replace("Z2.max(axis=0)", f"Z2.max({softmax_axis})")
    result, points = _grade(tmp_path, source)
    got, top = points["forward_batch"]
    assert (got == top > 0) is full, [(t.name, t.output[:300]) for t in result.tests if t.function == "forward_batch"]


CLASS = open(__file__.replace("test_free_form.py", "resources/real/mlp-scalar-to-tensor/class_forward_backward_and_update.py")).read()


@pytest.mark.parametrize("change,forward_full,backward_full", [
    ((), True, True),
    (("self.W1 -= lr * dW1", "self.W1 += lr * dW1"), True, False),  # the update climbs the loss for W1
    (("dK = (G @ self.W2.T) * self.H * (1 - self.H)", "dK = (G @ self.W2.T) * self.H"), True, False),  # sigmoid' dropped
    (("self.O = self.H @ self.W2 + self.b2", "self.O = self.H @ self.W2"), False, False),  # the output bias left out
])
def test_a_class_with_its_state_on_self_answers_the_batch_functions(tmp_path, change, forward_full, backward_full):
    source = CLASS.replace(*change) if change else CLASS
    result, points = _grade(tmp_path, source)
    for function, full in (("forward_batch", forward_full), ("backward_batch", backward_full)):
        got, top = points[function]
        assert (got == top > 0) is full, (function, [(t.name, t.output[:300]) for t in result.tests if t.function == function])
