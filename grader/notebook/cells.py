"""A notebook cell as Python: IPython syntax transformed, parsed once, Python 2 recognised.

Cells hold IPython syntax (``%matplotlib inline``, ``!ls``, ``%%time``), so
every cell goes through IPython's input transformer before ``ast`` sees it.
The body of a ``%%time`` or ``%%capture`` cell is Python that defines names in
the notebook, so it is analysed as if the magic line were blank (line numbers
stay those of the cell). Nothing here executes student code.
"""
from __future__ import annotations

import ast
import functools
import re

from grader.notebook.load import Notebook

PY_CELL_MAGICS = ("time", "capture")  # cell magics whose body runs in the notebook's namespace
MODULE_CELL_MAGICS = frozenset({"writefile", "file"})  # they create modules a later cell imports
_CELL_MAGIC = re.compile(r"^(?P<blank>(?:[ \t]*\n)*)[ \t]*%%(?P<name>\w+)[^\n]*(?:\n|$)")


@functools.lru_cache(maxsize=1)
def _manager():
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


@functools.lru_cache(maxsize=1024)
def transform_cell(source: str) -> str:
    """IPython syntax -> plain Python (IPython's own transformer); the source itself on failure."""
    try:
        return _manager().transform_cell(source)
    except Exception:
        return source


def cell_magic(source: str) -> str | None:
    """The name of the cell magic (``time`` for ``%%time``) a cell starts with, if any."""
    match = _CELL_MAGIC.match(source)
    return match.group("name") if match else None


def magic_body(source: str) -> str:
    """A cell-magic cell with blank lines in place of the magic line: Python with the cell's line numbers."""
    match = _CELL_MAGIC.match(source)
    return "\n" * match.group(0).count("\n") + source[match.end():] if match else source


def python_source(source: str) -> str:
    """The Python a cell runs: transformed, with a %%time/%%capture body unwrapped.

    IPython drops leading blank lines; they are put back so that line
    numbers are the cell's own.
    """
    if cell_magic(source) in PY_CELL_MAGICS:
        source = magic_body(source)
    blank = re.match(r"(?:[ \t]*\n)*", source).group(0)
    body = source[len(blank):]
    return "\n" * blank.count("\n") + transform_cell(body) if body.strip() else source


@functools.lru_cache(maxsize=1024)
def parse_cell(source: str) -> tuple[str, ast.Module | None, str | None, int | None]:
    """(python source, tree or None, SyntaxError message, error line). Trees are shared: never mutate."""
    python = python_source(source)
    try:
        return python, ast.parse(python), None, None
    except SyntaxError as exc:
        return python, None, exc.msg, exc.lineno
    except (ValueError, RecursionError, MemoryError) as exc:
        return python, None, f"{type(exc).__name__}: {exc}", None


def unparsable_cells(nb: Notebook) -> list[tuple[int, str]]:
    """Code cells that are not valid Python even after IPython's transforms: (cell index, message)."""
    found = []
    for cell in nb.code_cells():
        _, tree, message, line = parse_cell(cell.source)
        if tree is None:
            found.append((cell.index, f"{message} (line {line})" if line else str(message)))
    return found


# -- Python 2 --------------------------------------------------------------------------

_PY2_PATTERNS = (  # (what, pattern on the line a cell's SyntaxError points at)
    ("print statements", re.compile(r"^\s*print(\s*>>|\s+[^\s(=.,;)\]}+\-*/%&|^<>!])")),
    ("exec statements", re.compile(r"^\s*exec\s+[^\s(=]")),
    ("'except E, e' clauses", re.compile(r"^\s*except\s+(\([^)]*\)|[\w.]+)\s*,\s*\w+\s*:")),
    ("'raise E, msg' statements", re.compile(r"^\s*raise\s+[\w.]+\s*,")),
    ("backtick repr", re.compile(r"`[^`\n]+`")),
    ("ur'' strings", re.compile(r"(?<![\w'\"])[uU][rR]['\"]")),
    ("long or octal literals", re.compile(r"(?<![\w.])(\d+[lL]\b|0\d+\b)")),
)
_PY2_KERNEL = re.compile(r"python\s*2(?!\d)", re.IGNORECASE)


def python2_reason(nb: Notebook) -> str | None:
    """One sentence when the notebook is Python 2 code, else None.

    A cell counts as Python 2 when it does not parse and the line its
    SyntaxError points at is Python 2 syntax (``print x``, ``except E, e:``,
    backticks, ``ur''``, ``10L``). The notebook is Python 2 when at least two
    cells are, or when one is and its kernelspec/language_info says Python 2.
    A lone syntax error is a typo, not Python 2; a Python 2 kernel whose
    cells all parse as Python 3 runs fine and is not reported.
    """
    evidence: dict[str, list[int]] = {}
    for cell in nb.code_cells():
        python, tree, _, line = parse_cell(cell.source)
        if tree is not None or not line:
            continue
        lines = python.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        what = next((what for what, pattern in _PY2_PATTERNS if pattern.search(text)), None)
        if what:
            evidence.setdefault(what, []).append(cell.index)
    cells = sorted({i for indices in evidence.values() for i in indices})
    kernel = _python2_kernel(nb.metadata)
    if len(cells) < 2 and not (kernel and cells):
        return None
    parts = [f"{what} in cell{'s' if len(idx) > 1 else ''} {', '.join(map(str, idx))}"
             for what, idx in evidence.items()]
    if kernel:
        parts.insert(0, "its kernel is Python 2")
    return f"this notebook is Python 2 ({'; '.join(parts)}): convert it to Python 3"


def _python2_kernel(metadata: dict) -> bool:
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    info = metadata.get("language_info") if isinstance(metadata, dict) else None
    texts = []
    if isinstance(spec, dict):
        texts += [str(spec.get("name", "")), str(spec.get("display_name", ""))]
    if isinstance(info, dict):
        version = str(info.get("version", ""))
        if version.startswith("2."):
            return True
        codemirror = info.get("codemirror_mode")
        if isinstance(codemirror, dict) and str(codemirror.get("version")) == "2":
            return True
    return any(_PY2_KERNEL.search(t) for t in texts)



def run_cell_magic(tree: ast.Module) -> tuple[str, str] | None:
    """("time", body) for a cell that is ``get_ipython().run_cell_magic('time', '', body)``."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_cell_magic"
            and isinstance(call.func.value, ast.Call) and dotted(call.func.value.func) == "get_ipython"):
        return None
    args = call.args
    if len(args) != 3 or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None
    return args[0].value, args[2].value


def dotted(node: ast.AST) -> str:
    """``np.random.seed`` for that attribute chain; "" when it is not a plain chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))
