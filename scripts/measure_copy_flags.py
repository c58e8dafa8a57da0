"""How often independent answers look copied: the evidence behind the copy flag's rule (issue 19 item 2).

    python scripts/measure_copy_flags.py

For every graded function of every notebook of the test corpora (hand-written styles, real public
submissions), the similarity of the student's definition to the reference's and the solution's, and
the length of its own code (what it adds to the handout's closest definition). A flag under the old
rule (whole function >= 240 normalised characters) and under the current one (own code >= 240).
The selftest solutions are left out: they ARE the solution.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.checks.spec import load_spec  # noqa: E402
from grader.notebook.definitions import defined_functions  # noqa: E402
from grader.notebook.fingerprint import function_fingerprint, similarity  # noqa: E402
from grader.notebook.load import NotebookError, load_notebook  # noqa: E402
from grader.pipeline.attention import MIN_FINGERPRINT  # noqa: E402
from grader.pipeline.grade import Grader, Options  # noqa: E402


def notebooks() -> list[tuple[str, Path]]:
    import json

    found = [("shallow-backprop", p) for p in sorted((ROOT / "tests/resources/corpus").iterdir())]
    found += [("shallow-backprop", p) for p in sorted((ROOT / "examples/shallow-backprop").rglob("*.ipynb"))]
    expected = json.loads((ROOT / "tests/resources/real/expected.json").read_text())
    found += [(e["assignment"], ROOT / "tests/resources/real" / n) for n, e in sorted(expected.items()) if not n.startswith("_")]
    return found


def main() -> int:
    graders: dict[str, Grader] = {}
    old, new, looked = Counter(), Counter(), 0
    for assignment, path in notebooks():
        grader = graders.setdefault(assignment, Grader(load_spec(assignment), Options()))
        try:
            defined = defined_functions(load_notebook(path))
        except NotebookError:
            continue
        for fn in grader.spec.functions:
            if fn.given or fn.name not in defined:
                continue
            mine = defined[fn.name][-1].source
            if grader.handout.is_handout_code(fn.name, mine):
                continue
            looked += 1
            best = max((similarity(mine, src, at_least=0.99) for _, src in grader.official_sources(fn.name)), default=0.0)
            if best < 0.99:
                continue
            if len(function_fingerprint(mine)) >= MIN_FINGERPRINT:
                old[f"{assignment}.{fn.name}"] += 1
            own = grader.handout.own_code_length(mine)
            if own >= MIN_FINGERPRINT and own >= len(function_fingerprint(mine)) / 2:
                new[f"{assignment}.{fn.name}"] += 1
    print(f"{looked} definitions of graded functions looked at")
    print(f"matches-* flags, old rule (whole function): {sum(old.values())}  {dict(old)}")
    print(f"matches-* flags, own code only:             {sum(new.values())}  {dict(new)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
