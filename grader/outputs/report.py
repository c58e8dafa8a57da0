"""HTML reports: one self-contained page per submission.

Everything a report shows comes from a `Result`; student-controlled text (outputs,
cell sources, tracebacks, even the submission id) is untrusted, so the pages are
built with jinja2 autoescaping and a Content-Security-Policy that forbids every
fetch and every script (pages.py). No CDN, no JavaScript needed to read a page;
charts are inline SVG (diffchart.py). The class overview is overview.py.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from grader.result import Result, TestResult, write_atomic
from grader.outputs.diffchart import diff_chart, legend
from grader.outputs.formatting import attention_entries, fmt_number, fmt_points, fmt_seconds, percent, sentence, shape_text
from grader.outputs.pages import ENV, csp

FAILED_TO_RUN = ("crashed", "invalid", "timeout")


@dataclass(frozen=True)
class FunctionSummary:
    """One graded function's line in the report: its points, checks passed and overall status."""

    function: str
    score: float
    max_score: float
    passed: int
    total: int
    status: str  # "passed" | "partial" | "failed" | "missing" | "error" | "timeout"


def function_summaries(result: Result) -> list[FunctionSummary]:
    """One line per graded function, in the order the tests list them."""
    order: dict[str, list[TestResult]] = {}
    for test in result.tests:
        order.setdefault(test.function, []).append(test)
    out = []
    for name, tests in order.items():
        statuses = {t.status for t in tests}
        passed = sum(t.status == "passed" for t in tests)
        score = sum(t.score for t in tests)
        if statuses == {"passed"}:
            status = "passed"
        elif passed or score > 0:
            status = "partial"
        elif len(statuses) == 1:
            status = statuses.pop()
        else:
            status = "failed"
        out.append(FunctionSummary(name, score, sum(t.max_score for t in tests),
                                   passed, len(tests), status))
    return out


def _detail_rows(details: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    if "call" in details:
        rows.append(("Call", str(details["call"])))
    if "expected_shape" in details or "received_shape" in details:
        rows.append(("Shape", f"expected {shape_text(details.get('expected_shape', '?'))}, "
                              f"received {shape_text(details.get('received_shape', '?'))}"))
    if "expected_dtype" in details or "received_dtype" in details:
        rows.append(("Dtype", f"expected {details.get('expected_dtype', '?')}, "
                              f"received {details.get('received_dtype', '?')}"))
    stats = []
    if "max_abs_error" in details:
        stats.append(f"max |error| {fmt_number(details['max_abs_error'])}")
    if "mean_abs_error" in details:
        stats.append(f"mean |error| {fmt_number(details['mean_abs_error'])}")
    if "mismatch_fraction" in details:
        try:
            stats.append(f"{100 * float(details['mismatch_fraction']):.1f}% of entries differ")
        except (TypeError, ValueError):
            pass
    if "worst_index" in details:
        stats.append(f"worst at {shape_text(details['worst_index'])}")
    if stats:
        rows.append(("Error", "; ".join(stats)))
    return rows


def _manual_context(result: Result, manual: Any, answers: Any) -> dict[str, Any]:
    """The manual-review section: each item with the student's answer, points and comment."""
    from grader.outputs.answers import read_answers
    from grader.checks.rubric import parse_manual_review
    from grader.checks.spec import SpecError, load_spec

    try:
        spec = load_spec(result.assignment)
        items, folder = spec.manual_items, spec.folder
    except SpecError:
        items, folder = (), None
    if tuple(item.text for item in items) != tuple(result.manual_review):  # graded under another spec
        items = parse_manual_review(list(result.manual_review), result.assignment)
    if manual is not None:
        items = manual.items
    if answers is None and items and result.notebook:
        answers = read_answers(result.notebook, items, folder)
    from grader.outputs.curves import curves_for, source_of

    curves = curves_for(items, source_of(result))  # the reference's curve beside the student's, where an item names one
    rows = []
    for item in items:
        entry = manual.entries.get(item.id) if manual is not None else None
        rows.append({"item": item, "entry": entry, "reviewed": manual is not None and manual.reviewed(item.id),
                     "cells": answers.for_item(item.id) if answers is not None else (), "curve": curves.get(item.id)})
    return {"manual_items": rows, "manual": manual, "answers": answers}


def _reason(diagnosis_text: str | None, output: str) -> str:
    """One line a student acts on: the named mistake's text (it says the fix), else the feedback's first line."""
    if diagnosis_text:
        return diagnosis_text
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    return lines[0][:300] if lines else "no feedback"


def _report_context(result: Result, manual: Any = None, answers: Any = None) -> dict[str, Any]:
    """Everything report.html reads: the totals, the functions, the failures in detail, the manual part."""
    failures = []
    for k, test in enumerate(result.tests):
        if test.status == "passed":
            continue
        details = test.details if isinstance(test.details, dict) else {}
        if not (test.diagnosis or details):
            continue  # nothing beyond the feedback already in the tests table
        failures.append({
            "anchor": f"test-{k}",
            "test": test,
            "rows": _detail_rows(details),
            "diagnosis_text": details.get("diagnosis_text"),
            "helper_note": details.get("helper_note"),
            "chart": diff_chart(details.get("diff_grid")),
            "chart_max": fmt_number(details["max_abs_error"]) if "max_abs_error" in details else None,
        })
    pct = percent(result.score, result.max_score)
    anchors = {f["anchor"] for f in failures}
    lost = [{"test": t, "anchor": f"test-{k}" if f"test-{k}" in anchors else "",
             "reason": _reason((t.details if isinstance(t.details, dict) else {}).get("diagnosis_text"), t.output)}
            for k, t in enumerate(result.tests) if t.status != "passed" and t.max_score > t.score]
    return {
        "r": result,
        "lost": lost,
        "pct": pct,
        "band": "good" if pct >= 80 else "fair" if pct >= 50 else "poor",
        "functions": function_summaries(result),
        "failures": failures,
        "anchors": {f["anchor"] for f in failures},
        "failing_cells": [c for c in result.execution.cells if c.status != "ok"],
        "attention": attention_entries(result),
        "legend": legend(),
        "csp": csp(None),
        "fmt_points": fmt_points,
        "fmt_seconds": fmt_seconds,
        "ran": result.execution.status not in FAILED_TO_RUN,
        "message": sentence(result.execution.message),
        **_manual_context(result, manual, answers),
    }


def render_report(result: Result, manual: Any = None, answers: Any = None) -> str:
    """The HTML report of one graded submission (a complete, self-contained page).

    `manual` (grader.manual.ManualGrade) adds the manual points and the TA's comments;
    `answers` (grader.answers.Answers) is read from the result's notebook when not given.
    """
    return ENV.get_template("report.html").render(**_report_context(result, manual, answers))


def write_report(result: Result, path: str | os.PathLike[str], manual: Any = None) -> None:
    """Write the report of `result` to `path` atomically."""
    write_atomic(path, render_report(result, manual))
