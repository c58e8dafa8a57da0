"""Manual-review items as data: what a person grades, its points and an optional rubric.

A spec's `manual_review` list may hold plain strings (the old form: text only, no points)
or tables, written either inline or as `[[manual_review]]`:

    [[manual_review]]
    id = "q8"                       # stable key of the item in the gradebook
    text = "Q8: show that ..."      # what the TA reads
    points = 2                      # the item's maximum
    find = ["\\*\\*Q8-10\\."]         # regexes for the handout cell(s) where the answer sits
    rubric = [{ points = 2, text = "complete" }, { points = 1, text = "one case only" }]

Both forms may be mixed; the Result JSON keeps `manual_review` as the list of texts.
"""
from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

_LABEL = re.compile(r"^\s*([A-Za-z]*\s?[\d.*]+(?:[-,]\s*[A-Za-z]*\s?[\d.*]+)*)\s*:")


class RubricError(ValueError):
    """A manual_review entry is malformed."""


@dataclass(frozen=True)
class Level:
    points: float
    text: str


def _key(doc: str, default: Any = MISSING) -> Any:
    """A manual_review key: a field of ManualItem whose metadata holds its documentation."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ManualItem:
    """One item a person grades; each field is a key of a `[[manual_review]]` table, declared here only."""

    id: str = _key("stable key of the item (default: the label before ':' in the text, e.g. 'q8')")
    text: str = _key("what the person grades, as the TA and the student read it")
    points: float = _key("the item's maximum (default 0: read, not scored)", 0.0)
    find: tuple[str, ...] = _key("regexes (case-insensitive) for the notebook cell(s) that hold the answer (default: its label)", ())
    rubric: tuple[Level, ...] = _key("levels [{points, text}], from best to worst", ())
    curve: str = _key("name of a reference curve drawn beside the student's answer (optional)", "")

    @property
    def label(self) -> str:
        """Short name for columns and navigation: 'Q8', 'Task 13', else the id."""
        match = _LABEL.match(self.text)
        return match.group(1).strip() if match else self.id


MANUAL_KEYS = {f.name: f.metadata["doc"] for f in fields(ManualItem)}  # the documentation, from the declaration
DEFAULTS = {f.name: f.default for f in fields(ManualItem) if f.default is not MISSING}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_id(text: str, position: int) -> str:
    match = _LABEL.match(text)
    return _slug(match.group(1)) if match and _slug(match.group(1)) else f"item-{position + 1}"


def default_find(text: str) -> tuple[str, ...]:
    """For a plain-string item: its label ('Q8', 'Task 13') as a whole word."""
    match = _LABEL.match(text)
    if not match:
        return ()
    first = re.split(r"[-,]", match.group(1))[0].strip()
    return (r"(?<![\w.])" + re.escape(first).replace(r"\ ", r"\s*") + r"(?![\d])",)


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RubricError(f"{where}: {key} must be a number >= 0, not {value!r}")
    return float(value)


def parse_item(raw: Any, position: int, where: str) -> ManualItem:
    where = f"{where} manual_review item {position + 1}"
    if isinstance(raw, str):
        return ManualItem(id=default_id(raw, position), text=raw, find=default_find(raw))
    if not isinstance(raw, dict):
        raise RubricError(f"{where}: expected a string or a table, not {type(raw).__name__}")
    unknown = set(raw) - set(MANUAL_KEYS)
    if unknown:
        raise RubricError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(MANUAL_KEYS)})")
    if not isinstance(raw.get("text"), str) or not raw["text"].strip():
        raise RubricError(f"{where}: missing key 'text'")
    text = raw["text"]
    points = _number(raw.get("points", DEFAULTS["points"]), where, "points")
    find = raw.get("find", default_find(text))
    find = (find,) if isinstance(find, str) else tuple(find)
    for pattern in find:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RubricError(f"{where}: find {pattern!r} is not a regex ({exc})") from None
    levels = []
    for k, level in enumerate(raw.get("rubric", ())):
        if not isinstance(level, dict) or set(level) - {"points", "text"} or "points" not in level:
            raise RubricError(f"{where}: rubric level {k + 1} must be {{points, text}}")
        value = _number(level["points"], where, f"rubric level {k + 1} points")
        if value > points:
            raise RubricError(f"{where}: rubric level {k + 1} gives {value:g} points, more than the item's {points:g}")
        levels.append(Level(value, str(level.get("text", ""))))
    item_id = str(raw.get("id") or default_id(text, position))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", item_id):
        raise RubricError(f"{where}: id {item_id!r} may hold only letters, digits, '.', '_' and '-'")
    return ManualItem(id=item_id, text=text, points=points, find=find, rubric=tuple(levels),
                      curve=str(raw.get("curve", DEFAULTS["curve"])))


def parse_manual_review(raw: Any, where: str) -> tuple[ManualItem, ...]:
    """The spec's manual_review list -> items with unique ids."""
    if raw is None:
        return ()
    if isinstance(raw, (str, dict)):
        raw = [raw]
    items = tuple(parse_item(entry, k, where) for k, entry in enumerate(raw))
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise RubricError(f"{where}: two manual_review items have the id {item.id!r}; give one an explicit id")
        seen.add(item.id)
    return items
