"""The "where values differ" chart of a failed check: `details['diff_grid']` as the geometry of an inline SVG."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Sequential colour ramp for |student - reference| in [0, 1] (light -> dark red).
_RAMP = ((0.0, (247, 247, 247)), (0.25, (253, 219, 199)), (0.5, (244, 165, 130)),
         (0.75, (214, 96, 77)), (1.0, (103, 0, 31)))
_NAN_COLOUR = "#3b0f70"  # NaN/inf in the grid: a distinct purple


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


@dataclass(frozen=True)
class Cell:
    """One block or bar of the chart, with its value in words for a screen reader."""

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


def legend() -> list[tuple[float, str]]:
    """The ramp's stops as (value, colour), for the key under a chart."""
    return [(x, _colour(x)) for x, _ in _RAMP]
