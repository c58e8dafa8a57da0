"""The reference's training runs behind each curve: the handout's hyper-parameters, cut to take seconds.

Each computation runs the reference modules on the data the class was graded on and says in the
curve's note what was cut (images, epochs) and on which data. `CURVES` names them for the spec's
`curve = "..."`; curves.py caches what they return.
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.outputs.curve_data import Curve, Panel, Series


@contextlib.contextmanager
def quiet_and_contained():
    """One BLAS thread (the machine is shared), numpy's global RNG restored, no prints."""
    import io

    state = np.random.get_state()
    limits = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    try:
        with limits, contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        np.random.set_state(state)


def _source_label(source: str) -> str:
    return {"embedded": "the embedded digits", "embedded-mnist": "the embedded digits at MNIST's counts", "fashion": "Fashion-MNIST"}.get(source, f"the data in {Path(source).name}")


def _spread(total: int, n: int) -> np.ndarray:
    """n indices spread evenly over range(total), in order: a subsample with every kind of image
    (the embedded set stores its shifted copies in blocks, so the first n would all be unshifted)."""
    return np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))


# 000 -------------------------------------------------------------

SHALLOW = {"full_batch_images": 1000, "steps": 100, "gamma": 0.05, "hidden": 64, "epochs": 5, "batch": 100, "seed": 0}


def shallow_training_error(source: str) -> Curve:
    """Handout 000: training and test error of the 784-64-10 ReLU net, full batch and minibatch.

    The full-batch run (100 steps over the whole set in the handout) uses a subsample, the costly
    part; the minibatch run goes over the whole training set, as the handout's, so the comparison
    the handout asks for (more updates per epoch do better) keeps its sense.
    """
    from reference import shallow_backprop as ref
    from reference.data import load_columns

    p = SHALLOW
    x_all, lbl_all = load_columns("training", source=source)
    xt, lt = load_columns("testing", source=source)
    x_all, xt = ref.normalize_MNIST_images(x_all), ref.normalize_MNIST_images(xt)
    d_all = np.zeros((10, lbl_all.size))
    d_all[lbl_all, np.arange(lbl_all.size)] = 1  # 10 rows even if a subsample lacks a 9
    n = min(p["full_batch_images"], x_all.shape[1])
    pick = _spread(x_all.shape[1], n)
    x, lbl, d = x_all[:, pick], lbl_all[pick], d_all[:, pick]

    def errors(net, xs, ls):
        return (ref.eval_perfs(ref.forwardprop_shallow(xs, net), ls), ref.eval_perfs(ref.forwardprop_shallow(xt, net), lt))

    np.random.seed(p["seed"])
    net0 = ref.init_shallow(x.shape[0], p["hidden"], 10)
    rng_state = np.random.get_state()
    net, train, test = net0, [], []
    for _ in range(p["steps"] + 1):
        tr, te = errors(net, x, lbl)
        train.append(tr)
        test.append(te)
        net = ref.update_shallow(x, d, net, p["gamma"])
    steps = tuple(float(k) for k in range(p["steps"] + 1))
    np.random.set_state(rng_state)  # the minibatch run starts from the same net and RNG, as in a notebook
    net = net0
    mb_train, mb_test = map(list, zip(errors(net0, x_all, lbl_all)))
    for _ in range(p["epochs"]):
        net = ref.backprop_minibatch_shallow(x_all, d_all, net, 1, B=p["batch"], gamma=p["gamma"])
        tr, te = errors(net, x_all, lbl_all)
        mb_train.append(tr)
        mb_test.append(te)
    epochs = tuple(float(k) for k in range(p["epochs"] + 1))
    full = Panel(f"Full batch, {n} images, gamma {p['gamma']:g}", "step", "error (%)",
                 (Series("training error", steps, tuple(train)), Series("test error", steps, tuple(test))), 0.0, 100.0)
    mini = Panel(f"Minibatch B = {p['batch']}, all {x_all.shape[1]} images", "epoch", "error (%)",
                 (Series("training error", epochs, tuple(mb_train)), Series("test error", epochs, tuple(mb_test))), 0.0, 100.0)
    return Curve("shallow-training-error", "Reference: training and test error", (full, mini),
                 f"Reference 784-{p['hidden']}-10 net on {_source_label(source)}, seed {p['seed']}. Full batch on {n} of the "
                 f"{x_all.shape[1]} training images (the handout: all of them), {p['steps']} steps: training {train[-1]:.1f}%, "
                 f"test {test[-1]:.1f}%. Minibatch, {p['epochs']} epochs over all images: training {mb_train[-1]:.1f}%, "
                 f"test {mb_test[-1]:.1f}% (test set: {xt.shape[1]} images).", source)


# 003 -------------------------------------------------------------

FFNN = {"train": 1000, "epochs": 8, "lr": 0.001, "seed": 0}


