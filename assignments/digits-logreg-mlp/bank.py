"""Mistake bank for `digits-logreg-mlp`: what students get wrong, and what is fine.

Samples are in ROWS (the handout's convention): X is (N, features), weights are
(inputs, outputs), labels are integers. Each variant changes one idea of the
reference. Seen in public copies of this notebook: `b_o` sized with the hidden
width (it runs only when hidden = classes = 10), the batch formulas `h.T @ g`
and `np.sum(g, axis=0)` applied to one 1-D sample, single-sample code built on
`np.outer` fed a mini-batch, biases and derivatives mixed up.

Method variants (`NeuralNet.*`) are written as plain functions taking `self`;
`grader selftest` appends `NeuralNet.m = _variant_m` to the notebook, which
`--defs-only` keeps.
"""
import numpy as np

from grader.checks.bank import accepted, mistake
from reference.digits_logreg_mlp import EPSILON, NeuralNet, dsigmoid, nll, one_hot, sigmoid, softmax  # noqa: F401

# ---------------------------------------------------------------- one-hot codes


@mistake("one_hot", "the one-hot codes are returned in columns (n_classes x N) instead of one row per label")
def one_hot_columns(n_classes, y):
    return np.eye(n_classes)[y].T


@mistake("one_hot", "the number of classes is taken from the labels (max + 1) instead of the n_classes argument")
def one_hot_classes_from_labels(n_classes, y):
    y = np.asarray(y)
    return np.eye(y.max() + 1)[y]


@mistake("one_hot", "a single label gives a (1, n_classes) row instead of a vector of n_classes")
def one_hot_single_row(n_classes, y):
    return np.eye(n_classes)[np.atleast_1d(y)]


# ---------------------------------------------------------------- softmax


@accepted("softmax", "the handout's softmax, without subtracting the max: exact on ordinary logits (it overflows only for logits near 700)")
def softmax_handout_no_shift(X):
    exp = np.exp(X)
    return exp / np.sum(exp, axis=-1, keepdims=True)


@mistake("softmax", "the batch is normalised down each column (axis=0) instead of along each row")
def softmax_columns(X):
    X = np.asarray(X, dtype=float)
    e = np.exp(X - X.max())
    return e / e.sum(axis=0, keepdims=True)


@mistake("softmax", "the sum is taken without keepdims=True: a (N,) vector cannot divide the (N, C) rows", named_by=("shape-mismatch",))
def softmax_no_keepdims(X):
    X = np.asarray(X, dtype=float)
    e = np.exp(X - X.max())
    return e / e.sum(axis=-1)


@mistake("softmax", "the whole batch is normalised by one sum instead of each row by its own")
def softmax_whole_batch(X):
    X = np.asarray(X, dtype=float)
    e = np.exp(X - X.max())
    return e / e.sum()


@mistake("softmax", "a plain Python list is used as an array (X.max()): convert the input with np.asarray first", named_by=("raises",))
def softmax_list_input(X):
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- negative log-likelihood


@accepted("nll", "no EPSILON inside the log: the same value whenever no predicted probability is 0")
def nll_no_epsilon(Y_true, Y_pred):
    Y_true, Y_pred = np.atleast_2d(Y_true), np.atleast_2d(Y_pred)
    return -np.mean(np.sum(Y_true * np.log(Y_pred), axis=1))


@mistake("nll", "the per-sample losses are summed instead of averaged (the one-sample version kept for batches)")
def nll_summed(Y_true, Y_pred):
    Y_true, Y_pred = np.atleast_2d(Y_true), np.atleast_2d(Y_pred)
    return -np.sum(Y_true * np.log(Y_pred + EPSILON))


@mistake("nll", "the mean is taken over every entry of the matrix, so it is also divided by the number of classes")
def nll_mean_over_classes(Y_true, Y_pred):
    Y_true, Y_pred = np.atleast_2d(Y_true), np.atleast_2d(Y_pred)
    return -np.mean(Y_true * np.log(Y_pred + EPSILON))


@mistake("nll", "the log is taken of the most probable prediction (max of Y_pred) instead of the true class's probability")
def nll_predicted_class(Y_true, Y_pred):
    Y_pred = np.atleast_2d(Y_pred)
    return -np.mean(np.log(Y_pred.max(axis=1) + EPSILON))


@mistake("nll", "the minus sign is missing: the log-likelihood is returned, not its negative")
def nll_no_minus(Y_true, Y_pred):
    Y_true, Y_pred = np.atleast_2d(Y_true), np.atleast_2d(Y_pred)
    return np.mean(np.sum(Y_true * np.log(Y_pred + EPSILON), axis=1))


