"""Mistake bank for `shallow-backprop`: what students really get wrong, and what is fine.

Each variant is the graded function written the wrong way (or an accepted
other way). Helpers are the reference's, so a variant differs from the
reference in exactly one idea. Seen in real submissions (seed 001): relup
normalised by the norm of e, the error rate off by a factor of 10, the
scalar loss fed back in place of the gradient, gamma ignored.
"""
import numpy as np

from grader.checks.bank import accepted, mistake, partial_credit
from reference.shallow_backprop import (
    eval_loss,
    forwardprop_shallow,
    init_shallow,
    onehot2label,
    relu,
    relup,
    softmax,
    softmaxp,
    update_shallow,
)


# Minibatch mistakes that must not earn the behavioural "loss falls" credit.
NO_PARTIAL_CREDIT = ("minibatch-never-shuffled", "minibatch-full-batch-steps")


# ---------------------------------------------------------------- data preparation


@mistake("normalize_MNIST_images", "the pixels are scaled to [0, 1] instead of [-1, 1]")
def normalize_to_unit(x):
    return x.astype(np.float32) / 255


@mistake("normalize_MNIST_images", "the pixels are centred but not scaled (x - 127.5)")
def normalize_centre_only(x):
    return x.astype(np.float32) - 127.5


@mistake("label2onehot", "the one-hot codes are stacked in rows (N x 10) instead of columns")
def label2onehot_rows(lbl):
    d = np.zeros((lbl.size, lbl.max() + 1))
    d[np.arange(lbl.size), lbl] = 1
    return d


@mistake("onehot2label", "argmax is taken along the samples (axis 1) instead of the classes (axis 0)")
def onehot2label_axis1(d):
    return d.argmax(axis=1)


@mistake("onehot2label", "argmin is used instead of argmax")
def onehot2label_argmin(d):
    return d.argmin(axis=0)


# ---------------------------------------------------------------- activations


@mistake("softmax", "exp() is taken of the raw logits: it overflows on large inputs (subtract the column max)")
def softmax_unstable(a):
    return np.exp(a) / np.exp(a).sum(axis=0)


@mistake("softmax", "the softmax is normalised over the whole batch instead of per column")
def softmax_whole_batch(a):
    z = np.exp(a - a.max())
    return z / z.sum()


@mistake("softmax", "the softmax is normalised along the rows (axis 1) instead of the columns")
def softmax_rows(a):
    z = np.exp(a - a.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@mistake("softmaxp", "only the diagonal of the Jacobian is used: g (1 - g) e")
def softmaxp_diagonal(a, e):
    g = softmax(a)
    return g * (1 - g) * e


@mistake("softmaxp", "<g, e> is summed over the whole batch instead of per column")
def softmaxp_batch_inner_product(a, e):
    g = softmax(a)
    return g * e - (g * e).sum() * g


@mistake("softmaxp", "the two terms are swapped: <g, e> g - g * e (sign flipped)")
def softmaxp_sign(a, e):
    g = softmax(a)
    return (g * e).sum(axis=0) * g - g * e


@mistake("relu", "negative values are kept and positive ones zeroed: min(a, 0)")
def relu_min(a):
    return np.minimum(a, 0)


@mistake("relu", "the mask (a > 0) is returned instead of the values")
def relu_mask(a):
    return (a > 0).astype(float)


@mistake("relu", "the absolute value is returned instead of max(a, 0)")
def relu_abs(a):
    return np.abs(a)


@mistake("relup", "the direction e is ignored: the derivative mask (a > 0) alone is returned")
def relup_mask_only(a, e):
    return (a > 0) * 1.0


@mistake("relup", "the mask is taken on e instead of on a")
def relup_mask_of_e(a, e):
    return e * (e > 0)


@mistake("relup", "the result is divided by the norm of e (seen in a real submission)")
def relup_normalised(a, e):
    return e * (a > 0) / np.linalg.norm(e, ord=2)


@accepted("relup", "relup counts a = 0 as active (a >= 0); the derivative of ReLU at 0 is a convention")
def relup_zero_as_one(a, e):
    return e * (a >= 0)


@mistake("init_shallow", "the weights are drawn without the 1/sqrt(fan-in) scaling")
def init_shallow_unscaled(Ni, Nh, No):
    b1 = np.random.randn(Nh, 1)
    W1 = np.random.randn(Nh, Ni)
    b2 = np.random.randn(No, 1)
    W2 = np.random.randn(No, Nh)
    return W1, b1, W2, b2


@mistake("init_shallow", "np.random.seed inside init_shallow: every call returns the same network", named_by=("init-same-every-call",))
def init_shallow_seeded(Ni, Nh, No):
    np.random.seed(0)
    b1 = np.random.randn(Nh, 1) / np.sqrt((Ni + 1.0) / 2.0)
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni + 1.0) / 2.0)
    b2 = np.random.randn(No, 1) / np.sqrt(Nh + 1.0)
    W2 = np.random.randn(No, Nh) / np.sqrt(Nh + 1.0)
    return W1, b1, W2, b2


