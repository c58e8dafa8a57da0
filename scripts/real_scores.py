"""The real-submission corpus (tests/resources/real) graded now, beside the careful TA's reading.

    python scripts/real_scores.py [--lean]

Prints, per file: the score (and as a fraction of 50, the scale expected.json uses), the TA's range,
whether it is inside, the attention reasons raised and those expected, and each function the TA reads
otherwise than the grader scores it. The numbers in the closing notes come from here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.pipeline.grade import Grader, Options  # noqa: E402
from grader.run.sandbox import Limits, SandboxConfig  # noqa: E402
from grader.checks.spec import load_spec  # noqa: E402

REAL = ROOT / "tests" / "resources" / "real"


def verdict_holds(verdict: str, tests) -> bool:
    charged = [t for t in tests if t.max_score > 0]
    got, top = sum(t.score for t in tests), sum(t.max_score for t in tests)
    return {"full": got == top and any(t.status == "passed" for t in tests),
            "zero": got == 0 and any(t.status != "passed" for t in charged),
            "given": all(t.max_score == 0 for t in tests),
            "not-attempted": got == 0,
            "partial": got < top or not charged}.get(verdict, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lean", action="store_true", help="grade with --lean")
    args = parser.parse_args()
    expected = {k: v for k, v in json.loads((REAL / "expected.json").read_text()).items() if not k.startswith("_")}
    graders: dict[str, Grader] = {}
    print("| file | score | of 50 | TA range | in range | attention raised | expected | functions read otherwise |")
    print("|---|---|---|---|---|---|---|---|")
    inside = 0
    for name in sorted(expected):
        entry = expected[name]
        assignment = entry["assignment"]
        if assignment not in graders:
            options = Options(limits=Limits(cell_timeout=20, notebook_timeout=300), sandbox=SandboxConfig(mode="auto"), lean=args.lean)
            graders[assignment] = Grader(load_spec(assignment), options)
        result = graders[assignment].grade(REAL / name)
        scaled = 50 * result.score / result.max_score if result.max_score else 0.0
        if entry["score"] == "manual":
            ok, shown = bool(result.attention), "manual"
        else:
            low, high = entry["score"]
            ok, shown = low - 1e-9 <= scaled <= high + 1e-9, f"{low}-{high}"
        inside += ok
        otherwise = []
        for function, verdict in entry["functions"].items():
            tests = [t for t in result.tests if t.function == function or (function.endswith(".*") and t.function.startswith(function[:-1]))]
            if verdict != "optional" and tests and not verdict_holds(verdict, tests):
                otherwise.append(f"{function} ({verdict}: {sum(t.score for t in tests):g}/{sum(t.max_score for t in tests):g})")
        raised = sorted({a.reason for a in result.attention})
        print(f"| {name} | {result.score:g}/{result.max_score:g} | {scaled:.1f} | {shown} | {'yes' if ok else 'no'} | "
              f"{', '.join(raised) or '-'} | {', '.join(entry.get('attention', [])) or '-'} | {'; '.join(otherwise) or '-'} |", flush=True)
    print(f"\n{inside} of {len(expected)} files inside the TA's range")


if __name__ == "__main__":
    main()
