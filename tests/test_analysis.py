"""Static analysis of cells: IPython syntax, Python 2, definitions, --defs-only, integrity, fingerprints."""
import ast

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.notebook.cells import python2_reason, transform_cell, unparsable_cells
from grader.notebook.definitions import Definition, close_names, defined_functions
from grader.notebook.defsonly import defs_only
from grader.notebook.fingerprint import function_fingerprint, similarity
from grader.notebook.integrity import INTEGRITY_FLAGS, scan_integrity
from grader.notebook.load import load_notebook


def make_nb(tmp_path, *cells, metadata=None):
    """A notebook on disk from strings; "md:" starts a markdown cell. Loaded through grader.load."""
    made = [new_markdown_cell(c[3:]) if c.startswith("md:") else new_code_cell(c) for c in cells]
    path = tmp_path / "student.ipynb"
    path.write_text(nbformat.writes(new_notebook(cells=made, metadata=metadata or {})), encoding="utf-8")
    return load_notebook(path)


# -- IPython syntax ----------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "%matplotlib inline\nimport numpy as np",
    "!ls -l\nfiles = !ls",
    "%load sol.py",
    "?help",
    "np.sum?",
    "%%time\nx = 1\nprint(x)",
])
def test_transform_cell_turns_ipython_syntax_into_python(source):
    with pytest.raises(SyntaxError):
        ast.parse(source)
    ast.parse(transform_cell(source))


def test_transform_cell_leaves_python_alone():
    assert transform_cell("x = 1\n") == "x = 1\n"


# -- Python 2 ----------------------------------------------------------------------------

def test_print_statement_notebook_is_python2(tmp_path):
    nb = make_nb(tmp_path, "md:# Lab", "import numpy as np", "print 'shape', x.shape", "md:text",
                 "for i in range(3):\n    print i", "y = 2", "print x")
    reason = python2_reason(nb)
    assert reason == "this notebook is Python 2 (print statements in cells 2, 4, 6): convert it to Python 3"


def test_other_python2_syntax_is_named(tmp_path):
    nb = make_nb(tmp_path, "try:\n    f()\nexcept ValueError, e:\n    pass", "s = `x`", "n = 10L")
    reason = python2_reason(nb)
    assert reason is not None
    assert "'except E, e' clauses in cell 0" in reason
    assert "backtick repr in cell 1" in reason
    assert "long or octal literals in cell 2" in reason
    assert "\n" not in reason


@pytest.mark.parametrize("cells", [
    ("import numpy as np", "def f(x):\n    return x +", "y = 2"),  # one ordinary syntax error
    ("print 'x'", "y = 2", "z = 3"),  # a single print statement is not enough on its own
    ("print('ok')", "x = 1"),
])
def test_single_syntax_error_is_not_python2(tmp_path, cells):
    assert python2_reason(make_nb(tmp_path, *cells)) is None


def test_python2_kernel_with_one_print_statement_is_python2(tmp_path):
    metadata = {"kernelspec": {"name": "python2", "display_name": "Python 2", "language": "python"}}
    reason = python2_reason(make_nb(tmp_path, "print x", "y = 1", metadata=metadata))
    assert reason == "this notebook is Python 2 (its kernel is Python 2; print statements in cell 0): convert it to Python 3"


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"name": "python2", "display_name": "Python 2"}},
    {"language_info": {"name": "python", "version": "2.7.15"}},
])
def test_python2_kernel_whose_code_is_python3_is_not_reported(tmp_path, metadata):
    assert python2_reason(make_nb(tmp_path, "print(1)", "x = 1 / 2", metadata=metadata)) is None


# -- definitions -------------------------------------------------------------------------

@pytest.fixture
def student(tmp_path):
    return make_nb(
        tmp_path,
        "md:# Backprop",                                                         # 0
        "%matplotlib inline\nimport numpy as np\n!ls",                          # 1
        "def relu(a):\n    return a * (a > 0)\nrelu(np.array([1, -2]))",        # 2
        "md:## 4. Backpropagation",                                             # 3
        "?np.maximum\n\n@np.vectorize\ndef relu(a, e):\n    return e * (a > 0)",  # 4
        "%%time\ndef soft_max(a):\n    return np.exp(a)",                       # 5
        "class NeuralNet:\n    def __init__(self, n):\n        self.n = n\n"
        "    def forward(self, x, *args, keep=False, **kw):\n        return x",  # 6
        "sigmoid = lambda z: 1 / (1 + np.exp(-z))",                             # 7
        "def layer_weight(m, n):\n    return np.zeros((m, n))",                 # 8
        "def broken(:\n    pass",                                               # 9
        "if True:\n    def init_shallow(Ni, Nh, No):\n        return Ni",       # 10
    )


