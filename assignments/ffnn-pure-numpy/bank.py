"""Mistake bank and reference adapters for `ffnn-pure-numpy` (handout 003).

The student's network lives in the notebook's globals w1, w2, w3: forward_pass(x),
backpropagation(x, y), update_weights(...), compute_error(x, y) and the two training
loops read them (and the last three rebind them). The reference module works with
explicit weights, so:

- `ref_*` adapters run the reference "the student's way" (reference.global_api over a
  dict holding the weights the check sets) and return the whole observation,
  {"return": ..., "globals": {"w1": ..., "w2": ..., "w3": ...}};
- variants of those functions are written exactly as a student writes them (reading the
  globals) and wrapped by @global_form, which runs them over such a dict, beside the
  reference's forward_pass, backpropagation, update_weights and compute_error. In a
  selftest notebook the same source runs beside the solution's functions.

Conventions being graded (the notebook states them): samples are rows, a single sample
is 1-D; S' is taken at the pre-activation z; e3 = a3 - y; dw_i = a_{i-1}^T . e_i summed
over a batch; w_i <- w_i - learning_rate * dw_i; compute_error is a fraction in [0, 1].
"""
import functools
import math
import types
from pathlib import Path

import numpy as np

from grader.checks.bank import accepted, mistake, partial_credit
from reference.ffnn_pure_numpy import cross_entropy, dsigmoid, global_api, read_idx, sigmoid, softmax

WEIGHTS = ("w1", "w2", "w3")
HANDOUT_FILES = Path(__file__).resolve().parent / "handout_files"


# ---------------------------------------------------------------- running the student's form


def _observation(ns: dict, value) -> dict:
    return {"return": value, "globals": {name: ns[name] for name in WEIGHTS}}


def _student_way(name: str):
    """Adapter: the reference's global-form `name`, run with the check's weights as globals."""

    def adapter(*args, w1, w2, w3, **kwargs):
        ns = {"w1": w1, "w2": w2, "w3": w3}
        return _observation(ns, global_api(ns)[name](*args, **kwargs))

    adapter.__name__ = f"ref_{name}"
    return adapter


ref_forward_pass = _student_way("forward_pass")
ref_backpropagation = _student_way("backpropagation")
ref_update_weights = _student_way("update_weights")
ref_compute_error = _student_way("compute_error")


def ref_train(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, *, w1, w2, w3):
    """The one-sample loop (batch size 1), the student's way."""
    ns = {"w1": w1, "w2": w2, "w3": w3}
    return _observation(ns, global_api(ns)["train"](x_train, y_train, x_test, y_test, epochs, learning_rate, 1))


def ref_train_batched(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32, *, w1, w2, w3):
    """Consecutive slices x[i:i + batch_size], the last one possibly shorter, the student's way."""
    ns = {"w1": w1, "w2": w2, "w3": w3}
    return _observation(ns, global_api(ns)["train"](x_train, y_train, x_test, y_test, epochs, learning_rate, batch_size))


def ref_read_idx(filename):
    """The reference read_idx on the copy of a handout file kept beside this bank."""
    return read_idx(HANDOUT_FILES / Path(filename).name)


def global_form(fn):
    """Run a variant written the student's way (globals w1, w2, w3) with the weights given as keywords."""

    @functools.wraps(fn)
    def run(*args, w1, w2, w3, **kwargs):
        ns = dict(fn.__globals__, w1=w1, w2=w2, w3=w3)
        ns.update(global_api(ns))  # forward_pass, backpropagation, ... over the same globals
        student = types.FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)
        return _observation(ns, student(*args, **kwargs))

    return run


# Training mistakes that earn no behavioural "the loss still falls" credit.
NO_PARTIAL_CREDIT = (
    "train-single-epoch",
    "train-learning-rate-ignored",
    "train-update-after-the-loop",
    "train-whole-set-at-once",
    "train-batched-single-epoch",
    "train-batched-batch-size-ignored",
    "train-batched-last-batch-dropped",
    "train-batched-index-scaled-twice",
)


