"""``--lean``: run only the top-level code that a graded check can depend on.

The grader calls each function itself, on its own inputs, with the globals a
check needs set by the spec; so a training run at the top of a notebook, its
prints and its plots change nothing a check sees, unless a function reads a
global they bind or mutate. This module finds, statically and conservatively,
the top-level statements nothing graded can observe, and leaves them out:

- every ``def``, ``class`` and import runs, and every magic or shell line
  (``%matplotlib``, ``%run``, ``!cmd``) but ``%time``/``%timeit``/``%prun``,
  which are judged by the statement they time;
- NEEDED starts as the global names any function or class reads (``symtable``)
  plus the names they define; a statement runs when it binds a NEEDED name, or
  mutates one (``W[0] = 1``, ``Net.f = g``, ``W += 1``), or mentions a NEEDED
  name that is data (bound by some statement, so a call could change it in
  place), or calls a function or method whose own globals meet NEEDED data;
  each statement that runs adds the names it reads to NEEDED, to a fixed point;
- a statement runs unless everything in it is on an allow-list of forms that
  cannot reach a function, a class or a module (see ``_harmless``): a function,
  class or imported name only called or read through (``f(x)``, ``np.mean(x)``),
  never handed on, stored into or rebound; builtins only from SAFE_BUILTINS; no
  dunder name or attribute (``__code__``, ``__dict__``, ``object.__setattr__``);
  no name of a module that reaches the interpreter (``sys``, ``os``,
  ``importlib``, ``builtins``...); no call whose name configures, seeds or writes
  (``np.seterr``, ``np.random.seed``, ``np.save``, ``pickle.dump``); ``open``
  only to read; no ``global``. A compound statement holding a ``def``, ``class``
  or import runs, and so does every binding of a graded name (``keep``).

A cell with nothing left out runs exactly as written. Otherwise its Python
(IPython's transforms applied) runs with the left-out lines blank, so line
numbers in tracebacks are the cell's own. A cell that does not parse runs as
written, so that its SyntaxError is recorded.
"""
from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass, field
from typing import Iterable

from grader.notebook.cells import PY_CELL_MAGICS, cell_magic, dotted, parse_cell

_TIMING_MAGICS = frozenset({"time", "timeit", "prun"})
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# Builtins a left-out statement may use: none reaches a function object, a module or the namespace.
SAFE_BUILTINS = frozenset("""abs all any ascii bin bool bytearray bytes callable chr complex dict divmod enumerate
filter float format frozenset hash hex id int isinstance issubclass iter len list map max min next oct ord pow
print range repr reversed round set slice sorted str sum tuple zip open input ArithmeticError AssertionError
Exception IndexError KeyError NameError RuntimeError StopIteration TypeError ValueError ZeroDivisionError
True False None Ellipsis NotImplemented""".split())
# Modules whose every use may change the interpreter a graded function runs in.
INTERPRETER_MODULES = frozenset({"sys", "os", "builtins", "importlib", "types", "inspect", "gc", "ctypes", "random",
                                 "warnings", "atexit", "signal", "shutil", "pathlib", "tempfile", "threading",
                                 "multiprocessing", "subprocess", "site", "runpy", "copyreg", "marshal", "pickle",
                                 "functools", "operator", "contextlib", "unittest", "io"})
# Method names that configure, seed, write or register: a call of one (on anything) runs.
_STATEFUL_PREFIXES = ("set", "seed", "save", "dump", "write", "tofile", "to_", "register", "patch", "install",
                      "enable", "disable", "reload", "mkdir", "makedirs", "remove", "unlink", "rename", "chdir",
                      "filterwarnings", "simplefilter", "use", "putenv", "load_ext")
# ... and, on a module or a class, the ones that change a container it holds (``sys.path.append``).
_CONTAINER_METHODS = frozenset({"update", "append", "extend", "insert", "pop", "popitem", "clear", "setdefault",
                                "add", "discard", "sort", "reverse", "fill", "resize", "put", "itemset"})


