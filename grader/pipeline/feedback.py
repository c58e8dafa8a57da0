"""A check's test result: its points decided by grader.checks.judging.decide, then its feedback in words.

Deciding (status, score, diagnosis) happens in one place, shared with the student kit; this module
only gathers the facts `decide` needs and writes what the student reads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.checks.judging import Decision, decide
from grader.checks.spec import Spec
from grader.notebook.cells import unparsable_cells
from grader.notebook.definitions import close_names, globals_in_place_of_params, module_variables
from grader.notebook.load import Notebook
from grader.result import CellOutcome, TestResult
from grader.scoring.attempts import Attempt
from grader.pipeline.probes import Probe, describe_call, no_partial_for, partial_credit


@dataclass
class Feedback:
    """Test results for one submission; says why a function is missing in full once, then "see above"."""

    spec: Spec
    notebook: Notebook | None
    defined: dict
    outcomes: list[CellOutcome]
    unexplained: set[str] = field(default_factory=set)  # functions whose absence is not yet explained

    def __post_init__(self) -> None:
        self.unexplained = {fn.name for fn in self.spec.functions}
        self.variables = module_variables(self.notebook) if self.notebook else {}  # the notebook's top-level data

    def test_result(self, probe: Probe, attempt: Attempt, helper_note: str) -> TestResult:
        """The check's TestResult: points from `decide`, then the feedback lines."""
        check, outcome, verdict = probe.check, attempt.outcome, attempt.verdict
        credit = None  # behavioural partial credit, asked of the bank only for a failed call that ran
        if verdict is not None and not verdict.passed and verdict.diagnosis != "not-attempted" and outcome.status == "ok" and check.partial:
            credit = partial_credit(self.spec, probe, outcome)
        redefinition = self.redefinition_note(check.function, attempt) if verdict is not None and verdict.diagnosis != "not-attempted" else ""
        decision = decide(verdict, outcome.status, check.points,
                          share=self.spec.function(check.function).rename_credit if attempt.found_as else 1.0,
                          partial=credit[0] if credit else None, no_partial=no_partial_for(self.spec) if credit else (),
                          other_signature=bool(redefinition) and self.other_signature(check.function))
        if verdict is None:  # nothing to call under any name
            return TestResult(check.name, check.function, decision.status, decision.score, check.points, self.missing_once(check.function),
                              decision.diagnosis, visibility=check.visibility)
        if verdict.diagnosis == "not-attempted":
            return TestResult(check.name, check.function, decision.status, decision.score, check.points, verdict.message, decision.diagnosis,
                              visibility=check.visibility)
        call = describe_call(check, attempt.payload)
        if attempt.found_as:
            call = call.replace(f"{check.function}(", f"{attempt.found_as}(", 1)
        lines = self.lines(probe, attempt, decision, call, helper_note, credit[1] if credit else "", redefinition)
        if not verdict.passed:
            lines.append(self.global_note(check.function, attempt))
        details = dict(verdict.details, call=call)
        if attempt.found_as:
            details["found_as"] = attempt.found_as
        if attempt.variant:
            details["api_variant"] = attempt.variant
        if outcome.traceback:
            details["traceback"] = outcome.traceback
        return TestResult(name=check.name, function=check.function, status=decision.status, score=decision.score, max_score=check.points,
                          output="\n".join(line for line in lines if line), diagnosis=decision.diagnosis, details=details,
                          visibility=check.visibility)

    @staticmethod
    def lines(probe: Probe, attempt: Attempt, decision: Decision, call: str, helper_note: str, credit_text: str, redefinition: str) -> list[str]:
        """The feedback lines of a check that was called: how it was called, what came of it, and why."""
        check, outcome, verdict = probe.check, attempt.outcome, attempt.verdict
        lines = []
        if attempt.found_as:
            lines.append(f"found as `{attempt.found_as}`: {check.function} is not defined, and {attempt.found_as} behaves like it")
        if attempt.variant:
            lines.append(f"accepted as {attempt.variant}, a known variant of the handout's own API")
        lines += attempt.notes
        if verdict.passed:
            lines.append(verdict.message or "matches the reference")
        else:
            if helper_note.startswith("With the reference"):
                # the retry found the function's own mistake (its diagnosis): that leads, the helper's error follows
                lines += [f"called {call}", helper_note, f"(with your own helpers it stopped earlier: {verdict.message})"]
            else:
                lines += [f"called {call}", verdict.message, helper_note]
            if decision.partial:
                lines.append(credit_text)
            last = outcome.traceback.strip().splitlines()[-1] if outcome.traceback.strip() else ""
            if last and last not in verdict.message and verdict.diagnosis != "not-implemented":
                lines.append(last)
        if redefinition:
            lines.append(redefinition)
        if check.optional and not verdict.passed:
            lines.append("optional: reported, not charged")
        if check.note:
            lines.append(check.note)
        return lines

    def global_note(self, name: str, attempt: Attempt) -> str:
        """Why a function that computes on the notebook's globals fails on the inputs it is given."""
        definitions = self.defined.get(attempt.found_as or name, [])
        chosen = [d for d in definitions if d.cell == attempt.call.get("definition")] or definitions[-1:]
        pairs = globals_in_place_of_params(chosen[0], self.variables) if chosen else []
        said = {param: variable for variable, param in reversed(pairs)}  # the first global named like each parameter
        return "; ".join(f"{name} never uses its parameter `{param}` but reads the notebook's global `{variable}` (set in cell "
                         f"{self.variables[variable]}): it computes on the notebook's data, not on the inputs it is given"
                         for param, variable in said.items())

    def other_signature(self, name: str) -> bool:
        """Whether the last definition of `name` has parameters other than the handout's."""
        wanted = self.spec.function(name).params
        return bool(wanted) and tuple(self.defined[name][-1].params) != tuple(wanted)

    def missing_once(self, name: str) -> str:
        """Why ``name`` is missing, in full for its first test; "see above" for the others."""
        if name in self.unexplained:
            self.unexplained.discard(name)
            return self.missing_text(name)
        return f"{name} is missing (see above)"

    def missing_text(self, name: str) -> str:
        """Why `name` could not be called: a failed cell, a SyntaxError, or never defined (with close names)."""
        base = name.split(".")[0]
        if base in self.defined:
            cell = self.defined[base][-1].cell
            failed = [o for o in self.outcomes if o.index == cell and o.status != "ok"]
            if failed:
                return f"{base} is defined in cell {cell}, but that cell failed ({failed[0].error}), so it never existed"
        pattern = re.compile(rf"^\s*(def|class)\s+{re.escape(base)}\b", re.M)
        for cell, message in unparsable_cells(self.notebook) if self.notebook else []:
            source = next((c.source for c in self.notebook.cells if c.index == cell), "")
            if pattern.search(source):
                return f"{base} is written in cell {cell}, but that cell has a SyntaxError ({message}), so it never ran"
        text = f"{name} is not defined in the notebook"
        params = self.spec.function(name).params
        hints = close_names(name, params or None, self.defined)
        if hints:
            text += "; did you mean: " + "; ".join(hints)
        return text

    def redefinition_note(self, name: str, attempt: Attempt | None = None) -> str:
        """A function defined more than once: which definition was graded."""
        definitions = self.defined.get(name, [])
        if len(definitions) < 2:
            return ""
        if attempt is not None and "definition" in attempt.call:
            cell = attempt.call["definition"]
            return (f"{name} is defined {len(definitions)} times; the graded one is your own (cell {cell}): a later cell "
                    f"({definitions[-1].cell}) holds the handout's code")
        last = definitions[-1]
        others = ", ".join(str(d.cell) for d in definitions[:-1])
        return f"{name} is defined {len(definitions)} times; the last definition (cell {last.cell}, parameters ({', '.join(last.params)})) is the one graded (earlier: cell {others})"
