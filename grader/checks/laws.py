"""Random initialisers judged by the law of their draws, as a TA reads them, not by their values.

A check with `draws` (spec key, grader/checks/speckeys.py) names each array its call draws at
random (an attribute in `read_attrs`, an item of the function's `returns`, or "return") with the
law the handout asks for. The values are judged against that law, never against the reference's
own draws: constant weights (the hidden units stay identical), a range or spread other than the
handout's, non-zero biases where it asks for zeros. With `repeat` >= 2 every call's draws are
read back, and two calls in a row (the generator's state moving on) must not draw the same values.

The statistical bounds are wide (six standard errors, normality judged only on thousands of
values): a correct initialiser fails them with negligible probability, seeded or not.
Pure numpy, like judging.py: the student kit vendors this file.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

# law -> (what it means, {parameter: what it means}); the spec's documentation and validation read this table.
LAWS: dict[str, tuple[str, dict[str, str]]] = {
    "normal": ("drawn from a normal distribution, centred on `mean`",
               {"std": "its standard deviation (left out: any)", "mean": "its mean (default 0)"}),
    "uniform": ("drawn uniformly from (low, high), covering that range", {"low": "lower end", "high": "upper end"}),
    "zeros": ("all zero (biases the handout sets to 0)", {}),
    "bounded": ("random values within [-bound, bound], the handout leaving the law open",
                {"bound": "largest magnitude allowed", "constant_ok": "true: one value repeated is fine (biases)"}),
}
# The causes a law names (diagnosis ids): read off the draws of this very call, not a transformation to confirm elsewhere.
CAUSES = ("init-constant", "init-out-of-range", "init-spread", "init-off-centre", "init-not-normal", "init-bias-not-zero",
          "init-same-every-call", "init-missing", "init-not-array")
Z = 6.0  # standard errors a statistic may stray before a draw is judged wrong
NORMALITY_MIN = 5000  # values needed before the shape of a normal is judged (excess kurtosis)


def table_problem(table: Any) -> str | None:
    """What is wrong with a `draws` table, or None."""
    if not isinstance(table, dict) or not table:
        return "draws is not a table of name = { law = ... }"
    for name, law in table.items():
        if not isinstance(law, dict) or law.get("law") not in LAWS:
            return f"draws.{name} needs law = one of {', '.join(LAWS)}"
        known = LAWS[law["law"]][1]
        for param, value in law.items():
            if param != "law" and param not in known:
                return f"draws.{name}.{param} is not read by law \"{law['law']}\" (it reads: {', '.join(known) or 'nothing'})"
            if param == "constant_ok" and not isinstance(value, bool):
                return f"draws.{name}.constant_ok is not true or false"
            if param != "constant_ok" and param != "law" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"draws.{name}.{param} is not a number"
        if law["law"] == "uniform" and not (law.get("low", 0) < law.get("high", 0)):
            return f"draws.{name} needs low < high"
        if law.get("std", 1) <= 0 or law.get("bound", 1) <= 0 or (law["law"] == "bounded" and "bound" not in law):
            return f"draws.{name} needs a positive std or bound"
    return None


# ------------------------------------------------------------------ one array against its law


def _identical_units(values: np.ndarray) -> str:
    return ", so the hidden units start identical and stay identical (no gradient can tell them apart)" \
        if values.ndim == 2 and min(values.shape) > 1 else ""


def _normal(name: str, v: np.ndarray, law: dict) -> tuple[str, str] | None:
    mean, std = float(law.get("mean", 0.0)), law.get("std")
    m, s, n = float(v.mean()), float(v.std()), v.size
    if std is not None and abs(s / std - 1) > Z / math.sqrt(2 * (n - 1)):
        return "init-spread", (f"{name} has standard deviation {s:.4g} where the handout's N({mean:g}, {std:.4g}^2) has "
                               f"{std:.4g} (a factor {s / std:.3g}): a scaling left out or the wrong one")
    if abs(m - mean) > Z * (std or s) / math.sqrt(n):
        return "init-off-centre", f"{name} has mean {m:.3g}: draws from a normal distribution centred on {mean:g} average about {mean:g}"
    if n >= NORMALITY_MIN:
        kurtosis = float(np.mean(((v - m) / s) ** 4)) - 3.0
        if abs(kurtosis) > max(Z * math.sqrt(24.0 / n), 0.5):
            return "init-not-normal", (f"{name} does not look normally distributed (excess kurtosis {kurtosis:.2f}; a normal "
                                       "has 0, a uniform -1.2): the handout asks for a normal draw (np.random.randn)")
    return None


def _uniform(name: str, v: np.ndarray, law: dict) -> tuple[str, str] | None:
    low, high = float(law["low"]), float(law["high"])
    width, lo, hi = high - low, float(v.min()), float(v.max())
    if lo < low - 1e-6 * width or hi > high + 1e-6 * width:
        return "init-out-of-range", f"{name} has values from {lo:.4g} to {hi:.4g}, outside the range ({low:g}, {high:g}) the handout asks"
    reach = 1 - 1e-9 ** (1 / v.size)  # a fair draw of this many values misses this end fraction with probability 1e-9
    if lo > low + reach * width or hi < high - reach * width:
        return "init-spread", f"{name} only spans {lo:.4g} to {hi:.4g}: uniform draws on ({low:g}, {high:g}) cover the whole range"
    return None


def _bounded(name: str, v: np.ndarray, law: dict) -> tuple[str, str] | None:
    bound, top = float(law["bound"]), float(np.max(np.abs(v)))
    if top > bound * (1 + 1e-6):
        return "init-out-of-range", (f"{name} has values as large as {top:.3g}: small random weights stay within "
                                     f"+-{bound:g} (large ones saturate the sigmoids)")
    return None


def law_problem(name: str, value: Any, law: dict) -> tuple[str, str] | None:
    """(diagnosis, sentence) when one array breaks its law, else None."""
    try:
        values = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return "init-not-array", f"{name} is not an array of numbers ({type(value).__name__})"
    v = values.ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        return "init-not-array", f"{name} is empty or holds NaN/inf"
    if law["law"] == "zeros":
        if np.any(v != 0):
            return "init-bias-not-zero", f"{name} is not zero (values {v.min():.3g} to {v.max():.3g}): the handout sets these biases to 0"
        return None
    if v.size > 1 and v.min() == v.max() and not law.get("constant_ok"):
        what = "zero" if v[0] == 0 else f"{v[0]:.4g}"
        return "init-constant", f"every value of {name} is the same ({what}){_identical_units(values)}"
    check = {"normal": _normal, "uniform": _uniform, "bounded": _bounded}[law["law"]]
    return check(name, v, law) if v.size > 1 else None


# ------------------------------------------------------------------ a whole observation


def _part(observation: dict, name: str, labels: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, value) of a named array: an attribute or global read back, an item of the return, or the return."""
    for part in ("attrs", "globals"):
        table = observation.get(part) or {}
        if name in table:
            return True, table[name]
    ret = observation.get("return")
    if name == "return":
        return True, ret
    if isinstance(ret, dict) and name in ret:
        return True, ret[name]
    if isinstance(ret, (list, tuple)) and name in labels and len(ret) == len(labels):
        return True, ret[labels.index(name)]
    return False, None