@dataclass(frozen=True)
class Skipped:
    cell: int
    line: int
    text: str  # the statement's first line

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.text}"


@dataclass
class _Unit:
    cell: int
    node: ast.stmt
    always: bool = False  # defs, imports, magics, opaque code
    binds: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    loads: set[str] = field(default_factory=set)
    attribute_calls: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)  # for defs: the globals they read or write
    changes: set[str] = field(default_factory=set)  # for defs: the globals they may change


@dataclass(frozen=True)
class LeanPlan:
    cells: list[tuple[int, str]]  # (cell index, source to run)
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _Names:
    """What the whole notebook binds: its functions, classes and imports ("code"), and every name at all."""
    code: frozenset[str]
    interpreter: frozenset[str]  # names bound to a module in INTERPRETER_MODULES (or from one)
    bound: frozenset[str]
    keep: frozenset[str]  # graded names: every statement binding one runs


def plan(cells: list[tuple[int, str]], keep: Iterable[str] = ()) -> LeanPlan:
    """Which top-level statements of these cells (raw sources, in order) run in a lean run.

    ``keep``: the graded names; a statement that binds one always runs (``softmax = lambda a: ...``).
    """
    parsed: list[tuple[int, str, str, ast.Module | None]] = []
    for index, source in cells:
        magic = cell_magic(source)
        python, tree, _, _ = parse_cell(source)
        if magic and magic not in PY_CELL_MAGICS:
            tree = None  # %%writefile, %%bash...: runs whole
        parsed.append((index, source, python, tree))
    names = _names([tree for _, _, _, tree in parsed if tree is not None], keep)
    units = [_describe(index, node, names) for index, _, _, tree in parsed for node in (tree.body if tree else ())]
    kept = _fixed_point(units)
    out: list[tuple[int, str]] = []
    skipped: list[Skipped] = []
    by_cell: dict[int, list[_Unit]] = {}
    for unit in units:
        by_cell.setdefault(unit.cell, []).append(unit)
    for index, source, python, tree in parsed:
        mine = by_cell.get(index, [])
        dropped = [u for u in mine if id(u) not in kept]
        if tree is None or not dropped:
            out.append((index, source))
            continue
        lines = python.splitlines()
        skipped += [Skipped(index, u.node.lineno, lines[u.node.lineno - 1].strip()[:120]) for u in dropped]
        out.append((index, _without(python, tree, [u.node for u in mine if id(u) in kept])))
    return LeanPlan(out, tuple(skipped))


def _without(python: str, tree: ast.Module, kept: list[ast.stmt]) -> str:
    """The cell's Python with only ``kept`` statements, on their own lines."""
    if not kept:
        return "pass"
    statements = tree.body
    if any(a.end_lineno >= b.lineno for a, b in zip(statements, statements[1:])):  # "a = 1; train()"
        return ast.unparse(ast.Module(body=kept, type_ignores=[]))
    lines = python.splitlines()
    out = [""] * len(lines)
    for node in kept:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out[first - 1:node.end_lineno] = lines[first - 1:node.end_lineno]
    return "\n".join(out).rstrip() + "\n"


def _fixed_point(units: list[_Unit]) -> set[int]:
    defs = [u for u in units if isinstance(u.node, _NESTED[:3])]
    data = set().union(*(u.binds for u in units if not isinstance(u.node, (*_NESTED[:3], ast.Import, ast.ImportFrom))))
    effects = _effects(defs)
    method_effects: dict[str, set[str]] = {}
    for unit in defs:
        if isinstance(unit.node, ast.ClassDef):
            for item in unit.node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    method_effects.setdefault(item.name, set()).update(effects[unit.node.name])
    needed: set[str] = set()
    for unit in defs:
        needed |= unit.reads | unit.binds
    kept: set[int] = set()
    changed = True
    while changed:
        changed = False
        for unit in units:
            if id(unit) in kept:
                continue
            needed_data = needed & data
            touched = set().union(*(effects.get(name, set()) for name in unit.loads),
                                  *(method_effects.get(name, set()) for name in unit.attribute_calls))
            if (unit.always or unit.binds & needed or unit.mutates & needed or unit.loads & needed_data
                    or touched & needed_data):
                kept.add(id(unit))
                needed |= unit.loads | unit.binds | unit.mutates
                changed = True
    return kept


