"""Static analysis of a notebook's cells: nothing here executes student code.

Cells hold IPython syntax (``%matplotlib inline``, ``!ls``, ``%%time``), so
every cell goes through IPython's input transformer before ``ast`` sees it.
The body of a ``%%time`` or ``%%capture`` cell is Python that defines names in
the notebook, so it is analysed as if the magic line were blank (line numbers
stay those of the cell).
"""
from __future__ import annotations

import ast
import difflib
import functools
import re
import textwrap
from dataclasses import dataclass

from grader.load import Notebook

_PY_CELL_MAGICS = ("time", "capture")  # cell magics whose body runs in the notebook's namespace
_CELL_MAGIC = re.compile(r"^(?P<blank>(?:[ \t]*\n)*)[ \t]*%%(?P<name>\w+)[^\n]*(?:\n|$)")


@dataclass(frozen=True)
class Definition:
    name: str  # "relu", or "NeuralNet.forward" for a method
    cell: int  # the cell's index among all cells
    params: tuple[str, ...]  # ("a", "e"); "*args" / "**kwargs" keep their stars
    source: str  # the definition's code, decorators included, dedented
    lineno: int  # line of the ``def`` inside the cell, 1-based


# -- parsing ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _manager():
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


def transform_cell(source: str) -> str:
    """IPython syntax -> plain Python (IPython's own transformer); the source itself on failure."""
    try:
        return _manager().transform_cell(source)
    except Exception:
        return source


def _cell_magic(source: str) -> str | None:
    """The name of the cell magic (``time`` for ``%%time``) a cell starts with, if any."""
    match = _CELL_MAGIC.match(source)
    return match.group("name") if match else None


def _magic_body(source: str) -> str:
    """A cell-magic cell with blank lines in place of the magic line: Python with the cell's line numbers."""
    match = _CELL_MAGIC.match(source)
    return "\n" * match.group(0).count("\n") + source[match.end():] if match else source


def _python_source(source: str) -> str:
    """The Python a cell runs: transformed, with a %%time/%%capture body unwrapped.

    IPython drops leading blank lines; they are put back so that line
    numbers are the cell's own.
    """
    if _cell_magic(source) in _PY_CELL_MAGICS:
        source = _magic_body(source)
    blank = re.match(r"(?:[ \t]*\n)*", source).group(0)
    body = source[len(blank):]
    return "\n" * blank.count("\n") + transform_cell(body) if body.strip() else source


@functools.lru_cache(maxsize=1024)
def _parse(source: str) -> tuple[str, ast.Module | None, str | None, int | None]:
    """(python source, tree or None, SyntaxError message, error line). Trees are shared: never mutate."""
    python = _python_source(source)
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
        _, tree, message, line = _parse(cell.source)
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
        python, tree, _, line = _parse(cell.source)
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


# -- definitions -----------------------------------------------------------------------

def defined_functions(nb: Notebook) -> dict[str, list[Definition]]:
    """Every module-level function, ``name = lambda`` and ``Class.method``, in notebook order.

    Module level includes the bodies of top-level if/try/with blocks. Cells
    that do not parse are skipped (see :func:`unparsable_cells`).
    """
    found: dict[str, list[Definition]] = {}
    for cell in nb.code_cells():
        python, tree, _, _ = _parse(cell.source)
        if tree is None:
            continue
        lines = python.splitlines()
        for node in _module_level(tree.body):
            for definition in _definitions(node, cell.index, lines):
                found.setdefault(definition.name, []).append(definition)
    return found


