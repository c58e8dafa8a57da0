"""Reading a .ipynb with nbformat (v3 converts to v4), repairing the usual schema slips rather than rejecting.

Students' files are often slightly off (a cell without ``outputs``, an ``execution_count`` that is
a string, no cell ids): each repair is recorded. What nbformat cannot read at all falls back to
the raw JSON cells.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import nbformat

from grader.notebook.submission import CELL_KINDS, Cell, NotebookError, decode


def cells_from_json(path: str | Path, data: bytes) -> tuple[tuple[Cell, ...], dict, tuple[str, ...]]:
    """The cells, metadata and repairs of a notebook's bytes; NotebookError when it is not a notebook."""
    text = decode(path, data)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(path, f"not a notebook (invalid JSON at line {exc.lineno})") from None
    except RecursionError:
        raise NotebookError(path, "not a notebook (JSON nested too deeply)") from None
    if not isinstance(raw, dict):
        raise NotebookError(path, f"not a notebook (the JSON is a {type(raw).__name__}, not an object with cells)")
    raw_cells = _raw_cells(raw)
    if raw_cells is None:
        raise NotebookError(path, "not a notebook (the JSON has no list of cells)")
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}

    repairs: list[str] = []
    # nbformat reads a notebook without a version as v1, losing its cells: only v3/v4 go through it
    node = _parse_with_nbformat(raw, raw_cells, repairs) if raw.get("nbformat") in (3, 4) else None
    if node is not None and len(node.cells) == len(raw_cells):
        cells = tuple(_cell(i, c.get("cell_type"), c.get("source")) for i, c in enumerate(node.cells))
        return cells, dict(node.get("metadata") or metadata), tuple(repairs)
    repairs.append("read the raw JSON cells (nbformat could not convert this notebook)")
    cells = tuple(_cell(i, c.get("cell_type"), c.get("source", c.get("input")))
                  if isinstance(c, dict) else _cell(i, "raw", "")
                  for i, c in enumerate(raw_cells))
    return cells, metadata, tuple(repairs)


def _raw_cells(raw: dict) -> list | None:
    """The cells list of a v4 notebook, or the worksheets' cells of a v3 one."""
    if isinstance(raw.get("cells"), list):
        return raw["cells"]
    sheets = raw.get("worksheets")
    if isinstance(sheets, list):
        return [c for s in sheets if isinstance(s, dict) and isinstance(s.get("cells"), list) for c in s["cells"]]
    return None


def _parse_with_nbformat(raw: dict, raw_cells: list, repairs: list[str]) -> Any:
    """nbformat's reading (v3 converts to v4), repaired until it validates; None if it cannot read it.

    Outputs are emptied first: the grader never reads them, and validating
    megabytes of images is most of the cost of loading a notebook.
    """
    for cell in raw_cells:
        if isinstance(cell, dict) and isinstance(cell.get("outputs"), list):
            cell["outputs"] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            major, minor = nbformat.reader.get_version(raw)
            node = nbformat.convert(nbformat.versions[major].to_notebook_json(raw, minor=minor), 4)
            if not isinstance(node.get("cells"), list) or not all(isinstance(c, dict) for c in node.cells):
                return None
            if _validation_error(node):
                repairs.extend(_repair(node))
                problem = _validation_error(node)
                if problem:
                    repairs.append(f"still not valid after repairs: {problem}")
            return node
    except Exception:  # nbformat raises many types on odd input; the raw cells are the fallback
        return None


def _validation_error(node: Any) -> str | None:
    try:
        with warnings.catch_warnings():  # a missing cell id and the like: repaired, never printed to the instructor
            warnings.simplefilter("ignore")
            nbformat.validate(node)
    except nbformat.ValidationError as exc:
        return str(getattr(exc, "message", exc)).splitlines()[0]
    return None


def _repair(node: Any) -> list[str]:
    """Fix the usual schema slips in place; return what was fixed."""
    fixed: list[str] = []
    if not isinstance(node.get("metadata"), dict):
        node["metadata"] = nbformat.NotebookNode()
        fixed.append("notebook metadata")
    for i, cell in enumerate(node.cells):
        kind = cell.get("cell_type")
        if kind not in CELL_KINDS:
            cell["cell_type"] = kind = "markdown" if kind == "heading" else "raw"
            fixed.append(f"cell {i}: cell_type")
        if not isinstance(cell.get("source"), str):
            cell["source"] = _source_text(cell.get("source"))
            fixed.append(f"cell {i}: source")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
            fixed.append(f"cell {i}: metadata")
        if kind == "code":
            if not isinstance(cell.get("outputs"), list):
                cell["outputs"] = []
                fixed.append(f"cell {i}: outputs")
            count = cell.get("execution_count")
            if "execution_count" not in cell:
                cell["execution_count"] = None
                fixed.append(f"cell {i}: execution_count")
            elif count is not None and not (isinstance(count, int) and not isinstance(count, bool)):
                cell["execution_count"] = int(count) if isinstance(count, str) and count.isdigit() else None
                fixed.append(f"cell {i}: execution_count")
        else:
            for key in ("outputs", "execution_count"):
                if key in cell:
                    del cell[key]
                    fixed.append(f"cell {i}: {key}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validator.normalize(node)  # cell ids and similar
    except Exception:
        pass
    return fixed


def _source_text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return ""


def _cell(index: int, kind: Any, source: Any) -> Cell:
    if kind == "heading":
        kind = "markdown"
    return Cell(index, kind if kind in CELL_KINDS else "raw", _source_text(source))