def _effects(defs: list[_Unit]) -> dict[str, set[str]]:
    """For each function or class name: the globals it, or what it calls (transitively), may change."""
    reads: dict[str, set[str]] = {}
    changes: dict[str, set[str]] = {}
    for unit in defs:
        reads.setdefault(unit.node.name, set()).update(unit.reads)
        changes.setdefault(unit.node.name, set()).update(unit.changes)
    closed: dict[str, set[str]] = {}
    for name in reads:
        seen, stack = set(), [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack += [n for n in reads.get(current, ()) if n in reads]
        closed[name] = set().union(*(changes[n] for n in seen))
    return closed


def _changed_globals(node: ast.stmt, globals_read: set[str]) -> set[str]:
    """The globals a def or class may change: assigned through ``global``, stored into (``W[0] = 1``,
    ``W.x = 1``), method-called (``W.fill(0)``) or handed to any call (which may change it in place)."""
    changed: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Global):
            changed.update(child.names)
        elif isinstance(child, (ast.Attribute, ast.Subscript)) and isinstance(child.ctx, (ast.Store, ast.Del)):
            changed.add(_root(child))
        elif isinstance(child, ast.Call):
            if isinstance(child.func, ast.Attribute):
                changed.add(_root(child.func.value))
            for argument in [*child.args, *(k.value for k in child.keywords)]:
                argument = argument.value if isinstance(argument, ast.Starred) else argument
                changed.add(_root(argument))
    return changed & globals_read


