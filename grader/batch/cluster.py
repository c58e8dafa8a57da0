"""A batch on a Dask cluster: each submission is a task; results come back to the machine that records them.

    grader grade submissions/ -a shallow-backprop --cluster tcp://scheduler:8786
    grader grade submissions/ -a shallow-backprop --cluster local:4     # a LocalCluster of 4 worker processes

The task is `grade_bytes`: a pure function of (assignment, options, submission id,
file name, the notebook's bytes), so workers need no shared folder. The assignment
travels as an AssignmentRef (id, folder, digest): a worker loads it from that folder
when it has it, else by id, and grades only what has the same digest (a mismatch is a
harness fault, never a grade with another spec). Each worker
process keeps one Grader per (assignment, options): the spec's probes and the
reference's outputs are built once per worker, and its own warm process
(forkserver.py) starts each notebook. Before a worker runs a notebook under
bubblewrap it proves, once, that bubblewrap starts Python there; a worker that
cannot answers every task with a harness fault (never a grade, never a notebook
run with less isolation than the grading machine proved).

Dask re-runs a task whose worker was lost; the grading machine takes the first
result per submission and ignores any other, so each submission is recorded
exactly once, and as it arrives (batch.run_batch writes it).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from grader.batch.assignment import AssignmentMismatch, AssignmentRef, ref_for
from grader.checks.spec import SpecError

LOCAL_PREFIX = "local:"
_GRADERS: dict[tuple[str, str], object] = {}  # per worker process: (assignment digest, options digest) -> Grader


class ClusterError(Exception):
    """The cluster cannot be reached or used (a usage or machine problem, said in one line)."""


def parse_address(address: str) -> tuple[str, int | str]:
    """("local", N) for local:N, else ("remote", address)."""
    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"--cluster {address}: local:N needs a number of workers N >= 1")
        return "local", int(count)
    if "://" not in address and ":" not in address:
        raise ClusterError(f"--cluster {address}: expected a scheduler address such as tcp://host:8786, or local:N")
    return "remote", address


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError('--cluster needs Dask: pip install "nn-grader[cluster]" (dask.distributed)') from None
    return distributed


# ------------------------------------------------------------------ on a worker


def _options_digest(options) -> str:
    return hashlib.sha256(pickle.dumps(options)).hexdigest()


def _grader_for(assignment: AssignmentRef, options):
    from grader.pipeline.grade import Grader

    key = (assignment.digest, _options_digest(options))
    if key not in _GRADERS:
        _GRADERS[key] = Grader(assignment.load(), options)
        if options.isolation == "bwrap":  # the warm process starts with the Grader, as in a pool worker
            from grader.run import forkserver

            forkserver.prestart(options.limits)
    return _GRADERS[key]


def _isolation_fault(options) -> str | None:
    """Why this worker must not run notebooks with the isolation the grading machine proved, if it must not."""
    from grader.run.execute import probe_bwrap

    if options.isolation != "bwrap":
        return None  # the grading machine accepted resource limits only (--sandbox none)
    reason = probe_bwrap(options.limits)  # once per worker process
    return None if reason is None else f"bubblewrap cannot isolate notebooks on worker {socket.gethostname()}: {reason}"


def grade_bytes(assignment: AssignmentRef | str, options, submission: str, origin: str, data: bytes | None,
                read_error: str | None, version: str) -> tuple[str, dict, float]:
    """Grade one notebook from its bytes on whatever machine runs this; never raises.

    Returns what batch.grade_one does: ("ok", result dict, seconds) or ("fault", {"submission", "message"}, seconds).
    `origin` is the file's path on the grading machine (named in results and messages), `read_error`
    why it could not be read there (then the result is "invalid"), `version` the grading machine's grader.
    """
    from grader.run.execute import HarnessFault
    from grader.pipeline.grade import grader_version
    from grader.notebook.load import NotebookError, load_notebook
    from grader.run.sandbox import SandboxError

    started = time.perf_counter()

    def fault(message: str) -> tuple[str, dict, float]:
        return "fault", {"submission": submission, "message": message}, time.perf_counter() - started

    if isinstance(assignment, str):  # an id: this worker's own copy of it, whatever its digest
        try:
            assignment = ref_for(assignment)
        except SpecError as exc:
            return fault(f"worker {socket.gethostname()}: {exc}")
    if grader_version() != version:
        return fault(f"worker {socket.gethostname()} runs grader {grader_version()}, the grading machine {version}: install the same version")
    try:
        why_not = _isolation_fault(options)
        if why_not:
            return fault(why_not)
        grader = _grader_for(assignment, options)
        if read_error is not None or data is None:
            result = grader.invalid(origin, read_error or "could not be read", "", submission)
            return "ok", result.to_dict(), time.perf_counter() - started
        folder = tempfile.mkdtemp(prefix="nn-grader-task-")
        try:
            os.chmod(folder, 0o700)
            local = Path(folder) / (Path(origin).name or "submission.ipynb")
            local.write_bytes(data)
            try:
                notebook = replace(load_notebook(local, follow_symlinks=False), path=origin)
            except NotebookError as exc:  # the student's file is unusable: a grade (0, and why), named as sent
                result = grader.invalid(origin, f"{origin}: {exc.reason}", hashlib.sha256(data).hexdigest(), submission)
            else:
                result = grader.grade(origin, submission, notebook=notebook)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except (HarnessFault, SandboxError) as exc:
        return fault(str(exc))
    except AssignmentMismatch as exc:
        return fault(f"worker {socket.gethostname()}: {exc}")
    except Exception as exc:  # noqa: BLE001 - an internal fault: not a grade
        return fault(f"internal error while grading on {socket.gethostname()}: {type(exc).__name__}: {exc}")
    return "ok", result.to_dict(), time.perf_counter() - started


# ------------------------------------------------------------------ on the grading machine


def connect(address: str):
    """A Dask client for `address`, and what to close afterwards (a local cluster is ours)."""
    distributed = _import_distributed()
    kind, where = parse_address(address)
    if kind == "local":
        cluster = distributed.LocalCluster(n_workers=where, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(where, timeout="30s"), None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--cluster {address}: cannot reach the scheduler ({exc})") from None


def grade_on_cluster(todo, assignment: AssignmentRef, options, address: str, client=None):
    """Yield (status, result dict, seconds) once per submission, as results arrive from the cluster."""
    from grader.pipeline.grade import grader_version
    from grader.notebook.load import NotebookError, read_submission

    if not todo:
        return
    distributed = _import_distributed()
    own = None
    if client is None:
        client, own = connect(address)
        own = (client, own)
    try:
        version = grader_version()
        futures = {}
        for sub in todo:
            try:
                data, error = read_submission(sub.path, follow_symlinks=False), None
            except NotebookError as exc:
                data, error = None, str(exc)
            key = f"grade-{sub.id}-{hashlib.sha256(data or b'').hexdigest()[:12]}-{uuid.uuid4().hex[:8]}"
            future = client.submit(grade_bytes, assignment, options, sub.id, str(sub.path), data, error, version,
                                   key=key, pure=False)
            futures[future] = sub
        seen: set[str] = set()
        for future in distributed.as_completed(list(futures)):
            sub = futures[future]
            if sub.id in seen:
                continue
            seen.add(sub.id)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - lost workers past Dask's retries, a cancelled task
                outcome = ("fault", {"submission": sub.id, "message": f"the cluster could not grade it: {type(exc).__name__}: {exc}"}, 0.0)
            future.release()
            yield outcome
    finally:
        if own is not None:
            own[0].close()
            if own[1] is not None:
                own[1].close()