@partial_credit("train")
def training_loss_falls(env, student, expected):
    """Credit for training that works another way: the training loss falls at least half as far as the reference's."""
    x, y = env["x_train"], env["y_train"]
    before = cross_entropy(x, y, env["w1"], env["w2"], env["w3"])
    target = cross_entropy(x, y, *(expected["globals"][name] for name in WEIGHTS))
    try:
        weights = [np.asarray(student["globals"][name], dtype=float) for name in WEIGHTS]
        loss = cross_entropy(x, y, *weights)
    except Exception:
        return 0.0, "the weights it leaves in w1, w2, w3 could not be evaluated, so no credit for the training behaviour"
    if np.isfinite(loss) and loss <= before - 0.5 * (before - target):
        return 1.0, f"the training loss still falls from {before:.4f} to {loss:.4f} (reference: {target:.4f}): partial credit for training that works"
    return 0.0, f"the training loss goes from {before:.4f} to {loss:.4f} (reference: {target:.4f}): the training does not work"


@partial_credit("backpropagation")
def changes_applied_not_returned(env, student, expected):
    """Credit for backpropagation that computes the right changes but applies them itself (w_i - c dw_i) and returns the new weights."""
    returned = student.get("return")
    if not isinstance(returned, (tuple, list)) or len(returned) != 3:
        return 0.0, ""
    factors = []
    for name, new, change in zip(WEIGHTS, returned, expected["return"]):
        try:
            step = np.asarray(env[name], dtype=float) - np.asarray(new, dtype=float)
            change = np.asarray(change, dtype=float)
        except (TypeError, ValueError):
            return 0.0, ""
        if step.shape != change.shape or not np.any(change):
            return 0.0, ""
        factor = float(np.vdot(step, change) / np.vdot(change, change))
        if not (factor > 0 and np.allclose(step, factor * change, rtol=1e-5, atol=1e-12)):
            return 0.0, ""
        factors.append(factor)
    if not np.allclose(factors, factors[0], rtol=1e-6):
        return 0.0, ""
    return 1.0, (f"it returns the weights already updated, w_i - {factors[0]:.3g} dw_i, with the right dw_i: backpropagation "
                 "should return the changes and leave the update to update_weights (partial credit)")


def _common_rate(env, weights) -> float | None:
    """c when every w_i in `weights` is the check's w_i - c dw_i, with one c > 0; else None."""
    factors = []
    for name, change_name in zip(WEIGHTS, ("dw1", "dw2", "dw3")):
        try:
            step = np.asarray(env[name], dtype=float) - np.asarray(weights.get(name), dtype=float)
            change = np.asarray(env[change_name], dtype=float)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        if step.shape != change.shape or not np.any(change):
            return None
        factor = float(np.vdot(step, change) / np.vdot(change, change))
        if not (factor > 0 and np.allclose(step, factor * change, rtol=1e-5, atol=1e-12)):
            return None
        factors.append(factor)
    return factors[0] if np.allclose(factors, factors[0], rtol=1e-6) else None


@partial_credit("update_weights")
def own_learning_rate(env, student, expected):
    """Credit for an update w_i - c dw_i with one rate c of its own (written into the function) in place of the argument."""
    rate, mine = _common_rate(env, expected.get("globals") or {}), _common_rate(env, student.get("globals") or {})
    if rate is None or mine is None or np.isclose(mine, rate):
        return 0.0, ""
    return 1.0, (f"the update rule w_i - c dw_i is right, with a learning rate of its own ({mine:.3g}) in place of the "
                 f"learning_rate argument ({rate:g}): partial credit")


# ---------------------------------------------------------------- data preparation


@mistake("preprocess_images", "the images are scaled but not flattened: each one should become a row of 784 values")
def preprocess_not_flattened(x):
    return x / 255


@mistake("preprocess_images", "the whole set is flattened into one long vector instead of one row per image")
def preprocess_one_long_vector(x):
    return x.flatten() / 255


@mistake("preprocess_images", "the pixels are flattened but left in [0, 255] (divide by 255)")
def preprocess_not_scaled(x):
    return x.reshape(len(x), -1).astype(float)


@mistake("preprocess_images", "the pixels are scaled to [-1, 1] instead of [0, 1]")
def preprocess_minus_one_to_one(x):
    return x.reshape(len(x), -1) / 127.5 - 1


# Task 3 asks for values "normalized between 0 and 1" without naming the divisor: dividing by the set's
# largest pixel, or min-max scaling, does that too (and equals / 255 on MNIST, where pixels reach 255).
@accepted("preprocess_images", "the pixels are divided by the largest pixel of the set: in [0, 1] as Task 3 asks (255 on MNIST)")
def preprocess_divided_by_max(x):
    return x.reshape(len(x), -1) / x.max()


@accepted("preprocess_images", "min-max scaling of the set, (x - min) / (max - min): in [0, 1] as Task 3 asks (x / 255 on MNIST)")
def preprocess_min_max(x):
    flat = x.reshape(len(x), -1).astype(float)
    return (flat - flat.min()) / (flat.max() - flat.min())


