"""The keys of a spec.toml, each declared once: its kind, its default and a line of documentation.

A check key and a function key are a field of `Check` or `Function`, made with `key()`:
the field's default is the key's default, and its metadata holds the `Key` (kind and doc).
The keys at the top of the file are the table `SPEC_KEYS`. From these declarations come
the docs (`markdown()`, the README's key tables), the validation of a value by its kind
(grader/checks/validate.py) and the reading of a spec into dataclasses (grader/checks/spec.py).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from grader.checks.compare import DEFAULT_ATOL, DEFAULT_DTYPE, DEFAULT_RTOL, DTYPE_POLICIES
from grader.checks.laws import LAWS

VISIBILITIES = ("visible", "after_due", "hidden")
COMPARE_PARTS = ("return", "globals", "attrs")
VARIANT_KEYS = ("method", "function", "kwargs")
PARTIAL_KEYS = ("function", "points")
LAYOUTS = ("columns", "rows")


# ------------------------------------------------------------------ values


def quoted(value: Any) -> str:
    """A value as it would be written in the spec (strings in double quotes)."""
    if isinstance(value, str) and len(value) > 78:
        value = value[:75] + "..."
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 or isinstance(value, str) else text[:77] + "..."


def is_int(value: Any) -> bool:
    """An integer, not a bool (TOML's true is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_str_list(value: Any) -> bool:
    """A list of strings."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def as_tuple(value: Any) -> tuple:
    """A list as a tuple; one value as a tuple of one (compare = "return")."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _same(value: Any) -> Any:
    return value


# ------------------------------------------------------------------ kinds


@dataclass(frozen=True)
class Kind:
    """What a key's value must be: how the docs name it, a test with the problem it reports, how it is read."""

    name: str  # the type as the docs show it
    test: Callable[[Any], bool] | None = None  # None: validate.Checker checks it with its context (let, bank, files)
    problem: str = ""  # said after the quoted value when the test fails
    read: Callable[[Any], Any] = _same  # the given value -> the dataclass's value

    def problem_with(self, value: Any) -> str | None:
        """The one-line problem with a given value, or None when the kind's own test passes (or has none)."""
        return None if self.test is None or self.test(value) else f"{quoted(value)} {self.problem}"


def choice(options: tuple[str, ...]) -> Kind:
    """One of a few strings."""
    return Kind(" or ".join(json.dumps(o) for o in options), lambda v: isinstance(v, str) and v in options,
                f"is not one of {', '.join(options)}", str)


TEXT = Kind("string", lambda v: isinstance(v, str), "is not a string", str)
LABEL = Kind("string", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool), "is not a string", str)
STRINGS = Kind("list of strings", is_str_list, "is not a list of strings", as_tuple)
NAMES = Kind("list of names", is_str_list, "is not a list of names", as_tuple)
PYNAMES = Kind("list of Python names", lambda v: is_str_list(v) and all(n.isidentifier() for n in v),
               "is not a list of Python names", as_tuple)
NONNEGATIVE = Kind("number >= 0", lambda v: is_number(v) and v >= 0, "is not a non-negative number", float)
FRACTION = Kind("number from 0 to 1", lambda v: is_number(v) and 0 <= v <= 1, "is not a number between 0 and 1", float)
SEED = Kind("integer from 0 to 2**32 - 1", lambda v: is_int(v) and 0 <= v < 2**32,
            "is not an integer seed (0 to 2**32 - 1)", int)