# ---------------------------------------------------------------- sigmoid


@mistake("sigmoid", "exp(x) is used instead of exp(-x): this is sigmoid(-x)")
def sigmoid_exp_plus(X):
    return 1 / (1 + np.exp(X))


@mistake("sigmoid", "the derivative sigmoid(x) (1 - sigmoid(x)) is returned instead of the function")
def sigmoid_returns_derivative(X):
    s = 1 / (1 + np.exp(-X))
    return s * (1 - s)


@mistake("dsigmoid", "the second factor is 1 - x instead of 1 - sigmoid(x)")
def dsigmoid_one_minus_x(X):
    return sigmoid(X) * (1 - X)


@mistake("dsigmoid", "x (1 - x), the formula in terms of the activation, is applied to the pre-activation x that dsigmoid receives")
def dsigmoid_of_activation(X):
    return X * (1 - X)


@mistake("dsigmoid", "tanh's derivative formula 1 - f(x)**2 is used with the sigmoid")
def dsigmoid_tanh_formula(X):
    return 1 - sigmoid(X) ** 2


# ---------------------------------------------------------------- NeuralNet: construction


@mistake("NeuralNet.__init__", "b_o is sized with the hidden width instead of output_size (it only works when hidden = classes = 10)")
def init_b_o_hidden_width(self, input_size, hidden_size, output_size):
    self.W_h = np.random.uniform(size=(input_size, hidden_size), high=0.01, low=-0.01)
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
    self.b_o = np.zeros(hidden_size)
    self.output_size = output_size


@mistake("NeuralNet.__init__", "W_h is (hidden, input), the lecture's layout; with samples in rows X @ W_h needs (input, hidden)")
def init_w_h_transposed(self, input_size, hidden_size, output_size):
    self.W_h = np.random.uniform(size=(hidden_size, input_size), high=0.01, low=-0.01)
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
    self.b_o = np.zeros(output_size)
    self.output_size = output_size


@mistake("NeuralNet.__init__", "the biases are columns (size, 1) instead of vectors: one sample's output becomes 2-D")
def init_biases_as_columns(self, input_size, hidden_size, output_size):
    self.W_h = np.random.uniform(size=(input_size, hidden_size), high=0.01, low=-0.01)
    self.b_h = np.zeros((hidden_size, 1))
    self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
    self.b_o = np.zeros((output_size, 1))
    self.output_size = output_size


@mistake("NeuralNet.__init__", "every weight is drawn from uniform(low=-0.1, high=-0.1), one value: the hidden units start identical and stay identical", named_by=("init-constant",))
def init_constant_weights(self, input_size, hidden_size, output_size):
    self.W_h = np.random.uniform(size=(input_size, hidden_size), high=-0.1, low=-0.1)
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.random.uniform(size=(hidden_size, output_size), high=-0.1, low=-0.1)
    self.b_o = np.zeros(output_size)
    self.output_size = output_size


@mistake("NeuralNet.__init__", "the weights are zeros (the handout's experiment left in): every hidden unit computes the same thing for ever", named_by=("init-constant",))
def init_zero_weights(self, input_size, hidden_size, output_size):
    self.W_h = np.zeros((input_size, hidden_size))
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.zeros((hidden_size, output_size))
    self.b_o = np.zeros(output_size)
    self.output_size = output_size


@mistake("NeuralNet.__init__", "np.random.seed inside __init__: every network starts from the same weights", named_by=("init-same-every-call",))
def init_seeded_inside(self, input_size, hidden_size, output_size):
    np.random.seed(42)
    self.W_h = np.random.uniform(size=(input_size, hidden_size), high=0.01, low=-0.01)
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.random.uniform(size=(hidden_size, output_size), high=0.01, low=-0.01)
    self.b_o = np.zeros(output_size)
    self.output_size = output_size


@mistake("NeuralNet.__init__", "the weights are np.random.randn, unscaled: values of 1 to 4 saturate the sigmoids", named_by=("init-out-of-range",))
def init_unscaled_normal(self, input_size, hidden_size, output_size):
    self.W_h = np.random.randn(input_size, hidden_size)
    self.b_h = np.zeros(hidden_size)
    self.W_o = np.random.randn(hidden_size, output_size)
    self.b_o = np.zeros(output_size)
    self.output_size = output_size


# ---------------------------------------------------------------- NeuralNet: forward pass


@mistake("NeuralNet.forward_keep_activations", "h and z_h are returned in the wrong order: the tuple is (y, h, z_h)")
def fka_h_zh_swapped(self, X):
    z_h = np.dot(X, self.W_h) + self.b_h
    h = sigmoid(z_h)
    return softmax(np.dot(h, self.W_o) + self.b_o), z_h, h


