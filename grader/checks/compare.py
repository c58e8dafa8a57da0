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

from grader.checks import diagnose
from grader.run.wire import Opaque


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""
    diagnosis: str | None = None  # short id, e.g. "transposed"
    details: dict[str, Any] = field(default_factory=dict)


PASS = Verdict(True)


# The dtype policies a check may name (spec key `dtype`), as check_dtype applies them.
DTYPE_POLICIES = {
    "float": "floating point; integer values that are exactly right pass too",
    "float32": "float32 exactly (the task asks for it)",
    "float32-note": "float32 asked; other floats pass with a note (an older handout said float64)",
    "float64": "float64 exactly",
    "int": "integers; floats holding whole numbers pass too",
    "number": "any real numbers (bool, int, float)",
    "any": "not checked",
}


# The default tolerances and dtype policy of a check: the one place they are written (the spec's
# keys take their defaults from here; tests/test_compare.py pins what grading really applies).
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-8
DEFAULT_DTYPE = "float"


@dataclass(frozen=True)
class Policy:
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    dtype: str = DEFAULT_DTYPE  # one of DTYPE_POLICIES
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
    """Real numbers only: a complex item would lose its imaginary part in np.asarray(dtype=float)."""
    if isinstance(value, (list, tuple)) and value:
        return all(_numbers_only(v) or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value)
    return False


def as_scalar(value: Any) -> float | None:
    """A real number as a float, else None (a complex number is not one: float() would drop its imaginary part)."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    return None


# Type names of complex scalars, as the worker names an object it cannot send as a number.
COMPLEX_TYPES = ("complex", "complex64", "complex128", "complex256", "clongdouble", "csingle", "cdouble")


def is_complex(value: Any) -> bool:
    """A complex number, a complex array, or a list holding one (on this side or as the worker's Opaque)."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "c"
    if isinstance(value, Opaque):
        return value.type_name in COMPLEX_TYPES
    if isinstance(value, (list, tuple)):
        return any(is_complex(v) for v in value)
    return False


def is_object_array(value: Any) -> bool:
    """An array of Python objects (dtype=object), here or as the worker describes it."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "O"
    return isinstance(value, Opaque) and value.type_name == "ndarray" and "dtype=object" in value.text


def number_type_problem(student: Any, reference: Any, expected: str) -> Verdict | None:
    """Complex or object results where real numbers are expected: wrong whatever the values.

    `expected` is "a real array" or "a real number". Checked before any conversion to
    float, which would silently keep only the real part.
    """
    if is_complex(student) and not is_complex(reference):
        what = "complex numbers" if isinstance(student, (np.ndarray, list, tuple)) else "a complex number"
        return Verdict(False, f"returns {what}; {expected} is expected (a power such as x ** 0.5 of a negative Python number, or np.emath or np.fft?)",
                       "wrong-type", {"received_dtype": "complex"})
    if is_object_array(student):
        return Verdict(False, f"returns an array of Python objects (dtype=object); {expected} is expected "
                       "(rows of different lengths, or arrays or None inside the array?)", "wrong-type",
                       {"received_dtype": "object"})
    return None


def _prefixed(verdict: Verdict, where: str) -> Verdict:
    return Verdict(verdict.passed, where + verdict.message, verdict.diagnosis, verdict.details)


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
        expected = "a real array" if is_numeric_list(reference) or isinstance(reference, np.ndarray) else "a real number"
        if as_scalar(reference) is not None or expected == "a real array":
            problem = number_type_problem(student, reference, expected)
            if problem:
                return _prefixed(problem, where)
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
    problem = number_type_problem(student, reference, "a real number")
    if problem:
        return _prefixed(problem, where)
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
    problem = number_type_problem(student, reference, "a real array")
    if problem:
        return _prefixed(problem, where)
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
    return compare_values(student, reference, policy, where, details)


def compare_values(student: np.ndarray, reference: np.ndarray, policy: Policy, where: str, details: dict[str, Any]) -> Verdict:
    """Two numeric arrays of the same shape, within the policy's tolerances (looser for float32 work)."""
    if reference.dtype.kind == "c":  # a complex reference: compare as complex, never through float64
        if np.allclose(student.astype(np.complex128), reference, rtol=policy.rtol, atol=policy.atol, equal_nan=True):
            return PASS
        error = float(np.max(np.abs(student - reference)))
        return Verdict(False, f"{where}values differ (max error {error:.3g})", None, details)
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
    if wanted not in DTYPE_POLICIES:  # an unknown policy must not pass everything
        raise ValueError(f"unknown dtype policy {wanted!r} (known: {', '.join(DTYPE_POLICIES)})")
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