@mistake("one_hot_labels", "the vectors have labels.max() + 1 entries instead of 10: a set without a 9 gets shorter vectors")
def one_hot_width_from_max(y):
    out = np.zeros((len(y), y.max() + 1))
    out[np.arange(len(y)), y] = 1
    return out


@mistake("one_hot_labels", "the one-hot vectors are stacked as columns (10, N) instead of rows (N, 10)")
def one_hot_columns(y):
    out = np.zeros((10, len(y)))
    out[y, np.arange(len(y))] = 1
    return out


@mistake("one_hot_labels", "out[:, y] = 1 sets whole columns: every row gets a 1 at every label present (index both axes: out[np.arange(N), y])")
def one_hot_whole_columns(y):
    out = np.zeros((len(y), 10))
    out[:, y] = 1
    return out


@mistake("layer_weights", "the weights are scaled by 1/sqrt(m), the size of the first layer, instead of 1/sqrt(n)")
def layer_weights_scaled_by_m(m, n):
    return np.random.randn(m, n) / np.sqrt(m)


@mistake("layer_weights", "the weights are not scaled by 1/sqrt(n)")
def layer_weights_unscaled(m, n):
    return np.random.randn(m, n)


@mistake("layer_weights", "the weights are divided by n instead of sqrt(n)")
def layer_weights_divided_by_n(m, n):
    return np.random.randn(m, n) / n


@mistake("layer_weights", "the matrix is (n, m): it must be (m, n), from m neurons to n neurons")
def layer_weights_transposed_shape(m, n):
    return np.random.randn(n, m) / np.sqrt(n)


@mistake("layer_weights", "np.random.rand draws uniformly from [0, 1), not from the standard normal distribution", named_by=("init-spread",))
def layer_weights_rand_not_randn(m, n):
    return np.random.rand(m, n) / np.sqrt(n)


@mistake("layer_weights", "np.random.seed inside layer_weights: every network starts from the same weights", named_by=("init-same-every-call",))
def layer_weights_seeded_inside(m, n):
    np.random.seed(1)
    return np.random.randn(m, n) / np.sqrt(n)


@accepted("layer_weights", "np.random.normal(0, 1, (m, n)) draws the same numbers as np.random.randn(m, n)")
def layer_weights_normal(m, n):
    return np.random.normal(0, 1, (m, n)) / np.sqrt(n)


@partial_credit("layer_weights")
def weights_look_right(env, student, expected):
    """Credit for another random generator: shape (m, n), mean near 0, standard deviation near 1/sqrt(n)."""
    w = student.get("return")
    if not isinstance(w, np.ndarray) or w.shape != expected["return"].shape:
        return 0.0, "no credit for the statistics: the shape is not (m, n)"
    m, n = w.shape
    std, mean = float(np.std(w)), float(np.mean(w))
    if abs(std * np.sqrt(n) - 1) < 0.15 and abs(mean) < 4 / np.sqrt(m * n) / np.sqrt(n):
        return 1.0, f"the draws differ from np.random.randn's under the same seed, but their mean ({mean:.3f}) and standard deviation ({std:.3f}, expected {1 / np.sqrt(n):.3f}) are right: partial credit (use np.random.randn so results can be reproduced)"
    return 0.0, f"their standard deviation is {std:.3f}; N(0, 1)/sqrt(n) has {1 / np.sqrt(n):.3f}"


# ---------------------------------------------------------------- activations


@mistake("sigmoid", "the sign of the exponent is wrong: 1 / (1 + exp(x)) is S(-x)")
def sigmoid_wrong_sign(x):
    return 1 / (1 + np.exp(x))


@mistake("sigmoid", "exp(x) / (1 + exp(x)) overflows to inf / inf = NaN for large x (use 1 / (1 + exp(-x)))")
def sigmoid_ratio_overflows(x):
    return np.exp(x) / (1 + np.exp(x))


@mistake("sigmoid", "math.exp works on one number only: use np.exp, a ufunc, so that S applies to whole arrays", notebook_code="import math\n", named_by=("raises",))
def sigmoid_math_exp(x):
    return 1 / (1 + math.exp(-x))


@mistake("dsigmoid", "S'(x) is computed as x (1 - x), as if x were already the activation S(z): the handout's S' takes the pre-activation z")
def dsigmoid_of_activation(x):
    return x * (1 - x)


