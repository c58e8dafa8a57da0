#!/usr/bin/env python
# coding: utf-8
# PATTERN: nbconvert export ("# In[n]:" markers), MNISTtools.load with a relative data folder
# (path="../mnist"), normalisation written as (x - 127.5) / 127.5 in float64, everything else done.
# Seen in: YeonhuiKim/KPUworkshop assignment1.py (also the folder pattern in c-j-b/ECE285 Lab2.ipynb).
# expect: every graded function full (float64 normalisation accepted with a note); score 50/50
# attention: none

# In[1]:


import numpy as np
import MNISTtools


# In[2]:


xtrain, ltrain = MNISTtools.load(dataset="training", path="../mnist")
print(xtrain.shape, ltrain.shape)


# In[3]:


def normalize_MNIST_images(x):
    centre = 255.0 / 2
    return ((x - centre) / centre).astype(np.float64)


def label2onehot(lbl):
    out = np.zeros((10, lbl.size))
    out[lbl, np.arange(lbl.size)] = 1
    return out


def onehot2label(d):
    return np.argmax(d, axis=0)


xtrain = normalize_MNIST_images(xtrain)
dtrain = label2onehot(ltrain)


# In[4]:


def softmax(a):
    shifted = np.exp(a - np.max(a, axis=0))
    return shifted / np.sum(shifted, axis=0)


def softmaxp(a, e):
    g = softmax(a)
    return g * (e - np.sum(g * e, axis=0))


def relu(a):
    return np.where(a > 0, a, 0.0)


def relup(a, e):
    return np.where(a > 0, e, 0.0)


# In[5]:


def init_shallow(Ni, Nh, No):
    b1 = np.random.randn(Nh, 1) / np.sqrt((Ni + 1.) / 2.)
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni + 1.) / 2.)
    b2 = np.random.randn(No, 1) / np.sqrt((Nh + 1.))
    W2 = np.random.randn(No, Nh) / np.sqrt((Nh + 1.))
    return W1, b1, W2, b2


def forwardprop_shallow(x, net):
    W1, b1, W2, b2 = net
    hidden = relu(W1 @ x + b1)
    return softmax(W2 @ hidden + b2)


netinit = init_shallow(xtrain.shape[0], 64, 10)
yinit = forwardprop_shallow(xtrain, netinit)


# In[6]:


def eval_loss(y, d):
    return -np.sum(d * np.log(y)) / y.size


def eval_perfs(y, lbl):
    return 100.0 * np.mean(onehot2label(y) != lbl)


print(eval_loss(yinit, dtrain), eval_perfs(yinit, ltrain))


# In[7]:


def update_shallow(x, d, net, gamma=.05):
    W1, b1, W2, b2 = net
    step = gamma / x.shape[1]
    a1 = W1 @ x + b1
    h1 = relu(a1)
    a2 = W2 @ h1 + b2
    y = softmax(a2)
    delta2 = softmaxp(a2, -d / y)
    delta1 = relup(a1, W2.T @ delta2)
    W2 = W2 - step * (delta2 @ h1.T)
    b2 = b2 - step * delta2.sum(axis=1, keepdims=True)
    W1 = W1 - step * (delta1 @ x.T)
    b1 = b1 - step * delta1.sum(axis=1, keepdims=True)
    return W1, b1, W2, b2


def backprop_shallow(x, d, net, T, gamma=.05):
    lbl = onehot2label(d)
    for t in range(T):
        net = update_shallow(x, d, net, gamma)
        y = forwardprop_shallow(x, net)
        print(t, eval_loss(y, d), eval_perfs(y, lbl))
    return net


# In[ ]:


nettrain = backprop_shallow(xtrain, dtrain, netinit, 3)


# In[ ]:


def backprop_minibatch_shallow(x, d, net, T, B=100, gamma=.05):
    N = x.shape[1]
    NB = (N + B - 1) // B
    lbl = onehot2label(d)
    for t in range(T):
        order = np.random.permutation(N)
        for l in range(NB):
            idx = order[l * B:min((l + 1) * B, N)]
            net = update_shallow(x[:, idx], d[:, idx], net, gamma)
        y = forwardprop_shallow(x, net)
        print(t, eval_loss(y, d), eval_perfs(y, lbl))
    return net


netminibatch = backprop_minibatch_shallow(xtrain, dtrain, netinit, 1, B=100)
