"""Text helpers of the pages: points, error statistics, durations, shapes, attention reasons in words."""
from __future__ import annotations

import math
from typing import Any

from grader.result import Result
from grader.outputs.summary import attention_words


def fmt_points(x: Any) -> str:
    """41.5 -> '41.5', 50.0 -> '50', nan -> 'nan'."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2f}".rstrip("0").rstrip(".")


def fmt_number(x: Any) -> str:
    """Error statistics: 4 significant digits, scientific when tiny or huge."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x) or x == 0:
        return str(x) if x != 0 else "0"
    return f"{x:.4g}"


def fmt_seconds(x: float) -> str:
    """12.34 -> '12.3 s'; from two minutes on, minutes and seconds."""
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {x % 60:.0f} s"


def percent(score: float, max_score: float) -> float:
    """Score as a percentage of the maximum; 0 when there is no maximum."""
    return 100.0 * score / max_score if max_score > 0 else 0.0


def sentence(text: str) -> str:
    """'kernel died.' -> 'Kernel died' (the template adds the full stop)."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def shape_text(value: Any) -> str:
    """An array shape as Python writes it: [3] -> '(3,)', [] -> '() (a scalar)'."""
    if isinstance(value, (list, tuple)) and not value:
        return "() (a scalar)"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def attention_entries(result: Result) -> list[dict[str, str]]:
    """The result's attention entries, each with its reason in words."""
    return [{"reason": a.reason, "words": attention_words(a.reason), "detail": a.detail} for a in result.attention]


def attention_reasons(result: Result) -> list[dict[str, str]]:
    """The distinct reasons (id and words), in the order they were found: what the overview lists."""
    reasons = dict.fromkeys(a.reason for a in result.attention)
    return [{"reason": r, "words": attention_words(r)} for r in reasons]
