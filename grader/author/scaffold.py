"""`grader new ID --from SOLUTION.ipynb`: a starting folder for a course's own assignment.

From a solution notebook whose answers sit between `### BEGIN SOLUTION` and `### END SOLUTION`
(the markers `grader release` strips), it writes:

- spec.toml: every function whose definition holds (or sits in) a solution region is graded,
  with its parameters, and one seeded check each whose inputs are guessed from the parameter
  names (`x` a batch, `y` probabilities, `lbl` labels, `lr` a step size...); a guess that is
  only a placeholder carries a `# TODO` comment, which `grader selftest -a DIR` lists;
- reference.py: the solution's imports and definitions (no top-level statement: no training
  run, no data), the module the checks compare with;
- handout.py: what the released notebook gives (its functions and the stubs of the graded ones);
- bank.py: no mistake yet, one commented example;
- solution.ipynb (a copy) and student.ipynb (the released notebook).
"""
from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.kit.release import BEGIN, END, solution_source, strip_code, student_notebook

ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ScaffoldError(Exception):
    """The solution or the destination cannot make an assignment folder: one line says why."""


@dataclass(frozen=True)
class Guess:
    table: str  # the TOML inline table of a `let` entry
    todo: str = ""  # why this is only a placeholder ("" when the name says what it is)


# parameter name -> its input; names are matched lower-cased, exactly
_BY_NAME: list[tuple[tuple[str, ...], Guess]] = [
    (("x", "a", "z", "inputs", "input", "images", "data", "h", "s"),
     Guess('{ gen = "randn", shape = [6, 5] }', "features x samples? set the shape the handout uses")),
    (("e", "delta", "dy", "grad", "g", "upstream", "dout"),
     Guess('{ gen = "randn", shape = [6, 5] }', "the same shape as the value it is the gradient of")),
    (("y", "probs", "p", "pred", "predictions", "yhat", "y_hat", "scores"),
     Guess('{ gen = "scores", shape = [4, 5] }', "classes x samples (layout = \"rows\" for samples x classes)")),
    (("lbl", "labels", "label", "classes_idx", "targets_idx"), Guess('{ gen = "labels", n = 5, classes = 4 }')),
    (("d", "t", "target", "targets", "onehot", "y_true", "ytrue"),
     Guess('{ gen = "onehot", labels = "lbl", classes = 4 }', "one-hot codes of `lbl` (add let.lbl)")),
    (("lr", "gamma", "eta", "alpha", "learning_rate", "step", "mu"), Guess('{ gen = "const", value = 0.1 }')),
    (("t_max", "epochs", "n_epochs", "n_iter", "iterations", "steps"), Guess('{ gen = "const", value = 2 }')),
    (("b", "batch", "batch_size", "bs"), Guess('{ gen = "const", value = 2 }', "a batch size, or a bias vector?")),
    (("n", "k", "m", "ni", "nh", "no", "size", "dim", "classes", "n_classes"),
     Guess('{ gen = "const", value = 4 }', "a size: the handout's own value")),
    (("w", "w1", "w2", "weights", "kernel", "filters", "v"),
     Guess('{ gen = "randn", shape = [4, 6] }', "outputs x inputs: match the other inputs' shapes")),
]
_UNKNOWN = Guess('{ gen = "randn", shape = [4, 3] }', "nothing in the name says what this is")


def guess_input(name: str) -> Guess:
    """The `let` table for a parameter called `name`."""
    lowered = name.lower().lstrip("_")
    for names, guess in _BY_NAME:
        if lowered in names:
            return guess
    return _UNKNOWN


@dataclass(frozen=True)
class Graded:
    name: str
    params: tuple[str, ...]
    docstring: str


def graded_functions(solution: nbformat.NotebookNode) -> list[Graded]:
    """Top-level functions whose definition holds a solution region, or is inside one, in notebook order."""
    found: dict[str, Graded] = {}
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code" or not any(BEGIN.match(line) for line in cell.source.splitlines()):
            continue
        regions = _region_lines(cell.source)
        try:
            tree = ast.parse(solution_source(cell.source))
        except SyntaxError as exc:
            raise ScaffoldError(f"cell {index} does not parse: {exc.msg} (line {exc.lineno})") from None
        # line numbers shift by the markers removed before each line: map them back
        kept = [n for n, line in enumerate(cell.source.splitlines(), 1) if not (BEGIN.match(line) or END.match(line))]
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first, last = kept[node.lineno - 1], kept[node.end_lineno - 1]
                if any(first <= line <= last + 1 for line in regions) or any(first - 1 == line for line in regions):
                    params = tuple(a.arg for a in node.args.posonlyargs + node.args.args)
                    found[node.name] = Graded(node.name, params, ast.get_docstring(node) or "")
    return list(found.values())


def _region_lines(source: str) -> list[int]:
    return [n for n, line in enumerate(source.splitlines(), 1) if BEGIN.match(line) or END.match(line)]


