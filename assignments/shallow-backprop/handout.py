# The handout's own code for 000/001 (MNIST shallow backprop), transcribed: init_shallow is given
# whole; backprop_shallow's loop is dictated line by line by the handout's instructions ("using
# update_shallow ... print the loss and the percentage of training errors at each iteration"), so
# its obvious completion is the handout's code too: a notebook that writes exactly that is not
# copying. Read by the grader, never run.
import numpy as np


def init_shallow(Ni, Nh, No):
    b1 = np.random.randn(Nh, 1) / np.sqrt((Ni+1.)/2.)
    W1 = np.random.randn(Nh, Ni) / np.sqrt((Ni+1.)/2.)
    b2 = np.random.randn(No, 1) / np.sqrt((Nh+1.))
    W2 = np.random.randn(No, Nh) / np.sqrt((Nh+1.))
    return W1, b1, W2, b2


def backprop_shallow(x, d, net, T, gamma=.05):
    lbl = onehot2label(d)
    for t in range(T):
        net = update_shallow(x, d, net, gamma)
        y = forwardprop_shallow(x, net)
        print(eval_loss(y, d), eval_perfs(y, lbl))
    return net
