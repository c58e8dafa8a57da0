"""Where the top level stopped, and whose fault it was (issue 22 item 1).

Any top-level stop (an exception of any kind, ``sys.exit``, a cell's or the notebook's time limit)
is followed by a definitions-only pass from the first stopped cell on, so no definition is lost to
top-level code. Each stop is classified:

- ``machine``: the grading machine's (a missing module, no network, no display, the time limit);
- ``data``: the data set the grader chose (a size MNIST has and the embedded set does not);
- ``student``: the student's own code (a typo, a wrong shape, ``sys.exit``).

A machine or data stop is never the student's fault; a student's stop is reported as theirs, and
it loses them nothing the definitions-only pass can recover.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from grader.notebook.cells import parse_cell
from grader.result import CellOutcome

# Top-level failures that are the grading machine's, not the graded functions': the data under another
# name (served anyway, see worker.serve_data_everywhere), a module this machine lacks, no network or
# display, a NumPy alias the handout's own code uses.
_MACHINE_ERRORS = (
    ("FileNotFoundError", "a file that is not here"),
    ("ModuleNotFoundError", "a module this machine does not have"),
    ("ImportError", "a module this machine does not have"),
    ("URLError", "no network while grading"),
    ("ConnectionError", "no network while grading"),
    ("gaierror", "no network while grading"),
    ("TclError", "no display while grading"),
    ("module 'numpy' has no attribute", "a NumPy alias removed in this machine's NumPy"),
)

# MNIST's own counts written into the code meet a data set of another size: the grader's choice.
_MNIST_COUNTS = r"(?:60000|10000|50000|70000)"
_DATA_ERRORS = (
    re.compile(rf"cannot reshape array of size \d+ into shape \({_MNIST_COUNTS}\b"),
    re.compile(rf"cannot reshape array of size \d+ into shape \(\d+, ?{_MNIST_COUNTS}\)"),
    re.compile(rf"could not broadcast input array from shape \(\d+,.*\) into shape \({_MNIST_COUNTS}\b"),
    re.compile(rf"shape mismatch.*\b{_MNIST_COUNTS}\b"),
)

# An index MNIST has and the served set does not: past the set's end (not at it: that is an off-by-one).
_PAST_THE_DATA = re.compile(r"index (\d+) is out of bounds for axis 0 with size (\d+)")
_CELL_FRAME = re.compile(r'File "<ipython-input-\d+-[0-9a-f]+>", line (\d+), in <module>\n {4}(.*)')


@dataclass(frozen=True)
class Stop:
    outcome: CellOutcome
    whose: str  # "machine" | "data" | "student"
    reason: str  # in words, for the attention entry
    line: int  # 1-based line of the failing statement in its cell; 0 when unknown (a skipped cell)
    statement: str  # that statement's first line, or ""


def top_level_stops(outcomes: list[CellOutcome]) -> list[Stop]:
    """Every cell that did not run to its end, in order, with whose fault it was."""
    return [_classify(o) for o in outcomes if o.status in ("error", "timeout", "skipped")]


def _classify(outcome: CellOutcome) -> Stop:
    line, statement = failing_statement(outcome)
    error = outcome.error or ""
    if outcome.status == "skipped":
        return Stop(outcome, "machine", f"not run: {error or 'the notebook stopped before it'}", 0, "")
    if outcome.status == "timeout":
        return Stop(outcome, "machine", "top-level code ran past the time limit", line, statement)
    if any(pattern.search(error) for pattern in _DATA_ERRORS) or _count_check(error, statement):
        return Stop(outcome, "data", f"the code writes MNIST's own counts and the grader's data set has other counts: {error[:120]}", line, statement)
    reason = next((why for fragment, why in _MACHINE_ERRORS if fragment in error), None)
    if reason:
        return Stop(outcome, "machine", f"{reason}: {error[:120]}", line, statement)
    return Stop(outcome, "student", error[:160] or "an error", line, statement)


def _count_check(error: str, statement: str) -> bool:
    """An index past the served set's end, or a shape error or assert on a statement that writes MNIST's own
    counts, e.g. `assert x.shape == (784, 60000)`."""
    past = _PAST_THE_DATA.search(error)
    if past and 200 <= int(past.group(2)) < int(past.group(1)) < 70000:
        return True
    return error.startswith(("AssertionError", "ValueError", "IndexError")) and bool(re.search(rf"\b{_MNIST_COUNTS}\b", statement))


def failing_statement(outcome: CellOutcome) -> tuple[int, str]:
    """The line of the cell's own top-level statement that raised, from the traceback's first cell frame."""
    found = _CELL_FRAME.search(outcome.traceback or "")
    if not found:
        return 0, ""
    return int(found.group(1)), found.group(2).strip()[:120]


def lost_definitions(stop: Stop, source: str, wanted: set[str]) -> list[str]:
    """Graded names (or classes holding graded methods) that the stop kept from being defined."""
    _, tree, _, _ = parse_cell(source)
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if stop.line and node.end_lineno is not None and node.end_lineno <= stop.line:
            continue  # ran before the failing statement (or is it): defined in the normal pass
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub.name in wanted:
                names.append(sub.name)
    return sorted(set(names))
