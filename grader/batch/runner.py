"""Grade a batch: find the submissions, grade them in parallel, record and write everything.

Submissions are graded here (one process, or a pool for -j) or as tasks on a
Dask cluster (cluster.py); either way the results come back to this process,
which alone records them. Every finished submission is written at once (result JSON, report, gradebook
row), so a batch killed half-way loses only what was running; the next run
skips what the gradebook already holds for the same content, spec, grader and
options. A fault of the grader or the machine (the sandbox cannot start, an
internal error) is never recorded: the submission is listed at the end and the
next run grades it.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.batch.assignment import AssignmentMismatch, AssignmentRef
from grader.batch.intake import Intake, Submission, collect as intake_collect
from grader.outputs.classflags import without_common_copy_flags
from grader.outputs.files import output_paths, write_class_outputs, write_outputs
from grader.result import Attention, Result, result_from_dict



@dataclass
class BatchOutcome:
    results: list[Result] = field(default_factory=list)  # current results, this run's and earlier ones
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    regraded: dict[str, str] = field(default_factory=dict)  # submission -> why it was graded again
    internal_errors: list[str] = field(default_factory=list)  # "id: why", not recorded: a rerun grades them
    durations: dict[str, float] = field(default_factory=dict)
    ignored_files: list[Path] = field(default_factory=list)
    wall_seconds: float = 0.0
    intake: Intake | None = None


def collect(paths: list[str | Path], unpack_to: Path | None = None, graded_names: tuple[str, ...] = ()) -> tuple[list[Submission], list[Path]]:
    """Submissions and ignored files (see intake.collect, which says more)."""
    import tempfile

    found = intake_collect(paths, unpack_to or Path(tempfile.mkdtemp(prefix="nn-grader-intake-")), graded_names)
    return found.submissions, found.ignored


def file_hash(path: Path) -> str:
    """sha256 of a regular file's bytes, read without following a link; "" when there is none."""
    from grader.notebook.load import NotebookError, read_submission

    if path.is_dir() and not path.is_symlink():  # a folder without a notebook: what it holds, by name and size
        listing = sorted(f"{p.relative_to(path)}\0{p.lstat().st_size}" for p in path.rglob("*") if not p.is_dir())
        return hashlib.sha256("\n".join(listing).encode()).hexdigest()
    try:
        return hashlib.sha256(read_submission(path, follow_symlinks=False)).hexdigest()
    except NotebookError:
        return ""


# ------------------------------------------------------------------ the worker side

_GRADER = None  # one Grader per pool process, built once by the initializer
_SETUP_FAULT: str | None = None  # why this pool process cannot grade (another assignment than the command line's)


def _init_worker(assignment: AssignmentRef, options) -> None:
    global _GRADER, _SETUP_FAULT
    from grader.pipeline.grade import Grader

    _GRADER, _SETUP_FAULT = None, None  # in-process (-j 1) the previous batch's grader must not linger
    try:
        _GRADER = Grader(assignment.load(), options)
    except AssignmentMismatch as exc:
        _SETUP_FAULT = str(exc)
        return
    if options.isolation == "bwrap":
        from grader.run import forkserver

        forkserver.prestart(options.limits)


def grade_one(submission: Submission) -> tuple[str, dict, float]:
    """Grade one file in a pool process; never raises.

    Returns ("ok", result dict, seconds), or ("fault", {"submission", "message"}, seconds) when the
    grader or the machine failed: that is never a grade.
    """
    from grader.run.execute import HarnessFault
    from grader.notebook.load import NotebookError, load_notebook
    from grader.run.sandbox import SandboxError

    started = time.perf_counter()
    if _SETUP_FAULT is not None or _GRADER is None:
        return "fault", {"submission": submission.id, "message": _SETUP_FAULT or "no grader"}, 0.0
    try:
        try:
            notebook = load_notebook(submission.path, follow_symlinks=False)
        except NotebookError as exc:  # the student's file is unusable: that is a grade (0, and why)
            result = _GRADER.invalid(submission.path, str(exc), file_hash(submission.path), submission.id)
        else:
            result = _GRADER.grade(submission.path, submission.id, notebook=notebook)
    except (HarnessFault, SandboxError) as exc:
        return "fault", {"submission": submission.id, "message": str(exc)}, time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - an internal fault: not a grade, the batch goes on
        message = f"internal error while grading: {type(exc).__name__}: {exc}"
        return "fault", {"submission": submission.id, "message": message}, time.perf_counter() - started
    return "ok", result.to_dict(), time.perf_counter() - started


# ------------------------------------------------------------------ the batch


