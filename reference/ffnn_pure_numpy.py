"""Reference for `ffnn-pure-numpy`: a 784-128-64-10 feed-forward net, sigmoid hidden, softmax out, no biases.

Conventions (the handout's): samples are ROWS; a single sample is a 1-D
vector and a batch adds a leading axis. Weights are w1 (784, 128),
w2 (128, 64), w3 (64, 10), so z_i = a_{i-1} . w_i. Backpropagation gives the
handout's weight changes dw_i = a_{i-1}^T . e_i with e3 = a3 - y: the gradient
of the cross-entropy -sum y log a3 SUMMED over the batch (an outer product for
one sample), with a POSITIVE sign; the update is w_i <- w_i - lr dw_i.
`compute_error` returns a FRACTION in [0, 1] (the handout's "2.7%" is 0.027).
Images are scaled to float64 in [0, 1].

Figures (scripts/figures_other.py, 30 epochs, lr 0.001, one sample at a time):
the handout expects ~2.7% test error on MNIST, which cannot be downloaded here;
the embedded digits give 7.4% and Fashion-MNIST 13.4%. Batches of 32 reach the
same error at ~1/15 (embedded) to ~1/27 (Fashion) of the time per epoch; the
whole set as one batch with the same lr saturates (~90% error), because the
summed gradient makes each step N times larger.

Names fixed where the handout leaves them open (the student notebook uses these):

Explicit-weight form (this module, what the grader calls as the reference):
    forward_pass(x, w1, w2, w3) -> (z1, a1, z2, a2, z3, a3)
    backpropagation(x, y, w1, w2, w3) -> (dw1, dw2, dw3)
    update_weights(w1, w2, w3, dw1, dw2, dw3, learning_rate) -> (w1, w2, w3)   (new arrays)
    compute_error(x, y, w1, w2, w3) -> float fraction
    train(x, y, epochs=30, learning_rate=0.001, ...) -> ((w1, w2, w3), errors per epoch)
    train_batched(x, y, epochs=30, learning_rate=0.001, batch_size=32, ...) -> same

Global-weight form (what a student writes; weights are module globals w1, w2, w3):
    forward_pass(x) -> (z1, a1, z2, a2, z3, a3)
    backpropagation(x, y) -> (dw1, dw2, dw3)          (runs forward_pass(x) itself)
    update_weights(dw1, dw2, dw3, learning_rate)       (rebinds the globals; returns None)
    compute_error(x, y) -> float fraction
    train(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001) -> list of test errors
    (batched file, Tasks 16-18: the same names; train gains batch_size=..., one step per
    consecutive slice x[i:i+batch_size], no shuffling; forward_pass etc. accept (N, 784))
`global_api(namespace)` builds exactly these functions over a dict holding
"w1", "w2", "w3", so the grader can run the reference the student's way.
`y` is one-hot (the handout's preprocessed outputs); compute_error also takes integer labels.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

Weights = tuple[np.ndarray, np.ndarray, np.ndarray]
LAYERS = (784, 128, 64, 10)


# -------------------------------------------------------------- data handling

def read_idx(filename) -> np.ndarray:
    """Array stored in an idx file (plain or gzip): big-endian header, dims, then data."""
    import gzip
    import struct

    raw = Path(filename).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=dtypes[code], offset=4 + 4 * ndim).reshape(shape)


def preprocess_images(images) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 784) float64 in [0, 1]: flatten each image, divide by 255."""
    images = np.asarray(images)
    return images.reshape(images.shape[0], -1) / 255.0


def one_hot_labels(labels, n_classes: int = 10) -> np.ndarray:
    """(N,) integer labels -> (N, n_classes) float rows with a single 1 at the label."""
    labels = np.asarray(labels, dtype=np.intp)
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def layer_weights(m: int, n: int, rng=None) -> np.ndarray:
    """(m, n) weights from m neurons to n neurons: N(0, 1) / sqrt(n); global RNG unless rng given."""
    source = np.random if rng is None else rng
    return source.standard_normal((m, n)) / np.sqrt(n)


def init_weights(rng=None) -> Weights:
    """w1, w2, w3 = layer_weights(784, 128), (128, 64), (64, 10), drawn in that order."""
    return tuple(layer_weights(m, n, rng) for m, n in zip(LAYERS[:-1], LAYERS[1:]))


# ------------------------------------------------------------------ functions

def sigmoid(x) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise."""
    x = np.asarray(x, dtype=float)
    # exp of -|x| only: no overflow, and full relative precision in both tails
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dsigmoid(z) -> np.ndarray:
    """S'(z) = exp(-z) / (1 + exp(-z))^2 = S(z) (1 - S(z)), at the pre-activation z."""
    # S' is even, so exp(-|x|) gives the same value without overflow or the cancellation in 1 - S
    e = np.exp(-np.abs(np.asarray(z, dtype=float)))
    return e / (1.0 + e) ** 2

def softmax(x) -> np.ndarray:
    """sigma(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) along the last axis (1-D or rows)."""
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))  # max subtracted: exp <= 1, no overflow
    return e / e.sum(axis=-1, keepdims=True)


def forward_pass(x, w1, w2, w3):
    """(z1, a1, z2, a2, z3, a3) with z_i = a_{i-1} . w_i, a1,a2 = S(z), a3 = softmax(z3); x (784,) or (N, 784)."""
    z1 = np.dot(x, w1)
    a1 = sigmoid(z1)
    z2 = np.dot(a1, w2)
    a2 = sigmoid(z2)
    z3 = np.dot(a2, w3)
    return z1, a1, z2, a2, z3, softmax(z3)