def reference_source(solution: nbformat.NotebookNode, title: str) -> str:
    """The solution's imports and top-level definitions, nothing that runs at import time."""
    parts = [f'"""Reference for {title}: the solution\'s own definitions (grader new)."""']
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        code = solution_source(cell.source)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue  # a magic or a shell line: nothing a reference needs
        lines = code.splitlines()
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                parts.append("\n".join(lines[first - 1:node.end_lineno]))
    return "\n\n\n".join(parts) + "\n"


def handout_source(student: nbformat.NotebookNode) -> str:
    """What the released notebook gives: its function definitions, stubs of the graded ones included."""
    parts = ['"""What the released notebook gives (its functions and the stubs students fill in), parsed, never run."""']
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines = cell.source.splitlines()
        parts += ["\n".join(lines[n.lineno - 1:n.end_lineno]) for n in tree.body
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return "\n\n\n".join(parts) + "\n"


def spec_source(assignment: str, title: str, graded: list[Graded]) -> str:
    lines = [f"# Grading spec for {title} (written by `grader new`; keys: README, \"Writing a spec\").",
             "# Every `# TODO` is a guess to confirm: `grader selftest -a THIS_FOLDER` lists what is left.",
             f'id = "{assignment}"', f'title = "{_toml_text(title)}"', 'version = "1"', 'reference = "reference"',
             'handout = "handout.py"', f"identify = [{', '.join(repr_toml(g.name) for g in graded)}]", ""]
    for fn in graded:
        lines.append(f"[functions.{fn.name}]")
        lines.append(f"params = [{', '.join(repr_toml(p) for p in fn.params)}]")
        if fn.docstring:
            lines.append(f'description = "{_toml_text(fn.docstring.splitlines()[0])}"')
    for seed, fn in enumerate(graded, start=1):
        lines += ["", "[[check]]", f'name = "{fn.name} matches the reference on seeded inputs"',
                  f'function = "{fn.name}"', "points = 1", f"seed = {seed}"]
        guesses = {param: guess_input(param) for param in fn.params}
        if any('labels = "lbl"' in g.table for g in guesses.values()) and "lbl" not in guesses:
            lines.append('let.lbl = { gen = "labels", n = 5, classes = 4 }  # the labels the one-hot codes encode')
        for param, guess in guesses.items():
            lines.append(f"let.{param} = {guess.table}" + (f"  # TODO: {guess.todo}" if guess.todo else ""))
        lines.append(f"args = [{', '.join(repr_toml(p) for p in fn.params)}]")
    return "\n".join(lines) + "\n"


BANK = '''"""Mistake bank for {id}: what students really get wrong, each written as the graded function.

A student's wrong answer that equals a mistake's answer on a check's inputs is named by its text;
`grader selftest -a THIS_FOLDER` writes each mistake into the solution and requires it caught.
"""
from grader.checks.bank import accepted, mistake  # noqa: F401
from grader.checks.modules import sibling

ref = sibling(__file__)  # reference.py beside this file: use its helpers, so a mistake differs in one idea

# @mistake("{example}", "what the student reads: the idea that is wrong, and the fix")
# def {example}_wrong_idea({params}):
#     ...
'''


def scaffold(assignment: str, solution_path: Path, dest: Path) -> list[Path]:
    """Write the starting folder of `assignment` into dest (which must not exist or be empty)."""
    if not ID.match(assignment):
        raise ScaffoldError(f"{assignment!r}: an id is lower-case letters, digits and dashes")
    try:
        solution = nbformat.read(solution_path, as_version=4)
    except (OSError, ValueError) as exc:
        raise ScaffoldError(f"{solution_path}: not a readable notebook ({exc})") from None
    graded = graded_functions(solution)
    if not graded:
        raise ScaffoldError(f"{solution_path}: no function holds a '### BEGIN SOLUTION' region: nothing to grade")
    if dest.exists() and any(dest.iterdir()):
        raise ScaffoldError(f"{dest}: exists and is not empty; choose another -o")
    title = _title(solution) or assignment
    student = student_notebook(solution, assignment)
    for cell in student.cells:  # strip_code() checked every region: the released notebook is sound
        if cell.cell_type == "code":
            strip_code(cell.source)
    dest.mkdir(parents=True, exist_ok=True)
    files = {
        "spec.toml": spec_source(assignment, title, graded),
        "reference.py": reference_source(solution, title),
        "handout.py": handout_source(student),
        "bank.py": BANK.format(id=assignment, example=graded[0].name, params=", ".join(graded[0].params)),
    }
    written = []
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8")
        written.append(dest / name)
    shutil.copyfile(solution_path, dest / "solution.ipynb")
    nbformat.write(student, dest / "student.ipynb")
    return written + [dest / "solution.ipynb", dest / "student.ipynb"]


def _title(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def _toml_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def repr_toml(text: str) -> str:
    return f'"{_toml_text(text)}"'