@mistake("dsigmoid", "the denominator is not squared: exp(-x) / (exp(-x) + 1) is S(-x), not S'(x)")
def dsigmoid_not_squared(x):
    return np.exp(-x) / (np.exp(-x) + 1)


@mistake("dsigmoid", "operator precedence: np.exp(-x) / np.exp(-x) + 1 ** 2 is 2 everywhere (the denominator needs its parentheses)")
def dsigmoid_precedence(x):
    return np.exp(-x) / np.exp(-x) + 1 ** 2


@mistake("softmax", "exp() is taken of the raw values: it overflows on large inputs (subtract the maximum first, as the handout's formula does)")
def softmax_unstable(x):
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


@mistake("softmax", "for a batch, the softmax is normalised down each column (axis 0, across the samples) instead of along each row")
def softmax_axis0(x):
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


@mistake("softmax", "for a batch, the sum runs over the whole array instead of each row: a row does not add up to 1")
def softmax_whole_batch_sum(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e)


@mistake("softmax", "the maximum is taken over the whole batch instead of each row: a row far below it underflows to 0 / 0")
def softmax_global_max(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e, axis=-1, keepdims=True)


# ---------------------------------------------------------------- the network (globals w1, w2, w3)


# Task 16 adds a batch axis to forward_pass; the handout does not say what the batched version returns
# for one 1-D input, and keeping a batch of one is as right as dropping it.
@accepted("forward_pass", "the batched forward pass keeps a batch axis of one for a single input: (1, n) rows (Task 16)")
@global_form
def forward_pass_single_input_as_row(x):
    z1 = np.dot(np.atleast_2d(x), w1)
    a1 = sigmoid(z1)
    z2 = np.dot(a1, w2)
    a2 = sigmoid(z2)
    z3 = np.dot(a2, w3)
    return z1, a1, z2, a2, z3, softmax(z3)


@mistake("forward_pass", "the output layer uses the sigmoid instead of the softmax: a3 is not a probability distribution")
@global_form
def forward_pass_sigmoid_output(x):
    z1 = np.dot(x, w1)
    a1 = sigmoid(z1)
    z2 = np.dot(a1, w2)
    a2 = sigmoid(z2)
    z3 = np.dot(a2, w3)
    return z1, a1, z2, a2, z3, sigmoid(z3)


@mistake("forward_pass", "z2 is computed from z1 instead of a1 = S(z1): the first hidden layer's sigmoid is skipped")
@global_form
def forward_pass_first_sigmoid_skipped(x):
    z1 = np.dot(x, w1)
    a1 = sigmoid(z1)
    z2 = np.dot(z1, w2)
    a2 = sigmoid(z2)
    z3 = np.dot(a2, w3)
    return z1, a1, z2, a2, z3, softmax(z3)


@mistake("forward_pass", "the output softmax is written inline and normalised over the whole batch (np.sum without axis=-1, keepdims=True)")
@global_form
def forward_pass_softmax_whole_batch(x):
    z1 = np.dot(x, w1)
    a1 = sigmoid(z1)
    z2 = np.dot(a1, w2)
    a2 = sigmoid(z2)
    z3 = np.dot(a2, w3)
    e = np.exp(z3 - np.max(z3))
    return z1, a1, z2, a2, z3, e / np.sum(e)


@mistake("forward_pass", "only the output a3 is returned: backpropagation needs (z1, a1, z2, a2, z3, a3)")
@global_form
def forward_pass_output_only(x):
    a1 = sigmoid(np.dot(x, w1))
    a2 = sigmoid(np.dot(a1, w2))
    return softmax(np.dot(a2, w3))


@mistake("backpropagation", "S' is taken at the activations a2, a1 instead of the pre-activations z2, z1")
@global_form
def backprop_dsigmoid_of_activation(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    e3 = np.atleast_2d(a3 - y)
    e2 = np.dot(e3, w3.T) * dsigmoid(a2)
    e1 = np.dot(e2, w2.T) * dsigmoid(a1)
    return np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)


@mistake("backpropagation", "e3 = y - a3: the sign of the output error is flipped, so every weight change has the wrong sign")
@global_form
def backprop_error_sign(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    e3 = np.atleast_2d(y - a3)
    e2 = np.dot(e3, w3.T) * dsigmoid(np.atleast_2d(z2))
    e1 = np.dot(e2, w2.T) * dsigmoid(np.atleast_2d(z1))
    return np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)


