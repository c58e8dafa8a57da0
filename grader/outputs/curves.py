"""Reference curves: what the reference's training looks like, drawn beside the student's own plot.

Where a handout asks for training curves or a sweep, a manual item names a curve (`curve = "..."`
in the spec). The grader computes it with the reference modules on the data the class was graded
on, with the handout's hyper-parameters but fewer images or epochs so that it takes seconds; the
figure says what was cut. A TA then sees at a glance whether the student's curve has the right
shape and level.

Curves are cached on disk, one JSON file per (curve, data source, digest of the reference code
and of the parameters), under the grader's cache folder (`GRADER_CACHE`, else
~/.cache/nn-grader, as the embedded data): a class of 300 computes each one once. A file lock
keeps two processes (or the review server's threads) from computing the same curve twice.
`GRADER_CURVES=0` turns the computation off (the report then says so).

Drawing: `figure(curve)` returns the geometry of an inline SVG (no script, no fetch), which the
templates render with `_curve.html`.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

VERSION = "1"  # bump when the JSON layout or a computation changes in a way the digest misses
# Okabe-Ito colours (distinguishable with colour-blindness), with a dash pattern per series too.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
DASHES = ("", "5 3", "2 2", "8 3 2 3", "1 3", "")


class CurveError(Exception):
    """A curve cannot be computed here (unknown name, data missing...); the message says why."""


# ---------------------------------------------------------------- data

@dataclass(frozen=True)
class Series:
    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    faint: bool = False  # a noisy per-step trace drawn thin and light under the main lines


@dataclass(frozen=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    ymin: float | None = None  # fixed bounds (e.g. 0 for an error rate); None: from the data
    ymax: float | None = None


@dataclass(frozen=True)
class Curve:
    name: str
    title: str
    panels: tuple[Panel, ...]
    note: str  # what was cut to keep it cheap, and on which data
    source: str = "embedded"
    seconds: float = 0.0  # time the computation took when it was not cached
    cached: bool = False


def _to_json(curve: Curve) -> dict[str, Any]:
    return {"name": curve.name, "title": curve.title, "note": curve.note, "source": curve.source,
            "seconds": curve.seconds,
            "panels": [{"title": p.title, "xlabel": p.xlabel, "ylabel": p.ylabel, "ymin": p.ymin, "ymax": p.ymax,
                        "series": [{"label": s.label, "x": list(s.x), "y": list(s.y), "faint": s.faint}
                                   for s in p.series]} for p in curve.panels]}


def _from_json(data: dict[str, Any]) -> Curve:
    panels = tuple(Panel(p["title"], p["xlabel"], p["ylabel"],
                         tuple(Series(s["label"], tuple(s["x"]), tuple(s["y"]), bool(s.get("faint"))) for s in p["series"]),
                         p.get("ymin"), p.get("ymax")) for p in data["panels"])
    return Curve(data["name"], data["title"], panels, data["note"], data.get("source", ""),
                 float(data.get("seconds", 0.0)), cached=True)


# ---------------------------------------------------------------- the computations

@contextlib.contextmanager
def _quiet_and_contained():
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
    return {"embedded": "the embedded digits", "fashion": "Fashion-MNIST"}.get(source, f"the data in {Path(source).name}")


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


# ---------------------------------------------------------------- the cache

def cache_dir() -> Path:
    from reference.data import _cache_root

    return _cache_root() / "curves"


def _file_digest(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reference_digest(name: str) -> str:
    """Digest of what the curve depends on: the reference module, the data layer, this computation."""
    import importlib

    definition = CURVES[name]
    module = importlib.import_module(definition.reference)
    h = hashlib.sha256(VERSION.encode())
    for path in (module.__file__, Path(__file__).resolve().parents[2] / "reference" / "data.py"):
        h.update(_file_digest(path).encode())
    h.update(_file_digest(__file__).encode())  # any change to the computations here
    h.update(json.dumps(definition.params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def source_key(source: str | None) -> str:
    """'embedded', 'fashion', or a short digest of a data folder's path and files."""
    from reference.data import resolve_data_dir

    source = source or os.environ.get("GRADER_DATA") or "embedded"
    if source in ("embedded", "fashion"):
        return source
    folder = resolve_data_dir(source)
    h = hashlib.sha256(str(folder.resolve()).encode())
    for entry in sorted(folder.iterdir()):
        if entry.is_file():
            stat = entry.stat()
            h.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return "folder-" + h.hexdigest()[:16]


