#!/usr/bin/env python3
# PATTERN: marker-less script built on the handout's numpy_nn_student.py. Data files named with
# MNIST's own "idx1" label spelling (t10k-labels.idx1-ubyte, not the handout's idx3). Tasks 3/4 as
# preprocess_input (min-max scaling) / preprocess_output; forward_pass_v2 returns the nested list
# [(a0, a1, a2, a3), (z1, z2)]; back_propagation(forward_res, expected_output) takes the forward
# result, as the handout's Task 10 literally says; weight_updates(back_res, learning_rate) sets the
# globals; error_rate(x, y) is compute_error; train(number_epoch, learning_rate) reads the global
# training arrays and is called at top level on the whole training set.
# Seen in: iamabsa/BDA_tp2 numpy_nn_student.py (history of 17 versions) and numphy_batches.py.
# expect: read_idx given (0 points), preprocess_images full (found as preprocess_input), one_hot_labels
# full (found as preprocess_output), layer_weights full, sigmoid full, dsigmoid full (sigmoid_prime),
# softmax partial (rows of a batch right; a single 1-D vector fails: axis=1 only), forward_pass full
# (found as forward_pass_v2, parts re-shaped), backpropagation full (found as back_propagation,
# parameters by meaning), update_weights full (found as weight_updates), compute_error full (found as
# error_rate), train: a person decides (own signature, globals), train_batched full (batch version:
# train with batch_size).
# attention: renamed, reshaped, defs-only-fallback if the top-level training is cut by the time limit
import struct
import time
import numpy as np
import matplotlib.pyplot as plt


def read_idx(filename):
    '''Reads an idx file and returns an ndarray'''
    with open(filename, 'rb') as f:
        zero, data_type, dims = struct.unpack('>HBB', f.read(4))
        shape = tuple(struct.unpack('>I', f.read(4))[0] for d in range(dims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


x_test = read_idx("t10k-images.idx3-ubyte")
y_test = read_idx("t10k-labels.idx1-ubyte")
x_train = read_idx("train-images.idx3-ubyte")
y_train = read_idx("train-labels.idx1-ubyte")
print(x_train.shape, y_train.shape, x_test.shape, y_test.shape)


def preprocess_input(images):
    flat = images.reshape(images.shape[0], -1).astype(float)
    lo, hi = flat.min(), flat.max()
    return (flat - lo) / (hi - lo)


def preprocess_output(labels):
    codes = np.zeros((len(labels), 10))
    codes[np.arange(len(labels)), labels] = 1
    return codes


x_train_prepro = preprocess_input(x_train)
x_test_prepro = preprocess_input(x_test)
y_train_prepro = preprocess_output(y_train)
y_test_prepro = preprocess_output(y_test)


def layer_weights(m, n):
    return np.random.standard_normal(size=(m, n)) / np.sqrt(n)


w1 = layer_weights(784, 128)
w2 = layer_weights(128, 64)
w3 = layer_weights(64, 10)


def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(x, -500, 500)))


def sigmoid_prime(x):
    x = np.clip(x, -500, 500)
    return np.exp(-x) / (np.exp(-x) + 1) ** 2


def softmax(x):
    shifted = np.exp(x - np.max(x, axis=1, keepdims=True))
    return shifted / np.sum(shifted, axis=1, keepdims=True)


def forward_pass_v2(inputs):
    z1 = inputs @ w1
    a1 = sigmoid(z1)
    z2 = a1 @ w2
    a2 = sigmoid(z2)
    out = softmax(a2 @ w3)
    return [(inputs, a1, a2, out), (z1, z2)]


def back_propagation(forward_res, expected_output):
    (a0, a1, a2, a3), (z1, z2) = forward_res
    e3 = a3 - expected_output
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)
    return [np.atleast_2d(a0).T @ np.atleast_2d(e1),
            np.atleast_2d(a1).T @ np.atleast_2d(e2),
            np.atleast_2d(a2).T @ np.atleast_2d(e3)]


def weight_updates(back_res, learning_rate):
    global w1, w2, w3
    w1 = w1 - learning_rate * back_res[0]
    w2 = w2 - learning_rate * back_res[1]
    w3 = w3 - learning_rate * back_res[2]


def error_rate(x, y):
    predicted = np.argmax(forward_pass_v2(x)[0][3], axis=1)
    return np.sum(predicted != np.argmax(y, axis=1)) / len(y)


def train(number_epoch, learning_rate, batch_size=64):
    n = x_train_prepro.shape[0]
    for epoch in range(number_epoch):
        start = time.time()
        for i in range(0, n, batch_size):
            res = forward_pass_v2(x_train_prepro[i:i + batch_size])
            weight_updates(back_propagation(res, y_train_prepro[i:i + batch_size]), learning_rate)
        print("epoch %d: error %f (%.1f s)" % (epoch + 1, error_rate(x_test_prepro, y_test_prepro), time.time() - start))


train(30, 0.001)
