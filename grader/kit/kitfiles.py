"""What a released notebook needs beside it to run end to end: helper modules, the data, the packages.

Read from the solution notebook itself, so that the kit cannot drift from it: the modules it imports
(the handout's helpers, such as MNISTtools, are shipped; third-party packages go into the README's
install line) and the MNIST idx files it reads (shipped as the grader's own embedded data set, under
the names the notebook uses, so the student's numbers are the grader's).
"""
from __future__ import annotations

import ast
import gzip
import re
import shutil
import sys
from pathlib import Path

import nbformat

from grader.notebook.cells import transform_cell

# the handout's own helper modules, from the reference package's data layer (not the reference solutions)
HELPERS = {"MNISTtools": "MNISTtools.py"}
# an import name -> what pip installs it as
PIP_NAMES = {"sklearn": "scikit-learn", "IPython": "ipython", "PIL": "pillow", "cv2": "opencv-python"}
ALWAYS = ("numpy", "ipython", "jupyter")  # the kit's own checker and the notebook server
IDX = re.compile(r"\b(train|t10k)-(images|labels)[\w.-]*ubyte(?:\.gz)?\b")
DATA_CALLS = ("MNISTtools", "load_mnist")  # code that reads MNIST's idx files by itself


def code_of(solution: nbformat.NotebookNode) -> list[str]:
    """The solution's code cells as Python (IPython magics transformed)."""
    return [transform_cell(c.source) for c in solution.cells if c.cell_type == "code"]


def imported_modules(solution: nbformat.NotebookNode) -> list[str]:
    """Top-level names of every module the solution imports, in first-seen order."""
    found: dict[str, None] = {}
    for source in code_of(solution):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((alias.name.split(".")[0], None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found[node.module.split(".")[0]] = None
    return list(found)


def data_names(solution: nbformat.NotebookNode) -> dict[str, str] | None:
    """The four MNIST files the solution reads ("test-images" -> the name it uses), or None when it reads none."""
    text = "\n".join(code_of(solution))
    used = {("test" if m.group(1) == "t10k" else "train") + "-" + m.group(2): m.group(0) for m in IDX.finditer(text)}
    if not used and not any(call in text for call in DATA_CALLS):
        return None
    from reference.data import MNIST_FILES

    return {key: used.get(key, standard) for key, standard in MNIST_FILES.items()}


def write_kit_files(solution: nbformat.NotebookNode, dest: Path) -> list[Path]:
    """The helper modules and the data the solution needs, written beside it in the kit."""
    import reference
    from reference.data import MNIST_FILES, embedded_dir

    written = []
    for module in imported_modules(solution):
        if module in HELPERS:
            shutil.copyfile(Path(reference.__file__).parent / HELPERS[module], dest / HELPERS[module])
            written.append(dest / HELPERS[module])
    names = data_names(solution)
    if names is not None:
        source = embedded_dir()
        for key, standard in MNIST_FILES.items():
            if names[key] == standard:  # read through a helper that takes .gz as well: a fifth of the size
                target = dest / (standard + ".gz")
                target.write_bytes(gzip.compress((source / standard).read_bytes(), mtime=0))
            else:  # the notebook opens the file by this name itself
                target = dest / names[key]
                shutil.copyfile(source / standard, target)
            written.append(target)
    return written


def install_line(solution: nbformat.NotebookNode, shipped: set[str]) -> str:
    """`python -m pip install ...`: every third-party package the notebook imports, and the kit's own."""
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    wanted = dict.fromkeys(ALWAYS)
    for module in imported_modules(solution):
        if module in stdlib or module in shipped or module == "nncheck":
            continue
        wanted[PIP_NAMES.get(module, module)] = None
    return "python -m pip install " + " ".join(wanted)