@mistake("init_shallow", "the biases are set to zero where the handout draws them at random", named_by=("init-constant",))
def init_shallow_zero_biases(Ni, Nh, No):
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni + 1.0) / 2.0)
    W2 = np.random.randn(No, Nh) / np.sqrt(Nh + 1.0)
    return W1, np.zeros((Nh, 1)), W2, np.zeros((No, 1))


@mistake("forwardprop_shallow", "the biases b1 and b2 are left out")
def forwardprop_no_bias(x, net):
    W1, b1, W2, b2 = net
    return softmax(W2.dot(relu(W1.dot(x))))


@mistake("forwardprop_shallow", "ReLU is not applied to the hidden layer")
def forwardprop_linear_hidden(x, net):
    W1, b1, W2, b2 = net
    return softmax(W2.dot(W1.dot(x) + b1) + b2)


@mistake("forwardprop_shallow", "the output is the activation a2, without the softmax")
def forwardprop_no_softmax(x, net):
    W1, b1, W2, b2 = net
    return W2.dot(relu(W1.dot(x) + b1)) + b2


@mistake("eval_loss", "the loss is summed, not averaged over samples and classes")
def eval_loss_sum(y, d):
    return -np.sum(d * np.log(y))


@mistake("eval_loss", "the loss is averaged over the samples only, not over the 10 classes too")
def eval_loss_mean_over_samples(y, d):
    return -np.sum(d * np.log(y)) / y.shape[1]


@mistake("eval_loss", "the minus sign is missing")
def eval_loss_no_minus(y, d):
    return np.mean(d * np.log(y))


@mistake("eval_perfs", "a fraction (0-1) is returned where a percentage (0-100) is asked for")
def eval_perfs_fraction(y, lbl):
    return np.mean(onehot2label(y) != lbl)


@mistake("eval_perfs", "the accuracy is returned instead of the error rate")
def eval_perfs_accuracy(y, lbl):
    return 100 * np.mean(onehot2label(y) == lbl)


@mistake("eval_perfs", "the error is averaged over all one-hot entries: 10 times too small (seen in a real submission)")
def eval_perfs_onehot_average(y, lbl):
    choice = 1 * (y == np.amax(y, axis=0))
    d = np.zeros((lbl.max() + 1, lbl.size))
    d[lbl, np.arange(lbl.size)] = 1
    return 50 * np.average(np.absolute(choice - d))


# ---------------------------------------------------------------- training


def _step(x, d, net, step):
    """The right update with an absolute step size (the variants below change one idea each)."""
    W1, b1, W2, b2 = net
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    delta2 = softmaxp(a2, -d / softmax(a2))
    delta1 = relup(a1, W2.T.dot(delta2))
    return (W1 - step * delta1.dot(x.T), b1 - step * delta1.sum(axis=1, keepdims=True),
            W2 - step * delta2.dot(h1.T), b2 - step * delta2.sum(axis=1, keepdims=True))


@mistake("update_shallow", "gamma is not divided by the number of samples N")
def update_not_normalised(x, d, net, gamma=0.05):
    return _step(x, d, net, gamma)


@mistake("update_shallow", "the gradient is divided by N twice")
def update_normalised_twice(x, d, net, gamma=0.05):
    return _step(x, d, net, gamma / x.shape[1] ** 2)


@mistake("update_shallow", "the gradient step is added instead of subtracted (gradient ascent)")
def update_ascent(x, d, net, gamma=0.05):
    return _step(x, d, net, -gamma / x.shape[1])


@mistake("update_shallow", "the scalar loss is fed to softmaxp in place of the gradient -d/y (seen in a real submission)")
def update_loss_as_gradient(x, d, net, gamma=0.05):
    W1, b1, W2, b2 = net
    gamma = gamma / x.shape[1]
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    delta2 = softmaxp(a2, eval_loss(softmax(a2), d))
    delta1 = relup(a1, W2.T.dot(delta2))
    return (W1 - gamma * delta1.dot(x.T), b1 - gamma * delta1.sum(axis=1, keepdims=True),
            W2 - gamma * delta2.dot(h1.T), b2 - gamma * delta2.sum(axis=1, keepdims=True))


