"""A network written as a class with its state on self (issue 22 item 5), graded by behaviour.

`MLP(n_in, n_hidden, n_out)` holding its weights as attributes, `forward(X, Y)` storing the activations
on self, `backward_and_update(lr)` computing the gradients from them and updating the weights in place:
004 asks for no names, and such a class answers the handout's `forward_batch` and `backward_batch`.

The class is built with the check's sizes (its constructor's parameters read by meaning), the check's
W, b, V, c are set on the attributes its `__init__` assigns (read by meaning: `W1` is W, `b2` is c),
its forward method is called (then its backward one, with a learning rate of 1, for the gradient) and
everything it returns or leaves on self is read by value: the activations, stored or returned
gradients, and each weight minus what the update left in it. The targets go as class labels, then
one-hot. Found this way, a function raises the attention entries "renamed" and "reshaped".
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.run.execute import CallOutcome
from grader.scoring import binding
from grader.scoring.attempts import Attempt

WEIGHTS = ("W", "b", "V", "c")
FORWARD_WORDS = ("forward", "predict", "feedforward", "feed_forward")
BACKWARD_WORDS = ("backward", "backprop", "back_prop", "update", "train_step", "step")


@dataclass(frozen=True)
class Network:
    """A class of the notebook that holds the handout's network: its methods and where W, b, V, c live."""

    name: str
    init_params: tuple[str, ...]
    attrs: tuple[tuple[str, str], ...]  # (spec weight, attribute)
    assigned: tuple[str, ...]  # every attribute any method assigns on self
    forward: str
    backward: str | None


def _self_assignments(source: str) -> list[str]:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self" and t.attr not in found:
                found.append(t.attr)
    return found


def networks(defined: dict, meanings: dict[str, tuple[str, ...]]) -> list[Network]:
    """Every class whose __init__ assigns attributes meaning W, b, V and c and that has a forward-like method."""
    classes = sorted({n.split(".")[0] for n in defined if n.count(".") == 1})
    found = []
    for cls in classes:
        methods = {n.split(".")[1]: defined[n][-1] for n in defined if n.startswith(cls + ".") and n.count(".") == 1}
        init = methods.get("__init__")
        if init is None:
            continue
        own = _self_assignments(init.source)
        attrs = []
        for weight in WEIGHTS:
            best = max(((binding.meaning_score(a, weight, meanings=meanings), a) for a in own if a not in dict(attrs).values()), default=(0, ""))
            if not best[0]:
                break
            attrs.append((weight, best[1]))
        forward = next((m for m in methods if any(w in m.lower() for w in FORWARD_WORDS)), None)
        if len(attrs) < 4 or forward is None:
            continue
        backward = next((m for m in methods if m != forward and any(w in m.lower() for w in BACKWARD_WORDS)), None)
        assigned = tuple(dict.fromkeys(a for d in methods.values() for a in _self_assignments(d.source)))
        params = tuple(p for p in init.params if p != "self" and not p.startswith("*"))
        found.append(Network(cls, params, tuple(attrs), assigned, forward, backward))
    return found


def _bind(params: tuple[str, ...], known: dict[str, Any], targets: Any, meanings: dict) -> tuple[list, dict] | None:
    """Keyword arguments for a method of the student's (X and the targets by meaning; a learning rate of 1)."""
    kwargs = {}
    for p in params:
        if p == "self" or p.startswith("*"):
            continue
        if binding.meaning_score(p, "X", meanings=meanings) or binding.meaning_score(p, "x"):
            kwargs[p] = known["X"]
        elif binding.meaning_score(p, "targets", meanings=meanings) or binding.meaning_score(p, "y"):
            kwargs[p] = targets
        elif binding.meaning_score(p, "learning_rate"):
            kwargs[p] = 1.0
        else:
            return None
    return [], kwargs


def _init_args(net: Network, known: dict[str, Any], defined: dict) -> list | None:
    init = defined[f"{net.name}.__init__"][-1]
    sig = binding.signature(init.source, init.params)
    sizes = {"in": len(known["W"]), "hidden": len(known["b"]), "out": len(known["c"])}
    args = []
    for p in net.init_params:
        words = binding.tokens(p)
        size = binding._size_of(p) or ("in" if "input" in words else "hidden" if "hidden" in words else "out" if "output" in words else None)
        if size:
            args.append(sizes[size])
        elif binding.meaning_score(p, "learning_rate"):
            args.append(1.0)
        elif p not in sig.required:
            break  # the rest keep their defaults
        else:
            return None
    return args


