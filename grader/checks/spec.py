"""Assignment specs: what is graded, with which inputs, tolerances and points.

A spec is data: `assignments/<id>/spec.toml`, read with tomllib into frozen
dataclasses and checked once, so a typo in a spec is an error at load time
with the file and key named, not a surprise in the middle of a batch. Code
lives only where behaviour needs it: the reference module the spec names and
the assignment's mistake bank (`bank.py`).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import inputs as input_gen
from grader.checks.compare import DTYPE_POLICIES
from grader.checks.rubric import ManualItem, RubricError, parse_manual_review

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ASSIGNMENTS_DIR = Path(__file__).resolve().parents[2] / "assignments"


class SpecError(Exception):
    """A spec file is missing or malformed."""


CHECK_KEYS = {
    "name": "what the check verifies, as a student reads it",
    "function": "graded name: a function, or Class.method",
    "points": "points for passing",
    "seed": "seed of the input generators (default: the check's position)",
    "let": "named inputs, made in order by generators (see grader/inputs.py)",
    "args": "positional arguments: names from `let`, or literals",
    "kwargs": "keyword arguments, same forms",
    "init": "constructor arguments when function is Class.method",
    "attrs": "attributes set on the instance before the call",
    "globals": "names set in the student's namespace before the call",
    "read_globals": "globals read back after the call",
    "read_attrs": "instance attributes read back after the call",
    "compare": "what is compared: 'return', 'globals', 'attrs' (list)",
    "call_seed": "numpy global RNG seed set just before both calls (training functions)",
    "repeat": "call it this many times in a row (e.g. a few training steps); the last return is compared",
    "rtol": "relative tolerance",
    "atol": "absolute tolerance",
    "dtype": "dtype policy: one of DTYPE_POLICIES",
    "timeout": "seconds the call may take",
    "accept": "accepted alternative implementations in bank.py (pass with a note)",
    "partial": "behavioural partial credit when values differ: {function (in bank.py), points}",
    "reference": "reference callable when it differs from `function` (adapters in bank.py)",
    "ref_args": "reference arguments when they differ from `args`",
    "note": "a sentence shown with the check",
    "visibility": "who sees the check: 'visible' (default; in the student kit), 'after_due' (students see it after the deadline), 'hidden' (instructor only)",
    "optional": "an optional extension of the handout (true/false): checked and reported, never charged (its points count 0)",
}

FUNCTION_DOCS = {
    "helpers": "graded names it may call: when one fails its own checks, a retry puts the reference's in its place",
    "params": "the signature the handout asks for: arguments are matched to the student's parameters by these names",
    "returns": "names of the items it returns as a tuple, for feedback",
    "given": "the handout gives its code (true/false): checked, so breaking it is named, but never worth points",
    "description": "a sentence about the function",
    "open_return": "the handout leaves the return form open: a tuple, list or dict holding these parts of `returns` passes",
    "variants": "known variants of the handout's own API, tried when the name is absent: [{ method|function = NAME, kwargs = {...} }]",
    "rename_credit": "fraction of the points (0-1, default 1) for a function found under another name",
    "globals": "module globals it reads or sets: a retry's reference stand-in reads and writes them too",
    "takes_results_of": "graded functions whose results a student's own signature may take instead of computing them (003's back_propagation(forward_res, y)): such a parameter gets the student's own function's results on the check's inputs",
}

VISIBILITIES = ("visible", "after_due", "hidden")


@dataclass(frozen=True)
class Check:
    name: str
    function: str
    points: float
    seed: int
    let: dict[str, Any] = field(default_factory=dict)
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    init: tuple = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    read_globals: tuple[str, ...] = ()
    read_attrs: tuple[str, ...] = ()
    compare: tuple[str, ...] = ("return",)
    call_seed: int | None = None
    repeat: int = 1
    rtol: float = 1e-6
    atol: float = 1e-8
    dtype: str = "float"
    timeout: float | None = None
    accept: tuple[str, ...] = ()
    partial: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    ref_args: tuple | None = None
    note: str = ""
    visibility: str = "visible"  # one of VISIBILITIES
    optional: bool = False  # an optional extension: reported, never charged (points forced to 0)

    @property
    def visible(self) -> bool:
        """Shown to students now: in the kit, `check()`, `grader check --student`."""
        return self.visibility == "visible"

    @property
    def class_name(self) -> str | None:
        return self.function.split(".")[0] if "." in self.function else None

    @property
    def method(self) -> str | None:
        return self.function.split(".", 1)[1] if "." in self.function else None


@dataclass(frozen=True)
class Function:
    name: str
    helpers: tuple[str, ...] = ()  # graded names it may call: tried with the reference's in place
    params: tuple[str, ...] = ()  # the signature the handout asks for, for "close name" hints
    returns: tuple[str, ...] = ()  # names of the items it returns as a tuple, for feedback
    given: bool = False  # the handout gives its code: checked, never worth points, never a sign of copying
    description: str = ""
    open_return: tuple[str, ...] = ()  # parts of `returns` that pass in any container (open API)
    variants: tuple[dict, ...] = ()  # other spellings of the handout's own API: {"method"|"function": name, "kwargs": {...}}
    rename_credit: float = 1.0  # credit for a function found under another name
    globals: tuple[str, ...] = ()  # globals it reads or sets (stateful retries)
    takes_results_of: tuple[str, ...] = ()  # producers whose results a parameter may stand for (parameters by meaning)


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    version: str
    reference: str  # module path
    folder: Path
    functions: tuple[Function, ...]
    checks: tuple[Check, ...]
    identify: tuple[str, ...] = ()
    manual_review: tuple[str, ...] = ()  # the texts of manual_items (what Result.manual_review holds)
    manual_items: tuple[ManualItem, ...] = ()  # the same items with points, rubric and where to find them
    data_files: tuple[str, ...] = ()  # extra files copied into the sandbox, relative to the folder
    handout: str = ""  # file (relative to the folder) with the handout's own code: given code and template stubs
    digest: str = ""  # hash of spec.toml and bank.py: part of "graded with the same spec"

    @property
    def max_score(self) -> float:
        return float(sum(check.points for check in self.checks))

    @property
    def manual_max(self) -> float:
        return float(sum(item.points for item in self.manual_items))

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        return Function(name)

    def checks_for(self, name: str) -> list[Check]:
        return [check for check in self.checks if check.function == name]

    def points_for(self, name: str) -> float:
        return float(sum(check.points for check in self.checks_for(name)))

    def handout_source(self) -> str:
        """The handout's own code (given functions and template stubs), or ""."""
        return (self.folder / self.handout).read_text(encoding="utf-8") if self.handout else ""

    def reference_module(self):
        return importlib.import_module(self.reference)

    def bank_module(self):
        """The assignment's bank.py (mistakes and accepted variants), or None."""
        return _load_bank(self.folder, self.id)


