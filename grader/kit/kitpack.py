"""The check pack as the kit reads it: the manifest's public checks, their arrays, and where to find a pack.

Part of the student engine (vendored into the kit's `nncheck` by grader/kit/vendor.py): numpy only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.run.wire import decode

PACK_FORMAT = 2  # 2: values in the pipe's own tree format (grader.run.wire); 1 had a format of its own


class KitError(Exception):
    """No pack found, or a pack this engine cannot read."""



@dataclass(frozen=True)
class PackCheck:
    """One public check as the pack holds it (the attributes judging reads, as on spec.Check)."""

    name: str
    function: str
    points: float
    compare: tuple[str, ...]
    rtol: float
    atol: float
    dtype: str
    call: dict
    call_text: str
    note: str
    partial_points: float
    inputs: dict
    expected: dict
    candidates: tuple[dict, ...]
    draws: dict  # a random initialiser's laws (grader/checks/laws.py), or {}


class Pack:
    """A pack read from its manifest (`<id>.checks.json`) and its arrays (`.npz`, no pickles)."""

    def __init__(self, manifest_path: str | Path) -> None:
        self.path = Path(manifest_path)
        manifest = json.loads(self.path.read_text(encoding="utf-8"))
        if manifest.get("format") != PACK_FORMAT:
            raise KitError(f"{self.path.name}: pack format {manifest.get('format')} needs another version of nncheck")
        with np.load(self.path.parent / manifest["arrays"], allow_pickle=False) as data:
            self.arrays = {key: data[key] for key in data.files}
        self.assignment = manifest["assignment"]
        self.title = manifest.get("title", self.assignment)
        self.functions: dict[str, dict] = manifest["functions"]
        self.withheld = manifest.get("withheld", {"count": 0, "points": 0.0})
        self.checks = [
            PackCheck(c["name"], c["function"], float(c["points"]), tuple(c["compare"]), c["rtol"], c["atol"], c["dtype"],
                      c["call"], c["call_text"], c.get("note", ""), c.get("partial_points", 0.0), c["inputs"], c["expected"],
                      tuple(c["candidates"]), c.get("draws", {}))
            for c in manifest["checks"]
        ]

    def value(self, tree: dict) -> Any:
        return decode(tree, self.arrays, max_items=None)  # every value a fresh copy: a caller may change it

    def graded_names(self) -> list[str]:
        return list(dict.fromkeys(c.function for c in self.checks))


def find_pack(where: str | Path | None = None, name: str | None = None) -> Pack:
    """The pack in a folder (default: here, then next to this engine): `*.checks.json`."""
    folders = [Path(where)] if where else [Path.cwd(), Path(__file__).resolve().parent.parent]
    for folder in folders:
        if folder.is_file():
            return Pack(folder)
        found = sorted(folder.glob("*.checks.json"))
        if name:
            found = [p for p in found if p.name == f"{name}.checks.json"] or found
        if len(found) == 1:
            return Pack(found[0])
        if len(found) > 1:
            raise KitError(f"several check packs in {folder}: say which with use('<assignment>')")
    raise KitError("no check pack (*.checks.json) here: run from the kit's folder, or use('path/to/<id>.checks.json')")
