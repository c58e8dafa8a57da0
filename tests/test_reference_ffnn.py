"""reference.ffnn_pure_numpy held to the math: idx bytes, finite differences of the cross-entropy, training."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from reference import ffnn_pure_numpy as ref


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def _summed_cross_entropy(x, y, w1, w2, w3):
    """-sum y log softmax(S(S(x w1) w2) w3), written out independently of the module."""
    a1 = 1 / (1 + np.exp(-np.atleast_2d(x) @ w1))
    a2 = 1 / (1 + np.exp(-a1 @ w2))
    z3 = a2 @ w3
    log_a3 = z3 - np.log(np.exp(z3).sum(axis=1, keepdims=True))
    return -np.sum(np.atleast_2d(y) * log_a3)


def _numerical(weights, i, x, y, coords, h=1e-6):
    w = weights[i]
    out = []
    for idx in coords:
        old = w[idx]
        w[idx] = old + h
        plus = _summed_cross_entropy(x, y, *weights)
        w[idx] = old - h
        minus = _summed_cross_entropy(x, y, *weights)
        w[idx] = old
        out.append((plus - minus) / (2 * h))
    return np.array(out)


def _small_net(rng, sizes=(6, 5, 4, 3)):
    return [rng.normal(0, 1, (m, n)) for m, n in zip(sizes[:-1], sizes[1:])]


# ----------------------------------------------------------------------- data

def _idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_decodes_hand_made_files(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    payload = _idx_bytes(images)
    path = tmp_path / ("x.idx3-ubyte" + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(payload) if compress else payload)
    assert np.array_equal(ref.read_idx(path), images)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    (tmp_path / "y").write_bytes(_idx_bytes(labels))
    assert np.array_equal(ref.read_idx(tmp_path / "y"), labels)


def test_read_idx_agrees_with_the_data_layer_on_the_embedded_files():
    from reference import data

    folder = data.resolve_data_dir("embedded")
    for key in ("test-images", "test-labels"):
        path = data.find_file(folder, key)
        assert np.array_equal(ref.read_idx(path), data.read_idx(path))


def test_preprocessing_flattens_scales_and_one_hots():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    images[0, 0, 0], images[1, 5, 5] = 0, 255
    x = ref.preprocess_images(images)
    assert x.shape == (5, 784) and x.dtype == np.float64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.allclose(x[2].reshape(28, 28) * 255, images[2])
    y = ref.one_hot_labels(np.array([7, 0, 9], dtype=np.uint8))
    assert y.shape == (3, 10) and np.array_equal(y.argmax(axis=1), [7, 0, 9])
    assert np.array_equal(y.sum(axis=1), np.ones(3)) and y[0, 7] == 1


def test_layer_weights_shape_scale_and_global_rng():
    w = ref.layer_weights(784, 128, rng=np.random.default_rng(0))
    assert w.shape == (784, 128)
    assert w.std() == pytest.approx(1 / np.sqrt(128), rel=0.02)
    np.random.seed(3)
    expected = np.random.randn(3, 4) / 2.0
    np.random.seed(3)
    assert np.array_equal(ref.layer_weights(3, 4), expected)
    assert [w.shape for w in ref.init_weights(np.random.default_rng(0))] == [(784, 128), (128, 64), (64, 10)]


def test_dsigmoid_is_the_handout_formula_at_the_pre_activation():
    z = np.linspace(-30, 30, 121)
    assert np.allclose(ref.dsigmoid(z), np.exp(-z) / (np.exp(-z) + 1) ** 2, rtol=1e-12, atol=1e-18)
    numeric = (ref.sigmoid(z + 1e-6) - ref.sigmoid(z - 1e-6)) / 2e-6
    assert _rel_err(ref.dsigmoid(z), numeric) < 1e-8


@pytest.mark.parametrize("x", [[1000.0, -1000.0, 0.0], [[1000.0, 999.0], [-1000.0, -1000.0]], [0.5, 0.2]])
def test_softmax_is_finite_and_normalised(x):
    p = ref.softmax(x)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=-1), 1)
    assert np.allclose(p, ref.softmax(np.asarray(x) - 7.0))


# ------------------------------------------------------------ forward, backward

def test_forward_pass_shapes_and_batch_rows_equal_single_samples():
    rng = np.random.default_rng(1)
    w = ref.init_weights(rng)
    x = rng.random((3, 784))
    z1, a1, z2, a2, z3, a3 = ref.forward_pass(x, *w)
    assert [v.shape for v in (z1, a1, z2, a2, z3, a3)] == [(3, 128)] * 2 + [(3, 64)] * 2 + [(3, 10)] * 2
    single = ref.forward_pass(x[1], *w)
    assert single[-1].shape == (10,)
    for batched, one in zip((z1, a1, z2, a2, z3, a3), single):
        assert np.allclose(batched[1], one)


@pytest.mark.parametrize("batch", [None, 4])
def test_backpropagation_is_the_gradient_of_the_summed_cross_entropy(batch):
    rng = np.random.default_rng(2)
    weights = _small_net(rng)
    shape = (6,) if batch is None else (batch, 6)
    x = rng.random(shape)
    y = np.eye(3)[rng.integers(0, 3, 1 if batch is None else batch)]
    y = y[0] if batch is None else y
    grads = ref.backpropagation(x, y, *weights)
    for i, g in enumerate(grads):
        assert g.shape == weights[i].shape
        coords = list(np.ndindex(g.shape))
        assert _rel_err(g.ravel(), _numerical(weights, i, x, y, coords)) < 1e-6


def test_backpropagation_at_full_size_on_sampled_coordinates():
    rng = np.random.default_rng(3)
    weights = list(ref.init_weights(rng))
    x, y = rng.random((2, 784)), np.eye(10)[[3, 8]]
    grads = ref.backpropagation(x, y, *weights)
    for i, g in enumerate(grads):
        coords = [tuple(int(rng.integers(0, n)) for n in g.shape) for _ in range(12)]
        sampled = np.array([g[c] for c in coords])
        assert _rel_err(sampled, _numerical(weights, i, x, y, coords)) < 1e-6


def test_one_sample_changes_are_outer_products_and_batches_sum_them():
    rng = np.random.default_rng(4)
    weights = _small_net(rng)
    x, y = rng.random((5, 6)), np.eye(3)[rng.integers(0, 3, 5)]
    singles = [ref.backpropagation(x[n], y[n], *weights) for n in range(5)]
    a2 = ref.forward_pass(x[0], *weights)[3]
    e3 = ref.forward_pass(x[0], *weights)[5] - y[0]
    assert np.allclose(singles[0][2], np.outer(a2, e3))
    for i, g in enumerate(ref.backpropagation(x, y, *weights)):
        assert np.allclose(g, sum(s[i] for s in singles))


def test_update_weights_steps_against_the_change():
    rng = np.random.default_rng(5)
    w, d = _small_net(rng), _small_net(rng)
    new = ref.update_weights(*w, *d, 0.1)
    for old, change, updated in zip(w, d, new):
        assert np.allclose(updated, old - 0.1 * change)


def test_compute_error_is_a_fraction_for_one_hot_or_integer_labels():
    rng = np.random.default_rng(6)
    weights = _small_net(rng)
    x = rng.random((50, 6))
    predicted = ref.forward_pass(x, *weights)[-1].argmax(axis=1)
    labels = predicted.copy()
    labels[:10] = (labels[:10] + 1) % 3  # exactly 10 of 50 wrong
    assert ref.compute_error(x, labels, *weights) == pytest.approx(0.2)
    assert ref.compute_error(x, np.eye(3)[labels], *weights) == pytest.approx(0.2)


def test_cross_entropy_matches_the_independent_formula():
    rng = np.random.default_rng(7)
    weights = _small_net(rng)
    x, y = rng.random((4, 6)), np.eye(3)[[0, 2, 1, 1]]
    assert ref.cross_entropy(x, y, *weights) == pytest.approx(_summed_cross_entropy(x, y, *weights))


# ------------------------------------------------------------------- training

def test_train_is_the_plain_loop_of_backpropagation_and_update():
    rng = np.random.default_rng(8)
    weights = tuple(_small_net(rng))
    x, y = rng.random((4, 6)), np.eye(3)[[0, 2, 1, 1]]
    (w1, w2, w3), errors = ref.train(x, y, epochs=2, learning_rate=0.1, weights=weights)
    manual = weights
    for _ in range(2):
        for n in range(4):
            manual = ref.update_weights(*manual, *ref.backpropagation(x[n], y[n], *manual), 0.1)
    assert all(np.allclose(a, b) for a, b in zip((w1, w2, w3), manual))
    assert len(errors) == 2


def test_global_api_reads_and_rebinds_the_namespace_weights():
    rng = np.random.default_rng(9)
    ns = dict(zip(("w1", "w2", "w3"), _small_net(rng)))
    api = ref.global_api(ns)
    x, y = rng.random((3, 6)), np.eye(3)[[0, 1, 2]]
    w_before = (ns["w1"], ns["w2"], ns["w3"])
    assert np.allclose(api["forward_pass"](x)[-1], ref.forward_pass(x, *w_before)[-1])
    dws = api["backpropagation"](x, y)
    assert api["update_weights"](*dws, 0.5) is None
    expected = ref.update_weights(*w_before, *dws, 0.5)
    assert all(np.allclose(ns[k], e) for k, e in zip(("w1", "w2", "w3"), expected))
    errors = api["train"](x, y, x, y, epochs=2, learning_rate=0.01)
    assert len(errors) == 2 and api["compute_error"](x, y) == errors[-1]


@pytest.fixture(scope="module")
def embedded_subset():
    return ref.load_data("embedded", n_train=2000)


def test_one_sample_training_learns_the_embedded_digits(embedded_subset):
    xs, ys, xt, yt = embedded_subset
    weights = ref.init_weights(np.random.default_rng(0))
    start = ref.compute_error(xt, yt, *weights)
    _, errors = ref.train(xs, ys, epochs=2, learning_rate=0.01, x_test=xt, y_test=yt,
                          weights=weights)
    assert start > 0.6 and errors[-1] < 0.3


def test_batched_training_learns_the_embedded_digits(embedded_subset):
    xs, ys, xt, yt = embedded_subset
    _, errors = ref.train_batched(xs, ys, epochs=3, learning_rate=0.01, batch_size=10,
                                  x_test=xt, y_test=yt, rng=np.random.default_rng(0))
    assert errors[-1] < 0.3 and errors[-1] < errors[0]
