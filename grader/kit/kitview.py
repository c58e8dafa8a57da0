"""How the kit shows a report: plain text for a terminal, HTML for Jupyter (every student text escaped)."""
from __future__ import annotations

import html
import textwrap

MARKS = {"passed": "ok", "failed": "XX", "error": "XX", "missing": "--", "timeout": "TO"}
COLOURS = {"passed": "#1a7f37", "missing": "#9a6700"}  # anything else is red


def _by_function(report) -> dict[str, list]:
    rows: dict[str, list] = {}
    for result in report.results:
        rows.setdefault(result.function, []).append(result)
    return rows


def _footer(report) -> str:
    withheld = report.pack.withheld
    if report.all_functions and withheld.get("count"):
        return f"{withheld['count']} more check(s) ({withheld['points']:g} points) are graded by your instructor after submission."
    return ""


def render_text(report) -> str:
    lines = [f"{report.pack.assignment}: public checks {report.score:g} / {report.max_score:g}"]
    for name, results in _by_function(report).items():
        score, top = sum(r.score for r in results), sum(r.max_score for r in results)
        lines.append(f"  {name:<32} {score:>5g} / {top:<5g}")
        for r in results:
            lines.append(f"    [{MARKS.get(r.status, '??')}] {r.name}" + (f"  ({r.diagnosis})" if r.diagnosis and r.status != "passed" else ""))
            if r.status != "passed" or r.diagnosis:
                for row in r.output.splitlines():
                    lines.append(textwrap.indent(textwrap.fill(row, 96, subsequent_indent="  "), "         "))
    footer = _footer(report)
    if footer:
        lines.append(footer)
    return "\n".join(lines)


def _heatmap(grid) -> str:
    """|student - reference|, pooled into a small grid (details['diff_grid']), as an inline SVG."""
    rows = grid if grid and isinstance(grid[0], list) else [grid]
    size = 10
    cells = []
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            shade = int(255 * (1 - max(0.0, min(1.0, float(value)))))
            cells.append(f'<rect x="{j * size}" y="{i * size}" width="{size}" height="{size}" fill="rgb(255,{shade},{shade})"/>')
    width, height = size * max(len(r) for r in rows), size * len(rows)
    return (f'<div style="font-size:smaller">where the values differ (darker: larger |yours - expected|)</div>'
            f'<svg width="{width}" height="{height}" style="border:1px solid #ccc">{"".join(cells)}</svg>')


def render_html(report) -> str:
    e = html.escape
    parts = [f'<div class="nncheck"><b>{e(report.pack.assignment)}</b>: public checks '
             f'<b>{report.score:g} / {report.max_score:g}</b>']
    for name, results in _by_function(report).items():
        score, top = sum(r.score for r in results), sum(r.max_score for r in results)
        parts.append(f'<div style="margin-top:6px"><code>{e(name)}</code> {score:g} / {top:g}</div><ul style="margin:2px 0">')
        for r in results:
            colour = COLOURS.get(r.status, "#cf222e")
            mark = "&#10004;" if r.status == "passed" else ("&#8211;" if r.status == "missing" else "&#10008;")
            item = f'<li style="color:{colour}">{mark} {e(r.name)}'
            if r.diagnosis and r.status != "passed":
                item += f' <span style="background:#fff1e5;color:#953800;padding:0 4px">{e(r.diagnosis)}</span>'
            if r.status != "passed" or r.diagnosis:
                item += f'<pre style="color:#222;white-space:pre-wrap;margin:2px 0">{e(r.output)}</pre>'
            if r.details.get("diff_grid"):
                item += _heatmap(r.details["diff_grid"])
            parts.append(item + "</li>")
        parts.append("</ul>")
    footer = _footer(report)
    if footer:
        parts.append(f"<div><i>{e(footer)}</i></div>")
    return "".join(parts) + "</div>"