def _module_level(body: list[ast.stmt]):
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.AsyncWith)):
            children = list(node.body) + list(getattr(node, "orelse", []))
            children += list(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                children += handler.body
            yield from _module_level(children)


def _definitions(node: ast.stmt, cell: int, lines: list[str], prefix: str = ""):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield Definition(prefix + node.name, cell, _params(node.args), _segment(node, lines), node.lineno)
    elif isinstance(node, ast.ClassDef) and not prefix:
        for child in node.body:
            yield from _definitions(child, cell, lines, prefix=node.name + ".")
    elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                yield Definition(prefix + target.id, cell, _params(node.value.args), _segment(node, lines), node.lineno)


def _params(args: ast.arguments) -> tuple[str, ...]:
    names = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        names.append("*" + args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append("**" + args.kwarg.arg)
    return tuple(names)


def _segment(node: ast.stmt, lines: list[str]) -> str:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("\n".join(lines[first - 1:node.end_lineno]))


def close_names(wanted: str, params: tuple[str, ...] | None, defined: dict[str, list[Definition]]) -> list[str]:
    """Readable hints for a missing graded function: look-alike names and signature matches.

    A signature match is a function defined more than once whose LAST
    definition takes exactly ``params`` ("relu (cell 28) takes (a, e), the
    signature of relup"); a look-alike has a difflib ratio >= 0.8 with the
    wanted name ("soft_max (cell 4)"). Signature matches come first.
    """
    hints: list[str] = []
    seen: set[str] = set()
    if params is not None:
        for name, definitions in defined.items():
            last = definitions[-1]
            if name != wanted and len(definitions) > 1 and last.params == tuple(params):
                hints.append(f"{name} (cell {last.cell}) takes ({', '.join(last.params)}), the signature of {wanted}")
                seen.add(name)
    scored = []
    for name, definitions in defined.items():
        if name == wanted or name in seen:
            continue
        ratio = max(_ratio(wanted, name), _ratio(wanted, name.rpartition(".")[2]))
        if ratio >= 0.8:
            scored.append((-ratio, definitions[-1].cell, name))
    hints += [f"{name} (cell {cell})" for _, cell, name in sorted(scored)]
    return hints


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


# -- --defs-only -----------------------------------------------------------------------

_DROPPED_LINE_MAGICS = frozenset({"time", "timeit", "prun", "pip", "conda", "sx", "system", "pinfo", "pinfo2"})
_KEPT_CELL_MAGICS = frozenset({"writefile", "file"})  # they create modules a later cell imports


def defs_only(source: str) -> str:
    """The part of a cell that defines things, for the ``--defs-only`` fast mode.

    Kept, at the top level of the (IPython-transformed) cell:
      - imports (``from __future__`` included), def, class, decorated defs;
      - assignments (``=``, ``+=``, annotated) to plain names whose right side
        makes no call (calls inside a lambda do not count), e.g. ``lr = 0.1``,
        ``X = X0 / 255.``, ``act = lambda z: np.tanh(z)``;
      - ``name = np.<anything>(...)`` / ``numpy.<anything>(...)`` whose
        arguments themselves make no call, e.g. ``W = np.zeros((3, n))``;
      - line magics, except those that run code or the shell (%time, %timeit,
        %prun, %pip, %conda, %sx, %system) or only show help (``?``);
      - if/try blocks whose test makes no call and whose every statement is kept
        (``try: import cupy`` ... ``except ImportError: cupy = None``).
    Dropped: everything else (calls, loops, training, prints, plots, ``!``
    shell commands, ``if __name__ == "__main__":`` blocks).
    ``%%time``/``%%capture`` cells are reduced to their body's definitions;
    ``%%writefile`` cells are kept whole; other cell magics become ``pass``.
    Kept statements keep their line numbers (dropped lines become blank).
    A cell that does not parse is returned unchanged, so that running it
    records the real SyntaxError.
    """
    magic = _cell_magic(source)
    if magic and magic not in _PY_CELL_MAGICS:
        return source if magic in _KEPT_CELL_MAGICS else "pass"
    python, tree, _, _ = _parse(source)
    if tree is None:
        return source
    transformed_magic = _run_cell_magic(tree)  # the caller passed an already transformed %%magic cell
    if transformed_magic:
        name, body = transformed_magic
        if name in _PY_CELL_MAGICS:
            return defs_only("\n" + body)
        return source if name in _KEPT_CELL_MAGICS else "pass"
    kept = [node for node in tree.body if _keep(node)]
    if not kept:
        return "pass"
    statements = tree.body
    shares_lines = any(a.end_lineno >= b.lineno for a, b in zip(statements, statements[1:]))
    if shares_lines:  # "a = 1; train()": line slicing cannot separate them
        return ast.unparse(ast.Module(body=kept, type_ignores=[]))
    lines = python.splitlines()
    out = [""] * len(lines)
    for node in kept:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out[first - 1:node.end_lineno] = lines[first - 1:node.end_lineno]
    return "\n".join(out).rstrip() + "\n"


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and _class_attribute(node.targets[0]):
        # `NeuralNet.grad_loss = my_grad_loss`: attaching a function to a class defines a method.
        return isinstance(node.value, (ast.Name, ast.Lambda, ast.Attribute)) and not _makes_call(node.value)
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is None or not all(_plain_target(t) for t in targets):
            return False
        return not _makes_call(node.value) or _numpy_constructor(node.value)
    if isinstance(node, ast.Expr):
        return _kept_line_magic(node.value)
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.If):
        if _is_main_guard(node.test) or _makes_call(node.test):
            return False
        return all(_keep(child) for child in node.body + node.orelse)
    if isinstance(node, ast.Try):
        blocks = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(_keep(child) for child in blocks)
    return False


def _run_cell_magic(tree: ast.Module) -> tuple[str, str] | None:
    """("time", body) for a cell that is ``get_ipython().run_cell_magic('time', '', body)``."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_cell_magic"
            and isinstance(call.func.value, ast.Call) and _dotted(call.func.value.func) == "get_ipython"):
        return None
    args = call.args
    if len(args) != 3 or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None
    return args[0].value, args[2].value


def _class_attribute(target: ast.expr) -> bool:
    """`Name.attr` where Name starts with a capital letter (a class, by convention)."""
    return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id[:1].isupper()


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Starred):
        return _plain_target(target.value)
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain_target(t) for t in target.elts)


def _makes_call(node: ast.AST) -> bool:
    """True when evaluating ``node`` calls something (a lambda's body is not evaluated)."""
    if isinstance(node, ast.Call):
        return True
    if isinstance(node, ast.Lambda):
        return any(_makes_call(d) for d in node.args.defaults + [d for d in node.args.kw_defaults if d])
    return any(_makes_call(child) for child in ast.iter_child_nodes(node))


def _numpy_constructor(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call) or _dotted(node.func).split(".")[0] not in ("np", "numpy"):
        return False
    if "." not in _dotted(node.func):
        return False
    arguments = list(node.args) + [k.value for k in node.keywords]
    return not any(_makes_call(a) for a in arguments) and not _makes_call(node.func)


def _kept_line_magic(node: ast.expr) -> bool:
    """``get_ipython().run_line_magic('matplotlib', 'inline')`` and friends, minus the costly ones."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and _dotted(owner.func) == "get_ipython"):
        return False
    if node.func.attr != "run_line_magic" or not node.args:
        return False
    name = node.args[0]
    return isinstance(name, ast.Constant) and name.value not in _DROPPED_LINE_MAGICS


def _is_main_guard(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and any(
        isinstance(n, ast.Name) and n.id == "__name__" for n in [test.left, *test.comparators])


def _dotted(node: ast.AST) -> str:
    """``np.random.seed`` for that attribute chain; "" when it is not a plain chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


# -- integrity ------------------------------------------------------------------------

INTEGRITY_FLAGS = ("imports-reference", "exits-process", "patches-library", "network", "subprocess",
                   "ctypes", "writes-files", "fake-results", "signal", "loads-solution")
_MODULE_FLAGS = {"reference": "imports-reference", "grader": "imports-reference",
                 "socket": "network", "urllib": "network", "urllib2": "network", "urllib3": "network",
                 "requests": "network", "http": "network", "httpx": "network", "aiohttp": "network",
                 "ftplib": "network", "smtplib": "network", "telnetlib": "network",
                 "subprocess": "subprocess", "pty": "subprocess", "multiprocessing": "subprocess",
                 "ctypes": "ctypes", "cffi": "ctypes", "signal": "signal"}
_CALL_FLAGS = {"sys.exit": "exits-process", "os._exit": "exits-process", "os.kill": "exits-process",
               "os.abort": "exits-process", "exit": "exits-process", "quit": "exits-process",
               "os.killpg": "exits-process", "os.system": "subprocess", "os.fork": "subprocess",
               "os.popen": "subprocess", "os.forkpty": "subprocess", "os.posix_spawn": "subprocess",
               "np.save": "writes-files", "np.savez": "writes-files", "np.savez_compressed": "writes-files",
               "np.savetxt": "writes-files", "shutil.rmtree": "writes-files", "shutil.move": "writes-files",
               "os.remove": "writes-files", "os.unlink": "writes-files", "os.rmdir": "writes-files",
               "os.rename": "writes-files", "os.replace": "writes-files", "os.removedirs": "writes-files"}
_CALL_PREFIX_FLAGS = (("os.spawn", "subprocess"), ("os.exec", "subprocess"))
_WRITE_METHODS = ("write_text", "write_bytes", "tofile")
_PATCHABLE = ("numpy", "builtins")  # modules whose attributes a notebook must not assign
_REFERENCE_PATH = re.compile(r"(^|[/\\])reference([/\\]|\.py\b)|[/\\]grader[/\\]|^grader[/\\]")
_FAKE_RESULT = re.compile(r"full marks|\bpassed\b.*\b(score|points?|grade)\b|\b(score|points?|grade)\b.*\bpassed\b",
                          re.IGNORECASE | re.DOTALL)
_OUTPUT_CALLS = ("print", "display", "sys.stdout.write", "sys.stderr.write", "HTML", "Markdown")


_LOAD_LINE = re.compile(r"^\s*#\s*%load\s+(?P<path>\S+)\s*$")


def loaded_files(nb: Notebook) -> list[tuple[int, str, list[str]]]:
    """Cells where ``%load FILE`` ran (Jupyter comments the magic out and pastes the file's code below it):
    (cell index, the file, the functions it defines). A ``# %load`` line with nothing under it loaded nothing."""
    found = []
    for cell in nb.code_cells():
        lines = cell.source.strip("\n").splitlines()
        match = _LOAD_LINE.match(lines[0]) if lines else None
        rest = "\n".join(lines[1:])
        if match and rest.strip() and not all(line.lstrip().startswith("#") for line in rest.splitlines() if line.strip()):
            tree = _parse(rest)[1]
            names = [n.name for n in (tree.body if tree is not None else []) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            found.append((cell.index, match.group("path"), names))
    return found


def _handout_lines(trees: dict[int, ast.Module | None], handout) -> dict[int, set[int]]:
    """Per cell, the lines of top-level definitions that are the handout's own code (its data loader,
    its given functions), and of imports whose names only such code uses, anywhere in the notebook."""
    lines: dict[int, set[int]] = {index: set() for index in trees}
    if handout is None:
        return lines
    inside: list[ast.AST] = []
    for index, tree in trees.items():
        for node in tree.body if tree is not None else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in handout.names():
                if node.name not in handout.graded or handout.is_handout_code(node.name, ast.unparse(node)):
                    lines[index].update(range(node.lineno, node.end_lineno + 1))
                    inside.append(node)
    if not inside:
        return lines
    used_inside = {n.id for fn in inside for n in ast.walk(fn) if isinstance(n, ast.Name)}
    used_outside = {n.id for index, tree in trees.items() if tree is not None for n in ast.walk(tree)
                    if isinstance(n, ast.Name) and n.lineno not in lines[index]}
    for index, tree in trees.items():
        for node in tree.body if tree is not None else ():
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = {(a.asname or a.name).split(".")[0] for a in node.names}
                if bound and bound <= used_inside and not bound & used_outside:
                    lines[index].update(range(node.lineno, node.end_lineno + 1))
    return lines


def scan_integrity(nb: Notebook, handout=None) -> list[tuple[str, str]]:
    """Suspicious static patterns as (flag, "cell N: <line>"), in cell and line order, each once.

    The flags are INTEGRITY_FLAGS. ``plt.savefig``, ``print(loss)`` and
    shell escapes (``!pip install``) are not flagged. Cells that do not parse
    are scanned line by line with regular expressions instead. With the
    assignment's handout code (grader.template.Handout), the handout's own
    definitions (004's data loader: urllib, pickle.dump) and imports only they
    use are skipped, as copy detection skips given functions. A ``%load`` of the
    handout's solution folder raises ``loads-solution``.
    """
    aliases = _module_aliases(nb)
    found: list[tuple[str, str]] = []
    for cell, path, names in loaded_files(nb):
        if re.search(r"solution", path, re.IGNORECASE):
            found.append(("loads-solution", f"cell {cell}: %load {path}" + (f" (defines {', '.join(names)})" if names else "")))
    by_cell = _handout_lines({cell.index: _parse(cell.source)[1] for cell in nb.code_cells()}, handout)
    for cell in nb.code_cells():
        writes_module = _cell_magic(cell.source) in _KEPT_CELL_MAGICS
        # a %%writefile body is Python a later cell imports: scan it as code
        source = _magic_body(cell.source) if writes_module else cell.source
        python, tree, _, _ = _parse(source)
        shown = cell.source.splitlines()
        if len(shown) != len(python.splitlines()):
            shown = python.splitlines()
        hits = _scan_tree(tree, aliases) if tree is not None else _scan_lines(source)
        hits = [hit for hit in hits if hit[1] not in by_cell.get(cell.index, ())]
        if writes_module:
            hits.append(("writes-files", 1))
        for flag, line in sorted(hits, key=lambda hit: hit[1]):
            text = shown[line - 1].strip() if 0 < line <= len(shown) else ""
            entry = (flag, f"cell {cell.index}: {text[:100]}")
            if entry not in found:
                found.append(entry)
    return found


def _module_aliases(nb: Notebook) -> dict[str, str]:
    """Local name -> module for imports anywhere in the notebook (``np`` -> ``numpy``)."""
    aliases = {"np": "numpy", "numpy": "numpy", "builtins": "builtins", "__builtins__": "builtins"}
    for cell in nb.code_cells():
        tree = _parse(cell.source)[1]
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _resolve(dotted: str, aliases: dict[str, str]) -> str:
    """``np.random.seed`` -> ``numpy.random.seed`` using the notebook's imports."""
    head, _, rest = dotted.partition(".")
    full = aliases.get(head, head)
    return f"{full}.{rest}" if rest else full


def _scan_tree(tree: ast.Module, aliases: dict[str, str]) -> list[tuple[str, int]]:
    hits: list[tuple[str, int]] = []
    calls = {_resolve(name, aliases): flag for name, flag in _CALL_FLAGS.items() if "." in name}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            hits += [(_MODULE_FLAGS[a.name.split(".")[0]], line) for a in node.names
                     if a.name.split(".")[0] in _MODULE_FLAGS]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in _MODULE_FLAGS:
            hits.append((_MODULE_FLAGS[node.module.split(".")[0]], line))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(_patches_library(t, aliases) for t in targets):
                hits.append(("patches-library", line))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if _dotted(exc) in ("SystemExit", "KeyboardInterrupt"):
                hits.append(("exits-process", line))
        elif isinstance(node, ast.Call):
            hits += [(flag, line) for flag in _call_flags(node, aliases, calls)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _REFERENCE_PATH.search(node.value):
            hits.append(("imports-reference", line))
    return hits


def _call_flags(node: ast.Call, aliases: dict[str, str], calls: dict[str, str]) -> list[str]:
    name = _dotted(node.func)
    full = _resolve(name, aliases) if name else ""
    flags = []
    if name in ("exit", "quit") and name not in aliases:
        flags.append("exits-process")
    elif full in calls:
        flags.append(calls[full])
    elif any(full.startswith(prefix) for prefix, _ in _CALL_PREFIX_FLAGS):
        flags.append(next(flag for prefix, flag in _CALL_PREFIX_FLAGS if full.startswith(prefix)))
    if name == "open" or (isinstance(node.func, ast.Attribute) and node.func.attr == "open"):
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
            flags.append("writes-files")
    if isinstance(node.func, ast.Attribute) and node.func.attr in _WRITE_METHODS:
        flags.append("writes-files")
    if full in ("setattr", "builtins.setattr") and node.args and _root_module(node.args[0], aliases) in _PATCHABLE:
        flags.append("patches-library")
    if full in ("importlib.import_module", "__import__", "importlib.__import__") and node.args \
            and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] in _MODULE_FLAGS:
        flags.append(_MODULE_FLAGS[str(node.args[0].value).split(".")[0]])
    if name in _OUTPUT_CALLS or name.endswith((".write", ".display")):
        text = " ".join(_strings(node))
        if _FAKE_RESULT.search(text):
            flags.append("fake-results")
    return flags


def _patches_library(target: ast.expr, aliases: dict[str, str]) -> bool:
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_patches_library(t, aliases) for t in target.elts)
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        return _root_module(target.value if isinstance(target, ast.Subscript) else target, aliases) in _PATCHABLE
    return False


def _root_module(node: ast.expr, aliases: dict[str, str]) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return ""
    return aliases[node.id].split(".")[0]


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


_LINE_FLAGS = (  # fallback for cells that do not parse; comment lines are skipped
    ("imports-reference", re.compile(r"^\s*(import|from)\s+(reference|grader)\b|['\"][^'\"]*((^|/)reference/|/grader/)")),
    ("exits-process", re.compile(r"\b(sys\.exit|os\._exit|os\.kill|os\.abort)\s*\(|(?<![\w.])(exit|quit)\s*\(\s*\)|raise\s+SystemExit")),
    ("patches-library", re.compile(r"^\s*(np|numpy|builtins|__builtins__)(\.\w+|\[[^\]]*\])+\s*=(?!=)")),
    ("network", re.compile(r"^\s*(import|from)\s+(socket|urllib\d?|requests|http|httpx|aiohttp|ftplib|smtplib)\b")),
    ("subprocess", re.compile(r"^\s*(import|from)\s+(subprocess|pty|multiprocessing)\b|\bos\.(system|fork|popen|spawn\w*|exec\w*)\s*\(")),
    ("ctypes", re.compile(r"^\s*(import|from)\s+(ctypes|cffi)\b")),
    ("writes-files", re.compile(r"\bopen\([^)]*,\s*(mode\s*=\s*)?['\"][rbt]*[wax+]|\bnp\.save\w*\(|\bshutil\.(rmtree|move)\(|\bos\.(remove|unlink|rmdir|rename|replace)\(|\.(write_text|write_bytes|tofile)\(")),
    ("fake-results", re.compile(r"\bprint\b.*(full marks|\bpassed\b.*\b(score|points?|grade)\b|\b(score|points?|grade)\b.*\bpassed\b)", re.IGNORECASE)),
    ("signal", re.compile(r"^\s*(import|from)\s+signal\b")),
)


def _scan_lines(source: str) -> list[tuple[str, int]]:
    hits = []
    for number, text in enumerate(source.splitlines(), start=1):
        if text.lstrip().startswith("#"):
            continue
        hits += [(flag, number) for flag, pattern in _LINE_FLAGS if pattern.search(text)]
    return hits


# -- fingerprints ----------------------------------------------------------------------

def function_fingerprint(source: str) -> str:
    """Normalised code for copy detection: locals/arguments renamed v0, v1..., no docstrings, comments or annotations."""
    try:
        tree = ast.parse(textwrap.dedent(_python_source(source)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(source.split())
    _drop_docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
    scopes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    scopes += [m for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body
               if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        _Renamer(_local_names(scope)).visit(scope)
    return ast.unparse(tree)


def similarity(a: str, b: str) -> float:
    """difflib ratio of the two functions' fingerprints (1.0: same code up to renaming)."""
    return difflib.SequenceMatcher(None, function_fingerprint(a), function_fingerprint(b), autojunk=False).ratio()


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]


def _local_names(scope: ast.AST) -> set[str]:
    """Arguments and every name bound inside ``scope`` (nested functions included), minus globals."""
    names: set[str] = set()
    declared_global: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not scope:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.alias) and node is not scope:
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
    return names - declared_global


class _Renamer(ast.NodeTransformer):
    """Renames the given names to v0, v1... in order of first appearance (AST field order)."""

    def __init__(self, local: set[str]):
        self.local = local
        self.mapping: dict[str, str] = {}

    def _new(self, name: str) -> str:
        if name not in self.local:
            return name
        return self.mapping.setdefault(name, f"v{len(self.mapping)}")

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._new(node.id)
        return node

    def visit_FunctionDef(self, node):
        if node.name in self.local:  # nested function; the outer one keeps its name
            node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        if node.name:
            node.name = self._new(node.name)
        self.generic_visit(node)
        return node
