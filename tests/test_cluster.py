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
