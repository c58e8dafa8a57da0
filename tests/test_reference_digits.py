"""reference.digits_logreg_mlp held to the math: hand values, finite differences, the handout's figures."""
from __future__ import annotations

import numpy as np
import pytest

from reference import digits_logreg_mlp as ref


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _independent_loss(model, X, y):
    """Mean -log p(y | x) written out from the formulas, without the model's own code."""
    X = np.atleast_2d(X)
    y = np.atleast_1d(y)
    if isinstance(model, ref.LogisticRegression):
        z = X @ model.W + model.b
    elif isinstance(model, ref.NeuralNet2):
        h1 = 1 / (1 + np.exp(-(X @ model.W_h1 + model.b_h1)))
        h2 = 1 / (1 + np.exp(-(h1 @ model.W_h2 + model.b_h2)))
        z = h2 @ model.W_o + model.b_o
    else:
        h = 1 / (1 + np.exp(-(X @ model.W_h + model.b_h)))
        z = h @ model.W_o + model.b_o
    return -np.mean(_log_softmax(z)[np.arange(len(y)), y])


def _numerical_grads(model, names, X, y, h=1e-6):
    grads = {}
    for name in names:
        p = getattr(model, name)
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            plus = _independent_loss(model, X, y)
            p[idx] = old - h
            minus = _independent_loss(model, X, y)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * h)
        grads[name] = g
    return grads


def _rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def _randomise(model, rng, scale=0.5):
    for name in vars(model):
        value = getattr(model, name)
        if isinstance(value, np.ndarray):
            setattr(model, name, rng.normal(0, scale, value.shape))
    return model


# ------------------------------------------------------------------ data, math

def test_load_digits_split_has_the_handout_shapes_and_scaling():
    X_train, X_test, y_train, y_test = ref.load_digits_split()
    assert X_train.shape == (1527, 64) and X_test.shape == (270, 64)
    assert y_train.shape == (1527,) and y_test.shape == (270,)
    assert X_train.dtype.kind == "f" and y_train.dtype.kind == "i"
    constant = X_train.std(axis=0) == 0  # all-zero pixels stay 0 after scaling
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(X_train.std(axis=0)[~constant], 1, atol=1e-4)


def test_one_hot_takes_classes_first_and_round_trips():
    assert np.array_equal(ref.one_hot(10, 3), np.eye(10)[3])
    y = np.array([0, 4, 9, 1])
    Y = ref.one_hot(n_classes=10, y=y)
    assert Y.shape == (4, 10) and Y.dtype == float
    assert np.array_equal(Y.argmax(axis=1), y) and np.array_equal(Y.sum(axis=1), np.ones(4))


@pytest.mark.parametrize("x", [[10, 2, -3], [[10, 2, -3], [-1, 5, -20]], [[1000, -1000, 0]],
                               [-1000.0, -1000.0], np.zeros((3, 4))])
def test_softmax_is_a_finite_distribution_on_the_last_axis(x):
    p = ref.softmax(x)
    assert p.shape == np.shape(x) and np.all(np.isfinite(p)) and np.all(p >= 0)
    assert np.allclose(p.sum(axis=-1), 1.0)


def test_softmax_matches_the_definition_and_handout_values():
    x = np.array([[10.0, 2.0, -3.0], [-1.0, 5.0, -20.0]])
    assert np.allclose(ref.softmax(x), np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))
    assert np.allclose(ref.softmax([10, 2, -3]), [9.99662391e-01, 3.35349373e-04, 2.25956630e-06])
    assert np.allclose(ref.softmax(x + 1000.0), ref.softmax(x))