def cache_path(name: str, source: str | None = None) -> Path:
    return cache_dir() / f"{name}--{source_key(source)}--{reference_digest(name)}.json"


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_MEMORY: dict[Path, Curve] = {}


@contextlib.contextmanager
def _locked(path: Path):
    """This thread alone among the process's threads, and this process alone, computes `path`."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(path, threading.Lock())
    with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a+") as handle:
            try:
                import fcntl
                fcntl.flock(handle, fcntl.LOCK_EX)
            except (ImportError, OSError):  # pragma: no cover - no flock: the threads' lock still holds
                pass
            yield


def _read(path: Path) -> Curve | None:
    try:
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: compute again


def reference_curve(name: str, source: str | None = None) -> Curve:
    """The curve `name` on `source` (None: GRADER_DATA, else embedded), from the cache or computed now."""
    if name not in CURVES:
        raise CurveError(f"no reference curve called {name!r} (known: {', '.join(CURVES)})")
    source = source or os.environ.get("GRADER_DATA") or "embedded"
    try:
        path = cache_path(name, source)
    except (OSError, ValueError) as exc:
        raise CurveError(f"the data {source!r} cannot be read here ({exc})") from None
    if path in _MEMORY:
        return _MEMORY[path]
    curve = _read(path)
    if curve is None:
        with _locked(path):
            curve = _read(path)  # another process may have written it while this one waited
            if curve is None:
                began = time.perf_counter()
                try:
                    with _quiet_and_contained():
                        computed = CURVES[name].compute(source)
                except CurveError:
                    raise
                except Exception as exc:  # data missing, a reference bug: say so, never break a report
                    raise CurveError(f"{name}: the reference could not compute it ({type(exc).__name__}: {exc})") from None
                computed = Curve(computed.name, computed.title, computed.panels, computed.note, computed.source,
                                 round(time.perf_counter() - began, 2))
                tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
                tmp.write_text(json.dumps(_to_json(computed), allow_nan=False), encoding="utf-8")
                os.replace(tmp, path)
                curve = computed
    _MEMORY[path] = curve
    return curve


def enabled() -> bool:
    return os.environ.get("GRADER_CURVES", "1").strip().lower() not in ("0", "off", "no", "false")


@dataclass(frozen=True)
class Shown:
    """What a page shows for an item's curve: the figure, or why there is none."""

    figure: dict[str, Any] | None
    message: str = ""


def curves_for(items: Sequence[Any], source: str | None) -> dict[str, Shown]:
    """item id -> the figure of its curve, for the items that name one. Never raises."""
    out: dict[str, Shown] = {}
    for item in items:
        name = getattr(item, "curve", "")
        if not name:
            continue
        if not enabled():
            out[item.id] = Shown(None, "The reference curve is not computed here (GRADER_CURVES=0).")
            continue
        try:
            out[item.id] = Shown(figure(reference_curve(name, source)))
        except CurveError as exc:
            out[item.id] = Shown(None, f"No reference curve: {exc}.")
    return out


def warm(items: Sequence[Any], source: str | None) -> threading.Thread | None:
    """Compute the items' curves in a background thread (the review server's first page then finds them)."""
    names = [item.curve for item in items if getattr(item, "curve", "") in CURVES]
    if not names or not enabled():
        return None

    def run() -> None:
        for name in names:
            try:
                reference_curve(name, source)
            except CurveError:
                pass  # the page will say why

    thread = threading.Thread(target=run, name="grader-curves", daemon=True)
    thread.start()
    return thread


