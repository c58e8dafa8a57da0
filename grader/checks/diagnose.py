"""Name the likely cause when a known transformation explains a wrong answer.

Each function returns `(diagnosis_id, sentence)` or None. Ids are short and
stable (reports count them across a class); sentences are what a student reads.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# Factors worth a name: (value, id, sentence)
NAMED_FACTORS = (
    (100.0, "percent-vs-fraction", "it is 100 times too large: a percentage where a fraction is wanted?"),
    (0.01, "fraction-vs-percent", "it is 100 times too small: a fraction where a percentage (0-100) is wanted?"),
    (-1.0, "sign-flipped", "every value has the wrong sign"),
    (10.0, "factor-10", "it is 10 times too large: averaged over the samples only, not over the 10 classes too?"),
    (0.1, "factor-0.1", "it is 10 times too small (off by the number of classes)"),
    (2.0, "factor-2", "it is twice the expected value"),
    (0.5, "factor-0.5", "it is half the expected value"),
)


def scalar_relation(student: float, reference: float) -> tuple[str, str] | None:
    if reference == 0 or not np.isfinite(student):
        return None
    return factor_name(student / reference)


def factor_name(ratio: float, sizes: tuple[int, ...] = ()) -> tuple[str, str] | None:
    for value, ident, sentence in NAMED_FACTORS:
        if np.isclose(ratio, value, rtol=1e-3):
            return ident, sentence
    for n in sizes:
        if n > 2 and np.isclose(ratio, n, rtol=1e-3):
            return "factor-n", f"it is {n} times too large: a sum where a mean over the {n} samples is wanted?"
        if n > 2 and np.isclose(ratio, 1.0 / n, rtol=1e-3):
            return "factor-1/n", f"it is {n} times too small: divided by the {n} samples once too often?"
    if np.isfinite(ratio) and abs(ratio) > 0 and not np.isclose(ratio, 1.0, rtol=1e-3):
        return "constant-factor", f"it is the expected value times {ratio:.4g}"
    return None


def shape_relation(student: np.ndarray, reference: np.ndarray) -> tuple[str, str] | None:
    s, r = student.shape, reference.shape
    if s == r[::-1] and len(s) == 2:
        if student.dtype.kind in "biuf" and np.allclose(student.T, reference, rtol=1e-5, atol=1e-7):
            return "transposed", "the values are right but transposed"
        return "transposed-shape", "the shape is transposed"
    if len(r) == 2 and 1 in r and len(s) == 2 and s[0] == s[1] == max(r):
        return "missing-keepdims", (
            f"an ({s[0]}, {s[1]}) result from broadcasting an ({r[0]},) vector against an ({r[0]}, 1) column: "
            "keep the summed axis (keepdims=True or reshape)"
        )
    if student.size == reference.size:
        if np.allclose(student.reshape(reference.shape), reference, rtol=1e-5, atol=1e-7):
            return "reshaped", f"the values are right but shaped {s} instead of {r}"
        return "wrong-shape", "same number of values, arranged differently"
    if len(r) >= 1 and len(s) >= 1 and s[1:] == r[1:] and s[0] != r[0]:
        return "wrong-size", f"{s[0]} rows instead of {r[0]}: a size taken from the wrong layer or input?"
    if len(r) == 2 and len(s) == 2 and s[0] == r[0] and s[1] != r[1]:
        return "wrong-size", f"{s[1]} columns instead of {r[1]}: a size taken from the wrong layer or input?"
    return None


def array_relation(student: np.ndarray, reference: np.ndarray, rtol: float, atol: float) -> tuple[str, str] | None:
    """A transformation of the reference that reproduces the student's array."""
    if student.ndim == 2 and student.shape[0] == student.shape[1] and np.allclose(student, reference.T, rtol=rtol, atol=atol):
        return "transposed", "the values are right but transposed"
    norm = float(np.dot(reference.ravel(), reference.ravel()))
    if norm > 0:
        ratio = float(np.dot(student.ravel(), reference.ravel()) / norm)
        if np.allclose(student, ratio * reference, rtol=1e-4, atol=atol * max(1.0, abs(ratio))):
            named = factor_name(ratio, tuple(sorted(set(reference.shape), reverse=True)))
            if named:
                return named
    if student.ndim == 2 and np.all(reference > 0) and np.all(np.isclose(reference.sum(axis=0), 1.0)):
        if np.isclose(student.sum(), 1.0) and not np.allclose(student.sum(axis=0), 1.0):
            return "normalised-whole-batch", "normalised over the whole batch instead of per sample (per column)"
        if np.allclose(student.sum(axis=1), 1.0):
            return "normalised-wrong-axis", "normalised along the wrong axis: rows sum to one, not columns"
    if student.ndim == 2 and np.all(reference > 0) and np.all(np.isclose(reference.sum(axis=-1), 1.0)):
        if np.allclose(student.sum(axis=0), 1.0) and not np.allclose(student.sum(axis=-1), 1.0):
            return "normalised-wrong-axis", "normalised along the wrong axis: columns sum to one, not rows"
    if np.allclose(student, np.zeros_like(student)):
        return "all-zero", "every value is zero"
    return None


def error_statistics(student: np.ndarray, reference: np.ndarray, close: np.ndarray | None = None) -> dict[str, Any]:
    """Where and by how much two same-shape arrays differ, with a small grid for a heatmap."""
    diff = np.abs(student - reference)
    diff = np.where(np.isnan(diff), np.inf, diff)
    if close is None:
        close = diff <= 1e-8
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    finite = diff[np.isfinite(diff)]
    stats = {
        "max_abs_error": float(np.max(diff)) if diff.size else 0.0,
        "mean_abs_error": float(np.mean(finite)) if finite.size else float("inf"),
        "mismatch_count": int(np.sum(~close)),
        "mismatch_fraction": float(np.mean(~close)) if close.size else 0.0,
        "worst_index": [int(i) for i in worst],
    }
    if student.size and (student.ndim == 1 or student.ndim == 2):
        stats["diff_grid"] = diff_grid(np.where(np.isfinite(diff), diff, np.nanmax(finite) if finite.size else 1.0))
        if worst:
            stats["worst_expected"] = float(reference[worst])
            stats["worst_received"] = float(student[worst]) if np.isfinite(student[worst]) else str(student[worst])
    return stats


def diff_grid(diff: np.ndarray, cells: int = 24) -> list:
    """|student - reference| pooled (max) into at most cells x cells, scaled to [0, 1]."""
    top = float(diff.max()) if diff.size else 0.0
    scale = top if top > 0 else 1.0
    if diff.ndim == 1:
        chunks = np.array_split(diff, min(cells, diff.size))
        return [round(float(c.max()) / scale, 3) for c in chunks]
    row_starts = [r[0] for r in np.array_split(np.arange(diff.shape[0]), min(cells, diff.shape[0]))]
    col_starts = [c[0] for c in np.array_split(np.arange(diff.shape[1]), min(cells, diff.shape[1]))]
    pooled = np.maximum.reduceat(np.maximum.reduceat(diff, row_starts, axis=0), col_starts, axis=1)
    return [[round(float(v) / scale, 3) for v in row] for row in pooled]


def equals_input(student: Any, inputs: list[Any]) -> int | None:
    """Index of an input argument the student's result is identical to (a stub or a no-op)."""
    for i, value in enumerate(inputs):
        try:
            if type(student) is type(value) or (isinstance(student, tuple) and isinstance(value, tuple)):
                if _deep_equal(student, value):
                    return i
        except Exception:
            continue
    return None


def _deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and len(a) > 0 and all(_deep_equal(x, y) for x, y in zip(a, b))
    return False
