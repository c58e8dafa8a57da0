# PATTERN (issue 22 item 5): a free-form 004 script whose scalar network takes its parameters in an
# order and under names of its own: forward_pass(x, bias1, bias2, w, v, target) returns the loss and
# a cache of the activations, backward_pass(x, bias1, bias2, w, v, target) returns the gradients as a
# dict {'dw', 'dbias1', 'dv', 'dbias2'}; plain Python lists and loops, as the handout's part 1 asks.
# The vectorised part is not written (the student stopped after part 1).
# Seen in: held-out 004 scripts (issue 22: forward_pass(x, bias1, bias2, w, v, target) / backward_pass).
# expect: scalar_forward (as forward_pass) and scalar_backward (as backward_pass) full, bound by meaning;
# sigmoid and softmax are scalar ones (math.exp): a person decides; the rest is not written.
# attention: off-template, renamed, reshaped (how each was bound)
import math

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def softmax(o):
    top = max(o)
    exps = [math.exp(v - top) for v in o]
    total = sum(exps)
    return [e / total for e in exps]


def forward_pass(x, bias1, bias2, w, v, target):
    k = [bias1[j] + sum(x[i] * w[i][j] for i in range(len(x))) for j in range(len(bias1))]
    h = [sigmoid(kj) for kj in k]
    o = [bias2[m] + sum(h[j] * v[j][m] for j in range(len(h))) for m in range(len(bias2))]
    y = softmax(o)
    loss = -math.log(y[target])
    return loss, {"k": k, "h": h, "o": o, "y": y}


def backward_pass(x, bias1, bias2, w, v, target):
    _, cache = forward_pass(x, bias1, bias2, w, v, target)
    h, y = cache["h"], cache["y"]
    do = [y[m] - (1.0 if m == target else 0.0) for m in range(len(y))]
    dv = [[h[j] * do[m] for m in range(len(y))] for j in range(len(h))]
    dh = [sum(v[j][m] * do[m] for m in range(len(y))) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    dw = [[x[i] * dk[j] for j in range(len(h))] for i in range(len(x))]
    return {"dw": dw, "dbias1": dk, "dv": dv, "dbias2": do}


x = [1.0, -1.0]
w = [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]
v = [[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]]
grads = backward_pass(x, [0.0, 0.0, 0.0], [0.0, 0.0], w, v, 0)
print(grads["dv"], grads["dbias2"])
