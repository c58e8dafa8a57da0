"""The class overview (index.html): who needs a person, the score distribution, pass rates, diagnoses,
the students and the similar pairs; its only script sorts the students table (allowed by hash)."""
from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from grader.result import Result, write_atomic
from grader.outputs.formatting import attention_reasons, fmt_points, fmt_seconds, percent
from grader.outputs.pages import ENV, csp
from grader.outputs.report import FAILED_TO_RUN

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


@dataclass(frozen=True)
class CheckRate:
    """How many submissions pass one check."""

    function: str
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class DiagnosisCount:
    """How many submissions a diagnosis names on one function."""

    function: str
    diagnosis: str
    count: int  # submissions with this diagnosis on this function


@dataclass(frozen=True)
class OverviewStats:
    """The numbers of the class overview."""

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
    return ENV.get_template("overview.html").render(
        title=title, stats=stats, students=students, pairs=pairs,
        need_person=[s for s in students if s["attention"]],
        histogram=_histogram_chart(stats.histogram),
        max_scores=sorted({r.max_score for r in results}),
        csp=csp(_SORT_JS), sort_js=_SORT_JS, fmt_points=fmt_points, fmt_seconds=fmt_seconds,
    )


def write_overview(results: Sequence[Result], report_links: dict[str, str], title: str,
                   path: str | os.PathLike[str],
                   similar_pairs: Sequence[tuple[str, str, float]] | None = None) -> None:
    """Write the class overview to `path` atomically."""
    write_atomic(path, render_overview(results, report_links, title, similar_pairs=similar_pairs))
