"""Validate a spec by value when it loads: a typo in any key is one clear line, never a free pass.

A typo such as dtype = "flaot" or compare = ["retrun"] must not turn a check into a free
pass. The kinds of the keys (grader/checks/speckeys.py) give each value's own test; what
depends on the rest of the spec (names made in `let`, graded names under [functions], the
reference module, the bank, files next to the spec) is checked here. The first problem is
raised as one SpecError line naming the file, the check and the key.
"""
from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import inputs as input_gen
from grader.checks.laws import table_problem
from grader.checks.speckeys import (CALL_ARGS, CALL_TABLE, CHECK_FIELDS, COMPARE_PARTS, FUNCTION_FIELDS, LAYOUTS,
                                    PARTIAL_KEYS, SPEC_KEYS, VARIANT_KEYS, Key, is_int, is_number, is_str_list, quoted)


class SpecError(Exception):
    """A spec file is missing or malformed."""


def show(path: Path) -> str:
    """The spec's path relative to the working directory when it is under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@functools.lru_cache(maxsize=None)
def generator_keys() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """For each generator of grader/checks/inputs.py: the keys it requires and the keys it may read.

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


class Checker:
    """Collects nothing: the first problem found is raised as one SpecError line."""

    def __init__(self, path: Path, raw: dict, reference: Any, bank: Any) -> None:
        """`reference` and `bank` are modules; False when they cannot be imported (then names in them are not checked)."""
        self.path = path
        self.raw = raw
        self.reference = reference
        self.bank = bank
        # The bank's variants, unordered (bank.variants() sorts by source line, which is slow).
        self.variants = [v.__variant__ for v in vars(self.bank).values() if hasattr(v, "__variant__")] if self.bank else []
        self.where = ""

    def fail(self, key: str, problem: str) -> None:
        raise SpecError(f"{show(self.path)}: {self.where}{key} {problem}")

    def values(self, keys: dict[str, Key], table: dict) -> None:
        """Each given key's value by its kind's own test, in the order the keys are declared."""
        for name, declared in keys.items():
            if name in table:
                problem = declared.kind.problem_with(table[name])
                if problem:
                    self.fail(name, problem)

    # -------------------------------------------------------------- the file

    def spec(self) -> None:
        raw = self.raw
        for key in raw:
            if key not in SPEC_KEYS:
                self.fail(key, f"is not a spec key (known: {', '.join(SPEC_KEYS)})")
        if not isinstance(raw.get("reference"), str):
            self.fail("reference", "must name the reference module, e.g. \"reference.shallow_backprop\"")
        self.values(SPEC_KEYS, raw)  # manual_review: grader/checks/rubric.py checks it
        for name in raw.get("data_files", []):
            if not (self.path.parent / name).is_file():
                self.fail("data_files", f"{quoted(name)} is not a file next to the spec")
        if "handout" in raw and not (isinstance(raw["handout"], str) and (self.path.parent / raw["handout"]).is_file()):
            self.fail("handout", f"{quoted(raw['handout'])} is not a file next to the spec")
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
            self.where = f"check {i + 1}" + (f" ({quoted(name)})" if isinstance(name, str) else "") + ": "
            if not isinstance(check, dict):
                self.fail("[[check]]", "must be a table")
            self.check(check, functions)
        self.where = ""

    def function(self, name: str, body: Any, functions: dict) -> None:
        self.where = f"[functions.{name}]: "
        if not isinstance(body, dict):
            self.fail(name, "must be a table")
        for key, value in body.items():
            if key not in FUNCTION_FIELDS:
                self.fail(key, f"is not a function key (known: {', '.join(FUNCTION_FIELDS)})")
            self.values({key: FUNCTION_FIELDS[key]}, body)
            if key == "variants":
                self.variants_of(name, value)
        for part in body.get("open_return", []):
            if part not in body.get("returns", []):
                self.fail("open_return", f"{quoted(part)} is not one of the function's returns {quoted(body.get('returns', []))}")
        for producer in body.get("takes_results_of", []):
            if producer not in functions or producer == name:
                self.fail("takes_results_of", f"{quoted(producer)} is not another function declared under [functions]")
        for helper in body.get("helpers", []):
            if helper not in functions:
                self.fail("helpers", f"{quoted(helper)} is not declared under [functions]")
            if helper == name:
                self.fail("helpers", f"{quoted(helper)} is the function itself")

    def variants_of(self, name: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail("variants", "must be a list of tables { method|function = NAME, kwargs = {...} }")
        for variant in value:
            for key in variant:
                if key not in VARIANT_KEYS:
                    self.fail(f"variants.{key}", f"is not a variant key (known: {', '.join(VARIANT_KEYS)})")
            kind = "method" if "." in name else "function"
            if not (isinstance(variant.get(kind), str) and variant[kind].isidentifier()) or len(set(variant) & {"method", "function"}) != 1:
                self.fail("variants", f"each variant of {quoted(name)} names one {kind} (a Python name)")
            if not isinstance(variant.get("kwargs", {}), dict) or not all(k.isidentifier() for k in variant.get("kwargs", {})):
                self.fail("variants.kwargs", "must be a table of name = value")

    # -------------------------------------------------------------- one check

    def check(self, c: dict, functions: dict) -> None:
        unknown = [k for k in c if k not in CHECK_FIELDS]
        if unknown:
            self.fail(unknown[0], f"is not a check key (known: {', '.join(CHECK_FIELDS)})")
        for key, declared in CHECK_FIELDS.items():
            if declared.required and key not in c:
                self.fail(key, "is missing")
        function = c["function"]
        if not isinstance(function, str) or function not in functions:
            self.fail("function", f"{quoted(function)} is not declared under [functions]")
        self.values(CHECK_FIELDS, c)
        is_method = "." in function
        self.compare_parts(c, is_method)
        names = self.let(c.get("let", {}))
        self.call(c, names)
        if not is_method:
            for key, declared in CHECK_FIELDS.items():
                if declared.method_only and key in c:
                    self.fail(key, f"is only for a Class.method check, and {quoted(function)} is a function")
        self.bank_names(c, function)
        if "draws" in c:
            self.draws(c, functions.get(function, {}))

    def draws(self, c: dict, function: dict) -> None:
        """A `draws` table: laws as grader/checks/laws.py reads them, names the call can give back."""
        problem = table_problem(c["draws"])
        if problem:
            self.fail(*problem.split(" ", 1))
        known = set(c.get("read_attrs", [])) | set(c.get("read_globals", [])) | set(function.get("returns", [])) | {"return"}
        for name in c["draws"]:
            if name not in known:
                self.fail(f"draws.{name}", f"is not read back: name an attribute in read_attrs, a global in read_globals, "
                          f"an item of the function's returns, or \"return\"")

    def call(self, c: dict, names: list[str]) -> None:
        """The call's arguments, tables and globals: names in them must be made in `let`."""
        for key, declared in CHECK_FIELDS.items():
            if key in c and declared.kind is CALL_ARGS:
                self.names_in(key, c[key], names)
        for key, declared in CHECK_FIELDS.items():
            if key in c and declared.kind is CALL_TABLE:
                if not isinstance(c[key], dict):
                    self.fail(key, f"{quoted(c[key])} is not a table of name = value")
                for name, value in c[key].items():
                    if not name.isidentifier():
                        self.fail(key, f"{quoted(name)} is not a Python name")
                    self.names_in(f"{key}.{name}", value, names)

    def compare_parts(self, c: dict, is_method: bool) -> None:
        parts = c.get("compare", ["return"])
        parts = parts if isinstance(parts, list) else [parts]
        if not parts:
            self.fail("compare", "is empty: name at least one of " + ", ".join(COMPARE_PARTS))
        for part in parts:
            if part not in COMPARE_PARTS:
                self.fail("compare", f"{quoted(part)} is not one of {', '.join(COMPARE_PARTS)}")
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
                    self.fail(f"{key}.gen", f"{quoted(kind)} is not a generator (known: {', '.join(table)})")
                required, optional = table[kind]
                for arg in gen:
                    if arg not in required | optional:
                        known = ", ".join(sorted(required | optional - {"gen"}))
                        self.fail(f"{key}.{arg}", f"is not read by generator {quoted(kind)} (it reads: {known})")
                for arg in sorted(required):
                    if arg not in gen:
                        self.fail(key, f"generator {quoted(kind)} needs {arg}")
                for arg, value in gen.items():
                    self.generator_arg(f"{key}.{arg}", arg, value, made)
            made.append(name)
        return made

    def generator_arg(self, key: str, arg: str, value: Any, made: list[str]) -> None:
        if arg == "shape":
            if not (isinstance(value, list) and all(is_int(v) and v > 0 for v in value)):
                self.fail(key, f"{quoted(value)} is not a list of positive integers")
        elif arg in ("n", "classes"):
            if not (is_int(value) and value > 0):
                self.fail(key, f"{quoted(value)} is not a positive integer")
        elif arg in ("scale", "loc", "low", "high"):
            if not is_number(value):
                self.fail(key, f"{quoted(value)} is not a number")
        elif arg == "fraction":
            if not (is_number(value) and 0 <= value <= 1):
                self.fail(key, f"{quoted(value)} is not a number between 0 and 1")
        elif arg in ("seed", "index"):
            if not (is_int(value) and (arg == "index" or 0 <= value < 2**32)):
                self.fail(key, f"{quoted(value)} is not an integer")
        elif arg == "layout":
            if value not in LAYOUTS:
                self.fail(key, f"{quoted(value)} is not one of {', '.join(LAYOUTS)}")
        elif arg in ("array", "as_list", "as_tuple"):
            if not isinstance(value, bool):
                self.fail(key, f"{quoted(value)} is not true or false")
        elif arg == "dtype":
            try:
                ok = isinstance(value, str) and np.dtype(value) is not None
            except (TypeError, ValueError):
                ok = False
            if not ok:
                self.fail(key, f"{quoted(value)} is not a numpy dtype")
        elif arg in ("labels", "of"):
            if value not in made:
                self.fail(key, f"{quoted(value)} is not an input made before it in let (made so far: {', '.join(made) or 'none'})")
        elif arg == "function":
            if not isinstance(value, str) or (self.reference and not hasattr(self.reference, value)):
                self.fail(key, f"{quoted(value)} is not a function of the reference module {self.raw['reference']}")
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
            self.fail(key, f"{quoted(value)} is not a name in let (names: {', '.join(names) or 'none'}); "
                      "for a text argument use let.NAME = { gen = \"const\", value = \"...\" }")

    def bank_names(self, c: dict, function: str) -> None:
        """accept ids, reference adapters and partial-credit functions exist, when the modules import."""
        accept = c.get("accept", [])
        if not is_str_list(accept if isinstance(accept, list) else [accept]):
            self.fail("accept", f"{quoted(accept)} is not a list of variant ids")
        if self.bank is not False:
            ids = [v.id for v in self.variants if v.kind == "accepted" and v.function == function]
            for ident in accept if isinstance(accept, list) else [accept]:
                if ident not in ids:
                    self.fail("accept", f"{quoted(ident)} is not an accepted variant of {function} in bank.py "
                              f"(accepted: {', '.join(ids) or 'none'})")
        if "reference" in c:
            name = c["reference"]
            if not isinstance(name, str) or not name.isidentifier():
                self.fail("reference", f"{quoted(name)} is not a name")
            modules = [self.reference, self.bank]
            if all(m is not False for m in modules) and not any(m and hasattr(m, name) for m in modules):
                self.fail("reference", f"{quoted(name)} is neither in {self.raw['reference']} nor in bank.py")
        if "partial" in c:
            partial = c["partial"]
            if not isinstance(partial, dict):
                self.fail("partial", "must be a table { function = \"...\", points = ... }")
            for key in partial:
                if key not in PARTIAL_KEYS:
                    self.fail(f"partial.{key}", f"is not a partial-credit key (known: {', '.join(PARTIAL_KEYS)})")
            if not isinstance(partial.get("function"), str):
                self.fail("partial.function", "must name a partial-credit function in bank.py")
            if not (is_number(partial.get("points")) and partial["points"] >= 0):
                self.fail("partial.points", f"{quoted(partial.get('points'))} is not a non-negative number")
            if self.bank is not False and not callable(getattr(self.bank, partial["function"], None)):
                self.fail("partial.function", f"{quoted(partial['function'])} is not a function in bank.py")

