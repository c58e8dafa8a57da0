"""Benchmark: harness overhead per notebook, per-notebook wall for -j 1, -j 2 and --cluster local:2, peak memory.

    python scripts/bench.py [-n 10] [--full] [--nbgrader 20]

Grades N generated notebooks (the shallow-backprop solution with a different
mistake or none in each; --defs-only unless --full, so that the numbers measure
the harness rather than the solution's training) in one run: -j 1 with a cold
start (GRADER_WARM=0: bubblewrap + Python + numpy + IPython per notebook), then
with the warm start, -j 2, and --cluster local:2 (a Dask LocalCluster of two
worker processes). Peak memory is the largest sum of proportional set sizes
(PSS: shared pages counted once) over this process and all its descendants.

--nbgrader N: N plain notebooks (the solution, training cells included) through
`grader grade -j 2` and through `nbgrader autograde` on the same files, side by
side. Needs `pip install nbgrader` (not a dependency of the grader). Both sides
run BLAS single-threaded, as the grader's workers do, unless --nbgrader-default-env
(nbgrader's kernels then use every core for BLAS, as they do when nobody sets it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat

# The worker runs BLAS single-threaded (fair with parallel grading); give every kernel the same.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.checks import bank  # noqa: E402
from grader.run import forkserver  # noqa: E402
from grader.batch.runner import run_batch  # noqa: E402
from grader.run.execute import resolve_isolation  # noqa: E402
from grader.pipeline.grade import Options  # noqa: E402
from grader.checks.spec import load_spec  # noqa: E402


def solution_notebook():
    """The shallow-backprop solution without its solution markers (nbgrader refuses them outside solution cells)."""
    nb = nbformat.read(load_spec("shallow-backprop").folder / "solution.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = "\n".join(line for line in cell.source.splitlines() if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
    return nb


def make_notebooks(folder: Path, count: int, mistakes: bool = True) -> list[Path]:
    spec = load_spec("shallow-backprop")
    solution = solution_notebook()
    variants = [v for v in bank.variants(spec.bank_module()) if v.kind == "mistake"] if mistakes else []
    paths = []
    for i in range(count):
        nb = nbformat.from_dict(solution)
        if i % 2 and variants:
            nb.cells.append(nbformat.v4.new_code_cell(variants[i % len(variants)].source()))
        student = folder / f"student{i:03d}"
        student.mkdir()
        path = student / "hw.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


class PeakMemory:
    """The largest total PSS of this process and its descendants, sampled every 0.2 s."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = self.psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss
                except (self.psutil.Error, AttributeError):
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_batch(folder: Path, label: str, options: Options, workers: int = 1, cluster: str | None = None, warm: bool = True) -> None:
    spec = load_spec("shallow-backprop")
    os.environ["GRADER_WARM"] = "1" if warm else "0"  # read by every grading process (pool or Dask worker)
    forkserver.shutdown()
    with tempfile.TemporaryDirectory() as out, PeakMemory() as memory:
        started = time.perf_counter()
        outcome = run_batch([folder], spec, options, Path(out), workers=workers, cluster=cluster,
                            progress_stream=open(os.devnull, "w"))
        wall = time.perf_counter() - started
    forkserver.shutdown()
    results = outcome.results
    assert not outcome.internal_errors, outcome.internal_errors
    per = [r.execution.seconds for r in results]
    harness = [r.execution.harness_seconds for r in results]
    student = [s - h for s, h in zip(per, harness)]
    print(f"| {label} | {len(results)} | {wall:.1f} s | {wall / len(results):.2f} s | {statistics.median(per):.2f} s "
          f"| {statistics.median(harness):.3f} s | {statistics.mean(harness):.3f} s | {statistics.median(student):.2f} s "
          f"| {memory.peak / 2**20:.0f} MB |", flush=True)


