"""Where a notebook defines things: every module-level function and method, and names close to a wanted one."""
from __future__ import annotations

import ast
import builtins
import difflib
import re
import textwrap
from dataclasses import dataclass

from grader.notebook.cells import parse_cell
from grader.notebook.load import Notebook


@dataclass(frozen=True)
class Definition:
    name: str  # "relu", or "NeuralNet.forward" for a method
    cell: int  # the cell's index among all cells
    params: tuple[str, ...]  # ("a", "e"); "*args" / "**kwargs" keep their stars
    source: str  # the definition's code, decorators included, dedented
    lineno: int  # line of the ``def`` inside the cell, 1-based


def defined_functions(nb: Notebook) -> dict[str, list[Definition]]:
    """Every module-level function, ``name = lambda`` and ``Class.method``, in notebook order.

    Module level includes the bodies of top-level if/try/with blocks. Cells
    that do not parse are skipped (see :func:`unparsable_cells`).
    """
    found: dict[str, list[Definition]] = {}
    for cell in nb.code_cells():
        python, tree, _, _ = parse_cell(cell.source)
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


def module_variables(nb: Notebook) -> dict[str, int]:
    """Names the notebook assigns at the top level (data, not functions), each with the first cell that does."""
    found: dict[str, int] = {}
    for cell in nb.code_cells():
        _, tree, _, _ = parse_cell(cell.source)
        for node in _module_level(tree.body) if tree is not None else ():
            targets = (node.targets if isinstance(node, ast.Assign) else [node.target]
                       if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)) else [])
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, cell.index)
    return found


def free_names(source: str, params: tuple[str, ...]) -> tuple[str, ...]:
    """Names a definition's body reads that it neither takes nor assigns, nor are builtins, in order."""
    try:
        node = ast.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, ValueError, IndexError, RecursionError):
        return ()
    declared = {n for stmt in ast.walk(node) if isinstance(stmt, ast.Global) for n in stmt.names}
    stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))} - declared
    local = stored | set(params) | {p.lstrip("*") for p in params}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        local |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
    reads: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local and not hasattr(builtins, n.id) and n.id not in reads:
            reads.append(n.id)
    return tuple(reads)


def globals_in_place_of_params(definition: Definition, variables: dict[str, int]) -> list[tuple[str, str]]:
    """(global, parameter) pairs where the body never reads a parameter but reads a notebook variable named like it
    (`x` or `x_train` for `X`): the function computes on the notebook's data, not on what it is given."""
    reads = free_names(definition.source, definition.params)
    try:
        loaded = {n.id for n in ast.walk(ast.parse(textwrap.dedent(definition.source))) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError, RecursionError):
        return []
    unused = [p for p in definition.params if p != "self" and not p.startswith("*") and p not in loaded]
    pairs = []
    for name in reads:
        if name not in variables:
            continue
        for param in unused:
            a, b = re.sub(r"[^a-z]", "", name.lower()), re.sub(r"[^a-z]", "", param.lower())
            if a and b and (a == b or (len(b) <= 2 and a.startswith(b)) or (len(a) <= 2 and b.startswith(a))):
                pairs.append((name, param))
                break
    return pairs


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