def _tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


# ------------------------------------------------------------------ validation by value
#
# Every key of a spec is checked for its value when the spec loads: a typo such as
# dtype = "flaot" or compare = ["retrun"] must not turn a check into a free pass.
# Each problem is one line naming the file, the check and the key.

COMPARE_PARTS = ("return", "globals", "attrs")
TOP_KEYS = ("id", "title", "version", "reference", "identify", "manual_review", "data_files", "handout", "functions", "check")
FUNCTION_KEYS = tuple(FUNCTION_DOCS)
VARIANT_KEYS = ("method", "function", "kwargs")
PARTIAL_KEYS = ("function", "points")
LAYOUTS = ("columns", "rows")


def _q(value: Any) -> str:
    """A value as it would be written in the spec (strings in double quotes)."""
    if isinstance(value, str) and len(value) > 78:
        value = value[:75] + "..."
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 or isinstance(value, str) else text[:77] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


@functools.lru_cache(maxsize=None)
def generator_keys() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """For each generator of grader/inputs.py: the keys it requires and the keys it may read.

    Read from the generators' own code (`spec["k"]` is required; `spec.get("k")` and
    `"k" in spec` are optional), plus the keys make_inputs applies to every generator,
    so the spec check cannot drift from what the generators really read.
    """

    def keys_read(fn) -> tuple[set[str], set[str]]:
        required: set[str] = set()
        optional: set[str] = set()
        for node in ast.walk(ast.parse(inspect.getsource(fn).lstrip())):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "spec":
                if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                    required.add(node.slice.value)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and isinstance(node.func.value, ast.Name) and node.func.value.id == "spec"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                optional.add(node.args[0].value)
            elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(node.ops[0], ast.In)
                  and isinstance(node.comparators[0], ast.Name) and node.comparators[0].id == "spec"):
                optional.add(node.left.value)
        return required - optional, optional  # `"index" in spec` guards spec["index"]: optional

    common = keys_read(input_gen.make_inputs)
    common_keys = common[0] | common[1]
    table = {}
    for name, fn in [*input_gen.GENERATORS.items(), ("ref", input_gen._call_reference)]:
        required, optional = keys_read(fn)
        table[name] = (frozenset(required), frozenset(optional | common_keys | {"gen"}))
    return table