def judge_draws(table: dict, observation: dict, labels: tuple[str, ...] = ()) -> tuple[bool, str, str | None]:
    """(passed, message, diagnosis) for the draws of one check: each array against its law, then call against call."""
    draws = observation.get("draws") or [observation]
    seen: dict[str, list] = {}
    for name in table:
        found = [_part(obs, name, labels) for obs in draws]
        if not all(ok for ok, _ in found):
            return False, f"{name} is not in what it returns or sets", "init-missing"
        seen[name] = [value for _, value in found]
    if all(v is None for values in seen.values() for v in values):
        return False, "not attempted: nothing is set", "not-attempted"
    for name, law in table.items():
        for value in seen[name]:
            problem = law_problem("the array it returns" if name == "return" else name, value, law)
            if problem:
                return False, problem[1], problem[0]
    if len(draws) > 1:
        random = [n for n, law in table.items() if law["law"] != "zeros" and not law.get("constant_ok")]
        same = [n for n in random if all(np.array_equal(np.asarray(seen[n][0]), np.asarray(v)) for v in seen[n][1:])]
        if same:
            return False, (f"{', '.join(same)}: the same values at every call (the generator's state moving on between "
                           "calls): seeded inside the function (np.random.seed) or drawn once outside it, so every network "
                           "starts the same"), "init-same-every-call"
    return True, "", None
