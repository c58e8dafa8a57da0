# PATTERN: NeuralNet.__init__ draws its weights with uniform(low=-0.1, high=-0.1): a range of width
# zero, so every weight is -0.1, the hidden units compute the same value and get the same gradient,
# and they never come apart. Shapes are right; everything else in the class is right.
# Seen in: issue 22 item 3 (a held-out 002 submission read by a TA).
# expect: NeuralNet.__init__ PARTIAL (shapes right; the draws check fails: "every value of W_h is the
# same (-0.1), so the hidden units start identical and stay identical"), everything else full.
# Before issue 22: full marks for __init__ (shapes alone were compared).
# attention: none
# %%
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.15, random_state=37)
# %%
def one_hot(n_classes, y):
    return np.eye(n_classes)[y]


def softmax(X):
    shifted = X - np.max(X, axis=-1, keepdims=True)
    ex = np.exp(shifted)
    return ex / ex.sum(axis=-1, keepdims=True)


EPSILON = 1e-8


def nll(Y_true, Y_pred):
    Y_true, Y_pred = np.atleast_2d(Y_true), np.atleast_2d(Y_pred)
    per_sample = -np.sum(Y_true * np.log(Y_pred + EPSILON), axis=1)
    return per_sample.mean()
# %%
def sigmoid(X):
    return 1 / (1 + np.exp(-X))


def dsigmoid(X):
    return sigmoid(X) * (1 - sigmoid(X))
# %%
class NeuralNet():
    """MLP with 1 hidden layer with a sigmoid activation"""

    def __init__(self, input_size, hidden_size, output_size):
        self.W_h = np.random.uniform(size=(input_size, hidden_size), low=-0.1, high=-0.1)
        self.b_h = np.zeros(hidden_size)
        self.W_o = np.random.uniform(size=(hidden_size, output_size), low=-0.1, high=-0.1)
        self.b_o = np.zeros(output_size)
        self.output_size = output_size

    def forward_keep_activations(self, X):
        z_h = X @ self.W_h + self.b_h
        h = sigmoid(z_h)
        y = softmax(h @ self.W_o + self.b_o)
        return y, h, z_h

    def forward(self, X):
        y, h, z_h = self.forward_keep_activations(X)
        return y

    def loss(self, X, y):
        return nll(one_hot(self.output_size, y), self.forward(X))

    def grad_loss(self, x, y_true):
        y, h, z_h = self.forward_keep_activations(x)
        delta_o = y - one_hot(self.output_size, y_true)
        delta_h = (self.W_o @ delta_o) * dsigmoid(z_h)
        return {"W_h": np.outer(x, delta_h), "b_h": delta_h,
                "W_o": np.outer(h, delta_o), "b_o": delta_o}

    def train(self, x, y, learning_rate):
        grads = self.grad_loss(x, y)
        self.W_h = self.W_h - learning_rate * grads["W_h"]
        self.b_h = self.b_h - learning_rate * grads["b_h"]
        self.W_o = self.W_o - learning_rate * grads["W_o"]
        self.b_o = self.b_o - learning_rate * grads["b_o"]

    def predict(self, X):
        if len(X.shape) == 1:
            return np.argmax(self.forward(X))
        else:
            return np.argmax(self.forward(X), axis=1)

    def accuracy(self, X, y):
        y_preds = np.argmax(self.forward(X), axis=1)
        return np.mean(y_preds == y)
# %%
model = NeuralNet(X_train.shape[1], 10, 10)
for epoch in range(3):
    for i, (x, y) in enumerate(zip(X_train, y_train)):
        model.train(x, y, 0.1)
    print(epoch, model.loss(X_train, y_train), model.accuracy(X_test, y_test))
# all hidden columns of W_h are still equal:
print(np.allclose(model.W_h, model.W_h[:, :1]))
