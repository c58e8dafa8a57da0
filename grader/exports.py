"""`python -m grader.exports gradescope RESULT.json RESULTS.json [--error-file F]`.

A shim kept for Gradescope autograder images built before `grader gradescope-result`
existed: it only forwards to the command line. The exports themselves live in
grader/outputs/exports.py.
"""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m grader.exports gradescope RESULT.json RESULTS.json [--error-file F]`: kept for
    autograder images built before `grader gradescope-result`, which it now is (grader/cli.py)."""
    from grader.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "gradescope":
        print("usage: python -m grader.exports gradescope RESULT.json RESULTS.json [--error-file FILE]", file=sys.stderr)
        return 2
    return cli_main(["gradescope-result", *args[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
