"""The student's process: IPython semantics, limits, crashes survived, plain values only."""
import os
import time

import numpy as np
import pytest
from conftest import cold_start, isolation_params

from grader.run import sandbox
from grader.run.execute import HelperPolicy, Session, probe_bwrap
from grader.run.sandbox import Limits, SandboxConfig

FAST = Limits(cell_timeout=3, notebook_timeout=60, call_timeout=5)
MODES = ["none"] + (["bwrap"] if probe_bwrap() is None else [])


def run(cells, limits=FAST, mode="auto"):
    with Session(limits, SandboxConfig(mode=mode)) as session:
        outcomes, status = session.run_cells(list(enumerate(cells)))
        probe = session.call({"function": "probe"}, {"args": [], "kwargs": {}})
    return outcomes, status, probe


def statuses(outcomes):
    return [o.status for o in outcomes]


def test_cells_run_in_order_and_a_failing_cell_does_not_stop_the_rest():
    outcomes, status, probe = run(["x = 1", "y = undefined + 1", "x += 1", "def probe():\n    return x"])
    assert statuses(outcomes) == ["ok", "error", "ok", "ok"]
    assert outcomes[1].error == "NameError: name 'undefined' is not defined"
    assert "undefined + 1" in outcomes[1].source
    assert status == "errors"
    assert probe.status == "ok" and probe.value["return"] == 2


def test_ipython_semantics():
    cells = [
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()",
        "from __future__ import annotations\ndef f(x: SomeUndefinedType) -> int:\n    return 1",
        "help(len)\nfrom IPython.display import display\ndisplay({'a': 1})",
        "!ls /\nfiles = !ls\n%pip install nothing",
        "%time z = sum(range(10))",
        "%%time\nw = 3",
        "def probe():\n    import matplotlib\n    return (f(0), z, w, len(files), matplotlib.get_backend())",
    ]
    outcomes, status, probe = run(cells)
    assert statuses(outcomes) == ["ok"] * len(cells), [o.error for o in outcomes]
    f0, z, w, nfiles, backend = probe.value["return"]
    assert (f0, z, w, nfiles) == (1, 45, 3, 0)
    assert backend.lower() == "agg"


def test_load_magic_runs_an_existing_file_and_fails_cleanly_on_a_missing_one():
    cells = [
        "open('helper.py', 'w').write('LOADED = 7')",
        "%load helper.py",
        "%load solutions/missing.py",
        "def probe():\n    return LOADED",
    ]
    outcomes, status, probe = run(cells)
    assert statuses(outcomes) == ["ok", "ok", "error", "ok"]
    assert "missing.py" in outcomes[2].error
    assert probe.value["return"] == 7


def test_a_hanging_cell_is_interrupted_and_the_notebook_goes_on():
    started = time.perf_counter()
    outcomes, status, probe = run(["import time\nwhile True:\n    time.sleep(0.01)", "def probe():\n    return 'after'"])
    assert statuses(outcomes) == ["timeout", "ok"]
    assert status == "timeout"
    assert probe.value["return"] == "after"
    assert time.perf_counter() - started < FAST.cell_timeout + 10


def test_a_cell_that_swallows_the_interrupt_costs_the_worker_but_state_is_replayed():
    cells = [
        "kept = 41",
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except BaseException:\n        pass",
        "kept += 1",
        "def probe():\n    return kept",
    ]
    started = time.perf_counter()
    outcomes, status, probe = run(cells)
    assert statuses(outcomes) == ["ok", "timeout", "ok", "ok"]
    assert probe.value["return"] == 42
    assert time.perf_counter() - started < 2 * FAST.cell_timeout + 15


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("import os\nos._exit(3)", "exited with code 3"),
        ("import ctypes\nctypes.string_at(0)", "segmentation fault"),
    ],
)
def test_a_crash_is_recorded_and_the_rest_still_runs(cell, expected):
    outcomes, status, probe = run(["before = 1", cell, "def probe():\n    return before + 1"])
    assert statuses(outcomes) == ["ok", "error", "ok"]
    assert expected in outcomes[1].error
    assert status == "crashed"
    assert probe.value["return"] == 2


def test_sys_exit_is_an_ordinary_cell_error():
    outcomes, status, probe = run(["import sys\nsys.exit(1)", "def probe():\n    return 5"])
    assert statuses(outcomes) == ["error", "ok"]
    assert outcomes[0].error.startswith("SystemExit")
    assert probe.value["return"] == 5


def test_memory_cap_turns_a_memory_bomb_into_a_memory_error():
    limits = Limits(cell_timeout=10, memory_bytes=1024**3)
    outcomes, status, probe = run(["import numpy as np\nbig = np.ones((40000, 40000))", "def probe():\n    return 1"], limits)
    assert outcomes[0].status == "error"
    assert "MemoryError" in outcomes[0].error or "Unable to allocate" in outcomes[0].error
    assert probe.value["return"] == 1


