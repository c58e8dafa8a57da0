"""The command line: a thin layer that turns library results and errors into text and exit codes.

Exit codes: 0 grading happened (whatever the score); 2 unusable input or
usage, with one line on stderr; 1 an internal fault (GRADER_DEBUG=1 shows the traceback).
"""
from __future__ import annotations

import os
from dataclasses import replace
import sys
import traceback
from pathlib import Path

from grader.cli_args import build_parser

class UsageError(Exception):
    """Bad input or usage: printed as one line, exit 2."""


class InternalFault(Exception):
    """The grader or the machine failed: printed as one line, exit 1."""


def resolve_sandbox(options, refuse_fallback: bool):
    """Prove the isolation works once, before any notebook runs; the options then carry it."""
    from grader.run.execute import HarnessFault, resolve_isolation
    from grader.run.sandbox import SandboxError

    try:
        isolation, why_not = resolve_isolation(options.sandbox.mode, options.limits)
    except (SandboxError, HarnessFault) as exc:
        raise UsageError(str(exc)) from None
    if why_not and refuse_fallback:
        raise UsageError(
            f"bubblewrap cannot isolate other people's notebooks here ({why_not}); install it "
            "(apt-get install bubblewrap) or pass --sandbox none to accept running them with resource limits only")
    if why_not:
        print(f"grader: warning: running without bubblewrap ({why_not}); resource limits only", file=sys.stderr)
    return replace(options, isolation=isolation)


def options_from(args):
    from grader.pipeline.grade import Options
    from grader.run.sandbox import Limits, SandboxConfig

    for name in ("cell_timeout", "timeout", "memory"):
        if getattr(args, name) <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    if args.data is not None or os.environ.get("GRADER_DATA"):
        from reference.data import IdxError, resolve_data_dir

        try:
            resolve_data_dir(args.data)
        except (IdxError, OSError) as exc:
            raise UsageError(f"--data: {exc}") from None
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.timeout, memory_bytes=int(args.memory * 1024**3))
    return Options(limits=limits, sandbox=SandboxConfig(mode=args.sandbox, data_source=args.data, subsample=args.subsample), defs_only=args.defs_only, lean=args.lean)


def assignments_or_usage() -> list[str]:
    """Every assignment this grader knows; none is a usage error (a CI job must not pass having tested nothing)."""
    from grader.checks.spec import ASSIGNMENTS_DIR, list_assignments

    found = list_assignments()
    if not found:
        raise UsageError(f"no assignment found (looked in {ASSIGNMENTS_DIR}): reinstall the grader, or name one with -a FOLDER")
    return found


def load_spec_or_usage(assignment: str):
    from grader.checks.spec import SpecError, load_spec

    try:
        return load_spec(assignment)
    except SpecError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------ commands


def cmd_list(args) -> int:
    for assignment in assignments_or_usage():
        spec = load_spec_or_usage(assignment)
        print(f"{spec.id}  ({spec.max_score:g} points)  {spec.title}")
        for fn in spec.functions:
            signature = fn.name + (f"({', '.join(fn.params)})" if fn.params else "")
            given = "  (given)" if fn.given else ""
            print(f"    {signature:<62} {spec.points_for(fn.name):>5g} pts  {len(spec.checks_for(fn.name))} check(s){given}")
        if spec.manual_review:
            print(f"    + {len(spec.manual_review)} written answer(s) for a person to read")
        print()
    return 0


