"""Warm start: each notebook's process is a fresh fork of an untouched warm process, with bubblewrap's isolation."""
from __future__ import annotations

import os
import time

import pytest

from grader.run import confine, forkserver, sandbox
from grader.run.execute import HarnessFault, Session, probe_bwrap
from grader.run.sandbox import Limits, SandboxConfig

LIMITS = Limits(cell_timeout=5, notebook_timeout=60, call_timeout=5)
WARM_HERE = probe_bwrap() is None and forkserver.why_not_here() is None
needs_warm = pytest.mark.skipif(not WARM_HERE, reason="warm start needs bubblewrap and a root grader here")


@pytest.fixture(scope="module")
def staged():
    folder = sandbox.stage(SandboxConfig(mode="bwrap"))
    yield folder


def probe(staged, cells: list[str], warm: bool | None = None):
    """Run cells, then call probe(); the returned value and the session's containment."""
    with Session(LIMITS, SandboxConfig(mode="bwrap"), isolation="bwrap", staged=staged, warm=warm) as session:
        outcomes, _ = session.run_cells(list(enumerate(cells)))
        assert all(o.status == "ok" for o in outcomes), outcomes
        outcome = session.call({"function": "probe"}, {"args": [], "kwargs": {}})
        assert outcome.status == "ok", outcome.error + outcome.traceback
        return outcome.value["return"], session.containment


ISOLATION = """
import os, socket
def probe():
    status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines())
    try:
        socket.create_connection(('1.1.1.1', 53), timeout=2)
        net = True
    except OSError:
        net = False
    try:
        open('/usr/evil', 'w')
        system_writable = True
    except OSError:
        system_writable = False
    try:
        open('/evil', 'w')
        root_writable = True
    except OSError:
        root_writable = False
    return {
        'pid': os.getpid(), 'ppid': os.getppid(), 'uid': os.getuid(), 'processes': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
        'caps': [status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd')], 'no_new_privs': status['NoNewPrivs'].strip(),
        'net': net, 'system_writable': system_writable, 'root_writable': root_writable, 'cwd': os.getcwd(),
        'root': sorted(os.listdir('/')), 'project_visible': os.path.exists(%r), 'fds': sorted(os.listdir('/proc/self/fd')),
    }
""" % str(sandbox.PROJECT_ROOT / "reference")


@needs_warm
def test_a_warm_child_has_the_isolation_of_bubblewrap(staged):
    warm, containment = probe(staged, [ISOLATION])
    assert "warm fork" in containment
    cold, _ = probe(staged, [ISOLATION], warm=False)
    assert warm["pid"] == 2 and warm["ppid"] == 1 and warm["processes"] == [1, 2]  # its own PID namespace
    assert warm["uid"] == cold["uid"] != 0
    assert warm["caps"] == ["0000000000000000"] * 3 and warm["no_new_privs"] == "1"
    assert not warm["net"] and not warm["system_writable"] and not warm["root_writable"]
    assert not warm["project_visible"]
    assert warm["cwd"] == cold["cwd"] == sandbox.INSIDE_WORK
    assert set(warm["root"]) <= set(cold["root"]) | {"root"}
    assert len(warm["fds"]) <= len(cold["fds"])  # nothing of the warm process's stays open


LEAVE_BEHIND = """
import builtins, os, subprocess, sys, numpy, random
numpy.LEFT_BEHIND = 1
builtins.LEFT_BEHIND = 1
sys.modules['left_behind'] = numpy
os.environ['LEFT_BEHIND'] = '1'
numpy.random.seed(1234)
open('/tmp/left_behind', 'w').write('x')
open('/tmp/work/left_behind', 'w').write('x')
subprocess.Popen(['sleep', '1000'], start_new_session=True)
import IPython
IPython.core.interactiveshell.InteractiveShell.LEFT_BEHIND = 1
def probe():
    return numpy.random.rand()
"""

FIND = """
import builtins, os, sys, numpy, IPython
def probe():
    return {
        'numpy': hasattr(numpy, 'LEFT_BEHIND'), 'builtins': hasattr(builtins, 'LEFT_BEHIND'),
        'modules': 'left_behind' in sys.modules, 'env': 'LEFT_BEHIND' in os.environ,
        'files': [p for p in ('/tmp/left_behind', '/tmp/work/left_behind') if os.path.exists(p)],
        'shell': hasattr(IPython.core.interactiveshell.InteractiveShell, 'LEFT_BEHIND'),
        'sleepers': [p for p in os.listdir('/proc') if p.isdigit() and b'sleep' in open(f'/proc/{p}/cmdline', 'rb').read()],
        'random': numpy.random.rand(),
    }
"""


