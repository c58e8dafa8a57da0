# PATTERN (issue 22 item 5): the vectorised network as a class with its state on self: MLP(n_inputs,
# n_hidden, n_classes) holds W1, b1, W2, b2; forward(X, Y) stores the activations on self and returns the
# mean loss; backward_and_update(lr) computes the gradients from what forward stored and updates the
# weights in place. Nothing is returned but the loss.
# Seen in: held-out 004 scripts (issue 22: a class MLP.forward(X, Y) + backward_and_update()).
# expect: forward_batch (as MLP.forward: the activations left on self) and backward_batch (as
# MLP.backward_and_update with a learning rate of 1: what the update took from each weight) full; the
# rest is not written.
# attention: off-template, renamed, reshaped
import numpy as np


class MLP:
    def __init__(self, n_inputs, n_hidden, n_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(size=(n_inputs, n_hidden)) * 0.1
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(size=(n_hidden, n_classes)) * 0.1
        self.b2 = np.zeros(n_classes)

    def forward(self, X, Y):
        self.X, self.Y = X, Y
        self.K = X @ self.W1 + self.b1
        self.H = 1 / (1 + np.exp(-self.K))
        self.O = self.H @ self.W2 + self.b2
        E = np.exp(self.O - self.O.max(axis=1, keepdims=True))
        self.P = E / E.sum(axis=1, keepdims=True)
        return -np.mean(np.log(self.P[np.arange(len(X)), Y]))

    def backward_and_update(self, lr=0.01):
        n = len(self.X)
        G = self.P.copy()
        G[np.arange(n), self.Y] -= 1
        G /= n
        dW2, db2 = self.H.T @ G, G.sum(axis=0)
        dK = (G @ self.W2.T) * self.H * (1 - self.H)
        dW1, db1 = self.X.T @ dK, dK.sum(axis=0)
        self.W1 -= lr * dW1
        self.b1 -= lr * db1
        self.W2 -= lr * dW2
        self.b2 -= lr * db2


rng = np.random.default_rng(3)
X = rng.normal(size=(64, 5))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)
net = MLP(5, 8, 2)
for epoch in range(100):
    loss = net.forward(X, Y)
    net.backward_and_update(lr=0.5)
print("loss", loss)
