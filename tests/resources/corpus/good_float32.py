# %% [markdown]
# Backpropagation in float32

# %%
import numpy as np
import MNISTtools

# %%
xtrain, ltrain = MNISTtools.load(dataset="training", path="/datasets/MNIST")
print(xtrain.shape, ltrain.shape, xtrain.dtype)

# %%
def normalize_MNIST_images(x):
    return (x.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)

xs = normalize_MNIST_images(xtrain[:, :60])
print(xs.min(), xs.max())

# %%
def label2onehot(lbl):
    d = np.zeros((10, lbl.size), dtype=np.float32)
    d[lbl, np.arange(lbl.size)] = 1
    return d

def onehot2label(d):
    return np.argmax(np.asarray(d, dtype=np.float32), axis=0)

ds = label2onehot(ltrain)[:, :60]

# %%
def softmax(a):
    a = np.asarray(a, dtype=np.float32)
    z = np.exp(a - a.max(axis=0, keepdims=True))
    return z / z.sum(axis=0, keepdims=True)

# %%
def softmaxp(a, e):
    e = np.asarray(e, dtype=np.float32)
    g = softmax(a)
    return g * e - (g * e).sum(axis=0, keepdims=True) * g

# %%
def relu(a):
    a = np.asarray(a, dtype=np.float32)
    return np.maximum(a, np.float32(0))

def relup(a, e):
    a = np.asarray(a, dtype=np.float32)
    e = np.asarray(e, dtype=np.float32)
    return e * (a > 0)

# %%
def init_shallow(Ni, Nh, No):
    b1 = np.random.randn(Nh, 1) / np.sqrt((Ni + 1.) / 2.)
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni + 1.) / 2.)
    b2 = np.random.randn(No, 1) / np.sqrt((Nh + 1.))
    W2 = np.random.randn(No, Nh) / np.sqrt((Nh + 1.))
    return tuple(p.astype(np.float32) for p in (W1, b1, W2, b2))

# %%
def forwardprop_shallow(x, net):
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float32) for p in net)
    x = np.asarray(x, dtype=np.float32)
    return softmax(W2.dot(relu(W1.dot(x) + b1)) + b2)

# %%
def eval_loss(y, d):
    y = np.asarray(y, dtype=np.float32)
    d = np.asarray(d, dtype=np.float32)
    return -np.mean(d * np.log(y))

# %%
def eval_perfs(y, lbl):
    return 100.0 * np.mean(onehot2label(y) != lbl)

# %%
def update_shallow(x, d, net, gamma=.05):
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float32) for p in net)
    x = np.asarray(x, dtype=np.float32)
    d = np.asarray(d, dtype=np.float32)
    step = np.float32(gamma / x.shape[1])
    a1 = W1.dot(x) + b1
    h1 = relu(a1)
    a2 = W2.dot(h1) + b2
    delta2 = softmaxp(a2, -d / softmax(a2))
    delta1 = relup(a1, W2.T.dot(delta2))
    return (W1 - step * delta1.dot(x.T), b1 - step * delta1.sum(axis=1, keepdims=True),
            W2 - step * delta2.dot(h1.T), b2 - step * delta2.sum(axis=1, keepdims=True))

# %%
def backprop_shallow(x, d, net, T, gamma=.05):
    lbl = onehot2label(d)
    for t in range(T):
        net = update_shallow(x, d, net, gamma)
        y = forwardprop_shallow(x, net)
        print("epoch", t, "loss", eval_loss(y, d), "error", eval_perfs(y, lbl))
    return net

# %%
def backprop_minibatch_shallow(x, d, net, T, B=100, gamma=.05):
    N = x.shape[1]
    NB = (N + B - 1) // B
    lbl = onehot2label(d)
    for t in range(T):
        order = np.random.permutation(range(N))
        for l in range(NB):
            batch = order[l * B:min((l + 1) * B, N)]
            net = update_shallow(x[:, batch], d[:, batch], net, gamma)
        y = forwardprop_shallow(x, net)
        print("epoch", t, "loss", eval_loss(y, d), "error", eval_perfs(y, lbl))
    return net

# %%
np.random.seed(0)
net0 = init_shallow(xs.shape[0], 16, 10)
net1 = backprop_shallow(xs, ds, net0, 2)
net2 = backprop_minibatch_shallow(xs, ds, net0, 1, B=20)
