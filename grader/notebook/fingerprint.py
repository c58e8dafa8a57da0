"""Fingerprints of functions for copy detection: the same code up to renaming, docstrings and comments."""
from __future__ import annotations

import ast
import difflib
import functools
import textwrap

from grader.notebook.cells import python_source


@functools.lru_cache(maxsize=4096)  # the handout's and the solution's functions recur in every notebook
def function_fingerprint(source: str) -> str:
    """Normalised code for copy detection: locals/arguments renamed v0, v1..., no docstrings, comments or annotations."""
    try:
        tree = ast.parse(textwrap.dedent(python_source(source)))
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


def similarity(a: str, b: str, at_least: float = 0.0) -> float:
    """difflib ratio of the two functions' fingerprints (1.0: same code up to renaming).

    With ``at_least``, a pair that cannot reach it gets difflib's cheap upper bound instead of the
    ratio: enough to say "below", at a fraction of the cost.
    """
    first, second = function_fingerprint(a), function_fingerprint(b)
    if first == second:
        return 1.0
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    if at_least:
        for bound in (matcher.real_quick_ratio, matcher.quick_ratio):
            value = bound()
            if value < at_least:
                return value
    return matcher.ratio()


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
