"""The command line's grammar: every command, its options and an example (grader/cli.py runs them)."""
from __future__ import annotations

import argparse
import os

EXAMPLES = {
    "list": "grader list",
    "check": "grader check my_notebook.ipynb            # the assignment is read from the notebook\n"
    "  grader check hw.py -a shallow-backprop --json out.json --html out.html\n"
    "  grader check hw.ipynb --defs-only                # skip top-level training: a quick self-check",
    "grade": "grader grade submissions/ -a shallow-backprop -o reports/ -j 2\n"
    "  grader grade submissions/ -a shallow-backprop --cluster tcp://scheduler:8786   # or --cluster local:4\n"
    "  (submissions/: one folder per student, as LMS exports come, or flat notebooks)",
    "selftest": "grader selftest                 # every assignment\n  grader selftest -a shallow-backprop --quick",
    "export": "grader export -o reports/ --format canvas",
    "release": "grader release -a shallow-backprop -o handout/\n  grader release -a mycourse/hw1 -o handout/     # a course's own folder",
    "new": "grader new conv1d --from conv1d_solution.ipynb -o mycourse/conv1d\n  grader selftest -a mycourse/conv1d   # what is still to do",
    "gradescope-result": "grader gradescope-result /tmp/result.json /autograder/results/results.json --error-file /tmp/stderr.txt",
    "review": "grader review -o reports/               # prints http://127.0.0.1:PORT/?token=...\n"
    "  grader review -o reports/ -a mlp-scalar-to-tensor --who alice --port 8765",
}



def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell-timeout", type=float, default=60.0, metavar="S", help="seconds a cell may run (default 60)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds the whole notebook may run (default 600)")
    parser.add_argument("--memory", type=float, default=2.0, metavar="GIB", help="memory cap of the notebook's process in GiB (default 2)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto", help="OS isolation (default auto: bubblewrap once it has been seen to start Python; `grade` refuses to run without it unless --sandbox none)")
    parser.add_argument("--data", default=None, metavar="SOURCE", help="data served to notebooks: embedded (default), fashion, or a folder of idx files (env GRADER_DATA)")
    parser.add_argument("--subsample", type=int, default=None, metavar="N", help="serve only the first N training images (faster grading)")
    parser.add_argument("--defs-only", action="store_true", help="run only definitions (imports, functions, classes, constants): skips top-level training")
    parser.add_argument("--lean", action="store_true", help="leave out the top-level statements no graded function can observe (training runs, prints, plots); "
                        "everything a function reads, and whatever may change it, still runs; the report lists what was left out")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade neural-network homework notebooks against a trusted NumPy reference.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        made = sub.add_parser(name, help=help_text, description=help_text, epilog="example:\n  " + EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter)
        made.add_argument("--assignments", action="append", metavar="DIR",
                          help="a folder of a course's own assignments, found by id (repeatable; env GRADER_ASSIGNMENTS=DIR1:DIR2)")
        return made

    command("list", "List the assignments with their graded functions and points.")

    check = command("check", "Grade one notebook and print what works, what does not, and why.")
    check.add_argument("notebook", help=".ipynb file, or a .py export")
    check.add_argument("-a", "--assignment", help="assignment id or folder (read from the notebook when left out)")
    check.add_argument("--json", metavar="PATH", help="write the result JSON here")
    check.add_argument("--html", metavar="PATH", help="write the HTML report here")
    check.add_argument("--student", action="store_true", help="print what a student may see: visible checks only, no integrity or similarity flags")
    _add_run_options(check)

    grade = command("grade", "Grade notebooks or folders of them; write reports, gradebook and exports.")
    grade.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, or folders of them (a folder per student, or flat)")
    grade.add_argument("-a", "--assignment", required=True, help="assignment id, or a course's own assignment folder")
    grade.add_argument("-o", "--outdir", default="reports", help="output folder (default reports/)")
    grade.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1, help="notebooks graded at once (default: the number of cores)")
    grade.add_argument("--cluster", metavar="ADDRESS", help="grade on a Dask cluster: a scheduler address (tcp://host:8786) or local:N for N local worker processes (pip install -e \".[cluster]\")")
    grade.add_argument("--dry-run", action="store_true", help="read the input and say what it holds (notebooks, folders without one, several), then stop")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded with the same notebook, spec, grader and options")
    _add_run_options(grade)

    selftest = command("selftest", "Prove the reference solutions earn full marks and every banked mistake is caught and named.")
    selftest.add_argument("-a", "--assignment", help="one assignment, by id or folder (default: all); a folder still being written gets a checklist of what is left")
    selftest.add_argument("--quick", action="store_true", help="solutions only, no mistake bank")
    selftest.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1, help="notebooks graded at once (default: the number of cores)")
    selftest.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto", help="OS isolation (default auto: bubblewrap once it has been seen to start Python)")

    export = command("export", "Rewrite grades.csv, canvas.csv, Gradescope results and index.html from the gradebook.")
    export.add_argument("-o", "--outdir", default="reports", help="the folder holding gradebook.sqlite (default reports/)")
    export.add_argument("--format", choices=("all", "csv", "canvas", "gradescope"), default="all")
    export.add_argument("-a", "--assignment", help="a course's own assignment folder (the gradebook names it by id)")

    _add_after_grading(command)
    return parser


def _add_after_grading(command) -> None:
    """The commands around a graded class: Gradescope, manual review, the student kit, a new assignment."""
    gradescope = command("gradescope-result", "Gradescope's results.json from one `grader check --json` result (inside Gradescope's container).")
    gradescope.add_argument("result", metavar="RESULT.json", help="written by grader check --json")
    gradescope.add_argument("target", metavar="RESULTS.json", help="where Gradescope reads the score (/autograder/results/results.json)")
    gradescope.add_argument("--error-file", metavar="FILE", help="grader check's stderr: the explanation when RESULT.json is missing or unreadable")

    review = command("review", "Grade the written answers, plots and discussions by hand, on a local web page over a graded class.")
    review.add_argument("-o", "--outdir", default="reports", help="the folder holding gradebook.sqlite (default reports/)")
    review.add_argument("-a", "--assignment", help="assignment id or folder (needed when the gradebook holds several)")
    review.add_argument("--who", help="the name recorded with each grade (default: your user name)")
    review.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    review.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")

    release = command("release", "Write the student kit: the notebook (solutions removed), the check pack of the public checks and the nncheck checker.")
    release.add_argument("-a", "--assignment", required=True, help="assignment id or folder")
    release.add_argument("-o", "--outdir", default=".", help="where to write it (default: here)")

    new = command("new", "Start a course's own assignment folder from a solution notebook (its ### BEGIN SOLUTION regions).")
    new.add_argument("id", help="the new assignment's id: lower-case letters, digits and dashes")
    new.add_argument("--from", dest="solution", required=True, metavar="SOLUTION.ipynb", help="the solution notebook")
    new.add_argument("-o", "--outdir", default=None, help="the folder to write (default: ./ID)")