def source_of(result: Any) -> str:
    """The data a result was graded on (its grading options), for the curve on the same data."""
    grading = getattr(result, "grading", None) or {}
    return str(grading.get("data") or os.environ.get("GRADER_DATA") or "embedded")


# ---------------------------------------------------------------- drawing

def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks, value = [], first
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def figure(curve: Curve, width: float = 380.0, plot_h: float | None = None) -> dict[str, Any]:
    """Geometry of the curve as inline SVG: panels stacked, axes with round ticks, a legend per panel."""
    plot_h = plot_h or (140.0 if len(curve.panels) == 1 else 112.0)  # two panels stay within one screen
    left, right, top = 46.0, 12.0, 20.0
    plot_w = width - left - right
    panels, y0 = [], 0.0
    colour_of: dict[str, int] = {}
    for panel in curve.panels:
        xs = [v for s in panel.series for v in s.x if math.isfinite(v)]
        ys = [v for s in panel.series for v in s.y if math.isfinite(v)]
        x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        y_lo = panel.ymin if panel.ymin is not None else (min(ys) if ys else 0.0)
        y_hi = max(ys) if ys else 1.0
        if panel.ymax is not None and y_hi > 0.5 * panel.ymax:
            y_hi = panel.ymax  # an error rate near chance: show the whole 0..100 %
        xt = nice_ticks(x_lo, x_hi, 6)
        yt = nice_ticks(y_lo, y_hi, 6)
        x_lo, x_hi = min(xt[0], x_lo), max(xt[-1], x_hi)
        y_lo, y_hi = min(yt[0], y_lo), max(yt[-1], y_hi)
        py = y0 + top

        def sx(v: float) -> float:
            return round(left + (v - x_lo) / ((x_hi - x_lo) or 1.0) * plot_w, 1)

        def sy(v: float) -> float:
            return round(py + plot_h - (v - y_lo) / ((y_hi - y_lo) or 1.0) * plot_h, 1)

        lines = []
        for s in panel.series:
            k = colour_of.setdefault(s.label, len(colour_of)) if not s.faint else -1
            points = [(sx(a), sy(b)) for a, b in zip(s.x, s.y) if math.isfinite(a) and math.isfinite(b)]
            lines.append({
                "label": s.label, "faint": s.faint,
                "colour": "#afb8c1" if s.faint else COLOURS[k % len(COLOURS)],
                "dash": "" if s.faint else DASHES[k % len(DASHES)],
                "points": " ".join(f"{a},{b}" for a, b in points),
                "markers": [] if s.faint or len(points) > 12 else points,
                "last": f"{s.label}: {_fmt(s.y[-1])}" if s.y else s.label,
            })
        legend_y = py + plot_h + 40
        legend = []
        for j, line in enumerate(sorted(lines, key=lambda l: l["faint"])):  # the faint trace last
            legend.append({**line, "x": left + (j % 2) * plot_w / 2, "y": legend_y + (j // 2) * 15})
        height = legend_y - y0 + 15 * math.ceil(len(legend) / 2)
        panels.append({
            "title": panel.title, "y": y0, "height": height, "left": left, "top": py,
            "plot_w": plot_w, "plot_h": plot_h, "xlabel": panel.xlabel, "ylabel": panel.ylabel,
            "xticks": [{"x": sx(v), "label": _fmt(v)} for v in xt if x_lo - 1e-9 <= v <= x_hi + 1e-9],
            "yticks": [{"y": sy(v), "label": _fmt(v)} for v in yt if y_lo - 1e-9 <= v <= y_hi + 1e-9],
            "lines": lines, "legend": legend,
        })
        y0 += height + 10
    aria = "; ".join(f"{p['title']}: " + ", ".join(l["last"] for l in p["lines"] if not l["faint"]) for p in panels)
    return {"title": curve.title, "note": curve.note, "width": width, "height": round(y0 - 4, 1), "panels": panels,
            "aria": f"{curve.title}. {aria}", "cached": curve.cached, "seconds": curve.seconds}
