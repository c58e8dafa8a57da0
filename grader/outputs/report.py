"""HTML reports: one self-contained page per submission, and the class overview.

Everything a report shows comes from a `Result`; student-controlled text (outputs,
cell sources, tracebacks, even the submission id) is untrusted, so the pages are
built with jinja2 autoescaping and a Content-Security-Policy that forbids every
fetch and every script except the overview's own sorting snippet (allowed by hash).
No CDN, no JavaScript needed to read a page; charts are inline SVG.
"""
from __future__ import annotations

import base64
import hashlib
import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import quote

import jinja2

from grader.result import Result, TestResult, write_atomic
from grader.outputs.summary import attention_words

FAILED_TO_RUN = ("crashed", "invalid", "timeout")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("grader", "templates"),
    autoescape=True,  # every template, whatever its name: student text is untrusted
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Sequential colour ramp for |student - reference| in [0, 1] (light -> dark red).
_RAMP = ((0.0, (247, 247, 247)), (0.25, (253, 219, 199)), (0.5, (244, 165, 130)),
         (0.75, (214, 96, 77)), (1.0, (103, 0, 31)))
_NAN_COLOUR = "#3b0f70"  # NaN/inf in the grid: a distinct purple

# The overview's only script: sort the students table when a header button is clicked.
_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th button').forEach(function (button) {
    button.addEventListener('click', function () {
      var th = button.parentElement, col = th.cellIndex, body = table.tBodies[0];
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      var numeric = th.dataset.type === 'number';
      var key = function (row) {
        var cell = row.cells[col], v = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        return numeric ? parseFloat(v) : v.toLowerCase();
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    });
  });
});
""".strip()


def _csp(script: str | None) -> str:
    """No fetches at all; inline styles; at most one script, pinned by its hash."""
    scripts = "'none'"
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        scripts = f"'sha256-{digest}'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src {scripts}; base-uri 'none'; form-action 'none'")


# ---------------------------------------------------------------- formatting helpers

def fmt_points(x: Any) -> str:
    """41.5 -> '41.5', 50.0 -> '50', nan -> 'nan'."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2f}".rstrip("0").rstrip(".")


def fmt_number(x: Any) -> str:
    """Error statistics: 4 significant digits, scientific when tiny or huge."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x) or x == 0:
        return str(x) if x != 0 else "0"
    return f"{x:.4g}"


def fmt_seconds(x: float) -> str:
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {x % 60:.0f} s"


def percent(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score > 0 else 0.0


def _sentence(text: str) -> str:
    """'kernel died.' -> 'Kernel died' (the template adds the full stop)."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def _shape(value: Any) -> str:
    if isinstance(value, (list, tuple)) and not value:
        return "() (a scalar)"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def _as_unit(value: Any) -> float | None:
    """A grid value as a float in [0, 1]; None for NaN/inf/garbage."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    return min(max(x, 0.0), 1.0)


def _colour(x: float | None) -> str:
    if x is None:
        return _NAN_COLOUR
    for (x0, c0), (x1, c1) in zip(_RAMP, _RAMP[1:]):
        if x <= x1:
            t = (x - x0) / (x1 - x0)
            return "#%02x%02x%02x" % tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))
    return "#%02x%02x%02x" % _RAMP[-1][1]


# ---------------------------------------------------------------- charts as data

@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    w: float
    h: float
    fill: str
    label: str


@dataclass(frozen=True)
class Chart:
    """Geometry of one inline SVG: a heatmap ('matrix') or a bar chart ('vector')."""

    kind: str
    width: float
    height: float
    cells: tuple[Cell, ...]
    caption: str


def diff_chart(grid: Any, bar_height: float = 60.0) -> Chart | None:
    """Geometry for `details['diff_grid']`: a list of lists -> heatmap, a flat list -> bars."""
    if not isinstance(grid, (list, tuple)) or not grid:
        return None
    if all(isinstance(row, (list, tuple)) for row in grid):
        rows = [list(row)[:24] for row in grid[:24]]
        ncols = max((len(r) for r in rows), default=0)
        if ncols == 0:
            return None
        cell = max(10.0, min(24.0, 240.0 / max(len(rows), ncols)))  # small grids get big blocks
        cells = []
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                v = _as_unit(value)
                label = f"[{i}, {j}] " + ("not finite" if v is None else f"{v:.2f}")
                cells.append(Cell(j * cell, i * cell, cell, cell, _colour(v), label))
        return Chart("matrix", ncols * cell, len(rows) * cell, tuple(cells),
                     f"Where values differ: {len(rows)} x {ncols} blocks, darker = larger |student - reference|")
    values = list(grid)[:64]
    width = max(6.0, min(16.0, 384.0 / len(values)))
    cells = []
    for j, value in enumerate(values):
        v = _as_unit(value)
        h = bar_height if v is None else max(1.0, v * bar_height)
        label = f"[{j}] " + ("not finite" if v is None else f"{v:.2f}")
        cells.append(Cell(j * width + 1, bar_height - h, width - 2, h, _colour(1.0 if v is None else max(v, 0.3)), label))
    return Chart("vector", len(values) * width, bar_height, tuple(cells),
                 f"Where values differ: {len(values)} segments, taller = larger |student - reference|")


def _legend() -> list[tuple[float, str]]:
    return [(x, _colour(x)) for x, _ in _RAMP]


# ---------------------------------------------------------------- one submission

@dataclass(frozen=True)
class FunctionSummary:
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
        rows.append(("Shape", f"expected {_shape(details.get('expected_shape', '?'))}, "
                              f"received {_shape(details.get('received_shape', '?'))}"))
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
        stats.append(f"worst at {_shape(details['worst_index'])}")
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


def attention_entries(result: Result) -> list[dict[str, str]]:
    """The result's attention entries, each with its reason in words."""
    return [{"reason": a.reason, "words": attention_words(a.reason), "detail": a.detail} for a in result.attention]


