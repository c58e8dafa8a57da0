# PATTERN: one broken method, and a correct method of the same class that calls it:
# NeuralNet.grad_loss multiplies the hidden error by sigmoid(z_h) instead of dsigmoid(z_h); train is
# right but calls self.grad_loss. (Issue 11's "NeuralNet.train calling grad_loss"; the same shape of
# failure as 003's train reading globals that a broken helper sets.)
# Seen in: pattern named in issue 11 (not observed verbatim in the repositories read here).
# expect: NeuralNet.grad_loss zero (diagnosis: sigmoid used for its derivative), NeuralNet.train FULL
# (retried with the reference grad_loss in place: one bug costs once), everything else full.
# Score: 50 - grad_loss points.
# attention: none
# %%
import numpy as np
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

digits = load_digits()
data = np.asarray(digits.data, dtype="float32")
target = np.asarray(digits.target, dtype="int32")
X_train, X_test, y_train, y_test = train_test_split(data, target, test_size=0.15, random_state=37)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
# %%
def one_hot(n_classes, y):
    return np.eye(n_classes)[y]
# %%
def softmax(X):
    X = np.asarray(X, dtype=float)
    e = np.exp(X - np.max(X, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
# %%
def nll(Y_true, Y_pred):
    Y_true = np.atleast_2d(Y_true)
    Y_pred = np.atleast_2d(Y_pred)
    return -np.mean(np.sum(Y_true * np.log(Y_pred + 1e-8), axis=1))
# %%
class LogisticRegression():

    def __init__(self, input_size, output_size):
        self.W = np.random.uniform(size=(input_size, output_size), high=0.1, low=-0.1)
        self.b = np.random.uniform(size=output_size, high=0.1, low=-0.1)
        self.output_size = output_size

    def forward(self, X):
        return softmax(np.dot(X, self.W) + self.b)

    def predict(self, X):
        if len(X.shape) == 1:
            return np.argmax(self.forward(X))
        return np.argmax(self.forward(X), axis=1)

    def grad_loss(self, x, y_true):
        delta = self.forward(x) - one_hot(self.output_size, y_true)
        return {"W": np.outer(x, delta), "b": delta}

    def train(self, x, y, learning_rate):
        grads = self.grad_loss(x, y)
        self.W = self.W - learning_rate * grads["W"]
        self.b = self.b - learning_rate * grads["b"]

    def loss(self, X, y):
        return nll(one_hot(self.output_size, y), self.forward(X))

    def accuracy(self, X, y):
        return np.mean(np.argmax(self.forward(X), axis=1) == y)
# %%
n_features = X_train.shape[1]
n_classes = len(np.unique(y_train))
lr = LogisticRegression(n_features, n_classes)
for i, (x, y) in enumerate(zip(X_train, y_train)):
    lr.train(x, y, 0.01)
print("logreg test acc", lr.accuracy(X_test, y_test))
# %%
def sigmoid(X):
    return 1.0 / (1.0 + np.exp(-X))


def dsigmoid(X):
    s = sigmoid(X)
    return s * (1.0 - s)
# %%
class NeuralNet():
    def __init__(self, input_size, hidden_size, output_size):
        self.W_h = np.random.uniform(size=(input_size, hidden_size), high=0.01, low=-0.01)
        self.b_h = np.zeros(hidden_size)
        self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
        self.b_o = np.zeros(output_size)
        self.output_size = output_size

    def forward_keep_activations(self, X):
        z_h = np.dot(X, self.W_h) + self.b_h
        h = sigmoid(z_h)
        return softmax(np.dot(h, self.W_o) + self.b_o), h, z_h

    def forward(self, X):
        return self.forward_keep_activations(X)[0]

    def loss(self, X, y):
        return nll(one_hot(self.output_size, y), self.forward(X))

    def grad_loss(self, x, y_true):
        y, h, z_h = self.forward_keep_activations(x)
        g_o = y - one_hot(self.output_size, y_true)
        g_h = np.dot(g_o, self.W_o.T) * sigmoid(z_h)
        return {"W_h": np.outer(x, g_h), "b_h": g_h, "W_o": np.outer(h, g_o), "b_o": g_o}

    def train(self, x, y, learning_rate):
        grads = self.grad_loss(x, y)
        for name in ("W_h", "b_h", "W_o", "b_o"):
            setattr(self, name, getattr(self, name) - learning_rate * grads[name])

    def predict(self, X):
        if len(X.shape) == 1:
            return np.argmax(self.forward(X))
        return np.argmax(self.forward(X), axis=1)

    def accuracy(self, X, y):
        return np.mean(np.argmax(self.forward(X), axis=1) == y)
