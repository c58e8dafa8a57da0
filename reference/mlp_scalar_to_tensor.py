"""Reference for `mlp-scalar-to-tensor`: one MLP written with scalars, then vectors, then batches.

Network: k = x W + b, h = sigmoid(k), o = h V + c, y = softmax(o), loss
l = -log y[target] with the target class an integer. W is (inputs, hidden),
V is (hidden, classes), so W[i][j] links input i to hidden unit j. All
backward functions return derivatives of the loss with respect to
(W, b, V, c), in that order and with the parameters' shapes; the batched
ones differentiate the MEAN loss over the batch.

* Scalar part (lists and `math` only): `scalar_forward`, `scalar_backward`,
  `train_scalar`; `TINY_NET` is the handout's network.
* Data: `load_synth` (two features, label = quadratic form above a
  threshold) and `load_mnist` (raw uint8 pixels 0..255, rows of 784 values;
  `normalize` scales them to [0, 1]).
* Tensor part: `forward`/`backward` for one instance, `forward_batch`/
  `backward_batch` for rows, `train_epoch`, and the analysis functions that
  return data (`learning_curves`, `repeated_runs`, `learning_rate_sweep`,
  `final_accuracy`, `run_analysis`) plus `plot_analysis` for PNG files.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

Params = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (W, b, V, c)

# The handout's tiny network: x, W, b, V, c (target class 0).
TINY_NET = ([1.0, -1.0],
            [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]],
            [0.0, 0.0, 0.0],
            [[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]],
            [0.0, 0.0])


# ------------------------------------------------------------------- scalars

def scalar_sigmoid(v: float) -> float:
    """1 / (1 + e^-v) for a float."""
    # branch on the sign so math.exp never sees a large positive argument
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def scalar_softmax(o: list[float]) -> list[float]:
    """y_i = e^(o_i - max o) / sum_j e^(o_j - max o) for a list."""
    m = max(o)
    e = [math.exp(v - m) for v in o]
    s = sum(e)
    return [v / s for v in e]


def scalar_forward(x, W, b, V, c):
    """(k, h, o, y) as lists: k_j = sum_i x_i W_ij + b_j, h = sigmoid(k), o_m = sum_j h_j V_jm + c_m, y = softmax(o)."""
    k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    h = [scalar_sigmoid(v) for v in k]
    o = [sum(h[j] * V[j][m] for j in range(len(h))) + c[m] for m in range(len(c))]
    return k, h, o, scalar_softmax(o)


def scalar_loss(x, W, b, V, c, target: int) -> float:
    """l = -log y[target]."""
    return -math.log(scalar_forward(x, W, b, V, c)[3][target])


def scalar_backward(x, W, b, V, c, target: int):
    """(dW, db, dV, dc) = dl/d(W, b, V, c) as lists of lists / lists, by the scalar chain rule."""
    k, h, o, y = scalar_forward(x, W, b, V, c)
    n_in, n_hid, n_out = len(x), len(h), len(y)
    dy = [-1.0 / y[i] if i == target else 0.0 for i in range(n_out)]  # dl/dy_i
    # dy_i/do_j = y_i (delta_ij - y_j): multivariate chain rule over all outputs i
    do = [sum(dy[i] * y[i] * ((i == j) - y[j]) for i in range(n_out)) for j in range(n_out)]
    dV = [[h[j] * do[m] for m in range(n_out)] for j in range(n_hid)]
    dh = [sum(V[j][m] * do[m] for m in range(n_out)) for j in range(n_hid)]
    dk = [dh[j] * h[j] * (1.0 - h[j]) for j in range(n_hid)]
    dW = [[x[i] * dk[j] for j in range(n_hid)] for i in range(n_in)]
    return dW, dk, dV, do


def scalar_init(n_in: int = 2, n_hidden: int = 3, n_out: int = 2, seed: int = 0):
    """(W, b, V, c) lists: weights ~ N(0, 1) from random.Random(seed), biases 0."""
    g = random.Random(seed)
    W = [[g.gauss(0.0, 1.0) for _ in range(n_hidden)] for _ in range(n_in)]
    V = [[g.gauss(0.0, 1.0) for _ in range(n_out)] for _ in range(n_hidden)]
    return W, [0.0] * n_hidden, V, [0.0] * n_out


def scalar_sgd_step(x, target: int, params, lr: float):
    """One SGD step p <- p - lr dl/dp on one instance; returns (new params, loss before the step)."""
    W, b, V, c = params
    loss = scalar_loss(x, W, b, V, c, target)
    dW, db, dV, dc = scalar_backward(x, W, b, V, c, target)
    W = [[w - lr * g for w, g in zip(rw, rg)] for rw, rg in zip(W, dW)]
    V = [[v - lr * g for v, g in zip(rv, rg)] for rv, rg in zip(V, dV)]
    b = [v - lr * g for v, g in zip(b, db)]
    c = [v - lr * g for v, g in zip(c, dc)]
    return (W, b, V, c), loss


def train_scalar(xtrain, ytrain, epochs: int = 1, lr: float = 0.01, n_hidden: int = 3,
                 seed: int = 0, params=None):
    """Per-instance SGD in data order with plain Python floats; (params, loss of every instance seen)."""
    n_out = int(max(ytrain)) + 1
    params = scalar_init(len(xtrain[0]), n_hidden, max(n_out, 2), seed) if params is None else params
    losses = []
    for _ in range(epochs):
        for xi, yi in zip(xtrain, ytrain):
            params, loss = scalar_sgd_step([float(v) for v in xi], int(yi), params, lr)
            losses.append(loss)
    return params, losses


# ---------------------------------------------------------------------- data

def load_synth(num_train: int = 60000, num_val: int = 10000, seed: int = 0):
    """((xtrain, ytrain), (xval, yval), 2): x ~ N(0, I_2), y = [x^T A x > 1] for a fixed A."""
    rng = np.random.default_rng(seed)
    A = np.array([[1.0, 0.5], [-0.3, 0.6]])
    x = rng.standard_normal((num_train + num_val, 2))
    y = (np.einsum("ni,ij,nj->n", x, A, x) > 1.0).astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2


def validation_split(n_train: int, source=None) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of the training split: the last 5000 rows of a full-size set.

    Small sets hold out one fifth. The embedded set stores each original digit
    several times (unshifted block first, then one block per shift), so there
    the validation rows are the unshifted copies of the last fifth of the
    originals and none of their shifted copies stay in training.
    """
    if n_train >= 30000:
        return np.arange(n_train - 5000), np.arange(n_train - 5000, n_train)
    copies = _embedded_copies(n_train, source)
    n_base = n_train // copies
    held = np.arange(n_base - n_base // 5, n_base)
    keep = np.ones(n_train, dtype=bool)
    keep[(held[None, :] + n_base * np.arange(copies)[:, None]).ravel()] = False
    return np.flatnonzero(keep), held


def _embedded_copies(n_train: int, source) -> int:
    """How many copies of each digit the training split holds (1 unless it is the embedded set)."""
    from reference import data

    shifts = getattr(data, "_SHIFTS", ())
    try:
        embedded = data.resolve_data_dir(source) == data.embedded_dir()
    except (OSError, ValueError):
        embedded = False
    return len(shifts) if embedded and shifts and n_train % len(shifts) == 0 else 1


def load_mnist(final: bool = False, flatten: bool = True, source=None):
    """((xtrain, ytrain), (xval, yval), 10): raw uint8; final=False holds rows of train out (validation_split)."""
    from reference.data import load_split

    xtrain, ytrain = load_split("train", source)
    if final:
        xval, yval = load_split("test", source)
    else:
        keep, held = validation_split(len(xtrain), source)
        xtrain, ytrain, xval, yval = xtrain[keep], ytrain[keep], xtrain[held], ytrain[held]
    if flatten:
        xtrain, xval = xtrain.reshape(len(xtrain), -1), xval.reshape(len(xval), -1)
    return (xtrain, ytrain.astype(np.int64)), (xval, yval.astype(np.int64)), 10


def normalize(x) -> np.ndarray:
    """Pixels 0..255 -> float64 in [0, 1]."""
    return np.asarray(x, dtype=np.float64) / 255.0


# ------------------------------------------------------------------- tensors

def sigmoid(x) -> np.ndarray:
    """1 / (1 + e^-x), element-wise."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))  # exp(-|x|): no overflow, full precision in both tails
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(o) -> np.ndarray:
    """exp(o - max) / sum exp(o - max) along the last axis (vector or rows)."""
    e = np.exp(o - np.max(o, axis=-1, keepdims=True))  # max subtracted: no overflow
    return e / e.sum(axis=-1, keepdims=True)


def init_mlp(n_in: int = 784, n_hidden: int = 300, n_out: int = 10, rng=0) -> Params:
    """(W, b, V, c): W ~ N(0, 1/n_in) (n_in, n_hidden), V ~ N(0, 1/n_hidden) (n_hidden, n_out), biases 0."""
    rng = np.random.default_rng(rng)
    W = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    V = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    return W, np.zeros(n_hidden), V, np.zeros(n_out)


def forward(x, W, b, V, c):
    """One instance x (n_in,): (k, h, o, y) vectors, k = x W + b, h = sigmoid(k), o = h V + c, y = softmax(o)."""
    k = x @ W + b
    h = sigmoid(k)
    o = h @ V + c
    return k, h, o, softmax(o)


def backward(x, target: int, W, b, V, c) -> Params:
    """One instance: dl/d(W, b, V, c) of l = -log y[target]; do = y - e_target, dW = outer(x, dk)."""
    k, h, o, y = forward(x, W, b, V, c)
    do = y.copy()
    do[target] -= 1.0
    dk = (V @ do) * h * (1.0 - h)
    return np.outer(x, dk), dk, np.outer(h, do), do


def forward_batch(X, W, b, V, c):
    """Rows X (B, n_in): (K, H, O, Y) with K = X W + b, H = sigmoid(K), O = H V + c, Y = softmax(O)."""
    K = X @ W + b
    H = sigmoid(K)
    O = H @ V + c
    return K, H, O, softmax(O)


def backward_batch(X, targets, W, b, V, c) -> Params:
    """Gradient of the MEAN over rows of -log Y[n, targets[n]] w.r.t. (W, b, V, c)."""
    K, H, O, Y = forward_batch(X, W, b, V, c)
    n = X.shape[0]
    dO = Y.copy()
    dO[np.arange(n), targets] -= 1.0
    dO /= n
    dK = (dO @ V.T) * H * (1.0 - H)
    return X.T @ dK, dK.sum(axis=0), H.T @ dO, dO.sum(axis=0)


def loss_batch(X, targets, W, b, V, c) -> float:
    """Mean over rows of -log softmax(O)[target], computed by log-sum-exp."""
    O = forward_batch(X, W, b, V, c)[2]
    m = O.max(axis=1, keepdims=True)
    log_y = O - m - np.log(np.exp(O - m).sum(axis=1, keepdims=True))
    return float(-log_y[np.arange(len(targets)), targets].mean())


def evaluate(X, targets, params: Params) -> tuple[float, float]:
    """(mean loss, accuracy) of params on rows X with integer targets."""
    Y = forward_batch(X, *params)[3]
    return loss_batch(X, targets, *params), float(np.mean(Y.argmax(axis=1) == targets))


def train_epoch(X, targets, params: Params, lr: float, batch_size: int = 32, rng=0):
    """One epoch of mini-batch SGD (rows reshuffled by rng; rng=None keeps the order); (params, loss per batch)."""
    order = np.arange(len(X)) if rng is None else np.random.default_rng(rng).permutation(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        losses.append(loss_batch(X[idx], targets[idx], *params))
        grads = backward_batch(X[idx], targets[idx], *params)
        params = tuple(p - lr * g for p, g in zip(params, grads))
    return params, losses


# ------------------------------------------------------------------- analysis

def _prepared(data):
    """Normalise the pixel data of ((xtrain, ytrain), (xval, yval), num_cls) to [0, 1] floats."""
    (xt, yt), (xv, yv), num_cls = data
    scale = normalize if np.asarray(xt).dtype == np.uint8 else np.asarray
    return (scale(xt), np.asarray(yt)), (scale(xv), np.asarray(yv)), num_cls


def learning_curves(data, epochs: int = 5, lr: float = 0.03, batch_size: int = 1,
                    hidden: int = 300, seed: int = 0) -> dict:
    """Train from init seed; per-batch training loss, and per-epoch train/val loss and val accuracy."""
    (xt, yt), (xv, yv), num_cls = _prepared(data)
    params = init_mlp(xt.shape[1], hidden, num_cls, rng=seed)
    out = {"batch_loss": [], "train_loss": [], "val_loss": [], "val_acc": []}
    for epoch in range(epochs):
        params, losses = train_epoch(xt, yt, params, lr, batch_size, rng=(seed, epoch))
        out["batch_loss"] += losses
        out["train_loss"].append(evaluate(xt, yt, params)[0])
        val_loss, val_acc = evaluate(xv, yv, params)
        out["val_loss"].append(val_loss)
        out["val_acc"].append(val_acc)
    out["params"] = params
    return out


def repeated_runs(data, runs: int = 3, **kwargs) -> dict:
    """learning_curves for seeds 0..runs-1: per-run arrays and mean/std of batch loss and val loss."""
    curves = [learning_curves(data, seed=s, **kwargs) for s in range(runs)]
    batch = np.array([c["batch_loss"] for c in curves])
    val = np.array([c["val_loss"] for c in curves])
    return {"batch_loss": batch, "batch_mean": batch.mean(axis=0), "batch_std": batch.std(axis=0),
            "val_loss": val, "mean": val.mean(axis=0), "std": val.std(axis=0)}


def learning_rate_sweep(data, rates=(0.001, 0.003, 0.01, 0.03), **kwargs) -> dict:
    """{lr: learning_curves(...) without the params} for each learning rate, same init."""
    return {lr: {k: v for k, v in learning_curves(data, lr=lr, **kwargs).items() if k != "params"}
            for lr in rates}


def final_accuracy(lr: float, source=None, epochs: int = 5, batch_size: int = 1,
                   hidden: int = 300, seed: int = 0) -> dict:
    """Train on the full training set (final=True), report test loss and accuracy."""
    curves = learning_curves(load_mnist(final=True, source=source), epochs, lr, batch_size,
                             hidden, seed)
    return {"lr": lr, "test_loss": curves["val_loss"][-1], "test_acc": curves["val_acc"][-1]}


def run_analysis(source=None, epochs: int = 5, runs: int = 3, lr: float = 0.03,
                 batch_size: int = 1, rates=(0.001, 0.003, 0.01, 0.03)) -> dict:
    """The handout's four experiments; the final lr is the sweep's best validation loss."""
    data = load_mnist(final=False, source=source)
    kw = {"epochs": epochs, "batch_size": batch_size}
    sweep = learning_rate_sweep(data, rates, **kw)
    best = min(sweep, key=lambda r: sweep[r]["val_loss"][-1])
    curves = learning_curves(data, lr=lr, **kw)
    curves.pop("params")
    return {"curves": curves, "repeats": repeated_runs(data, runs, lr=lr, **kw), "sweep": sweep,
            "final": final_accuracy(best, source, epochs, batch_size)}


def _smooth(values, window: int) -> np.ndarray:
    """Running mean over `window` consecutive values (for readable per-instance loss curves)."""
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_analysis(results: dict, folder) -> list[Path]:
    """Write loss_curve.png, train_vs_val.png, runs_mean_std.png, lr_sweep.png into folder."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    curves, rep, sweep = results["curves"], results["repeats"], results["sweep"]
    paths = []

    def save(fig, name):
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        paths.append(folder / name)

    window = max(1, len(curves["batch_loss"]) // 200)
    fig, ax = plt.subplots()
    ax.plot(curves["batch_loss"], lw=0.3, alpha=0.3, label="per batch")
    ax.plot(np.arange(window - 1, len(curves["batch_loss"])),
            _smooth(curves["batch_loss"], window), label=f"running mean of {window}")
    ax.set(xlabel="batch", ylabel="training loss", title="Loss per batch")
    ax.legend()
    save(fig, "loss_curve.png")
    fig, ax = plt.subplots()
    epochs = np.arange(1, len(curves["train_loss"]) + 1)
    ax.plot(epochs, curves["train_loss"], "o-", label="train")
    ax.plot(epochs, curves["val_loss"], "o-", label="validation")
    ax.set(xlabel="epoch", ylabel="mean loss", title="Training vs validation loss")
    ax.legend()
    save(fig, "train_vs_val.png")
    fig, ax = plt.subplots()
    # smooth each run first, then take mean and std across runs
    runs = np.array([_smooth(r, window) for r in rep["batch_loss"]])
    steps = np.arange(window - 1, window - 1 + runs.shape[1])
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    ax.plot(steps, mean, label=f"mean of {len(runs)} runs")
    ax.fill_between(steps, mean - std, mean + std, alpha=0.3, label="+- 1 std")
    ax.set(xlabel="batch", ylabel=f"training loss (running mean of {window})",
           title="Runs from different initialisations")
    ax.legend()
    save(fig, "runs_mean_std.png")
    fig, ax = plt.subplots()
    for lr, out in sweep.items():
        ax.plot(epochs, out["val_loss"], "o-", label=f"lr {lr}")
    ax.set(xlabel="epoch", ylabel="validation loss", title="Learning-rate sweep")
    ax.legend()
    save(fig, "lr_sweep.png")
    return paths