def attention_reasons(result: Result) -> list[dict[str, str]]:
    """The distinct reasons (id and words), in the order they were found: what the overview lists."""
    reasons = dict.fromkeys(a.reason for a in result.attention)
    return [{"reason": r, "words": attention_words(r)} for r in reasons]


def _report_context(result: Result, manual: Any = None, answers: Any = None) -> dict[str, Any]:
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
    return {
        "r": result,
        "pct": pct,
        "band": "good" if pct >= 80 else "fair" if pct >= 50 else "poor",
        "functions": function_summaries(result),
        "failures": failures,
        "anchors": {f["anchor"] for f in failures},
        "failing_cells": [c for c in result.execution.cells if c.status != "ok"],
        "attention": attention_entries(result),
        "legend": _legend(),
        "csp": _csp(None),
        "fmt_points": fmt_points,
        "fmt_seconds": fmt_seconds,
        "ran": result.execution.status not in FAILED_TO_RUN,
        "message": _sentence(result.execution.message),
        **_manual_context(result, manual, answers),
    }


def render_report(result: Result, manual: Any = None, answers: Any = None) -> str:
    """The HTML report of one graded submission (a complete, self-contained page).

    `manual` (grader.manual.ManualGrade) adds the manual points and the TA's comments;
    `answers` (grader.answers.Answers) is read from the result's notebook when not given.
    """
    return _ENV.get_template("report.html").render(**_report_context(result, manual, answers))


def write_report(result: Result, path: str | os.PathLike[str], manual: Any = None) -> None:
    write_atomic(path, render_report(result, manual))


# ---------------------------------------------------------------- the class overview

@dataclass(frozen=True)
class CheckRate:
    function: str
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class DiagnosisCount:
    function: str
    diagnosis: str
    count: int  # submissions with this diagnosis on this function


@dataclass(frozen=True)
class OverviewStats:
    count: int
    mean_score: float
    median_score: float
    mean_percent: float
    failed_to_run: int
    histogram: tuple[int, ...]  # submissions per 10-percent bin, 0-10 ... 90-100 (100 in the last)
    checks: tuple[CheckRate, ...]
    diagnoses: tuple[DiagnosisCount, ...]
    statuses: dict[str, int] = field(default_factory=dict)
    need_person: int = 0  # submissions with attention entries


