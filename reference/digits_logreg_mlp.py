"""Reference for `digits-logreg-mlp`: logistic regression and a sigmoid MLP on sklearn's 8x8 digits.

Conventions (the handout's): samples are in ROWS, X is (N, 64), weights are
(inputs, outputs) so logits are X @ W + b. Labels are integers; `one_hot`
turns them into rows. Losses are the MEAN negative log-likelihood over samples,
with EPSILON = 1e-8 added inside the log as the handout's solution does.
`grad_loss` is the gradient of the per-sample loss -log p(y_true | x) with
respect to each parameter; for a batch (2-D x, 1-D labels) it is the gradient
of the batch MEAN. Randomness: the model constructors draw from numpy's global
RNG (as the handout does) unless an explicit `rng` Generator is passed.

Figures: one epoch of per-sample SGD at lr 0.01 gives test accuracy ~0.95 for
the logistic regression; NeuralNet(64, 10, 10) trained 15 epochs at lr 0.1,
samples in X_train order (no shuffling, as in the handout), gives ~0.96.
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-8
Grads = dict[str, np.ndarray]


# ----------------------------------------------------------------- data + math

def load_digits_split(test_size: float = 0.15, random_state: int = 37):
    """sklearn digits as float32 rows standardised on train: (X_train, X_test, y_train, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    X = np.asarray(digits.data, dtype=np.float32)
    y = np.asarray(digits.target, dtype=np.int32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def one_hot(n_classes: int, y) -> np.ndarray:
    """Rows of the identity: one_hot(n, y)[i] = e_{y[i]}, shape y.shape + (n,), float."""
    return np.eye(n_classes)[np.asarray(y)]


def softmax(X) -> np.ndarray:
    """exp(x_i) / sum_j exp(x_j) along the last axis; 1-D vector or (N, C) rows."""
    X = np.asarray(X, dtype=float)
    # subtracting the row max leaves the result unchanged and keeps exp() <= 1
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def nll(Y_true, Y_pred) -> float:
    """Mean over rows of -sum_c Y_true[c] log(Y_pred[c] + EPSILON); 1-D means one sample."""
    Y_true = np.atleast_2d(np.asarray(Y_true, dtype=float))
    Y_pred = np.atleast_2d(np.asarray(Y_pred, dtype=float))
    return float(-np.mean(np.sum(Y_true * np.log(Y_pred + EPSILON), axis=1)))


def sigmoid(X) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise."""
    X = np.asarray(X, dtype=float)
    # exp of -|x| only: no overflow, and full relative precision in both tails
    e = np.exp(-np.abs(X))
    return np.where(X >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dsigmoid(X) -> np.ndarray:
    """d sigmoid / dx at the pre-activation x: sigmoid(x) * (1 - sigmoid(x)) = e^-|x| / (1 + e^-|x|)^2."""
    # S' is even, so exp(-|x|) gives the same value without overflow or the cancellation in 1 - S
    e = np.exp(-np.abs(np.asarray(X, dtype=float)))
    return e / (1.0 + e) ** 2

def _uniform(rng, low: float, high: float, size) -> np.ndarray:
    """Uniform draws from rng, or from numpy's global RNG (the handout's) when rng is None."""
    source = np.random if rng is None else rng
    return source.uniform(low=low, high=high, size=size)


def _batch_grads(x, y_true, n_classes: int, y_pred) -> tuple[np.ndarray, np.ndarray, int]:
    """Shared start of grad_loss: rows of x, dL/dlogits = y_pred - one_hot, and the batch size."""
    X = np.atleast_2d(x)
    G = np.atleast_2d(y_pred - one_hot(n_classes, y_true))
    return X, G, X.shape[0]


class _Classifier:
    """Shared predict / accuracy / loss / SGD step for models with a `forward` and `grad_loss`."""

    output_size: int

    def forward(self, X):  # pragma: no cover - overridden
        raise NotImplementedError

    def grad_loss(self, x, y_true) -> Grads:  # pragma: no cover - overridden
        raise NotImplementedError

    def predict(self, X):
        """Most probable class: argmax of forward(X) (an int for one sample, (N,) for rows)."""
        X = np.asarray(X)
        return np.argmax(self.forward(X)) if X.ndim == 1 else np.argmax(self.forward(X), axis=1)

    def accuracy(self, X, y) -> float:
        """Fraction of rows of X whose argmax prediction equals y."""
        return float(np.mean(np.argmax(self.forward(X), axis=1) == np.asarray(y)))

    def loss(self, X, y) -> float:
        """Mean NLL of the integer labels y under forward(X) (see `nll`)."""
        return nll(one_hot(self.output_size, y), self.forward(X))

    def train(self, x, y, learning_rate: float) -> None:
        """One plain SGD step: p <- p - learning_rate * grad_loss(x, y)[p] for every parameter."""
        for name, g in self.grad_loss(x, y).items():
            setattr(self, name, getattr(self, name) - learning_rate * g)


# ---------------------------------------------------------- logistic regression

class LogisticRegression(_Classifier):
    """y = softmax(x W + b); W (input_size, output_size), b (output_size,), init U(-0.1, 0.1)."""

    def __init__(self, input_size: int, output_size: int, rng=None):
        self.W = _uniform(rng, -0.1, 0.1, (input_size, output_size))
        self.b = _uniform(rng, -0.1, 0.1, output_size)
        self.output_size = output_size

    def forward(self, X) -> np.ndarray:
        """Class probabilities softmax(X W + b), (C,) for one sample or (N, C)."""
        return softmax(np.dot(X, self.W) + self.b)

    predict_probas = forward

    def grad_loss(self, x, y_true) -> Grads:
        """Gradient of -log softmax(xW+b)[y]: W -> outer(x, p - e_y), b -> p - e_y (batch: mean)."""
        X, G, n = _batch_grads(x, y_true, self.output_size, self.forward(x))
        return {"W": X.T @ G / n, "b": G.mean(axis=0)}


# ------------------------------------------------------------- one hidden layer

class NeuralNet(_Classifier):
    """h = sigmoid(x W_h + b_h), y = softmax(h W_o + b_o); weights U(-0.01, 0.01), biases 0."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, rng=None):
        self.W_h = _uniform(rng, -0.01, 0.01, (input_size, hidden_size))
        self.b_h = np.zeros(hidden_size)
        self.W_o = _uniform(rng, -0.01, 0.01, (hidden_size, output_size))
        self.b_o = np.zeros(output_size)
        self.output_size = output_size

    def forward_keep_activations(self, X):
        """(y, h, z_h): output probabilities, hidden activations and hidden pre-activations."""
        z_h = np.dot(X, self.W_h) + self.b_h
        h = sigmoid(z_h)
        return softmax(np.dot(h, self.W_o) + self.b_o), h, z_h

    def forward(self, X) -> np.ndarray:
        """Output probabilities, (C,) for one sample or (N, C)."""
        return self.forward_keep_activations(X)[0]

    def grad_loss(self, x, y_true) -> Grads:
        """Backprop of -log y[y_true] for one sample (outer products) or the batch mean (2-D x)."""
        y, h, z_h = self.forward_keep_activations(x)
        X, G_o, n = _batch_grads(x, y_true, self.output_size, y)
        G_h = (G_o @ self.W_o.T) * dsigmoid(np.atleast_2d(z_h))
        return {"W_h": X.T @ G_h / n, "b_h": G_h.mean(axis=0),
                "W_o": np.atleast_2d(h).T @ G_o / n, "b_o": G_o.mean(axis=0)}


class NeuralNet2(_Classifier):
    """Two sigmoid hidden layers: h1 = S(x W_h1 + b_h1), h2 = S(h1 W_h2 + b_h2), y = softmax(h2 W_o + b_o)."""

    def __init__(self, input_size: int, hidden1: int, hidden2: int, output_size: int, rng=None):
        self.W_h1 = _uniform(rng, -0.01, 0.01, (input_size, hidden1))
        self.b_h1 = np.zeros(hidden1)
        self.W_h2 = _uniform(rng, -0.01, 0.01, (hidden1, hidden2))
        self.b_h2 = np.zeros(hidden2)
        self.W_o = _uniform(rng, -0.01, 0.01, (hidden2, output_size))
        self.b_o = np.zeros(output_size)
        self.output_size = output_size

    def forward_keep_activations(self, X):
        """(y, (h1, h2), (z_h1, z_h2)): output, hidden activations, hidden pre-activations."""
        z1 = np.dot(X, self.W_h1) + self.b_h1
        h1 = sigmoid(z1)
        z2 = np.dot(h1, self.W_h2) + self.b_h2
        h2 = sigmoid(z2)
        return softmax(np.dot(h2, self.W_o) + self.b_o), (h1, h2), (z1, z2)

    def forward(self, X) -> np.ndarray:
        """Output probabilities, (C,) for one sample or (N, C)."""
        return self.forward_keep_activations(X)[0]

    def grad_loss(self, x, y_true) -> Grads:
        """Backprop of -log y[y_true] through both hidden layers (batch: mean over rows)."""
        y, (h1, h2), (z1, z2) = self.forward_keep_activations(x)
        X, G_o, n = _batch_grads(x, y_true, self.output_size, y)
        H1, H2 = np.atleast_2d(h1), np.atleast_2d(h2)
        G2 = (G_o @ self.W_o.T) * dsigmoid(np.atleast_2d(z2))
        G1 = (G2 @ self.W_h2.T) * dsigmoid(np.atleast_2d(z1))
        return {"W_h1": X.T @ G1 / n, "b_h1": G1.mean(axis=0),
                "W_h2": H1.T @ G2 / n, "b_h2": G2.mean(axis=0),
                "W_o": H2.T @ G_o / n, "b_o": G_o.mean(axis=0)}


# ------------------------------------------------------------------- exercises

def worst_predictions(model, X_test, y_test, k: int = 5) -> np.ndarray:
    """Indices of the k test rows with the lowest probability on the true class, worst first."""
    p_true = model.forward(X_test)[np.arange(len(y_test)), np.asarray(y_test)]
    return np.argsort(p_true, kind="stable")[:k]


def _as_rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def gradient_norm(model, X, y) -> float:
    """Euclidean norm of all mean-over-(X, y) gradients concatenated."""
    return float(np.sqrt(sum(np.sum(g ** 2) for g in model.grad_loss(X, y).values())))


def momentum_step(model, grads: Grads, velocity: Grads, lr: float, momentum: float = 0.9) -> None:
    """v <- momentum v - lr g; p <- p + v, per parameter (velocity dict updated in place)."""
    for name, g in grads.items():
        velocity[name] = momentum * velocity.get(name, 0.0) - lr * g
        setattr(model, name, getattr(model, name) + velocity[name])


def train_minibatch(model, X, y, lr: float, batch_size: int = 32, epochs: int = 1,
                    rng=None, momentum: float = 0.0) -> dict[str, list[float]]:
    """SGD on mean mini-batch gradients, reshuffled each epoch; history of train loss and gradient norm."""
    rng = _as_rng(rng)
    velocity: Grads = {}
    history = {"loss": [], "grad_norm": []}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            momentum_step(model, model.grad_loss(X[idx], y[idx]), velocity, lr, momentum)
        history["loss"].append(model.loss(X, y))
        history["grad_norm"].append(gradient_norm(model, X, y))
    return history


def train_momentum(model, X, y, lr: float, momentum: float = 0.9, batch_size: int = 32,
                   epochs: int = 1, rng=None) -> dict[str, list[float]]:
    """Mini-batch SGD with heavy-ball momentum (one velocity per parameter); same history as train_minibatch."""
    return train_minibatch(model, X, y, lr, batch_size=batch_size, epochs=epochs,
                           rng=rng, momentum=momentum)


# ---------------------------------------------------------------- the figures

def _sgd_epoch(model, X, y, lr: float) -> None:
    """One pass of per-sample SGD in the order of the rows (the handout's loop)."""
    for x_i, y_i in zip(X, y):
        model.train(x_i, y_i, lr)


def fit_logistic(lr: float = 0.01, epochs: int = 1, seed: int = 0, data=None):
    """Handout figure: LogisticRegression, per-sample SGD; returns (model, test accuracy per epoch)."""
    X_train, X_test, y_train, y_test = load_digits_split() if data is None else data
    model = LogisticRegression(X_train.shape[1], 10, rng=np.random.default_rng(seed))
    acc = []
    for _ in range(epochs):
        _sgd_epoch(model, X_train, y_train, lr)
        acc.append(model.accuracy(X_test, y_test))
    return model, acc


def fit_mlp(hidden: int = 10, lr: float = 0.1, epochs: int = 15, seed: int = 0, data=None):
    """Handout figure: NeuralNet, per-sample SGD; returns (model, history of train loss / train acc / test acc)."""
    X_train, X_test, y_train, y_test = load_digits_split() if data is None else data
    model = NeuralNet(X_train.shape[1], hidden, 10, rng=np.random.default_rng(seed))
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for _ in range(epochs):
        _sgd_epoch(model, X_train, y_train, lr)
        history["loss"].append(model.loss(X_train, y_train))
        history["train_acc"].append(model.accuracy(X_train, y_train))
        history["test_acc"].append(model.accuracy(X_test, y_test))
    return model, history
