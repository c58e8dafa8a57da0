"""What an assignment folder still lacks, as a checklist a person can work through (`grader selftest -a DIR`).

Each item is one line: a guessed input still marked `# TODO` in spec.toml, a graded function
without a check, a function the reference does not define, a bank without a mistake, a missing
solution notebook. A spec that does not load at all is one item: its error.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.checks import bank
from grader.checks.spec import Spec, SpecError, load_spec

_TODO = re.compile(r"#\s*TODO\b:?\s*(?P<why>.*)$")


def checklist(assignment: str | Path) -> list[str]:
    """Items still to do for this assignment; [] when it is complete."""
    try:
        spec = load_spec(Path(assignment)) if Path(assignment).is_dir() else load_spec(str(assignment))
    except SpecError as exc:
        return [f"spec.toml does not load: {exc}"]
    items = _todos(spec)
    graded = [fn for fn in spec.functions if not fn.given]
    items += [f"{fn.name}: no check yet (add a [[check]] with function = \"{fn.name}\")"
              for fn in graded if not spec.checks_for(fn.name)]
    try:
        reference = spec.reference_module()
    except Exception as exc:  # noqa: BLE001 - the course's own code: say what broke, in one line
        items.append(f"the reference {spec.reference!r} does not import: {type(exc).__name__}: {exc}")
    else:
        items += [f"{fn.name}: the reference defines no {fn.name.split('.')[0]}" for fn in graded
                  if not hasattr(reference, fn.name.split(".")[0])]
    module = spec.bank_module()
    mistakes = [v for v in bank.variants(module) if v.kind == "mistake"] if module else []
    if not mistakes:
        items.append("bank.py: no mistake yet (write the errors students really make; each must be caught and named)")
    if not (spec.folder / "solution.ipynb").is_file():
        items.append("solution.ipynb: missing (the selftest grades it, `grader release` makes the student notebook from it)")
    return items


def _todos(spec: Spec) -> list[str]:
    items = []
    check_name = ""
    for number, line in enumerate((spec.folder / "spec.toml").read_text(encoding="utf-8").splitlines(), start=1):
        name = re.match(r'\s*name\s*=\s*"(?P<name>[^"]*)"', line)
        if name:
            check_name = name.group("name")
        todo = _TODO.search(line)
        if todo and not line.lstrip().startswith("#"):
            where = f"check {check_name!r}" if check_name else "spec.toml"
            items.append(f"{where}, line {number}: {line.split('=', 1)[0].strip()} is a guess ({todo.group('why') or 'TODO'})")
    return items