def test_nll_matches_hand_computation_with_epsilon():
    assert ref.nll([1, 0, 0], [0.99, 0.01, 0]) == pytest.approx(-np.log(0.99 + 1e-8), rel=1e-12)
    assert ref.nll([1, 0, 0], [0.01, 0.01, 0.98]) == pytest.approx(4.605169185988592, rel=1e-12)
    Y_true = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    Y_pred = np.array([[0, 1, 0], [0.99, 0.01, 0], [0, 0, 1]])
    by_hand = -(2 * np.log(1 + 1e-8) + np.log(0.99 + 1e-8)) / 3
    assert ref.nll(Y_true, Y_pred) == pytest.approx(by_hand, rel=1e-12)
    assert ref.nll(Y_true, Y_pred) == pytest.approx(0.0033501019174971905, rel=1e-9)


def test_sigmoid_and_its_derivative_against_finite_differences():
    x = np.linspace(-30, 30, 121)
    assert np.allclose(ref.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-13, atol=0)
    numeric = (ref.sigmoid(x + 1e-6) - ref.sigmoid(x - 1e-6)) / 2e-6
    assert _rel_err(ref.dsigmoid(x), numeric) < 1e-8
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert np.array_equal(ref.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


# ------------------------------------------------------------------- gradients

@pytest.mark.parametrize("batch", [False, True])
def test_logistic_grad_loss_matches_finite_differences(batch):
    rng = np.random.default_rng(1)
    model = _randomise(ref.LogisticRegression(6, 4, rng=rng), rng)
    X, y = (rng.normal(size=(5, 6)), rng.integers(0, 4, 5)) if batch else (rng.normal(size=6), 2)
    grads = model.grad_loss(X, y)
    numeric = _numerical_grads(model, ["W", "b"], X, y)
    for name in ("W", "b"):
        assert grads[name].shape == getattr(model, name).shape
        assert _rel_err(grads[name], numeric[name]) < 1e-6


@pytest.mark.parametrize("batch", [False, True])
def test_neuralnet_grad_loss_matches_finite_differences(batch):
    rng = np.random.default_rng(2)
    model = _randomise(ref.NeuralNet(5, 7, 10, rng=rng), rng, scale=1.0)
    assert np.all(model.b_h != 0) and np.all(model.b_o != 0)
    X, y = (rng.normal(size=(4, 5)), rng.integers(0, 10, 4)) if batch else (rng.normal(size=5), 7)
    grads = model.grad_loss(X, y)
    assert set(grads) == {"W_h", "b_h", "W_o", "b_o"}
    numeric = _numerical_grads(model, list(grads), X, y)
    for name, g in grads.items():
        assert g.shape == getattr(model, name).shape, name
        assert _rel_err(g, numeric[name]) < 1e-6, name


def test_neuralnet2_grad_loss_matches_finite_differences():
    rng = np.random.default_rng(3)
    model = _randomise(ref.NeuralNet2(4, 6, 5, 3, rng=rng), rng, scale=1.0)
    X, y = rng.normal(size=(3, 4)), np.array([0, 2, 1])
    grads = model.grad_loss(X, y)
    numeric = _numerical_grads(model, list(grads), X, y)
    for name, g in grads.items():
        assert _rel_err(g, numeric[name]) < 1e-6, name


def test_batch_gradient_is_the_mean_of_sample_gradients():
    rng = np.random.default_rng(4)
    model = _randomise(ref.NeuralNet(5, 7, 10, rng=rng), rng)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 10, 6)
    batch = model.grad_loss(X, y)
    singles = [model.grad_loss(x, t) for x, t in zip(X, y)]
    for name in batch:
        assert np.allclose(batch[name], np.mean([s[name] for s in singles], axis=0))


def test_forward_keep_activations_shapes_and_formula():
    rng = np.random.default_rng(5)
    model = _randomise(ref.NeuralNet(5, 7, 10, rng=rng), rng)
    X = rng.normal(size=(3, 5))
    y, h, z_h = model.forward_keep_activations(X)
    assert y.shape == (3, 10) and h.shape == (3, 7) and z_h.shape == (3, 7)
    assert np.allclose(z_h, X @ model.W_h + model.b_h)
    assert np.allclose(np.log(y), _log_softmax(h @ model.W_o + model.b_o))
    assert model.forward(X[0]).shape == (10,) and np.ndim(model.predict(X[0])) == 0
    assert model.loss(X, [1, 2, 3]) == pytest.approx(_independent_loss(model, X, [1, 2, 3]), abs=1e-6)


