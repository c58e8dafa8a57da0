"""Load a submitted notebook (.ipynb, or a .py export) into plain, frozen cells.

Students' files are often slightly off (a cell without ``outputs``, an
``execution_count`` that is a string, no cell ids): those are repaired, not
rejected. Input nothing can be graded from raises :class:`NotebookError`,
whose message is one line naming the file and what is wrong; the CLI turns it
into exit code 2. The submitted file is only ever opened for reading.

Reading the bytes and the types are submission.py; a .ipynb (nbformat, repairs) is
ipynb.py; a .py export is pyexport.py.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from grader.notebook.ipynb import cells_from_json
from grader.notebook.pyexport import cells_from_script, decode_script
from grader.notebook.submission import MAX_BYTES, Cell, Notebook, NotebookError, read_submission

# Importers take the submission's types from here, where a notebook is loaded.
__all__ = ["MAX_BYTES", "Cell", "Notebook", "NotebookError", "as_nbformat", "assignment_id_hint", "load_notebook",
           "read_submission"]


def load_notebook(path: str | Path, *, max_bytes: int = MAX_BYTES, follow_symlinks: bool = True) -> Notebook:
    """Read, hash and parse ``path``; raise NotebookError when nothing usable is there."""
    data = read_submission(path, follow_symlinks=follow_symlinks, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise NotebookError(path, "empty file")
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        cells = cells_from_script(decode_script(path, data))
        return Notebook(str(path), cells, {}, digest)
    if suffix == ".ipynb":
        cells, metadata, repairs = cells_from_json(path, data)
        return Notebook(str(path), cells, metadata, digest, repairs)
    try:
        cells, metadata, repairs = cells_from_json(path, data)
    except NotebookError:
        kind = f"'{suffix}'" if suffix else "(no extension)"
        raise NotebookError(path, f"unsupported file type {kind}: expected a .ipynb notebook or a .py export") from None
    return Notebook(str(path), cells, metadata, digest, repairs)


def assignment_id_hint(nb: Notebook) -> str | None:
    """The assignment id the notebook's metadata names, under "grader" or "nn_grader"."""
    for key in ("grader", "nn_grader"):
        section = nb.metadata.get(key) if isinstance(nb.metadata, dict) else None
        value = section.get("assignment") if isinstance(section, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def as_nbformat(nb: Notebook) -> nbformat.NotebookNode:
    """A fresh, valid v4 notebook with the same cells and metadata (for executors)."""
    makers = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
              "raw": nbformat.v4.new_raw_cell}
    node = nbformat.v4.new_notebook(cells=[makers[c.kind](c.source) for c in nb.cells])
    node.metadata.update(json.loads(json.dumps(nb.metadata)))  # a copy the caller may edit
    return node