ENVIRON = """
import os
def probe():
    try:  # a warm child is not dumpable (it changed uid without an exec): the kernel may refuse
        block = open('/proc/self/environ', 'rb').read().split(b'\\0')
    except PermissionError:
        block = None
    mem = open('/proc/self/stat').read().rsplit(')', 1)[1].split()
    return {'proc': None if block is None else sorted(e.decode() for e in block if e),
            'os': sorted(f'{k}={v}' for k, v in os.environ.items()), 'env_size': int(mem[48]) - int(mem[47])}
"""


@needs_warm
def test_a_warm_childs_proc_environ_is_its_own_as_in_a_cold_start(staged):
    """Not the warm process's start-up environment: no host stage folder, nothing the notebook was not given."""
    warm, _ = probe(staged, [ENVIRON])
    cold, _ = probe(staged, [ENVIRON], warm=False)
    # the block the kernel shows is the notebook's own, byte for byte, however /proc lets it be read
    assert warm["env_size"] == sum(len(e) + 1 for e in warm["os"])
    if warm["proc"] is not None:
        assert not [e for e in warm["proc"] if sandbox.STAGE_PREFIX in e] and warm["proc"] == warm["os"]
    assert cold["proc"] is None or not [e for e in cold["proc"] if sandbox.STAGE_PREFIX in e]


@needs_warm
def test_nothing_a_notebook_does_persists_into_the_next(staged):
    zygote = forkserver.server(LIMITS).proc.pid
    first, _ = probe(staged, [LEAVE_BEHIND])
    found, containment = probe(staged, [FIND])
    assert "warm fork" in containment
    assert forkserver.server(LIMITS).proc.pid == zygote  # the same warm process served both
    assert found == dict(found, numpy=False, builtins=False, modules=False, env=False, files=[], shell=False, sleepers=[])
    assert found["random"] != first  # each child draws its own random state, as a fresh process would
    uid = sandbox.unprivileged_uid()
    assert confine.processes_of(uid) == []  # the sleeper went with its namespace


@needs_warm
def test_the_warm_start_is_fast(staged):
    probe(staged, ["def probe():\n    return 1"])  # the warm process is up
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with Session(LIMITS, SandboxConfig(mode="bwrap"), isolation="bwrap", staged=staged) as session:
            assert "warm fork" in session.containment
            times.append(time.perf_counter() - started)
    assert min(times) < 0.2, times  # a cold start is 0.3-0.8 s here


@needs_warm
def test_a_warm_start_that_fails_its_proof_falls_back_to_bubblewrap_cold(staged, monkeypatch, tmp_path):
    broken = tmp_path / "zygote.py"
    broken.write_text("import sys\nsys.exit('no warm process here')\n")
    monkeypatch.setattr(forkserver, "ZYGOTE_SOURCE", broken)
    monkeypatch.setattr(forkserver, "_SERVER", None)
    monkeypatch.setattr(forkserver, "_PROVEN", False)
    monkeypatch.setattr(forkserver, "_COLD_BECAUSE", None)
    value, containment = probe(staged, [ISOLATION])
    assert containment.startswith("bubblewrap:")  # started by bubblewrap itself
    assert value["uid"] != 0 and not value["net"]
    assert "warm start failed its proof" in forkserver.why_cold()


@needs_warm
def test_a_warm_child_that_dies_before_ready_is_the_machines_fault(staged, monkeypatch):
    probe(staged, ["def probe():\n    return 1"])  # proven in this process
    launch = sandbox.bwrap_launch
    monkeypatch.setattr(sandbox, "bwrap_launch", lambda *a, **k: _with_bad_bind(launch(*a, **k)))
    with pytest.raises(HarnessFault, match="sandbox setup failed"):
        with Session(LIMITS, SandboxConfig(mode="bwrap"), isolation="bwrap", staged=staged):
            pass
    assert forkserver.why_cold() is None  # one failure after the proof does not turn warm start off


def _with_bad_bind(launch):
    launch.argv = [launch.argv[0], "--ro-bind", "/nonexistent/nn-grader", "/x", *launch.argv[1:]]
    return launch


def test_warm_start_is_off_where_it_cannot_keep_bubblewraps_isolation(monkeypatch):
    monkeypatch.setenv("GRADER_WARM", "0")
    assert "GRADER_WARM=0" in forkserver.why_not_here()
    monkeypatch.delenv("GRADER_WARM")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "root" in forkserver.why_not_here()
