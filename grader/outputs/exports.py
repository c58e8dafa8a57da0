"""Grades out of the harness: a gradebook CSV, a Canvas import CSV, Gradescope results.json.

Also the `run_autograder` script for Gradescope and the small command it calls:

    python -m grader.exports gradescope RESULT.json RESULTS.json [--error-file STDERR.txt]
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from grader.outputs.summary import attention_words
from grader.result import Result, result_from_dict, write_atomic

FAILED_TO_RUN = ("crashed", "invalid", "timeout")


def _number(x: float) -> int | float:
    """A score as a CSV number: 50.0 -> 50, 41.5 -> 41.5, 1/3 -> 0.3333."""
    x = float(x)
    if not math.isfinite(x):
        return 0
    x = round(x, 4)
    return int(x) if x.is_integer() else x


# A cell whose text starts with one of these is run as a formula by Excel, LibreOffice or
# Google Sheets (OWASP "CSV injection"): a submission named =HYPERLINK(...) must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading ' (shown as text, not run).

    Only text is touched: numbers written from int/float stay numbers, negative ones included.
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends: what Excel writes
    writer.writerows([_inert(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _write_csv_atomic(path: str | os.PathLike[str], text: str, encoding: str) -> None:
    # write_atomic writes UTF-8; a BOM prefix gives utf-8-sig without a second code path.
    if encoding == "utf-8-sig":
        text = "\ufeff" + text
    write_atomic(path, text)


def graded_functions(results: Sequence[Result]) -> list[str]:
    """Function names in first-seen order across the results (tests are listed in spec order)."""
    seen: dict[str, None] = {}
    for result in results:
        for test in result.tests:
            seen.setdefault(test.function, None)
    return list(seen)


def function_points(result: Result) -> dict[str, float]:
    points: dict[str, float] = {}
    for test in result.tests:
        points[test.function] = points.get(test.function, 0.0) + float(test.score)
    return points


MANUAL_COLUMNS = ["manual", "manual_max", "total", "total_max", "unreviewed"]


def _manual_cells(result: Result, grade: Any) -> list[Any]:
    """manual, manual_max, total, total_max, unreviewed (the labels of the items not yet graded)."""
    return [_number(grade.points), _number(grade.max_points), _number(result.score + grade.points),
            _number(result.max_score + grade.max_points), " ".join(item.label.replace(" ", "") for item in grade.unreviewed)]


def grades_rows(results: Sequence[Result], functions: list[str] | None = None,
                manual: dict[str, Any] | None = None) -> list[list[Any]]:
    functions = list(functions) if functions is not None else graded_functions(results)
    rows: list[list[Any]] = [["submission", "score", "max_score", *functions]
                             + (MANUAL_COLUMNS if manual is not None else []) + ["needs_person"]]
    for result in sorted(results, key=lambda r: r.submission):
        points = function_points(result)
        rows.append([result.submission, _number(result.score), _number(result.max_score),
                     *(_number(points.get(f, 0.0)) for f in functions)]
                    + (_manual_cells(result, manual[result.submission]) if manual is not None else [])
                    + ["; ".join(attention_words(r) for r in dict.fromkeys(a.reason for a in result.attention))])
    return rows


def write_grades_csv(results: Sequence[Result], path: str | os.PathLike[str],
                     functions: list[str] | None = None, manual: dict[str, Any] | None = None) -> None:
    """One row per submission: submission, score, max_score, then the points earned per function.

    Functions come in the given (spec) order, else in first-seen order across the results; a
    function a result has no test for earns 0. Written as UTF-8 with a BOM (`utf-8-sig`) so
    Excel shows accented names correctly; LibreOffice and Python's csv read it as well.
    Numbers are written unquoted (50, 41.5), so spreadsheets treat them as numbers; text
    that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) starts with '.
    With `manual` (submission -> grader.manual.ManualGrade), five columns follow: manual,
    manual_max, total, total_max (automatic + manual) and unreviewed (items still to grade).
    The last column, needs_person, says in words why a person must read the submission (empty: no need).
    """
    _write_csv_atomic(path, _csv_text(grades_rows(results, functions, manual)), "utf-8-sig")


def canvas_rows(results: Sequence[Result], assignment_name: str, points_possible: float,
                manual: dict[str, Any] | None = None) -> list[list[Any]]:
    if manual is not None:  # the total: automatic + manual, out of both maxima
        points_possible += max((g.max_points for g in manual.values()), default=0.0)
    rows: list[list[Any]] = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment_name],
                             ["Points Possible", "", "", "", "", _number(points_possible)]]
    for result in sorted(results, key=lambda r: r.submission):
        grade = manual[result.submission] if manual is not None else None
        if grade is not None and grade.unreviewed:  # not 0 of the total: an empty cell is "not graded yet" in Canvas
            rows.append([result.submission, "", "", result.submission, "", ""])
            continue
        rows.append([result.submission, "", "", result.submission, "", _number(result.score + (grade.points if grade else 0.0))])
    return rows


def write_canvas_csv(results: Sequence[Result], path: str | os.PathLike[str], assignment_name: str,
                     points_possible: float, manual: dict[str, Any] | None = None) -> None:
    """A Canvas gradebook import file: Student, ID, SIS User ID, SIS Login ID, Section, <assignment>.

    The row after the header is Canvas's "Points Possible" row. Our submission id is what
    the LMS export named the student by, which is a login, not Canvas's internal numeric user
    ID: it goes into "SIS Login ID" (the column Canvas matches on when ID is empty) and into
    "Student" (display only); ID, SIS User ID and Section are left empty. Name the assignment
    column "Title (12345)" with the Canvas assignment id to update an existing assignment;
    any other title creates a new one. Plain UTF-8 without a BOM, as Canvas exports it.
    With `manual`, the score is automatic + manual points out of both maxima, and a student with
    an item not reviewed yet has an empty cell (Canvas: not graded), never a total that counts the
    unread answers as 0. Canvas would import any extra column as another assignment, so what is
    unreviewed is listed in grades.csv only.
    """
    write_atomic(path, _csv_text(canvas_rows(results, assignment_name, points_possible, manual)))


# ---------------------------------------------------------------- Gradescope

def _test_output(test: Any) -> str:
    lines = [test.output.rstrip()] if test.output else []
    details = test.details if isinstance(test.details, dict) else {}
    if test.diagnosis:
        lines.append(f"Likely cause: {test.diagnosis}")
    if "call" in details:
        lines.append(f"Call: {details['call']}")
    for key, label in (("shape", "Shape"), ("dtype", "Dtype")):
        if f"expected_{key}" in details or f"received_{key}" in details:
            lines.append(f"{label}: expected {details.get(f'expected_{key}', '?')}, "
                         f"received {details.get(f'received_{key}', '?')}")
    if "max_abs_error" in details:
        lines.append(f"Max |error|: {details['max_abs_error']}")
    if details.get("helper_note"):
        lines.append(str(details["helper_note"]))
    return "\n".join(lines)


def _submission_output(result: Result) -> str:
    execution = result.execution
    lines = [f"Score: {_number(result.score)} / {_number(result.max_score)}",
             f"Notebook run: {execution.status} in {execution.seconds:.1f} s"
             + (f" ({execution.message})" if execution.message else "")]
    for cell in execution.cells:
        if cell.status != "ok":
            lines.append(f"Cell {cell.index}: {cell.status}" + (f": {cell.error}" if cell.error else ""))
    if result.manual_review:
        lines.append(f"{len(result.manual_review)} written answer(s) will be graded by a person.")
    return "\n".join(lines)


def _manual_tests(grade: Any) -> list[dict[str, Any]]:
    tests = []
    for item in grade.items:
        entry = grade.entries.get(item.id)
        reviewed = grade.reviewed(item.id)
        test = {"name": f"Read by a person: {item.text}", "max_score": _number(item.points),
                "output_format": "text", "visibility": "visible"}
        if reviewed:
            test.update(score=_number(entry.points), status="passed" if entry.points >= item.points else "failed",
                        output=entry.comment if entry and entry.comment else "")
        else:  # no score and no status: Gradescope shows it as not graded, never as a failed 0
            test["output"] = "Not graded yet: a person reads this answer; its points are not in the score yet."
        tests.append(test)
    return tests


# The spec's visibility -> Gradescope's own values; anything unknown stays hidden.
GRADESCOPE_VISIBILITY = {"visible": "visible", "after_due": "after_due_date", "hidden": "hidden"}


def gradescope_results(result: Result, visibility: str = "visible", manual: Any = None) -> dict[str, Any]:
    """The Gradescope autograder results.json for one Result.

    Top-level `score` is the Result's score (it overrides the sum of tests); each test has
    name, score, max_score, status ("passed" or "failed": Gradescope knows no other; a manual item not
    reviewed yet has neither score nor status, which Gradescope shows as not graded), output
    (text) and visibility (the spec's, in Gradescope's words: a hidden check is never shown to
    the student, an after_due one after the deadline). stdout stays hidden: it may hold student prints. Integrity flags
    go to `extra_data`, which Gradescope stores but never shows to the student.
    """
    tests = [{
        "name": test.name,
        "score": _number(test.score),
        "max_score": _number(test.max_score),
        "status": "passed" if test.status == "passed" else "failed",
        "output": _test_output(test),
        "output_format": "text",
        "visibility": GRADESCOPE_VISIBILITY.get(getattr(test, "visibility", "visible"), "hidden"),
    } for test in result.tests]
    extra: dict[str, Any] = {}
    if manual is not None:  # grader.manual.ManualGrade: one test per item, and the total as the score
        tests += _manual_tests(manual)
        extra = {"manual": {"points": _number(manual.points), "max_points": _number(manual.max_points),
                            "unreviewed": [item.id for item in manual.unreviewed]}}
    return {
        "score": _number(result.score + (manual.points if manual is not None else 0.0)),
        "execution_time": _number(result.execution.seconds),
        "output": _submission_output(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment,
            "submission": result.submission,
            "spec_version": result.spec_version,
            "content_hash": result.content_hash,
            "execution_status": result.execution.status,
            "integrity": [{"flag": f.flag, "detail": f.detail} for f in result.integrity],
            **extra,
        },
    }


def gradescope_failure(message: str) -> dict[str, Any]:
    """results.json when no Result could be produced (unusable notebook, internal fault)."""
    return {"score": 0, "output": "The notebook could not be graded.\n" + message.strip(),
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_gradescope(result: Result, path: str | os.PathLike[str], manual: Any = None) -> None:
    write_atomic(path, _dump(gradescope_results(result, manual=manual)))


def run_autograder_script(assignment: str) -> str:
    """An example Gradescope `run_autograder` for one assignment (bash).

    It installs the grader from /autograder/source, grades the first notebook in
    /autograder/submission and converts the Result to /autograder/results/results.json.
    When grading produced no Result, the student still gets a results.json that says why.
    """
    a = shlex.quote(assignment)
    return f"""#!/usr/bin/env bash
