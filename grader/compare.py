"""Compare what the student's code returned with what the reference returned.

An ordered series, stopping at the first thing that is wrong, each step
with a got/expected message: present -> not None -> plain data -> structure
(tuple length, dict keys) -> shape -> dtype -> finite -> values within
tolerance. The names `student` and `reference` are used for the two sides
everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader import diagnose
from grader.worker import Opaque


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""
    diagnosis: str | None = None  # short id, e.g. "transposed"
    details: dict[str, Any] = field(default_factory=dict)


PASS = Verdict(True)


@dataclass(frozen=True)
class Policy:
    rtol: float = 1e-6
    atol: float = 1e-8
    dtype: str = "float"  # "float" | "float32" | "float64" | "int" | "number" | "any"
    labels: tuple[str, ...] = ()  # names of the items of a returned tuple, e.g. ("W1", "b1", "W2", "b2")


def is_numeric_list(value: Any) -> bool:
    """A (nested) list of numbers with a rectangular shape, so it compares as one array."""
    if not _numbers_only(value):
        return False
    try:
        np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        return False  # ragged: (dW, db, dV, dc) compares item by item
    return True


def _numbers_only(value: Any) -> bool:
    if isinstance(value, (list, tuple)) and value:
        return all(_numbers_only(v) or isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)
    return False


def as_scalar(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.number)):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    return None


def kind_of(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        return f"a {value.type_name} object"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    return f"a {type(value).__name__}"


def compare(student: Any, reference: Any, policy: Policy, path: str = "") -> Verdict:
    """Compare two values (nested tuples, lists, dicts, arrays, numbers) in order."""
    where = f"{path}: " if path else ""
    if student is None and reference is not None:
        return Verdict(False, f"{where}returned None; expected {kind_of(reference)}. Is a `return` missing?", "returns-none")
    if isinstance(student, Opaque):
        return Verdict(False, f"{where}returned {kind_of(student)} ({student.text}); expected {kind_of(reference)}", "wrong-type")
    if isinstance(reference, dict):
        if not isinstance(student, dict):
            return Verdict(False, f"{where}returned {kind_of(student)}; expected {kind_of(reference)}", "wrong-type")
        missing = [k for k in reference if k not in student]
        if missing:
            return Verdict(False, f"{where}the dict has no key(s) {missing}; expected keys {sorted(reference)}", "missing-keys")
        for key, value in reference.items():
            verdict = compare(student[key], value, policy, f"{path}[{key!r}]" if path else repr(key))
            if not verdict.passed:
                return verdict
        return PASS
    if is_numeric_list(reference) or isinstance(reference, np.ndarray):
        return compare_arrays(student, reference, policy, path)
    if isinstance(reference, (tuple, list)):
        if not isinstance(student, (tuple, list)):
            return Verdict(False, f"{where}returned {kind_of(student)}; expected {kind_of(reference)}", "wrong-type")
        if len(student) != len(reference):
            return Verdict(False, f"{where}returned {len(student)} values; expected {len(reference)}", "wrong-length")
        for i, (s, r) in enumerate(zip(student, reference)):
            label = policy.labels[i] if not path and i < len(policy.labels) else f"{path}[{i}]"
            verdict = compare(s, r, policy, label)
            if not verdict.passed:
                return verdict
        return PASS
    ref_scalar = as_scalar(reference)
    if ref_scalar is not None:
        return compare_scalars(student, ref_scalar, policy, path)
    if student == reference:
        return PASS
    return Verdict(False, f"{where}returned {student!r}; expected {reference!r}", "wrong-value")


def compare_scalars(student: Any, reference: float, policy: Policy, path: str) -> Verdict:
    where = f"{path}: " if path else ""
    value = as_scalar(student)
    if value is None:
        return Verdict(False, f"{where}returned {kind_of(student)}; expected a single number", "wrong-type")
    details = {"expected": reference, "received": value}
    if not np.isfinite(value) and np.isfinite(reference):
        return Verdict(False, f"{where}returned {value}; expected {reference:.6g}", "not-finite", details)
    if np.isclose(value, reference, rtol=max(policy.rtol, 1e-7), atol=policy.atol):
        return PASS
    cause = diagnose.scalar_relation(value, reference)
    text = f"{where}returned {value:.6g}; expected {reference:.6g}"
    if cause:
        text += f" ({cause[1]})"
        details["diagnosis_text"] = cause[1]
    return Verdict(False, text, cause[0] if cause else None, details)


def compare_arrays(student: Any, reference: Any, policy: Policy, path: str) -> Verdict:
    where = f"{path}: " if path else ""
    reference = np.asarray(reference)
    if isinstance(student, (list, tuple)) and is_numeric_list(list(student)):
        student = np.asarray(student)
    elif as_scalar(student) is not None and not isinstance(student, np.ndarray):
        student = np.asarray(student)
    if not isinstance(student, np.ndarray):
        return Verdict(False, f"{where}returned {kind_of(student)}; expected {kind_of(reference)}", "wrong-type")
    details: dict[str, Any] = {
        "expected_shape": list(reference.shape),
        "received_shape": list(student.shape),
        "expected_dtype": str(reference.dtype),
        "received_dtype": str(student.dtype),
    }
    if student.shape != reference.shape:
        if student.size == reference.size == 1:
            student = student.reshape(reference.shape)
        else:
            cause = diagnose.shape_relation(student, reference)
            text = f"{where}shape {tuple(student.shape)}; expected {tuple(reference.shape)}"
            if cause:
                text += f" ({cause[1]})"
                details["diagnosis_text"] = cause[1]
            return Verdict(False, text, cause[0] if cause else "wrong-shape", details)
    dtype_problem = check_dtype(student, reference, policy)
    if dtype_problem:
        return Verdict(False, f"{where}{dtype_problem}", "wrong-dtype", details)
    if student.dtype.kind not in "biufc":
        return Verdict(False, f"{where}returned a {student.dtype} array; expected numbers", "wrong-dtype", details)
    s = student.astype(np.float64)
    r = reference.astype(np.float64)
    rtol, atol = policy.rtol, policy.atol
    if student.dtype == np.float32 and reference.dtype != np.float32:
        rtol, atol = max(rtol, 2e-4), max(atol, 2e-5)  # float32 work carries ~7 digits
    bad_student = ~np.isfinite(s)
    if np.any(bad_student & np.isfinite(r)):
        details.update(diagnose.error_statistics(np.where(np.isfinite(s), s, np.nan), r))
        count = int(np.sum(bad_student & np.isfinite(r)))
        return Verdict(False, f"{where}{count} of {s.size} values are NaN or inf where the reference is finite", "not-finite", details)
    close = np.isclose(s, r, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return PASS
    details.update(diagnose.error_statistics(s, r, close))
    cause = diagnose.array_relation(s, r, rtol, atol)
    text = (
        f"{where}{details['mismatch_count']} of {s.size} values differ "
        f"(max error {details['max_abs_error']:.3g} at index {tuple(details['worst_index'])}, "
        f"mean error {details['mean_abs_error']:.3g})"
    )
    if cause:
        text += f"; {cause[1]}"
        details["diagnosis_text"] = cause[1]
    return Verdict(False, text, cause[0] if cause else None, details)


def check_dtype(student: np.ndarray, reference: np.ndarray, policy: Policy) -> str | None:
    kind = student.dtype.kind
    wanted = policy.dtype
    if wanted == "any":
        return None
    if wanted == "float32" and student.dtype != np.float32:
        return f"dtype {student.dtype}; expected float32 (the task asks for float32)"
    if wanted == "float64" and student.dtype != np.float64:
        return f"dtype {student.dtype}; expected float64"
    if wanted in ("float", "float32-note") and kind not in "fc":
        if kind in "iub" and np.array_equal(student, reference):
            return None  # integer values that are exactly right are right
        return f"dtype {student.dtype}; expected floating point (integer arithmetic loses the fractions)"
    if wanted == "int" and kind not in "iu":
        if kind == "f" and np.all(np.mod(student, 1) == 0):
            return None
        return f"dtype {student.dtype}; expected integers"
    if wanted == "number" and kind not in "biuf":
        return f"dtype {student.dtype}; expected numbers"
    return None