def run_batch(paths, spec, options, outdir: Path, workers: int = 1, force: bool = False, progress_stream=None,
              cluster: str | None = None, client=None, announce=None, dry_run: bool = False) -> BatchOutcome:
    """Grade what is not graded yet; `cluster` (a Dask scheduler address or local:N) or `client` runs it on Dask."""
    from grader.outputs.gradebook import Gradebook
    from grader.outputs.progress import Progress

    from grader.pipeline.grade import grading_key
    from grader.run.sandbox import clean_stale

    started = time.perf_counter()
    clean_stale()  # folders a killed run left behind
    outdir.mkdir(parents=True, exist_ok=True)
    intake = read_intake(paths, outdir, spec)
    submissions = intake.submissions
    outcome = BatchOutcome(ignored_files=intake.ignored, intake=intake)
    if announce is not None:
        announce(intake)
    if dry_run:
        return outcome
    key = grading_key(options)
    with Gradebook(outdir / "gradebook.sqlite") as book:
        todo = []
        for sub in submissions:
            why = "" if force else book.why_regrade(spec.id, sub.id, file_hash(sub.path), spec.digest, key)
            if not force and why is None:
                outcome.skipped.append(sub.id)
                if not output_paths(outdir, sub.id)["json"].exists():
                    # Recorded but its files were lost (a kill in between): write them again.
                    current = {r.submission: r for r in book.current_results(spec.id)}
                    write_outputs(current[sub.id], outdir)
                continue
            if why:
                outcome.regraded[sub.id] = why
            todo.append(sub)
        unusable = [sub for sub in todo if sub.unusable]
        todo = [sub for sub in todo if not sub.unusable]
        with Progress(len(todo) + len(unusable), stream=progress_stream) as progress:
            if cluster or client is not None:
                from grader.batch.cluster import grade_on_cluster

                graded = grade_on_cluster(todo, AssignmentRef.of(spec), options, cluster or "", client=client)
            else:
                graded = _grade_all(todo, AssignmentRef.of(spec), options, workers)
            for status, data, seconds in itertools.chain(_unusable_results(unusable, spec, options), graded):
                if status != "ok":
                    outcome.internal_errors.append(f"{data['submission']}: {data['message']}")
                    progress.advance(data["submission"], "not graded (grader fault)", seconds)
                    continue
                result = needs_a_person_when_unusable(result_from_dict(data))
                write_outputs(result, outdir)  # files first: a kill before the record means a regrade, never a gap
                book.record(result)
                outcome.graded.append(result.submission)
                outcome.durations[result.submission] = seconds
                progress.advance(result.submission, f"{result.score:g}/{result.max_score:g}", seconds)
        outcome.results = judged_by_class(book.current_results(spec.id), outdir)
    write_class_outputs(outcome.results, outdir, spec, similar_pairs=similar_pairs(outcome.results, spec))
    outcome.wall_seconds = time.perf_counter() - started
    return outcome


def judged_by_class(current: list[Result], outdir: Path) -> list[Result]:
    """The class's results with copy flags judged against the class; a result that changes is written again
    (its report and Gradescope file lose the flag too), once."""
    judged = without_common_copy_flags(current)
    for before, after in zip(current, judged):
        written = output_paths(outdir, after.submission)["json"]
        if after is not before and (not written.exists() or written.read_text() != after.to_json()):
            write_outputs(after, outdir)
    return judged


def read_intake(paths, outdir: Path, spec) -> Intake:
    """Read the whole input before grading; zips are unpacked afresh below OUTDIR/.intake (hidden from notebooks)."""
    import shutil

    unpack_to = outdir / ".intake"
    shutil.rmtree(unpack_to, ignore_errors=True)
    unpack_to.mkdir(parents=True, exist_ok=True)
    os.chmod(unpack_to, 0o700)
    return intake_collect(paths, unpack_to, tuple(fn.name for fn in spec.functions))


def _unusable_results(unusable: list[Submission], spec, options):
    """A submission with nothing to grade (no notebook): a 0 that says why, graded here, never sent out."""
    if not unusable:
        return
    from grader.pipeline.grade import Grader

    grader = Grader(spec, options)
    for sub in unusable:
        yield "ok", grader.invalid(sub.path, sub.unusable, file_hash(sub.path), sub.id).to_dict(), 0.0


def needs_a_person_when_unusable(result: Result) -> Result:
    """An input that could not be graded at all (no notebook, corrupt, empty) is a 0 a person must look at."""
    if result.execution.status != "invalid" or any(a.reason == "unusable-input" for a in result.attention):
        return result
    detail = f"nothing could be graded: {result.execution.message or 'the file could not be read'}"
    return replace(result, attention=(*result.attention, Attention("unusable-input", detail)))


def _grade_all(todo: list[Submission], assignment: AssignmentRef, options, workers: int):
    """Yield (status, result dict, seconds) as submissions finish."""
    if not todo:
        return
    if workers <= 1:
        _init_worker(assignment, options)
        for sub in todo:
            yield grade_one(sub)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(assignment, options)) as pool:
        pending = {pool.submit(grade_one, sub): sub for sub in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                sub = pending.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - a pool process died: the machine's fault
                    yield "fault", {"submission": sub.id, "message": f"the grading process died: {type(exc).__name__}: {exc}"}, 0.0


def similar_pairs(results: list[Result], spec, threshold: float = 0.9) -> list[tuple[str, str, float]]:
    """Pairs of submissions whose graded functions are near-identical after normalising names (grader/similar.py)."""
    from grader.notebook import similar
    from grader.notebook.definitions import defined_functions
    from grader.notebook.fingerprint import function_fingerprint
    from grader.notebook.load import NotebookError, load_notebook

    fingerprints: dict[str, str] = {}
    wanted = {fn.name.split(".")[0] for fn in spec.functions}
    for result in results:
        try:
            nb = load_notebook(result.notebook, follow_symlinks=False)
        except (NotebookError, OSError):
            continue
        defined = defined_functions(nb)
        parts = [function_fingerprint(defined[name][-1].source) for name in sorted(wanted) if name in defined]
        if len(parts) >= 3:
            fingerprints[result.submission] = "\n".join(parts)
    return similar.similar_pairs(fingerprints, threshold)
