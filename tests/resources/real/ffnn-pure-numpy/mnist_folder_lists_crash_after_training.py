#!/usr/bin/env python3
# PATTERN: marker-less script: all definitions first, then a "MAIN" part that reads the data from a
# ./mnist/ sub-folder, trains 60 epochs of mini-batches at top level, then calls a helper that needs an
# argument it is not given (TypeError) before the last evaluation lines.
# forward_pass always works on rows (a 1-D input becomes (1, 784)) and returns [(z1, z2, z3),
# (a1, a2, a3)]; backpropagation(actual_input, activation, z, actual_output) takes the forward results
# (as Task 10 says); update_weight(w1, w2, w3, dw1, dw2, dw3, learning_rate) works in place and returns
# the weights; train(x_train, y_train, num_epochs, learning_rate) and batch_training(...) update the
# globals; no test-set arguments.
# Seen in: dalirennes/DBA-TP2 numpy_nn_student_MuhammadIhtishamAlamKhan_and_DaLi.py.
# expect: preprocess_images full (input_preprocessing), one_hot_labels full (output_preprocessing),
# layer_weights full, sigmoid full, dsigmoid full (sigmoid_prime), softmax full, forward_pass full
# (re-shaped: lists, rows), backpropagation full (parameters by meaning), update_weights full
# (update_weight), compute_error full, train full or a person decides (no test set), train_batched
# full (batch_training).
# attention: renamed, reshaped, defs-only-fallback (top-level training too long / the crash after it
# must not cost the definitions)
import struct
import time
import numpy as np


def read_idx(filename):
    '''Reads an idx file and returns an ndarray'''
    with open(filename, 'rb') as f:
        zero, data_type, dims = struct.unpack('>HBB', f.read(4))
        shape = tuple(struct.unpack('>I', f.read(4))[0] for d in range(dims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


def input_preprocessing(images):
    return images.reshape(images.shape[0], -1) / 255


def output_preprocessing(labels):
    out = np.zeros((labels.size, 10), dtype=int)
    out[np.arange(labels.size), labels] = 1
    return out


def layer_weights(m, n):
    return np.random.randn(m, n) * (1 / np.sqrt(n))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    ex = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return ex / np.sum(ex, axis=-1, keepdims=True)


def sigmoid_prime(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


def forward_pass(inp):
    if inp.ndim == 1:
        inp = inp.reshape(1, -1)
    z1 = inp @ w1
    a1 = sigmoid(z1)
    z2 = a1 @ w2
    a2 = sigmoid(z2)
    z3 = a2 @ w3
    a3 = softmax(z3)
    return [(z1, z2, z3), (a1, a2, a3)]


def backpropagation(actual_input, activation, z, actual_output):
    e3 = activation[-1] - actual_output
    dw3 = activation[-2].T @ e3
    e2 = (e3 @ w3.T) * sigmoid_prime(z[-2])
    dw2 = activation[0].T @ e2
    e1 = (e2 @ w2.T) * sigmoid_prime(z[0])
    dw1 = np.atleast_2d(actual_input).T @ e1
    return dw1, dw2, dw3


def update_weight(w1, w2, w3, dw1, dw2, dw3, learning_rate):
    w1 -= learning_rate * dw1
    w2 -= learning_rate * dw2
    w3 -= learning_rate * dw3
    return w1, w2, w3


def compute_error(x, y):
    predictions = forward_pass(x)[1][-1]
    return np.sum(np.argmax(predictions, axis=1) != np.argmax(y, axis=1)) / len(y)


def train(x_train, y_train, num_epochs=30, learning_rate=0.001):
    global w1, w2, w3
    for epoch in range(num_epochs):
        for i in range(x_train.shape[0]):
            row = x_train[i].reshape(1, -1)
            target = y_train[i].reshape(1, -1)
            zs, acts = forward_pass(row)
            dw1, dw2, dw3 = backpropagation(row, acts, zs, target)
            w1, w2, w3 = update_weight(w1, w2, w3, dw1, dw2, dw3, learning_rate)
        print(f"epoch {epoch + 1}: error {compute_error(x_train, y_train):f}")


def batch_training(x_train, y_train, num_epochs=30, learning_rate=0.001, batch_size=30):
    global w1, w2, w3
    for epoch in range(num_epochs):
        for i in range(0, x_train.shape[0], batch_size):
            xb, yb = x_train[i:i + batch_size], y_train[i:i + batch_size]
            zs, acts = forward_pass(xb)
            dw1, dw2, dw3 = backpropagation(xb, acts, zs, yb)
            w1, w2, w3 = update_weight(w1, w2, w3, dw1, dw2, dw3, learning_rate)
        print(f"epoch {epoch + 1}: error {compute_error(x_train, y_train):f}")


def save_model(self, filename="weights.npz"):
    np.savez(filename, w1=self.w1, w2=self.w2, w3=self.w3)


# ------ MAIN ------
x_train = read_idx("./mnist/train-images.idx3-ubyte")
y_train = read_idx("./mnist/train-labels.idx1-ubyte")
x_test = read_idx("./mnist/t10k-images.idx3-ubyte")
y_test = read_idx("./mnist/t10k-labels.idx1-ubyte")

x_train = input_preprocessing(x_train)
x_test = input_preprocessing(x_test)
y_train = output_preprocessing(y_train)
y_test = output_preprocessing(y_test)

w1 = layer_weights(784, 128)
w2 = layer_weights(128, 64)
w3 = layer_weights(64, 10)

batch_training(x_train, y_train, num_epochs=60, learning_rate=0.001, batch_size=30)
save_model()

print("test error", compute_error(x_test, y_test))
