# PATTERN: object-oriented script. A plain-python class for the tiny network whose own sigmoid method
# forgets its return (unused: the module-level sigmoid is called), with forward_propagation(inputs) ->
# (hidden, prediction) and backpropagation(x, y, pred, hidden_output) -> (dW1, db1, dW2, db2); a
# numpy class with @staticmethod sigmoid/softmax, forward(X) that stores z1/a1/z2/a2 on self and
# backward(X, y, learning_rate) that reads them and updates the weights in place (mean over the
# batch); data loaded and a network trained at top level, between the classes.
# Seen in: yossiyhartman/VU-Deep-Learning-Assignment PurePython2LayerNetwork.py and
# Tensor2LayerNetwork.py (state-on-self methods also in MaxFeucht/VU-Deep-Learning "Assignment 1.py").
# expect: sigmoid and softmax full (module-level sigmoid; softmax found as the static method);
# scalar forward/backward: full after reading (handout's derivatives reproduced); vectorised
# forward/backward: a person decides (stateful API, update inside backward). No silent 0/50.
# attention: off-template, renamed
import math
import numpy as np
from mlp_data import load_synth, load_mnist


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def softmax(z):
    ex = [math.exp(v) for v in z]
    return [v / sum(ex) for v in ex]


class TinyNet:
    def __init__(self):
        self.W1 = [[1., 1., 1.], [-1., -1., -1.]]
        self.b1 = [0., 0., 0.]
        self.W2 = [[1., 1.], [-1., -1.], [-1., -1.]]
        self.b2 = [0., 0.]

    def sigmoid(self, z):
        1 / (1 + math.exp(-z))

    def forward_propagation(self, inputs):
        pre = [sum(self.W1[i][j] * inputs[i] for i in range(2)) + self.b1[j] for j in range(3)]
        hidden = [sigmoid(v) for v in pre]
        logits = [sum(self.W2[i][j] * hidden[i] for i in range(3)) + self.b2[j] for j in range(2)]
        return hidden, softmax(logits)

    def backpropagation(self, x, y, pred, hidden_output):
        err = [pred[t] - y[t] for t in range(2)]
        dW2 = [[err[m] * hidden_output[j] for m in range(2)] for j in range(3)]
        dh = [hidden_output[j] * (1 - hidden_output[j]) * sum(err[m] * self.W2[j][m] for m in range(2))
              for j in range(3)]
        dW1 = [[dh[j] * x[i] for j in range(3)] for i in range(2)]
        return dW1, dh, dW2, err


net = TinyNet()
h, p = net.forward_propagation([1., -1.])
print(net.backpropagation([1., -1.], [1., 0.], p, h))


class TensorNet:
    def __init__(self, n_in, n_hidden, n_out):
        self.W1 = np.random.randn(n_in, n_hidden) * 0.01
        self.b1 = np.zeros((1, n_hidden))
        self.W2 = np.random.randn(n_hidden, n_out) * 0.01
        self.b2 = np.zeros((1, n_out))

    @staticmethod
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def softmax(x):
        ex = np.exp(x - x.max(axis=1, keepdims=True))
        return ex / ex.sum(axis=1, keepdims=True)

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = self.sigmoid(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.a2 = self.softmax(self.z2)
        return self.a2

    def backward(self, X, y, learning_rate):
        m = len(X)
        d2 = self.a2 - y
        d1 = (d2 @ self.W2.T) * self.a1 * (1 - self.a1)
        self.W2 -= learning_rate * self.a1.T @ d2 / m
        self.b2 -= learning_rate * d2.sum(axis=0, keepdims=True) / m
        self.W1 -= learning_rate * X.T @ d1 / m
        self.b1 -= learning_rate * d1.sum(axis=0, keepdims=True) / m


(xtrain, ytrain), (xval, yval), num_cls = load_mnist(final=False)
xtrain = xtrain / 255.0
targets = np.eye(num_cls)[ytrain]
tnet = TensorNet(784, 300, num_cls)
for epoch in range(2):
    for i in range(0, len(xtrain), 64):
        tnet.forward(xtrain[i:i + 64])
        tnet.backward(xtrain[i:i + 64], targets[i:i + 64], 0.03)
