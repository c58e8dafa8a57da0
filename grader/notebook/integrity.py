"""Integrity flags: what a notebook's code does that a graded notebook should not (network, subprocess, patching numpy...).

Handout code (its data loader, its given functions) is skipped, as copy detection skips it.
"""
from __future__ import annotations

import ast
import re

from grader.notebook.cells import MODULE_CELL_MAGICS, cell_magic, dotted, magic_body, parse_cell
from grader.notebook.load import Notebook


INTEGRITY_FLAGS = ("imports-reference", "exits-process", "patches-library", "network", "subprocess",
                   "ctypes", "writes-files", "fake-results", "signal", "loads-solution", "replaces-code")
# A function's own internals: assigning one swaps the code a name runs for other code, unseen in its def.
_CODE_ATTRIBUTES = frozenset({"__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__", "__dict__",
                              "__wrapped__"})
_SETATTR = ("setattr", "builtins.setattr", "object.__setattr__", "type.__setattr__")
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
            tree = parse_cell(rest)[1]
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
    by_cell = _handout_lines({cell.index: parse_cell(cell.source)[1] for cell in nb.code_cells()}, handout)
    for cell in nb.code_cells():
        writes_module = cell_magic(cell.source) in MODULE_CELL_MAGICS
        # a %%writefile body is Python a later cell imports: scan it as code
        source = magic_body(cell.source) if writes_module else cell.source
        python, tree, _, _ = parse_cell(source)
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
        tree = parse_cell(cell.source)[1]
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
            if any(_replaces_code(t) for t in targets):
                hits.append(("replaces-code", line))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if dotted(exc) in ("SystemExit", "KeyboardInterrupt"):
                hits.append(("exits-process", line))
        elif isinstance(node, ast.Call):
            hits += [(flag, line) for flag in _call_flags(node, aliases, calls)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _REFERENCE_PATH.search(node.value):
            hits.append(("imports-reference", line))
    return hits


def _call_flags(node: ast.Call, aliases: dict[str, str], calls: dict[str, str]) -> list[str]:
    name = dotted(node.func)
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
    setattr_like = full in _SETATTR or (isinstance(node.func, ast.Attribute) and node.func.attr == "__setattr__")
    if setattr_like and node.args and _root_module(node.args[0], aliases) in _PATCHABLE:
        flags.append("patches-library")
    if setattr_like and len(node.args) > 1 and not (isinstance(node.args[1], ast.Constant)
                                                   and node.args[1].value not in _CODE_ATTRIBUTES):
        flags.append("replaces-code")  # a code attribute, or a name computed at run time
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


def _replaces_code(target: ast.expr) -> bool:
    """``f.__code__ = g.__code__``, ``vars(f)['__defaults__'] = ...``: an assignment into a function's internals."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_replaces_code(t) for t in target.elts)
    if isinstance(target, ast.Subscript):  # vars(f)[...] = ..., f.__dict__[...] = ...
        target = target.value
        if isinstance(target, ast.Call) and dotted(target.func) == "vars" and target.args:
            return _root_name(target.args[0]) not in ("self", "cls")
    return (isinstance(target, ast.Attribute) and target.attr in _CODE_ATTRIBUTES
            and _root_name(target) not in ("self", "cls"))  # an object's own state is not code


def _root_name(node: ast.expr) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


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
