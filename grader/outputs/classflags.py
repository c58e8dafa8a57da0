"""Copy flags judged against the class: an answer most correct students share is the task's, not a sign.

A `matches-reference` or `matches-handout` flag says one student's function is the official code up
to names and formatting. When the handout leaves little room (one natural way to write it), most
correct students write exactly that, and the flag would accuse all of them. So, across a class:
when at least `share` of the students whose function passes every one of its checks carry that
function's flag (and they are at least `minimum`), the flag is dropped for everyone, because the
class shows it is the usual answer. A single notebook (`grader check`) has no class and keeps its flags.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from grader.result import Result

COPY_FLAGS = ("matches-reference", "matches-handout")  # grader/pipeline/attention.py: copy_flags
SHARE = 0.9
MINIMUM = 5
_FUNCTION = re.compile(r"^cell \d+: (\S+) is the ")


def flagged_function(flag) -> str | None:
    """The graded function a copy flag names, or None for any other flag."""
    match = _FUNCTION.match(flag.detail) if flag.flag in COPY_FLAGS else None
    return match.group(1) if match else None


def common_answers(results: Sequence[Result], share: float = SHARE, minimum: int = MINIMUM) -> dict[str, tuple[int, int]]:
    """Functions whose official code is the class's usual correct answer: name -> (flagged, correct)."""
    correct: dict[str, set[str]] = {}
    for result in results:
        by_function: dict[str, list[bool]] = {}
        for test in result.tests:
            by_function.setdefault(test.function, []).append(test.status == "passed")
        for function, passed in by_function.items():
            if all(passed):
                correct.setdefault(function, set()).add(result.submission)
    flagged: dict[str, set[str]] = {}
    for result in results:
        for flag in result.integrity:
            function = flagged_function(flag)
            if function:
                flagged.setdefault(function, set()).add(result.submission)
    common = {}
    for function, students in correct.items():
        shared = len(flagged.get(function, set()) & students)
        if len(students) >= minimum and shared >= share * len(students):
            common[function] = (shared, len(students))
    return common


def without_common_copy_flags(results: Sequence[Result], share: float = SHARE, minimum: int = MINIMUM) -> list[Result]:
    """The class's results with the copy flags of its usual answers removed (unchanged results are the same objects)."""
    common = common_answers(results, share, minimum)
    if not common:
        return list(results)
    out = []
    for result in results:
        kept = tuple(f for f in result.integrity if flagged_function(f) not in common)
        out.append(result if len(kept) == len(result.integrity) else replace(result, integrity=kept))
    return out
