"""The terminal summary of one result: function by function, what works and why not."""
from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from grader.result import Result

MARKS = {"passed": "ok ", "failed": "XX ", "error": "XX ", "missing": "-- ", "timeout": "TO "}
COLORS = {"passed": "\033[32m", "failed": "\033[31m", "error": "\033[31m", "missing": "\033[33m", "timeout": "\033[31m"}
RESET = "\033[0m"

# Result.attention reasons in words, for the instructor's summary, the reports and the overview.
ATTENTION_WORDS = {
    "off-template": "written outside the released notebook",
    "defs-only-fallback": "graded from its definitions only",
    "renamed": "a function found under another name",
    "reshaped": "a return of another shape accepted",
    "solution-loaded": "loads the handout's solution",
    "unusable-input": "nothing could be graded",
    "ambiguous-candidates": "several guesses for a missing function",
}


def attention_words(reason: str) -> str:
    """'off-template' -> 'written outside the released notebook'; an unknown id -> its words ('new-thing' -> 'new thing')."""
    return ATTENTION_WORDS.get(reason) or reason.replace("-", " ").replace("_", " ")


def function_rows(result: Result) -> list[tuple[str, float, float, str, list]]:
    """(function, score, max, worst status, failing tests) in the spec's order."""
    rows: dict[str, list] = {}
    for test in result.tests:
        rows.setdefault(test.function, []).append(test)
    out = []
    for name, tests in rows.items():
        failing = [t for t in tests if t.status != "passed"]
        charged = [t for t in failing if t.max_score > 0] if any(t.max_score > 0 for t in tests) else failing
        status = charged[0].status if charged else "passed"  # an uncharged (optional) check shown below, not in the mark
        out.append((name, sum(t.score for t in tests), sum(t.max_score for t in tests), status, failing))
    return out


def print_summary(result: Result, color: bool = False, stream: TextIO | None = None, student: bool = False) -> None:
    """The instructor's summary; with `student`, only what a student may see (visible checks, no flags)."""
    out = stream or sys.stdout
    withheld = [t for t in result.tests if t.visibility != "visible"] if student else []
    if student:
        result = result.for_students()

    def paint(text: str, status: str) -> str:
        return f"{COLORS.get(status, '')}{text}{RESET}" if color else text

    ex = result.execution
    print(f"{result.assignment}: {result.notebook}", file=out)
    print(f"Score: {result.score:g} / {result.max_score:g}", file=out)
    line = f"Notebook ran: {ex.status} in {ex.seconds:.1f} s (isolation: {ex.isolation})"
    if ex.message:
        line += f" - {ex.message}"
    if ex.skipped:
        line += f"; lean run: {len(ex.skipped)} top-level statement{'s' if len(ex.skipped) != 1 else ''} that no graded function can observe not run"
    print(line, file=out)
    if result.attention and not student:  # for_students() drops them too; never on a student's screen
        print("\nA person should look at this submission because:", file=out)
        for entry in result.attention:
            text = f"{attention_words(entry.reason)} ({entry.reason}): {entry.detail}"
            print(textwrap.fill(text, 100, initial_indent="  - ", subsequent_indent="    "), file=out)
    print(file=out)
    for name, score, top, status, failing in function_rows(result):
        mark = paint(MARKS.get(status, "?? "), status)
        diagnosis = next((t.diagnosis for t in failing if t.diagnosis), "") or ""
        print(f"  {mark}{name:<30} {score:>5g} / {top:<5g} {diagnosis}", file=out)
        shown = set()
        for test in failing:
            text = test.output.strip()
            if text in shown:
                continue
            shown.add(text)
            print(f"       - {test.name}", file=out)
            for row in text.splitlines():
                print(textwrap.indent(textwrap.fill(row, 100, subsequent_indent="    "), "         "), file=out)
        notes = {t.output for t in result.tests if t.function == name and t.status == "passed" and t.diagnosis}
        for note in sorted(notes):
            print(f"         note: {note.splitlines()[0]}", file=out)
    cells = [c for c in ex.cells if c.status != "ok"]
    if cells:
        print(f"\nCells that did not run cleanly ({len(cells)}):", file=out)
        for cell in cells[:12]:
            print(f"  cell {cell.index}: {cell.status}: {cell.error}", file=out)
        if len(cells) > 12:
            print(f"  ... and {len(cells) - 12} more", file=out)
    if withheld:
        print(f"\n{len(withheld)} more check(s) ({sum(t.max_score for t in withheld):g} points) are graded by your instructor after submission.", file=out)
    if result.integrity and not student:
        print("\nFlags for the instructor:", file=out)
        for flag in result.integrity:
            print(f"  {flag.flag}: {flag.detail}", file=out)
    if result.manual_review:
        print(f"\nWritten answers read by a person ({len(result.manual_review)}): " + "; ".join(result.manual_review), file=out)
