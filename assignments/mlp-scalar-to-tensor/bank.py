"""Mistake bank for `mlp-scalar-to-tensor`: one MLP in scalars, then vectors, then batches.

Each variant is a graded function written the wrong way, differing from the
reference in one idea; helpers it calls are the reference's (in a notebook,
the student's own of the same name). The mistakes are the handout's own
pitfalls: the softmax Jacobian without its cross term, the sigmoid
derivative taken at the wrong value, transposed weight gradients, bias
gradients not summed over the batch, a batch gradient summed where the mean
loss is asked for, the log of the wrong class, a step up the gradient, a
forgotten bias, the tiny network's sizes written into the code.

Scalar functions return lists of different lengths, e.g. (dW, db, dV, dc);
the grader's comparison would try to stack such a ragged reference value into
one array, so the reference side goes through the `*_arrays` adapters below
and the scalar variants through `@_arrays_out` (both turn each list into its
own array; the student's lists are compared item by item as usual).
"""
import functools
import math

import numpy as np

from grader.checks.bank import accepted, mistake, partial_credit  # noqa: F401  (accepted: none yet)
from reference import mlp_scalar_to_tensor as ref
from reference.mlp_scalar_to_tensor import (
    backward_batch,
    forward,
    forward_batch,
    loss_batch,
    scalar_backward,
    scalar_forward,
    scalar_init,
    scalar_loss,
    scalar_sgd_step,
    sigmoid,
    softmax,
)

# Training mistakes that must not earn the behavioural "loss falls" credit.
NO_PARTIAL_CREDIT = ("train-scalar-one-epoch", "train-epoch-never-shuffled", "train-epoch-last-batch-dropped")


# ---------------------------------------------------------------- adapters


def _arrays(value):
    """Lists -> float arrays, tuples kept as tuples (so ragged results compare item by item)."""
    if isinstance(value, list) and not any(isinstance(v, (list, tuple)) and v and isinstance(v[0], (list, tuple)) for v in value):
        try:
            return np.asarray(value, dtype=float)
        except ValueError:  # ragged: e.g. a parameter list [W, b, V, c]
            pass
    if isinstance(value, (tuple, list)):
        return tuple(_arrays(v) for v in value)
    return value


