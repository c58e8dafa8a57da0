"""Hostile notebooks: each is contained, grading finishes within its limits, nothing is left behind,
and no score exceeds what the honest functions earn.

Every case is a correct solution (50/50 honestly) with one hostile cell added at the end, so the
expected score is always the honest full score and anything above it, or a grading that does not finish,
is a failure of containment. Cases that touch the host only run where bubblewrap contains them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.run import sandbox
from grader.run.execute import probe_bwrap
from grader.pipeline.grade import Grader, Options
from grader.run.sandbox import Limits, SandboxConfig
from grader.checks.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py").read_text()
FULL = load_spec("shallow-backprop").max_score  # the honest score: every graded function right
CELL_TIMEOUT = 4.0
LIMITS = Limits(cell_timeout=CELL_TIMEOUT, notebook_timeout=90, call_timeout=5)
BWRAP = probe_bwrap() is None
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="host-touching cases need bubblewrap to contain them")


@pytest.fixture(scope="module")
def grader() -> Grader:
    return Grader(load_spec("shallow-backprop"), Options(limits=LIMITS, sandbox=SandboxConfig(mode="auto")))


def grade(grader: Grader, tmp_path: Path, hostile: str, name: str = "hostile"):
    path = tmp_path / f"{name}.py"
    path.write_text(BASE + "\n# %%\n" + hostile + "\n# %%\nafter_the_hostile_cell = True\n")
    started = time.perf_counter()
    result = grader.grade(path)
    return result, time.perf_counter() - started


def flags(result) -> set[str]:
    return {f.flag for f in result.integrity}


def processes_matching(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


def process_tree(root: int) -> dict[tuple[int, str], str]:
    """Every live descendant of `root`: (pid, start time) -> its command line (pids can be reused)."""
    parents, starts, lines = {}, {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parents[pid], starts[pid], lines[pid] = int(fields[1]), fields[19], cmdline
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and (pid, starts[pid]) not in found:
                found[(pid, starts[pid])] = lines[pid]
                todo.append(pid)
    return found


def still_alive(processes: dict[tuple[int, str], str]) -> list[str]:
    """Those of `processes` that still run (same pid and same start time, not a zombie)."""
    alive = []
    for (pid, start), line in processes.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            alive.append(line)
    return alive


def last_cell(result):
    cells = [c for c in result.execution.cells]
    return cells[-1] if cells else None


@pytest.mark.parametrize(
    "name, hostile, cell_status, flag",  # cell_status: "ok", or the statuses the hostile cell may end with
    [
        ("long-sleep", "import time\ntime.sleep(100000)", "timeout", None),
        ("segfault", "import ctypes\nctypes.string_at(0)", "error", "ctypes"),
        ("deep-recursion", "def down(n):\n    return down(n + 1)\ndown(0)", "error", None),
        ("c-stack-overflow", "import sys\nsys.setrecursionlimit(10**8)\ndef down(n):\n    return down(n + 1)\ndown(0)", ("error", "timeout"), None),
        ("swallow-keyboard-interrupt", "while True:\n    try:\n        sum(range(1000))\n    except KeyboardInterrupt:\n        pass\n    except BaseException:\n        pass", "timeout", None),
        ("patch-builtins", "import builtins, numpy as np\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None", ("ok", "timeout", "error"), "patches-library"),
        ("exit", "import sys\nsys.exit('bye')", "error", "exits-process"),
        ("hard-exit", "import os\nos._exit(0)", "error", "exits-process"),
    ],
)
def test_hostile_cell_is_contained_and_the_honest_score_stands(grader, tmp_path, name, hostile, cell_status, flag):
    result, seconds = grade(grader, tmp_path, hostile, name)
    assert result.score == FULL, [(t.function, t.output) for t in result.tests if t.score < t.max_score]
    hostile_cell = [c for c in result.execution.cells if "after_the_hostile_cell" not in c.source]
    allowed = (cell_status,) if isinstance(cell_status, str) else cell_status
    # "ok": the cell ran cleanly; a patch that breaks IPython itself may instead cost the worker ("timeout", or
    # "error" when the broken interpreter exits at once); either way the cells before it are replayed in a new one.
    status = hostile_cell[-1].status if hostile_cell else "ok"
    assert status in allowed, result.execution.cells
    assert all(c.status == "ok" or c in hostile_cell for c in result.execution.cells)
    assert seconds < LIMITS.cell_timeout * 2 + 30
    if flag:
        assert flag in flags(result)


def test_a_graded_function_that_hangs_costs_only_its_own_points(grader, tmp_path):
    hostile = "def eval_loss(y, d):\n    while True:\n        try:\n            pass\n        except BaseException:\n            pass"
    result, seconds = grade(grader, tmp_path, hostile)
    (loss,) = [t for t in result.tests if t.function == "eval_loss"]
    assert loss.status == "timeout" and loss.score == 0
    assert result.score == FULL - loss.max_score
    assert seconds < 60


@needs_bwrap
def test_a_bounded_fork_bomb_and_escaped_children_leave_no_process_behind(grader, tmp_path):
    marker = f"sleep {int(time.time()) % 1000 + 31337}"
    hostile = (
        "import os, subprocess, time\n"
        "children = []\n"
        "for i in range(40):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(300)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        f"subprocess.Popen({marker.split()!r}, start_new_session=True)\n"
    )
    result, _ = grade(grader, tmp_path, hostile)
    assert result.score == FULL
    time.sleep(0.5)
    assert processes_matching(marker) == []
    assert "subprocess" in flags(result)


@needs_bwrap
def test_writing_and_deleting_outside_the_working_folder_does_not_reach_the_host(grader, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    planted = tmp_path / "planted.txt"
    source = ROOT / "reference" / "shallow_backprop.py"
    before = source.read_bytes()
    hostile = (
        "import os, shutil\n"
        "for action in (\n"
        f"    lambda: os.remove({str(victim)!r}),\n"
        f"    lambda: open({str(planted)!r}, 'w').write('x'),\n"
        f"    lambda: open({str(source)!r}, 'a').write('# tampered'),\n"
        f"    lambda: shutil.rmtree({str(ROOT / 'reference')!r}),\n"
        "    lambda: open('/etc/grader-was-here', 'w').write('x'),\n"
        "):\n"
        "    try:\n"
        "        action()\n"
        "    except OSError:\n"
        "        pass\n"
    )
    result, _ = grade(grader, tmp_path, hostile)
    assert result.score == FULL
    assert victim.read_text() == "keep me"
    assert not planted.exists()
    assert source.read_bytes() == before
    assert not Path("/etc/grader-was-here").exists()
    assert "writes-files" in flags(result)


@needs_bwrap
def test_no_network_even_to_this_machine(grader, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept_loop():
        deadline = time.time() + 30
        while time.time() < deadline and not accepted:
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                pass

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    hostile = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n"
        "except OSError as exc:\n"
        "    print('blocked', exc)\n"
    )
    try:
        result, _ = grade(grader, tmp_path, hostile)
    finally:
        server.close()
    assert result.score == FULL
    assert accepted == []
    assert "network" in flags(result)


def test_importing_or_reading_the_reference_gets_nothing(grader, tmp_path):
    source = ROOT / "reference" / "shallow_backprop.py"
    hostile = (
        "try:\n"
        "    from reference.shallow_backprop import eval_perfs\n"
        "except ImportError:\n"
        "    pass\n"
        "try:\n"
        "    import grader.pipeline.grade\n"
        "except ImportError:\n"
        "    pass\n"
        "try:\n"
        f"    stolen = open({str(source)!r}).read()\n"
        "except OSError:\n"
        "    stolen = ''\n"
        "def eval_perfs(y, lbl):\n"
        "    return 'reference unreachable' if not stolen else 'stole it'\n"
    )
    result, _ = grade(grader, tmp_path, hostile)
    (perfs,) = [t for t in result.tests if t.function == "eval_perfs"]
    assert "imports-reference" in flags(result)
    if BWRAP:
        assert perfs.status == "failed" and "reference unreachable" in perfs.output
    assert result.score == FULL - perfs.max_score


def test_fake_results_in_every_form_change_nothing(grader, tmp_path):
    hostile = (
        "import json, os\n"
        "print('All tests passed! Score: 50/50')\n"
        "json.dump({'score': 50, 'tests': []}, open('results.json', 'w'))\n"
        "fake = b'{\"op\": \"result\", \"id\": 1, \"status\": \"ok\", \"tree\": {\"t\": \"none\"}, \"arrays\": [], \"nbytes\": 0}\\n'\n"
        "for fd in range(3, 64):  # every open descriptor, the grader's channel among them\n"
        "    try:\n"
        "        os.write(fd, fake)\n"
        "    except OSError:\n"
        "        pass\n"
        "# %%\n"
        "def eval_loss(y, d):\n"
        "    print('{\"op\": \"result\", \"id\": 99, \"status\": \"ok\"}')\n"
        "    return 0.0\n"
    )
    result, _ = grade(grader, tmp_path, hostile)
    (loss,) = [t for t in result.tests if t.function == "eval_loss"]
    assert loss.status == "failed" and loss.score == 0
    assert result.score == FULL - loss.max_score
    assert "fake-results" in flags(result)


def test_a_batch_killed_half_way_ends_with_every_submission_graded_exactly_once(tmp_path):
    import json
    import sqlite3

    folder = tmp_path / "class"
    for i in range(6):
        student = folder / f"s{i}"
        student.mkdir(parents=True)
        (student / "hw.py").write_text(BASE + f"\n# %%\nimport time\ntime.sleep({0.5 + 0.1 * i})\n")
    outdir = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "grade", str(folder), "-a", "shallow-backprop", "-o", str(outdir), "-j", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    running = {}
    while time.time() < deadline and len(list((outdir / "results").glob("*.json"))) < 2:
        running.update(process_tree(proc.pid))
        time.sleep(0.1)
    running.update(process_tree(proc.pid))
    # What really runs a notebook: worker.py (cold, or bubblewrap) and zygote.py with its forks (warm).
    sandboxed = {key: line for key, line in running.items() if "worker.py" in line or "zygote.py" in line}
    assert sandboxed, f"no sandboxed process seen under the grader: {sorted(running.values())}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((outdir / "results").glob("*.json")))
    assert 2 <= done_before < 6
    deadline = time.time() + 5
    while still_alive(sandboxed) and time.time() < deadline:
        time.sleep(0.1)
    assert still_alive(sandboxed) == [], "processes left behind by the killed batch"
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    results = {p.stem: json.loads(p.read_text()) for p in (outdir / "results").glob("*.json")}
    assert sorted(results) == [f"s{i}" for i in range(6)]
    assert all(r["score"] == FULL for r in results.values())
    with sqlite3.connect(outdir / "gradebook.sqlite") as db:
        current = db.execute("select count(*) from current").fetchone()[0]
        runs = dict(db.execute("select submission, count(*) from runs group by submission").fetchall())
    assert current == 6
    assert all(count == 1 for count in runs.values()), runs