def _root(node: ast.AST) -> str:
    """``W`` for ``W``, ``W[0]``, ``W.T[1].x``; "" for anything else."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _names(trees: list[ast.Module], keep: Iterable[str]) -> _Names:
    code: set[str] = set()
    interpreter: set[str] = set()
    bound: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                code.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    local = (alias.asname or alias.name).split(".")[0]
                    code.add(local)
                    module = node.module if isinstance(node, ast.ImportFrom) else alias.name
                    if module and module.split(".")[0] in INTERPRETER_MODULES:
                        interpreter.add(local)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    return _Names(frozenset(code), frozenset(interpreter), frozenset(bound | code), frozenset(keep))


def _describe(cell: int, node: ast.stmt, names: _Names) -> _Unit:
    unit = _Unit(cell, node)
    if isinstance(node, _NESTED[:3]):
        unit.always = True
        unit.binds = {node.name}
        unit.reads = _globals_of(node)
        unit.changes = _changed_globals(node, unit.reads)
        return unit
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        unit.always = True
        unit.binds = {(a.asname or a.name).split(".")[0] for a in node.names}
        return unit
    timed = _timing_magic(node)
    if timed is not None:
        node = timed
    elif _magic_or_shell(node) or _opaque(node):
        unit.always = True
    if not unit.always and not _harmless(node, names):
        unit.always = True
    _collect(node, unit)
    if unit.binds & names.keep:
        unit.always = True
    return unit


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _harmless(node: ast.AST, names: _Names) -> bool:
    """Whether every form in this statement is on the allow-list (module docstring): nothing in it can reach a
    function object, a class, a module or the interpreter, whatever the values involved."""
    parents = {child: parent for parent in ast.walk(node) for child in ast.iter_child_nodes(parent)}
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if _dunder(child.id) or child.id in names.interpreter:
                return False
            if child.id in names.code and not (isinstance(child.ctx, ast.Load) and _called_or_read(child, parents)):
                return False
            if child.id not in names.bound and hasattr(builtins, child.id) and child.id not in SAFE_BUILTINS:
                return False  # setattr, vars, globals, object, type, getattr, super...
        elif isinstance(child, ast.Attribute):
            if _dunder(child.attr) or (not isinstance(child.ctx, ast.Load) and _root(child) in names.code):
                return False
        elif isinstance(child, ast.Subscript):
            if not isinstance(child.ctx, ast.Load) and _root(child) in names.code:
                return False
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            return False
        elif isinstance(child, ast.Call) and not _harmless_call(child, names):
            return False
    return True


def _called_or_read(name: ast.Name, parents: dict) -> bool:
    """``f(x)`` or ``np.mean``...: a function, class or module called, or read through; never handed on bare."""
    parent = parents.get(name)
    return (isinstance(parent, ast.Call) and parent.func is name) or (isinstance(parent, ast.Attribute)
                                                                      and parent.value is name)


def _harmless_call(call: ast.Call, names: _Names) -> bool:
    if isinstance(call.func, ast.Attribute):
        method = call.func.attr
        if method.startswith(_STATEFUL_PREFIXES):
            return False
        if method in _CONTAINER_METHODS and _root(call.func.value) in names.code:
            return False
    if isinstance(call.func, ast.Name) and call.func.id == "open" and "open" not in names.bound:
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        if mode is not None and not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                                     and not set(mode.value) & set("wax+")):
            return False
    return True


def _collect(node: ast.AST, unit: _Unit) -> None:
    """Names a top-level statement binds, mutates and loads (lambdas' bodies included in loads)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if isinstance(child.ctx, (ast.Store, ast.Del)):
                unit.binds.add(child.id)
            else:
                unit.loads.add(child.id)
        elif isinstance(child, (ast.Attribute, ast.Subscript)) and isinstance(child.ctx, (ast.Store, ast.Del)):
            base = child.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                unit.mutates.add(base.id)
        elif isinstance(child, ast.AugAssign) and isinstance(child.target, ast.Name):
            unit.mutates.add(child.target.id)
        elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
            unit.attribute_calls.add(child.func.attr)
        elif isinstance(child, ast.NamedExpr):
            unit.binds.add(child.target.id)
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            unit.always = True


def _globals_of(node: ast.stmt) -> set[str]:
    """Global names a def or class (nested scopes included) reads or writes, by Python's own symbol tables."""
    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    names: set[str] = set()
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack += scope.get_children()
        for symbol in scope.get_symbols():
            if symbol.is_global():
                names.add(symbol.get_name())
    return names


def _timing_magic(node: ast.stmt) -> ast.AST | None:
    """``%time net = train(...)``: the statement it times, parsed; None when it is not such a magic."""
    call = node.value if isinstance(node, ast.Expr) else getattr(node, "value", None)
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_line_magic"
            and len(call.args) >= 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args[:2])
            and call.args[0].value in _TIMING_MAGICS):
        return None
    if not isinstance(node, ast.Expr):
        return None  # `t = %time f()`: judged as an ordinary statement would be (kept: it calls get_ipython)
    tokens = call.args[1].value.split(" ")
    while tokens:  # `%timeit -n 10 -r 3 f()`: drop leading options until the rest is Python
        try:
            return ast.parse(" ".join(tokens).strip())
        except (SyntaxError, ValueError):
            if not tokens[0].startswith("-") and not tokens[0].isdigit() and tokens[0]:
                return None
            tokens = tokens[1:]
    return None


def _magic_or_shell(node: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) and dotted(n.func) == "get_ipython" for n in ast.walk(node))


def _opaque(node: ast.stmt) -> bool:
    """A compound statement that defines or imports (``if ...: def f():``): judged by running it."""
    return any(isinstance(child, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for child in ast.walk(node))
