"""A check made concrete: its seeded inputs, the call the worker makes, the reference's observation.

`build_probe` runs the reference in this (trusted) process on the check's inputs; `judge` compares
a student's observation with it and names the cause (grader.checks.judging, shared with the kit);
`partial_credit` asks the bank for behavioural credit; `describe_call` words the call for feedback.
"""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks import bank, judging, inputs as input_gen
from grader.checks.compare import Verdict
from grader.checks.spec import Check, Spec
from grader.run.execute import CallOutcome


@dataclass
class Probe:
    """One check's inputs, and the reference's observation for them."""

    check: Check
    env: dict[str, Any]
    call: dict[str, Any]  # what the worker needs: names, seeds, what to read back
    payload: dict[str, Any]  # the inputs sent over
    expected: dict[str, Any]  # reference observation: {"return": ..., "attrs": ..., "globals": ...}


# ------------------------------------------------------------------ probes


def build_probe(spec: Spec, check: Check) -> Probe:
    reference = spec.reference_module()
    env = input_gen.make_inputs(check.let, check.seed, reference)
    args = [input_gen.resolve(a, env) for a in check.args]
    kwargs = {k: input_gen.resolve(v, env) for k, v in check.kwargs.items()}
    payload: dict[str, Any] = {"args": args, "kwargs": kwargs}
    call: dict[str, Any] = {"seed": check.call_seed, "repeat": check.repeat}
    if check.timeout:
        call["timeout"] = check.timeout
    if check.draws and check.repeat > 1:
        call["each"] = True  # every call's draws come back: two calls must not draw the same values
    if check.class_name:
        call.update({"class": check.class_name, "method": check.method})
        payload["init"] = [input_gen.resolve(a, env) for a in check.init]
        payload["attrs"] = {k: input_gen.resolve(v, env) for k, v in check.attrs.items()}
    else:
        call["function"] = check.function
    if check.globals:
        payload["globals"] = {k: input_gen.resolve(v, env) for k, v in check.globals.items()}
    if check.read_globals:
        call["read_globals"] = list(check.read_globals)
    if check.read_attrs:
        call["read_attrs"] = list(check.read_attrs)
    expected = reference_observation(spec, check, env, payload)
    return Probe(check, env, call, payload, expected)


def reference_observation(spec: Spec, check: Check, env: dict, payload: dict, impl=None) -> dict[str, Any]:
    """What the reference (or a bank variant, `impl`) observes for the same inputs, in this process."""
    reference = spec.reference_module()
    payload = copy.deepcopy(payload)
    args = payload["args"] if check.ref_args is None else [input_gen.resolve(a, env) for a in check.ref_args]
    kwargs = payload["kwargs"]
    observed: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        if check.call_seed is not None:
            np.random.seed(check.call_seed)
        if check.class_name and check.reference is None:
            obj = getattr(reference, check.class_name)(*payload["init"])
            for attr, value in payload["attrs"].items():
                setattr(obj, attr, value)
            if check.call_seed is not None:
                np.random.seed(check.call_seed)
            method = impl.__get__(obj) if impl else getattr(obj, check.method)
            for _ in range(check.repeat):
                observed["return"] = method(*args, **kwargs)
            observed["attrs"] = {a: getattr(obj, a) for a in check.read_attrs}
        else:
            name = check.reference or check.function
            fn = impl or getattr(reference, name, None) or getattr(spec.bank_module(), name)
            if check.globals:
                kwargs = dict(kwargs, **payload.get("globals", {}))
            for _ in range(check.repeat):
                value = fn(*args, **kwargs)
            if check.reference and isinstance(value, dict) and "return" in value:
                observed = value  # an adapter returns the whole observation
            else:
                observed["return"] = value
    return {k: v for k, v in observed.items() if k in check.compare}


# ------------------------------------------------------------------ judging one call


def judge(spec: Spec, probe: Probe, outcome: CallOutcome) -> Verdict:
    """Compare the student's observation with the reference's, then look for a named cause (grader.judging)."""
    check = probe.check
    return judging.judge(check, probe.expected, outcome, probe.payload["args"], candidates(spec, probe), spec.function(check.function).returns)


def candidates(spec: Spec, probe: Probe) -> list[judging.Candidate]:
    """The check's accepted variants, then the function's banked mistakes, each observed lazily on the check's inputs."""
    module = spec.bank_module()
    check = probe.check
    found = [v for v in bank.for_function(module, check.function) if v.kind == "accepted" and v.id in check.accept]
    found += bank.for_function(module, check.function, "mistake")

    def observer(variant):
        return lambda: reference_observation(spec, check, probe.env, probe.payload, impl=variant.impl)

    return [judging.Candidate(v.id, v.kind, v.text, observer(v)) for v in found]


partial_credit = bank.behavioural_credit  # in bank.py: the scoring passes ask it too


# ------------------------------------------------------------------ the whole submission


def no_partial_for(spec: Spec) -> set[str]:
    """Mistakes that earn no behavioural credit (e.g. minibatches never shuffled)."""
    module = spec.bank_module()
    return set(getattr(module, "NO_PARTIAL_CREDIT", ())) if module else set()


def describe_call(check: Check, payload: dict) -> str:
    args = ", ".join(input_gen.describe(a) for a in payload["args"])
    kwargs = ", ".join(f"{k}={input_gen.describe(v)}" for k, v in payload["kwargs"].items())
    inner = ", ".join(p for p in (args, kwargs) if p)
    if check.class_name:
        init = ", ".join(input_gen.describe(a) for a in payload.get("init", []))
        return f"{check.class_name}({init}).{check.method}({inner})"
    return f"{check.function}({inner})"