@mistake("NeuralNet.forward_keep_activations", "the hidden bias b_h is left out of z_h")
def fka_no_hidden_bias(self, X):
    z_h = np.dot(X, self.W_h)
    h = sigmoid(z_h)
    return softmax(np.dot(h, self.W_o) + self.b_o), h, z_h


@mistake("NeuralNet.forward_keep_activations", "the output layer is fed z_h instead of h = sigmoid(z_h)")
def fka_output_from_preactivation(self, X):
    z_h = np.dot(X, self.W_h) + self.b_h
    h = sigmoid(z_h)
    return softmax(np.dot(z_h, self.W_o) + self.b_o), h, z_h


@mistake("NeuralNet.forward_keep_activations", "y is the output logits: the softmax is missing")
def fka_no_softmax(self, X):
    z_h = np.dot(X, self.W_h) + self.b_h
    h = sigmoid(z_h)
    return np.dot(h, self.W_o) + self.b_o, h, z_h


@mistake("NeuralNet.forward", "forward returns the whole (y, h, z_h) tuple instead of the probabilities y")
def forward_returns_tuple(self, X):
    return self.forward_keep_activations(X)


# ---------------------------------------------------------------- NeuralNet: loss


@mistake("NeuralNet.loss", "the per-sample losses are summed instead of averaged over the samples")
def loss_summed(self, X, y):
    Y = np.eye(self.output_size)[y]
    return -np.sum(Y * np.log(self.forward(X) + EPSILON))


@mistake("NeuralNet.loss", "the labels are one-hot coded with 10 classes written as a number instead of self.output_size", named_by=("shape-mismatch",))
def loss_ten_classes(self, X, y):
    return nll(one_hot(10, y), self.forward(X))


@mistake("NeuralNet.loss", "the mean is taken over samples and classes, so the loss is divided by the number of classes too")
def loss_mean_over_classes(self, X, y):
    Y = np.eye(self.output_size)[y]
    return -np.mean(Y * np.log(self.forward(X) + EPSILON))


# ---------------------------------------------------------------- NeuralNet: gradients
# One sample (x 1-D, y_true an int), written as the handout's solution does (np.outer),
# then the mini-batch exercise (x 2-D, y_true 1-D: the gradient of the batch MEAN).


@mistake("NeuralNet.grad_loss", "the sigmoid derivative is forgotten: the hidden gradient is not multiplied by dsigmoid(z_h)")
def grad_loss_no_dsigmoid(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_h, "W_o": np.outer(h, grad_z_o), "b_o": grad_z_o}


@mistake("NeuralNet.grad_loss", "dsigmoid is taken of the activation h instead of the pre-activation z_h")
def grad_loss_dsigmoid_of_h(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(h)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_h, "W_o": np.outer(h, grad_z_o), "b_o": grad_z_o}


@mistake("NeuralNet.grad_loss", "the W_o gradient is transposed: np.outer(grad_z_o, h) is (output, hidden), W_o is (hidden, output)")
def grad_loss_w_o_transposed(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_h, "W_o": np.outer(grad_z_o, h), "b_o": grad_z_o}


@mistake("NeuralNet.grad_loss", "the bias gradients are swapped: b_o gets the hidden-layer gradient (sized with the hidden width) and b_h the output one")
def grad_loss_bias_swapped(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_o, "W_o": np.outer(h, grad_z_o), "b_o": grad_z_h}


@mistake("NeuralNet.grad_loss", "the output error is one_hot - y instead of y - one_hot: every gradient has the wrong sign")
def grad_loss_sign(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = one_hot(self.output_size, y_true) - y
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_h, "W_o": np.outer(h, grad_z_o), "b_o": grad_z_o}