def test_an_output_flood_is_truncated_and_cheap():
    started = time.perf_counter()
    outcomes, status, probe = run(["for i in range(500000):\n    print('x' * 100)", "def probe():\n    return 1"], Limits(cell_timeout=30))
    assert statuses(outcomes) == ["ok", "ok"]
    assert time.perf_counter() - started < 20


def test_the_notebook_time_limit_skips_what_is_left():
    limits = Limits(cell_timeout=2, notebook_timeout=3)
    outcomes, status, _ = run(["import time\ntime.sleep(1.5)", "time.sleep(1.5)", "time.sleep(1.5)", "x = 1"], limits)
    assert status == "timeout"
    assert outcomes[-1].status == "skipped"
    assert "time limit" in outcomes[-1].error


@pytest.mark.parametrize("mode", isolation_params())
def test_the_grader_and_reference_packages_cannot_be_imported(mode):
    cells = [
        "def probe():\n    out = []\n    for name in ('reference', 'grader'):\n        try:\n            __import__(name)\n            out.append(name)\n        except ImportError:\n            pass\n    return out",
    ]
    _, _, probe = run(cells, mode=mode)
    assert probe.status == "ok"
    assert probe.value["return"] == []


@pytest.mark.skipif("bwrap" not in MODES, reason="bubblewrap is not available here")
def test_bwrap_hides_the_project_blocks_the_network_and_keeps_the_system_read_only():
    cells = [
        "import os, socket\n"
        "def probe():\n"
        f"    hidden = not os.path.exists({str(sandbox.PROJECT_ROOT / 'reference')!r})\n"
        "    try:\n"
        "        socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "        net = True\n"
        "    except OSError:\n"
        "        net = False\n"
        "    try:\n"
        "        open('/usr/evil', 'w')\n"
        "        ro = False\n"
        "    except OSError:\n"
        "        ro = True\n"
        "    return hidden, net, ro, os.getpid()",
    ]
    _, _, probe = run(cells, mode="bwrap")
    hidden, net, read_only, pid = probe.value["return"]
    assert hidden and not net and read_only
    assert pid < 10  # its own process namespace


def test_calls_send_inputs_and_bring_back_only_plain_values():
    cells = [
        "import numpy as np\n"
        "def double(a, scale=2):\n    return a * scale\n"
        "def several(a):\n    return a, {'sum': float(a.sum())}, [1, 2], None, 'text'\n"
        "def figure(a):\n    import matplotlib.pyplot as plt\n    return plt.figure()\n"
        "def inplace(a):\n    a += 1\n    return a\n"
        "def slow(a):\n    import time\n    time.sleep(60)\n"
        "def broken(a):\n    return a @ np.ones((7, 7))",
    ]
    a = np.arange(6.0).reshape(2, 3)
    with Session(FAST, SandboxConfig()) as session:
        session.run_cells(list(enumerate(cells)))
        doubled = session.call({"function": "double"}, {"args": [a], "kwargs": {"scale": 3}})
        several = session.call({"function": "several"}, {"args": [a], "kwargs": {}})
        figure = session.call({"function": "figure"}, {"args": [a], "kwargs": {}})
        inplace = session.call({"function": "inplace"}, {"args": [a], "kwargs": {}})
        slow = session.call({"function": "slow", "timeout": 1}, {"args": [a], "kwargs": {}})
        broken = session.call({"function": "broken"}, {"args": [a], "kwargs": {}})
        missing = session.call({"function": "nowhere"}, {"args": [], "kwargs": {}})
    assert np.array_equal(doubled.value["return"], 3 * a)
    ret = several.value["return"]
    assert isinstance(ret, tuple) and np.array_equal(ret[0], a) and ret[1] == {"sum": 15.0} and ret[2:] == ([1, 2], None, "text")
    assert type(figure.value["return"]).__name__ == "Opaque"
    assert inplace.mutated == [0] and np.array_equal(a, np.arange(6.0).reshape(2, 3))
    assert slow.status == "timeout"
    assert broken.status == "error" and "matmul" in broken.error
    assert missing.status == "missing" and "nowhere" in missing.error


def test_a_helper_proxy_answers_with_the_graders_function_only_during_the_call():
    cells = ["def relu(a):\n    return a  # wrong\n\ndef layer(a):\n    return relu(a) * 2"]
    a = np.array([-1.0, 2.0])
    with Session(FAST, SandboxConfig()) as session:
        session.run_cells(list(enumerate(cells)))
        own = session.call({"function": "layer"}, {"args": [a], "kwargs": {}})
        policy = HelperPolicy(frozenset({"relu"}), lambda name, args, kwargs: np.maximum(args[0], 0), budget=10)
        proxied = session.call({"function": "layer"}, {"args": [a], "kwargs": {}}, policy)
        after = session.call({"function": "layer"}, {"args": [a], "kwargs": {}})
    assert np.array_equal(own.value["return"], [-2.0, 4.0])
    assert np.array_equal(proxied.value["return"], [0.0, 4.0])
    assert np.array_equal(after.value["return"], [-2.0, 4.0])  # the student's own relu is back


