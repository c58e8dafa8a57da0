"""Seeded input generators: the `let` tables of a spec turned into arrays.

Each generator is a small table, e.g. `{gen = "randn", shape = [10, 7], scale = 3}`.
All randomness comes from one `numpy.random.Generator` seeded by the check,
so the same spec gives the same inputs on every run and machine. The one
exception is `ref`, which calls a reference function (such as the handout's
`init_shallow`) under the legacy global seed, exactly as a student would.
"""
from __future__ import annotations

import contextlib
import copy
import io
from typing import Any, Callable

import numpy as np


class InputError(Exception):
    """A generator table in a spec is malformed."""


def _randn(rng, spec, env):
    return spec.get("loc", 0.0) + spec.get("scale", 1.0) * rng.standard_normal(spec["shape"])


def _uniform(rng, spec, env):
    return rng.uniform(spec.get("low", 0.0), spec.get("high", 1.0), spec["shape"])


def _with_zeros(rng, spec, env):
    """Normal values with a fraction of exact zeros (where ReLU's derivative is a convention)."""
    values = spec.get("scale", 1.0) * rng.standard_normal(spec["shape"])
    values[rng.uniform(size=spec["shape"]) < spec.get("fraction", 0.3)] = 0.0
    return values


def _labels(rng, spec, env):
    """n integer labels in [0, classes); every class appears when n >= classes."""
    n, classes = spec["n"], spec["classes"]
    labels = rng.integers(0, classes, n)
    if n >= classes:
        labels[rng.permutation(n)[:classes]] = np.arange(classes)
    return labels.astype(spec.get("dtype", "int64"))


def _onehot(rng, spec, env):
    """One-hot codes of a labels input: classes x N (columns, default) or N x classes (rows)."""
    labels = np.asarray(env[spec["labels"]])
    codes = np.zeros((spec["classes"], labels.size))
    codes[labels, np.arange(labels.size)] = 1.0
    return codes if spec.get("layout", "columns") == "columns" else codes.T.copy()


def _scores(rng, spec, env):
    """Columns of class probabilities (a softmax of random logits): valid predictions y."""
    logits = spec.get("scale", 2.0) * rng.standard_normal(spec["shape"])
    axis = 0 if spec.get("layout", "columns") == "columns" else -1
    z = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _pixels(rng, spec, env):
    return rng.integers(0, 256, spec["shape"]).astype(np.uint8)


def _const(rng, spec, env):
    return np.array(spec["value"], dtype=spec.get("dtype")) if spec.get("array") else spec["value"]


def _copy(rng, spec, env):
    value = copy.deepcopy(env[spec["of"]])
    if "index" in spec:
        value = value[spec["index"]]
    return value


def _none(rng, spec, env):
    return None  # TOML has no null: `{ gen = "none" }` passes Python's None


GENERATORS: dict[str, Callable] = {
    "none": _none,
    "randn": _randn,
    "uniform": _uniform,
    "with_zeros": _with_zeros,
    "labels": _labels,
    "onehot": _onehot,
    "scores": _scores,
    "pixels": _pixels,
    "const": _const,
    "copy": _copy,
}


def _call_reference(spec: dict, env: dict, reference, seed: int):
    fn = getattr(reference, spec["function"])
    args = [resolve(arg, env) for arg in spec.get("args", [])]
    with contextlib.redirect_stdout(io.StringIO()):
        np.random.seed(spec.get("seed", seed))
        return fn(*args)


def make_inputs(let: dict[str, Any], seed: int, reference=None) -> dict[str, Any]:
    """Evaluate a check's `let` table in order."""
    rng = np.random.default_rng(seed)
    env: dict[str, Any] = {}
    for name, spec in let.items():
        if not isinstance(spec, dict):
            env[name] = spec
            continue
        kind = spec.get("gen")
        try:
            if kind == "ref":
                value = _call_reference(spec, env, reference, seed)
            elif kind in GENERATORS:
                value = GENERATORS[kind](rng, spec, env)
            else:
                raise InputError(f"input {name!r}: unknown generator {kind!r} (known: ref, {', '.join(GENERATORS)})")
        except KeyError as exc:
            raise InputError(f"input {name!r}: missing key {exc}") from None
        if spec.get("dtype") and isinstance(value, np.ndarray):
            value = value.astype(spec["dtype"])
        if spec.get("as_list"):
            value = np.asarray(value).tolist()
        if spec.get("as_tuple"):
            value = tuple(value)
        env[name] = value
    return env


def resolve(arg: Any, env: dict[str, Any]) -> Any:
    """A spec argument: a name bound in `let` (a string), or a literal value."""
    if isinstance(arg, str) and arg in env:
        return env[arg]
    if isinstance(arg, list):
        return [resolve(a, env) for a in arg]
    return arg


def describe(value: Any) -> str:
    """A short description of an input for feedback: dtype and shape, or the value."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {tuple(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    if isinstance(value, list):
        return f"list of {len(value)}" if len(value) > 4 else "[" + ", ".join(describe(v) for v in value) + "]"
    return repr(value)
