# PATTERN: free-form script (the handout allows "a single python script"): no cell markers, the
# course loader imported under the gist's file name ("from data import load_synth"), parameters in a
# dict {'w','b','v','c'}, forward_pass(x, params, layer_sizes) returns a cache dict {'k','h','o','y'},
# backward_pass(x, y, params, cache, layer_sizes) returns a dict of gradients; the numpy version has
# forward_pass(X, params) / backward_pass(X, Y, params, cache, layer_sizes); work runs under
# "if __name__ == '__main__':".
# Seen in: Max-Faber/Deep-Learning-VU assignment_1/nn_plain_python.py and nn_mnist_2d.py
# (the same split of files in saurabhjain176/Deep-Learning-VU Backpropagation/).
# expect: the math is right (scalar derivatives equal the handout's numbers); a TA gives full marks for
# the scalar and vectorised forward/backward after reading. The grader cannot map a dict-of-params
# API onto the spec's (x, W, b, V, c) on its own: graded names absent -> no silent 0/50.
# attention: off-template (no graded name found), renamed if discovery maps forward_pass/backward_pass
import math
import numpy as np
from data import load_synth, load_mnist


def sigmoid(x):
    return 1. / (1. + math.exp(-x))


def softmax(O):
    total = sum(math.exp(o) for o in O)
    return [math.exp(o) / total for o in O]


def init_parameters():
    return {'w': [[1., 1., 1.], [-1., -1., -1.]], 'b': [0., 0., 0.],
            'v': [[1., 1.], [-1., -1.], [-1., -1.]], 'c': [0., 0.]}


def forward_pass(x, params, layer_sizes):
    n_in, n_hid, n_out = layer_sizes['n_inputs'], layer_sizes['n_hidden'], layer_sizes['n_outputs']
    k = [params['b'][j] + sum(params['w'][i][j] * x[i] for i in range(n_in)) for j in range(n_hid)]
    h = [sigmoid(v) for v in k]
    o = [params['c'][m] + sum(h[j] * params['v'][j][m] for j in range(n_hid)) for m in range(n_out)]
    return {'k': k, 'h': h, 'o': o, 'y': softmax(o)}


def backward_pass(x, y, params, cache, layer_sizes):
    n_in, n_hid, n_out = layer_sizes['n_inputs'], layer_sizes['n_hidden'], layer_sizes['n_outputs']
    do = [cache['y'][m] - (1. if m == y else 0.) for m in range(n_out)]
    dv = [[cache['h'][j] * do[m] for m in range(n_out)] for j in range(n_hid)]
    dh = [sum(params['v'][j][m] * do[m] for m in range(n_out)) for j in range(n_hid)]
    dk = [dh[j] * cache['h'][j] * (1. - cache['h'][j]) for j in range(n_hid)]
    dw = [[x[i] * dk[j] for j in range(n_hid)] for i in range(n_in)]
    return {'dw': dw, 'db': dk, 'dv': dv, 'dc': do}


def forward_pass_np(X, params):
    k = X @ params['w'] + params['b']
    h = 1. / (1. + np.exp(-k))
    o = h @ params['v'] + params['c']
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return {'k': k, 'h': h, 'o': o, 'y': e / e.sum(axis=-1, keepdims=True)}


def neural_network():
    sizes = {'n_inputs': 2, 'n_hidden': 3, 'n_outputs': 2}
    params = init_parameters()
    cache = forward_pass([1., -1.], params, sizes)
    grads = backward_pass([1., -1.], 0, params, cache, sizes)
    for name, g in grads.items():
        print(name, g)
    (xtrain, ytrain), (xval, yval), num_cls = load_synth()
    print(xtrain.shape, num_cls)


if __name__ == '__main__':
    neural_network()
