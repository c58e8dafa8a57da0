"""`grader selftest`: the grader proves itself on every assignment, through the whole pipeline.

1. The solution notebook, run top to bottom, earns full marks.
2. The released student notebook runs without crashing the grader, and every
   function it leaves unwritten earns zero.
3. Every accepted variant in the bank, written into the solution, earns full marks.
4. Every banked mistake, written into the solution in place of the right
   function, is caught (its function loses points) and named (a failing test
   carries its id, or a generic diagnosis it declares).

Variants run with --defs-only: the definitions are what is being tested.
"""
from __future__ import annotations

import functools

import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from grader.checks import bank
from grader.pipeline.grade import Grader, Options
from grader.kit.release import student_notebook
from grader.result import Result
from grader.author.checklist import checklist
from grader.checks.spec import Spec, load_spec


@dataclass(frozen=True)
class Case:
    assignment: str
    label: str  # "solution", "released", or a variant id
    kind: str  # "solution" | "released" | "accepted" | "mistake"
    function: str
    path: str
    named_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    case: Case
    ok: bool
    caught: bool
    named: bool
    message: str
    score: float
    max_score: float


def write_variant_notebook(solution: nbformat.NotebookNode, variant: bank.Variant, folder: Path) -> Path:
    nb = nbformat.from_dict(solution)
    nb.cells.append(nbformat.v4.new_code_cell(variant.source()))
    path = folder / f"{variant.id}.ipynb"
    nbformat.write(nb, path)
    return path


def make_cases(spec: Spec, folder: Path, quick: bool) -> list[Case]:
    solution_path = spec.folder / "solution.ipynb"
    solution = nbformat.read(solution_path, as_version=4)
    released = folder / f"{spec.id}-released.ipynb"
    nbformat.write(student_notebook(solution, spec.id), released)
    where = str(spec.folder)  # every process loads this very folder, never another assignment of the same id
    cases = [Case(where, "solution", "solution", "", str(solution_path)), Case(where, "released", "released", "", str(released))]
    if quick:
        return cases
    for variant in bank.variants(spec.bank_module()):
        path = write_variant_notebook(solution, variant, folder)
        cases.append(Case(where, variant.id, variant.kind, variant.function, str(path), variant.named_by))
    return cases


def judge_case(case: Case, result: Result, spec: Spec) -> Verdict:
    if case.kind in ("solution", "accepted"):
        ok = result.score == result.max_score
        lost = [f"{t.function}: {t.output.splitlines()[-1] if t.output else t.status}" for t in result.tests if t.score < t.max_score]
        return Verdict(case, ok, False, False, "full marks" if ok else "lost points: " + "; ".join(lost[:3]), result.score, result.max_score)
    if case.kind == "released":
        stubbed = {t.function for t in result.tests if t.diagnosis in ("not-implemented", "not-attempted")}
        leaked = [t.function for t in result.tests if t.function in stubbed and t.score > 0]
        ok = not leaked and result.execution.status != "crashed" and bool(stubbed)
        message = f"{len(stubbed)} unwritten functions, all at zero" if ok else f"points for unwritten functions: {leaked}" if leaked else f"execution {result.execution.status}"
        return Verdict(case, ok, False, False, message, result.score, result.max_score)
    # A given function or an optional check is worth no points but is still checked: a failing test catches it.
    failing = [t for t in result.tests if t.function == case.function and (t.score < t.max_score or t.status != "passed")]
    caught = bool(failing)
    names = {t.diagnosis for t in failing}
    named = case.label in names or bool(names & set(case.named_by))
    if not caught:
        message = f"NOT CAUGHT: {case.function} passed every check"
    elif not named:
        message = f"caught but NOT NAMED (diagnoses: {sorted(n for n in names if n)})"
    else:
        message = "caught and named"
    return Verdict(case, caught and named, caught, named, message, result.score, result.max_score)


def _grade_case(case: Case, options: Options | None = None) -> tuple[Case, dict]:
    spec = load_spec(case.assignment)
    options = replace(options or Options(), defs_only=case.kind in ("mistake", "accepted"))
    result = Grader(spec, options).grade(case.path, case.label)
    return case, result.to_dict()


def run_selftest(assignments: list[str], quick: bool = False, workers: int = 1, stream=None, options: Options | None = None,
                 keep: dict | None = None) -> bool:
    """Run every case; print a check-power table; True when everything behaved.
    `keep`, when given, receives each graded case as {(assignment id, label): (Case, Result)}."""
    from grader.result import result_from_dict

    out = stream or sys.stdout
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="grader-selftest-") as tmp:
        for assignment in assignments:
            todo = checklist(assignment)
            if todo:
                all_ok = False
                print(f"\n== {assignment}: still to do", file=out)
                for item in todo:
                    print(f"  [ ] {item}", file=out)
                if any(item.startswith(("spec.toml does not load", "the reference")) for item in todo):
                    continue  # nothing can be graded with it yet
            spec = load_spec(assignment)
            folder = Path(tmp) / spec.id
            folder.mkdir()
            cases = make_cases(spec, folder, quick)
            started = time.perf_counter()
            if workers > 1:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    graded = list(pool.map(functools.partial(_grade_case, options=options), cases))
            else:
                graded = [_grade_case(case, options) for case in cases]
            results = [(case, result_from_dict(data)) for case, data in graded]
            if keep is not None:
                keep.update({(spec.id, case.label): (case, result) for case, result in results})
            verdicts = [judge_case(case, result, spec) for case, result in results]
            all_ok &= print_table(spec, verdicts, time.perf_counter() - started, out)
    return all_ok


def print_table(spec: Spec, verdicts: list[Verdict], seconds: float, out) -> bool:
    print(f"\n== {spec.id}: {len(verdicts)} notebooks graded in {seconds:.1f} s", file=out)
    for v in verdicts:
        if v.case.kind in ("solution", "released", "accepted"):
            mark = "ok  " if v.ok else "FAIL"
            print(f"  {mark} {v.case.kind:<9} {v.case.label:<34} {v.score:g}/{v.max_score:g}  {v.message}", file=out)
    mistakes = [v for v in verdicts if v.case.kind == "mistake"]
    if mistakes:
        print(f"\n  check power ({spec.id}): mistakes caught and named, per graded function", file=out)
        print(f"  {'function':<30} {'banked':>6} {'caught':>6} {'named':>6}", file=out)
        for fn in spec.functions:
            mine = [v for v in mistakes if v.case.function == fn.name]
            if mine:
                print(f"  {fn.name:<30} {len(mine):>6} {sum(v.caught for v in mine):>6} {sum(v.named for v in mine):>6}", file=out)
        total = len(mistakes)
        print(f"  {'total':<30} {total:>6} {sum(v.caught for v in mistakes):>6} {sum(v.named for v in mistakes):>6}", file=out)
        for v in mistakes:
            if not v.ok:
                print(f"  FAIL {v.case.label}: {v.message}", file=out)
    ok = all(v.ok for v in verdicts)
    print(f"  {'PASS' if ok else 'FAIL'}: {spec.id}", file=out)
    return ok