class _Checker:
    """Collects nothing: the first problem found is raised as one SpecError line."""

    def __init__(self, path: Path, raw: dict, folder: Path, assignment_id: str) -> None:
        self.path = path
        self.raw = raw
        self.reference = self._import(lambda: importlib.import_module(str(raw.get("reference"))))
        self.bank = self._import(lambda: _load_bank(folder, str(raw.get("id", assignment_id))))
        # The bank's variants, unordered (bank.variants() sorts by source line, which is slow).
        self.variants = [v.__variant__ for v in vars(self.bank).values() if hasattr(v, "__variant__")] if self.bank else []
        self.where = ""

    @staticmethod
    def _import(load):
        """The module, or False when it cannot be imported (then names in it are not checked)."""
        try:
            return load()
        except Exception:
            return False

    def fail(self, key: str, problem: str) -> None:
        raise SpecError(f"{_show(self.path)}: {self.where}{key} {problem}")

    # -------------------------------------------------------------- the file

    def spec(self) -> None:
        raw = self.raw
        for key in raw:
            if key not in TOP_KEYS:
                self.fail(key, f"is not a spec key (known: {', '.join(TOP_KEYS)})")
        if not isinstance(raw.get("reference"), str):
            self.fail("reference", "must name the reference module, e.g. \"reference.shallow_backprop\"")
        for key in ("id", "title", "version"):
            if key in raw and (not isinstance(raw[key], (str, int)) or isinstance(raw[key], bool)):
                self.fail(key, f"{_q(raw[key])} is not a string")
        for key in ("identify", "data_files"):  # manual_review: grader/rubric.py checks it
            if key in raw and not _str_list(raw[key]):
                self.fail(key, f"{_q(raw[key])} is not a list of strings")
        for name in raw.get("data_files", []):
            if not (self.path.parent / name).is_file():
                self.fail("data_files", f"{_q(name)} is not a file next to the spec")
        if "handout" in raw and not (isinstance(raw["handout"], str) and (self.path.parent / raw["handout"]).is_file()):
            self.fail("handout", f"{_q(raw['handout'])} is not a file next to the spec")
        functions = raw.get("functions", {})
        if not isinstance(functions, dict):
            self.fail("functions", "must be tables [functions.NAME]")
        for name, body in functions.items():
            self.function(name, body, functions)
        checks = raw.get("check", [])
        if not isinstance(checks, list):
            self.fail("check", "must be [[check]] tables")
        for i, check in enumerate(checks):
            name = check.get("name") if isinstance(check, dict) else None
            self.where = f"check {i + 1}" + (f" ({_q(name)})" if isinstance(name, str) else "") + ": "
            if not isinstance(check, dict):
                self.fail("[[check]]", "must be a table")
            self.check(check, i, functions)
        self.where = ""

    def function(self, name: str, body: Any, functions: dict) -> None:
        self.where = f"[functions.{name}]: "
        if not isinstance(body, dict):
            self.fail(name, "must be a table")
        for key, value in body.items():
            if key not in FUNCTION_KEYS:
                self.fail(key, f"is not a function key (known: {', '.join(FUNCTION_KEYS)})")
            if key in ("helpers", "params", "returns", "open_return", "globals", "takes_results_of") and not _str_list(value):
                self.fail(key, f"{_q(value)} is not a list of names")
            if key == "rename_credit" and not (_is_number(value) and 0 <= value <= 1):
                self.fail(key, f"{_q(value)} is not a number between 0 and 1")
            if key == "variants":
                self.variants_of(name, value)
            if key == "given" and not isinstance(value, bool):
                self.fail(key, f"{_q(value)} is not true or false")
            if key == "description" and not isinstance(value, str):
                self.fail(key, f"{_q(value)} is not a string")
        for part in body.get("open_return", []):
            if part not in body.get("returns", []):
                self.fail("open_return", f"{_q(part)} is not one of the function's returns {_q(body.get('returns', []))}")
        for producer in body.get("takes_results_of", []):
            if producer not in functions or producer == name:
                self.fail("takes_results_of", f"{_q(producer)} is not another function declared under [functions]")
        for helper in body.get("helpers", []):
            if helper not in functions:
                self.fail("helpers", f"{_q(helper)} is not declared under [functions]")
            if helper == name:
                self.fail("helpers", f"{_q(helper)} is the function itself")

    def variants_of(self, name: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail("variants", "must be a list of tables { method|function = NAME, kwargs = {...} }")
        for variant in value:
            for key in variant:
                if key not in VARIANT_KEYS:
                    self.fail(f"variants.{key}", f"is not a variant key (known: {', '.join(VARIANT_KEYS)})")
            kind = "method" if "." in name else "function"
            if not (isinstance(variant.get(kind), str) and variant[kind].isidentifier()) or len(set(variant) & {"method", "function"}) != 1:
                self.fail("variants", f"each variant of {_q(name)} names one {kind} (a Python name)")
            if not isinstance(variant.get("kwargs", {}), dict) or not all(k.isidentifier() for k in variant.get("kwargs", {})):
                self.fail("variants.kwargs", "must be a table of name = value")

    # -------------------------------------------------------------- one check

    def check(self, c: dict, position: int, functions: dict) -> None:
        unknown = [k for k in c if k not in CHECK_KEYS]
        if unknown:
            self.fail(unknown[0], f"is not a check key (known: {', '.join(CHECK_KEYS)})")
        for key in ("name", "function", "points"):
            if key not in c:
                self.fail(key, "is missing")
        for key in ("name", "note"):
            if key in c and not isinstance(c[key], str):
                self.fail(key, f"{_q(c[key])} is not a string")
        function = c["function"]
        if not isinstance(function, str) or function not in functions:
            self.fail("function", f"{_q(function)} is not declared under [functions]")
        is_method = "." in function
        if not _is_number(c["points"]) or c["points"] < 0:
            self.fail("points", f"{_q(c['points'])} is not a non-negative number")
        for key in ("seed", "call_seed"):
            if key in c and not (_is_int(c[key]) and 0 <= c[key] < 2**32):
                self.fail(key, f"{_q(c[key])} is not an integer seed (0 to 2**32 - 1)")
        if "repeat" in c and not (_is_int(c["repeat"]) and c["repeat"] >= 1):
            self.fail("repeat", f"{_q(c['repeat'])} is not a positive integer")
        for key in ("rtol", "atol"):
            if key in c and not (_is_number(c[key]) and c[key] >= 0):
                self.fail(key, f"{_q(c[key])} is not a non-negative number")
        if "timeout" in c and not (_is_number(c["timeout"]) and c["timeout"] > 0):
            self.fail("timeout", f"{_q(c['timeout'])} is not a positive number of seconds")
        if "dtype" in c and c["dtype"] not in DTYPE_POLICIES:
            self.fail("dtype", f"{_q(c['dtype'])} is not one of {', '.join(DTYPE_POLICIES)}")
        if "optional" in c and not isinstance(c["optional"], bool):
            self.fail("optional", f"{_q(c['optional'])} is not true or false")
        if "visibility" in c and c["visibility"] not in VISIBILITIES:
            self.fail("visibility", f"{_q(c['visibility'])} is not one of {', '.join(VISIBILITIES)}")
        self.compare_parts(c, is_method)
        names = self.let(c.get("let", {}))
        for key in ("args", "ref_args", "init"):
            if key in c:
                self.names_in(key, c[key], names)
        for key in ("kwargs", "attrs", "globals"):
            if key in c:
                if not isinstance(c[key], dict):
                    self.fail(key, f"{_q(c[key])} is not a table of name = value")
                for name, value in c[key].items():
                    if not name.isidentifier():
                        self.fail(key, f"{_q(name)} is not a Python name")
                    self.names_in(f"{key}.{name}", value, names)
        for key in ("read_globals", "read_attrs"):
            if key in c and not (_str_list(c[key]) and all(n.isidentifier() for n in c[key])):
                self.fail(key, f"{_q(c[key])} is not a list of Python names")
        if not is_method:
            for key in ("init", "attrs", "read_attrs"):
                if key in c:
                    self.fail(key, f"is only for a Class.method check, and {_q(function)} is a function")
        self.bank_names(c, function)

    def compare_parts(self, c: dict, is_method: bool) -> None:
        parts = c.get("compare", ["return"])
        parts = parts if isinstance(parts, list) else [parts]
        if not parts:
            self.fail("compare", "is empty: name at least one of " + ", ".join(COMPARE_PARTS))
        for part in parts:
            if part not in COMPARE_PARTS:
                self.fail("compare", f"{_q(part)} is not one of {', '.join(COMPARE_PARTS)}")
        if "globals" in parts and not c.get("read_globals"):
            self.fail("compare", "\"globals\" needs read_globals (the globals to read back)")
        if "attrs" in parts and not c.get("read_attrs"):
            self.fail("compare", "\"attrs\" needs read_attrs (the attributes to read back)")

    def let(self, let: Any) -> list[str]:
        if not isinstance(let, dict):
            self.fail("let", "must be a table of name = { gen = ... }")
        table = generator_keys()
        made: list[str] = []
        for name, gen in let.items():
            key = f"let.{name}"
            if not name.isidentifier():
                self.fail(key, "is not a Python name")
            if isinstance(gen, dict):
                kind = gen.get("gen")
                if kind not in table:
                    self.fail(f"{key}.gen", f"{_q(kind)} is not a generator (known: {', '.join(table)})")
                required, optional = table[kind]
                for arg in gen:
                    if arg not in required | optional:
                        known = ", ".join(sorted(required | optional - {"gen"}))
                        self.fail(f"{key}.{arg}", f"is not read by generator {_q(kind)} (it reads: {known})")
                for arg in sorted(required):
                    if arg not in gen:
                        self.fail(key, f"generator {_q(kind)} needs {arg}")
                for arg, value in gen.items():
                    self.generator_arg(f"{key}.{arg}", arg, value, made)
            made.append(name)
        return made

    def generator_arg(self, key: str, arg: str, value: Any, made: list[str]) -> None:
        if arg == "shape":
            if not (isinstance(value, list) and all(_is_int(v) and v > 0 for v in value)):
                self.fail(key, f"{_q(value)} is not a list of positive integers")
        elif arg in ("n", "classes"):
            if not (_is_int(value) and value > 0):
                self.fail(key, f"{_q(value)} is not a positive integer")
        elif arg in ("scale", "loc", "low", "high"):
            if not _is_number(value):
                self.fail(key, f"{_q(value)} is not a number")
        elif arg == "fraction":
            if not (_is_number(value) and 0 <= value <= 1):
                self.fail(key, f"{_q(value)} is not a number between 0 and 1")
        elif arg in ("seed", "index"):
            if not (_is_int(value) and (arg == "index" or 0 <= value < 2**32)):
                self.fail(key, f"{_q(value)} is not an integer")
        elif arg == "layout":
            if value not in LAYOUTS:
                self.fail(key, f"{_q(value)} is not one of {', '.join(LAYOUTS)}")
        elif arg in ("array", "as_list", "as_tuple"):
            if not isinstance(value, bool):
                self.fail(key, f"{_q(value)} is not true or false")
        elif arg == "dtype":
            try:
                ok = isinstance(value, str) and np.dtype(value) is not None
            except (TypeError, ValueError):
                ok = False
            if not ok:
                self.fail(key, f"{_q(value)} is not a numpy dtype")
        elif arg in ("labels", "of"):
            if value not in made:
                self.fail(key, f"{_q(value)} is not an input made before it in let (made so far: {', '.join(made) or 'none'})")
        elif arg == "function":
            if not isinstance(value, str) or (self.reference and not hasattr(self.reference, value)):
                self.fail(key, f"{_q(value)} is not a function of the reference module {self.raw['reference']}")
        elif arg == "args":
            self.names_in(key, value, made)

    def names_in(self, key: str, value: Any, names: list[str]) -> None:
        """Strings that look like names must be `let` names.

        inputs.resolve() turns a string bound in `let` into its value and passes any other
        string on as text, so a misspelt name would silently become a string argument. A
        string that is not a Python name ("tiny-images.idx3-ubyte") stays a literal.
        """
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.names_in(f"{key}[{i}]", item, names)
        elif isinstance(value, dict):
            self.fail(key, "is a table: write the input in let and pass its name")
        elif isinstance(value, str) and value.isidentifier() and value not in names:
            self.fail(key, f"{_q(value)} is not a name in let (names: {', '.join(names) or 'none'}); "
                      "for a text argument use let.NAME = { gen = \"const\", value = \"...\" }")

    def bank_names(self, c: dict, function: str) -> None:
        """accept ids, reference adapters and partial-credit functions exist, when the modules import."""
        accept = c.get("accept", [])
        if not _str_list(accept if isinstance(accept, list) else [accept]):
            self.fail("accept", f"{_q(accept)} is not a list of variant ids")
        if self.bank is not False:
            ids = [v.id for v in self.variants if v.kind == "accepted" and v.function == function]
            for ident in accept if isinstance(accept, list) else [accept]:
                if ident not in ids:
                    self.fail("accept", f"{_q(ident)} is not an accepted variant of {function} in bank.py "
                              f"(accepted: {', '.join(ids) or 'none'})")
        if "reference" in c:
            name = c["reference"]
            if not isinstance(name, str) or not name.isidentifier():
                self.fail("reference", f"{_q(name)} is not a name")
            modules = [self.reference, self.bank]
            if all(m is not False for m in modules) and not any(m and hasattr(m, name) for m in modules):
                self.fail("reference", f"{_q(name)} is neither in {self.raw['reference']} nor in bank.py")
        if "partial" in c:
            partial = c["partial"]
            if not isinstance(partial, dict):
                self.fail("partial", "must be a table { function = \"...\", points = ... }")
            for key in partial:
                if key not in PARTIAL_KEYS:
                    self.fail(f"partial.{key}", f"is not a partial-credit key (known: {', '.join(PARTIAL_KEYS)})")
            if not isinstance(partial.get("function"), str):
                self.fail("partial.function", "must name a partial-credit function in bank.py")
            if not (_is_number(partial.get("points")) and partial["points"] >= 0):
                self.fail("partial.points", f"{_q(partial.get('points'))} is not a non-negative number")
            if self.bank is not False and not callable(getattr(self.bank, partial["function"], None)):
                self.fail("partial.function", f"{_q(partial['function'])} is not a function in bank.py")


def _show(path: Path) -> str:
    """The spec's path relative to the working directory when it is under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_bank(folder: Path, assignment_id: str):
    """An assignment's bank.py as a module (cached by assignment id), or None when there is none."""
    path = folder / "bank.py"
    if not path.exists():
        return None
    name = f"_grader_bank_{assignment_id.replace('-', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module_spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a half-run bank must not be served from the cache later
        raise
    return module


def _parse_check(raw: dict, position: int) -> Check:
    """A check table, already validated by _Checker, as a Check."""
    visibility = str(raw.get("visibility", "visible"))
    return Check(
        name=str(raw["name"]),
        function=str(raw["function"]),
        points=float(raw["points"]),
        seed=int(raw.get("seed", position)),
        let=dict(raw.get("let", {})),
        args=_tuple(raw.get("args")),
        kwargs=dict(raw.get("kwargs", {})),
        init=_tuple(raw.get("init")),
        attrs=dict(raw.get("attrs", {})),
        globals=dict(raw.get("globals", {})),
        read_globals=_tuple(raw.get("read_globals")),
        read_attrs=_tuple(raw.get("read_attrs")),
        compare=_tuple(raw.get("compare", "return")),
        call_seed=raw.get("call_seed"),
        repeat=int(raw.get("repeat", 1)),
        rtol=float(raw.get("rtol", 1e-6)),
        atol=float(raw.get("atol", 1e-8)),
        dtype=str(raw.get("dtype", "float")),
        timeout=raw.get("timeout"),
        accept=_tuple(raw.get("accept")),
        partial=dict(raw.get("partial", {})),
        reference=raw.get("reference"),
        ref_args=_tuple(raw["ref_args"]) if "ref_args" in raw else None,
        note=str(raw.get("note", "")),
        visibility=visibility,
        optional=bool(raw.get("optional", False)),
    )


def load_spec(assignment_id: str | os.PathLike[str], root: Path | None = None) -> Spec:
    """Read and check assignments/<id>/spec.toml (or FOLDER/spec.toml when given a folder Path)."""
    if isinstance(assignment_id, os.PathLike):
        folder = Path(assignment_id)
        assignment_id = folder.name
        if not (folder / "spec.toml").exists():
            raise SpecError(f"{folder}: no spec.toml in this folder")
    else:
        folder = (root or ASSIGNMENTS_DIR) / assignment_id
    path = folder / "spec.toml"
    if not path.exists():
        known = ", ".join(list_assignments(root)) or "none"
        raise SpecError(f"unknown assignment {assignment_id!r} (known: {known})")
    raw_bytes = path.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{_show(path)}: {exc}") from None
    _Checker(path, raw, folder, assignment_id).spec()  # every key, by value: one line per problem
    digest = hashlib.sha256(raw_bytes)
    if (folder / "bank.py").exists():
        digest.update((folder / "bank.py").read_bytes())
    if isinstance(raw.get("handout"), str):
        digest.update((folder / raw["handout"]).read_bytes())
    functions = tuple(
        Function(
            name=name,
            helpers=_tuple(body.get("helpers")),
            params=_tuple(body.get("params")),
            returns=_tuple(body.get("returns")),
            given=bool(body.get("given", False)),
            description=str(body.get("description", "")),
            open_return=_tuple(body.get("open_return")),
            variants=tuple(dict(v) for v in body.get("variants", ())),
            rename_credit=float(body.get("rename_credit", 1.0)),
            globals=_tuple(body.get("globals")),
            takes_results_of=_tuple(body.get("takes_results_of")),
        )
        for name, body in raw.get("functions", {}).items()
    )
    given = {fn.name for fn in functions if fn.given}
    checks = tuple(_parse_check(c, i) for i, c in enumerate(raw.get("check", [])))
    # Never charge for the handout: a given function's checks and an optional extension's count 0.
    checks = tuple(replace(c, points=0.0) if (c.optional or c.function in given) else c for c in checks)
    try:
        manual_items = parse_manual_review(raw.get("manual_review"), str(path))
    except RubricError as exc:
        raise SpecError(str(exc)) from None
    return Spec(
        id=str(raw.get("id", assignment_id)),
        title=str(raw.get("title", assignment_id)),
        version=str(raw.get("version", "1")),
        reference=str(raw["reference"]),
        folder=folder,
        functions=functions,
        checks=checks,
        identify=_tuple(raw.get("identify")),
        manual_review=tuple(item.text for item in manual_items),
        manual_items=manual_items,
        data_files=_tuple(raw.get("data_files")),
        handout=str(raw.get("handout", "")),
        digest=f"{raw.get('version', '1')}-{digest.hexdigest()[:12]}",
    )


def list_assignments(root: Path | None = None) -> list[str]:
    folder = root or ASSIGNMENTS_DIR
    return sorted(p.name for p in folder.iterdir() if (p / "spec.toml").exists()) if folder.exists() else []


def guess_assignment(defined_names: set[str], hint: str | None, root: Path | None = None) -> str | None:
    """The assignment a notebook is for: its metadata hint, else the best overlap of identifying names."""
    known = list_assignments(root)
    if hint in known:
        return hint
    best, best_score = None, 0.0
    for assignment in known:
        spec = load_spec(assignment, root)
        wanted = set(spec.identify) or {fn.name.split(".")[0] for fn in spec.functions}
        score = len(wanted & defined_names) / max(len(wanted), 1)
        if score > best_score:
            best, best_score = assignment, score
    return best if best_score >= 0.5 else None
