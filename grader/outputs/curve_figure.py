"""Drawing a reference curve: the geometry of an inline SVG (no script, no fetch) that `_curve.html` renders.

Panels are stacked, each with round ticks and a legend; colours and dash patterns stay
distinguishable with colour-blindness.
"""
from __future__ import annotations

import math
from typing import Any

from grader.outputs.curve_data import Curve

# Okabe-Ito colours (distinguishable with colour-blindness), with a dash pattern per series too.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
DASHES = ("", "5 3", "2 2", "8 3 2 3", "1 3", "")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks, value = [], first
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def figure(curve: Curve, width: float = 380.0, plot_h: float | None = None) -> dict[str, Any]:
    """Geometry of the curve as inline SVG: panels stacked, axes with round ticks, a legend per panel."""
    plot_h = plot_h or (140.0 if len(curve.panels) == 1 else 112.0)  # two panels stay within one screen
    left, right, top = 46.0, 12.0, 20.0
    plot_w = width - left - right
    panels, y0 = [], 0.0
    colour_of: dict[str, int] = {}
    for panel in curve.panels:
        xs = [v for s in panel.series for v in s.x if math.isfinite(v)]
        ys = [v for s in panel.series for v in s.y if math.isfinite(v)]
        x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        y_lo = panel.ymin if panel.ymin is not None else (min(ys) if ys else 0.0)
        y_hi = max(ys) if ys else 1.0
        if panel.ymax is not None and y_hi > 0.5 * panel.ymax:
            y_hi = panel.ymax  # an error rate near chance: show the whole 0..100 %
        xt = nice_ticks(x_lo, x_hi, 6)
        yt = nice_ticks(y_lo, y_hi, 6)
        x_lo, x_hi = min(xt[0], x_lo), max(xt[-1], x_hi)
        y_lo, y_hi = min(yt[0], y_lo), max(yt[-1], y_hi)
        py = y0 + top

        def sx(v: float) -> float:
            return round(left + (v - x_lo) / ((x_hi - x_lo) or 1.0) * plot_w, 1)

        def sy(v: float) -> float:
            return round(py + plot_h - (v - y_lo) / ((y_hi - y_lo) or 1.0) * plot_h, 1)

        lines = []
        for s in panel.series:
            k = colour_of.setdefault(s.label, len(colour_of)) if not s.faint else -1
            points = [(sx(a), sy(b)) for a, b in zip(s.x, s.y) if math.isfinite(a) and math.isfinite(b)]
            lines.append({
                "label": s.label, "faint": s.faint,
                "colour": "#afb8c1" if s.faint else COLOURS[k % len(COLOURS)],
                "dash": "" if s.faint else DASHES[k % len(DASHES)],
                "points": " ".join(f"{a},{b}" for a, b in points),
                "markers": [] if s.faint or len(points) > 12 else points,
                "last": f"{s.label}: {_fmt(s.y[-1])}" if s.y else s.label,
            })
        legend_y = py + plot_h + 40
        legend = []
        for j, line in enumerate(sorted(lines, key=lambda l: l["faint"])):  # the faint trace last
            legend.append({**line, "x": left + (j % 2) * plot_w / 2, "y": legend_y + (j // 2) * 15})
        height = legend_y - y0 + 15 * math.ceil(len(legend) / 2)
        panels.append({
            "title": panel.title, "y": y0, "height": height, "left": left, "top": py,
            "plot_w": plot_w, "plot_h": plot_h, "xlabel": panel.xlabel, "ylabel": panel.ylabel,
            "xticks": [{"x": sx(v), "label": _fmt(v)} for v in xt if x_lo - 1e-9 <= v <= x_hi + 1e-9],
            "yticks": [{"y": sy(v), "label": _fmt(v)} for v in yt if y_lo - 1e-9 <= v <= y_hi + 1e-9],
            "lines": lines, "legend": legend,
        })
        y0 += height + 10
    aria = "; ".join(f"{p['title']}: " + ", ".join(l["last"] for l in p["lines"] if not l["faint"]) for p in panels)
    return {"title": curve.title, "note": curve.note, "width": width, "height": round(y0 - 4, 1), "panels": panels,
            "aria": f"{curve.title}. {aria}", "cached": curve.cached, "seconds": curve.seconds}
