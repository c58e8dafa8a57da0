"""The kit's command line: run a notebook's code cells in this process, then every public check.

    python -m nncheck homework.ipynb [--cell-timeout 60] [--pack FILE] [--only NAME]

It is the student's own code on their own machine, so no sandbox: cells run in
an IPython InteractiveShell (magics, `from __future__` per cell), each under a
time limit, and a failing cell does not stop the ones after it. Exit 0 when
checking happened, whatever the score; 2 for an unusable notebook or pack.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

from grader.kit.kitcall import CallTimeout, error_text, time_limit
from grader.kit.kitcore import run_checks
from grader.kit.kitpack import KitError, Pack, find_pack


def notebook_cells(path: Path) -> tuple[list[tuple[int, str]], dict]:
    """Code cells as (number, source), and the notebook's metadata (a .py export: cells split at `# %%` / `# In[`).

    A cell's number is its position among all the notebook's cells, markdown included, counted from 0:
    the grader's report says "cell 7" of the same cell."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        chunks = [c for c in re.split(r"^# (?:%%|In\[[^\]]*\]:?).*$", text, flags=re.M) if c.strip()]
        return list(enumerate(chunks)), {}
    nb = json.loads(text)
    return [(number, "".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", ""))
            for number, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"], nb.get("metadata", {})


def make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    os.environ.setdefault("MPLBACKEND", "Agg")
    shell = InteractiveShell.instance(colors="NoColor")
    shell.history_manager.enabled = False

    def matplotlib_magic(line):  # figures are drawn off-screen here
        import matplotlib

        matplotlib.use("Agg", force=True)

    shell.register_magic_function(matplotlib_magic, "line", "matplotlib")
    return shell


def run_notebook(cells: list[tuple[int, str]], cell_timeout: float, out=sys.stdout) -> tuple[dict, list[tuple[int, str]]]:
    """Run the (number, source) cells in order; returns the namespace and the (cell number, error) of cells that failed."""
    shell = make_shell()
    failed = []
    for number, source in cells:
        error = None
        try:
            with time_limit(cell_timeout), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                outcome = shell.run_cell(source, store_history=False, silent=True)
            error = outcome.error_before_exec or outcome.error_in_exec
        except CallTimeout:
            error = f"did not finish within {cell_timeout:g} s"
        except BaseException as exc:  # SystemExit and friends raised past IPython
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = exc
        if error is not None:
            failed.append((number, error if isinstance(error, str) else error_text(error)))
    return shell.user_ns, failed


def report_dict(report, failed: list[tuple[int, str]]) -> dict:
    """The results in the shape of the grader's Result JSON (the fields a kit can know)."""
    tests = [{"name": r.name, "function": r.function, "status": r.status, "score": r.score, "max_score": r.max_score,
              "output": r.output, "diagnosis": r.diagnosis, "visibility": "visible"} for r in report.results]
    return {"assignment": report.pack.assignment, "score": report.score, "max_score": report.max_score, "tests": tests,
            "cells": [{"index": number, "error": error} for number, error in failed]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nncheck", description="Check a notebook against the kit's public checks, offline.",
                                     epilog="example:\n  python -m nncheck shallow-backprop.ipynb", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", help="your notebook (.ipynb, or a .py export)")
    parser.add_argument("--cell-timeout", type=float, default=60.0, metavar="S", help="seconds a cell may run (default 60)")
    parser.add_argument("--pack", help="the check pack (<id>.checks.json); default: the one the notebook names, or the one here")
    parser.add_argument("--only", metavar="NAME", help="check one function only")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON (the grader's test fields)")
    args = parser.parse_args(argv)
    path = Path(args.notebook)
    try:
        cells, metadata = notebook_cells(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"nncheck: {path}: not a readable notebook ({exc})", file=sys.stderr)
        return 2
    try:
        named = metadata.get("grader", {}).get("pack")
        if args.pack:
            pack = Pack(args.pack)
        elif named and (path.parent / named).exists():
            pack = Pack(path.parent / named)
        else:
            pack = find_pack(None, metadata.get("grader", {}).get("assignment"))
    except (KitError, OSError, ValueError, KeyError) as exc:
        print(f"nncheck: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    previous = os.getcwd()
    sys.path.insert(0, str(path.parent.resolve()))
    os.chdir(path.parent)  # the notebook's relative paths (data files) work as in Jupyter
    try:
        namespace, failed = run_notebook(cells, args.cell_timeout)
        ran = time.perf_counter() - started
        report = run_checks(args.only, namespace, pack)
    except KitError as exc:
        print(f"nncheck: {exc}", file=sys.stderr)
        return 2
    finally:
        os.chdir(previous)
    print(repr(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report_dict(report, failed), indent=1, default=str), encoding="utf-8")
    if failed:
        print(f"\nCells that did not run cleanly ({len(failed)}):")
        for number, error in failed[:12]:
            print(f"  cell {number}: {error}")
    print(f"\n(notebook ran in {ran:.1f} s; checks took {time.perf_counter() - started - ran:.2f} s)")
    return 0
