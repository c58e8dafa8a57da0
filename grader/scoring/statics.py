"""A graded function's failing checks tried on a static method of the same name (issue 22 item 6).

A student may write one vector's softmax at module level and the batch one as `TensorNet.softmax`
(a @staticmethod): the same name, the student's own, so no guess. A check the module-level
definition fails (or that has no module-level definition at all) is credited when a static method
of that very name passes it; the attention entry "renamed" says which class it was found in.
"""
from __future__ import annotations

from dataclasses import replace

from grader.scoring.attempts import Attempt


def _is_static(definition) -> bool:
    return any(line.strip() == "@staticmethod" for line in definition.source.splitlines()[:4])


def static_methods(scoring, attempts: list[Attempt], by_function: dict[str, list[int]]) -> list[Attempt]:
    """A new list: each failing check of a module-level graded name, passed by `Class.name` (static) where one does."""
    out = list(attempts)
    for name, positions in by_function.items():
        if "." in name or scoring.spec.function(name).given:
            continue
        statics = sorted(d for d in scoring.defined if d.count(".") == 1 and d.split(".")[1] == name
                         and _is_static(scoring.defined[d][-1]))
        for i in positions if statics else ():
            if out[i].verdict is not None and out[i].verdict.passed:
                continue
            probe = scoring.grader.probes[i]
            for qualified in statics:
                call = dict(probe.call, function=qualified)
                trial = Attempt(call, probe.payload, scoring.session.call(call, probe.payload), None, found_as=qualified)
                if trial.outcome.status != "ok":
                    continue
                trial = replace(trial, verdict=scoring.judge(probe, trial))
                if trial.verdict.passed:
                    out[i] = trial
                    break
    return out
