# PATTERN: the handout's data loader pasted at the top of the student's own script (the gist the
# handout links: load_synth casting labels with .astype(np.int); load_mnist downloading the idx
# files with urllib and pickling them to mnist.pkl), then a top-level call load_synth() BEFORE the
# student's definitions. With NumPy >= 1.24, np.int is gone: the call raises AttributeError, and in a
# marker-less script every later definition is lost. The loader below is the project's own
# paraphrase with the same three features (np.int, urlretrieve, pickle.dump).
# Seen in: Max-Faber/Deep-Learning-VU assignment_1/data.py, martonymous/VU-DeepLearning-2021
# assignment1/code/util.py, saurabhjain176/Deep-Learning-VU Backpropagation/data.py (np.int,
# urlretrieve and pickle.dump in the handout loader of every one of them).
# expect: scalar_forward, scalar_backward full (the student's functions below have the spec's
# signatures), sigmoid and softmax full; no network / writes-files integrity flag for the handout's
# loader code; the np.int failure is "the machine's NumPy", not the student's: definitions graded.
# attention: defs-only-fallback
import gzip
import math
import os
import pickle
from urllib import request

import numpy as np


def load_synth(num_train=60_000, num_val=10_000, seed=0):
    np.random.seed(seed)
    quad = np.asarray([[1, -0.05], [1, .4]])
    x = np.random.randn(num_train + num_val, 2)
    y = (np.einsum('bf,fk,bk->b', x, quad, x) > 0.6).astype(np.int)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2


FILES = ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def load_mnist(final=False, flatten=True):
    if not os.path.isfile("mnist.pkl"):
        for name in FILES:
            request.urlretrieve("http://yann.lecun.com/exdb/mnist/" + name, name)
        arrays = {}
        for name in FILES:
            with gzip.open(name, "rb") as f:
                arrays[name] = np.frombuffer(f.read(), np.uint8, offset=16 if "images" in name else 8)
        with open("mnist.pkl", "wb") as f:
            pickle.dump(arrays, f)
    with open("mnist.pkl", "rb") as f:
        arrays = pickle.load(f)
    xtr, xte = arrays[FILES[0]].reshape(-1, 784), arrays[FILES[1]].reshape(-1, 784)
    ytr, yte = arrays[FILES[2]], arrays[FILES[3]]
    if not final:
        return (xtr[:-5000], ytr[:-5000]), (xtr[-5000:], ytr[-5000:]), 10
    return (xtr, ytr), (xte, yte), 10


(xtrain, ytrain), (xval, yval), num_cls = load_synth()
print("synthetic data", xtrain.shape, ytrain[:10])


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    return 1.0 / (1.0 + np.exp(-x))


def softmax(o):
    o = np.asarray(o, dtype=float)
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def scalar_forward(x, W, b, V, c):
    k = [b[j] + sum(x[i] * W[i][j] for i in range(len(x))) for j in range(len(b))]
    h = [1.0 / (1.0 + math.exp(-v)) for v in k]
    o = [c[m] + sum(h[j] * V[j][m] for j in range(len(h))) for m in range(len(c))]
    z = sum(math.exp(v) for v in o)
    return k, h, o, [math.exp(v) / z for v in o]


def scalar_backward(x, W, b, V, c, target):
    k, h, o, y = scalar_forward(x, W, b, V, c)
    do = [y[m] - (1.0 if m == target else 0.0) for m in range(len(y))]
    dV = [[h[j] * do[m] for m in range(len(do))] for j in range(len(h))]
    dk = [h[j] * (1 - h[j]) * sum(V[j][m] * do[m] for m in range(len(do))) for j in range(len(h))]
    dW = [[x[i] * dk[j] for j in range(len(dk))] for i in range(len(x))]
    return dW, dk, dV, do


print(scalar_backward([1., -1.], [[1., 1., 1.], [-1., -1., -1.]], [0., 0., 0.],
                      [[1., 1.], [-1., -1.], [-1., -1.]], [0., 0.], 0))
