"""The manual part of a grade: the current entries of one submission against the spec's items.

Reports, exports and the review page all read it through `manual_grades`, so they agree on
what "reviewed" means: an item is reviewed when its latest entry has points.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from grader.outputs.gradebook import Gradebook, ManualEntry
from grader.checks.rubric import ManualItem


@dataclass(frozen=True)
class ManualGrade:
    items: tuple[ManualItem, ...]
    entries: dict[str, ManualEntry] = field(default_factory=dict)  # item id -> latest entry

    @property
    def points(self) -> float:
        return float(sum(e.points for e in self.entries.values() if e.points is not None))

    @property
    def max_points(self) -> float:
        return float(sum(item.points for item in self.items))

    def reviewed(self, item_id: str) -> bool:
        entry = self.entries.get(item_id)
        return entry is not None and entry.points is not None

    @property
    def unreviewed(self) -> tuple[ManualItem, ...]:
        return tuple(item for item in self.items if not self.reviewed(item.id))

    @property
    def complete(self) -> bool:
        return not self.unreviewed

    @property
    def comments(self) -> list[tuple[ManualItem, ManualEntry]]:
        return [(item, self.entries[item.id]) for item in self.items
                if item.id in self.entries and self.entries[item.id].comment.strip()]


def grades_from_book(book: Gradebook, assignment: str, items: tuple[ManualItem, ...],
                     submissions: list[str]) -> dict[str, ManualGrade]:
    current = book.manual_current(assignment)
    known = {item.id for item in items}
    return {sub: ManualGrade(items, {item: entry for (s, item), entry in current.items()
                                     if s == sub and item in known})
            for sub in submissions}


def manual_grades(outdir: str | os.PathLike[str], spec, submissions: list[str]) -> dict[str, ManualGrade] | None:
    """Each submission's manual grade from OUTDIR/gradebook.sqlite; None when the spec has no items."""
    if not spec.manual_items:
        return None
    path = Path(outdir) / "gradebook.sqlite"
    if not path.exists():
        return {sub: ManualGrade(spec.manual_items) for sub in submissions}
    with Gradebook(path) as book:
        return grades_from_book(book, spec.id, spec.manual_items, submissions)


def manual_for_result(outdir: str | os.PathLike[str], result) -> ManualGrade | None:
    """One result's manual grade (None when its assignment has no manual items or no spec here)."""
    from grader.checks.spec import SpecError, load_spec

    try:
        spec = load_spec(result.assignment)
    except SpecError:
        return None
    grades = manual_grades(outdir, spec, [result.submission])
    return None if grades is None else grades[result.submission]