# Gradescope autograder for assignment {a}: generated by grader.outputs.exports.run_autograder_script.
set -uo pipefail

cd /autograder/source
python3 -m pip install --quiet --no-input -e /autograder/source

mkdir -p /autograder/results
shopt -s nullglob
notebooks=(/autograder/submission/*.ipynb)
if [ "${{#notebooks[@]}}" -eq 0 ]; then
    echo "No .ipynb file was submitted." > /tmp/grader-stderr.txt
    grader gradescope-result /tmp/result.json /autograder/results/results.json \\
        --error-file /tmp/grader-stderr.txt
    exit 0
fi

rm -f /tmp/result.json
grader check "${{notebooks[0]}}" -a {a} --json /tmp/result.json 2> /tmp/grader-stderr.txt
status=$?
cat /tmp/grader-stderr.txt >&2
echo "grader check exited with status $status"

grader gradescope-result /tmp/result.json /autograder/results/results.json \\
    --error-file /tmp/grader-stderr.txt
"""


def gradescope_from_result(source: Path, target: Path, error_file: str | None = None) -> None:
    """Gradescope's results.json from a `grader check --json` Result; when the Result is missing or
    unreadable, a zero-score results.json that explains why (the checker's stderr, if there is any)."""
    try:
        result = result_from_dict(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = ""
        if error_file and Path(error_file).is_file():
            message = Path(error_file).read_text(encoding="utf-8", errors="replace")[-4000:]
        if not message.strip():
            message = f"{source}: no usable result ({type(exc).__name__}: {exc})"
        write_atomic(target, _dump(gradescope_failure(message)))
        return
    write_gradescope(result, target)