COUNT = Kind("integer >= 1", lambda v: is_int(v) and v >= 1, "is not a positive integer", int)
SECONDS = Kind("number > 0", lambda v: is_number(v) and v > 0, "is not a positive number of seconds")  # kept as written
FLAG = Kind("true or false", lambda v: isinstance(v, bool), "is not true or false", bool)
# Checked by validate.Checker, against the rest of the spec, the reference module or the bank:
MODULE = Kind("module path")
FILE = Kind("file next to the spec", read=str)
ITEMS = Kind("list of items (grader/checks/rubric.py)")
FUNCTION_TABLES = Kind("tables [functions.NAME]")
CHECK_TABLES = Kind("[[check]] tables")
GRADED = Kind("name under [functions]", read=str)
INPUTS = Kind("table of name = { gen = ... }", read=dict)
CALL_ARGS = Kind("list of `let` names or literals", read=as_tuple)
CALL_TABLE = Kind("table of name = `let` name or literal", read=dict)
PARTS = Kind("list of " + ", ".join(json.dumps(p) for p in COMPARE_PARTS), read=as_tuple)
VARIANT_IDS = Kind("list of variant ids in bank.py", read=as_tuple)
ADAPTER = Kind("name in the reference or bank.py")
PARTIAL = Kind("table { function, points }", read=dict)
DRAWS = Kind("table of name = { law = " + " or ".join(json.dumps(law) for law in LAWS) + ", ... }", read=dict)
MEANINGS = Kind("table of parameter = [words]", lambda v: isinstance(v, dict) and all(isinstance(k, str) and is_str_list(w) for k, w in v.items()),
                "is not a table of parameter = [words]", lambda v: {k: tuple(w) for k, w in v.items()})
VARIANTS = Kind("list of { method|function = NAME, kwargs = {...} }", read=lambda v: tuple(dict(x) for x in v))


# ------------------------------------------------------------------ keys


