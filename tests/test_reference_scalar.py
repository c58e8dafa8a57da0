"""reference.mlp_scalar_to_tensor held to the math: the handout's stated values, finite differences, agreement."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from reference import mlp_scalar_to_tensor as ref


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _rel_err(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def _independent_loss(X, targets, W, b, V, c):
    """Mean -log softmax(sigmoid(X W + b) V + c)[target], straight from the formulas."""
    H = 1 / (1 + np.exp(-(np.atleast_2d(X) @ W + b)))
    O = H @ V + c
    log_y = O - np.log(np.exp(O).sum(axis=1, keepdims=True))
    return -np.mean(log_y[np.arange(len(np.atleast_1d(targets))), targets])


def _numerical(params, X, targets, h=1e-6):
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            plus = _independent_loss(X, targets, *params)
            p[idx] = old - h
            minus = _independent_loss(X, targets, *params)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


def _random_params(rng, n_in=4, n_hidden=5, n_out=3):
    return [rng.normal(0, 1, s) for s in ((n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,))]


# --------------------------------------------------------------------- scalar

def test_tiny_network_derivatives_are_the_handout_values():
    x, W, b, V, c = ref.TINY_NET
    dW, db, dV, dc = ref.scalar_backward(x, W, b, V, c, 0)
    assert [[round(v, 4) for v in row] for row in dW] == [[0.0] * 3] * 2
    assert [round(v, 4) for v in db] == [0.0] * 3
    assert [[round(v, 4) for v in row] for row in dV] == [[-0.4404, 0.4404]] * 3
    assert [round(v, 4) for v in dc] == [-0.5, 0.5]
    assert all(isinstance(v, float) for row in dV for v in row)


def test_tiny_network_forward_by_hand():
    k, h, o, y = ref.scalar_forward(*ref.TINY_NET)
    s = 1 / (1 + math.exp(-2))
    assert k == [2.0] * 3 and h == pytest.approx([s] * 3)
    assert o == pytest.approx([-s, -s]) and y == pytest.approx([0.5, 0.5])
    assert ref.scalar_loss(*ref.TINY_NET, 0) == pytest.approx(math.log(2))


def test_scalar_backward_matches_finite_differences_of_the_scalar_loss():
    g = random.Random(1)
    x = [g.gauss(0, 1) for _ in range(3)]
    W = [[g.gauss(0, 1) for _ in range(4)] for _ in range(3)]
    b = [g.gauss(0, 1) for _ in range(4)]
    V = [[g.gauss(0, 1) for _ in range(2)] for _ in range(4)]
    c = [g.gauss(0, 1) for _ in range(2)]
    analytic = ref.scalar_backward(x, W, b, V, c, 1)
    h = 1e-6
    for grad, param in zip(analytic, (W, b, V, c)):
        rows = param if isinstance(param[0], list) else [param]
        grows = grad if isinstance(grad[0], list) else [grad]
        for row, grow in zip(rows, grows):
            for j in range(len(row)):
                old = row[j]
                row[j] = old + h
                plus = ref.scalar_loss(x, W, b, V, c, 1)
                row[j] = old - h
                minus = ref.scalar_loss(x, W, b, V, c, 1)
                row[j] = old
                assert grow[j] == pytest.approx((plus - minus) / (2 * h), rel=1e-6, abs=1e-9)


def test_scalar_and_vectorised_networks_agree():
    rng = np.random.default_rng(2)
    W, b, V, c = _random_params(rng)
    x = rng.normal(size=4)
    lists = (x.tolist(), W.tolist(), b.tolist(), V.tolist(), c.tolist())
    for s, v in zip(ref.scalar_forward(*lists), ref.forward(x, W, b, V, c)):
        assert np.allclose(s, v, rtol=1e-12)
    for s, v in zip(ref.scalar_backward(*lists, 2), ref.backward(x, 2, W, b, V, c)):
        assert np.allclose(s, v, rtol=1e-10, atol=1e-14)


def test_scalar_softmax_and_sigmoid_survive_extreme_inputs():
    assert ref.scalar_softmax([1000.0, -1000.0]) == [1.0, 0.0]
    assert ref.scalar_sigmoid(-1000.0) == 0.0 and ref.scalar_sigmoid(1000.0) == 1.0


def test_scalar_training_loss_falls_on_synthetic_data():
    (xs, ys), _, num_cls = ref.load_synth(num_train=6000, num_val=10)
    _, losses = ref.train_scalar(xs, ys, epochs=1, lr=0.05, seed=0)
    assert len(losses) == 6000 and num_cls == 2
    assert np.mean(losses[-600:]) < 0.8 * np.mean(losses[:600])


# ----------------------------------------------------------------------- data

def test_load_synth_is_seeded_balanced_and_shaped():
    (xt, yt), (xv, yv), num_cls = ref.load_synth(num_train=1000, num_val=200, seed=3)
    assert xt.shape == (1000, 2) and xv.shape == (200, 2) and yt.shape == (1000,)
    assert num_cls == 2 and set(np.unique(yt)) == {0, 1} and 0.3 < yt.mean() < 0.7
    again = ref.load_synth(num_train=1000, num_val=200, seed=3)
    assert np.array_equal(again[0][0], xt)
    assert not np.array_equal(ref.load_synth(1000, 200, seed=4)[0][0], xt)


def test_load_mnist_validation_is_held_out_of_training():
    (xt, yt), (xv, yv), num_cls = ref.load_mnist(final=False)
    assert num_cls == 10 and xt.dtype == np.uint8 and xt.shape[1] == 784
    assert len(xv) > 0 and len(xt) + len(xv) <= 7505
    train_rows = {row.tobytes() for row in xt}
    assert not any(row.tobytes() in train_rows for row in xv)
    (xf, yf), (xtest, ytest), _ = ref.load_mnist(final=True, flatten=False)
    assert xf.shape[1:] == (28, 28) and len(xf) > len(xt) and len(xtest) == len(ytest)


@pytest.mark.parametrize("n", [60000, 1000])
def test_validation_split_partitions_the_training_rows(n):
    keep, held = ref.validation_split(n, source="fashion" if n == 60000 else None)
    assert len(set(keep) & set(held)) == 0 and len(held) > 0
    if n == 60000:
        assert len(held) == 5000 and held[0] == 55000


# --------------------------------------------------------------------- tensors

def test_single_instance_backward_matches_finite_differences():
    rng = np.random.default_rng(4)
    params = _random_params(rng)
    x = rng.normal(size=4)
    for a, n in zip(ref.backward(x, 1, *params), _numerical(params, x, 1)):
        assert a.shape == n.shape and _rel_err(a, n) < 1e-6


def test_batch_backward_is_the_gradient_of_the_mean_loss():
    rng = np.random.default_rng(5)
    params = _random_params(rng, n_in=6, n_hidden=7, n_out=10)
    X, t = rng.normal(size=(5, 6)), rng.integers(0, 10, 5)
    grads = ref.backward_batch(X, t, *params)
    for a, n in zip(grads, _numerical(params, X, t)):
        assert _rel_err(a, n) < 1e-6
    singles = [ref.backward(X[i], t[i], *params) for i in range(5)]
    for k, g in enumerate(grads):
        assert np.allclose(g, np.mean([s[k] for s in singles], axis=0))
    assert ref.loss_batch(X, t, *params) == pytest.approx(_independent_loss(X, t, *params))


def test_forward_batch_shapes_and_stable_softmax():
    W, b, V, c = ref.init_mlp(784, 300, 10, rng=0)
    assert W.shape == (784, 300) and V.shape == (300, 10) and not b.any() and not c.any()
    K, H, O, Y = ref.forward_batch(np.ones((3, 784)), W, b, V, c)
    assert K.shape == H.shape == (3, 300) and O.shape == Y.shape == (3, 10)
    assert np.allclose(Y.sum(axis=1), 1)
    p = ref.softmax(np.array([[1000.0, -1000.0], [-1000.0, -1000.0]]))
    assert np.all(np.isfinite(p)) and np.allclose(p, [[1, 0], [0.5, 0.5]])


def test_train_epoch_reduces_the_loss_and_reshuffles_by_seed():
    (xs, ys), _, _ = ref.load_synth(num_train=2000, num_val=10)
    params = ref.init_mlp(2, 16, 2, rng=0)
    before = ref.loss_batch(xs, ys, *params)
    new, losses = ref.train_epoch(xs, ys, params, lr=2.0, batch_size=20, rng=1)
    again, _ = ref.train_epoch(xs, ys, params, lr=2.0, batch_size=20, rng=1)
    assert len(losses) == 100 and all(np.array_equal(a, b) for a, b in zip(new, again))
    assert ref.loss_batch(xs, ys, *new) < 0.8 * before


# -------------------------------------------------------------------- analysis

@pytest.fixture(scope="module")
def small_mnist():
    (xt, yt), (xv, yv), num_cls = ref.load_mnist(final=False)
    return (xt[:400], yt[:400]), (xv[:100], yv[:100]), num_cls


def test_analysis_functions_return_curves_of_the_right_length(small_mnist, tmp_path):
    kw = {"epochs": 2, "batch_size": 20, "hidden": 16}
    curves = ref.learning_curves(small_mnist, lr=0.5, **kw)
    assert len(curves["batch_loss"]) == 40 and len(curves["val_loss"]) == 2
    assert curves["train_loss"][-1] < curves["batch_loss"][0]
    repeats = ref.repeated_runs(small_mnist, runs=3, lr=0.5, **kw)
    assert repeats["val_loss"].shape == (3, 2) and repeats["batch_loss"].shape == (3, 40)
    assert np.all(repeats["std"] > 0) and np.allclose(repeats["mean"], repeats["val_loss"].mean(0))
    sweep = ref.learning_rate_sweep(small_mnist, rates=(0.001, 0.3), **kw)
    assert set(sweep) == {0.001, 0.3} and sweep[0.3]["val_loss"][-1] < sweep[0.001]["val_loss"][-1]
    curves.pop("params")
    results = {"curves": curves, "repeats": repeats, "sweep": sweep}
    paths = ref.plot_analysis(results, tmp_path / "plots")
    assert len(paths) == 4 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_final_accuracy_trains_on_full_data_and_reports_test_accuracy():
    out = ref.final_accuracy(0.5, epochs=1, batch_size=64, hidden=32)
    assert out["lr"] == 0.5 and out["test_acc"] > 0.5
