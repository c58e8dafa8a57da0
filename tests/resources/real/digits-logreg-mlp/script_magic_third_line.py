# PATTERN: the course's newer official API: NeuralNet has forward(X, keep_activations=False), which
# returns (y, h, z_h) when asked, and NO forward_keep_activations method; grad_loss calls
# self.forward(x, keep_activations=True). Everything else done right.
# Seen in: m2dsupsdlclass/lectures-labs labs/02_backprop/solutions/neural_net.py (current HEAD; the
# released notebook still names forward_keep_activations).
# expect: every check full: NeuralNet.forward_keep_activations is accepted as forward(X,
# keep_activations=True) (a known variant of the handout's own API); forward, loss, grad_loss, train,
# predict, accuracy full. Score 50/50.
# attention: renamed (accepted handout variant), or none
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
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
plt.imshow(X_train[0].reshape(28, 28), cmap='gray')


def one_hot(n_classes, y):
    return np.eye(n_classes)[y]
def softmax(X):
    X = np.asarray(X, dtype=float)
    e = np.exp(X - np.max(X, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
def nll(Y_true, Y_pred):
    Y_true = np.atleast_2d(Y_true)
    Y_pred = np.atleast_2d(Y_pred)
    return -np.mean(np.sum(Y_true * np.log(Y_pred + 1e-8), axis=1))
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
n_features = X_train.shape[1]
n_classes = len(np.unique(y_train))
lr = LogisticRegression(n_features, n_classes)
for i, (x, y) in enumerate(zip(X_train, y_train)):
    lr.train(x, y, 0.01)
print("logreg test acc", lr.accuracy(X_test, y_test))
def sigmoid(X):
    return 1 / (1 + np.exp(-X))


def dsigmoid(X):
    return sigmoid(X) * (1 - sigmoid(X))
class NeuralNet():
    def __init__(self, input_size, hidden_size, output_size):
        self.W_h = np.random.uniform(size=(input_size, hidden_size), high=0.01, low=-0.01)
        self.b_h = np.zeros(hidden_size)
        self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
        self.b_o = np.zeros(output_size)
        self.output_size = output_size

    def forward(self, X, keep_activations=False):
        pre_h = np.dot(X, self.W_h) + self.b_h
        hidden = sigmoid(pre_h)
        probs = softmax(np.dot(hidden, self.W_o) + self.b_o)
        if keep_activations:
            return probs, hidden, pre_h
        return probs

    def loss(self, X, y):
        return nll(one_hot(self.output_size, y), self.forward(X))

    def grad_loss(self, x, y_true):
        y, h, z_h = self.forward(x, keep_activations=True)
        d_out = y - one_hot(self.output_size, y_true)
        d_hid = np.dot(d_out, self.W_o.T) * dsigmoid(z_h)
        return {"W_h": np.outer(x, d_hid), "b_h": d_hid, "W_o": np.outer(h, d_out), "b_o": d_out}

    def train(self, x, y, learning_rate):
        grads = self.grad_loss(x, y)
        self.W_h = self.W_h - learning_rate * grads["W_h"]
        self.b_h = self.b_h - learning_rate * grads["b_h"]
        self.W_o = self.W_o - learning_rate * grads["W_o"]
        self.b_o = self.b_o - learning_rate * grads["b_o"]

    def predict(self, X):
        if len(X.shape) == 1:
            return np.argmax(self.forward(X))
        return np.argmax(self.forward(X), axis=1)

    def accuracy(self, X, y):
        return np.mean(np.argmax(self.forward(X), axis=1) == y)
model = NeuralNet(n_features, 10, n_classes)
for x, y in zip(X_train, y_train):
    model.train(x, y, 0.1)
print(model.accuracy(X_test, y_test))
