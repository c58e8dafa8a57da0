# PATTERN (issue 22 item 5): a free-form 004 script whose only backward pass is hidden in its SGD step:
# sgd_step(X, labels, W, b, V, c, lr=0.05) returns the parameters already updated (W - lr dW, ...),
# never the gradients; the forward pass is probabilities(X, W, b, V, c) -> Y only.
# Seen in: held-out 004 scripts (issue 22: gradients returned as updated parameters).
# expect: backward_batch full (found as sgd_step, run with a learning rate of 1: the gradient is what it
# returns taken from what it was given); sigmoid, softmax full; forward_batch: the activations are not
# returned, a person decides; the rest is not written.
# attention: renamed, reshaped (how sgd_step was bound)
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(o):
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def probabilities(X, W, b, V, c):
    return softmax(sigmoid(X @ W + b) @ V + c)


def sgd_step(X, labels, W, b, V, c, lr=0.05):
    H = sigmoid(X @ W + b)
    P = softmax(H @ V + c)
    n = len(X)
    G = P.copy()
    G[np.arange(n), labels] -= 1.0
    G /= n
    dV, dc = H.T @ G, G.sum(axis=0)
    dK = (G @ V.T) * H * (1.0 - H)
    dW, db = X.T @ dK, dK.sum(axis=0)
    return W - lr * dW, b - lr * db, V - lr * dV, c - lr * dc


rng = np.random.default_rng(1)
X = rng.normal(size=(40, 4))
labels = (X[:, 0] > 0).astype(int)
W, b, V, c = rng.normal(size=(4, 6)) * 0.3, np.zeros(6), rng.normal(size=(6, 2)) * 0.3, np.zeros(2)
for _ in range(200):
    W, b, V, c = sgd_step(X, labels, W, b, V, c, lr=0.5)
print("accuracy", np.mean(probabilities(X, W, b, V, c).argmax(axis=1) == labels))