@mistake("NeuralNet.grad_loss", "the one-sample code (np.outer) is used on a mini-batch: np.outer flattens the batch, so it handles one sample only")
def grad_loss_single_sample_only(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": np.outer(x, grad_z_h), "b_h": grad_z_h, "W_o": np.outer(h, grad_z_o), "b_o": grad_z_o}


@mistake("NeuralNet.grad_loss", "the mini-batch gradients are summed over the samples, not averaged (divide by the batch size)")
def grad_loss_batch_summed(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    X, H = np.atleast_2d(x), np.atleast_2d(h)
    grad_z_o = np.atleast_2d(y - one_hot(self.output_size, y_true))
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(np.atleast_2d(z_h))
    return {"W_h": X.T @ grad_z_h, "b_h": grad_z_h.sum(axis=0), "W_o": H.T @ grad_z_o, "b_o": grad_z_o.sum(axis=0)}


@mistake("NeuralNet.grad_loss", "on a mini-batch the bias gradients keep one row per sample: they are not averaged over the batch")
def grad_loss_batch_bias_per_sample(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    X, H = np.atleast_2d(x), np.atleast_2d(h)
    n = X.shape[0]
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": X.T @ np.atleast_2d(grad_z_h) / n, "b_h": grad_z_h / n,
            "W_o": H.T @ np.atleast_2d(grad_z_o) / n, "b_o": grad_z_o / n}


@mistake("NeuralNet.grad_loss", "the batch formulas (h.T @ g, sum over axis 0) are applied to one 1-D sample: .T does nothing to a 1-D vector, so the shapes do not line up unless hidden = classes", named_by=("shape-mismatch",))
def grad_loss_1d_transpose(self, x, y_true):
    y, h, z_h = self.forward_keep_activations(x)
    grad_z_o = y - one_hot(self.output_size, y_true)
    grad_z_h = np.dot(grad_z_o, self.W_o.T) * dsigmoid(z_h)
    return {"W_h": np.dot(x.T, grad_z_h), "b_h": np.sum(grad_z_h, axis=0),
            "W_o": np.dot(h.T, grad_z_o), "b_o": np.sum(grad_z_o, axis=0)}



# ---------------------------------------------------------------- NeuralNet: SGD step


@mistake("NeuralNet.train", "the gradient is added instead of subtracted (gradient ascent)")
def train_ascent(self, x, y, learning_rate):
    grads = self.grad_loss(x, y)
    self.W_h = self.W_h + learning_rate * grads["W_h"]
    self.b_h = self.b_h + learning_rate * grads["b_h"]
    self.W_o = self.W_o + learning_rate * grads["W_o"]
    self.b_o = self.b_o + learning_rate * grads["b_o"]


@mistake("NeuralNet.train", "the output bias b_o is never updated")
def train_b_o_not_updated(self, x, y, learning_rate):
    grads = self.grad_loss(x, y)
    self.W_h = self.W_h - learning_rate * grads["W_h"]
    self.b_h = self.b_h - learning_rate * grads["b_h"]
    self.W_o = self.W_o - learning_rate * grads["W_o"]


@mistake("NeuralNet.train", "the new weights go into local variables (W_h = ...) instead of self.W_h: the model never changes")
def train_local_variables(self, x, y, learning_rate):
    grads = self.grad_loss(x, y)
    W_h = self.W_h - learning_rate * grads["W_h"]  # noqa: F841
    b_h = self.b_h - learning_rate * grads["b_h"]  # noqa: F841
    W_o = self.W_o - learning_rate * grads["W_o"]  # noqa: F841
    b_o = self.b_o - learning_rate * grads["b_o"]  # noqa: F841


@mistake("NeuralNet.train", "the learning rate is ignored: each step subtracts the whole gradient")
def train_no_learning_rate(self, x, y, learning_rate):
    grads = self.grad_loss(x, y)
    self.W_h = self.W_h - grads["W_h"]
    self.b_h = self.b_h - grads["b_h"]
    self.W_o = self.W_o - grads["W_o"]
    self.b_o = self.b_o - grads["b_o"]


# ---------------------------------------------------------------- NeuralNet: predictions


@mistake("NeuralNet.predict", "predict returns the class probabilities instead of the most probable class")
def predict_probabilities(self, X):
    return self.forward(X)


@mistake("NeuralNet.predict", "the argmax of a batch is taken down the columns (axis=0): one answer per class instead of per sample")
def predict_axis_0(self, X):
    return np.argmax(self.forward(X), axis=0)


@mistake("NeuralNet.predict", "argmax(axis=1) is applied to a single sample, whose 1-D probabilities have no axis 1", named_by=("raises",))
def predict_batch_only(self, X):
    return np.argmax(self.forward(X), axis=1)


@mistake("NeuralNet.accuracy", "accuracy is the number of correct predictions instead of their fraction")
def accuracy_count(self, X, y):
    return np.sum(np.argmax(self.forward(X), axis=1) == y)


@mistake("NeuralNet.accuracy", "accuracy is a percentage (0-100) instead of a fraction (0-1)")
def accuracy_percent(self, X, y):
    return 100 * np.mean(np.argmax(self.forward(X), axis=1) == y)


@mistake("NeuralNet.accuracy", "the error rate (fraction of wrong predictions) is returned instead of the accuracy")
def accuracy_error_rate(self, X, y):
    return np.mean(np.argmax(self.forward(X), axis=1) != y)