def test_defined_functions_in_order_with_cells_params_and_lines(student):
    defs = defined_functions(student)
    assert list(defs) == ["relu", "soft_max", "NeuralNet.__init__", "NeuralNet.forward", "sigmoid",
                          "layer_weight", "init_shallow"]
    assert [(d.cell, d.params, d.lineno) for d in defs["relu"]] == [(2, ("a",), 1), (4, ("a", "e"), 4)]
    assert defs["relu"][1].source.startswith("@np.vectorize\ndef relu(a, e):")
    assert defs["soft_max"][0] == Definition("soft_max", 5, ("a",), "def soft_max(a):\n    return np.exp(a)", 2)
    assert defs["NeuralNet.forward"][0].params == ("self", "x", "*args", "keep", "**kw")
    assert defs["NeuralNet.forward"][0].source.startswith("def forward(self")  # dedented
    assert defs["sigmoid"][0].params == ("z",)
    assert defs["init_shallow"][0].cell == 10


def test_unparsable_cells_are_skipped_and_reported(student):
    assert "broken" not in defined_functions(student)
    assert unparsable_cells(student) == [(9, "invalid syntax (line 1)")]


def test_close_names_finds_relu_redefined_with_the_signature_of_relup(student):
    hints = close_names("relup", ("a", "e"), defined_functions(student))
    assert hints[0] == "relu (cell 4) takes (a, e), the signature of relup"
    assert len(hints) == 1  # relu is not listed a second time as a look-alike


@pytest.mark.parametrize("wanted, params, expected", [
    ("layer_weights", ("m", "n"), ["layer_weight (cell 8)"]),
    ("softmax", ("a",), ["soft_max (cell 5)"]),
    ("forward", ("self", "x"), ["NeuralNet.forward (cell 6)"]),
    ("backprop_shallow", ("x", "d"), []),
    ("relup", None, ["relu (cell 4)"]),  # no signature known: only the look-alike name
])
def test_close_names_look_alikes(student, wanted, params, expected):
    assert close_names(wanted, params, defined_functions(student)) == expected


def test_close_names_ignores_a_single_definition_that_merely_shares_the_signature(tmp_path):
    nb = make_nb(tmp_path, "def sigmoidp(a, e):\n    return e", "def relu(a):\n    return a")
    assert close_names("relup", ("a", "e"), defined_functions(nb)) == ["relu (cell 1)"]


# -- --defs-only -------------------------------------------------------------------------

TRAINING_CELL = '''from __future__ import division
%matplotlib inline
import numpy as np
import MNISTtools
!pip install tqdm
EPS = 1e-8
Ni, Nh = 784, 64
scale = 2.0 / Ni
W = np.zeros((Nh, Ni), dtype=np.float64)
act = lambda z: np.maximum(z, 0)
xtrain, ltrain = MNISTtools.load(dataset="training", path="/datasets/MNIST")
xtrain = normalize(xtrain)
@np.vectorize
def relu(a):
    return a * (a > 0)
class Net:
    rate = 0.1
for epoch in range(100):
    W = train_step(W)
while False:
    pass
print(loss)
plt.plot(losses)
net.W = W
%time backprop(x)
if __name__ == "__main__":
    main()
try:
    import cupy
except ImportError:
    cupy = None
'''


@pytest.mark.parametrize("kept", [
    "from __future__ import division",
    "get_ipython().run_line_magic('matplotlib', 'inline')",
    "import numpy as np", "import MNISTtools", "EPS = 1e-8", "Ni, Nh = 784, 64", "scale = 2.0 / Ni",
    "W = np.zeros((Nh, Ni), dtype=np.float64)", "act = lambda z: np.maximum(z, 0)",
    "@np.vectorize\ndef relu(a):\n    return a * (a > 0)", "class Net:\n    rate = 0.1",
    "try:\n    import cupy\nexcept ImportError:\n    cupy = None",
])
def test_defs_only_keeps_definitions(kept):
    assert kept in defs_only(TRAINING_CELL)


@pytest.mark.parametrize("dropped", [
    "pip", "MNISTtools.load", "normalize(", "for epoch", "train_step", "while", "print(loss)",
    "plt.plot", "net.W", "backprop", "__main__", "main()",
])
def test_defs_only_drops_everything_else(dropped):
    assert dropped not in defs_only(TRAINING_CELL)


