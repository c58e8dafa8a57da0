"""The trust boundary: the grader believes nothing the student's process sends or leaves behind.

Each attack is a correct solution (50/50 honestly) with hostile cells added, graded for real.
After each: the honest score stands (never more), the host is unchanged (a decoy folder and
the checkout hash the same), and the grader stayed within its time and memory limits.
"""
from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import cold_start, isolation_params

from grader.run import sandbox
from grader.run.execute import HelperPolicy, Session, probe_bwrap
from grader.pipeline.grade import Grader, Options
from grader.run.refcall import ReferenceFailed, call_limited
from grader.run.sandbox import Limits, SandboxConfig
from grader.checks.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "tests" / "resources" / "corpus" / "good_vectorised_alt.py").read_text()
FULL = load_spec("shallow-backprop").max_score  # the honest score: every graded function right
LIMITS = Limits(cell_timeout=5, notebook_timeout=90, call_timeout=5)
MODES = (["bwrap"] if probe_bwrap() is None else []) + ["none"]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another uid needs a root grader")


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if ".git" in path.parts or "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def checkout_hash() -> str:
    digest = hashlib.sha256()
    for sub in ("grader", "reference", "assignments"):
        digest.update(tree_hash(ROOT / sub).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module", params=isolation_params(cold=True))
def grader(request, tmp_path_factory) -> Grader:
    decoy = tmp_path_factory.mktemp("decoy")
    (decoy / "authorized_keys").write_text("ssh-ed25519 AAAA honest@host\n")
    (decoy / "classmate.ipynb").write_text('{"cells": []}')
    with cold_start(request.param) as mode:  # bubblewrap's own launcher too, not only the warm process's
        config = SandboxConfig(mode=mode, hidden=(decoy,))
        g = Grader(load_spec("shallow-backprop"), Options(limits=LIMITS, sandbox=config))
        g.decoy = decoy
        yield g


def grade(grader: Grader, tmp_path: Path, hostile: str):
    path = tmp_path / "hostile.py"
    path.write_text(BASE + "\n# %%\n" + hostile.replace("DECOY", str(grader.decoy)) + "\n")
    before = (tree_hash(grader.decoy), checkout_hash())
    started = time.perf_counter()
    result = grader.grade(path)
    seconds = time.perf_counter() - started
    assert (tree_hash(grader.decoy), checkout_hash()) == before, "the host changed"
    assert seconds < 60, f"grading took {seconds:.0f} s"
    return result


def by_function(result, name):
    return [t for t in result.tests if t.function == name]


# ------------------------------------------------------------------ the reference on request


ASK = """
import sys, types, numpy as np
def worker():  # the grader's side of this process, found up the call stack: its send and receive
    frame = sys._getframe()
    while frame is not None:
        if all(name in frame.f_globals for name in ('send', 'receive', 'encode', 'decode')):
            return types.SimpleNamespace(**frame.f_globals)
        frame = frame.f_back
def ask(name, *args):
    w = worker()
    arrays = {}
    tree = w.encode({'args': list(args), 'kwargs': {}}, arrays)
    w.send({'op': 'helper', 'id': 0, 'name': name, 'tree': tree}, arrays)
    answer, answer_arrays = w.receive()
    if answer.get('status') != 'ok':
        raise RuntimeError(answer.get('error'))
    return w.decode(answer['tree'], answer_arrays)
"""


def test_a_retry_answers_only_the_declared_broken_helpers_and_flags_the_rest(grader, tmp_path):
    # relu is slightly wrong (2 points), so forwardprop_shallow is retried; it asks for its own answer.
    hostile = ASK + (
        "def relu(a):\n    return np.maximum(a, 0) + 1e-3\n"
        "def forwardprop_shallow(x, net):\n    return ask('forwardprop_shallow', x, net)\n"
        "def eval_loss(y, d):\n    return ask('eval_loss', y, d)\n"
    )
    result = grade(grader, tmp_path, hostile)
    assert all(t.score == 0 for t in by_function(result, "forwardprop_shallow"))
    assert all(t.score == 0 for t in by_function(result, "eval_loss"))  # not retried at all: no helpers broken
    assert any(f.flag == "asked-for-reference" and "forwardprop_shallow" in f.detail for f in result.integrity)
    honest_max = FULL - sum(t.max_score for t in result.tests if t.function in ("relu", "forwardprop_shallow", "eval_loss"))
    assert result.score <= honest_max


def test_retries_start_only_when_every_first_pass_verdict_is_final():
    spec = load_spec("shallow-backprop")
    grader = Grader(spec, Options(limits=LIMITS))
    calls: list[bool] = []

    class Recorder:
        refused: list = []

        def call(self, call, payload, policy=None):
            from grader.run.execute import CallOutcome

            calls.append(policy is not None)
            return CallOutcome("error", error="ValueError: nope")

    from grader.scoring.passes import Scoring

    Scoring(grader, Recorder(), {}, []).run()
    first_retry = calls.index(True)
    assert not any(calls[:first_retry]) and all(calls[first_retry:])
    assert calls.count(False) == len(spec.checks)


def test_the_reference_answers_student_chosen_inputs_under_time_and_memory_limits():
    def endless(n):
        while True:
            n += 1

    def hog():
        return np.empty((3 << 27,)).size  # 3 GiB of address space, at once, and a small answer: only the memory limit stops it

    started = time.perf_counter()
    with pytest.raises(ReferenceFailed, match="did not answer within"):
        call_limited(endless, [0], {}, seconds=1.0, max_bytes=1 << 20)
    with pytest.raises(ReferenceFailed):
        call_limited(hog, [], {}, seconds=5.0, max_bytes=1 << 20)
    assert time.perf_counter() - started < 10
    assert np.array_equal(call_limited(np.maximum, [np.array([-1.0, 2.0]), 0], {}, 5.0, 1 << 20), [0.0, 2.0])


def test_a_helper_request_that_would_run_forever_fails_the_retry_not_the_grader():
    slow = HelperPolicy(frozenset({"relu"}), lambda name, args, kwargs: call_limited(_spin, [10**12], {}, 1.0, 1 << 20), budget=3)
    cells = ["def relu(a):\n    return a\n\ndef layer(a):\n    return relu(a) * 2"]
    with Session(LIMITS, SandboxConfig(mode=MODES[0])) as session:
        session.run_cells(list(enumerate(cells)))
        started = time.perf_counter()
        outcome = session.call({"function": "layer"}, {"args": [np.ones(3)], "kwargs": {}}, slow)
    assert outcome.status == "error" and "did not answer" in outcome.error
    assert time.perf_counter() - started < 5


def _spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


# ------------------------------------------------------------------ files and pipes the student controls


def test_links_fifos_and_planted_files_in_the_folder_are_never_followed(grader, tmp_path):
    hostile = (
        "import os, json\n"
        "os.makedirs('.grader', exist_ok=True)\n"
        "for name in ['.grader/in_1.npz', '.grader/in_2.npz', '.grader/out_1.npz', 'results.json']:\n"
        "    try:\n        os.symlink('DECOY/authorized_keys', name)\n    except OSError:\n        pass\n"
        "for name in ['.grader/answer_1.npz', '.grader/fifo.npz']:\n"
        "    try:\n        os.mkfifo(name)\n    except OSError:\n        pass\n"
        "try:\n    os.symlink('/tmp/.grader/worker.py', 'worker-link.py')\nexcept OSError:\n    pass\n"
    )
    result = grade(grader, tmp_path, hostile)
    assert result.score == FULL


def test_a_result_too_large_for_the_channel_costs_its_check_not_the_grader(grader, tmp_path):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hostile = (
        "import numpy as np\n"
        "def eval_loss(y, d):\n"
        "    return np.zeros((9000, 1000))  # 72 MB: over the grader's 64 MB message limit\n"
    )
    result = grade(grader, tmp_path, hostile)
    assert all(t.score == 0 and "more than 64 MB" in t.output for t in by_function(result, "eval_loss"))
    assert result.score == FULL - sum(t.max_score for t in by_function(result, "eval_loss"))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 400


def test_scratch_space_is_size_limited(grader, tmp_path):
    if grader.options.sandbox.mode == "none" and os.geteuid() != 0:
        pytest.skip("without bubblewrap and root there is no private tmpfs to size")
    hostile = (
        "import os\n"
        "written = 0\n"
        "for i in range(12):  # 768 MiB in 64 MiB files (under the per-file limit), /tmp and the folder in turn\n"
        "    try:\n"
        "        with open(f'/tmp/fill{i}' if i % 2 else f'fill{i}', 'wb') as f:\n"
        "            for _ in range(64):\n"
        "                f.write(b'x' * (1 << 20))\n"
        "                written += 1 << 20\n"
        "    except OSError:\n"
        "        pass\n"
        "def scratch_written():\n    return written\n"
    )
    path = tmp_path / "fill.py"
    path.write_text(BASE + "\n# %%\n" + hostile)
    with Session(LIMITS, grader.options.sandbox, isolation=_isolation(grader)) as session:
        cells = [(i, c) for i, c in enumerate((BASE + "\n# %%\n" + hostile).split("# %%")) if c.strip()]
        session.run_cells(cells)
        written = session.call({"function": "scratch_written"}, {"args": [], "kwargs": {}})
    assert written.status == "ok"
    assert written.value["return"] <= LIMITS.scratch_bytes + (1 << 20)


def _isolation(grader: Grader) -> str:
    return "bwrap" if grader.options.sandbox.mode == "bwrap" else "rlimits"


# ------------------------------------------------------------------ who the student's code runs as


@ROOT_ONLY
def test_student_code_never_runs_as_root_and_sees_neither_project_nor_inputs(grader, tmp_path):
    hostile = (
        "import os\n"
        "facts = {'uid': os.getuid(), 'euid': os.geteuid()}\n"
        f"for label, path in [('reference', {str(ROOT / 'reference' / 'shallow_backprop.py')!r}),\n"
        "                    ('classmate', 'DECOY/classmate.ipynb'), ('environ', f'/proc/{os.getppid()}/environ'),\n"
        "                    ('shadow', '/etc/shadow')]:\n"
        "    try:\n"
        "        with open(path, 'rb') as f:\n"
        "            facts[label] = len(f.read())\n"
        "    except OSError as exc:\n"
        "        facts[label] = type(exc).__name__\n"
        "try:\n    open('DECOY/classmate.ipynb', 'w').write('{}')\nexcept OSError:\n    pass\n"
        "def who():\n    return facts\n"
    )
    with Session(LIMITS, grader.options.sandbox, isolation=_isolation(grader)) as session:
        session.run_cells([(0, hostile.replace("DECOY", str(grader.decoy)))])
        facts = session.call({"function": "who"}, {"args": [], "kwargs": {}}).value["return"]
    assert facts["uid"] != 0 and facts["euid"] != 0
    for label in ("reference", "classmate", "environ", "shadow"):
        assert isinstance(facts[label], str), f"{label} was readable: {facts[label]} bytes"


@ROOT_ONLY
def test_every_process_the_notebook_starts_is_gone_when_grading_ends(grader, tmp_path):
    marker = f"sleep {9000 + os.getpid() % 500}.{len(grader.options.sandbox.mode)}"
    hostile = (
        "import os, subprocess\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execvp('sleep', {marker.split()!r})\n"
        "    os._exit(0)\n"
        f"subprocess.Popen({marker.split()!r}, start_new_session=True)\n"
    )
    grade(grader, tmp_path, hostile)
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_without_bubblewrap_each_notebook_has_its_own_home(tmp_path):
    cells = ["import os\ndef where():\n    return os.environ['HOME'], os.environ['MPLCONFIGDIR'], os.getcwd()"]
    seen = []
    for _ in range(2):
        with Session(LIMITS, SandboxConfig(mode="none"), isolation="rlimits") as session:
            session.run_cells(list(enumerate(cells)))
            seen.append(session.call({"function": "where"}, {"args": [], "kwargs": {}}).value["return"])
    for home, mpl, cwd in seen:
        assert home == cwd and mpl.startswith(home) and home != "/tmp"
    if os.geteuid() != 0:  # a root grader gives each its own private /tmp/work instead
        assert seen[0][0] != seen[1][0]


@pytest.mark.parametrize("mode", isolation_params())
def test_no_shared_folder_carries_marks_from_one_notebook_to_the_next(mode):
    """/dev/shm, /var/tmp and every other folder anyone may write: a later notebook sees nothing an earlier one left."""
    from grader.run import confine

    folders = sorted({"/tmp", "/dev/shm", "/var/tmp", *map(str, confine.shared_writable_dirs())})
    writer = ["import os\ndef plant(folders):\n    done = []\n    for f in folders:\n        try:\n"
              "            open(os.path.join(f, 'nn-grader-mark'), 'w').write('x')\n"
              "            os.symlink('/etc/hostname', os.path.join(f, 'nn-grader-link'))\n            done.append(f)\n"
              "        except OSError:\n            pass\n    return done"]
    reader = ["import os\ndef look(folders):\n    return [f for f in folders\n"
              "            if os.path.lexists(os.path.join(f, 'nn-grader-mark')) or os.path.lexists(os.path.join(f, 'nn-grader-link'))]"]
    isolation = "bwrap" if mode == "bwrap" else "rlimits"
    for folder in folders:  # what an earlier run left here (a mutation run that this test caught) is not this run's
        for name in ("nn-grader-mark", "nn-grader-link"):
            if os.path.lexists(os.path.join(folder, name)):
                os.unlink(os.path.join(folder, name))
    with Session(LIMITS, SandboxConfig(mode=mode), isolation=isolation) as first:
        first.run_cells(list(enumerate(writer)))
        planted = first.call({"function": "plant"}, {"args": [folders], "kwargs": {}}).value["return"]
    assert "/tmp" in planted  # the notebook can write where it is allowed to...
    with Session(LIMITS, SandboxConfig(mode=mode), isolation=isolation) as second:
        second.run_cells(list(enumerate(reader)))
        seen = second.call({"function": "look"}, {"args": [folders], "kwargs": {}}).value["return"]
    assert seen == []  # ...and nothing of it is there for the next one
    for folder in folders:  # nor on the host, when the grader could write there itself
        assert not os.path.lexists(os.path.join(folder, "nn-grader-mark")), folder


# ------------------------------------------------------------------ inputs and leftovers


def test_a_symlinked_submission_is_unusable_input_and_never_read(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("-----BEGIN PRIVATE KEY----- do not show\n")
    classmate = tmp_path / "class" / "bob"
    classmate.mkdir(parents=True)
    (classmate / "hw.py").write_text(BASE)
    (tmp_path / "class" / "mallory.py").symlink_to(secret)
    (tmp_path / "class" / "eve").symlink_to(classmate, target_is_directory=True)
    outdir = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path / "class"), "-a", "shallow-backprop",
                           "-o", str(outdir), "-j", "1", "--cell-timeout", "10"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = {p.stem: p.read_text() for p in (outdir / "results").glob("*.json")}
    assert set(results) == {"bob", "mallory", "eve"}
    for name in ("mallory", "eve"):
        assert "symbolic link" in results[name] and '"score": 0.0' in results[name]
    everything = "".join(p.read_text(errors="replace") for p in outdir.rglob("*") if p.is_file() and p.suffix in (".json", ".html", ".csv"))
    assert "PRIVATE KEY" not in everything


def test_folders_left_by_a_killed_run_are_removed_by_the_next(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"{sandbox.STAGE_PREFIX}{dead.pid}-stage-abc"
    (left / "files").mkdir(parents=True)
    alive = tmp_path / f"{sandbox.STAGE_PREFIX}{os.getpid()}-stage-def"
    alive.mkdir()
    removed = sandbox.clean_stale(str(tmp_path))
    assert removed == [left] and not left.exists() and alive.exists()


def test_the_graders_packages_stay_hidden_even_when_installed_beside_numpy(monkeypatch):
    """An install into site-packages puts the reference inside a folder the sandbox must bind."""
    import pip

    beside_numpy = Path(pip.__file__).resolve().parent  # stands in for site-packages/reference
    monkeypatch.setattr(sandbox, "SECRET_DIRS", sandbox.SECRET_DIRS + (beside_numpy,))
    cells = [f"import os\ndef seen():\n    return sorted(os.listdir({str(beside_numpy)!r}))"]
    for mode in MODES:
        with Session(LIMITS, SandboxConfig(mode=mode), isolation="bwrap" if mode == "bwrap" else "rlimits") as session:
            session.run_cells(list(enumerate(cells)))
            seen = session.call({"function": "seen"}, {"args": [], "kwargs": {}})
        if mode == "none" and os.geteuid() != 0:
            continue  # nothing can be hidden from the grader's own user
        assert seen.status == "ok" and seen.value["return"] == [], (mode, seen.value)


# ------------------------------------------------------------------ the one privilege drop

def _in_child(body) -> int:
    """Run `body` in a forked child (it may change uid); its exit code: 0 passed, 1 failed."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if body() else 1)
        except BaseException:
            os._exit(2)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="the drop from root needs root")
def test_the_privilege_drop_leaves_no_capability_no_root_and_no_new_privs():
    from grader.run import privilege

    def body() -> bool:
        privilege.drop_to(65534)
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return (os.getresuid() == (65534,) * 3 and os.getresgid() == (65534,) * 3 and os.getgroups() == []
                and int(status["CapBnd"], 16) == 0 and int(status["CapEff"], 16) == 0
                and status["NoNewPrivs"].strip() == "1")

    assert _in_child(body) == 0


def test_every_step_of_the_privilege_drop_is_checked():
    """A prctl or setresuid that fails raises PrivilegeError: never a silently weaker sandbox."""
    import ctypes
    import errno

    from grader.run import privilege

    class RefusingLibc:
        def prctl(self, *args) -> int:
            ctypes.set_errno(errno.EPERM)
            return -1

    with pytest.raises(privilege.PrivilegeError):
        privilege.drop_capabilities(RefusingLibc())
    with pytest.raises(privilege.PrivilegeError):
        privilege.no_new_privs(RefusingLibc())

    def regain_root() -> bool:
        if os.geteuid() == 0:
            privilege.become(65534)
        try:
            privilege.become(0)
        except privilege.PrivilegeError:
            return True
        return False

    assert _in_child(regain_root) == 0


def test_without_bubblewrap_a_notebook_may_signal_itself_only():
    """No PID namespace without bubblewrap: notebooks of a batch share a uid (and a grader that is not root
    shares its own), so kill(-1) would end them all. Each may signal itself only (tests/test_not_root.py
    runs the whole batch as an unprivileged user)."""
    from grader.run.execute import Session

    probe = ("import os, errno, signal, threading\nseen = {}\nfor target in (-1, 0, 1, os.getppid()):\n"
             "    try:\n        os.kill(target, 0)\n        seen[target] = 'sent'\n    except OSError as exc:\n"
             "        seen[target] = errno.errorcode[exc.errno]\n"
             "os.kill(os.getpid(), 0)\nsignal.pthread_kill(threading.get_ident(), 0)\n"
             "def probe():\n    return sorted(seen.values())")
    with Session(LIMITS, SandboxConfig(mode="none")) as other, Session(LIMITS, SandboxConfig(mode="none")) as session:
        other.run_cells([(0, "x = 1")])  # another notebook of the batch, alive under the same uid
        outcomes, _ = session.run_cells([(0, probe)])
        assert outcomes[0].status == "ok", outcomes[0].error  # signalling itself and its threads still works
        assert session.call({"function": "probe"}, {"args": [], "kwargs": {}}).value["return"] == ["EPERM"] * 4
