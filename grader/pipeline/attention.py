"""What a person must know about a submission, beside its points: attention entries and copy flags.

A mixin of the Grader (it reads the grader's spec, handout and reference). Copy flags are raised
only where copying explains more than the task does: a function whose own code (what it adds to
the handout's closest definition) is short, or that is the handout's code, is nobody's copy.
"""
from __future__ import annotations

import inspect

from grader.notebook.definitions import defined_functions
from grader.notebook.fingerprint import function_fingerprint, similarity
from grader.notebook.integrity import loaded_files
from grader.notebook.load import Notebook, load_notebook
from grader.pipeline.stops import Stop, lost_definitions
from grader.result import Attention, IntegrityFlag

MIN_FINGERPRINT = 240  # characters of the student's own normalised code below which similarity proves nothing


class ForAPerson:
    """Attention entries and copy flags (mixed into grader.pipeline.grade.Grader)."""

    def attention(self, nb: Notebook, defined: dict, scored: list, stops: list[Stop]) -> tuple[Attention, ...]:
        """Why a person should read this submission (issue 11 item 4)."""
        found: list[Attention] = []
        wanted = [fn.name for fn in self.spec.functions if not fn.given]
        by_own_name = [n for n in wanted if n in defined]
        discovered = sorted({a.found_as for _, a, _ in scored if a.found_as})
        # a function found by behaviour and passing is graded as well as one under its own name
        found_passing = {p.check.function for p, a, _ in scored if a.found_as and a.verdict and a.verdict.passed} - set(by_own_name)
        if wanted and len(by_own_name) + len(found_passing) < len(wanted) / 2:
            what = "no graded function is" if not by_own_name else f"only {len(by_own_name)} of {len(wanted)} graded functions are"
            more = f"; found under other names: {', '.join(discovered)}" if discovered else ", and none was found under another name"
            found.append(Attention("off-template", f"{what} defined under the handout's names{more}: it was written outside the released notebook, a person should grade it"))
        entry = self.stop_entry(nb, stops)
        if entry:
            found.append(entry)
        renamed = sorted({f"{p.check.function} as `{a.found_as}`" for p, a, _ in scored if a.found_as and a.verdict and a.verdict.passed})
        renamed += sorted({f"{p.check.function} as {a.variant}" for p, a, _ in scored if a.variant})
        if renamed:
            found.append(Attention("renamed", "accepted under another name: " + "; ".join(renamed)))
        reshaped = sorted({p.check.function for p, a, _ in scored if a.verdict and a.verdict.diagnosis == "open-return"})
        reordered = sorted({p.check.function for p, a, _ in scored if a.notes and not a.bound})
        bound = sorted({f"{p.check.function} as {a.bound}" for p, a, _ in scored if a.bound and a.verdict and a.verdict.passed})
        if reshaped or reordered or bound:
            parts = ([f"return form accepted for {', '.join(reshaped)}"] if reshaped else []) + ([f"arguments matched by name for {', '.join(reordered)}"] if reordered else [])
            parts += [f"its own parameters bound by meaning (check how): {'; '.join(bound)}"] if bound else []
            found.append(Attention("reshaped", "; ".join(parts)))
        for cell, path, names in loaded_files(nb):
            what = f" (defines {', '.join(names)})" if names else ""
            found.append(Attention("solution-loaded", f"cell {cell}: %load {path} ran its code{what}; a person decides what is the student's"))
        return tuple(found)

    def stop_entry(self, nb: Notebook, stops: list[Stop]) -> Attention | None:
        """The first top-level stop that was not the student's, or that kept a graded definition from running.

        A stop of the machine's or the data's always gets an entry (it is never the student's fault);
        the student's own crash gets one only where the definitions-only pass recovered something.
        """
        wanted = {part for fn in self.spec.functions if not fn.given for part in (fn.name.split(".")[0], fn.name.split(".")[-1])}
        sources = {c.index: c.source for c in nb.code_cells()}
        for stop in stops:
            lost = lost_definitions(stop, sources.get(stop.outcome.index, ""), wanted)
            if stop.whose == "student" and not lost:
                continue
            where = f"cell {stop.outcome.index}" + (f", line {stop.line} (`{stop.statement}`)" if stop.statement else "")
            whose = {"machine": "for a reason of the grading machine, not of the student",
                     "data": "because of the data set the grader chose, not of the student",
                     "student": "on the student's own error"}[stop.whose]
            recovered = f": {', '.join(lost)} and the other definitions after it were graded anyway" if lost else ": the definitions after it were graded anyway"
            return Attention("defs-only-fallback", f"{where} stopped {whose} ({stop.reason}){recovered} (a definitions-only pass)")
        return None

    def copy_flags(self, defined: dict) -> tuple[IntegrityFlag, ...]:
        """Graded functions whose code is the reference's or the solution's, up to names and formatting."""
        flags = []
        for fn in self.spec.functions:
            if fn.given or fn.name not in defined:
                continue
            mine = defined[fn.name][-1]
            own = self.handout.own_code_length(mine.source)
            if own < MIN_FINGERPRINT or own < len(function_fingerprint(mine.source)) / 2:
                continue  # what it adds to the handout is too short (or mostly the handout's) to tell copying apart
            if self.handout.is_handout_code(fn.name, mine.source):
                continue  # the handout's own code (or what it dictates line by line) is nobody's copy
            for label, source in self.official_sources(fn.name):
                score = similarity(mine.source, source, at_least=0.99)
                if score >= 0.99:
                    flags.append(IntegrityFlag(f"matches-{label}", f"cell {mine.cell}: {fn.name} is the {label} solution's code up to names and formatting (similarity {score:.2f})"))
                    break
        return tuple(flags)

    def official_sources(self, name: str) -> list[tuple[str, str]]:
        if self._official is None:
            self._official = {}
            for fn in self.spec.functions:
                found = []
                ref = getattr(self.reference, fn.name, None)
                if callable(ref):
                    try:
                        found.append(("reference", inspect.getsource(ref)))
                    except (OSError, TypeError):
                        pass
                self._official[fn.name] = found
            solution = self.spec.folder / "solution.ipynb"
            if solution.exists():
                for fname, definitions in defined_functions(load_notebook(solution)).items():
                    if fname in self._official:
                        self._official[fname].append(("handout", definitions[-1].source))
        return self._official.get(name, [])