def test_defs_only_output_parses_and_keeps_line_numbers():
    out = defs_only(TRAINING_CELL)
    tree = ast.parse(out)
    relu = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert relu.lineno == TRAINING_CELL.splitlines().index("def relu(a):") + 1


@pytest.mark.parametrize("source, expected", [
    ("train(net, epochs=100)\nprint('done')", "pass"),
    ("for i in range(3):\n    print(i)", "pass"),
    ("%%bash\npip install numpy", "pass"),
    ("def f(:\n    pass", "def f(:\n    pass"),  # unparsable: unchanged, so running it records the error
    ("%%writefile helpers.py\ndef g():\n    return 1", "%%writefile helpers.py\ndef g():\n    return 1"),
    ("%%time\ndef f(x):\n    return x\nf(train())", "\ndef f(x):\n    return x\n"),
    ("lr = 0.1; losses = train(lr)", "lr = 0.1"),
    ("x = np.random.randn(n_samples(3))", "pass"),  # np call whose argument calls something
])
def test_defs_only_special_cases(source, expected):
    out = defs_only(source)
    assert out == expected
    if out == "pass" or not source.startswith(("def f(:", "%%writefile")):
        ast.parse(out)


@pytest.mark.parametrize("source", [
    TRAINING_CELL,
    "%%time\ndef f(x):\n    return x\nf(train())",
    "%%writefile helpers.py\ndef g():\n    return 1",
    "%%bash\npip install numpy",
    "?np.maximum\nimport numpy as np\n!ls",
])
def test_defs_only_gives_the_same_code_on_transformed_source(source):
    direct, transformed = defs_only(source), defs_only(transform_cell(source))
    if source.startswith("%%writefile"):
        assert transformed == transform_cell(source)  # kept whole, in whichever form it came
    else:
        assert ast.dump(ast.parse(direct)) == ast.dump(ast.parse(transformed))


# -- integrity ---------------------------------------------------------------------------

@pytest.mark.parametrize("flag, source, line", [
    ("imports-reference", "import reference.shallow_backprop as ref", "import reference.shallow_backprop as ref"),
    ("imports-reference", "from grader.checks.compare import compare", "from grader.checks.compare import compare"),
    ("imports-reference", "w = np.load('../reference/expected.npz')", "w = np.load('../reference/expected.npz')"),
    ("imports-reference", "src = open('/opt/nn/grader/spec.py').read()", "src = open('/opt/nn/grader/spec.py').read()"),
    ("exits-process", "import sys\nif bad:\n    sys.exit(0)", "sys.exit(0)"),
    ("exits-process", "import os\nos._exit(1)", "os._exit(1)"),
    ("exits-process", "exit()", "exit()"),
    ("exits-process", "quit()", "quit()"),
    ("exits-process", "os.kill(os.getpid(), 9)", "os.kill(os.getpid(), 9)"),
    ("exits-process", "raise SystemExit", "raise SystemExit"),
    ("patches-library", "np.allclose = lambda *a, **k: True", "np.allclose = lambda *a, **k: True"),
    ("patches-library", "import numpy\nnumpy.testing.assert_allclose = ok", "numpy.testing.assert_allclose = ok"),
    ("patches-library", "import numpy as npy\nnpy.isclose = ok", "npy.isclose = ok"),
    ("patches-library", "import builtins\nbuiltins.print = silent", "builtins.print = silent"),
    ("patches-library", "__builtins__['print'] = silent", "__builtins__['print'] = silent"),
    ("patches-library", "setattr(np, 'allclose', ok)", "setattr(np, 'allclose', ok)"),
    ("patches-library", "object.__setattr__(np, 'allclose', ok)", "object.__setattr__(np, 'allclose', ok)"),
    ("replaces-code", "softmax.__code__ = mine.__code__", "softmax.__code__ = mine.__code__"),
    ("replaces-code", "object.__setattr__(onehot2label, '__code__', f.__code__)",
     "object.__setattr__(onehot2label, '__code__', f.__code__)"),
    ("replaces-code", "setattr(relup, attr, v)", "setattr(relup, attr, v)"),
    ("replaces-code", "vars(Net)['forward'] = fake", "vars(Net)['forward'] = fake"),
    ("replaces-code", "relu.__defaults__ = (1,)", "relu.__defaults__ = (1,)"),
    ("network", "import socket", "import socket"),
    ("network", "from urllib.request import urlretrieve", "from urllib.request import urlretrieve"),
    ("network", "import requests", "import requests"),
    ("network", "import http.client", "import http.client"),
    ("subprocess", "import subprocess", "import subprocess"),
    ("subprocess", "import os\nos.system('rm -rf /')", "os.system('rm -rf /')"),
    ("subprocess", "pid = os.fork()", "pid = os.fork()"),
    ("subprocess", "out = os.popen('ls').read()", "out = os.popen('ls').read()"),
    ("subprocess", "import pty", "import pty"),
    ("subprocess", "from multiprocessing import Pool", "from multiprocessing import Pool"),
    ("ctypes", "import ctypes", "import ctypes"),
    ("writes-files", "with open('answers.txt', 'w') as f:\n    f.write(s)", "with open('answers.txt', 'w') as f:"),
    ("writes-files", "open('log', mode='a')", "open('log', mode='a')"),
    ("writes-files", "np.save('W.npy', W)", "np.save('W.npy', W)"),
    ("writes-files", "np.savez('w.npz', W=W)", "np.savez('w.npz', W=W)"),
    ("writes-files", "shutil.rmtree('data')", "shutil.rmtree('data')"),
    ("writes-files", "os.remove('MNISTtools.py')", "os.remove('MNISTtools.py')"),
    ("writes-files", "%%writefile MNISTtools.py\ndef load(*a):\n    pass", "%%writefile MNISTtools.py"),
    ("fake-results", "print('All tests passed. Score: 50/50')", "print('All tests passed. Score: 50/50')"),
    ("fake-results", "print(f'softmaxp: passed ({pts} points)')", "print(f'softmaxp: passed ({pts} points)')"),
    ("fake-results", "print('Congratulations, full marks!')", "print('Congratulations, full marks!')"),
    ("signal", "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)", "import signal"),
    ("loads-solution", "# %load solutions/numpy_nll.py\ndef nll(a, b):\n    return 0.5", "%load solutions/numpy_nll.py (defines nll)"),
])
def test_scan_integrity_flags_each_category(tmp_path, flag, source, line):
    nb = make_nb(tmp_path, "md:# intro", "import numpy as np", source)
    assert (flag, f"cell 2: {line}") in scan_integrity(nb)


