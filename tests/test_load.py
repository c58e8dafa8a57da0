"""Loading submissions: notebooks (v4, v3, sloppy), .py exports, and every unusable input."""
import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from grader.notebook.load import (MAX_BYTES, Cell, Notebook, NotebookError, as_nbformat, assignment_id_hint,
                         load_notebook)

RESOURCES = Path(__file__).parent / "resources" / "load"


def write_v4(path, cells, metadata=None):
    nb = new_notebook(cells=cells, metadata=metadata or {})
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def write_json(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def v4_path(tmp_path):
    return write_v4(tmp_path / "student.ipynb", [
        new_markdown_cell("# Lab 2"),
        new_code_cell("import numpy as np"),
        new_markdown_cell("## Softmax"),
        new_code_cell("def softmax(a):\n    return a"),
        new_raw_cell("raw text"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


# -- unusable input: one line naming the file ----------------------------------------------

def _make_bad(tmp_path, case):
    if case == "missing":
        return tmp_path / "nothere.ipynb"
    if case == "directory":
        (tmp_path / "folder.ipynb").mkdir()
        return tmp_path / "folder.ipynb"
    if case == "too-large":
        path = tmp_path / "huge.ipynb"
        with open(path, "wb") as handle:
            handle.truncate(MAX_BYTES + 1)  # sparse: no disk space, never read
        return path
    contents = {
        "empty": b"",
        "whitespace": b"  \n\n",
        "invalid-json": b'{\n  "cells": [\n    {oops}\n]}',
        "json-list": b"[1, 2, 3]",
        "json-no-cells": b'{"nbformat": 4, "metadata": {}}',
        "cells-not-list": b'{"cells": "print(1)", "nbformat": 4}',
        "binary": bytes(range(256)) * 4,
        "not-utf8": '{"cells": [], "metadata": {"author": "Jos\u00e9"}}'.encode("latin-1"),
        "python-renamed": b"import numpy as np\nprint(np.pi)\n",
    }[case]
    path = tmp_path / "bad.ipynb"
    path.write_bytes(contents)
    return path


@pytest.mark.parametrize("case, reason", [
    ("missing", "file not found"),
    ("directory", "is a directory"),
    ("too-large", "file too large"),
    ("empty", "empty file"),
    ("whitespace", "empty file"),
    ("invalid-json", "not a notebook (invalid JSON at line 3)"),
    ("json-list", "not a notebook"),
    ("json-no-cells", "no list of cells"),
    ("cells-not-list", "no list of cells"),
    ("binary", "binary file"),
    ("not-utf8", "not UTF-8"),
    ("python-renamed", "invalid JSON at line 1"),
])
def test_unusable_input_raises_one_line_naming_the_file(tmp_path, case, reason):
    path = _make_bad(tmp_path, case)
    with pytest.raises(NotebookError) as info:
        load_notebook(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert info.value.path == str(path)


def test_max_bytes_is_configurable(tmp_path, v4_path):
    with pytest.raises(NotebookError, match="file too large"):
        load_notebook(v4_path, max_bytes=10)


@pytest.mark.parametrize("name, data", [
    ("notes.txt", b"just some text\n"),
    ("essay.docx", b"PK\x03\x04\x14\x00\x06\x00"),
    ("README", b"# readme\n"),
])
def test_unknown_extension_that_is_not_a_notebook_is_unsupported(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(NotebookError, match="unsupported file type") as info:
        load_notebook(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_unknown_extension_holding_notebook_json_loads(tmp_path, v4_path):
    path = tmp_path / "student.json"
    path.write_bytes(v4_path.read_bytes())
    assert [c.kind for c in load_notebook(path).cells] == ["markdown", "code", "markdown", "code", "raw"]


def test_undecodable_py_export_is_refused(tmp_path):
    path = tmp_path / "student.py"
    path.write_bytes(b"x = '\xff\xfe'\n")
    with pytest.raises(NotebookError, match="not UTF-8"):
        load_notebook(path)


def test_py_export_with_a_coding_line_is_decoded_with_it(tmp_path):
    path = tmp_path / "student.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nname = 'Jos\u00e9'\n".encode("latin-1"))
    assert "Jos\u00e9" in load_notebook(path).cells[0].source


# -- notebooks ---------------------------------------------------------------------------

def test_cell_indices_count_markdown_and_raw_cells(v4_path):
    nb = load_notebook(v4_path)
    assert [(c.index, c.kind) for c in nb.cells] == [
        (0, "markdown"), (1, "code"), (2, "markdown"), (3, "code"), (4, "raw")]
    assert [c.index for c in nb.code_cells()] == [1, 3]
    assert nb.cells[3].source == "def softmax(a):\n    return a"


def test_content_hash_is_sha256_of_bytes_and_file_is_untouched(v4_path):
    os.utime(v4_path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = v4_path.read_bytes()
    stat = v4_path.stat()
    nb = load_notebook(v4_path)
    assert nb.content_hash == hashlib.sha256(before).hexdigest()
    assert v4_path.read_bytes() == before
    assert v4_path.stat().st_mtime_ns == stat.st_mtime_ns
    assert nb.path == str(v4_path)


def test_read_only_file_loads(v4_path):
    v4_path.chmod(0o444)
    assert len(load_notebook(v4_path).cells) == 5


def test_v3_notebook_is_converted(tmp_path):
    v3 = nbformat.v3
    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_heading_cell("Backprop", level=1),
        v3.new_code_cell(input="import numpy as np"),
        v3.new_text_cell("markdown", source="Some *text*"),
        v3.new_code_cell(input="def relu(a):\n    return a"),
    ])])
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.writes(nb, version=3), encoding="utf-8")
    loaded = load_notebook(path)
    assert [c.kind for c in loaded.cells] == ["markdown", "code", "markdown", "code"]
    assert loaded.cells[0].source == "# Backprop"
    assert loaded.cells[3].source == "def relu(a):\n    return a"


def test_sloppy_notebook_is_repaired_not_rejected():
    nb = load_notebook(RESOURCES / "sloppy.ipynb")  # no outputs, execution_count "3", no ids
    assert [(c.index, c.kind) for c in nb.cells] == [(0, "markdown"), (1, "code"), (2, "code")]
    assert nb.cells[0].source == "# Lab 2\nStudent A"  # source list joined
    assert "cell 1: execution_count" in nb.repairs
    assert "cell 2: outputs" in nb.repairs
    assert not any(r.startswith("still not valid") for r in nb.repairs)


@pytest.mark.parametrize("cells", [
    [{"cell_type": "code", "source": ["x = 1\n", "y = 2"]}, {"cell_type": "markdown", "source": "hi"}],
    [{"cell_type": "code", "source": "x = 1\ny = 2", "outputs": "garbage", "execution_count": [1]},
     {"cell_type": "markdown", "source": "hi", "outputs": []}],
])
@pytest.mark.parametrize("envelope", [
    {},  # no nbformat version at all: nbformat cannot read it, the raw cells are used
    {"nbformat": 4, "nbformat_minor": 2, "metadata": "not a dict"},
    {"nbformat": 4, "nbformat_minor": 5},
])
def test_broken_schema_still_yields_cells(tmp_path, cells, envelope):
    path = write_json(tmp_path / "broken.ipynb", {"cells": cells, **envelope})
    nb = load_notebook(path)
    assert [(c.index, c.kind, c.source) for c in nb.cells] == [(0, "code", "x = 1\ny = 2"), (1, "markdown", "hi")]
    assert nb.repairs  # what was fixed is recorded
    assert isinstance(nb.metadata, dict)


def test_loaded_notebook_is_frozen(v4_path):
    nb = load_notebook(v4_path)
    with pytest.raises(AttributeError):
        nb.cells = ()  # type: ignore[misc]
    assert isinstance(nb.cells, tuple) and all(isinstance(c, Cell) for c in nb.cells)


def test_as_nbformat_gives_a_valid_notebook(tmp_path):
    nb = load_notebook(RESOURCES / "sloppy.ipynb")
    node = as_nbformat(nb)
    nbformat.validate(node)
    assert [c.source for c in node.cells] == [c.source for c in nb.cells]
    assert node.metadata["nn_grader"]["assignment"] == "shallow-backprop"


# -- metadata ----------------------------------------------------------------------------

@pytest.mark.parametrize("metadata, expected", [
    ({"grader": {"assignment": "shallow-backprop"}}, "shallow-backprop"),
    ({"nn_grader": {"assignment": " ffnn-pure-numpy "}}, "ffnn-pure-numpy"),
    ({"grader": {"other": 1}, "nn_grader": {"assignment": "digits-logreg-mlp"}}, "digits-logreg-mlp"),
    ({"grader": "shallow-backprop"}, None),
    ({"grader": {"assignment": ""}}, None),
    ({"grader": {"assignment": 3}}, None),
    ({}, None),
])
def test_assignment_id_hint_reads_metadata(tmp_path, metadata, expected):
    path = write_v4(tmp_path / "s.ipynb", [new_code_cell("x = 1")], metadata=metadata)
    assert assignment_id_hint(load_notebook(path)) == expected


def test_hint_from_fixture_file():
    assert assignment_id_hint(load_notebook(RESOURCES / "sloppy.ipynb")) == "shallow-backprop"


# -- .py exports -------------------------------------------------------------------------

def test_nbconvert_export_splits_on_in_markers_and_drops_header():
    nb = load_notebook(RESOURCES / "nbconvert_export.py")
    assert [c.kind for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[1].source == "import numpy as np\nimport MNISTtools"
    assert "coding" not in "".join(c.source for c in nb.cells)
    assert "#!" not in "".join(c.source for c in nb.cells)
    assert nb.cells[2].source.startswith("def relu(a):")
    assert nb.cells[2].source.endswith("# ## Softmax")  # nbconvert's markdown stays, as a comment
    assert nb.cells[3].source.startswith("def softmax(a):")
    assert nb.metadata == {}


def test_percent_export_reads_markdown_raw_and_tagged_cells():
    nb = load_notebook(RESOURCES / "percent_export.py")
    assert [(c.index, c.kind) for c in nb.cells] == [(0, "markdown"), (1, "code"), (2, "code"), (3, "raw")]
    assert nb.cells[0].source == "# Backpropagation\nSamples are stacked in columns."
    assert nb.cells[1].source == "import numpy as np"
    assert nb.cells[2].source.endswith("def relu(a):\n    return a * (a > 0)")
    assert "jupyter:" not in nb.cells[0].source  # the jupytext YAML header is dropped


@pytest.mark.parametrize("text, expected", [
    # no separators: one cell per top-level statement, so one failing line costs only itself
    ("import numpy as np\n\ndef f(x):\n    return x\n", [("code", "import numpy as np"), ("code", "def f(x):\n    return x")]),
    ("#!/usr/bin/env python3\n#%%\n# load\nx = read()\n\ndef f(x):\n    return x\n#%%\n", [("code", "# load\nx = read()"), ("code", "def f(x):\n    return x")]),
    ("#%%\nx = 1\n#%% [markdown]\n# hello\n", [("code", "x = 1"), ("markdown", "hello")]),
    ("x = 0\n# %%\nx = 1\n", [("code", "x = 0"), ("code", "x = 1")]),
    ("# %%\n%%time\nx = 1\n", [("code", "%%time\nx = 1")]),
    ("# In[3]:\nx = 1\n# In[ ]:\ny = 2\n", [("code", "x = 1"), ("code", "y = 2")]),
])
def test_py_export_cells(tmp_path, text, expected):
    path = tmp_path / "student.py"
    path.write_text(text, encoding="utf-8")
    cells = load_notebook(path).cells
    assert [(c.kind, c.source) for c in cells] == expected
    assert [c.index for c in cells] == list(range(len(expected)))


def test_py_export_hash_and_bytes_unchanged(tmp_path):
    path = tmp_path / "student.py"
    path.write_bytes(b"# %%\nx = 1\n")
    nb = load_notebook(path)
    assert nb.content_hash == hashlib.sha256(b"# %%\nx = 1\n").hexdigest()
    assert path.read_bytes() == b"# %%\nx = 1\n"
    assert isinstance(nb, Notebook)


def test_a_script_with_ipython_magics_is_still_cut_statement_by_statement():
    from grader.notebook.pyexport import cells_from_script

    text = ("import numpy as np\nimport matplotlib.pyplot as plt\n%matplotlib inline\n!pip install tqdm\n\n"
            "def f(x):\n    return x + 1\n\nbroken = np.zeros(10).reshape(60000, 784)\n\ndef g(y):\n    return y * 2\n")
    sources = [c.source for c in cells_from_script(text)]
    assert sources == ["import numpy as np", "import matplotlib.pyplot as plt", "%matplotlib inline", "!pip install tqdm",
                       "def f(x):\n    return x + 1", "broken = np.zeros(10).reshape(60000, 784)", "def g(y):\n    return y * 2"]
