"""Scoring one submission: which definition is graded, the calls, retries, and points.

The pipeline (grader/grade.py) runs the cells; this module turns the probes into test
results, in three passes:

1. first pass: each check once, on the definition that is the student's own (template.py:
   a later handout cell that redefines a name does not take the student's work away; an
   untouched template stub is "not attempted", never called, never diagnosed). Arguments go
   by the handout's parameter names when the student ordered them otherwise; a name that is
   absent is tried under the spec's known variants of the handout's own API; where the
   handout leaves the return form open (`open_return`), a container holding the right parts
   passes.
2. discovery: a graded name still absent is looked for among the notebook's other functions
   whose signature fits; one that behaves like the reference earns the spec's `rename_credit`
   ("found as `error_rate`").
   A signature of the student's own is then bound by meaning (grader/rebind.py, binding.py): in
   discovery, and for a graded name the student defined with other parameters.
3. "one bug costs once": a failed check whose declared helpers failed their own checks is run
   again with the reference in their place: functions, methods of the same class (the object's
   state goes along) and helpers that read or set globals (`globals` in the spec).

A named cause must explain the student on every probe of the function (a banked mistake is
re-checked on the others) and is never the artefact of a constant or None output.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import replace
from typing import Any


from grader.checks import bank, judging
from grader.checks.compare import Policy, Verdict, compare
from grader.checks.laws import CAUSES
from grader.run.execute import CallOutcome, HelperPolicy
from grader.run.refcall import call_limited
from grader.result import IntegrityFlag
from grader.scoring.classes import class_attempts
from grader.scoring.statics import static_methods
from grader.scoring.attempts import (  # noqa: F401 - Attempt and the helpers are part of this module's interface
    Attempt, _norm, _plain_params, arguments_by_name, constant_output, fits, leaves, open_return_verdict)

# Diagnoses that say what is seen, not why: they stay whatever the output looks like.
GENERIC = {"returns-none", "wrong-type", "wrong-length", "missing-keys", "wrong-shape", "wrong-size", "raises", "timeout",
           "crashed", "error", "not-implemented", "modifies-input", "not-attempted", "broken-helper", "all-zero",
           "returns-input-unchanged", "redefined-other-signature", "open-return", "found-as", "api-variant", None}
GENERIC |= {ident for _, ident, _ in judging.ERROR_CAUSES} | set(CAUSES)
# A return that is no answer to the check at all: a function giving one is no competing guess for a missing name.
NOT_AN_ANSWER = {"returns-none", "wrong-type", "wrong-length", "missing-keys", "wrong-shape", "wrong-size", "raises",
                 "timeout", "crashed", "error", "not-implemented", "wrong-signature"}


class Scoring:
    """The checks of one submission, in the session where its cells ran."""

    def __init__(self, grader, session, defined: dict, outcomes: list) -> None:
        self.grader = grader
        self.spec = grader.spec
        self.session = session
        self.defined = defined
        self.outcomes = outcomes
        self.handout = grader.handout
        self.attempts: list[Attempt] = []
        self.flags: list[IntegrityFlag] = []
        self.targets = {fn.name: self.handout.student_definition(fn.name, defined.get(fn.name, [])) for fn in self.spec.functions}
        from grader.scoring.rebind import Rebinder  # rebind builds on this module's Attempt

        self.rebinder = Rebinder(self)

    # ------------------------------------------------------------ pass 1

    def first_call(self, probe) -> Attempt:
        check = probe.check
        fn = self.spec.function(check.function)
        definition, kind = self.targets.get(check.function, (None, "missing"))
        if kind == "stub" or (kind == "handout" and not fn.given):
            text = ("not attempted: the template's stub is left as it was" if kind == "stub"
                    else f"not attempted: only the handout's own code defines {check.function}")
            return Attempt({}, probe.payload, CallOutcome("missing", error=text), Verdict(False, text, "not-attempted"))
        call, payload = dict(probe.call), probe.payload
        definitions = self.defined.get(check.function, [])
        if definition is not None and definitions and definition is not definitions[-1]:
            call["definition"] = definition.cell  # the student's own, not the handout's later cell
        notes: tuple[str, ...] = ()
        if definition is not None:
            moved = arguments_by_name(fn.params, definition.params, payload)
            if moved is not None:
                payload = moved
                notes += (f"its parameters ({', '.join(_plain_params(definition.params))}) are matched by name to the handout's ({', '.join(_plain_params(fn.params))})",)
        outcome = self.session.call(call, payload)
        attempt = Attempt(call, payload, outcome, None, notes=notes)
        if self.absent(outcome) and fn.variants:
            attempt = self.try_variants(probe, fn) or attempt
        if not self.absent(attempt.outcome):
            attempt = replace(attempt, verdict=self.judge(probe, attempt))
        return attempt

    @staticmethod
    def absent(outcome: CallOutcome) -> bool:
        return outcome.status == "missing" or (outcome.status == "error" and "has no method" in outcome.error)

    def try_variants(self, probe, fn) -> Attempt | None:
        for variant in fn.variants:
            call, payload = dict(probe.call), dict(probe.payload)
            payload["kwargs"] = dict(payload.get("kwargs", {}), **variant.get("kwargs", {}))
            if "method" in variant:
                call["method"] = variant["method"]
                name = f"{fn.name.split('.')[0]}.{variant['method']}"
            else:
                call["function"] = variant["function"]
                name = variant["function"]
            outcome = self.session.call(call, payload)
            if not self.absent(outcome):
                args = ", ".join(f"{k}={v!r}" for k, v in variant.get("kwargs", {}).items())
                return Attempt(call, payload, outcome, None, variant=f"{name}({'..., ' if args else ''}{args})")
        return None

    def judge(self, probe, attempt: Attempt) -> Verdict:
        check = probe.check
        fn = self.spec.function(check.function)
        outcome = attempt.outcome
        candidates = self.grader.candidates_for(probe)
        verdict = judging.judge(check, probe.expected, outcome, probe.payload["args"], candidates, fn.returns)
        if not verdict.passed and outcome.status == "ok" and fn.open_return and "return" in probe.expected:
            policy = Policy(check.rtol, check.atol, check.dtype)
            # the reference's parts, then each accepted variant's (a batched forward's (1, n) rows for one input)
            expectations = [(probe.expected, "")] + [(observed, c.text) for c in candidates if c.kind == "accepted"
                                                     for observed in [c.observe()] if isinstance(observed, dict) and "return" in observed]
            for expected, variant in expectations:
                accepted = open_return_verdict(outcome.value.get("return"), expected["return"], fn.returns, fn.open_return, policy)
                if accepted is not None and all(compare(outcome.value.get(k), v, policy).passed for k, v in expected.items() if k != "return"):
                    verdict = replace(accepted, message=f"{accepted.message}; {variant}") if variant else accepted
                    break
        if not verdict.passed and outcome.status == "ok" and verdict.diagnosis not in GENERIC and constant_output(outcome.value.get("return")) \
                and "return" in probe.expected and not self.banked(check.function, verdict.diagnosis):
            # A transformation read off a constant (a stub's zeros) is an artefact; a banked mistake that
            # computes this very constant is kept, and must then explain the other probes too.
            verdict = self.unnamed(verdict, "its output is a constant: no cause can be read from it")
        return verdict

    def banked(self, function: str, diagnosis: str | None) -> bool:
        return any(v.id == diagnosis for v in bank.for_function(self.spec.bank_module(), function))

    @staticmethod
    def unnamed(verdict: Verdict, why: str) -> Verdict:
        message = verdict.message
        text = verdict.details.get("diagnosis_text")
        if text:
            message = message.replace(f"; this is what happens when {text}", "")
        details = {k: v for k, v in verdict.details.items() if k != "diagnosis_text"}
        details["unnamed"] = why
        return replace(verdict, message=message, diagnosis=None, details=details)

    # ------------------------------------------------------------ pass 2: renamed functions

    def discover(self, attempts: list[Attempt], probes_by_function: dict[str, list[int]]) -> list[Attempt]:
        """Graded names still absent, or defined but failing every check: look for the notebook's own
        function that behaves like the reference. One that replaces a failing definition must pass every
        check (003's log-loss compute_error beside the right compute_batch_error)."""
        self.attempts = list(attempts)  # this pass's own list: what it credits is seen by its later names
        claimed: dict[str, str] = {}  # a function credited for a graded name -> that name
        own_names = set(self.defined)
        for name, positions in probes_by_function.items():
            fn = self.spec.function(name)
            absent = all(self.attempts[i].verdict is None for i in positions)
            failing = not absent and not any(self.attempts[i].verdict is not None and self.attempts[i].verdict.passed for i in positions)
            if fn.given or "." in name or not (absent or failing):
                continue
            viable: list = []  # (points, candidate, attempts) of every candidate that passes something
            candidates = self.candidate_names(name, own_names | set(), claimed, positions)
            if failing:  # beside a definition of its own: only a close name (compute_batch_error, softmax_v2)
                candidates = [c for c in candidates if difflib.SequenceMatcher(None, _norm(name), _norm(c)).ratio() >= 0.75]
            for candidate in candidates:
                results, unfit = [], False
                for i in positions:
                    probe = self.grader.probes[i]
                    payload = probe.payload
                    params = self.defined[candidate][-1].params
                    moved = arguments_by_name(fn.params, params, payload)
                    payload = moved if moved is not None else payload
                    bound = None
                    if not fits(params, payload):
                        bound = self.rebinder.attempt(i, probe, candidate, self.defined[candidate][-1], probe.call, found_as=candidate)
                        if bound is None:  # kept only when another check's call, bound by meaning, passes
                            text = f"{candidate}({', '.join(params)}) cannot take this check's arguments, and no binding of its parameters by meaning passes"
                            results.append((i, self.rebinder.first_failed or Attempt(dict(probe.call, function=candidate), payload, CallOutcome("error", error=text),
                                                                                      Verdict(False, text, "wrong-signature"), found_as=candidate)))
                            unfit = True
                            continue
                    call = dict(probe.call, function=candidate)
                    attempt = bound or Attempt(call, payload, self.session.call(call, payload), None, found_as=candidate)
                    if bound is None:
                        attempt = replace(attempt, verdict=self.judge(probe, attempt) if attempt.outcome.status != "missing" else Verdict(False, "", "raises"))
                    if not attempt.verdict.passed and attempt.outcome.status != "missing":  # its own signature, bound by meaning
                        attempt = self.rebinder.attempt(i, probe, candidate, self.defined[candidate][-1], probe.call, found_as=candidate) or attempt
                    results.append((i, attempt))
                points = sum(self.grader.probes[i].check.points + 1e-3 if a.verdict and a.verdict.passed
                             else self.partial_points(self.grader.probes[i], a) for i, a in results)
                if unfit and not any(a.bound for _, a in results):
                    continue  # a function that cannot take these arguments, bound or not, is not this one
                plausible = bool(results) and all(a.outcome.status == "ok" and a.verdict is not None
                                                  and a.verdict.diagnosis not in NOT_AN_ANSWER for _, a in results)
                if results and (points > 0 or plausible):  # a plausible wrong answer is a competing guess
                    viable.append((points, candidate, results))
            best = self.unambiguous(name, viable, failing)
            if best is not None:
                claimed[best[1]] = name
                for i, attempt in best[2]:
                    self.attempts[i] = attempt
        return self.attempts

    def unambiguous(self, name: str, viable: list, failing: bool):
        """The one candidate to credit for `name`, or None. Several that disagree on any check are guesses:
        none is credited, and an integrity flag names them (a person decides). Several that agree: the best
        is credited and the others are named in its notes."""
        if failing:  # beside the student's own definition: only one that passes every check replaces it
            viable = [v for v in viable if all(a.verdict and a.verdict.passed for _, a in v[2])]
        passes = lambda v: any(a.verdict and a.verdict.passed for _, a in v[2])  # noqa: E731
        if any(passes(v) for v in viable):  # a binding that only earns partial credit is no rival to one that passes
            viable = [v for v in viable if passes(v) or not any(a.bound for _, a in v[2])]
        viable = sorted(viable, key=lambda v: -v[0])
        if not viable or viable[0][0] <= 0:
            return None
        outcome = lambda v: sorted((i, bool(a.verdict and a.verdict.passed)) for i, a in v[2])  # noqa: E731
        if any(outcome(v) != outcome(viable[0]) for v in viable[1:]):
            names = ", ".join(f"`{v[1]}`" for v in viable)
            self.flags.append(IntegrityFlag("ambiguous-candidates", f"{name} is not defined; {len(viable)} functions "
                                            f"could stand for it and disagree on its checks ({names}): none is credited"))
            return None
        if len(viable) > 1:
            same = f"{', '.join(v[1] for v in viable[1:])} behave the same on every check"
            return viable[0][:2] + ([(i, replace(a, notes=a.notes + (same,))) for i, a in viable[0][2]],)
        return viable[0]

    def partial_points(self, probe, attempt: Attempt) -> float:
        """The check's behavioural partial credit (spec key `partial`) that a failed call earns, else 0."""
        if not probe.check.partial or attempt.outcome.status != "ok" or attempt.verdict is None or attempt.verdict.passed:
            return 0.0
        try:
            credit = bank.behavioural_credit(self.spec, probe, attempt.outcome)
        except Exception:  # the bank's judgement of a student's odd value: no credit, never a crash
            return 0.0
        return credit[0] if credit else 0.0

    def candidate_names(self, name: str, names: set[str], claimed: dict[str, str], positions: list[int]) -> list[str]:
        """Top-level functions that could be `name` under another name, closest names first (at most 8)."""
        passing = {self.grader.probes[i].check.function for i, a in enumerate(self.attempts) if a.verdict is not None and a.verdict.passed}
        # ... unless the handout asks for both, one named after the other, with the same parameters (004's forward(x, ...)
        # and forward_batch(X, ...)): one function may then be the answer to both
        same_ask = lambda other: (tuple(_norm(p) for p in self.spec.function(other).params) == tuple(_norm(p) for p in self.spec.function(name).params)  # noqa: E731
                                  and (name.startswith(other) or other.startswith(name)))
        passing = {other for other in passing if not same_ask(other)}
        claimed = {other for other, by in claimed.items() if not same_ask(by)}
        found = []
        for other in names:
            # a graded name that fails its own checks stays a candidate: it may be this one (train for train_batched)
            if "." in other or other in claimed or other == name or other in passing or other in self.handout.names():
                continue
            found.append(other)
        return sorted(found, key=lambda other: (-difflib.SequenceMatcher(None, _norm(name), _norm(other)).ratio(), other))[:8]

    # ------------------------------------------------------------ pass 3: one bug costs once

    def helper_policy(self, helpers: list[str]) -> HelperPolicy:
        """Reference answers for exactly these helpers, each in a forked child under limits."""
        limits = self.grader.options.limits
        reference = self.spec.reference_module()

        def answer(name: str, args: list, kwargs: dict):
            fn = self.spec.function(name)
            if "." in name or fn.globals:
                if not args or not isinstance(args[0], dict):
                    from grader.run.refcall import ReferenceFailed
                    raise ReferenceFailed("a stateful stand-in was called without its state")
                state, args = args[0], list(args[1:])
                target = (functools.partial(_method_answer, getattr(reference, name.split(".")[0]), name.split(".", 1)[1], state.get("self") or {})
                          if "." in name else functools.partial(_globals_answer, self.grader.reference_callable(name), state.get("globals") or {}))
            else:
                target = getattr(reference, name)
            return call_limited(target, args, kwargs, limits.helper_seconds, limits.message_bytes)

        return HelperPolicy(frozenset(helpers), answer, limits.helper_calls)

    def retry(self, probe, attempt: Attempt, broken: set[str]) -> tuple[Verdict, str]:
        verdict = attempt.verdict
        helpers = [h for h in self.spec.function(probe.check.function).helpers if h in broken]
        if verdict is None or verdict.passed or verdict.diagnosis in ("not-implemented", "not-attempted") or not helpers:
            return verdict, ""
        policy = self.helper_policy(helpers)
        call = dict(attempt.call)
        stateful = {h: list(self.spec.function(h).globals) for h in helpers if self.spec.function(h).globals}
        if stateful:
            call["helper_globals"] = stateful
        retry_outcome = self.session.call(call, attempt.payload, policy)
        return self.after_retry(probe, attempt, helpers, retry_outcome)

    def after_retry(self, probe, attempt: Attempt, helpers: list[str], retry_outcome: CallOutcome) -> tuple[Verdict, str]:
        """The verdict and note once the function has been run with the reference in place of its broken helpers."""
        check = probe.check
        outcome, verdict = attempt.outcome, attempt.verdict
        retry_verdict = self.judge(probe, replace(attempt, outcome=retry_outcome))
        names = ", ".join(helpers)
        if retry_verdict.passed:
            return Verdict(True, f"passes with the reference {names} in place of yours: your own logic is right, your {names} broke it", "broken-helper", {"helper_note": names}), ""
        note = f"It still fails with the reference {names} in place of yours, so the problem is in {check.function} itself."
        if outcome.status != "ok" and retry_outcome.status == "ok":
            note = f"With the reference {names} in place of yours it runs, but still fails: " + retry_verdict.message
            verdict = replace(verdict, diagnosis=retry_verdict.diagnosis or verdict.diagnosis, details=retry_verdict.details or verdict.details)
        elif retry_outcome.status != "ok" and retry_outcome.error and retry_outcome.error != outcome.error:
            note = f"With the reference {names} in place of yours it still fails, with: {retry_verdict.message}"
            verdict = replace(verdict, diagnosis=retry_verdict.diagnosis or verdict.diagnosis)
        elif retry_outcome.status == "ok" and retry_verdict.message != verdict.message:
            note = f"With the reference {names} in place of yours it still fails: " + retry_verdict.message
            if retry_verdict.diagnosis and (not verdict.diagnosis or retry_verdict.details.get("diagnosis_text")):
                verdict = replace(verdict, diagnosis=retry_verdict.diagnosis)
        return verdict, note

    # ------------------------------------------------------------ named causes hold on every probe

    def consistent_causes(self, attempts: list[Attempt], probes_by_function: dict[str, list[int]]) -> list[Attempt]:
        """Drop a banked cause that does not explain the student's output on the function's other probes."""
        self.attempts = list(attempts)
        for name, positions in probes_by_function.items():
            for i in positions:
                attempt = self.attempts[i]
                verdict = attempt.verdict
                if verdict is None or verdict.passed or verdict.diagnosis in GENERIC or attempt.outcome.status != "ok":
                    continue
                others = [j for j in positions if j != i and self.attempts[j].outcome.status == "ok" and self.attempts[j].verdict is not None
                          and not self.grader.probes[j].check.optional]
                if not others:
                    continue
                variant = next((v for v in bank.for_function(self.spec.bank_module(), name) if v.id == verdict.diagnosis), None)
                if variant is not None:
                    if not all(self.variant_explains(self.grader.probes[j], self.attempts[j], variant) for j in others):
                        self.attempts[i] = replace(attempt, verdict=self.unnamed(verdict, f"{verdict.diagnosis} does not explain its other checks"))
                else:  # a transformation seen on one probe only, while others fail otherwise
                    failing = [self.attempts[j].verdict.diagnosis for j in others if not self.attempts[j].verdict.passed]
                    if failing and verdict.diagnosis not in failing and any(d not in GENERIC for d in failing):
                        self.attempts[i] = replace(attempt, verdict=self.unnamed(verdict, f"{verdict.diagnosis} is seen on this check only"))
        return self.attempts

    def variant_explains(self, probe, attempt: Attempt, variant) -> bool:
        if probe.check.draws:
            return True  # random draws are judged by their law: their values neither confirm nor refute a cause
        try:
            expected = self.grader.observe(probe, variant.impl)
        except Exception:
            return True  # a variant that cannot run on these inputs neither confirms nor refutes
        check = probe.check
        student = {k: v for k, v in attempt.outcome.value.items() if k in check.compare}
        return judging.compare_observation(student, expected, Policy(check.rtol, check.atol, check.dtype)).passed

    # ------------------------------------------------------------ all of it

    def run(self) -> list[tuple[Any, Attempt, str]]:
        probes = self.grader.probes
        self.attempts = [self.first_call(p) for p in probes]
        by_function: dict[str, list[int]] = {}
        for i, p in enumerate(probes):
            by_function.setdefault(p.check.function, []).append(i)
        self.attempts = self.discover(self.attempts, by_function)
        self.attempts = static_methods(self, self.attempts, by_function)
        self.attempts = class_attempts(self, self.attempts, by_function)
        self.attempts = self.rebinder.reshape(self.attempts, by_function)
        self.attempts = self.consistent_causes(self.attempts, by_function)
        broken = {probes[i].check.function for i, a in enumerate(self.attempts) if a.verdict is None or not a.verdict.passed}
        out = []
        self.attempts = list(self.attempts)  # retries seen by later retries (a producer that now passes)
        for index, probe in enumerate(probes):
            attempt = self.attempts[index]
            verdict, note = self.retry(probe, attempt, broken)
            rebound = None if verdict is None or verdict.passed else self.rebinder.retry(index, probe, attempt, broken)
            if rebound is not None:  # its own signature, bound by meaning, passes with the reference's helpers
                attempt, verdict, note = rebound[0], rebound[1], ""
            self.attempts[index] = replace(attempt, verdict=verdict)
            out.append((probe, self.attempts[index], note))
        asked: dict[str, set[str]] = {}
        for calling, name in self.session.refused:  # first pass and retries alike
            asked.setdefault(calling, set()).add(name)
        for calling, names in sorted(asked.items()):
            self.flags.append(IntegrityFlag("asked-for-reference", f"{calling} asked the grader for the reference's {', '.join(sorted(names))}, which no check offers"))
        return out


def _method_answer(cls, method: str, state: dict, *args, **kwargs) -> dict:
    """The reference class's method on an object holding the student's object's state."""
    obj = cls.__new__(cls)
    obj.__dict__.update({k: v for k, v in state.items() if isinstance(k, str)})
    value = getattr(obj, method)(*args, **kwargs)
    return {"return": value, "attrs": dict(vars(obj))}


def _globals_answer(fn, state: dict, *args, **kwargs) -> dict:
    """A reference adapter (grader convention: globals as keywords, an observation back) on the student's globals."""
    observed = fn(*args, **kwargs, **{k: v for k, v in state.items() if isinstance(k, str)})
    return observed if isinstance(observed, dict) and "return" in observed else {"return": observed}