def bench_nbgrader(count: int, jobs: int = 2, default_env: bool = False) -> None:
    """The same plain notebooks through `grader grade -j 2` and `nbgrader autograde`, side by side."""
    from reference import data

    if shutil.which("nbgrader") is None:
        print("nbgrader is not installed (pip install nbgrader): comparison skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nb = solution_notebook()
        course = tmp / "course"
        (course / "source" / "ps1").mkdir(parents=True)
        nbformat.write(nb, course / "source" / "ps1" / "hw.ipynb")
        (course / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = 'bench'\nc.CourseDirectory.root = {str(course)!r}\n"
            "c.ExecutePreprocessor.timeout = 600\n")
        subprocess.run(["nbgrader", "generate_assignment", "ps1", "--force"], cwd=course, check=True, capture_output=True)
        ours = tmp / "class"
        for i in range(count):
            student = f"s{i:03d}"
            submitted = course / "submitted" / student / "ps1"
            submitted.mkdir(parents=True)
            nbformat.write(nb, submitted / "hw.ipynb")
            # nbgrader runs the notebook in its own folder: give it the data files the grader's sandbox provides.
            data.write_dataset(submitted)
            shutil.copyfile(data.mnisttools_path(), submitted / "MNISTtools.py")
            (ours / student).mkdir(parents=True)
            nbformat.write(nb, ours / student / "hw.ipynb")
        walls = {}
        for label, extra in (("all cells", []), ("--lean", ["--lean"])):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(ours), "-a", "shallow-backprop", "-o", str(tmp / f"out{len(walls)}"),
                                   "-j", str(jobs), *extra], cwd=ROOT, capture_output=True, text=True)
            walls[label] = time.perf_counter() - started
            assert proc.returncode == 0, proc.stderr
        started = time.perf_counter()
        env = dict(os.environ)
        if default_env:  # as nbgrader runs when nobody limits BLAS threads (its kernels use every core)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env.pop(var, None)
        proc = subprocess.run(["nbgrader", "autograde", "ps1", "--create"], cwd=course, capture_output=True, text=True, env=env)
        nbgrader_wall = time.perf_counter() - started
        graded = len(list((course / "autograded").glob("*/ps1/hw.ipynb")))
        assert proc.returncode == 0 and graded == count, proc.stderr[-2000:]
    print(f"| `grader grade -j {jobs}` (every cell + 21 checks each) | {count} | {walls['all cells']:.1f} s | {walls['all cells'] / count:.2f} s |")
    print(f"| `grader grade -j {jobs} --lean` (training runs left out + 21 checks each) | {count} | {walls['--lean']:.1f} s | {walls['--lean'] / count:.2f} s |")
    blas = "BLAS threads as installed" if default_env else "BLAS single-threaded"
    print(f"| `nbgrader autograde` (cells only; {blas}) | {count} | {nbgrader_wall:.1f} s | {nbgrader_wall / count:.2f} s |")
    for label, wall in walls.items():
        print(f"\ngrader ({label}) is {nbgrader_wall / wall:.1f}x faster than nbgrader autograde on the same {count} notebooks", end="")
    print()


def bench_similar(count: int) -> None:
    """The class-wide copy check (grader/similar.py) on `count` different made-up programs plus one copy."""
    import numpy as np

    from grader.notebook import similar

    rng = np.random.default_rng(3)
    names = [f"v{i}" for i in range(40)] + ["np.dot", "np.exp", "np.sum", "np.maximum", "np.log", "np.mean"]

    def program() -> str:
        return "def f(v0, v1):\n" + "\n".join(
            f"    {a} = {b}({c}, {rng.integers(0, 9)}) + {rng.choice(names)} * {rng.integers(0, 99)}"
            for a, b, c in (rng.choice(names, 3) for _ in range(60)))

    fingerprints = {f"s{i:05d}": program() for i in range(count)}
    fingerprints["copy"] = fingerprints["s00000"]
    started = time.perf_counter()
    pairs = similar.similar_pairs(fingerprints)
    print(f"| similar pairs, {count + 1} submissions ({count * (count + 1) // 2} pairs) | {time.perf_counter() - started:.1f} s | {len(pairs)} found |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10, help="notebooks to generate (default 10)")
    parser.add_argument("--full", action="store_true", help="run notebooks top to bottom instead of --defs-only")
    parser.add_argument("--nbgrader", type=int, default=0, metavar="N", help="also compare with nbgrader autograde on N plain notebooks")
    parser.add_argument("--nbgrader-default-env", action="store_true", help="run nbgrader without limiting BLAS threads (as it runs by default)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the --cluster local:2 row")
    parser.add_argument("--similar", type=int, default=0, metavar="N", help="also time the class copy check on N submissions")
    args = parser.parse_args()
    isolation, why_not = resolve_isolation("auto")
    options = Options(defs_only=not args.full, isolation=isolation)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        make_notebooks(folder, args.n)
        mode = "top to bottom" if args.full else "--defs-only"
        print(f"## {args.n} notebooks (shallow-backprop, {mode}), 21 checks each; isolation {isolation}"
              + (f" ({why_not})" if why_not else "") + f"; {os.cpu_count()} cores\n")
        print("| run | notebooks | batch wall | per notebook (wall / n) | per notebook (median, own clock) "
              "| harness overhead (median) | harness overhead (mean) | student code (median) | peak memory (PSS, all processes) |")
        print("|---|---|---|---|---|---|---|---|---|")
        bench_batch(folder, "-j 1, cold start", options, workers=1, warm=False)
        bench_batch(folder, "-j 1, warm start", options, workers=1)
        bench_batch(folder, "-j 2, warm start", options, workers=2)
        if not args.no_cluster:
            try:
                import distributed  # noqa: F401

                bench_batch(folder, "--cluster local:2, warm start", options, cluster="local:2")
            except ImportError:
                print('| --cluster local:2 | (pip install -e ".[cluster]") |')
    if args.similar:
        print("\n## the class-wide copy check\n\n| run | wall | result |\n|---|---|---|")
        bench_similar(args.similar)
    if args.nbgrader:
        print(f"\n## {args.nbgrader} plain notebooks with their training cells: grader vs nbgrader, side by side\n")
        print("| command | notebooks | wall | per notebook |")
        print("|---|---|---|---|")
        bench_nbgrader(args.nbgrader, default_env=args.nbgrader_default_env)


if __name__ == "__main__":
    main()
