"""Calls on a student's own signature, bound by meaning (grader/binding.py), for one submission's scoring.

A failing call of a function whose parameters are not the spec's is tried again with each parameter
bound from what the check provides; the first binding under which it passes is kept, and the
feedback says how the call was bound (grade.py raises `attention`: a person looks). Results of a
producer (`takes_results_of`) are the student's own: its function is called on the same inputs in
the same process, and what comes back (plain arrays only) is passed in. Nothing of the reference's
enters the student's process: the reference only tells which of the student's values is z1 or a3.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from grader.scoring import binding, layouts
from grader.checks.compare import Verdict
from grader.scoring.attempts import Attempt, arguments_by_name

MAX_CALLS = 600  # binding calls per submission (each bounded by the call limit, all by the notebook's): a hang must not multiply
CANNOT_TAKE_IT = {"wrong-shape", "wrong-size", "wrong-length", "wrong-type"}  # a batch, for a one-sample function (or it raises)
MAX_SAMPLES = 16  # rows of a batch check tried one at a time (spec key `per_sample`)


def _with_rows(payload: dict, params: tuple[str, ...], batch: list[str], row: int) -> dict:
    """The payload with each batch parameter (by position or keyword) replaced by its row `row`."""
    args = list(payload.get("args", []))
    kwargs = dict(payload.get("kwargs", {}))
    for p in batch:
        if p in kwargs:
            kwargs[p] = kwargs[p][row]
        elif params.index(p) < len(args):
            args[params.index(p)] = args[params.index(p)][row]
    return dict(payload, args=args, kwargs=kwargs)


@dataclass
class Produced:
    """A producer's results for one probe's inputs: the student's own value, and its parts found by value."""

    value: Any
    parts: dict[str, Any]
    shown: str  # the student's call, in words: "forward_pass_v2(x)"
    items: int = 0