def test_initialisation_scales_and_global_rng():
    np.random.seed(0)
    a = ref.NeuralNet(64, 10, 10)
    np.random.seed(0)
    b = ref.NeuralNet(64, 10, 10)
    assert np.array_equal(a.W_h, b.W_h) and np.array_equal(a.W_o, b.W_o)
    assert np.abs(a.W_h).max() <= 0.01 and np.array_equal(a.b_h, np.zeros(10))
    lr_model = ref.LogisticRegression(64, 10, rng=np.random.default_rng(0))
    assert lr_model.W.shape == (64, 10) and np.abs(lr_model.W).max() <= 0.1


@pytest.mark.parametrize("cls, args", [(ref.LogisticRegression, (6, 4)),
                                        (ref.NeuralNet, (6, 7, 4)),
                                        (ref.NeuralNet2, (6, 5, 5, 4))])
def test_a_train_step_reduces_the_loss_on_that_sample(cls, args):
    rng = np.random.default_rng(6)
    model = _randomise(cls(*args, rng=rng), rng, scale=0.3)
    x = rng.normal(size=6)
    before = _independent_loss(model, x, 3)
    model.train(x, 3, 0.05)
    assert _independent_loss(model, x, 3) < before


# ------------------------------------------------------------------- exercises

class _Fixed:
    """A model whose forward returns fixed probabilities."""

    def __init__(self, probs):
        self.probs = np.asarray(probs)

    def forward(self, X):
        return self.probs


def test_worst_predictions_orders_by_probability_of_the_true_class():
    probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.01, 0.99], [0.5, 0.5]]
    y = np.array([0, 0, 1, 1, 0])  # true-class probabilities 0.9, 0.2, 0.4, 0.99, 0.5
    assert list(ref.worst_predictions(_Fixed(probs), None, y, k=3)) == [1, 2, 4]


def test_momentum_step_accumulates_velocity_per_parameter():
    rng = np.random.default_rng(7)
    model = ref.LogisticRegression(3, 2, rng=rng)
    W0, g = model.W.copy(), {"W": np.ones((3, 2)), "b": np.ones(2)}
    velocity = {}
    ref.momentum_step(model, g, velocity, lr=0.1, momentum=0.9)
    ref.momentum_step(model, g, velocity, lr=0.1, momentum=0.9)
    assert np.allclose(velocity["W"], -0.1 * 1.9)
    assert np.allclose(model.W, W0 - 0.1 - 0.19)


@pytest.mark.parametrize("trainer", [ref.train_minibatch, ref.train_momentum])
def test_minibatch_training_reduces_loss_and_is_seeded(trainer):
    X_train, X_test, y_train, y_test = ref.load_digits_split()
    runs = []
    for _ in range(2):
        model = ref.NeuralNet(64, 10, 10, rng=np.random.default_rng(0))
        before = model.loss(X_train, y_train)
        lr = 0.2 if trainer is ref.train_momentum else 0.5
        history = trainer(model, X_train, y_train, lr, batch_size=32, epochs=3, rng=1)
        runs.append(history)
    assert runs[0] == runs[1]
    assert len(runs[0]["loss"]) == 3 and len(runs[0]["grad_norm"]) == 3
    assert runs[0]["loss"][-1] < before / 2


# ------------------------------------------------------------------ figures

def test_logistic_one_epoch_reaches_the_handout_accuracy():
    _, acc = ref.fit_logistic(lr=0.01, epochs=1, seed=0)
    assert acc[-1] >= 0.92  # handout: ~0.95


def test_mlp_hidden_10_fifteen_epochs_reaches_the_handout_accuracy():
    _, history = ref.fit_mlp(hidden=10, lr=0.1, epochs=15, seed=0)
    assert history["test_acc"][-1] >= 0.93  # handout: ~0.96
    assert history["loss"][-1] < history["loss"][0] < np.log(10)