class _NoDefault:
    """The default of a key that has none (dataclasses' own MISSING cannot be a field's value)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Key:
    """One key of a spec: what its value must be, its default, and a line of documentation."""

    kind: Kind
    doc: str
    default: Any = NO_DEFAULT  # NO_DEFAULT: required, unless `default_doc` says where the value comes from
    default_doc: str = ""  # the default as the docs say it, when it is not a plain value
    method_only: bool = False  # only for a Class.method check

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT and not self.default_doc


def key(kind: Kind, doc: str, default: Any = NO_DEFAULT, *, default_doc: str = "", method_only: bool = False) -> Any:
    """A dataclass field that is a spec key: the field's default is the key's, the Key rides in its metadata."""
    meta = {"key": Key(kind, doc, default, default_doc, method_only)}
    if default is NO_DEFAULT:
        return field(metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)  # a fresh table for every check
    return field(default=default, metadata=meta)


def keys_of(cls: type) -> dict[str, Key]:
    """The spec keys of a dataclass, in declaration order (the order the docs and "known: ..." list them)."""
    return {f.name: f.metadata["key"] for f in fields(cls) if "key" in f.metadata}


@dataclass(frozen=True)
class Check:
    """One [[check]]: a call of a graded function on seeded inputs, how its result is compared, its points."""

    name: str = key(TEXT, "what the check verifies, as a student reads it")
    function: str = key(GRADED, "graded name: a function, or Class.method")
    points: float = key(NONNEGATIVE, "points for passing")
    seed: int = key(SEED, "seed of the input generators", default_doc="the check's position")
    let: dict[str, Any] = key(INPUTS, "named inputs, made in order by generators (see grader/checks/inputs.py)", {})
    args: tuple = key(CALL_ARGS, "positional arguments: names from `let`, or literals", ())
    kwargs: dict[str, Any] = key(CALL_TABLE, "keyword arguments, same forms", {})
    init: tuple = key(CALL_ARGS, "constructor arguments", (), method_only=True)
    attrs: dict[str, Any] = key(CALL_TABLE, "attributes set on the instance before the call", {}, method_only=True)
    globals: dict[str, Any] = key(CALL_TABLE, "names set in the student's namespace before the call", {})
    read_globals: tuple[str, ...] = key(PYNAMES, "globals read back after the call", ())
    read_attrs: tuple[str, ...] = key(PYNAMES, "instance attributes read back after the call", (), method_only=True)
    compare: tuple[str, ...] = key(PARTS, "what is compared: the return value, globals read back, attributes read back", ("return",))
    call_seed: int | None = key(SEED, "numpy global RNG seed set just before both calls (training functions)", None,
                                default_doc="not set")
    repeat: int = key(COUNT, "call it this many times in a row (e.g. a few training steps); the last return is compared", 1)
    draws: dict[str, Any] = key(DRAWS, "a random initialiser: each drawn array (an attribute in `read_attrs`, an item of "
                                "`returns`, or \"return\") judged by the law the handout asks, not against the reference's "
                                "values; " + "; ".join(f"{law}: {doc[0]}" + (f" ({', '.join(doc[1])})" if doc[1] else "")
                                                       for law, doc in LAWS.items())
                                + "; with `repeat` >= 2, two calls in a row must not draw the same values", {})
    rtol: float = key(NONNEGATIVE, "relative tolerance", DEFAULT_RTOL)
    atol: float = key(NONNEGATIVE, "absolute tolerance", DEFAULT_ATOL)
    dtype: str = key(choice(tuple(DTYPE_POLICIES)), "dtype policy (DTYPE_POLICIES in grader/checks/compare.py)", DEFAULT_DTYPE)
    timeout: float | None = key(SECONDS, "seconds the call may take", None, default_doc="the per-call limit of the run")
    accept: tuple[str, ...] = key(VARIANT_IDS, "accepted alternative implementations in bank.py (pass with a note)", ())
    partial: dict[str, Any] = key(PARTIAL, "behavioural partial credit when values differ: {function (in bank.py), points}", {})
    reference: str | None = key(ADAPTER, "reference callable when it differs from `function` (adapters in bank.py)", None,
                                default_doc="`function`")
    ref_args: tuple | None = key(CALL_ARGS, "reference arguments when they differ from `args`", None, default_doc="`args`")
    note: str = key(TEXT, "a sentence shown with the check", "")
    visibility: str = key(choice(VISIBILITIES), "who sees the check: 'visible' (in the student kit), 'after_due' "
                          "(students see it after the deadline), 'hidden' (instructor only)", "visible")
    optional: bool = key(FLAG, "an optional extension of the handout: checked and reported, never charged (its points count 0)",
                         False)

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
    """A graded function ([functions.NAME]): how the handout asks for it, what it may call."""

    name: str  # the table's name, not a key
    helpers: tuple[str, ...] = key(NAMES, "graded names it may call: when one fails its own checks, a retry puts the "
                                   "reference's in its place", ())
    params: tuple[str, ...] = key(NAMES, "the signature the handout asks for: arguments are matched to the student's "
                                  "parameters by these names", ())
    returns: tuple[str, ...] = key(NAMES, "names of the items it returns as a tuple, for feedback", ())
    given: bool = key(FLAG, "the handout gives its code: checked, so breaking it is named, but never worth points", False)
    description: str = key(TEXT, "a sentence about the function", "")
    open_return: tuple[str, ...] = key(NAMES, "the handout leaves the return form open: a tuple, list or dict holding "
                                       "these parts of `returns` passes", ())
    variants: tuple[dict, ...] = key(VARIANTS, "known variants of the handout's own API, tried when the name is absent", ())
    rename_credit: float = key(FRACTION, "fraction of the points for a function found under another name", 1.0)
    globals: tuple[str, ...] = key(NAMES, "module globals it reads or sets: a retry's reference stand-in reads and "
                                   "writes them too", ())
    per_sample: tuple[str, ...] = key(NAMES, "parameters that carry a batch, one sample per row: a function of the "
                                      "student's own written for one sample is called on each row in turn, each held "
                                      "to the reference's answer for that row", ())
    takes_results_of: tuple[str, ...] = key(NAMES, "graded functions whose results a student's own signature may take "
                                            "instead of computing them (003's back_propagation(forward_res, y)): such a "
                                            "parameter gets the student's own function's results on the check's inputs", ())


CHECK_FIELDS = keys_of(Check)
FUNCTION_FIELDS = keys_of(Function)
SPEC_KEYS: dict[str, Key] = {
    "id": Key(LABEL, "the assignment's id, e.g. \"shallow-backprop\"", default_doc="the folder's name"),
    "title": Key(LABEL, "a line naming the assignment", default_doc="the folder's name"),
    "version": Key(LABEL, "the spec's version: part of \"graded with the same spec\"", "1"),
    "reference": Key(MODULE, "the reference module, e.g. \"reference.shallow_backprop\""),
    "identify": Key(STRINGS, "names whose definitions identify a notebook as this assignment's", (),
                    default_doc="the graded functions' names"),
    "manual_review": Key(ITEMS, "what a person grades: texts, or [[manual_review]] tables with points and rubric", ()),
    "data_files": Key(STRINGS, "extra files copied into the sandbox, relative to the folder", ()),
    "meanings": Key(MEANINGS, "words that mean a spec parameter in a student's own signature (`bias1` for b): "
                    "parameters are bound by these as by the spec's own names, and behaviour decides", {}),
    "handout": Key(FILE, "file with the handout's own code: given functions and template stubs", ""),
    "functions": Key(FUNCTION_TABLES, "the graded functions, [functions.NAME] (keys below)", {}),
    "check": Key(CHECK_TABLES, "the checks, [[check]] (keys below)", []),
}

# The names earlier code and the docs use: key -> its line of documentation.
CHECK_KEYS = {name: k.doc for name, k in CHECK_FIELDS.items()}
FUNCTION_DOCS = {name: k.doc for name, k in FUNCTION_FIELDS.items()}
FUNCTION_KEYS = tuple(FUNCTION_FIELDS)
TOP_KEYS = tuple(SPEC_KEYS)


# ------------------------------------------------------------------ docs

MARKDOWN_START = "<!-- spec keys: generated by grader/checks/speckeys.py, markdown() -->"
MARKDOWN_END = "<!-- end of spec keys -->"


def _shown_default(k: Key) -> str:
    if k.default_doc:
        return k.default_doc
    if k.default is NO_DEFAULT:
        return "required"
    value = list(k.default) if isinstance(k.default, tuple) else k.default
    return f"`{json.dumps(value)}`"


def _table(title: str, keys: dict[str, Key]) -> list[str]:
    rows = [f"**{title}**", "", "| key | value | default | meaning |", "|---|---|---|---|"]
    for name, k in keys.items():
        doc = k.doc + (" (Class.method checks only)" if k.method_only else "")
        cells = [f"`{name}`", k.kind.name, _shown_default(k), doc]
        rows.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")  # a "|" would end the cell
    return rows + [""]


def markdown() -> str:
    """The README's tables of spec keys, made from the declarations (tests keep the README equal to it)."""
    lines = [MARKDOWN_START, ""]
    lines += _table("Top of spec.toml", SPEC_KEYS)
    lines += _table("[functions.NAME]", FUNCTION_FIELDS)
    lines += _table("[[check]]", CHECK_FIELDS)
    lines += _manual_table()
    return "\n".join(lines + [MARKDOWN_END])


def _manual_table() -> list[str]:
    """The keys of a [[manual_review]] table, from ManualItem's fields (grader/checks/rubric.py)."""
    from dataclasses import MISSING

    from grader.checks.rubric import ManualItem

    rows = ["**[[manual_review]]** (or a plain string: the text alone)", "", "| key | default | meaning |", "|---|---|---|"]
    for f in fields(ManualItem):
        default = "required" if f.name == "text" else ("from the text" if f.name in ("id", "find") or f.default is MISSING else f"`{json.dumps(list(f.default) if isinstance(f.default, tuple) else f.default)}`")
        rows.append(f"| `{f.name}` | {default} | {f.metadata['doc'].replace('|', '/')} |")
    return rows + [""]