def backpropagation(x, y, w1, w2, w3, forward=None) -> Weights:
    """(dw1, dw2, dw3) = (a0^T e1, a1^T e2, a2^T e3): gradient of -sum y log a3, SUMMED over the batch."""
    z1, a1, z2, a2, z3, a3 = forward_pass(x, w1, w2, w3) if forward is None else forward
    # rows: a 1-D sample becomes a (1, n) row, so a^T . e is its outer product
    a0, a1, a2 = np.atleast_2d(x), np.atleast_2d(a1), np.atleast_2d(a2)
    e3 = np.atleast_2d(a3 - y)
    e2 = (e3 @ w3.T) * dsigmoid(np.atleast_2d(z2))
    e1 = (e2 @ w2.T) * dsigmoid(np.atleast_2d(z1))
    return a0.T @ e1, a1.T @ e2, a2.T @ e3


def update_weights(w1, w2, w3, dw1, dw2, dw3, learning_rate: float) -> Weights:
    """w_i - learning_rate * dw_i for i = 1, 2, 3 (new arrays)."""
    return w1 - learning_rate * dw1, w2 - learning_rate * dw2, w3 - learning_rate * dw3


def compute_error(x, y, w1, w2, w3) -> float:
    """Fraction of rows whose argmax a3 differs from the label (y one-hot rows or integer labels)."""
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim == 2 else y
    return float(np.mean(forward_pass(x, w1, w2, w3)[-1].argmax(axis=-1) != labels))


def cross_entropy(x, y, w1, w2, w3) -> float:
    """Summed cross-entropy -sum_n sum_c y_nc log a3_nc (the loss that backpropagation differentiates)."""
    z3 = forward_pass(x, w1, w2, w3)[4]
    # log-softmax through log-sum-exp: finite even when a3 underflows to 0
    m = z3.max(axis=-1, keepdims=True)
    log_a3 = z3 - m - np.log(np.exp(z3 - m).sum(axis=-1, keepdims=True))
    return float(-np.sum(y * log_a3))


# ------------------------------------------------------------------- training

def train_batched(x, y, epochs: int = 30, learning_rate: float = 0.001, batch_size: int = 32,
                  x_test=None, y_test=None, weights: Weights | None = None, rng=None,
                  verbose: bool = False):
    """SGD on consecutive batches (no shuffling), summed-gradient steps; ((w1, w2, w3), error per epoch).

    The error is on (x_test, y_test) when given, else on (x, y). batch_size=None
    pushes the whole set as one batch; batch_size=1 is the one-sample loop.
    """
    w1, w2, w3 = init_weights(rng) if weights is None else weights
    x_eval, y_eval = (x, y) if x_test is None else (x_test, y_test)
    step = len(x) if batch_size is None else batch_size
    errors = []
    for epoch in range(epochs):
        start = time.perf_counter()
        for i in range(0, len(x), step):
            xb, yb = (x[i], y[i]) if step == 1 else (x[i:i + step], y[i:i + step])
            w1, w2, w3 = update_weights(w1, w2, w3, *backpropagation(xb, yb, w1, w2, w3),
                                        learning_rate)
        errors.append(compute_error(x_eval, y_eval, w1, w2, w3))
        if verbose:
            print(f"epoch {epoch + 1}: error {errors[-1]:.4f} ({time.perf_counter() - start:.1f} s)")
    return (w1, w2, w3), errors


def train(x, y, epochs: int = 30, learning_rate: float = 0.001, x_test=None, y_test=None,
          weights: Weights | None = None, rng=None, verbose: bool = False):
    """The handout's loop: one sample at a time, in order; ((w1, w2, w3), error per epoch)."""
    return train_batched(x, y, epochs, learning_rate, batch_size=1, x_test=x_test,
                         y_test=y_test, weights=weights, rng=rng, verbose=verbose)


# ------------------------------------------------- the student's global form

def global_api(ns: dict) -> dict[str, Callable]:
    """The student-style functions, reading and rebinding ns["w1"], ns["w2"], ns["w3"]."""

    def g_forward_pass(x):
        return forward_pass(x, ns["w1"], ns["w2"], ns["w3"])

    def g_backpropagation(x, y):
        return backpropagation(x, y, ns["w1"], ns["w2"], ns["w3"])

    def g_update_weights(dw1, dw2, dw3, learning_rate):
        ns["w1"], ns["w2"], ns["w3"] = update_weights(ns["w1"], ns["w2"], ns["w3"],
                                                      dw1, dw2, dw3, learning_rate)

    def g_compute_error(x, y):
        return compute_error(x, y, ns["w1"], ns["w2"], ns["w3"])

    def g_train(x_train, y_train, x_test, y_test, epochs=30, learning_rate=0.001, batch_size=1):
        weights = (ns["w1"], ns["w2"], ns["w3"])
        (ns["w1"], ns["w2"], ns["w3"]), errors = train_batched(
            x_train, y_train, epochs, learning_rate, batch_size, x_test, y_test, weights=weights)
        return errors

    return {"forward_pass": g_forward_pass, "backpropagation": g_backpropagation,
            "update_weights": g_update_weights, "compute_error": g_compute_error,
            "train": g_train}


def load_data(source=None, n_train: int | None = None, n_test: int | None = None):
    """(x_train, y_train, x_test, y_test) preprocessed (rows in [0, 1], one-hot) from reference.data."""
    from reference.data import load_split

    xs, ys = load_split("train", source)
    xt, yt = load_split("test", source)
    xs, ys, xt, yt = xs[:n_train], ys[:n_train], xt[:n_test], yt[:n_test]
    return (preprocess_images(xs), one_hot_labels(ys),
            preprocess_images(xt), one_hot_labels(yt))