def overview_stats(results: Sequence[Result]) -> OverviewStats:
    """The numbers the overview shows, computed once so tests can hold the page to them."""
    scores = [r.score for r in results]
    pcts = [percent(r.score, r.max_score) for r in results]
    hist = [0] * 10
    for p in pcts:
        hist[min(int(p // 10), 9) if p > 0 else 0] += 1
    checks: dict[tuple[str, str], list[int]] = {}
    diagnoses: Counter[tuple[str, str]] = Counter()
    for r in results:
        seen = set()
        for t in r.tests:
            entry = checks.setdefault((t.function, t.name), [0, 0])
            entry[0] += t.status == "passed"
            entry[1] += 1
            if t.diagnosis and t.status != "passed":
                seen.add((t.function, t.diagnosis))
        diagnoses.update(seen)  # count submissions, not tests
    return OverviewStats(
        count=len(results),
        mean_score=statistics.fmean(scores) if scores else 0.0,
        median_score=statistics.median(scores) if scores else 0.0,
        mean_percent=statistics.fmean(pcts) if pcts else 0.0,
        failed_to_run=sum(r.execution.status in FAILED_TO_RUN for r in results),
        histogram=tuple(hist),
        checks=tuple(CheckRate(f, n, p, t) for (f, n), (p, t) in checks.items()),
        diagnoses=tuple(DiagnosisCount(f, d, c) for (f, d), c in
                        sorted(diagnoses.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))),
        statuses=dict(Counter(r.execution.status for r in results)),
        need_person=sum(bool(r.attention) for r in results),
    )


def _href(path: str | None) -> str | None:
    """A report path relative to index.html -> a safe relative URL ('a b#1.html' -> 'a%20b%231.html').

    Values are plain paths, not URLs: they are percent-encoded here, which also turns a
    ':' into '%3A' so a submission called 'javascript:...' can never become a scheme.
    """
    if not path:
        return None
    return quote(str(path).replace(os.sep, "/"), safe="/")


def _histogram_chart(hist: Iterable[int], width: float = 420, height: float = 180) -> dict[str, Any]:
    """Bars for the score histogram; a margin on every side keeps labels inside the viewBox."""
    hist = list(hist)
    top = max(hist + [1])
    left, right, above, below = 14.0, 14.0, 18.0, 20.0
    slot = (width - left - right) / len(hist)
    base = height - below
    bars = []
    for k, n in enumerate(hist):
        h = (base - above) * n / top
        bars.append({"x": left + k * slot + 3, "y": base - h, "w": slot - 6, "h": h, "n": n,
                     "label": f"{k * 10}-{k * 10 + 10}%", "tick": k * 10, "tick_x": left + k * slot})
    return {"width": width, "height": height, "bars": bars, "base": base, "left": left,
            "end_x": width - right}


def render_overview(results: Sequence[Result], report_links: dict[str, str], title: str,
                    similar_pairs: Sequence[tuple[str, str, float]] | None = None) -> str:
    """The class page (index.html): who needs a person, distribution, pass rates, diagnoses, students, similar pairs.

    `report_links` maps a submission id to its report's path relative to index.html.
    """
    results = sorted(results, key=lambda r: r.submission)
    stats = overview_stats(results)
    students = [{"r": r, "pct": percent(r.score, r.max_score), "href": _href(report_links.get(r.submission)),
                 "failed": sum(t.status != "passed" for t in r.tests), "attention": attention_reasons(r)}
                for r in results]
    pairs = [{"a": a, "b": b, "similarity": float(s), "href_a": _href(report_links.get(a)),
              "href_b": _href(report_links.get(b))}
             for a, b, s in sorted(similar_pairs or (), key=lambda p: -float(p[2]))]
    return _ENV.get_template("overview.html").render(
        title=title, stats=stats, students=students, pairs=pairs,
        need_person=[s for s in students if s["attention"]],
        histogram=_histogram_chart(stats.histogram),
        max_scores=sorted({r.max_score for r in results}),
        csp=_csp(_SORT_JS), sort_js=_SORT_JS, fmt_points=fmt_points, fmt_seconds=fmt_seconds,
    )


def write_overview(results: Sequence[Result], report_links: dict[str, str], title: str,
                   path: str | os.PathLike[str],
                   similar_pairs: Sequence[tuple[str, str, float]] | None = None) -> None:
    write_atomic(path, render_overview(results, report_links, title, similar_pairs=similar_pairs))