def test_training_calls_see_the_same_global_seed():
    cells = ["import numpy as np\ndef draw(n):\n    return np.random.permutation(n)"]
    with Session(FAST, SandboxConfig()) as session:
        session.run_cells(list(enumerate(cells)))
        first = session.call({"function": "draw", "seed": 5}, {"args": [10], "kwargs": {}})
        second = session.call({"function": "draw", "seed": 5}, {"args": [10], "kwargs": {}})
    np.random.seed(5)
    assert np.array_equal(first.value["return"], np.random.permutation(10))
    assert np.array_equal(second.value["return"], first.value["return"])


def test_the_working_folder_has_the_data_shims_and_is_removed_afterwards():
    cells = ["import os, MNISTtools\nx, l = MNISTtools.load('training', '/no/such/laptop/path')\nfiles = sorted(os.listdir('.'))\ndef probe():\n    return x.shape, str(x.dtype), files"]
    for mode in MODES:
        with Session(FAST, SandboxConfig(mode=mode)) as session:
            staged, workdir = session.staged, session.launch.host_workdir
            session.run_cells(list(enumerate(cells)))
            probe = session.call({"function": "probe"}, {"args": [], "kwargs": {}})
        shape, dtype, files = probe.value["return"]
        assert shape[0] == 784 and shape[1] > 1000 and dtype == "uint8"
        assert {"MNISTtools.py", "train-images-idx3-ubyte", "train-labels.idx3-ubyte"} <= set(files)
        assert not staged.exists() and (workdir is None or not workdir.exists())


def test_every_sibling_module_the_sandboxed_scripts_import_is_staged_beside_them(tmp_path):
    """worker.py and zygote.py run outside the package: what they import from grader/run must be staged."""
    import ast
    from pathlib import Path

    from grader.run import sandbox as sandbox_module

    here = Path(sandbox_module.__file__).parent
    siblings = set()
    for script in ("worker.py", "zygote.py", *sandbox_module.SANDBOX_MODULES):
        for node in ast.walk(ast.parse((here / script).read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]  # `from wire import encode`
            else:
                names = []
            siblings |= {f"{n}.py" for n in names if (here / f"{n}.py").exists()}
    assert siblings, "the scripts import no sibling module: this test looks at the wrong thing"
    assert siblings <= set(sandbox_module.SANDBOX_MODULES)
    staged = sandbox_module.stage(sandbox_module.SandboxConfig(), with_data=False)
    assert {p.name for p in staged.iterdir() if p.suffix == ".py"} >= siblings


def test_a_notebook_module_named_like_a_staged_sibling_is_the_notebooks_own():
    """The worker's siblings leave sys.modules once loaded: a notebook's own wire.py imports as itself."""
    cells = ["import importlib\nopen('wire.py', 'w').write('MINE = 1\\n')\nimportlib.invalidate_caches()\nimport wire\n"
             "try:\n    import privilege\n    ours = True\nexcept ImportError:\n    ours = False\n"
             "def probe():\n    return getattr(wire, 'MINE', 0), ours"]
    for mode in MODES:
        with Session(FAST, SandboxConfig(mode=mode)) as session:
            session.run_cells(list(enumerate(cells)))
            probe = session.call({"function": "probe"}, {"args": [], "kwargs": {}})
        assert probe.status == "ok", probe.error
        mine, staged_privilege = probe.value["return"]
        assert mine == 1, mode
        assert not staged_privilege, mode  # no privilege.py in the notebook's folder: the import fails, not ours


@pytest.mark.parametrize("mode", isolation_params(cold=True))
def test_the_reference_source_is_unreadable_in_every_isolation(mode):
    """Not only under bubblewrap: the cold root path hides the checkout too (a non-root grader cannot)."""
    if mode == "none" and os.geteuid() != 0:
        pytest.skip("without bubblewrap a non-root grader's notebook runs as the grader's user (README)")
    source = sandbox.PROJECT_ROOT / "reference" / "shallow_backprop.py"
    assert source.exists()
    cells = [f"def probe():\n    try:\n        return len(open({str(source)!r}).read())\n    except OSError:\n        return -1"]
    with cold_start(mode) as started:
        _, _, probe = run(cells, mode=started)
    assert probe.status == "ok"
    assert probe.value["return"] == -1


@pytest.mark.parametrize("mode", isolation_params())
def test_a_traceback_shows_the_students_code_never_the_graders_files_or_install(mode):
    import sys

    import IPython

    outcomes, _, _ = run(["import numpy as np\ndef f(x):\n    return np.reshape(x, (7, 7))", "f(np.zeros(10))"], mode=mode)
    text = outcomes[1].traceback
    assert "return np.reshape(x, (7, 7))" in text and "cannot reshape array of size 10" in text
    assert "site-packages/numpy" in text  # the library's own frame stays, by its place in the install
    for machine in (sys.prefix, sys.base_prefix, os.path.dirname(IPython.__file__), "worker", "/grader/"):
        assert machine not in text, machine