def cmd_check(args) -> int:
    from grader.run.sandbox import clean_stale

    clean_stale()  # folders a killed run left behind
    from grader.notebook.definitions import defined_functions
    from grader.pipeline.grade import Grader
    from grader.notebook.load import NotebookError, assignment_id_hint, load_notebook
    from grader.result import write_atomic
    from grader.run.execute import HarnessFault
    from grader.run.sandbox import SandboxError
    from grader.checks.spec import guess_assignment
    from grader.outputs.summary import print_summary

    options = options_from(args)
    try:
        nb = load_notebook(args.notebook)
    except NotebookError as exc:
        raise UsageError(str(exc)) from None
    assignment = args.assignment or guess_assignment(set(defined_functions(nb)), assignment_id_hint(nb))
    if not assignment:
        raise UsageError(f"{args.notebook}: cannot tell which assignment this is; name it with -a (see `grader list`)")
    spec = load_spec_or_usage(assignment)
    options = resolve_sandbox(options, refuse_fallback=False)
    try:
        result = Grader(spec, options).grade(args.notebook, notebook=nb)
    except (SandboxError, HarnessFault) as exc:
        raise InternalFault(f"{args.notebook} was not graded: {exc}") from None
    shown = result.for_students() if args.student else result  # the files hold no more than the screen shows
    if args.json:
        write_atomic(args.json, shown.to_json())
    if args.html:
        from grader.outputs.report import write_report

        write_report(shown, args.html)
    print_summary(result, color=sys.stdout.isatty(), student=args.student)
    return 0


