"""The student's answers to the manual-review items, rendered as safe HTML.

A notebook is rendered cell by cell: markdown through nbconvert's markdown filter (mistune),
code cells as their source and their saved outputs (text, tables, images). Everything that
came from the student as HTML (markdown, `text/html` outputs) goes through an allow-list
sanitiser (nh3, the maintained successor of bleach): no script, style, iframe, object, embed, form; no `on*` or `style`
attributes; images only as `data:image/...` URIs; links only to `#fragments`. Text outputs
are escaped; images from outputs are embedded only after their base64 decodes. The pages
that show this HTML also carry a Content-Security-Policy that forbids scripts and fetches.

Each manual item is mapped to its cells through the notebook's structure: the item's `find`
regexes name the handout cell that asks the question; the answer is that cell and the cells
after it, up to the next cell that comes from the handout (the released notebook's markdown).
"""
from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import nbformat
import nh3

from grader.checks.rubric import ManualItem

MAX_TEXT = 6000  # characters of one text output shown
MAX_SPAN = 12  # cells an item may take at most
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]+\Z")

TAGS = frozenset("""a abbr b blockquote br caption code col colgroup dd del details div dl dt em figcaption
figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub summary sup
table tbody td tfoot th thead tr u ul var""".split())
_ATTRS = {"img": {"src", "alt", "width", "height", "title"}, "a": {"href", "title"},
          "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
          "ol": {"start"}, "col": {"span"}, "colgroup": {"span"}}


def _allowed(tag: str, name: str, value: str) -> str | None:
    """The attribute allow-list: nothing that runs, styles the page, or fetches (None drops the attribute)."""
    if name not in _ATTRS.get(tag, ()) and name != "title":
        return None
    if name == "src":
        return value if _DATA_IMAGE.match(value.strip()) else None
    if name == "href":
        return value if value.strip().startswith("#") else None
    if name in ("width", "height", "colspan", "rowspan", "span", "start"):
        return value if value.strip().isdigit() else None
    return value


# Every attribute a tag may carry at all; `_allowed` then judges each value.
_ALL_ATTRS = {tag: set(names) | {"title"} for tag, names in _ATTRS.items()} | {"*": {"title"}}
_DROP_WHOLE = re.compile(r"<(script|style|iframe|object|embed|noscript|template|svg|math)\b.*?</\1\s*>",
                         re.I | re.S)


def sanitize(fragment: str) -> str:
    """Student HTML -> HTML that can neither run code nor fetch anything."""
    return nh3.clean(_DROP_WHOLE.sub("", fragment), tags=set(TAGS), attributes=_ALL_ATTRS, attribute_filter=_allowed,
                     clean_content_tags={"script", "style"}, strip_comments=True, link_rel=None,
                     url_schemes={"data"})


def _markdown(source: str, attachments: dict[str, Any] | None) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for name, bundle in (attachments or {}).items():  # ![](attachment:plot.png) -> a data URI
        for mime in IMAGE_TYPES:
            if isinstance(bundle, dict) and isinstance(bundle.get(mime), str):
                source = source.replace(f"attachment:{name}", f"data:{mime};base64,{''.join(bundle[mime].split())}")
                break
    try:
        rendered = markdown2html_mistune(source)
    except Exception:  # a markdown the renderer chokes on: show it as text
        return f"<pre>{html.escape(source)}</pre>"
    return sanitize(rendered)


def _text(value: Any) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    return _ANSI.sub("", text)


def _pre(text: str, css: str = "out") -> str:
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n... ({len(text) - MAX_TEXT} more characters)"
    return f'<pre class="{css}">{html.escape(text)}</pre>'


def _image(mime: str, data: Any) -> str | None:
    if mime == "image/svg+xml":  # shown as an <img>: an SVG there can neither run script nor fetch
        payload = base64.b64encode(_text(data).encode("utf-8")).decode("ascii")
    else:
        payload = "".join(_text(data).split())
        try:
            base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return None
    return f'<img class="plot" alt="output image" src="data:{mime};base64,{payload}">'


