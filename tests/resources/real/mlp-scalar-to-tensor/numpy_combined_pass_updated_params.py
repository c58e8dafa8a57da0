# PATTERN (issue 22 item 5): a free-form 004 script whose vectorised network is one function that
# runs the forward and the backward pass together, linear_forward_backward(X, Y, W, b, V, c) ->
# (loss, dW, db, dV, dc), the mean over a batch in rows (Y the class indices), and an SGD step that
# returns the parameters already updated, sgd_update(X, Y, W, b, V, c, lr) -> (W, b, V, c). The
# forward pass alone is forward(X, W, b, V, c) -> a dict of the activations.
# Seen in: held-out 004 scripts (issue 22: linear_forward_backward(X, Y, W, b, V, c); gradients returned
# as updated parameters).
# expect: sigmoid, softmax full; forward (its own name) and forward_batch (as forward) full; backward_batch
# (as linear_forward_backward) full; backward on one instance, the loss and the SGD step that returns
# updated parameters: a person decides.
# attention: renamed / reshaped (found under other names, bound by meaning)
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward(X, W, b, V, c):
    K = X @ W + b
    H = sigmoid(K)
    O = H @ V + c
    return {"K": K, "H": H, "O": O, "Y": softmax(O)}


def linear_forward_backward(X, Y, W, b, V, c):
    acts = forward(X, W, b, V, c)
    n = X.shape[0]
    P = acts["Y"]
    loss = -np.mean(np.log(P[np.arange(n), Y]))
    dO = P.copy()
    dO[np.arange(n), Y] -= 1
    dO /= n
    dV = acts["H"].T @ dO
    dc = dO.sum(axis=0)
    dK = (dO @ V.T) * acts["H"] * (1 - acts["H"])
    dW = X.T @ dK
    db = dK.sum(axis=0)
    return loss, dW, db, dV, dc


def sgd_update(X, Y, W, b, V, c, lr):
    _, dW, db, dV, dc = linear_forward_backward(X, Y, W, b, V, c)
    return W - lr * dW, b - lr * db, V - lr * dV, c - lr * dc


rng = np.random.default_rng(0)
X = rng.normal(size=(32, 6))
Y = rng.integers(0, 3, size=32)
W, b, V, c = rng.normal(size=(6, 5)) * 0.1, np.zeros(5), rng.normal(size=(5, 3)) * 0.1, np.zeros(3)
for step in range(50):
    W, b, V, c = sgd_update(X, Y, W, b, V, c, 0.5)
print(linear_forward_backward(X, Y, W, b, V, c)[0])