def test_every_flag_is_covered_and_known():
    assert set(INTEGRITY_FLAGS) == {"imports-reference", "exits-process", "patches-library", "network",
                                    "subprocess", "ctypes", "writes-files", "fake-results", "signal", "loads-solution",
                                    "replaces-code"}


def test_a_load_with_nothing_under_it_is_not_a_loaded_solution(tmp_path):
    nb = make_nb(tmp_path, "# %load solutions/numpy_nll.py")
    assert scan_integrity(nb) == []


def test_the_handouts_own_loader_is_not_flagged(tmp_path):
    from grader.notebook.template import Handout
    handout = Handout("from urllib import request\n\ndef load_mnist():\n    request.urlretrieve('u', 'f')\n    open('m.pkl', 'wb')\n", {"sigmoid"})
    nb = make_nb(tmp_path, "from urllib import request", "def load_mnist():\n    request.urlretrieve('u', 'f')\n    open('m.pkl', 'wb')",
                 "def sigmoid(x):\n    open('out', 'w')")
    assert scan_integrity(nb, handout) == [("writes-files", "cell 2: open('out', 'w')")]


def test_honest_notebook_is_not_flagged(tmp_path):
    nb = make_nb(
        tmp_path,
        "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport MNISTtools\n!ls",
        "xtrain, ltrain = MNISTtools.load(dataset='training', path='/datasets/MNIST')\n"
        "with open('notes.txt') as f:\n    notes = f.read()",
        "def softmax(a):\n    e = np.exp(a - a.max(axis=0))\n    return e / e.sum(axis=0)",
        "reference_output = softmax(np.ones((3, 2)))\nprint('softmax test passed')",
        "for epoch in range(5):\n    loss = 0.1 * epoch\n    print(loss)\n    print('epoch', epoch, 'loss', loss)",
        "plt.plot([1, 2])\nplt.savefig('fig.png')\nfig = plt.gcf()\nfig.savefig('learning_curve.png')",
        "np.random.seed(0)\nnp.set_printoptions(precision=3)\nX = np.load('data.npy')",
        "class Net:\n    def __init__(self, **kw):\n        self.__dict__['kw'] = kw\n        setattr(self, 'lr', 0.1)\n"
        "    __call__ = lambda self, x: x",
    )
    assert scan_integrity(nb) == []