def cmd_grade(args) -> int:
    from grader.batch.runner import run_batch
    from grader.batch.cluster import ClusterError
    from grader.outputs.progress import summary_text

    spec = load_spec_or_usage(args.assignment)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    outdir = Path(args.outdir)
    options = options_from(args)
    # the submissions, the outputs and the assignment's own folder (its reference, bank, solution) stay hidden
    hidden = tuple(Path(p).resolve() for p in args.paths) + (outdir.resolve(), Path(spec.folder).resolve())
    options = replace(options, sandbox=replace(options.sandbox, hidden=hidden))
    if args.cluster:
        from grader.batch.cluster import parse_address

        try:
            parse_address(args.cluster)
            __import__("distributed")
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
        except ImportError:
            raise UsageError('--cluster needs Dask: pip install "nn-grader[cluster]"') from None
        # Notebooks run on the workers: each proves bubblewrap there before its first (cluster.py), and never falls back.
        options = replace(options, isolation="rlimits" if options.sandbox.mode == "none" else "bwrap")
    else:
        options = resolve_sandbox(options, refuse_fallback=True)
    try:
        outcome = run_batch(args.paths, spec, options, outdir, workers=max(1, args.workers), force=args.force, cluster=args.cluster,
                            announce=lambda intake: print("\n".join(intake.summary()), flush=True), dry_run=args.dry_run)
    except ClusterError as exc:
        raise UsageError(str(exc)) from None
    if outcome.skipped:
        print(f"{len(outcome.skipped)} submission(s) already graded with the same notebook, spec, grader and options: kept (use --force to regrade)")
    reasons: dict[str, list[str]] = {}
    for submission, why in outcome.regraded.items():
        reasons.setdefault(why, []).append(submission)
    for why, names in sorted(reasons.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        print(f"regraded {len(names)}: {why}: {shown}")
    if args.dry_run:
        return 0
    graded = sum(r.submission in set(outcome.graded) for r in outcome.results)
    print(summary_text(outcome.results, str(outdir), outcome.wall_seconds, outcome.durations, graded=graded))
    if outcome.internal_errors:
        print(f"grader: {len(outcome.internal_errors)} submission(s) NOT graded because of a fault of the grader or "
              "this machine (nothing recorded; run the same command again to grade them):", file=sys.stderr)
        for line in outcome.internal_errors:
            print(f"  {line}", file=sys.stderr)
    return 1 if outcome.internal_errors else 0


def cmd_selftest(args) -> int:
    from grader.batch.selftest import run_selftest

    from grader.pipeline.grade import Options
    from grader.run.sandbox import SandboxConfig

    assignments = [args.assignment] if args.assignment else assignments_or_usage()
    for assignment in assignments:
        load_spec_or_usage(assignment)
    # The reference solutions and the bank are the project's own code: like `check`, fall back with a warning.
    options = resolve_sandbox(Options(sandbox=SandboxConfig(mode=args.sandbox)), refuse_fallback=False)
    ok = run_selftest(assignments, quick=args.quick, workers=max(1, args.workers), options=options)
    return 0 if ok else 1


def cmd_export(args) -> int:
    from grader.outputs import exports
    from grader.batch.runner import similar_pairs
    from grader.outputs.files import output_paths, write_class_outputs
    from grader.outputs.gradebook import Gradebook
    from grader.outputs.classflags import without_common_copy_flags
    from grader.outputs.manual import grades_from_book

    outdir = Path(args.outdir)
    if not (outdir / "gradebook.sqlite").exists():
        raise UsageError(f"{outdir}: no gradebook.sqlite here (run `grader grade ... -o {outdir}` first)")
    given = load_spec_or_usage(args.assignment) if args.assignment else None  # a course's folder, named by -a
    with Gradebook(outdir / "gradebook.sqlite") as book:
        for assignment in book.assignments():
            spec = given if given is not None and given.id == assignment else load_spec_or_usage(assignment)
            results = without_common_copy_flags(book.current_results(assignment))  # judged against the class
            manual = grades_from_book(book, spec.id, spec.manual_items, [r.submission for r in results])
            if args.format in ("all", "gradescope"):
                for result in results:
                    exports.write_gradescope(result, output_paths(outdir, result.submission)["gradescope"],
                                             manual=manual[result.submission] if spec.manual_items else None)
            if args.format in ("all", "csv", "canvas"):
                write_class_outputs(results, outdir, spec, similar_pairs=similar_pairs(results, spec))
            print(f"{assignment}: {len(results)} submission(s) exported to {outdir}")
    return 0


def cmd_release(args) -> int:
    from grader.kit.release import ReleaseError, release

    load_spec_or_usage(args.assignment)
    try:
        for path in release(args.assignment, args.outdir):
            print(f"wrote {path}")
    except ReleaseError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_review(args) -> int:
    from grader.outputs.review import ReviewError, make_server, open_app, url_of

    try:
        app = open_app(args.outdir, args.assignment, args.who)
    except ReviewError as exc:
        raise UsageError(str(exc)) from None
    try:
        server = make_server(app, args.port)
    except OSError as exc:
        raise UsageError(f"--port {args.port}: {exc.strerror or exc}") from None
    url = url_of(server, app)
    print(f"Reviewing {app.spec.id} in {args.outdir} as {app.who}. Open this address (Ctrl+C to stop):\n    {url}", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("grader: review stopped; every saved grade is in the gradebook", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def cmd_gradescope_result(args) -> int:
    from grader.outputs.exports import gradescope_from_result

    gradescope_from_result(Path(args.result), Path(args.target), args.error_file)
    return 0


def cmd_new(args) -> int:
    from grader.author.scaffold import ScaffoldError, scaffold

    dest = Path(args.outdir or args.id)
    try:
        written = scaffold(args.id, Path(args.solution), dest)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    print(f"next: complete the checks marked TODO in {dest / 'spec.toml'}, write mistakes in {dest / 'bank.py'}, "
          f"then `grader selftest -a {dest}`")
    return 0


COMMANDS = {"gradescope-result": cmd_gradescope_result, "list": cmd_list, "check": cmd_check, "grade": cmd_grade, "selftest": cmd_selftest, "export": cmd_export, "release": cmd_release, "review": cmd_review,
            "new": cmd_new}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return 2 if exc.code else 0
    if os.geteuid() != 0 and sys.platform.startswith("linux"):
        from grader.run.privilege import undumpable

        undumpable()  # notebooks graded without a uid of their own must not read this process's environment
    if getattr(args, "assignments", None):  # before the course's own folders are searched by id, everywhere
        os.environ["GRADER_ASSIGNMENTS"] = os.pathsep.join(
            [str(Path(p).resolve()) for p in args.assignments] + [p for p in os.environ.get("GRADER_ASSIGNMENTS", "").split(os.pathsep) if p])
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except InternalFault as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("grader: interrupted; finished submissions are saved, run the same command again to go on", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal fault: say so in one line, keep the traceback for debugging
        if os.environ.get("GRADER_DEBUG"):
            traceback.print_exc()
        print(f"grader: internal error: {type(exc).__name__}: {exc} (set GRADER_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