def class_attempts(scoring, attempts: list[Attempt], by_function: dict[str, list[int]]) -> list[Attempt]:
    """A new list: forward_batch and backward_batch checks that nothing passed, tried on a class of the notebook."""
    out = list(attempts)
    wanted = [n for n in ("forward_batch", "backward_batch") if n in by_function]
    meanings = dict(scoring.spec.meanings)
    nets = networks(scoring.defined, meanings) if wanted else []
    for name in wanted:
        if any(out[i].verdict is not None and out[i].verdict.passed for i in by_function[name]):
            continue
        for net in nets:
            if name == "backward_batch" and net.backward is None:
                continue
            tried = [_attempt(scoring, net, scoring.grader.probes[i], name) for i in by_function[name]]
            if tried and all(a is not None and a.verdict.passed for a in tried):
                for i, a in zip(by_function[name], tried):
                    out[i] = a
                break
    return out


def _attempt(scoring, net: Network, probe, name: str) -> Attempt | None:
    fn = scoring.spec.function(name)
    args = probe.payload.get("args", [])
    known = dict(zip(fn.params, args), **probe.payload.get("kwargs", {}))
    if not {"X", *WEIGHTS} <= set(known):
        return None
    init = _init_args(net, known, scoring.defined)
    if init is None:
        return None
    n = len(known["X"])
    labels = np.asarray(known.get("targets", np.zeros(n, dtype=int)))
    for targets in (labels, np.eye(len(known["c"]))[labels]):
        attempt = _call(scoring, net, probe, name, known, init, targets)
        if attempt is not None and attempt.verdict.passed:
            return attempt
    return None


def _call(scoring, net: Network, probe, name: str, known: dict, init: list, targets) -> Attempt | None:
    meanings = dict(scoring.spec.meanings)
    forward = _bind(scoring.defined[f"{net.name}.{net.forward}"][-1].params, known, targets, meanings)
    backward = _bind(scoring.defined[f"{net.name}.{net.backward}"][-1].params, known, targets, meanings) if net.backward else None
    if forward is None or (name == "backward_batch" and backward is None):
        return None
    attrs = {attr: np.array(known[weight], dtype=float, copy=True) for weight, attr in net.attrs}
    method, given, before = (net.forward, forward, []) if name == "forward_batch" else (net.backward, backward, [net.forward])
    call = {"class": net.name, "method": method, "before": before, "read_attrs": list(net.assigned), "seed": probe.call.get("seed"),
            "repeat": 1, "attrs_like_own": True}
    payload = {"init": init, "attrs": attrs, "args": given[0], "kwargs": given[1], "globals": dict(probe.payload.get("globals", {})),
               "before": [{"args": forward[0], "kwargs": forward[1]}] if before else []}
    outcome = scoring.session.call(call, payload)
    if outcome.status != "ok" or not isinstance(outcome.value, dict):
        return None
    left = outcome.value.get("attrs") or {}
    seen: dict[str, Any] = {"return": outcome.value.get("return"), **{f"self.{a}": v for a, v in left.items()}}
    if name == "backward_batch":  # an update in place with a learning rate of 1: what it took from each weight is its gradient
        for weight, attr in net.attrs:
            if isinstance(left.get(attr), np.ndarray) and left[attr].size == attrs[attr].size:
                seen[f"{weight} - self.{attr} after"] = attrs[attr] - left[attr].reshape(attrs[attr].shape)
    words = (f"{net.name}({', '.join(map(str, init))}) with {', '.join(f'self.{a} = {w}' for w, a in net.attrs)}, "
             + (f"then {net.forward}(...) and {net.backward}(...) with a learning rate of 1" if before else f"then {net.forward}(...)"))
    attempt = Attempt(dict(probe.call, **{k: v for k, v in call.items() if k != "seed"}), payload,
                      CallOutcome("ok", value={"return": seen}, seconds=outcome.seconds), None, found_as=f"{net.name}.{method}",
                      bound=words, notes=(f"a class with its state on self: {words}; what it returns or leaves on self read by value",))
    return replace(attempt, verdict=scoring.judge(probe, attempt))
