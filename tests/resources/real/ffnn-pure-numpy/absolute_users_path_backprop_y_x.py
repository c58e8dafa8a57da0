#!/usr/bin/env python3
#%%
# PATTERN: the handout's template run in an editor with a single "#%%" at the top (and one at the
# end), data read from absolute paths on the student's laptop (/Users/<name>/.../mnist/...).
# layer_weight (singular) draws np.random.normal(0, 1/sqrt(n), (m, n)) (the same stream as randn);
# derivative_sigmoid; softmax normalises over the whole array (right for one vector, wrong for a
# batch); forward_pass returns (z1, a1, z2, a2, a3) (five values, no z3); backpropagation(y, x) takes
# the label FIRST, runs forward_pass itself and applies the update (returns the new weights, not the
# changes); weight_update hard-codes the learning rate 0.001; compute_error returns a percentage;
# train(x, y, nbEpoch) has no test set and no learning rate.
# Seen in: hugo-legrd/Neural-Network-MNIST numpy_nn_student.py; the /Users paths, "#%%" and
# layer_weights via np.random.normal also in JulienEsbt/Neural-Networks-in-Pure-NumPy numpy_nn_Esterbet.py.
# expect: layer_weights full (found as layer_weight), sigmoid full, dsigmoid full
# (derivative_sigmoid), softmax partial (one vector right, batch rows wrong), forward_pass full
# (a3 and the named parts right; 5-tuple), backpropagation partial (changes computed right but applied,
# not returned; arguments (y, x) matched by name), update_weights partial (learning rate fixed at 0.001),
# compute_error full or nearly (percentage instead of a fraction: a note), train: a person decides,
# train_batched not attempted, preprocess_images: not a function (inline) -> not attempted,
# one_hot_labels full (found as outputPreProcessing).
# attention: renamed, reshaped, data path (served from the absolute path)
import struct
import numpy as np
import matplotlib.pyplot as plt
import timeit


def read_idx(filename):
    '''Reads an idx file and returns an ndarray'''
    with open(filename, 'rb') as f:
        zero, data_type, dims = struct.unpack('>HBB', f.read(4))
        shape = tuple(struct.unpack('>I', f.read(4))[0] for d in range(dims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


DATA = "/Users/somestudent/Documents/M1/BDA/TP2/mnist/"
x_test = read_idx(DATA + "t10k-images.idx3-ubyte")
y_test = read_idx(DATA + "t10k-labels.idx1-ubyte")
x_train = read_idx(DATA + "train-images.idx3-ubyte")
y_train = read_idx(DATA + "train-labels.idx1-ubyte")

plt.imshow(x_train[0])

x_train_flat = x_train.reshape(len(x_train), 784) / 255
x_test_flat = x_test.reshape(len(x_test), 784) / 255


def outputPreProcessing(labels):
    table = np.zeros((len(labels), 10), dtype=int)
    table[np.arange(len(labels)), labels] = 1
    return table


y_train_hot = outputPreProcessing(y_train)
y_test_hot = outputPreProcessing(y_test)


def layer_weight(m, n):
    return np.random.normal(0, 1 / np.sqrt(n), (m, n))


w1 = layer_weight(784, 128)
w2 = layer_weight(128, 64)
w3 = layer_weight(64, 10)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    ex = np.exp(x - np.max(x))
    return ex / np.sum(ex)


def derivative_sigmoid(x):
    return np.exp(-x) / ((np.exp(-x) + 1) ** 2)


def forward_pass(x):
    z1 = np.dot(x, w1)
    a1 = sigmoid(z1)
    z2 = np.dot(a1, w2)
    a2 = sigmoid(z2)
    a3 = softmax(np.dot(a2, w3))
    return z1, a1, z2, a2, a3


def weight_update(w1, w2, w3, dW1, dW2, dW3):
    w1 -= 0.001 * dW1
    w2 -= 0.001 * dW2
    w3 -= 0.001 * dW3
    return w1, w2, w3


def backpropagation(y, x):
    z1, a1, z2, a2, a3 = forward_pass(x)
    e3 = a3 - y
    dW3 = np.outer(a2, e3)
    e2 = np.dot(e3, w3.T) * derivative_sigmoid(z2)
    dW2 = np.outer(a1, e2)
    e1 = np.dot(e2, w2.T) * derivative_sigmoid(z1)
    dW1 = np.outer(x, e1)
    return weight_update(w1, w2, w3, dW1, dW2, dW3)


def compute_error(x, y):
    a3 = forward_pass(x)[-1]
    return np.mean(np.argmax(a3, axis=1) != np.argmax(y, axis=1)) * 100


def train(x, y, nbEpoch):
    for epoch in range(nbEpoch):
        start = timeit.default_timer()
        for j in range(len(x)):
            backpropagation(y[j], x[j])
        print("epoch", epoch, "error", compute_error(x, y), timeit.default_timer() - start, "s")

#train(x_train_flat, y_train_hot, 30)
#%%
