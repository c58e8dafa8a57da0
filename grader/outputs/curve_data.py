"""A reference curve as data: series in panels, what was cut to compute it, and its JSON (the cache's files)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CurveError(Exception):
    """A curve cannot be computed here (unknown name, data missing...); the message says why."""


@dataclass(frozen=True)
class Series:
    """One line of a panel: its points, and how it is drawn."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    faint: bool = False  # a noisy per-step trace drawn thin and light under the main lines


@dataclass(frozen=True)
class Panel:
    """One plot of a curve: axes, series, fixed y bounds where the quantity has them."""

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    ymin: float | None = None  # fixed bounds (e.g. 0 for an error rate); None: from the data
    ymax: float | None = None


@dataclass(frozen=True)
class Curve:
    """A reference curve: its panels, and a note saying what was computed on which data."""

    name: str
    title: str
    panels: tuple[Panel, ...]
    note: str  # what was cut to keep it cheap, and on which data
    source: str = "embedded"
    seconds: float = 0.0  # time the computation took when it was not cached
    cached: bool = False


def to_json(curve: Curve) -> dict[str, Any]:
    """The curve as the cache file stores it."""
    return {"name": curve.name, "title": curve.title, "note": curve.note, "source": curve.source,
            "seconds": curve.seconds,
            "panels": [{"title": p.title, "xlabel": p.xlabel, "ylabel": p.ylabel, "ymin": p.ymin, "ymax": p.ymax,
                        "series": [{"label": s.label, "x": list(s.x), "y": list(s.y), "faint": s.faint}
                                   for s in p.series]} for p in curve.panels]}


def from_json(data: dict[str, Any]) -> Curve:
    """A cache file's curve (marked `cached`); KeyError or TypeError when the file is damaged."""
    panels = tuple(Panel(p["title"], p["xlabel"], p["ylabel"],
                         tuple(Series(s["label"], tuple(s["x"]), tuple(s["y"]), bool(s.get("faint"))) for s in p["series"]),
                         p.get("ymin"), p.get("ymax")) for p in data["panels"])
    return Curve(data["name"], data["title"], panels, data["note"], data.get("source", ""),
                 float(data.get("seconds", 0.0)), cached=True)
