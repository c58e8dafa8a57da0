"""`grader grade --cluster`: a batch on Dask, the same results as -j 2, every submission recorded exactly once."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from grader.batch import cluster  # noqa: E402
from grader.batch.runner import run_batch  # noqa: E402
from grader.pipeline.grade import Options, grader_version  # noqa: E402
from grader.run.sandbox import Limits, SandboxConfig  # noqa: E402
from grader.checks.spec import load_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "shallow-backprop"
BASE = (ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py").read_text()


def grade_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)


def comparable(outdir: Path) -> dict:
    """Each result without what differs from run to run (times, paths, when)."""
    found = {}
    for path in (outdir / "results").glob("*.json"):
        result = json.loads(path.read_text())
        found[path.stem] = {
            "score": result["score"], "status": result["execution"]["status"], "isolation": result["execution"]["isolation"],
            "cells": [(c["index"], c["status"]) for c in result["execution"]["cells"]],
            "tests": [(t["name"], t["status"], t["score"], t.get("diagnosis")) for t in result["tests"]],
            "integrity": sorted(f["flag"] for f in result.get("integrity", [])),
            "content_hash": result["content_hash"], "notebook": result["notebook"],
        }
    return found


@pytest.mark.slow
def test_a_local_cluster_of_worker_processes_grades_like_j2(tmp_path):
    common = [EXAMPLES, "-a", "shallow-backprop", "--cell-timeout", "20"]  # dan hangs; cleo trains for seconds
    pool = grade_cli(*common, "-o", tmp_path / "pool", "-j", "2")
    assert pool.returncode == 0, pool.stderr
    dask = grade_cli(*common, "-o", tmp_path / "dask", "--cluster", "local:2")
    assert dask.returncode == 0, dask.stderr
    assert "Graded 5 notebooks" in dask.stdout
    expected, got = comparable(tmp_path / "pool"), comparable(tmp_path / "dask")
    assert set(got) == {"ada", "ben", "cleo", "dan", "eve"}
    assert got == expected
    assert (tmp_path / "dask" / "index.html").exists() and (tmp_path / "dask" / "grades.csv").exists()
    again = grade_cli(*common, "-o", tmp_path / "dask", "--cluster", "local:2")
    assert again.returncode == 0 and "5 submission(s) already graded" in again.stdout


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_every_submission_graded_exactly_once(tmp_path):
    folder = tmp_path / "class"
    for i in range(6):
        (folder / f"s{i}").mkdir(parents=True)
        (folder / f"s{i}" / "hw.py").write_text(BASE + f"\n# %%\nimport time\ntime.sleep({1.0 + 0.2 * i})\n")
    outdir = tmp_path / "out"
    options = Options(limits=Limits(cell_timeout=10, notebook_timeout=120), sandbox=SandboxConfig(mode="auto"))
    options = cluster_options(options)
    killed: list[str] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as local, distributed.Client(local) as client:

        def kill_a_busy_worker():
            deadline = time.time() + 300
            while time.time() < deadline and not killed:
                busy = [addr for addr, keys in client.processing().items() if keys]
                if busy and len(list((outdir / "results").glob("*.json"))) >= 1:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)  # the worker process dies with a notebook half graded
                    killed.append(busy[0])
                time.sleep(0.2)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        outcome = run_batch([folder], load_spec("shallow-backprop"), options, outdir, client=client,
                            progress_stream=open(os.devnull, "w"))
        killer.join(timeout=5)
    assert killed, "no worker was busy to kill"
    assert outcome.internal_errors == []
    assert sorted(outcome.graded) == [f"s{i}" for i in range(6)]
    assert all(r.score == r.max_score == 48 for r in outcome.results)  # init_shallow is the handout's
    with sqlite3.connect(outdir / "gradebook.sqlite") as db:
        runs = dict(db.execute("select submission, count(*) from runs group by submission").fetchall())
    assert runs == {f"s{i}": 1 for i in range(6)}


def cluster_options(options: Options) -> Options:
    from dataclasses import replace

    from grader.run.execute import probe_bwrap

    return replace(options, isolation="bwrap" if probe_bwrap() is None else "rlimits")


# ------------------------------------------------------------------ the task, on one worker


def test_a_worker_that_cannot_start_bubblewrap_answers_a_fault_never_a_grade(monkeypatch):
    from grader.run import execute

    monkeypatch.setattr(execute, "probe_bwrap", lambda limits=None: "bubblewrap (bwrap) is not installed")
    status, data, _ = cluster.grade_bytes("shallow-backprop", Options(isolation="bwrap"), "ada", "/class/ada/hw.ipynb",
                                          b"{}", None, grader_version())
    assert status == "fault"
    assert "bubblewrap cannot isolate notebooks on worker" in data["message"] and data["submission"] == "ada"


def test_a_worker_running_another_grader_version_answers_a_fault():
    status, data, _ = cluster.grade_bytes("shallow-backprop", Options(isolation="bwrap"), "ada", "/class/ada/hw.ipynb",
                                          b"{}", None, "0+000000000000")
    assert status == "fault" and "install the same version" in data["message"]


def test_an_unusable_file_is_graded_invalid_and_named_by_its_path_on_the_grading_machine():
    status, data, _ = cluster.grade_bytes("shallow-backprop", Options(isolation="rlimits"), "eve", "/class/eve/hw.ipynb",
                                          b"{not json", None, grader_version())
    assert status == "ok"
    assert data["execution"]["status"] == "invalid" and data["score"] == 0
    assert data["notebook"] == "/class/eve/hw.ipynb" and data["execution"]["message"].startswith("/class/eve/hw.ipynb:")


@pytest.mark.parametrize("address, expected", [("local:3", ("local", 3)), ("tcp://10.0.0.5:8786", ("remote", "tcp://10.0.0.5:8786"))])
def test_cluster_addresses(address, expected):
    assert cluster.parse_address(address) == expected


@pytest.mark.parametrize("address", ["local:0", "local:x", "scheduler"])
def test_a_bad_cluster_address_is_a_usage_error(address, tmp_path):
    with pytest.raises(cluster.ClusterError):
        cluster.parse_address(address)
    proc = grade_cli(EXAMPLES, "-a", "shallow-backprop", "-o", tmp_path, "--cluster", address)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--cluster" in proc.stderr


# ------------------------------------------------------------------ a course's own copy of an assignment


def own_copy(tmp_path: Path, points: int = 10) -> Path:
    """assignments/shallow-backprop copied outside the repository, eval_loss's check worth `points`."""
    folder = tmp_path / "mycourse" / "hw1"
    shutil.copytree(ROOT / "assignments" / "shallow-backprop", folder)
    spec = (folder / "spec.toml").read_text()
    head, _, tail = spec.partition('function = "eval_loss"\npoints = 3\n')
    assert tail, "the eval_loss check moved: update this test"
    (folder / "spec.toml").write_text(head + f'function = "eval_loss"\npoints = {points}\n' + tail)
    return folder