def _arrays_out(fn):
    """A scalar variant whose lists come back as arrays in the grader (see the module docstring)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return _arrays(fn(*args, **kwargs))
    return wrapper


def scalar_forward_arrays(x, W, b, V, c):
    return _arrays(ref.scalar_forward(x, W, b, V, c))


def scalar_backward_arrays(x, W, b, V, c, target):
    return _arrays(ref.scalar_backward(x, W, b, V, c, target))


def scalar_sgd_step_arrays(x, target, params, lr):
    return _arrays(ref.scalar_sgd_step(x, target, params, lr))


def train_scalar_arrays(xtrain, ytrain, epochs=1, lr=0.01, n_hidden=3, seed=0, params=None):
    return _arrays(ref.train_scalar(xtrain, ytrain, epochs, lr, n_hidden, seed, params))


# ---------------------------------------------------------------- scalar forward and loss


@mistake("scalar_forward", "the biases b and c are left out of k and o")
@_arrays_out
def scalar_forward_no_bias(x, W, b, V, c):
    k = [sum(x[i] * W[i][j] for i in range(len(x))) for j in range(len(b))]
    h = [1 / (1 + math.exp(-v)) for v in k]
    o = [sum(h[j] * V[j][m] for j in range(len(h))) for m in range(len(c))]
    e = [math.exp(v) for v in o]
    return k, h, o, [v / sum(e) for v in e]


@mistake("scalar_forward", "the tiny network's sizes are written into the loops (2 inputs, 3 hidden units, 2 classes): read them from the lists")
@_arrays_out
def scalar_forward_hard_coded_sizes(x, W, b, V, c):
    k = [sum(x[i] * W[i][j] for i in range(2)) + b[j] for j in range(3)]
    h = [1 / (1 + math.exp(-v)) for v in k]
    o = [sum(h[j] * V[j][m] for j in range(3)) + c[m] for m in range(2)]
    e = [math.exp(v) for v in o]
    return k, h, o, [v / sum(e) for v in e]


@mistake("scalar_forward", "the sigmoid is not applied: h = k")
@_arrays_out
def scalar_forward_no_sigmoid(x, W, b, V, c):
    k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    h = list(k)
    o = [sum(h[j] * V[j][m] for j in range(len(h))) + c[m] for m in range(len(c))]
    e = [math.exp(v) for v in o]
    return k, h, o, [v / sum(e) for v in e]


@mistake("scalar_forward", "a sigmoid is applied to each output instead of the softmax: y does not sum to 1")
@_arrays_out
def scalar_forward_sigmoid_output(x, W, b, V, c):
    k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    h = [1 / (1 + math.exp(-v)) for v in k]
    o = [sum(h[j] * V[j][m] for j in range(len(h))) + c[m] for m in range(len(c))]
    return k, h, o, [1 / (1 + math.exp(-v)) for v in o]


@mistake("scalar_loss", "the loss is -log y[0] whatever the target class (the tiny network's target is 0)")
def scalar_loss_class_zero(x, W, b, V, c, target):
    return -math.log(scalar_forward(x, W, b, V, c)[3][0])


@mistake("scalar_loss", "the minus sign is missing: log y[target] is negative")
def scalar_loss_no_minus(x, W, b, V, c, target):
    return math.log(scalar_forward(x, W, b, V, c)[3][target])


@mistake("scalar_loss", "log10 is used; the handout's logarithm is the natural one (math.log)")
def scalar_loss_log10(x, W, b, V, c, target):
    return -math.log10(scalar_forward(x, W, b, V, c)[3][target])


@mistake("scalar_loss", "-log y is summed over every class instead of taken at the target class only")
def scalar_loss_all_classes(x, W, b, V, c, target):
    return -sum(math.log(v) for v in scalar_forward(x, W, b, V, c)[3])


# ---------------------------------------------------------------- scalar backward


def _scalar_do(y, target):
    """dl/do_j = y_j - [j == target]."""
    return [y[j] - (1.0 if j == target else 0.0) for j in range(len(y))]


@mistake("scalar_backward", "the softmax derivative has no cross term: only dy_i/do_i = y_i (1 - y_i) is used, so do is zero off the target class")
@_arrays_out
def scalar_backward_no_cross_term(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    dy = [-1.0 / y[i] if i == target else 0.0 for i in range(len(y))]
    do = [dy[j] * y[j] * (1 - y[j]) for j in range(len(y))]
    dV = [[h[j] * do[m] for m in range(len(y))] for j in range(len(h))]
    dh = [sum(V[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return dW, dk, dV, do


@mistake("scalar_backward", "the sigmoid derivative is taken at the pre-activation: k (1 - k) instead of h (1 - h)")
@_arrays_out
def scalar_backward_sigmoid_at_k(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = _scalar_do(y, target)
    dV = [[h[j] * do[m] for m in range(len(y))] for j in range(len(h))]
    dh = [sum(V[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    dk = [dh[j] * k[j] * (1 - k[j]) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return dW, dk, dV, do


@mistake("scalar_backward", "the sigmoid derivative is evaluated at h: sigmoid(h) (1 - sigmoid(h)) instead of sigmoid(k) (1 - sigmoid(k)) = h (1 - h)")
@_arrays_out
def scalar_backward_sigmoid_of_h(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = _scalar_do(y, target)
    dV = [[h[j] * do[m] for m in range(len(y))] for j in range(len(h))]
    dh = [sum(V[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    s = [1 / (1 + math.exp(-v)) for v in h]
    dk = [dh[j] * s[j] * (1 - s[j]) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return dW, dk, dV, do


@mistake("scalar_backward", "dV is built transposed: dV[m][j] (classes x hidden) instead of dV[j][m], the shape of V")
@_arrays_out
def scalar_backward_dv_transposed(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = _scalar_do(y, target)
    dV = [[h[j] * do[m] for j in range(len(h))] for m in range(len(y))]
    dh = [sum(V[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return dW, dk, dV, do


@mistake("scalar_backward", "the tiny network's sizes are written into the loops (2 inputs, 3 hidden units, 2 classes): read them from the lists")
@_arrays_out
def scalar_backward_hard_coded_sizes(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = [y[j] - (1.0 if j == target else 0.0) for j in range(2)]
    dV = [[h[j] * do[m] for m in range(2)] for j in range(3)]
    dh = [sum(V[j][m] * do[m] for m in range(2)) for j in range(3)]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(3)]
    dW = [[x[i] * dk[j] for j in range(3)] for i in range(2)]
    return dW, dk, dV, do


@mistake("scalar_backward", "the output gradient has the wrong sign: onehot - y instead of y - onehot")
@_arrays_out
def scalar_backward_sign(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = [(1.0 if j == target else 0.0) - y[j] for j in range(len(y))]
    dV = [[h[j] * do[m] for m in range(len(y))] for j in range(len(h))]
    dh = [sum(V[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return dW, dk, dV, do


# ---------------------------------------------------------------- scalar training


def _scalar_update(params, grads, step):
    """Each parameter minus step times its gradient, as new lists."""
    W, b, V, c = params
    dW, db, dV, dc = grads
    return ([[w - step * g for w, g in zip(rw, rg)] for rw, rg in zip(W, dW)],
            [v - step * g for v, g in zip(b, db)],
            [[v - step * g for v, g in zip(rv, rg)] for rv, rg in zip(V, dV)],
            [v - step * g for v, g in zip(c, dc)])


@mistake("scalar_sgd_step", "the step goes up the gradient: p + lr * dp instead of p - lr * dp")
@_arrays_out
def scalar_sgd_ascent(x, target, params, lr):
    loss = scalar_loss(x, *params, target)
    return _scalar_update(params, scalar_backward(x, *params, target), -lr), loss


@mistake("scalar_sgd_step", "the loss returned is computed after the update, not before it")
@_arrays_out
def scalar_sgd_loss_after_step(x, target, params, lr):
    new = _scalar_update(params, scalar_backward(x, *params, target), lr)
    return new, scalar_loss(x, *new, target)


@mistake("scalar_sgd_step", "the biases b and c are never updated")
@_arrays_out
def scalar_sgd_biases_fixed(x, target, params, lr):
    loss = scalar_loss(x, *params, target)
    W, b, V, c = _scalar_update(params, scalar_backward(x, *params, target), lr)
    return (W, list(params[1]), V, list(params[3])), loss


@mistake("scalar_sgd_step", "the caller's lists are updated in place (W[i][j] -= ...): return new lists instead", named_by=("modifies-input",))
@_arrays_out
def scalar_sgd_in_place(x, target, params, lr):
    W, b, V, c = params
    loss = scalar_loss(x, W, b, V, c, target)
    dW, db, dV, dc = scalar_backward(x, W, b, V, c, target)
    for i in range(len(W)):
        for j in range(len(b)):
            W[i][j] -= lr * dW[i][j]
    for j in range(len(V)):
        for m in range(len(c)):
            V[j][m] -= lr * dV[j][m]
    for j in range(len(b)):
        b[j] -= lr * db[j]
    for m in range(len(c)):
        c[m] -= lr * dc[m]
    return (W, b, V, c), loss


@mistake("train_scalar", "the epochs argument is ignored: one pass over the data only")
@_arrays_out
def train_scalar_one_epoch(xtrain, ytrain, epochs=1, lr=0.01, n_hidden=3, seed=0, params=None):
    n_out = int(max(ytrain)) + 1
    params = scalar_init(len(xtrain[0]), n_hidden, max(n_out, 2), seed) if params is None else params
    losses = []
    for xi, yi in zip(xtrain, ytrain):
        params, loss = scalar_sgd_step([float(v) for v in xi], int(yi), params, lr)
        losses.append(loss)
    return params, losses


@mistake("train_scalar", "the updated parameters are thrown away (_, loss = scalar_sgd_step(...)): the network never changes")
@_arrays_out
def train_scalar_params_not_kept(xtrain, ytrain, epochs=1, lr=0.01, n_hidden=3, seed=0, params=None):
    n_out = int(max(ytrain)) + 1
    params = scalar_init(len(xtrain[0]), n_hidden, max(n_out, 2), seed) if params is None else params
    losses = []
    for _ in range(epochs):
        for xi, yi in zip(xtrain, ytrain):
            _, loss = scalar_sgd_step([float(v) for v in xi], int(yi), params, lr)
            losses.append(loss)
    return params, losses


@mistake("train_scalar", "the last instance of every epoch is skipped (range(len(xtrain) - 1))")
@_arrays_out
def train_scalar_last_skipped(xtrain, ytrain, epochs=1, lr=0.01, n_hidden=3, seed=0, params=None):
    n_out = int(max(ytrain)) + 1
    params = scalar_init(len(xtrain[0]), n_hidden, max(n_out, 2), seed) if params is None else params
    losses = []
    for _ in range(epochs):
        for i in range(len(xtrain) - 1):
            params, loss = scalar_sgd_step([float(v) for v in xtrain[i]], int(ytrain[i]), params, lr)
            losses.append(loss)
    return params, losses


def _mean_scalar_loss(xs, ys, params):
    W, b, V, c = (np.asarray(p, dtype=float).tolist() for p in params)
    return float(np.mean([ref.scalar_loss([float(v) for v in x], W, b, V, c, int(y)) for x, y in zip(xs, ys)]))


@partial_credit("train_scalar")
def scalar_loss_falls(env, student, expected):
    """Credit for a loop that trains (e.g. in another order): the mean loss must fall at least half as far as the reference's."""
    xs, ys = env["xtrain"], env["ytrain"]
    start = [env[n] for n in ("W", "b", "V", "c")]
    try:
        params = student.get("return")[0]
        loss = _mean_scalar_loss(xs, ys, params)
    except Exception:
        return 0.0, "its returned parameters could not be evaluated, so no credit for the training behaviour"
    before = _mean_scalar_loss(xs, ys, start)
    target = _mean_scalar_loss(xs, ys, expected["return"][0])
    if np.isfinite(loss) and loss <= before - 0.5 * (before - target):
        return 1.0, f"the mean loss still falls from {before:.4f} to {loss:.4f} (reference: {target:.4f}): partial credit for training that works, though the values differ from the reference's"
    return 0.0, f"the mean loss goes from {before:.4f} to {loss:.4f} (reference: {target:.4f}): the training does not work"