@mistake("backpropagation", "the weight changes are e_i^T . a_{i-1}: the product is in the wrong order, so each dw_i is transposed")
@global_form
def backprop_outer_product_reversed(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    e3 = np.atleast_2d(a3 - y)
    e2 = np.dot(e3, w3.T) * dsigmoid(np.atleast_2d(z2))
    e1 = np.dot(e2, w2.T) * dsigmoid(np.atleast_2d(z1))
    return np.dot(e1.T, a0), np.dot(e2.T, a1), np.dot(e3.T, a2)


@mistake("backpropagation", "the factor S'(z) is missing from e2 and e1: the errors are not multiplied by the sigmoid's derivative")
@global_form
def backprop_no_dsigmoid(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    e3 = np.atleast_2d(a3 - y)
    e2 = np.dot(e3, w3.T)
    e1 = np.dot(e2, w2.T)
    return np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)


@mistake("backpropagation", "the weight changes are averaged over the batch (divided by N): the handout's a^T . e sums them")
@global_form
def backprop_averaged(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    n = len(a0)
    e3 = np.atleast_2d(a3 - y)
    e2 = np.dot(e3, w3.T) * dsigmoid(np.atleast_2d(z2))
    e1 = np.dot(e2, w2.T) * dsigmoid(np.atleast_2d(z1))
    return np.dot(a0.T, e1) / n, np.dot(a1.T, e2) / n, np.dot(a2.T, e3) / n


@mistake("backpropagation", "a single sample is reshaped with the handout's sizes (784, 128, 64, 10) written as numbers: read them from the arrays", named_by=("hard-coded-size",))
@global_form
def backprop_hard_coded_sizes(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    e3 = (a3 - y).reshape(1, 10)
    e2 = np.dot(e3, w3.T) * dsigmoid(z2).reshape(1, 64)
    e1 = np.dot(e2, w2.T) * dsigmoid(z1).reshape(1, 128)
    return x.reshape(784, 1) * e1, a1.reshape(128, 1) * e2, a2.reshape(64, 1) * e3


@mistake("backpropagation", "a^T . e on 1-D vectors: .T does nothing to a 1-D array, so a single sample gives no outer product (use np.outer, or make them (1, n) rows)", named_by=("shape-mismatch",))
@global_form
def backprop_no_outer_product(x, y):
    z1, a1, z2, a2, z3, a3 = forward_pass(x)
    e3 = a3 - y
    e2 = np.dot(e3, w3.T) * dsigmoid(z2)
    e1 = np.dot(e2, w2.T) * dsigmoid(z1)
    return np.dot(x.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)


@mistake("update_weights", "the weight changes are added instead of subtracted: w_i = w_i - learning_rate * dw_i")
@global_form
def update_adds(dw1, dw2, dw3, learning_rate):
    global w1, w2, w3
    w1 = w1 + learning_rate * dw1
    w2 = w2 + learning_rate * dw2
    w3 = w3 + learning_rate * dw3


@mistake("update_weights", "the learning_rate argument is ignored: the step uses 0.001 whatever the caller asks")
@global_form
def update_ignores_learning_rate(dw1, dw2, dw3, learning_rate):
    global w1, w2, w3
    w1 = w1 - 0.001 * dw1
    w2 = w2 - 0.001 * dw2
    w3 = w3 - 0.001 * dw3


@mistake("update_weights", "the new weights are returned but the globals w1, w2, w3 are left unchanged (declare them `global` and assign them)")
@global_form
def update_returns_without_rebinding(dw1, dw2, dw3, learning_rate):
    return w1 - learning_rate * dw1, w2 - learning_rate * dw2, w3 - learning_rate * dw3


# Task 12 says "error rate", and the handout gives its rates in percent ("around 2.7%").
@accepted("compute_error", "the error rate as a percentage (0-100), as the handout states its rates (about 2.7%)")
@global_form
def compute_error_percent(x, y):
    a3 = forward_pass(x)[-1]
    return 100 * np.mean(np.argmax(a3, axis=1) != np.argmax(y, axis=1))


@mistake("compute_error", "the accuracy (fraction right) is returned instead of the error rate (fraction wrong)")
@global_form
def compute_error_accuracy(x, y):
    a3 = forward_pass(x)[-1]
    return np.mean(np.argmax(a3, axis=1) == np.argmax(y, axis=1))


@mistake("compute_error", "the number of errors is returned instead of the rate: divide by the number of samples")
@global_form
def compute_error_count(x, y):
    a3 = forward_pass(x)[-1]
    return np.sum(np.argmax(a3, axis=1) != np.argmax(y, axis=1))


@mistake("compute_error", "argmax is taken down the columns (axis 0, over the samples) instead of along each row (over the 10 digits)")
@global_form
def compute_error_argmax_axis0(x, y):
    a3 = forward_pass(x)[-1]
    return np.mean(np.argmax(a3, axis=0) != np.argmax(y, axis=0))


# ---------------------------------------------------------------- training


@mistake("train", "there is no loop over the epochs: the samples are gone through once, whatever `epochs` says")
@global_form
def train_single_epoch(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001):
    errors = []
    for i in range(len(x_train)):
        update_weights(*backpropagation(x_train[i], y_train[i]), learning_rate)
    errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train", "update_weights is called with 0.001 instead of the learning_rate argument")
@global_form
def train_learning_rate_ignored(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001):
    errors = []
    for epoch in range(epochs):
        for i in range(len(x_train)):
            update_weights(*backpropagation(x_train[i], y_train[i]), 0.001)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train", "the update sits after the loop over the samples (indentation): one step per epoch, with the last sample's changes only")
@global_form
def train_update_after_the_loop(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001):
    errors = []
    for epoch in range(epochs):
        for i in range(len(x_train)):
            dw1, dw2, dw3 = backpropagation(x_train[i], y_train[i])
        update_weights(dw1, dw2, dw3, learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train", "the whole training set is pushed at once, one step per epoch: Task 14 asks for one sample at a time")
@global_form
def train_whole_set_at_once(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001):
    errors = []
    for epoch in range(epochs):
        update_weights(*backpropagation(x_train, y_train), learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train", "the error after each epoch is measured on the training set instead of the test set")
@global_form
def train_error_on_training_set(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001):
    errors = []
    for epoch in range(epochs):
        for i in range(len(x_train)):
            update_weights(*backpropagation(x_train[i], y_train[i]), learning_rate)
        errors.append(compute_error(x_train, y_train))
    return errors


@mistake("train_batched", "there is no loop over the epochs: the batches are gone through once, whatever `epochs` says")
@global_form
def train_batched_single_epoch(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    for i in range(0, len(x_train), batch_size):
        update_weights(*backpropagation(x_train[i:i + batch_size], y_train[i:i + batch_size]), learning_rate)
    return [compute_error(x_test, y_test)]


@mistake("train_batched", "batch_size is ignored: the whole training set is one batch, one step per epoch")
@global_form
def train_batched_batch_size_ignored(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    errors = []
    for epoch in range(epochs):
        update_weights(*backpropagation(x_train, y_train), learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train_batched", "the last, shorter batch is dropped (range(len(x) // batch_size)): its samples are never learned from")
@global_form
def train_batched_last_batch_dropped(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    errors = []
    for epoch in range(epochs):
        for b in range(len(x_train) // batch_size):
            xb = x_train[b * batch_size:(b + 1) * batch_size]
            yb = y_train[b * batch_size:(b + 1) * batch_size]
            update_weights(*backpropagation(xb, yb), learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train_batched", "the step is divided by the batch size (averaged gradient): the handout's update uses the summed a^T . e as it is")
@global_form
def train_batched_averaged(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    errors = []
    for epoch in range(epochs):
        for i in range(0, len(x_train), batch_size):
            xb, yb = x_train[i:i + batch_size], y_train[i:i + batch_size]
            update_weights(*backpropagation(xb, yb), learning_rate / len(xb))
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train_batched", "the batch start is scaled twice: range(0, N, batch_size) already gives the start, x[i * batch_size:...] skips batches and takes empty ones")
@global_form
def train_batched_index_scaled_twice(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    errors = []
    for epoch in range(epochs):
        for i in range(0, len(x_train), batch_size):
            xb = x_train[i * batch_size:(i + 1) * batch_size]
            yb = y_train[i * batch_size:(i + 1) * batch_size]
            update_weights(*backpropagation(xb, yb), learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors


@mistake("train_batched", "np.array_split makes batches of equal size (20 samples in 4 give 5, 5, 5, 5) instead of consecutive slices of batch_size (6, 6, 6, 2)")
@global_form
def train_batched_array_split(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=32):
    n_batches = int(np.ceil(len(x_train) / batch_size))
    errors = []
    for epoch in range(epochs):
        for xb, yb in zip(np.array_split(x_train, n_batches), np.array_split(y_train, n_batches)):
            update_weights(*backpropagation(xb, yb), learning_rate)
        errors.append(compute_error(x_test, y_test))
    return errors