@dataclass
class Rebinder:
    """Tries bindings by meaning for one Scoring (see the module's docstring)."""

    scoring: Any
    calls: int = 0
    first_failed: Attempt | None = None  # the surest binding's failing call, from the last attempt()
    produced: dict[tuple[int, str, bool], Produced | None] = field(default_factory=dict)

    def known(self, probe) -> tuple[dict[str, Any], list[str]]:
        """The check's inputs under the spec's parameter names, and their order."""
        fn = self.scoring.spec.function(probe.check.function)
        args = probe.payload.get("args", [])
        if len(args) > len(fn.params):
            return {}, []
        known = dict(zip(fn.params, args))
        known.update(probe.payload.get("kwargs", {}))
        return known, list(known)

    def attempt(self, index: int, probe, name: str, definition, base_call: dict, found_as: str = "", policy=None) -> Attempt | None:
        """The first binding under which `name` passes this probe, as an Attempt; else the first that earns the
        check's behavioural partial credit (a learning rate written into the function); None when none does.
        `policy` makes a fresh HelperPolicy: the reference's helpers in place of broken ones (a retry)."""
        self.first_failed = None
        fn = self.scoring.spec.function(probe.check.function)
        known, inputs = self.known(probe)
        if not inputs or probe.check.class_name:
            return None
        sig = binding.signature(definition.source, definition.params)
        if tuple(binding._norm(p) for p in sig.params) == tuple(binding._norm(p) for p in fn.params):
            return None  # the spec's own signature: the first pass already called it so
        globals_ = probe.payload.get("globals", {})
        producers, results, parts, shown = {}, {}, {}, {}
        for producer in fn.takes_results_of:
            made = self.produce(index, probe, producer, known, policy)
            if made is not None:
                producers[producer] = (made.items, tuple(made.parts))
                results[producer], parts[producer], shown[producer] = made.value, made.parts, made.shown
        data_names = [n for n in sig.reads if n not in self.scoring.defined]
        earning = None  # the first binding that earns the check's behavioural partial credit, when none passes
        steps = any(r in ("dW", "dw", "dw1") for r in fn.returns)  # its returns are gradients: a step's updates say them too
        found = binding.recipes(sig, inputs, list(globals_), producers, data_names, meanings=dict(self.scoring.spec.meanings),
                                returns_gradients=steps)
        plain = [(recipe, layouts.Layout()) for recipe in found]
        other = [(recipe, layout) for layout in layouts.OTHERS for recipe in found[:4]] if self._layouts_apply(fn, known) else []
        for recipe, layout in plain + other:
            if layout != layouts.Layout() and earning is None and self.first_failed is not None \
                    and self.first_failed.outcome.status == "ok" and self.first_failed.verdict.diagnosis not in CANNOT_TAKE_IT:
                break  # the handout's layout gave an answer of the right form: a wrong one is the student's mistake
            if binding.trivial(recipe, fn.params, sig, len(probe.payload.get("args", []))) and layout == layouts.Layout():
                continue
            if self.calls >= MAX_CALLS:
                return None
            self.calls += 1
            attempt = self.call_bound(name, recipe, layout, known, (results, parts, shown), globals_, sig, base_call, found_as, policy)
            if attempt is None:
                return None
            attempt = replace(attempt, verdict=self.scoring.judge(probe, attempt))
            if attempt.verdict.passed:
                return attempt
            if earning is None and self.scoring.partial_points(probe, attempt) > 0:
                earning = attempt
            self.first_failed = self.first_failed or attempt
        failed = self.first_failed
        if earning is None and not isinstance(index, tuple) \
                and (failed is None or failed.outcome.status != "ok" or failed.verdict.diagnosis in CANNOT_TAKE_IT):
            # only a function that cannot take the batch at all (nor its producer: no binding could be made);
            # one that answers it wrongly keeps its mistake
            earning = self.per_sample(index, probe, name, definition, base_call, found_as, policy)
            self.first_failed = failed
        return earning

    def call_bound(self, name: str, recipe, layout, known: dict, made: tuple, globals_: dict, sig, base_call: dict,
                   found_as: str, policy) -> Attempt | None:
        """One call of `name` under a binding and a layout, what it returns read in the handout's form (unjudged);
        None when the call hung, crashed or found nothing to call."""
        results, parts, shown = made
        payload, by_reference = binding.payload_for(recipe, known, results, parts, globals_)
        if layout != layouts.Layout():
            classes = len(known["c"]) if "c" in known else 0
            payload = dict(payload, kwargs={p: layouts.given_as(v, dict(recipe.binds).get(p), p, layout, classes)
                                            for p, v in payload["kwargs"].items()})
            payload["globals"] = dict(payload.get("globals", {}), **layouts.batch_size_globals(sig.reads, known))
        call = {k: v for k, v in base_call.items() if k != "bind_globals"}
        call["function"] = name
        if by_reference:
            call["bind_globals"] = by_reference
        outcome = self.scoring.session.call(call, payload, *([policy()] if policy else []))
        if outcome.status in ("missing", "timeout", "crashed"):
            return None
        if layout != layouts.Layout() and outcome.status == "ok" and isinstance(outcome.value, dict):
            outcome = replace(outcome, value=dict(outcome.value, **{"return": layouts.read_back(outcome.value.get("return"), layout)}))
        if recipe.steps() and outcome.status == "ok" and isinstance(outcome.value, dict):
            given = [known[src.name] for _, src in recipe.binds if src.kind == "input"]
            outcome = replace(outcome, value=dict(outcome.value, **{"return": binding.gradients_from_step(outcome.value.get("return"), given)}))
        words = recipe.describe(name, shown) + (f", with {layout.words()}" if layout != layouts.Layout() else "")
        return Attempt(call, payload, outcome, None, found_as=found_as, recipe=recipe,
                       bound=words, notes=(f"its parameters are not the handout's: called as {words}",))

    def _layouts_apply(self, fn, known: dict) -> bool:
        """Another layout is worth trying for a vectorised function of the handout's biases (b, c) on a batch."""
        return {"b", "c"} <= set(known) and any(isinstance(v, np.ndarray) and v.ndim == 2 and k in ("X",) for k, v in known.items())

    def per_sample(self, index: int, probe, name: str, definition, base_call: dict, found_as: str = "", policy=None) -> Attempt | None:
        """A function written for one sample, on a batch check (spec key `per_sample`): called on each row in turn,
        each call bound by meaning and held to the reference's answer for that row; it passes when every row does."""
        fn = self.scoring.spec.function(probe.check.function)
        known, _ = self.known(probe)
        batch = [p for p in fn.per_sample if isinstance(known.get(p), np.ndarray) and known[p].ndim == 2]
        if not batch or len({len(known[p]) for p in batch}) != 1 or not 1 < len(known[batch[0]]) <= MAX_SAMPLES:
            return None
        # one row is one sample: what the function's one-sample checks accept ((1, n) rows) holds for it too
        accept = tuple(dict.fromkeys(a for c in self.scoring.spec.checks if c.function == fn.name for a in c.accept))
        check = replace(probe.check, accept=accept)
        rows = []
        for i in range(len(known[batch[0]])):
            payload = _with_rows(probe.payload, fn.params, batch, i)
            expected = self.scoring.grader.observe(replace(probe, payload=payload), None)
            row = replace(probe, check=check, payload=payload, expected=expected)
            bound = self.attempt((index, i), row, name, definition, base_call, found_as, policy)
            if bound is None or not bound.verdict.passed:
                return None
            rows.append(bound)
        text = (f"{name} takes one sample: called on each of the {len(rows)} rows of {', '.join(batch)} in turn, "
                "every row gives the reference's answer for it")
        return replace(rows[0], payload=probe.payload, notes=rows[0].notes + (text,), verdict=Verdict(True, text, "per-sample"))

    def produce(self, index: int, probe, producer: str, known: dict[str, Any], policy=None) -> Produced | None:
        """The student's own `producer` (as its checks graded it) on this probe's inputs."""
        key = (index, producer, policy is not None)
        if key in self.produced:
            return self.produced[key]
        self.produced[key] = None
        source = self.producer_attempt(producer)
        pfn = self.scoring.spec.function(producer)
        if source is None or not all(p in known for p in pfn.params) or self.calls >= MAX_CALLS:
            return None
        globals_ = probe.payload.get("globals", {})
        name = source.call.get("function", producer)
        call = {"function": name, "seed": probe.call.get("seed"), "repeat": 1}
        if "definition" in source.call:
            call["definition"] = source.call["definition"]
        if source.recipe is not None:
            if source.recipe.uses_results():
                return None
            payload, by_reference = binding.payload_for(source.recipe, known, {}, {}, globals_)
            if by_reference:
                call["bind_globals"] = by_reference
        else:
            payload = {"args": [known[p] for p in pfn.params], "kwargs": {}, "globals": dict(globals_)}
            mine = self.scoring.defined.get(name)
            moved = arguments_by_name(pfn.params, mine[-1].params, payload) if mine else None
            payload = moved or payload
        self.calls += 1
        if policy is not None and "helper_globals" in probe.call:
            call["helper_globals"] = probe.call["helper_globals"]
        outcome = self.scoring.session.call(call, payload, *([policy()] if policy else []))
        if outcome.status != "ok" or not binding.plain_value(outcome.value.get("return")):
            return None
        value = outcome.value["return"]
        parts = binding.label_parts(value, self.reference_returns(producer, [known[p] for p in pfn.params], globals_), pfn.returns)
        shown = f"{name}({', '.join(pfn.params)})"
        made = Produced(value, parts, shown, len(value) if isinstance(value, (tuple, list)) else 0)
        self.produced[key] = made
        return made

    def producer_attempt(self, producer: str) -> Attempt | None:
        """The producer's call that passed its own checks (the form the student wrote), else None."""
        for probe, attempt in zip(self.scoring.grader.probes, self.scoring.attempts):
            if probe.check.function == producer and attempt.verdict is not None and attempt.verdict.passed:
                return attempt
        return None

    def reference_returns(self, producer: str, args: list, globals_: dict) -> Any:
        """The reference producer's return on the same inputs (only to name the student's parts)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                observed = self.scoring.grader.reference_callable(producer)(*args, **globals_)
        except Exception:
            return None
        return observed.get("return") if isinstance(observed, dict) and "return" in observed else observed

    def reshape(self, attempts: list[Attempt], by_function: dict[str, list[int]]) -> list[Attempt]:
        """Graded names the student defined with a signature of their own: failing checks tried bound by meaning."""
        s = self.scoring
        s.attempts = list(attempts)  # this pass's own list (its producers' calls read it)
        for name, positions in by_function.items():
            fn = s.spec.function(name)
            definition, kind = s.targets.get(name, (None, "missing"))
            if fn.given or "." in name or kind != "student" or definition is None:
                continue
            for i in positions:
                attempt = s.attempts[i]
                if attempt.verdict is None or attempt.verdict.passed or attempt.found_as or attempt.variant \
                        or attempt.verdict.diagnosis in ("not-attempted", "not-implemented"):
                    continue
                better = self.attempt(i, s.grader.probes[i], name, definition, attempt.call)
                if better is not None:
                    s.attempts[i] = better
        return s.attempts

    def retry(self, index: int, probe, attempt: Attempt, broken: set[str]) -> tuple[Attempt, Verdict] | None:
        """One bug costs once, for a signature of the student's own: bound by meaning, with the reference's
        helpers in place of the broken ones (its producer's call too); the passing Attempt and its verdict."""
        s = self.scoring
        fn = s.spec.function(probe.check.function)
        helpers = [h for h in fn.helpers if h in broken]
        verdict = attempt.verdict
        if not helpers or verdict is None or verdict.passed or verdict.diagnosis in ("not-attempted", "not-implemented", "modifies-input"):
            return None
        name = attempt.found_as or probe.check.function
        definitions = s.defined.get(name)
        if not definitions or attempt.variant:
            return None
        definition = definitions[-1] if attempt.found_as else s.targets.get(name, (None, ""))[0]
        if definition is None:
            return None
        stateful = {h: list(s.spec.function(h).globals) for h in helpers if s.spec.function(h).globals}
        base = dict(attempt.call, **({"helper_globals": stateful} if stateful else {}))
        bound = self.attempt(index, probe, name, definition, base, attempt.found_as, policy=lambda: s.helper_policy(helpers))
        if bound is None:
            return None
        names = ", ".join(helpers)
        return bound, Verdict(True, f"passes with the reference {names} in place of yours: your own logic is right, your {names} broke it",
                              "broken-helper", {"helper_note": names})
