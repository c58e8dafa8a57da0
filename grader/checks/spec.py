"""Assignment specs: what is graded, with which inputs, tolerances and points.

A spec is data: `assignments/<id>/spec.toml`, read with tomllib into frozen
dataclasses and checked once, so a typo in a spec is an error at load time
with the file and key named, not a surprise in the middle of a batch. Code
lives only where behaviour needs it: the reference module the spec names and
the assignment's mistake bank (`bank.py`).

The keys are declared once, in grader/checks/speckeys.py (kind, default, docs); their
validation is grader/checks/validate.py; this module finds, reads and loads specs.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from grader.checks import modules
from grader.checks.rubric import ManualItem, RubricError, parse_manual_review
# Re-exported: the names callers have always imported from grader.checks.spec.
from grader.checks.speckeys import (CHECK_FIELDS, CHECK_KEYS, COMPARE_PARTS, FUNCTION_DOCS, FUNCTION_FIELDS,  # noqa: F401
                                    FUNCTION_KEYS, LAYOUTS, NO_DEFAULT, PARTIAL_KEYS, SPEC_KEYS, TOP_KEYS, VARIANT_KEYS,
                                    VISIBILITIES, Check, Function)
from grader.checks.validate import Checker, SpecError, generator_keys, show  # noqa: F401

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ASSIGNMENTS_DIR = Path(__file__).resolve().parents[2] / "assignments"


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    version: str
    reference: str  # module path
    folder: Path
    functions: tuple[Function, ...]
    checks: tuple[Check, ...]
    identify: tuple[str, ...]
    manual_review: tuple[str, ...]  # the texts of manual_items (what Result.manual_review holds)
    manual_items: tuple[ManualItem, ...]  # the same items with points, rubric and where to find them
    data_files: tuple[str, ...]  # extra files copied into the sandbox, relative to the folder
    handout: str  # file (relative to the folder) with the handout's own code: given code and template stubs
    digest: str  # hash of spec.toml, bank.py and the handout: part of "graded with the same spec"
    meanings: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (spec parameter, words that mean it in a student's signature)

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
        """The reference: `reference.py` (or a package) beside spec.toml, else an importable module of that name."""
        return modules.load_reference(self.folder, self.reference)

    def bank_module(self):
        """The assignment's bank.py (mistakes and accepted variants), or None."""
        return _load_bank(self.folder)


def _load_bank(folder: Path):
    """An assignment's bank.py as a module (cached by its path and content, never by id), or None."""
    path = folder / "bank.py"
    return modules.load_file(path, "bank") if path.exists() else None


def _importable(load: Callable[[], Any]) -> Any:
    """The module, or False when it cannot be imported (then names in it are not checked)."""
    try:
        return load()
    except Exception:
        return False


# ------------------------------------------------------------------ reading, by the declared keys


def _given(keys: dict, table: dict) -> dict[str, Any]:
    """The keys a table gives, each read by its kind; what it leaves out takes the declared default."""
    return {name: declared.kind.read(table[name]) for name, declared in keys.items() if name in table}


def _parse_check(raw: dict, position: int) -> Check:
    """A check table, already validated, as a Check (its seed defaults to its position)."""
    return Check(**{"seed": position, **_given(CHECK_FIELDS, raw)})


def _parse_function(name: str, body: dict) -> Function:
    """A [functions.NAME] table, already validated, as a Function."""
    return Function(name=name, **_given(FUNCTION_FIELDS, body))


def _top(raw: dict, folder_name: str) -> dict[str, Any]:
    """The keys at the top of the file, read, with their defaults (id and title: the folder's name)."""
    values = {name: declared.default for name, declared in SPEC_KEYS.items() if declared.default is not NO_DEFAULT}
    values.update(id=folder_name, title=folder_name)
    values.update(_given(SPEC_KEYS, raw))
    return values


def _read_toml(path: Path) -> tuple[bytes, dict]:
    raw_bytes = path.read_bytes()
    try:
        return raw_bytes, tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{show(path)}: {exc}") from None


