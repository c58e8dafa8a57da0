"""An assignment's own code (its reference and its bank), loaded from its folder, wherever that is.

A course's folder holds `reference.py` (or a `reference/` package) and `bank.py` beside its
spec.toml; nothing of it has to be on sys.path or inside this repository. Modules are cached by
their file's path and content, never by assignment id: two folders that share an id (a course's
copy of a bundled assignment) never see each other's code.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def module_file(folder: Path, name: str) -> Path | None:
    """`name`.py or `name`/__init__.py beside the spec, or None (then `name` is an importable module)."""
    if not name or "." in name:
        return None
    for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def source_digest(path: Path) -> str:
    """The code of a module file (a package: every .py under it), for the spec's digest."""
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def load_file(path: Path, prefix: str) -> ModuleType:
    """Execute a module file once per (path, content); a failure leaves nothing cached."""
    key = hashlib.sha256(f"{path.resolve()}\0{source_digest(path)}".encode()).hexdigest()[:16]
    name = f"_grader_{prefix}_{key}"
    if name in sys.modules:
        return sys.modules[name]
    package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_reference(folder: Path, name: str) -> ModuleType:
    """The reference named by a spec: a module beside it first, else an importable module of that name."""
    path = module_file(folder, name)
    return load_file(path, "reference") if path is not None else importlib.import_module(name)


def sibling(file: str, name: str = "reference") -> ModuleType:
    """From a bank.py: the module `name` beside it (`ref = sibling(__file__)`), the same object grading uses."""
    return load_reference(Path(file).resolve().parent, name)