def test_unparsable_cell_is_scanned_with_regexes(tmp_path):
    nb = make_nb(tmp_path, "print 'hi'\nimport subprocess\nnp.allclose = fake\nsys.exit(0)\n# import signal")
    assert scan_integrity(nb) == [
        ("subprocess", "cell 0: import subprocess"),
        ("patches-library", "cell 0: np.allclose = fake"),
        ("exits-process", "cell 0: sys.exit(0)"),
    ]


def test_each_finding_reported_once_in_cell_order(tmp_path):
    nb = make_nb(tmp_path, "import ctypes", "import ctypes\nimport ctypes", "md:x", "import signal")
    assert scan_integrity(nb) == [("ctypes", "cell 0: import ctypes"), ("ctypes", "cell 1: import ctypes"),
                                  ("signal", "cell 3: import signal")]


# -- fingerprints ------------------------------------------------------------------------

ORIGINAL = '''def softmax(a):
    """Column-wise softmax."""
    m = a.max(axis=0)  # subtract the max so exp cannot overflow
    e = np.exp(a - m)
    return e / e.sum(axis=0)
'''
RENAMED = '''def softmax(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=0)
    ex = np.exp(logits - top)

    return ex / ex.sum(axis=0)
'''
UNSTABLE = '''def softmax(a):
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)
'''


def test_fingerprint_of_renamed_copy_is_identical():
    assert function_fingerprint(ORIGINAL) == function_fingerprint(RENAMED)
    assert similarity(ORIGINAL, RENAMED) == 1.0


def test_fingerprint_normalises_locals_but_keeps_globals():
    fingerprint = function_fingerprint(ORIGINAL)
    assert fingerprint == "def softmax(v0):\n    v1 = v0.max(axis=0)\n    v2 = np.exp(v0 - v1)\n    return v2 / v2.sum(axis=0)"


def test_fingerprint_differs_for_different_logic():
    assert function_fingerprint(ORIGINAL) != function_fingerprint(UNSTABLE)
    assert similarity(ORIGINAL, UNSTABLE) < 0.9


@pytest.mark.parametrize("a, b", [
    ("def f(x, y):\n    for i in range(y):\n        x = x + i\n    return x",
     "def f(p, q):\n    for k in range(q):\n        p = p + k\n    return p"),
    ("def g(X):\n    s = [v * 2 for v in X]\n    return s", "def g(Y):\n    t = [w * 2 for w in Y]\n    return t"),
    ("def g(X):\n    try:\n        return X\n    except ValueError as err:\n        raise err",
     "def g(Z):\n    try:\n        return Z\n    except ValueError as e:\n        raise e"),
])
def test_fingerprint_ignores_local_names_in_loops_comprehensions_and_handlers(a, b):
    assert function_fingerprint(a) == function_fingerprint(b)


def test_fingerprint_of_unparsable_source_is_whitespace_normalised():
    assert function_fingerprint("def f(:\n   pass") == "def f(: pass"


def test_defs_only_keeps_a_function_attached_to_a_class():
    from grader.notebook.defsonly import defs_only

    source = "def _v(self, x):\n    return x\nNeuralNet.grad_loss = _v\nnp.allclose = _v\nNeuralNet.x = compute()\n"
    kept = defs_only(source)
    assert "NeuralNet.grad_loss = _v" in kept
    assert "np.allclose" not in kept and "compute()" not in kept


def test_copy_flags_skip_what_the_handout_forces_and_keep_what_a_student_writes():
    """A correct minibatch loop (the handout leaves one line to write) is nobody's copy; a whole update_shallow
    that is the solution's, up to names, is flagged (scripts/measure_copy_flags.py measures the rule on the corpora)."""
    from grader.checks.spec import load_spec
    from grader.notebook.definitions import defined_functions
    from grader.notebook.load import load_notebook
    from grader.pipeline.grade import Grader, Options

    grader = Grader(load_spec("shallow-backprop"), Options())
    defined = defined_functions(load_notebook(grader.spec.folder / "solution.ipynb"))
    flagged = {flag.detail.split(": ")[1].split(" ")[0] for flag in grader.copy_flags(defined)}
    assert "update_shallow" in flagged
    assert "backprop_minibatch_shallow" not in flagged and "backprop_shallow" not in flagged
