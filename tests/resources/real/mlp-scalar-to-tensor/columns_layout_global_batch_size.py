# PATTERN: vectorised MLP written with samples in COLUMNS (W1 is (300, 784), X is (784, N), biases are
# (n, 1) columns), parameters and activations in dicts {"W1","b1","W2","b2"} / {"Z1","A1","Z2","A2"};
# back_propagate(X, Y, params, cache) divides by a global m_batch that only the top-level training
# loop sets; data normalised and the 150-epoch training run at top level; one-hot targets.
# Seen in: saurabhjain176/Deep-Learning-VU Backpropagation/nn_mnist_tensor.py.
# expect: a TA reads it and gives full marks for the batched forward/backward (right math in the
# transposed layout, averaged gradients); the global m_batch is a style point. The grader's graded
# names are absent, and the top-level training exceeds the time limit.
# attention: off-template, defs-only-fallback (top-level training cut by the time limit)
import numpy as np
from mlp_data import load_mnist

np.random.seed(0)
(xtrain, ytrain), (xtest, ytest), num_cls = load_mnist(final=True)
xtrain, xtest = xtrain / 255., xtest / 255.

Ytr = np.eye(10)[ytrain].T
Yte = np.eye(10)[ytest].T
Xtr, Xte = xtrain.T, xtest.T


def sigmoid(z):
    return 1. / (1. + np.exp(-z))


def compute_loss(Y, Y_hat):
    return -np.sum(Y * np.log(Y_hat)) / Y.shape[1]


def forward_pass_tensor(X, params):
    cache = {"Z1": params["W1"] @ X + params["b1"]}
    cache["A1"] = sigmoid(cache["Z1"])
    cache["Z2"] = params["W2"] @ cache["A1"] + params["b2"]
    e = np.exp(cache["Z2"] - cache["Z2"].max(axis=0))
    cache["A2"] = e / e.sum(axis=0)
    return cache


def back_propagate(X, Y, params, cache):
    dZ2 = cache["A2"] - Y
    dW2 = dZ2 @ cache["A1"].T / m_batch
    db2 = dZ2.sum(axis=1, keepdims=True) / m_batch
    dZ1 = (params["W2"].T @ dZ2) * cache["A1"] * (1 - cache["A1"])
    dW1 = dZ1 @ X.T / m_batch
    db1 = dZ1.sum(axis=1, keepdims=True) / m_batch
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


params = {"W1": np.random.randn(300, 784) / np.sqrt(784), "b1": np.zeros((300, 1)),
          "W2": np.random.randn(10, 300) / np.sqrt(300), "b2": np.zeros((10, 1))}
learning_rate, batch_size, epochs = 0.05, 32, 150
for epoch in range(epochs):
    order = np.random.permutation(Xtr.shape[1])
    for start in range(0, Xtr.shape[1], batch_size):
        cols = order[start:start + batch_size]
        X, Y = Xtr[:, cols], Ytr[:, cols]
        m_batch = X.shape[1]
        grads = back_propagate(X, Y, params, forward_pass_tensor(X, params))
        for name in ("W1", "b1", "W2", "b2"):
            params[name] = params[name] - learning_rate * grads["d" + name]
    print(epoch, compute_loss(Yte, forward_pass_tensor(Xte, params)["A2"]))
