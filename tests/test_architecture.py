"""The shape of the code: packages follow a submission, imports only go down, modules stay readable.

The layers, lowest first, are the flow of one submission (README, "Architecture"):
result (the contract) -> notebook -> run -> checks -> scoring -> pipeline -> kit -> outputs
-> batch -> the command line. A module may import its own package and any package below
it, never one above; no two modules import each other, directly or through others.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.run import sandbox

GRADER = Path(__file__).resolve().parent.parent / "grader"
LAYERS = ["result", "notebook", "run", "checks", "scoring", "pipeline", "kit", "author", "outputs", "batch", "cli"]
TOP_LEVEL_CLI = {"cli", "cli_args", "__main__", "exports", "__init__"}  # exports.py: the `python -m grader.exports` shim
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# The scripts that run INSIDE the student's process (and the warm process): staged with their sibling
# modules, they import nothing of the grader package, and nothing trusted imports them (the wire format
# both sides speak lives in grader/run/wire.py, the privilege drop in grader/run/privilege.py).
SHARED_BY_BOTH_SIDES = {"wire.py", "privilege.py"}
SANDBOX_SCRIPTS = {"grader.run.zygote"} | {
    "grader.run." + name[:-3] for name in sandbox.SANDBOX_MODULES if name not in SHARED_BY_BOTH_SIDES}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(GRADER.rglob("*.py")):
        parts = path.relative_to(GRADER.parent).with_suffix("").parts
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 2:  # grader.result, grader.cli, ...
        return LAYERS.index("result") if parts[1] == "result" else LAYERS.index("cli")
    return LAYERS.index(parts[1])


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Grader modules a module imports, anywhere in its body (function-level imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods) | {m.rsplit(".", 1)[0] for m in mods if m.endswith("__init__")}
    edges = {}
    for name, path in mods.items():
        deps = imports_of(path, known)
        edges[name] = {d for d in deps if d != name and not d.endswith("__init__") and d.count(".") > 0 and d in mods}
    return edges


def test_every_module_sits_in_a_known_layer():
    for name in modules():
        parts = name.split(".")
        if len(parts) == 2:
            assert parts[1] in TOP_LEVEL_CLI | {"result"}, f"{name}: a module at the top of grader/ that is not the CLI or the contract"
        else:
            assert parts[1] in LAYERS, f"{name}: package {parts[1]!r} is not in the README's layers"


def test_no_package_imports_one_above_it():
    upward = []
    for name, deps in graph().items():
        for dep in deps:
            if layer_of(dep) > layer_of(name):
                upward.append(f"{name} imports {dep} ({LAYERS[layer_of(dep)]} is above {LAYERS[layer_of(name)]})")
    assert not upward, "imports that go up:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_trusted_code_does_not_import_the_sandbox_scripts():
    offenders = [f"{name} imports {dep}" for name, deps in graph().items() for dep in deps
                 if dep in SANDBOX_SCRIPTS and name not in SANDBOX_SCRIPTS]
    assert not offenders, "trusted modules that import the code that runs inside the sandbox:\n" + "\n".join(offenders)


def test_no_module_over_400_lines():
    long = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    offenders = sorted(((n, lines) for n, lines in long.items() if lines > MAX_MODULE_LINES), key=lambda x: -x[1])
    assert not offenders, "modules over 400 lines:\n" + "\n".join(f"{n}: {lines}" for n, lines in offenders)


def test_no_function_over_60_lines():
    offenders = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{name}.{node.name}: {length}")
    assert not offenders, "functions over 60 lines:\n" + "\n".join(sorted(offenders))


@pytest.mark.parametrize("bad", [
    ("grader.run.sandbox", "grader.outputs.report"),  # an upward import
])
def test_the_layer_rule_can_fail(bad):
    low, high = bad
    assert layer_of(high) > layer_of(low)


def test_the_readme_architecture_names_every_module():
    """The README's tree is the map a newcomer reads first: every module is on it (`worker*.py` patterns count)."""
    import fnmatch
    import re

    readme = (GRADER.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("The folder layout follows a submission through the grader")
    block = readme[readme.index("```", start) + 3:readme.index("```", readme.index("```", start) + 3)]
    current = ""
    named: set[str] = set()
    for line in block.splitlines():
        package = re.match(r"^grader/(\w+)/", line)
        if package:
            current = package.group(1)
        for word in re.findall(r"[\w*]+\.py", line.split("  ", 1)[0] if not line.startswith("  ") else line.strip().split("   ")[0]):
            named.add(word if line.startswith("grader/") else f"{current}/{word}")
        named.update(re.findall(r"grader/([\w/]+\.py)", line))
    missing = []
    for name in modules():
        parts = name.split(".")[1:]
        if parts[-1] in ("__init__", "__main__") or name == "grader.exports":
            continue
        path = "/".join(parts) + ".py"
        if not any(fnmatch.fnmatch(path, pattern) for pattern in named):
            missing.append(path)
    assert not missing, "modules the README's architecture does not name: " + ", ".join(missing)
