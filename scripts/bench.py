"""Benchmark: per-notebook wall time, the harness's own overhead, and peak memory.

    python scripts/bench.py [-n 8] [--defs-only]

Grades N generated notebooks (the shallow-backprop solution with a different
mistake or none in each, --defs-only by default so that the numbers measure the
harness rather than the solution's training) with -j 1 and -j 2, then compares
the two execution designs on the same notebook: this project's IPython worker
against a Jupyter kernel driven by nbclient (kernel start + cells).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

# The worker runs BLAS single-threaded (fair with parallel grading); give the kernel the same.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import bank  # noqa: E402
from grader.batch import run_batch  # noqa: E402
from grader.grade import Grader, Options  # noqa: E402
from grader.spec import load_spec  # noqa: E402


def make_notebooks(folder: Path, count: int) -> list[Path]:
    spec = load_spec("shallow-backprop")
    solution = nbformat.read(spec.folder / "solution.ipynb", as_version=4)
    variants = [v for v in bank.variants(spec.bank_module()) if v.kind == "mistake"]
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


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def bench_batch(folder: Path, workers: int, defs_only: bool) -> None:
    spec = load_spec("shallow-backprop")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        outcome = run_batch([folder], spec, Options(defs_only=defs_only), Path(out), workers=workers, progress_stream=open("/dev/null", "w"))
        wall = time.perf_counter() - started
    results = outcome.results
    per = [r.execution.seconds for r in results]
    harness = [r.execution.harness_seconds for r in results]
    student = [s - h for s, h in zip(per, harness)]
    print(
        f"| -j {workers} | {len(results)} | {wall:.1f} s | {wall / len(results):.2f} s | {statistics.median(per):.2f} s "
        f"| {statistics.median(harness):.2f} s | {statistics.median(student):.2f} s |"
    )


def bench_designs(path: Path, repeats: int = 3) -> None:
    """The same notebook's cells through the IPython worker and through an nbclient kernel."""
    from nbclient import NotebookClient

    spec = load_spec("shallow-backprop")
    grader = Grader(spec, Options())
    worker_times, harness_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = grader.grade(path)
        worker_times.append(time.perf_counter() - started)
        harness_times.append(result.execution.harness_seconds)
    kernel_times, start_times = [], []
    for _ in range(repeats):
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as cwd:
            import shutil

            from reference import data

            data.write_dataset(Path(cwd))
            shutil.copyfile(Path(data.__file__).with_name("MNISTtools.py"), Path(cwd) / "MNISTtools.py")
            client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": cwd}})
            started = time.perf_counter()
            with client.setup_kernel():
                kernel_up = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
            kernel_times.append(time.perf_counter() - started)
            start_times.append(kernel_up - started)
    print("| design | whole notebook (median) | of which start-up / overhead |")
    print("|---|---|---|")
    print(f"| IPython worker process (chosen), cells + all probes | {statistics.median(worker_times):.2f} s | {statistics.median(harness_times):.2f} s harness |")
    print(f"| Jupyter kernel via nbclient, cells only (no probing) | {statistics.median(kernel_times):.2f} s | {statistics.median(start_times):.2f} s kernel start |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=8, help="notebooks to generate (default 8)")
    parser.add_argument("--full", action="store_true", help="run notebooks top to bottom instead of --defs-only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        paths = make_notebooks(folder, args.n)
        mode = "top to bottom" if args.full else "--defs-only"
        print(f"## {args.n} notebooks (shallow-backprop, {mode}), 21 checks each\n")
        print("| workers | notebooks | batch wall | per notebook (wall / n) | per notebook (median, own clock) | harness overhead (median) | student code (median) |")
        print("|---|---|---|---|---|---|---|")
        for workers in (1, 2):
            bench_batch(folder, workers, not args.full)
        own, children = peak_rss_mb()
        print(f"\npeak memory: grader process {own:.0f} MB, largest child (pool worker or student process) {children:.0f} MB\n")
        print("## execution designs, solution notebook top to bottom\n")
        bench_designs(paths[0])


if __name__ == "__main__":
    main()