def render_output(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _pre(_text(output.get("text", "")), "out err" if output.get("name") == "stderr" else "out")
    if kind == "error":
        trace = _text("\n".join(output.get("traceback", ()))) or f"{output.get('ename')}: {output.get('evalue')}"
        return _pre(trace, "out err")
    data = output.get("data") or {}
    for mime in IMAGE_TYPES:
        if mime in data:
            image = _image(mime, data[mime])
            if image:
                return image
    if "text/html" in data:
        return f'<div class="html-out">{sanitize(_text(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return _markdown(_text(data["text/markdown"]), None)
    for mime in ("text/latex", "text/plain"):
        if mime in data:
            return _pre(_text(data[mime]))
    return ""


@dataclass(frozen=True)
class RenderedCell:
    index: int
    kind: str  # "markdown" | "code" | "raw"
    html: str  # safe HTML: the markdown, or the outputs of a code cell
    source: str  # the code cell's source (escaped by the template)


def render_cells(nb: Any) -> list[RenderedCell]:
    out = []
    for index, cell in enumerate(nb.get("cells", [])):
        kind = cell.get("cell_type", "raw")
        source = _text(cell.get("source", ""))
        if kind == "markdown":
            out.append(RenderedCell(index, kind, _markdown(source, cell.get("attachments")), ""))
        elif kind == "code":
            outputs = "".join(render_output(o) for o in cell.get("outputs", []) if isinstance(o, dict))
            out.append(RenderedCell(index, kind, outputs, source))
        else:
            out.append(RenderedCell(index, "raw", _pre(source), ""))
    return out


# ---------------------------------------------------------------- items -> cells

def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


@functools.lru_cache(maxsize=16)
def _handout_lines(solution: str, mtime: float) -> frozenset[str]:
    from grader.kit.release import ANSWER

    nb = nbformat.read(solution, as_version=4)
    # The handout's own text only: a model answer is not the handout (a cell that opens with one
    # continues the question before it, in the solution as in a student's notebook).
    lines = (_first_line(ANSWER.sub("", c.source)) for c in nb.cells if c.cell_type == "markdown")
    return frozenset(line for line in lines if line)


def handout_lines(folder: Path) -> frozenset[str]:
    """First lines of the handout's markdown cells: where one question ends and the next begins."""
    path = folder / "solution.ipynb"
    try:
        return _handout_lines(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return frozenset()


_QUESTION = re.compile(r"^\s*(#+\s|\*\*(Q|Question|Task)\s*\d)", re.I)


def map_items(nb: Any, items: Sequence[ManualItem], handout: frozenset[str]) -> dict[str, list[int]]:
    """item id -> indices of the cells that hold its answer (empty when no question cell matched)."""
    cells = nb.get("cells", [])
    sources = [_text(c.get("source", "")) for c in cells]
    markdown = [c.get("cell_type") == "markdown" for c in cells]
    from_handout = [md and _first_line(s) in handout for md, s in zip(markdown, sources)]
    use_handout = any(from_handout)
    starts = from_handout if use_handout else [md and bool(_QUESTION.match(s)) for md, s in zip(markdown, sources)]
    mapping: dict[str, list[int]] = {}
    for item in items:
        chosen: set[int] = set()
        for pattern in item.find:
            regex = re.compile(pattern, re.I)
            hits = [i for i, s in enumerate(sources) if markdown[i] and regex.search(s)]
            preferred = [i for i in hits if starts[i]] or hits
            if not preferred:
                continue
            start = preferred[0]
            end = start + 1
            while end < len(cells) and end - start < MAX_SPAN and not starts[end]:
                end += 1
            chosen.update(range(start, end))
        mapping[item.id] = sorted(chosen)
    return mapping


@dataclass(frozen=True)
class Answers:
    """A notebook rendered for a person: every cell, and the cells of each manual item."""

    cells: tuple[RenderedCell, ...]
    items: dict[str, tuple[RenderedCell, ...]]
    error: str = ""  # why the notebook could not be read (then cells and items are empty)

    def for_item(self, item_id: str) -> tuple[RenderedCell, ...]:
        return self.items.get(item_id, ())


def read_answers(notebook: str | Path, items: Sequence[ManualItem], folder: Path | None) -> Answers:
    """Render a submitted notebook and pick each item's cells. Never raises for a bad file."""
    path = Path(notebook)
    if path.suffix != ".ipynb":
        return Answers((), {}, f"{path.name}: not a .ipynb notebook, nothing to render")
    from grader.notebook.load import NotebookError, read_submission

    try:  # a regular file only, never through a link, never blocking
        with warnings.catch_warnings():  # nbformat's warnings on a student's file are not the instructor's to read
            warnings.simplefilter("ignore")
            nb = nbformat.reads(read_submission(path, follow_symlinks=False).decode("utf-8", "replace"), as_version=4)
    except NotebookError as exc:
        if exc.reason == "file not found":
            return Answers((), {}, f"{path}: the notebook is not here any more")
        return Answers((), {}, f"{path.name}: {exc.reason}")
    except Exception as exc:  # a broken file was graded as invalid already: say so, do not fail
        return Answers((), {}, f"{path.name}: cannot be read ({type(exc).__name__})")
    cells = tuple(render_cells(nb))
    mapping = map_items(nb, items, handout_lines(folder) if folder else frozenset())
    return Answers(cells, {key: tuple(cells[i] for i in idx) for key, idx in mapping.items()})
