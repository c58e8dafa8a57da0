"""The handout's own code, told apart from the student's (issue 11: never charge for the handout).

`assignments/<id>/handout.py` (spec key `handout`) transcribes what the released notebook
gives: whole functions (002's one_hot and batch softmax, 000's init_shallow, 004's data loader)
and the template's stubs (`return None`, `return 42.`, `pass`, `W = None`). It is parsed, never
run. Definitions are compared by fingerprint (comments, docstrings and local names ignored).

- `kind(definition)`: "stub" (an unchanged template stub, or any body that only returns a
  constant, None or an argument, passes or raises NotImplementedError), "handout" (the
  handout's given code, unchanged), or "student".
- `student_definition(name, definitions)`: the definition to grade: the last one that is the
  student's, when a later handout cell redefined the name (002's template softmax). An answer
  equal to the handout's later code, written where the stub was, is the student's.
"""
from __future__ import annotations

import ast
import difflib
import functools
import textwrap

from grader.notebook.definitions import defined_functions
from grader.notebook.fingerprint import function_fingerprint, similarity
from grader.notebook.load import Cell, Notebook


@functools.lru_cache(maxsize=64)
def _fingerprint(source: str) -> str:
    return function_fingerprint(source)


class Handout:
    """The handout's definitions for one spec: name -> [(fingerprint, is_stub)]."""

    def __init__(self, source: str, graded: set[str] | None = None) -> None:
        self.graded = set(graded or ())  # the spec's graded names: the loader's names are not among them
        self.definitions: dict[str, list[tuple[str, bool]]] = {}
        if not source:
            return
        nb = Notebook("handout.py", (Cell(0, "code", source),), {}, "")
        for name, found in defined_functions(nb).items():
            # A template stub computes nothing, or is marked "TODO" as the handout marks what to write.
            self.definitions[name] = [(_fingerprint(d.source), is_stub(d.source) or "TODO" in d.source) for d in found]

    def names(self) -> set[str]:
        return set(self.definitions)

    def kind(self, name: str, source: str) -> str:
        """"stub", "handout" or "student" for one definition of `name`."""
        mine = _fingerprint(source)
        for fingerprint, stub in self.definitions.get(name, ()):
            if fingerprint == mine:
                return "stub" if stub else "handout"
        return "stub" if is_stub(source) else "student"

    def kinds(self, name: str, definitions: list) -> list[str]:
        """Each definition's kind, where the student's answer is the student's whatever its text.

        The handout may give a stub to fill in and, in a later cell, the same function written out
        (002's batch softmax). A notebook holding more copies of the handout's code than the handout
        gives wrote the earlier ones in the answer cell: those are the student's (issue 22 item 4).
        """
        kinds = [self.kind(name, d.source) for d in definitions]
        found = self.definitions.get(name, ())
        given = sum(1 for _, stub in found if not stub)
        copies = [i for i, kind in enumerate(kinds) if kind == "handout"]
        if any(stub for _, stub in found) and len(copies) > given:
            for i in copies[:len(copies) - given]:
                kinds[i] = "student"
        return kinds

    def is_handout_code(self, name: str, source: str, threshold: float = 0.9) -> bool:
        """True when `source` is the handout's given code for `name`, up to small edits."""
        for fingerprint, stub in self.definitions.get(name, ()):
            if not stub and (fingerprint == _fingerprint(source) or similarity(source, _source_of(fingerprint)) >= threshold):
                return True
        return False

    def own_code_length(self, source: str) -> int:
        """Characters of `source`'s fingerprint that the closest handout definition (of any name) does not have:
        what the student wrote. A function the handout nearly gives (one line to fill in) has little of its own."""
        mine = _fingerprint(source)
        own = len(mine)
        for found in self.definitions.values():
            for fingerprint, _ in found:
                matcher = difflib.SequenceMatcher(None, fingerprint, mine, autojunk=False)
                if matcher.real_quick_ratio() < 0.3:
                    continue
                added = sum(j2 - j1 for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace"))
                own = min(own, added)
        return own

    def student_definition(self, name: str, definitions: list) -> tuple[object | None, str]:
        """(definition to grade, its kind): the student's last own one, else the last one."""
        if not definitions:
            return None, "missing"
        kinds = self.kinds(name, definitions)
        for definition, kind in zip(reversed(definitions), reversed(kinds)):
            if kind == "student":
                return definition, kind
        # Nothing of the student's own: an attempted-looking stub first, else the handout's code.
        return definitions[-1], kinds[-1]


def _source_of(fingerprint: str) -> str:
    return fingerprint  # a fingerprint is valid Python: similarity() re-fingerprints it unchanged


def is_stub(source: str) -> bool:
    """A body that computes nothing: pass, ..., raise NotImplementedError, or a return of a constant,
    None, an argument, or a container of constants; after only constant or argument-conversion
    assignments (`X = np.asarray(X)`, `self.W = None`, `z = 0.`)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    fn = tree.body[0]
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return True
    assigned: set[str] = set()
    for node in body[:-1]:
        if not _trivial_assignment(node, params, assigned):
            return False
    last = body[-1]
    if isinstance(last, ast.Pass) or (isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant)):
        return True
    if isinstance(last, ast.Raise):
        exc = last.exc.func if isinstance(last.exc, ast.Call) else last.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    if isinstance(last, ast.Return):
        return last.value is None or _inert(last.value, params | assigned)
    return _trivial_assignment(last, params, assigned)


def _inert(node: ast.AST, names: set[str]) -> bool:
    """A constant, None, a name bound to the arguments or to constants, or a container of those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_inert(e, names) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or isinstance(k, ast.Constant) for k in node.keys) and all(isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    return False


_CONVERSIONS = {"asarray", "atleast_1d", "atleast_2d", "array"}


def _trivial_assignment(node: ast.stmt, params: set[str], assigned: set[str]) -> bool:
    if not isinstance(node, ast.Assign):
        return isinstance(node, ast.Pass)
    value = node.value
    ok = _inert(value, params | assigned) or (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _CONVERSIONS
        and all(isinstance(a, ast.Name) and a.id in params for a in value.args))
    if not ok:
        return False
    for target in node.targets:
        if isinstance(target, ast.Name):
            assigned.add(target.id)
        elif not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"):
            return False
    return True
