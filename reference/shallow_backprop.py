"""Reference for `shallow-backprop`: a 784-64-10 ReLU/softmax network trained by backprop.

Conventions (the handout's): samples are stacked in COLUMNS, so images are
(784, N), one-hot codes and predictions are (10, N), biases are (n, 1)
columns. The loss E = -sum_ij d_ij log y_ij is a SUM over samples; the update
step divides the learning rate by N, so a step follows the mean gradient.
`eval_loss` reports the mean over samples and classes instead (E / (10 N)).
"""
from __future__ import annotations

import numpy as np

Net = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (W1, b1, W2, b2)


def normalize_MNIST_images(x: np.ndarray) -> np.ndarray:
    """Map pixels [0, 255] -> [-1, 1] as float32: 2 x / 255 - 1."""
    return x.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)


def label2onehot(lbl: np.ndarray) -> np.ndarray:
    """One-hot codes in columns: d[lbl[j], j] = 1, shape (lbl.max() + 1, N)."""
    d = np.zeros((lbl.max() + 1, lbl.size))
    d[lbl, np.arange(lbl.size)] = 1
    return d


def onehot2label(d: np.ndarray) -> np.ndarray:
    """Labels from columns of scores: argmax over the class axis (axis 0)."""
    return d.argmax(axis=0)


def softmax(a: np.ndarray) -> np.ndarray:
    """Column-wise softmax: y_ij = exp(a_ij - M_j) / sum_k exp(a_kj - M_j), M_j = max_k a_kj."""
    # Subtracting the column max leaves y unchanged and keeps exp() <= 1, so no overflow.
    z = np.exp(a - a.max(axis=0, keepdims=True))
    return z / z.sum(axis=0, keepdims=True)


def softmaxp(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Jacobian-vector product of softmax per column: delta = g * e - <g, e> g, with g = softmax(a)."""
    g = softmax(a)
    return g * e - (g * e).sum(axis=0, keepdims=True) * g


def relu(a: np.ndarray) -> np.ndarray:
    """ReLU(a)_i = max(a_i, 0), element-wise."""
    return np.maximum(a, 0)


def relup(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Directional derivative of ReLU at a along e: e_i * [a_i > 0] (derivative 0 at a_i = 0)."""
    return e * (a > 0)


def init_shallow(Ni: int, Nh: int, No: int) -> Net:
    """The handout's He (hidden) and Xavier (output) initialisation, drawn from numpy's global RNG."""
    b1 = np.random.randn(Nh, 1) / np.sqrt((Ni + 1.0) / 2.0)
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni + 1.0) / 2.0)
    b2 = np.random.randn(No, 1) / np.sqrt(Nh + 1.0)
    W2 = np.random.randn(No, Nh) / np.sqrt(Nh + 1.0)
    return W1, b1, W2, b2


def forwardprop_shallow(x: np.ndarray, net: Net) -> np.ndarray:
    """Prediction y = softmax(W2 relu(W1 x + b1) + b2), shape (No, N)."""
    W1, b1, W2, b2 = net
    h1 = relu(W1.dot(x) + b1)
    return softmax(W2.dot(h1) + b2)


def eval_loss(y: np.ndarray, d: np.ndarray) -> float:
    """Cross-entropy averaged over samples AND classes: -sum_ij d_ij log y_ij / (No N)."""
    return float(-np.mean(d * np.log(y)))


def eval_perfs(y: np.ndarray, lbl: np.ndarray) -> float:
    """Percentage (0..100) of samples whose argmax prediction differs from the label."""
    return float(100.0 * np.mean(onehot2label(y) != lbl))


def update_shallow(x: np.ndarray, d: np.ndarray, net: Net, gamma: float = 0.05) -> Net:
    """One gradient step on E = -sum d log y with step gamma / N; returns new (W1, b1, W2, b2)."""
    W1, b1, W2, b2 = net
    gamma = gamma / x.shape[1]
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    y = softmax(a2)
    delta2 = softmaxp(a2, -d / y)  # grad_y E = -d / y, pulled back through softmax
    delta1 = relup(a1, W2.T.dot(delta2))
    W2 = W2 - gamma * delta2.dot(h1.T)
    b2 = b2 - gamma * delta2.sum(axis=1, keepdims=True)
    W1 = W1 - gamma * delta1.dot(x.T)
    b1 = b1 - gamma * delta1.sum(axis=1, keepdims=True)
    return W1, b1, W2, b2


def backprop_shallow(x: np.ndarray, d: np.ndarray, net: Net, T: int, gamma: float = 0.05) -> Net:
    """T full-batch update_shallow steps, printing loss and training error after each."""
    lbl = onehot2label(d)
    for _ in range(T):
        net = update_shallow(x, d, net, gamma)
        y = forwardprop_shallow(x, net)
        print(eval_loss(y, d), eval_perfs(y, lbl))
    return net


def backprop_minibatch_shallow(
    x: np.ndarray, d: np.ndarray, net: Net, T: int, B: int = 100, gamma: float = 0.05
) -> Net:
    """T epochs of minibatch steps of size B, re-shuffled each epoch with np.random.permutation."""
    N = x.shape[1]
    NB = int((N + B - 1) / B)
    lbl = onehot2label(d)
    for _ in range(T):
        # The permutation comes from numpy's global RNG so a seeded run is reproducible.
        shuffled_indices = np.random.permutation(range(N))
        for l in range(NB):
            minibatch_indices = shuffled_indices[B * l : min(B * (l + 1), N)]
            net = update_shallow(x[:, minibatch_indices], d[:, minibatch_indices], net, gamma)
        y = forwardprop_shallow(x, net)
        print(eval_loss(y, d), eval_perfs(y, lbl))
    return net