def ffnn_epoch_error(source: str) -> Curve:
    """Handout 003, Task 15: test error per epoch, one sample at a time, in order, lr 0.001."""
    from reference import ffnn_pure_numpy as ref

    p = FFNN
    xs, ys, xt, yt = ref.load_data(source)
    pick = _spread(len(xs), p["train"])
    xs, ys = xs[pick], ys[pick]
    weights = ref.init_weights(np.random.default_rng(p["seed"]))
    start = ref.compute_error(xt, yt, *weights)
    began = time.perf_counter()
    _, errors = ref.train(xs, ys, p["epochs"], p["lr"], x_test=xt, y_test=yt, weights=weights)
    per_epoch = (time.perf_counter() - began) / p["epochs"]
    epochs = tuple(float(k) for k in range(p["epochs"] + 1))
    panel = Panel(f"One sample at a time, in order, lr {p['lr']:g}", "epoch", "test error (fraction)",
                  (Series("test error", epochs, (start, *errors)),), 0.0, 1.0)
    return Curve("ffnn-epoch-error", "Reference: test error per epoch", (panel,),
                 f"Reference on {len(xs)} of the training images of {_source_label(source)} (test: all {len(xt)}), "
                 f"{p['epochs']} epochs instead of 30; untrained {start:.2f}, after {p['epochs']} epochs {errors[-1]:.3f}; "
                 f"{per_epoch:.2f} s per epoch on the grading machine.", source)


# 004 -------------------------------------------------------------

MLP = {"train": 400, "epochs": 5, "lr": 0.03, "rates": (0.001, 0.003, 0.01, 0.03), "batch": 1, "hidden": 300, "seed": 0}


def _mlp_data(source: str):
    from reference import mlp_scalar_to_tensor as ref

    (xt, yt), (xv, yv), k = ref.load_mnist(final=False, source=source)
    pick = _spread(len(xt), MLP["train"])
    return (xt[pick], yt[pick]), (xv, yv), k


def _mlp_run(source: str, lr: float) -> dict[str, list[float]]:
    """learning_curves for one rate, cached in memory for this process (the sweep shares the 0.03 run)."""
    from reference import mlp_scalar_to_tensor as ref

    key = (source, lr, tuple(sorted((k, v) for k, v in MLP.items() if k != "rates")))
    with _RUNS_LOCK:
        if key in _RUNS:
            return _RUNS[key]
    out = ref.learning_curves(_mlp_data(source), epochs=MLP["epochs"], lr=lr, batch_size=MLP["batch"],
                              hidden=MLP["hidden"], seed=MLP["seed"])
    out.pop("params")
    with _RUNS_LOCK:
        _RUNS[key] = out
    return out


_RUNS: dict[Any, dict[str, list[float]]] = {}
_RUNS_LOCK = threading.Lock()


def _mlp_note(source: str) -> str:
    (xt, _), (xv, _), _ = _mlp_data(source)
    return (f"Reference on {len(xt)} of the training rows of {_source_label(source)} (validation: the {len(xv)} held-out rows), "
            f"{MLP['hidden']} sigmoid hidden units, SGD one instance at a time, {MLP['epochs']} epochs, init seed {MLP['seed']}")


def mlp_learning_curves(source: str) -> Curve:
    """Handout 004, Q7.1: training vs validation loss per epoch (and the per-instance loss)."""
    run = _mlp_run(source, MLP["lr"])
    n = len(run["batch_loss"])
    per_epoch = n / MLP["epochs"]
    window = max(1, n // 100)
    smooth = np.convolve(run["batch_loss"], np.ones(window) / window, mode="valid")[::max(1, window // 2)]
    xs = tuple(float((window - 1 + k * max(1, window // 2) + 1) / per_epoch) for k in range(len(smooth)))
    epochs = tuple(float(k) for k in range(1, MLP["epochs"] + 1))
    panel = Panel(f"SGD, lr {MLP['lr']:g}: loss after each epoch", "epoch", "mean loss",
                  (Series(f"per instance (running mean of {window})", xs, tuple(float(v) for v in smooth), faint=True),
                   Series("training loss", epochs, tuple(run["train_loss"])),
                   Series("validation loss", epochs, tuple(run["val_loss"]))), 0.0)
    return Curve("mlp-learning-curves", "Reference: training vs validation loss", (panel,),
                 _mlp_note(source) + f"; final training loss {run['train_loss'][-1]:.3f}, validation {run['val_loss'][-1]:.3f}.", source)


def mlp_lr_sweep(source: str) -> Curve:
    """Handout 004, Q7.3: validation loss per epoch for each learning rate, same initialisation."""
    runs = {lr: _mlp_run(source, lr) for lr in MLP["rates"]}
    epochs = tuple(float(k) for k in range(1, MLP["epochs"] + 1))
    series = tuple(Series(f"lr {lr:g} (val. acc. {run['val_acc'][-1]:.2f})", epochs, tuple(run["val_loss"]))
                   for lr, run in runs.items())
    panel = Panel("Same initialisation, one run per rate", "epoch", "validation loss", series, 0.0)
    best = min(runs, key=lambda lr: runs[lr]["val_loss"][-1])
    return Curve("mlp-lr-sweep", "Reference: learning-rate sweep", (panel,),
                 _mlp_note(source) + f"; lowest final validation loss at lr {best:g}.", source)


@dataclass(frozen=True)
class CurveDef:
    compute: Callable[[str], Curve]
    reference: str  # the module whose code the curve depends on
    params: dict[str, Any] = field(default_factory=dict)


CURVES: dict[str, CurveDef] = {
    "shallow-training-error": CurveDef(shallow_training_error, "reference.shallow_backprop", SHALLOW),
    "ffnn-epoch-error": CurveDef(ffnn_epoch_error, "reference.ffnn_pure_numpy", FFNN),
    "mlp-learning-curves": CurveDef(mlp_learning_curves, "reference.mlp_scalar_to_tensor", MLP),
    "mlp-lr-sweep": CurveDef(mlp_lr_sweep, "reference.mlp_scalar_to_tensor", MLP),
}