@mistake("update_shallow", "the bias gradients are not summed over the samples (only the first column is used)")
def update_bias_first_sample(x, d, net, gamma=0.05):
    W1, b1, W2, b2 = net
    gamma = gamma / x.shape[1]
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    delta2 = softmaxp(a2, -d / softmax(a2))
    delta1 = relup(a1, W2.T.dot(delta2))
    return (W1 - gamma * delta1.dot(x.T), b1 - gamma * delta1[:, :1],
            W2 - gamma * delta2.dot(h1.T), b2 - gamma * delta2[:, :1])


@mistake("update_shallow", "the bias gradient is summed without keepdims: an (n,) vector broadcast into an (n, n) bias")
def update_bias_no_keepdims(x, d, net, gamma=0.05):
    W1, b1, W2, b2 = net
    gamma = gamma / x.shape[1]
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    delta2 = softmaxp(a2, -d / softmax(a2))
    delta1 = relup(a1, W2.T.dot(delta2))
    return (W1 - gamma * delta1.dot(x.T), b1 - gamma * delta1.sum(axis=1),
            W2 - gamma * delta2.dot(h1.T), b2 - gamma * delta2.sum(axis=1))


@mistake("update_shallow", "the weights are updated in place (-=): the caller's network changes too", named_by=("modifies-input",))
def update_in_place(x, d, net, gamma=0.05):
    W1, b1, W2, b2 = net
    new = _step(x, d, net, gamma / x.shape[1])
    W1 -= W1 - new[0]
    b1 -= b1 - new[1]
    W2 -= W2 - new[2]
    b2 -= b2 - new[3]
    return W1, b1, W2, b2


@mistake("backprop_shallow", "the gamma argument is ignored: update_shallow is always called with its default (seen in a real submission)")
def backprop_ignores_gamma(x, d, net, T, gamma=0.05):
    for _ in range(T):
        net = update_shallow(x, d, net)
    return net


@mistake("backprop_shallow", "one update too few (range(T - 1))")
def backprop_one_step_short(x, d, net, T, gamma=0.05):
    for _ in range(T - 1):
        net = update_shallow(x, d, net, gamma)
    return net


@mistake("backprop_minibatch_shallow", "the minibatches are never shuffled: the same blocks in the same order every epoch")
def minibatch_never_shuffled(x, d, net, T, B=100, gamma=0.05):
    N = x.shape[1]
    for _ in range(T):
        for start in range(0, N, B):
            net = update_shallow(x[:, start:start + B], d[:, start:start + B], net, gamma)
    return net


@mistake("backprop_minibatch_shallow", "every step uses the full batch instead of the minibatch")
def minibatch_full_batch_steps(x, d, net, T, B=100, gamma=0.05):
    N = x.shape[1]
    for _ in range(T):
        np.random.permutation(range(N))
        for _ in range((N + B - 1) // B):
            net = update_shallow(x, d, net, gamma)
    return net


@mistake("backprop_minibatch_shallow", "the data are shuffled once, before the first epoch, not at every epoch")
def minibatch_shuffled_once(x, d, net, T, B=100, gamma=0.05):
    N = x.shape[1]
    order = np.random.permutation(range(N))
    for _ in range(T):
        for start in range(0, N, B):
            batch = order[start:start + B]
            net = update_shallow(x[:, batch], d[:, batch], net, gamma)
    return net


@accepted("backprop_minibatch_shallow", "one index array is reshuffled in place at every epoch: correct minibatch training, drawn in another order than the handout's")
def minibatch_reshuffled_in_place(x, d, net, T, B=100, gamma=0.05):
    N = x.shape[1]
    order = np.arange(N)
    for _ in range(T):
        np.random.shuffle(order)
        for start in range(0, N, B):
            batch = order[start:start + B]
            net = update_shallow(x[:, batch], d[:, batch], net, gamma)
    return net


@partial_credit("backprop_minibatch_shallow")
def minibatch_loss_falls(env, student, expected):
    """Credit for minibatches drawn another way: the loss must fall at least half as far as the reference's."""
    x, d, start = env["x"], env["d"], env["net"]
    net = student.get("return")
    try:
        loss = eval_loss(forwardprop_shallow(x, tuple(np.asarray(p, dtype=float) for p in net)), d)
    except Exception:
        return 0.0, "its returned network could not be evaluated, so no credit for the training behaviour"
    before = eval_loss(forwardprop_shallow(x, start), d)
    target = eval_loss(forwardprop_shallow(x, expected["return"]), d)
    if np.isfinite(loss) and loss <= before - 0.5 * (before - target):
        return 1.0, f"the loss still falls from {before:.4f} to {loss:.4f} (reference: {target:.4f}): partial credit for training that works with minibatches drawn another way"
    return 0.0, f"the loss goes from {before:.4f} to {loss:.4f} (reference: {target:.4f}): the training does not work"
