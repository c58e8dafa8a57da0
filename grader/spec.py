"""Assignment specs: what is graded, with which inputs, tolerances and points.

A spec is data: `assignments/<id>/spec.toml`, read with tomllib into frozen
dataclasses and checked once, so a typo in a spec is an error at load time
with the file and key named, not a surprise in the middle of a batch. Code
lives only where behaviour needs it: the reference module the spec names and
the assignment's mistake bank (`bank.py`).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"


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
    "dtype": "dtype policy: 'float' (any float), 'float32', 'float64', 'int', 'any'",
    "timeout": "seconds the call may take",
    "accept": "accepted alternative implementations in bank.py (pass with a note)",
    "partial": "behavioural partial credit when values differ: {kind, points}",
    "reference": "reference callable when it differs from `function` (adapters in bank.py)",
    "ref_args": "reference arguments when they differ from `args`",
    "note": "a sentence shown with the check",
    "visibility": "who sees the check: 'visible' (default; in the student kit), 'after_due' (students see it after the deadline), 'hidden' (instructor only)",
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
    given: bool = False  # the handout gives its code: never a sign of copying
    description: str = ""


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
    manual_review: tuple[str, ...] = ()
    data_files: tuple[str, ...] = ()  # extra files copied into the sandbox, relative to the folder
    digest: str = ""  # hash of spec.toml and bank.py: part of "graded with the same spec"

    @property
    def max_score(self) -> float:
        return float(sum(check.points for check in self.checks))

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        return Function(name)

    def checks_for(self, name: str) -> list[Check]:
        return [check for check in self.checks if check.function == name]

    def points_for(self, name: str) -> float:
        return float(sum(check.points for check in self.checks_for(name)))

    def reference_module(self):
        return importlib.import_module(self.reference)

    def bank_module(self):
        """The assignment's bank.py (mistakes and accepted variants), or None."""
        path = self.folder / "bank.py"
        if not path.exists():
            return None
        name = f"_grader_bank_{self.id.replace('-', '_')}"
        if name in sys.modules:
            return sys.modules[name]
        loader = importlib.machinery.SourceFileLoader(name, str(path))
        module_spec = importlib.util.spec_from_loader(name, loader)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module


def _tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _parse_check(raw: dict, position: int, where: str) -> Check:
    unknown = set(raw) - set(CHECK_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(CHECK_KEYS)})")
    for key in ("name", "function", "points"):
        if key not in raw:
            raise SpecError(f"{where}: missing key {key!r}")
    visibility = str(raw.get("visibility", "visible"))
    if visibility not in VISIBILITIES:
        raise SpecError(f"{where}: visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
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
    )


def load_spec(assignment_id: str, root: Path | None = None) -> Spec:
    """Read and check assignments/<id>/spec.toml."""
    folder = (root or ASSIGNMENTS_DIR) / assignment_id
    path = folder / "spec.toml"
    if not path.exists():
        known = ", ".join(list_assignments(root)) or "none"
        raise SpecError(f"unknown assignment {assignment_id!r} (known: {known})")
    raw_bytes = path.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    digest = hashlib.sha256(raw_bytes)
    if (folder / "bank.py").exists():
        digest.update((folder / "bank.py").read_bytes())
    functions = tuple(
        Function(
            name=name,
            helpers=_tuple(body.get("helpers")),
            params=_tuple(body.get("params")),
            returns=_tuple(body.get("returns")),
            given=bool(body.get("given", False)),
            description=str(body.get("description", "")),
        )
        for name, body in raw.get("functions", {}).items()
    )
    checks = tuple(_parse_check(c, i, f"{path} check {i + 1}") for i, c in enumerate(raw.get("check", [])))
    names = {fn.name for fn in functions}
    for check in checks:
        if check.function not in names:
            raise SpecError(f"{path}: check {check.name!r} grades {check.function!r}, which is not under [functions]")
    for fn in functions:
        for helper in fn.helpers:
            if helper not in names:
                raise SpecError(f"{path}: helper {helper!r} of {fn.name} is not a graded function")
    return Spec(
        id=str(raw.get("id", assignment_id)),
        title=str(raw.get("title", assignment_id)),
        version=str(raw.get("version", "1")),
        reference=str(raw["reference"]),
        folder=folder,
        functions=functions,
        checks=checks,
        identify=_tuple(raw.get("identify")),
        manual_review=_tuple(raw.get("manual_review")),
        data_files=_tuple(raw.get("data_files")),
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