def _digest(folder: Path, raw_bytes: bytes, raw: dict) -> str:
    """The spec's version and a hash of spec.toml, bank.py, the handout and a reference kept beside them."""
    digest = hashlib.sha256(raw_bytes)
    if (folder / "bank.py").exists():
        digest.update((folder / "bank.py").read_bytes())
    if isinstance(raw.get("handout"), str):
        digest.update((folder / raw["handout"]).read_bytes())
    beside = modules.module_file(folder, str(raw.get("reference", "")))
    if beside is not None:
        digest.update(modules.source_digest(beside).encode())
    return f"{raw.get('version', '1')}-{digest.hexdigest()[:12]}"


def search_path(root: Path | None = None) -> list[Path]:
    """Where assignments are found by id: GRADER_ASSIGNMENTS (DIR1:DIR2, set by --assignments too), then the bundled ones."""
    if root is not None:
        return [root]
    extra = [Path(p).expanduser() for p in os.environ.get("GRADER_ASSIGNMENTS", "").split(os.pathsep) if p]
    return [*extra, ASSIGNMENTS_DIR]


def is_folder_name(name: str) -> bool:
    """`-a mycourse/hw1`, `-a ./hw1`, `-a /abs/hw1`: a folder, not an id."""
    return os.sep in name or name.startswith(".") or (Path(name) / "spec.toml").is_file()


def _spec_folder(assignment_id: str | os.PathLike[str], root: Path | None) -> tuple[Path, str]:
    """The assignment's folder and the name it goes by; SpecError when it has no spec.toml."""
    if isinstance(assignment_id, os.PathLike) or (root is None and is_folder_name(str(assignment_id))):
        folder = Path(assignment_id).resolve()
        if not (folder / "spec.toml").exists():
            raise SpecError(f"{assignment_id}: no spec.toml in this folder")
        return folder, folder.name
    for where in search_path(root):
        folder = where / assignment_id
        if (folder / "spec.toml").exists():
            return folder, assignment_id
    known = ", ".join(list_assignments(root)) or "none"
    raise SpecError(f"unknown assignment {assignment_id!r} (known: {known})")


def load_spec(assignment_id: str | os.PathLike[str], root: Path | None = None) -> Spec:
    """Read and check assignments/<id>/spec.toml (or FOLDER/spec.toml when given a folder Path)."""
    folder, assignment_id = _spec_folder(assignment_id, root)
    path = folder / "spec.toml"
    raw_bytes, raw = _read_toml(path)
    reference = _importable(lambda: modules.load_reference(folder, str(raw.get("reference"))))
    bank = _importable(lambda: _load_bank(folder))
    Checker(path, raw, reference, bank).spec()  # every key, by value: one line per problem
    top = _top(raw, assignment_id)
    functions = tuple(_parse_function(name, body) for name, body in top["functions"].items())
    given = {fn.name for fn in functions if fn.given}
    checks = tuple(_parse_check(c, i) for i, c in enumerate(top["check"]))
    # Never charge for the handout: a given function's checks and an optional extension's count 0.
    checks = tuple(replace(c, points=0.0) if (c.optional or c.function in given) else c for c in checks)
    try:
        manual_items = parse_manual_review(raw.get("manual_review"), str(path))
    except RubricError as exc:
        raise SpecError(str(exc)) from None
    return Spec(
        id=top["id"], title=top["title"], version=top["version"], reference=top["reference"], folder=folder,
        functions=functions, checks=checks, identify=top["identify"],
        manual_review=tuple(item.text for item in manual_items), manual_items=manual_items,
        data_files=top["data_files"], handout=top["handout"], digest=_digest(folder, raw_bytes, raw),
        meanings=tuple(sorted(top["meanings"].items())),
    )


def list_assignments(root: Path | None = None) -> list[str]:
    """Every assignment id on the search path (an id found twice is the first folder's)."""
    found = {p.name for where in search_path(root) if where.is_dir() for p in where.iterdir() if (p / "spec.toml").exists()}
    return sorted(found)


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