@pytest.mark.slow
def test_a_course_folder_grades_with_its_own_points_in_check_pool_and_cluster(tmp_path):
    folder = own_copy(tmp_path)
    mine, bundled = load_spec(folder), load_spec("shallow-backprop")
    assert mine.max_score == bundled.max_score + 7 and mine.digest != bundled.digest
    students = tmp_path / "class"
    students.mkdir()
    (students / "ada.py").write_text(BASE)
    (students / "bob.py").write_text(BASE.replace("np.log(y)", "np.log(y + 1)"))  # eval_loss wrong
    common = [students, "-a", folder, "--cell-timeout", "20", "--sandbox", "none"]
    checked = {}
    for name in ("ada", "bob"):
        out = tmp_path / f"{name}.json"
        proc = subprocess.run([sys.executable, "-m", "grader", "check", students / f"{name}.py", "-a", str(folder),
                               "--json", str(out), "--cell-timeout", "20", "--sandbox", "none"],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert proc.returncode == 0, proc.stderr
        checked[name] = json.loads(out.read_text())
    assert checked["ada"]["max_score"] == mine.max_score == checked["ada"]["score"]
    for mode, extra in (("pool", ["-j", "2"]), ("dask", ["--cluster", "local:2"])):
        proc = grade_cli(*common, "-o", tmp_path / mode, *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for name in ("ada", "bob"):
            result = json.loads((tmp_path / mode / "results" / f"{name}.json").read_text())
            assert (result["score"], result["max_score"]) == (checked[name]["score"], checked[name]["max_score"]), (mode, name)


def test_a_worker_whose_assignment_differs_answers_a_fault_never_a_grade(tmp_path, monkeypatch):
    from grader.batch.assignment import AssignmentRef

    # a worker that already holds a Grader of that very digest grades with it, rightly: start from none
    monkeypatch.setattr(cluster, "_GRADERS", {})

    folder = own_copy(tmp_path)
    stale = AssignmentRef("shallow-backprop", str(folder), load_spec("shallow-backprop").digest)  # the bundled digest
    status, data, _ = cluster.grade_bytes(stale, Options(isolation="rlimits"), "ada", "/class/ada/hw.py",
                                          BASE.encode(), None, grader_version())
    assert status == "fault" and "is not the one being graded" in data["message"]
    gone = AssignmentRef("hw1", str(tmp_path / "nowhere"), load_spec(folder).digest)  # neither its folder nor its id here
    status, data, _ = cluster.grade_bytes(gone, Options(isolation="rlimits"), "ada", "/class/ada/hw.py",
                                          BASE.encode(), None, grader_version())
    assert status == "fault" and "cannot be loaded here" in data["message"]


def test_a_pool_process_whose_assignment_differs_answers_a_fault(tmp_path):
    from grader.batch import runner
    from grader.batch.assignment import AssignmentRef
    from grader.batch.intake import Submission

    folder = own_copy(tmp_path)
    (tmp_path / "ada.py").write_text(BASE)
    stale = AssignmentRef("shallow-backprop", str(folder), load_spec("shallow-backprop").digest)
    outcomes = list(runner._grade_all([Submission("ada", tmp_path / "ada.py")], stale, Options(isolation="rlimits"), 1))
    assert [o[0] for o in outcomes] == ["fault"] and "is not the one being graded" in outcomes[0][1]["message"]
