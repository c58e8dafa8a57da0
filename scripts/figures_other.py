"""Measure the figures handouts 002, 003 and 004 state, at full size, and print them.

    python scripts/figures_other.py                 # everything (tens of minutes)
    python scripts/figures_other.py --only 003 --epochs 5
    python scripts/figures_other.py --only 004 --plots reports/figures-004

Sections: 002 (digits: logistic regression and the 10-hidden-unit MLP),
003 (FFNN test error on the embedded data and Fashion-MNIST, time per epoch
one-sample vs batched), 004 (scalar net values, synthetic training, the
MNIST-style analysis on a data source). BLAS is limited to one thread: the
small matrix products here run faster that way on a shared machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference import digits_logreg_mlp as d002  # noqa: E402
from reference import ffnn_pure_numpy as d003  # noqa: E402


def _limit_threads() -> None:
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass


def _row(*cells) -> None:
    print(" | ".join(str(c) for c in cells), flush=True)


def section_002(seeds: int) -> None:
    print("\n## 002 digits-logreg-mlp (sklearn digits, 1527 train / 270 test)")
    data = d002.load_digits_split()
    logistic = [d002.fit_logistic(seed=s, data=data)[1][-1] for s in range(seeds)]
    mlp = [d002.fit_mlp(seed=s, data=data)[1] for s in range(seeds)]
    _row("figure", "handout", f"reference (mean +- std over {seeds} seeds)")
    _row("logistic, 1 epoch lr 0.01, test acc", "~0.95 (0.956)",
         f"{np.mean(logistic):.3f} +- {np.std(logistic):.3f}")
    _row("MLP h=10, 15 epochs lr 0.1, test acc", "~0.96 (0.959)",
         f"{np.mean([h['test_acc'][-1] for h in mlp]):.3f} +- "
         f"{np.std([h['test_acc'][-1] for h in mlp]):.3f}")
    _row("MLP final train loss", "0.0229",
         f"{np.mean([h['loss'][-1] for h in mlp]):.4f}")


def _ffnn_source(source: str, epochs: int, batch_size: int) -> None:
    xs, ys, xt, yt = d003.load_data(source)
    print(f"\n### source {source}: train {xs.shape}, test {xt.shape}")
    rng = np.random.default_rng(0)
    weights = d003.init_weights(rng)
    runs = {}
    for name, bs in (("one sample", 1), (f"batch {batch_size}", batch_size)):
        start = time.perf_counter()
        _, errors = d003.train_batched(xs, ys, epochs, 0.001, batch_size=bs, x_test=xt,
                                       y_test=yt, weights=weights)
        per_epoch = (time.perf_counter() - start) / epochs
        runs[name] = (errors, per_epoch)
        _row(f"{name}, lr 0.001, {epochs} epochs", f"final test error {errors[-1]:.2%}",
             f"best {min(errors):.2%}", f"{per_epoch:.2f} s/epoch (incl. evaluation)")
    start = time.perf_counter()
    _, errors = d003.train_batched(xs, ys, epochs, 0.001, batch_size=None, x_test=xt,
                                   y_test=yt, weights=weights)
    _row(f"whole set as one batch, lr 0.001, {epochs} epochs",
         f"final test error {errors[-1]:.2%}",
         f"{(time.perf_counter() - start) / epochs:.2f} s/epoch")


def section_003(epochs: int, sources: list[str], batch_size: int) -> None:
    print("\n## 003 ffnn-pure-numpy (784-128-64-10; handout: ~2.7% test error on MNIST)")
    for source in sources:
        _ffnn_source(source, epochs, batch_size)


def section_004(source: str, epochs: int, runs: int, batch_size: int, plots: str | None) -> None:
    from reference import mlp_scalar_to_tensor as d004

    print("\n## 004 mlp-scalar-to-tensor")
    x, W, b, V, c = d004.TINY_NET
    dW, db, dV, dc = d004.scalar_backward(x, W, b, V, c, 0)
    _row("tiny net dW", "all 0", [[round(v, 4) for v in r] for r in dW])
    _row("tiny net db", "all 0", [round(v, 4) for v in db])
    _row("tiny net dV", "[-0.4404, 0.4404] x 3", [[round(v, 4) for v in r] for r in dV])
    _row("tiny net dc", "[-0.5, 0.5]", [round(v, 4) for v in dc])
    (xs, ys), (xv, yv), _ = d004.load_synth(num_train=20000, num_val=2000)
    _, losses = d004.train_scalar(xs, ys, epochs=1, lr=0.01, seed=0)
    k = len(losses) // 10
    _row("scalar SGD on synth, mean loss first/last 10%",
         f"{np.mean(losses[:k]):.3f}", f"{np.mean(losses[-k:]):.3f}")
    start = time.perf_counter()
    results = d004.run_analysis(source=source, epochs=epochs, runs=runs, batch_size=batch_size)
    print(f"analysis on {source!r} (batch size {batch_size}) took {time.perf_counter() - start:.0f} s")
    curves = results["curves"]
    _row("epoch", "train loss", "val loss", "val acc")
    for e in range(epochs):
        _row(e + 1, f"{curves['train_loss'][e]:.4f}", f"{curves['val_loss'][e]:.4f}",
             f"{curves['val_acc'][e]:.4f}")
    rep = results["repeats"]
    _row(f"val loss over {runs} runs, last epoch", f"mean {rep['mean'][-1]:.4f}",
         f"std {rep['std'][-1]:.4f}")
    for lr, out in results["sweep"].items():
        _row(f"lr {lr}", f"final val loss {out['val_loss'][-1]:.4f}",
             f"val acc {out['val_acc'][-1]:.4f}")
    final = results["final"]
    _row(f"final: lr {final['lr']} on full train, test accuracy", f"{final['test_acc']:.4f}")
    if plots:
        for path in d004.plot_analysis(results, plots):
            print("wrote", path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["002", "003", "004"], action="append")
    parser.add_argument("--epochs", type=int, default=30, help="003 epochs (handout: 30)")
    parser.add_argument("--batch-size", type=int, default=32, help="003 batched run")
    parser.add_argument("--sources", nargs="+", default=["embedded", "fashion"])
    parser.add_argument("--seeds", type=int, default=5, help="002 repetitions")
    parser.add_argument("--source-004", default="embedded")
    parser.add_argument("--epochs-004", type=int, default=5)
    parser.add_argument("--runs-004", type=int, default=3)
    parser.add_argument("--batch-size-004", type=int, default=1)
    parser.add_argument("--plots", default=None, help="folder for the 004 PNG plots")
    args = parser.parse_args(argv)
    _limit_threads()
    only = set(args.only or ["002", "003", "004"])
    if "002" in only:
        section_002(args.seeds)
    if "003" in only:
        section_003(args.epochs, args.sources, args.batch_size)
    if "004" in only:
        section_004(args.source_004, args.epochs_004, args.runs_004, args.batch_size_004,
                    args.plots)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
