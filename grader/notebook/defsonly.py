"""``--defs-only``: the part of each cell that defines things, for a fast run without training."""
from __future__ import annotations

import ast

from grader.notebook.cells import MODULE_CELL_MAGICS, PY_CELL_MAGICS, cell_magic, dotted, parse_cell, run_cell_magic


_DROPPED_LINE_MAGICS = frozenset({"time", "timeit", "prun", "pip", "conda", "sx", "system", "pinfo", "pinfo2"})


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
    magic = cell_magic(source)
    if magic and magic not in PY_CELL_MAGICS:
        return source if magic in MODULE_CELL_MAGICS else "pass"
    python, tree, _, _ = parse_cell(source)
    if tree is None:
        return source
    transformed_magic = run_cell_magic(tree)  # the caller passed an already transformed %%magic cell
    if transformed_magic:
        name, body = transformed_magic
        if name in PY_CELL_MAGICS:
            return defs_only("\n" + body)
        return source if name in MODULE_CELL_MAGICS else "pass"
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
    if not isinstance(node, ast.Call) or dotted(node.func).split(".")[0] not in ("np", "numpy"):
        return False
    if "." not in dotted(node.func):
        return False
    arguments = list(node.args) + [k.value for k in node.keywords]
    return not any(_makes_call(a) for a in arguments) and not _makes_call(node.func)


def _kept_line_magic(node: ast.expr) -> bool:
    """``get_ipython().run_line_magic('matplotlib', 'inline')`` and friends, minus the costly ones."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and dotted(owner.func) == "get_ipython"):
        return False
    if node.func.attr != "run_line_magic" or not node.args:
        return False
    name = node.args[0]
    return isinstance(name, ast.Constant) and name.value not in _DROPPED_LINE_MAGICS


def _is_main_guard(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and any(
        isinstance(n, ast.Name) and n.id == "__name__" for n in [test.left, *test.comparators])
