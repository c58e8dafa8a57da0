"""Load a submitted notebook (.ipynb, or a .py export) into plain, frozen cells.

Students' files are often slightly off (a cell without ``outputs``, an
``execution_count`` that is a string, no cell ids): those are repaired, not
rejected. Input nothing can be graded from raises :class:`NotebookError`,
whose message is one line naming the file and what is wrong; the CLI turns it
into exit code 2. The submitted file is only ever opened for reading.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import tokenize
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import nbformat

MAX_BYTES = 50 * 1024 * 1024  # larger files are refused before being read
CELL_KINDS = ("code", "markdown", "raw")


class NotebookError(Exception):
    """An unusable submission; ``str(e)`` is one line: ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # always a single line
        super().__init__(f"{self.path}: {self.reason}")


@dataclass(frozen=True)
class Cell:
    index: int  # position among ALL cells, markdown included ("cell 7")
    kind: str  # one of CELL_KINDS
    source: str


@dataclass(frozen=True)
class Notebook:
    path: str
    cells: tuple[Cell, ...]
    metadata: dict  # notebook-level metadata ({} for .py exports)
    content_hash: str  # sha256 hex digest of the file's bytes
    repairs: tuple[str, ...] = field(default=())  # what was fixed on the way in

    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]


def load_notebook(path: str | Path, *, max_bytes: int = MAX_BYTES, follow_symlinks: bool = True) -> Notebook:
    """Read, hash and parse ``path``; raise NotebookError when nothing usable is there."""
    data = read_submission(path, follow_symlinks=follow_symlinks, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise NotebookError(path, "empty file")
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        cells = _cells_from_script(_decode_script(path, data))
        return Notebook(str(path), cells, {}, digest)
    if suffix == ".ipynb":
        cells, metadata, repairs = _cells_from_json(path, data)
        return Notebook(str(path), cells, metadata, digest, repairs)
    try:
        cells, metadata, repairs = _cells_from_json(path, data)
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


# -- reading ---------------------------------------------------------------------------

def read_submission(path: str | Path, *, follow_symlinks: bool = True, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a submitted file: a regular file, opened without blocking (a FIFO cannot hang
    the grader) and, unless `follow_symlinks`, without following a link to somewhere else."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if os.path.islink(path):
            target = os.readlink(path)
            raise NotebookError(path, f"is a symbolic link (to {target}), not a submitted file: not followed")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(path, "file not found") from None
    except IsADirectoryError:
        raise NotebookError(path, "is a directory, not a notebook file") from None
    except PermissionError:
        raise NotebookError(path, "cannot read the file (permission denied)") from None
    except OSError as exc:
        if exc.errno == getattr(errno, "ELOOP", -1):
            raise NotebookError(path, "is a symbolic link, not a submitted file: not followed") from None
        raise NotebookError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotebookError(path, "is a directory, not a notebook file")
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(path, "not a regular file")
        if info.st_size > max_bytes:
            raise NotebookError(path, f"file too large ({info.st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB)")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise NotebookError(path, f"file too large (over {max_bytes / 2**20:.0f} MB)")
        return b"".join(chunks)
    except OSError as exc:
        raise NotebookError(path, f"cannot read the file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)



def _decode(path: str | Path, data: bytes, encoding: str = "utf-8-sig") -> str:
    if b"\x00" in data[:65536]:
        raise NotebookError(path, "binary file, not a notebook")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NotebookError(path, f"not UTF-8 text (undecodable byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except LookupError:
        raise NotebookError(path, f"unknown text encoding {encoding!r}") from None


def _decode_script(path: str | Path, data: bytes) -> str:
    """Decode a .py export, honouring a PEP 263 coding line (UTF-8 otherwise)."""
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8-sig"
    return _decode(path, data, "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding)


# -- .ipynb ----------------------------------------------------------------------------

def _cells_from_json(path: str | Path, data: bytes) -> tuple[tuple[Cell, ...], dict, tuple[str, ...]]:
    text = _decode(path, data)
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


# -- .py exports -----------------------------------------------------------------------

_PERCENT = re.compile(r"^#\s?%%(?:[ \t]+(?P<options>.*))?[ \t]*$")
_NBCONVERT = re.compile(r"^#\s?In\[[ \d]*\]:?\s*$")
_HEADER = re.compile(r"^#!|^#.*coding[:=]|^#\s*$")
_NON_CODE = re.compile(r"\[(markdown|md|raw)\]")


def _cells_from_script(text: str) -> tuple[Cell, ...]:
    """Cells of a percent-format (jupytext) or ``nbconvert --to script`` export.

    A script with neither kind of separator, or whose separators leave all its
    code in one cell (a lone ``#%%`` at the top), runs statement by statement:
    each top-level def, class or statement is a cell of its own, as a TA
    pasting it into a notebook would make it, so one failing line costs only
    itself (see :func:`statement_cells`). Text before the first separator
    (after the shebang/coding header and a jupytext YAML header) becomes a
    cell of its own when it is not blank. Magics that jupytext commented out
    stay comments.
    """
    cells = _cells_by_separator(text)
    code = [c for c in cells if c.kind == "code" and c.source.strip()]
    if len(code) > 1:
        return cells
    if not code:
        return cells
    units = statement_cells(code[0].source)
    if units is None or len(units) < 2:
        return cells
    out: list[tuple[str, str]] = []
    for cell in cells:
        if cell is code[0]:
            out += [("code", unit) for unit in units]
        elif cell.kind != "code" or cell.source.strip():
            out.append((cell.kind, cell.source))
    return tuple(Cell(i, kind, source) for i, (kind, source) in enumerate(out))


def statement_cells(text: str) -> list[str] | None:
    """A script cut into top-level statements, each with the comments just above it; None if it does not parse."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = text.splitlines()
    units: list[str] = []
    start = 0
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        end = node.end_lineno
        if units and first > start and not "".join(lines[start:first]).strip():
            start = first  # blank lines between statements belong to neither
        chunk = "\n".join(lines[min(start, first):end]).strip("\n")
        if units and end <= start:  # "a = 1; b = 2": both statements share a line
            continue
        units.append(chunk)
        start = end
    tail = "\n".join(lines[start:]).strip()
    if tail and units:
        units[-1] += "\n" + tail  # trailing comments stay with the last statement
    return units or None


def _cells_by_separator(text: str) -> tuple[Cell, ...]:
    lines = text.splitlines()
    if any(_PERCENT.match(line) for line in lines):
        separator = _PERCENT
    elif any(_NBCONVERT.match(line) for line in lines):
        separator = _NBCONVERT
    else:
        return (Cell(0, "code", text),)

    chunks: list[tuple[str, list[str]]] = [("code", [])]
    for line in lines:
        match = separator.match(line)
        if match is None:
            chunks[-1][1].append(line)
            continue
        options = (match.groupdict().get("options") or "") if separator is _PERCENT else ""
        kind = _NON_CODE.search(options)
        chunks.append(({"raw": "raw"}.get(kind.group(1), "markdown") if kind else "code", []))

    preamble = _strip_header(chunks[0][1])
    only_comments = all(not line.strip() or line.lstrip().startswith("#") for line in preamble)
    chunks[0] = ("markdown" if only_comments else "code", preamble)  # nbconvert's leading markdown
    if not "".join(preamble).strip():
        chunks.pop(0)
    cells = []
    for kind, body in chunks:
        if kind != "code":
            body = [_uncomment(line) for line in body]
        cells.append(Cell(len(cells), kind, "\n".join(body).strip("\n")))
    return tuple(cells)


def _strip_header(lines: list[str]) -> list[str]:
    """Drop the shebang, coding line and a jupytext ``# ---`` YAML header."""
    rest = list(lines)
    while rest and (_HEADER.match(rest[0]) or not rest[0].strip()):
        rest.pop(0)
    if rest and rest[0].strip() == "# ---":
        end = next((i for i in range(1, len(rest)) if rest[i].strip() == "# ---"), None)
        if end is not None:
            rest = rest[end + 1:]
    return rest


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line
