"""Measure the figures handout 000 (shallow-backprop) states and print them as a markdown table.

    python scripts/figures_shallow.py                       # embedded data and Fashion-MNIST
    python scripts/figures_shallow.py --sources embedded --steps 30

One column per data source (Fashion-MNIST only when the Debian package is
installed). Each cell is the reference's value, and for the training runs the
seconds it took. The network starts from `init_shallow` under np.random.seed(0);
the minibatch shuffles continue that RNG, as in a notebook run top to bottom.
Minibatch runs are noisy at the handout's gamma, so a mean over seeds is shown
too. BLAS is limited to one thread: the machine is shared.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference import shallow_backprop as ref  # noqa: E402
from reference.data import FASHION_DIR, load_columns  # noqa: E402


def _limit_threads() -> None:
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass


def _quiet(fn, *args, **kwargs):
    """Run fn without its per-step prints; return (result, seconds)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _fd_rel_errors(a: np.ndarray, e: np.ndarray, eps: float = 1e-6) -> tuple[float, float]:
    """The handout's rel_error of softmaxp: forward difference (its script) and central."""
    exact = ref.softmaxp(a, e)
    forward = (ref.softmax(a + eps * e) - ref.softmax(a)) / eps
    central = (ref.softmax(a + eps * e) - ref.softmax(a - eps * e)) / (2 * eps)

    def rel(approx):
        return float(np.abs(exact - approx).mean() / np.abs(approx).mean())

    return rel(forward), rel(central)


def _test_error(net, xt, lt) -> float:
    return ref.eval_perfs(ref.forwardprop_shallow(xt, net), lt)


def measure(source: str, steps: int, seeds: int) -> dict[str, str]:
    """The figures for one data source, as formatted table cells."""
    x, lbl = load_columns("training", source=source)
    xt, lt = load_columns("testing", source=source)
    x, xt = ref.normalize_MNIST_images(x), ref.normalize_MNIST_images(xt)
    d = ref.label2onehot(lbl)
    cells = {"size": f"{x.shape[1]} train / {xt.shape[1]} test"}

    np.random.seed(0)
    net0 = ref.init_shallow(x.shape[0], 64, d.shape[0])
    y0 = ref.forwardprop_shallow(x, net0)
    cells["loss0"] = f"{ref.eval_loss(y0, d):.4f}"
    cells["err0"] = f"{ref.eval_perfs(y0, lbl):.1f}%"

    # softmaxp checked at the initial net's output logits on 200 images, random directions
    W1, b1, W2, b2 = net0
    a2 = W2 @ ref.relu(W1 @ x[:, :200].astype(np.float64) + b1) + b2
    fwd, cen = _fd_rel_errors(a2, np.random.default_rng(0).normal(size=a2.shape))
    cells["fd"] = f"{fwd:.1e} forward / {cen:.1e} central"

    rng_state = np.random.get_state()
    full, seconds = _quiet(ref.backprop_shallow, x, d, net0, steps)
    cells["full_train"] = f"{ref.eval_perfs(ref.forwardprop_shallow(x, full), lbl):.1f}% ({seconds:.1f} s)"
    cells["full_test"] = f"{_test_error(full, xt, lt):.1f}%"

    np.random.set_state(rng_state)
    mb, seconds = _quiet(ref.backprop_minibatch_shallow, x, d, net0, 5, B=100)
    cells["mb_test"] = f"{_test_error(mb, xt, lt):.1f}% ({seconds:.1f} s)"

    errors, start = [], time.perf_counter()
    for seed in range(seeds):
        np.random.seed(seed)
        net = ref.init_shallow(x.shape[0], 64, d.shape[0])
        errors.append(_test_error(_quiet(ref.backprop_minibatch_shallow, x, d, net, 5, B=100)[0], xt, lt))
    cells["mb_seeds"] = (f"{np.mean(errors):.1f} +- {np.std(errors):.1f}% "
                         f"(min {min(errors):.1f}, max {max(errors):.1f}; "
                         f"{time.perf_counter() - start:.0f} s)")
    return cells


ROWS = [
    ("data", "MNIST 60000 / 10000", "size"),
    ("initial eval_loss (seed 0)", "around .26", "loss0"),
    ("initial training error (seed 0)", "asks to interpret it (chance: 90%)", "err0"),
    ("softmaxp finite-difference rel_error, eps 1e-6", "< 1e-6", "fd"),
    ("training error after {steps} full-batch steps", "about 13% at T = 100", "full_train"),
    ("test error after {steps} full-batch steps", "asks to evaluate it", "full_test"),
    ("test error, minibatch B=100, 5 epochs (seed 0)", "asks to compare (better)", "mb_test"),
    ("test error, minibatch B=100, 5 epochs, seeds 0..{last}", "", "mb_seeds"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=["embedded", "fashion"],
                        help="data sources (embedded, fashion, or a folder of idx files)")
    parser.add_argument("--steps", type=int, default=100, help="full-batch steps (handout: 100)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds for the minibatch mean")
    args = parser.parse_args(argv)
    _limit_threads()

    sources = [s for s in args.sources if s != "fashion" or FASHION_DIR.is_dir()]
    skipped = sorted(set(args.sources) - set(sources))
    results = {}
    for source in sources:
        print(f"measuring {source} ...", file=sys.stderr, flush=True)
        results[source] = measure(source, args.steps, args.seeds)

    print("| figure | handout 000 | " + " | ".join(f"reference, {s}" for s in sources) + " |")
    print("|---|---|" + "---|" * len(sources))
    for label, stated, key in ROWS:
        label = label.format(steps=args.steps, last=args.seeds - 1)
        print(f"| {label} | {stated} | " + " | ".join(results[s][key] for s in sources) + " |")
    if skipped:
        print(f"\n(not installed, skipped: {', '.join(skipped)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
