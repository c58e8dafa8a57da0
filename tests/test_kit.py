"""The student kit: what goes in (public checks only, no answers), and what students are shown."""
from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from grader.checks import bank
from grader import cli
from grader.outputs import exports
from grader.pipeline import grade
from grader.kit.release import BEGIN, END, release
from grader.result import Execution, IntegrityFlag, Result
from grader.result import TestResult as Entry
from grader.checks.spec import SpecError, list_assignments, load_spec

MIN_LINE = 20  # shorter lines (`return y`, `import numpy as np`) prove nothing either way


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> dict:
    """assignment -> its released kit folder."""
    root = tmp_path_factory.mktemp("kits")
    return {a: release(a, root / a) and root / a for a in list_assignments()}


def kit_texts(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".npz"}


def kit_lines(folder) -> set[str]:
    return {line.strip() for text in kit_texts(folder).values() for line in text.splitlines()}


def body_lines(source: str) -> set[str]:
    """The meaningful lines of a function's or class's body: no decorator, def line or docstring."""
    tree = ast.parse(textwrap.dedent(source))
    docstrings = {id(n.body[0]) for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    skip = set()
    for node in ast.walk(tree):
        if id(node) in docstrings:
            skip.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            skip.update(d.lineno for d in node.decorator_list)
            skip.add(node.lineno)
    lines = textwrap.dedent(source).splitlines()
    return {line.strip() for i, line in enumerate(lines, 1) if i not in skip and len(line.strip()) >= MIN_LINE and not line.strip().startswith("#")}


def reference_lines(spec) -> set[str]:
    """The bodies of the reference's graded functions and methods (handout-given ones are not secret)."""
    module = spec.reference_module()
    found = set()
    for fn in spec.functions:
        if fn.given:
            continue
        value = module
        for part in fn.name.split("."):
            value = getattr(value, part, None)
        if inspect.isfunction(value) or inspect.isclass(value):
            found |= body_lines(inspect.getsource(value))
    return found


def engine_origin_lines() -> set[str]:
    """Lines of the grader's own modules: the engine is made of them, so they are no secret."""
    from pathlib import Path

    import grader

    return {line.strip() for p in Path(grader.__file__).parent.rglob("*.py") for line in p.read_text().splitlines()}


def solution_lines(spec) -> set[str]:
    nb = nbformat.read(spec.folder / "solution.ipynb", as_version=4)
    found, inside = set(), False
    for cell in nb.cells:
        for line in cell.source.splitlines() if cell.cell_type == "code" else ():
            if BEGIN.match(line) or END.match(line):
                inside = bool(BEGIN.match(line))
                continue
            if inside and len(line.strip()) >= MIN_LINE and not line.strip().startswith("#"):
                found.add(line.strip())
    return found


def bank_lines(spec) -> set[str]:
    module = spec.bank_module()
    found = set()
    for name, value in vars(module).items():
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            found |= body_lines(inspect.getsource(value))
    return found


def arrays_in(value) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in arrays_in(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in arrays_in(v)]
    return []


# ---------------------------------------------------------------- what goes into the kit


@pytest.mark.parametrize("assignment", list_assignments())
def test_kit_holds_the_notebook_the_pack_the_engine_and_a_readme(assignment, kits):
    folder = kits[assignment]
    names = set(kit_texts(folder))
    assert {f"{assignment}.ipynb", f"{assignment}.checks.json", "README.txt", "nncheck/__init__.py", "nncheck/compare.py"} <= names
    assert (folder / f"{assignment}.checks.npz").exists()
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    assert nb.metadata["grader"] == {"assignment": assignment, "pack": f"{assignment}.checks.json"}
    assert not any(p.name in ("solution.ipynb", "bank.py", "spec.toml") for p in folder.rglob("*"))


@pytest.mark.parametrize("assignment", list_assignments())
@pytest.mark.parametrize("source", ["reference", "solution", "bank"])
def test_no_line_of_an_answer_is_in_the_kit(assignment, source, kits):
    spec = load_spec(assignment)
    secret = {"reference": reference_lines, "solution": solution_lines, "bank": bank_lines}[source](spec)
    assert secret, f"nothing to look for in the {source}: the scan would prove nothing"
    leaked = (secret - engine_origin_lines()) & kit_lines(kits[assignment])
    assert not leaked, f"{source} lines in the kit: {sorted(leaked)[:5]}"


@pytest.mark.parametrize("assignment", list_assignments())
def test_hidden_checks_are_not_in_the_kit_not_even_their_inputs(assignment, kits):
    spec = load_spec(assignment)
    hidden = [c for c in spec.checks if not c.visible]
    assert hidden, "every assignment keeps some checks hidden"
    manifest = json.loads((kits[assignment] / f"{assignment}.checks.json").read_text())
    assert [c["name"] for c in manifest["checks"]] == [c.name for c in spec.checks if c.visible]
    assert manifest["withheld"] == {"count": len(hidden), "points": float(sum(c.points for c in hidden))}
    text = "\n".join(kit_texts(kits[assignment]).values())
    assert not any(c.name in text for c in hidden)
    with np.load(kits[assignment] / f"{assignment}.checks.npz", allow_pickle=False) as data:
        packed = {(a.shape, a.dtype.str, a.tobytes()) for a in (data[k] for k in data.files)}
    for check in hidden:
        probe = grade.build_probe(spec, check)
        for array in arrays_in(probe.payload):
            if array.size >= 4 and len(np.unique(array)) > 2:  # tiny or constant arrays could coincide by chance
                assert (array.shape, array.dtype.str, array.tobytes()) not in packed, f"an input of hidden check {check.name!r} is in the pack"


def test_engine_is_the_graders_own_code_with_imports_made_relative(kits):
    folder = next(iter(kits.values())) / "nncheck"
    import importlib
    from pathlib import Path

    from grader.kit.vendor import VENDORED

    for module in ("compare", "diagnose", "judging", "wire"):
        original = Path(importlib.import_module(VENDORED[module]).__file__).read_text()
        vendored = (folder / f"{module}.py").read_text()
        strip = lambda text: [l for l in text.splitlines() if not re.match(r"\s*from (grader|\.)", l) and not l.startswith("# Vendored")]  # noqa: E731
        assert strip(original) == strip(vendored)
    engine = "".join(p.read_text() for p in folder.glob("*.py"))
    assert not re.search(r"^\s*(import grader|from grader|import reference|from reference)", engine, re.M)


def test_every_kit_module_the_engine_imports_is_vendored_whole():
    """A split of the engine must list its new module in VENDORED: otherwise its classes would be
    copied by source into _vendored.py, without their imports, and the kit would not start."""
    import ast
    import importlib
    from pathlib import Path

    from grader.kit.vendor import VENDORED

    missing = []
    for dotted in VENDORED.values():
        tree = ast.parse(Path(importlib.import_module(dotted).__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("grader.kit"):
                if node.module not in VENDORED.values():
                    missing.append(f"{dotted} imports {node.module}")
    assert not missing, "kit modules the engine needs but VENDORED leaves out:\n" + "\n".join(missing)


# ---------------------------------------------------------------- the engine, in this process


def load_engine(folder):
    """Import the kit's nncheck package from its folder, as a student's Python would."""
    for name in [n for n in sys.modules if n == "nncheck" or n.startswith("nncheck.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        import nncheck
        import nncheck.kitcore

        return nncheck
    finally:
        sys.path.remove(str(folder))


def test_check_finds_functions_by_name_or_object_and_names_a_banked_mistake(kits):
    folder = kits["shallow-backprop"]
    nncheck = load_engine(folder)
    pack = nncheck.kitcore.Pack(folder / "shallow-backprop.checks.json")

    def eval_perfs(y, lbl):  # a fraction where a percentage is wanted
        return float(np.mean(np.argmax(y, axis=0) != lbl))

    def relu(a):
        return np.maximum(a, 0)

    namespace = {"eval_perfs": eval_perfs, "relu": relu, "np": np}
    by_name = nncheck.run_checks("eval_perfs", namespace, pack)
    by_object = nncheck.run_checks(eval_perfs, namespace, pack)
    assert [r.status for r in by_name.results] == [r.status for r in by_object.results] == ["failed"]
    assert by_name.results[0].diagnosis == "eval-perfs-fraction"
    assert nncheck.run_checks(relu, namespace, pack).results[0].status == "passed"
    everything = nncheck.run_checks(None, namespace, pack)
    assert {r.function for r in everything.results if r.status == "missing"} == set(pack.graded_names()) - {"eval_perfs", "relu"}
    html = everything._repr_html_()
    assert "&#10004;" in html and "eval-perfs-fraction" in html and "graded by your instructor" in html
    with pytest.raises(nncheck.KitError):
        nncheck.run_checks("not_a_graded_function", namespace, pack)


def test_check_inside_a_module_reads_the_callers_globals(kits, tmp_path):
    folder = kits["shallow-backprop"]
    script = tmp_path / "mine.py"
    script.write_text("import numpy as np\nfrom nncheck import check\n\ndef relu(a):\n    return np.maximum(a, 0)\n\ncheck('relu')\n")
    import subprocess

    out = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "[ok] relu matches max(a, 0)" in out.stdout and "2 / 2" in out.stdout


# ---------------------------------------------------------------- what students are shown elsewhere


def test_visibility_must_be_a_known_value(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "spec.toml").write_text('reference = "m"\n[functions.f]\n[[check]]\nname = "n"\nfunction = "f"\npoints = 1\nvisibility = "secret"\n')
    with pytest.raises(SpecError, match='visibility "secret" is not one of'):
        load_spec("x", tmp_path)


def sample_result() -> Result:
    tests = tuple(Entry(f"t-{v}", "f", "passed", 1.0, 1.0, "ok", visibility=v) for v in ("visible", "after_due", "hidden"))
    return Result("shallow-backprop", "ann", 3.0, 3.0, Execution("ok", 1.0), tests,
                  integrity=(IntegrityFlag("matches-reference", "cell 3: f is the reference (similarity 1.00)"),))


def test_gradescope_tests_carry_gradescopes_own_visibility_values():
    data = exports.gradescope_results(sample_result())
    assert [t["visibility"] for t in data["tests"]] == ["visible", "after_due_date", "hidden"]
    assert data["extra_data"]["integrity"], "flags stay in extra_data, which students never see"


def test_student_view_drops_hidden_tests_and_flags():
    shown = sample_result().for_students()
    assert [t.name for t in shown.tests] == ["t-visible"] and shown.integrity == () and shown.max_score == 1.0
    from io import StringIO

    from grader.outputs.summary import print_summary

    instructor, student = StringIO(), StringIO()
    print_summary(sample_result(), stream=instructor)
    print_summary(sample_result(), stream=student, student=True)
    assert "matches-reference" in instructor.getvalue()
    assert "Flags" not in student.getvalue() and "similarity" not in student.getvalue()
    assert "2 more check(s) (2 points) are graded by your instructor" in student.getvalue()


@pytest.mark.slow
def test_grader_check_student_prints_no_flags_and_no_hidden_checks(capsys, tmp_path):
    spec = load_spec("shallow-backprop")
    solution = spec.folder / "solution.ipynb"
    assert cli.main(["check", str(solution), "--student", "--json", str(tmp_path / "r.json"), "--defs-only"]) == 0
    out = capsys.readouterr().out
    assert "Flags for the instructor" not in out and "similarity" not in out and "matches-" not in out
    assert not any(c.name in out for c in spec.checks if not c.visible)
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["integrity"] == [] and {t["visibility"] for t in written["tests"]} == {"visible"}


def test_the_kit_and_the_report_number_a_failing_cell_alike(kits, tmp_path):
    import json
    import os
    import subprocess
    import sys

    import nbformat

    from grader.checks.spec import load_spec
    from grader.pipeline.grade import Grader, Options
    from grader.run.sandbox import Limits, SandboxConfig

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab"), nbformat.v4.new_code_cell("import numpy as np"),
                nbformat.v4.new_markdown_cell("Task 1"), nbformat.v4.new_code_cell("undefined_name + 1"),
                nbformat.v4.new_code_cell("x = 2")]
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    kit = kits["shallow-backprop"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(kit), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "nncheck", str(path), "--json", str(tmp_path / "kit.json"),
                          "--pack", str(next(kit.glob("*.checks.json")))], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "  cell 3: NameError" in run.stdout
    kit_cells = [c["index"] for c in json.loads((tmp_path / "kit.json").read_text())["cells"]]
    options = Options(limits=Limits(cell_timeout=10, notebook_timeout=60), sandbox=SandboxConfig(mode="none"))
    graded = [c.index for c in Grader(load_spec("shallow-backprop"), options).grade(path).execution.cells]
    assert kit_cells == graded == [3]


def _nncheck(kit, notebook, tmp_path, *extra):
    import json
    import os
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(kit), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    out = tmp_path / f"{notebook.stem}.json"
    run = subprocess.run([sys.executable, "-m", "nncheck", notebook.name, "--cell-timeout", "120", "--json", str(out), *extra],
                         cwd=kit, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("assignment", list_assignments())
def test_the_kit_runs_its_own_notebook_end_to_end(assignment, kits, tmp_path):
    """The kit holds what the notebook reads (helper modules, the grader's data set under the names the
    notebook uses) and its README installs what it imports: the solution runs to the end in the kit's
    folder with nothing else on the path, every public check green; the released notebook stops only
    where the student has to write (issue 19 item 4)."""
    import shutil

    import nbformat

    from grader.kit import kitfiles

    kit = kits[assignment]
    spec = load_spec(assignment)
    shutil.copyfile(spec.folder / "solution.ipynb", kit / "solution.ipynb")
    try:
        solved = _nncheck(kit, kit / "solution.ipynb", tmp_path)
    finally:
        (kit / "solution.ipynb").unlink()
    assert solved["cells"] == [], solved["cells"]
    assert solved["tests"] and all(t["status"] == "passed" for t in solved["tests"]), [t["name"] for t in solved["tests"] if t["status"] != "passed"]
    released = _nncheck(kit, kit / f"{assignment}.ipynb", tmp_path)
    for cell in released["cells"]:
        assert not any(word in cell["error"] for word in ("ModuleNotFoundError", "FileNotFoundError", "No module named")), cell
    readme = (kit / "README.txt").read_text()
    solution = nbformat.read(spec.folder / "solution.ipynb", as_version=4)
    for module in kitfiles.imported_modules(solution):
        if module in ("matplotlib", "sklearn"):
            assert kitfiles.PIP_NAMES.get(module, module) in readme, module


def test_an_unstable_softmax_is_red_in_the_kit_because_the_handout_asks_for_stability(kits, tmp_path):
    import shutil

    kit = kits["shallow-backprop"]
    shutil.copyfile(__import__("pathlib").Path(__file__).parent / "resources" / "corpus" / "bug_softmax_unstable.py", kit / "unstable.py")
    try:
        checked = _nncheck(kit, kit / "unstable.py", tmp_path)
    finally:
        (kit / "unstable.py").unlink()
    large = [t for t in checked["tests"] if t["function"] == "softmax" and "large logits" in t["name"]]
    assert large and large[0]["status"] != "passed", large
