"""One check's call as finally made (Attempt), and the pure helpers every scoring pass shares.

Arguments matched by name, whether a signature fits a payload, the leaves of a nested return,
the open-return verdict and constant outputs: no process, no state. The passes (passes.py), the
bindings by meaning (binding.py) and their calls (rebind.py) all build on this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks.compare import Policy, Verdict, compare
from grader.run.execute import CallOutcome


@dataclass(frozen=True)
class Attempt:
    """One check's call as finally made: on which name, with which payload, and what came of it.

    Frozen: a scoring pass that changes an attempt makes a new one (dataclasses.replace) in a list of
    its own, so no pass changes what an earlier one decided under a later one's feet.
    """

    call: dict
    payload: dict
    outcome: CallOutcome
    verdict: Verdict | None  # None: missing (nothing to call)
    found_as: str = ""  # the student's own name for a renamed function
    variant: str = ""  # the known API variant used, in words
    notes: tuple[str, ...] = ()
    recipe: Any = None  # binding.Recipe when its parameters were bound by meaning (grader/rebind.py)
    bound: str = ""  # that binding, in words


def _plain_params(params) -> list[str]:
    return [p for p in params if p != "self" and not p.startswith("*")]


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


def arguments_by_name(wanted: tuple[str, ...], have: tuple[str, ...], payload: dict) -> dict | None:
    """The payload with its positional arguments passed by the handout's names, when the student's
    parameters carry those names in another order; None when positions already agree or names do not."""
    want = _plain_params(wanted)
    mine = _plain_params(have)
    args = payload.get("args", [])
    if not args or not want or len(args) > len(want) or mine[:len(args)] == want[:len(args)]:
        return None
    mapping = {}
    for name, value in zip(want, args):
        match = [m for m in mine if _norm(m) == _norm(name)]
        if not match:
            return None
        mapping[match[0]] = value
    if len(mapping) != len(args):
        return None
    return dict(payload, args=[], kwargs=dict(payload.get("kwargs", {}), **mapping))


def fits(params: tuple[str, ...], payload: dict) -> bool:
    """Whether a function with these parameters can take the check's arguments."""
    if any(p.startswith("*") for p in params):
        return True
    plain = _plain_params(params)
    given = len(payload.get("args", [])) + len(payload.get("kwargs", {}))
    return len(plain) >= given


def _numbers(value: Any) -> bool:
    return bool(value) and all(isinstance(v, (int, float)) for v in value)


def _matrix(value: Any) -> bool:
    """A list of equal-length lists of numbers (a scalar network's weights, as plain Python writes them)."""
    return bool(value) and all(isinstance(r, (list, tuple)) and _numbers(r) for r in value) and len({len(r) for r in value}) == 1


def leaves(value: Any, path: str = ""):
    """(where, value) for every array, number, list of numbers or list of such rows inside nested tuples, lists and dicts."""
    if isinstance(value, (tuple, list)) and not (_numbers(value) or _matrix(value)):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}[{key!r}]")
    else:
        yield path or "the value", value


def open_return_verdict(student: Any, expected: Any, labels: tuple[str, ...], required: tuple[str, ...], policy: Policy) -> Verdict | None:
    """A pass when every required part of the reference's return is somewhere in the student's."""
    if not isinstance(expected, (tuple, list)) or not isinstance(student, (tuple, list, dict)):
        return None
    found: dict[str, str] = {}
    parts = list(leaves(student))
    plain = Policy(policy.rtol, policy.atol, policy.dtype)
    for label, ref in zip(labels, expected):
        for where, leaf in parts:
            if isinstance(leaf, np.ndarray) and isinstance(ref, np.ndarray) and leaf.shape != ref.shape:
                continue  # a shape is part of the answer: (1, n) for (n,) is a bias gradient not summed
            if compare(leaf, ref, plain).passed:
                found[label] = where
                break
    if not all(r in found for r in required):
        return None
    shown = ", ".join(f"{label} is {where}" for label, where in found.items())
    return Verdict(True, f"accepted: the handout leaves the return form open, and what it returns holds the reference's parts ({shown})",
                   "open-return", {"parts": found})


def constant_output(value: Any) -> bool:
    """None, or an array that holds one value throughout (a stub's zeros); a single number is not constant."""
    if value is None:
        return True
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.size > 1 and bool(np.all(value == value.flat[0]))
    if isinstance(value, dict) and value:
        return all(constant_output(v) for v in value.values())
    return False
