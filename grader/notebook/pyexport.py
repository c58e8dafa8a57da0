"""Reading a .py export: percent-format (jupytext) or ``nbconvert --to script`` cells, else one cell per statement."""
from __future__ import annotations

import re
import tokenize
from io import BytesIO
from pathlib import Path

from grader.notebook.submission import Cell, decode


def decode_script(path: str | Path, data: bytes) -> str:
    """Decode a .py export, honouring a PEP 263 coding line (UTF-8 otherwise)."""
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8-sig"
    return decode(path, data, "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding)


_PERCENT = re.compile(r"^#\s?%%(?:[ \t]+(?P<options>.*))?[ \t]*$")
_NBCONVERT = re.compile(r"^#\s?In\[[ \d]*\]:?\s*$")
_HEADER = re.compile(r"^#!|^#.*coding[:=]|^#\s*$")
_NON_CODE = re.compile(r"\[(markdown|md|raw)\]")


def cells_from_script(text: str) -> tuple[Cell, ...]:
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
        if text.lstrip().startswith("%%"):
            return None  # a cell magic owns the whole cell
        try:  # IPython's lines (%matplotlib inline, !pip ...) cut like the statements they become
            tree = ast.parse(_magics_masked(text))
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


_MAGIC_LINE = re.compile(r"^(\s*)(?:%|!)")


def _magics_masked(text: str) -> str:
    """The script with each IPython magic or shell line replaced by `pass` at its indentation, line for line:
    for finding where statements start and end only (the cells keep the original lines)."""
    return "\n".join(m.group(1) + "pass" if (m := _MAGIC_LINE.match(line)) else line for line in text.splitlines())


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