# ---------------------------------------------------------------- activations


@mistake("sigmoid", "the sign in the exponent is wrong: 1 / (1 + exp(x)) is sigmoid(-x)")
def sigmoid_sign(x):
    return 1 / (1 + np.exp(x))


@mistake("sigmoid", "exp(x) / (1 + exp(x)) overflows to inf / inf = NaN for large x: use 1 / (1 + exp(-x))")
def sigmoid_exp_ratio(x):
    e = np.exp(x)
    return e / (1 + e)


@mistake("sigmoid", "operator precedence: 1 / 1 + np.exp(-x) is 1 + exp(-x); write 1 / (1 + np.exp(-x))")
def sigmoid_precedence(x):
    return 1 / 1 + np.exp(-x)


@mistake("softmax", "exp() of the raw logits overflows on large inputs: subtract the maximum first")
def softmax_unstable(o):
    e = np.exp(o)
    return e / e.sum(axis=-1, keepdims=True)


@mistake("softmax", "rows are normalised along axis 0 (over the batch) instead of along the classes (the last axis)")
def softmax_axis0(o):
    e = np.exp(o - o.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


@mistake("softmax", "the whole batch is normalised at once (one sum over all rows) instead of each row")
def softmax_whole_batch(o):
    e = np.exp(o - o.max())
    return e / e.sum()


@mistake("init_mlp", "the biases are drawn at random where the handout sets them to 0", named_by=("init-bias-not-zero",))
def init_mlp_random_biases(n_in=784, n_hidden=300, n_out=10, rng=0):
    rng = np.random.default_rng(rng)
    W = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    V = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    return W, rng.standard_normal(n_hidden) * 0.1, V, rng.standard_normal(n_out) * 0.1


# ---------------------------------------------------------------- one instance


@mistake("forward", "the biases b and c are left out")
def forward_no_bias(x, W, b, V, c):
    k = x @ W
    h = sigmoid(k)
    o = h @ V
    return k, h, o, softmax(o)


@mistake("forward", "a ReLU is used in the hidden layer; the handout asks for a sigmoid")
def forward_relu_hidden(x, W, b, V, c):
    k = x @ W + b
    h = np.maximum(k, 0)
    o = h @ V + c
    return k, h, o, softmax(o)


@mistake("forward", "a sigmoid is applied to the outputs instead of the softmax")
def forward_sigmoid_output(x, W, b, V, c):
    k = x @ W + b
    h = sigmoid(k)
    o = h @ V + c
    return k, h, o, sigmoid(o)


@mistake("backward", "the softmax derivative has no cross term: do is y_t - 1 at the target and 0 elsewhere, instead of y - onehot")
def backward_no_cross_term(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = np.zeros_like(y)
    do[target] = y[target] - 1
    dk = (V @ do) * h * (1 - h)
    return np.outer(x, dk), dk, np.outer(h, do), do


@mistake("backward", "the sigmoid derivative is taken at the pre-activation: k (1 - k) instead of h (1 - h)")
def backward_sigmoid_at_k(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = y.copy()
    do[target] -= 1
    dk = (V @ do) * k * (1 - k)
    return np.outer(x, dk), dk, np.outer(h, do), do


@mistake("backward", "the sigmoid derivative is evaluated at h: sigmoid(h) (1 - sigmoid(h)) instead of h (1 - h)")
def backward_sigmoid_of_h(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = y.copy()
    do[target] -= 1
    s = sigmoid(h)
    dk = (V @ do) * s * (1 - s)
    return np.outer(x, dk), dk, np.outer(h, do), do


@mistake("backward", "dV is outer(do, h), (classes x hidden): transposed, it must have the shape of V")
def backward_dv_transposed(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = y.copy()
    do[target] -= 1
    dk = (V @ do) * h * (1 - h)
    return np.outer(x, dk), dk, np.outer(do, h), do


@mistake("backward", "dW is outer(dk, x), (hidden x inputs): transposed, it must have the shape of W")
def backward_dw_transposed(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = y.copy()
    do[target] -= 1
    dk = (V @ do) * h * (1 - h)
    return np.outer(dk, x), dk, np.outer(h, do), do


@mistake("backward", "the output gradient has the wrong sign: onehot - y instead of y - onehot")
def backward_sign(x, target, W, b, V, c):
    k, h, o, y = forward(x, W, b, V, c)
    do = -y
    do[target] += 1
    dk = (V @ do) * h * (1 - h)
    return np.outer(x, dk), dk, np.outer(h, do), do


# ---------------------------------------------------------------- batches


@mistake("forward_batch", "the biases b and c are left out")
def forward_batch_no_bias(X, W, b, V, c):
    K = X @ W
    H = sigmoid(K)
    O = H @ V
    return K, H, O, softmax(O)


@mistake("forward_batch", "the softmax is normalised along axis 0 (over the batch) instead of along each row")
def forward_batch_softmax_axis0(X, W, b, V, c):
    K = X @ W + b
    H = sigmoid(K)
    O = H @ V + c
    E = np.exp(O - O.max(axis=0, keepdims=True))
    return K, H, O, E / E.sum(axis=0, keepdims=True)


@mistake("forward_batch", "the softmax is normalised over the whole batch at once instead of each row")
def forward_batch_softmax_whole_batch(X, W, b, V, c):
    K = X @ W + b
    H = sigmoid(K)
    O = H @ V + c
    E = np.exp(O - O.max())
    return K, H, O, E / E.sum()


@mistake("forward_batch", "a ReLU is used in the hidden layer; the handout asks for a sigmoid")
def forward_batch_relu_hidden(X, W, b, V, c):
    K = X @ W + b
    H = np.maximum(K, 0)
    O = H @ V + c
    return K, H, O, softmax(O)


def _batch_grads(X, targets, W, b, V, c, scale):
    """Gradients of `scale` times the summed loss (scale = 1/B for the mean)."""
    K, H, O, Y = forward_batch(X, W, b, V, c)
    dO = Y.copy()
    dO[np.arange(len(X)), targets] -= 1.0
    dO *= scale
    dK = (dO @ V.T) * H * (1 - H)
    return X.T @ dK, dK.sum(axis=0), H.T @ dO, dO.sum(axis=0)


@mistake("backward_batch", "the gradients are summed over the batch, not averaged: the task asks for the gradient of the MEAN loss")
def backward_batch_summed(X, targets, W, b, V, c):
    return _batch_grads(X, targets, W, b, V, c, 1.0)


@mistake("backward_batch", "the bias gradients are not summed over the batch: db and dc come back as (batch x units) matrices")
def backward_batch_bias_not_summed(X, targets, W, b, V, c):
    K, H, O, Y = forward_batch(X, W, b, V, c)
    dO = Y.copy()
    dO[np.arange(len(X)), targets] -= 1.0
    dO /= len(X)
    dK = (dO @ V.T) * H * (1 - H)
    return X.T @ dK, dK, H.T @ dO, dO


@mistake("backward_batch", "the bias gradients are averaged again after dO was already divided by the batch size")
def backward_batch_bias_averaged_twice(X, targets, W, b, V, c):
    K, H, O, Y = forward_batch(X, W, b, V, c)
    dO = Y.copy()
    dO[np.arange(len(X)), targets] -= 1.0
    dO /= len(X)
    dK = (dO @ V.T) * H * (1 - H)
    return X.T @ dK, dK.mean(axis=0), H.T @ dO, dO.mean(axis=0)


@mistake("backward_batch", "dV is dO^T H, (classes x hidden): transposed, it must have the shape of V (H^T dO)")
def backward_batch_dv_transposed(X, targets, W, b, V, c):
    dW, db, dV, dc = _batch_grads(X, targets, W, b, V, c, 1.0 / len(X))
    return dW, db, dV.T, dc


@mistake("backward_batch", "Y[:, targets] -= 1 subtracts 1 in the target columns of EVERY row: index with (np.arange(B), targets)")
def backward_batch_wrong_onehot_index(X, targets, W, b, V, c):
    K, H, O, Y = forward_batch(X, W, b, V, c)
    dO = Y.copy()
    dO[:, targets] -= 1.0
    dO /= len(X)
    dK = (dO @ V.T) * H * (1 - H)
    return X.T @ dK, dK.sum(axis=0), H.T @ dO, dO.sum(axis=0)


@mistake("backward_batch", "the sigmoid derivative is taken at the pre-activation: K (1 - K) instead of H (1 - H)")
def backward_batch_sigmoid_at_k(X, targets, W, b, V, c):
    K, H, O, Y = forward_batch(X, W, b, V, c)
    dO = Y.copy()
    dO[np.arange(len(X)), targets] -= 1.0
    dO /= len(X)
    dK = (dO @ V.T) * K * (1 - K)
    return X.T @ dK, dK.sum(axis=0), H.T @ dO, dO.sum(axis=0)


@mistake("loss_batch", "-log(Y[:, targets]) picks a (batch x batch) block and averages all of it: index with (np.arange(B), targets)")
def loss_batch_wrong_index(X, targets, W, b, V, c):
    Y = forward_batch(X, W, b, V, c)[3]
    return float(-np.log(Y[:, targets]).mean())


@mistake("loss_batch", "the losses are summed over the batch, not averaged")
def loss_batch_summed(X, targets, W, b, V, c):
    Y = forward_batch(X, W, b, V, c)[3]
    return float(-np.log(Y[np.arange(len(X)), targets]).sum())


@mistake("loss_batch", "the log is taken of the predicted class (the largest y), not of the target class")
def loss_batch_predicted_class(X, targets, W, b, V, c):
    Y = forward_batch(X, W, b, V, c)[3]
    return float(-np.log(Y.max(axis=1)).mean())


@mistake("evaluate", "the error rate (1 - accuracy) is returned instead of the accuracy")
def evaluate_error_rate(X, targets, params):
    Y = forward_batch(X, *params)[3]
    return loss_batch(X, targets, *params), float(np.mean(Y.argmax(axis=1) != targets))


@mistake("evaluate", "the accuracy is a percentage (0-100); the task asks for a fraction (0-1)")
def evaluate_percent(X, targets, params):
    Y = forward_batch(X, *params)[3]
    return loss_batch(X, targets, *params), 100.0 * float(np.mean(Y.argmax(axis=1) == targets))


@mistake("evaluate", "the number of correct predictions is returned instead of the fraction")
def evaluate_count(X, targets, params):
    Y = forward_batch(X, *params)[3]
    return loss_batch(X, targets, *params), float(np.sum(Y.argmax(axis=1) == targets))


# ---------------------------------------------------------------- training epochs


@mistake("train_epoch", "the step goes up the gradient: p + lr * g instead of p - lr * g")
def train_epoch_ascent(X, targets, params, lr, batch_size=32, rng=0):
    order = np.arange(len(X)) if rng is None else np.random.default_rng(rng).permutation(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        losses.append(loss_batch(X[idx], targets[idx], *params))
        grads = backward_batch(X[idx], targets[idx], *params)
        params = tuple(p + lr * g for p, g in zip(params, grads))
    return params, losses


@mistake("train_epoch", "the rows are never shuffled: rng is ignored and the batches are taken in data order")
def train_epoch_never_shuffled(X, targets, params, lr, batch_size=32, rng=0):
    losses = []
    for start in range(0, len(X), batch_size):
        Xb, tb = X[start:start + batch_size], targets[start:start + batch_size]
        losses.append(loss_batch(Xb, tb, *params))
        grads = backward_batch(Xb, tb, *params)
        params = tuple(p - lr * g for p, g in zip(params, grads))
    return params, losses


@mistake("train_epoch", "the last, smaller batch is dropped (range(0, len(X) - batch_size + 1, batch_size))")
def train_epoch_last_batch_dropped(X, targets, params, lr, batch_size=32, rng=0):
    order = np.arange(len(X)) if rng is None else np.random.default_rng(rng).permutation(len(X))
    losses = []
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        losses.append(loss_batch(X[idx], targets[idx], *params))
        grads = backward_batch(X[idx], targets[idx], *params)
        params = tuple(p - lr * g for p, g in zip(params, grads))
    return params, losses


@mistake("train_epoch", "each batch's loss is recorded after its update instead of before it")
def train_epoch_loss_after_step(X, targets, params, lr, batch_size=32, rng=0):
    order = np.arange(len(X)) if rng is None else np.random.default_rng(rng).permutation(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        grads = backward_batch(X[idx], targets[idx], *params)
        params = tuple(p - lr * g for p, g in zip(params, grads))
        losses.append(loss_batch(X[idx], targets[idx], *params))
    return params, losses


@partial_credit("train_epoch")
def epoch_loss_falls(env, student, expected):
    """Credit for an epoch that trains (e.g. batches drawn another way): the mean loss must fall at least half as far as the reference's."""
    X, t = env["X"], env["targets"]
    start = tuple(env[n] for n in ("W", "b", "V", "c"))
    try:
        params = tuple(np.asarray(p, dtype=float) for p in student.get("return")[0])
        loss = loss_batch(X, t, *params)
    except Exception:
        return 0.0, "its returned parameters could not be evaluated, so no credit for the training behaviour"
    before = loss_batch(X, t, *start)
    target = loss_batch(X, t, *expected["return"][0])
    if np.isfinite(loss) and loss <= before - 0.5 * (before - target):
        return 1.0, f"the mean loss still falls from {before:.4f} to {loss:.4f} (reference: {target:.4f}): partial credit for training that works, though the values differ from the reference's"
    return 0.0, f"the mean loss goes from {before:.4f} to {loss:.4f} (reference: {target:.4f}): the training does not work"
