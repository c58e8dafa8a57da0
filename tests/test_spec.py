"""Specs are validated by value when they load: a typo in any key is one clear line, never a free pass."""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from grader.checks import speckeys
from grader.checks.spec import ASSIGNMENTS_DIR, CHECK_KEYS, FUNCTION_DOCS, SpecError, generator_keys, list_assignments, load_spec
from grader.checks.speckeys import CHECK_FIELDS, FLAG, FUNCTION_FIELDS, NO_DEFAULT, SPEC_KEYS, Check, Function

SB, DL, FF, MLP = "shallow-backprop", "digits-logreg-mlp", "ffnn-pure-numpy", "mlp-scalar-to-tensor"


def copy_assignment(tmp_path: Path, assignment: str) -> Path:
    """A copy of a real assignment folder (spec, bank, data files; no notebook) to edit."""
    folder = tmp_path / assignment
    shutil.copytree(ASSIGNMENTS_DIR / assignment, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    return folder


def with_typo(tmp_path: Path, assignment: str, old: str, new: str) -> Path:
    folder = copy_assignment(tmp_path, assignment)
    path = folder / "spec.toml"
    text = path.read_text(encoding="utf-8")
    # The first occurrence from the first [[check]] or [functions.*] table on: not in manual_review.
    start = min(i for i in (text.find("[[check]]"), text.find("[functions.")) if i >= 0)
    head, body = text[:start], text[start:]
    if old not in body:
        head, body = "", text
    assert old in body, f"the real {assignment} spec no longer contains {old!r}: update this test"
    path.write_text(head + body.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize("assignment", list_assignments())
def test_every_real_spec_loads(assignment):
    spec = load_spec(assignment)
    assert spec.checks and spec.max_score > 0


@pytest.mark.parametrize("assignment", list_assignments())
def test_an_unchanged_copy_loads_from_its_folder(tmp_path, assignment):
    folder = copy_assignment(tmp_path, assignment)
    copied = load_spec(folder)
    assert copied.checks == load_spec(assignment).checks
    assert load_spec(assignment, root=tmp_path).checks == copied.checks  # the old (id, root) call still works


# (assignment, text in the real spec, the same text with a typo, the key the error must name, what it must say)
CHECK_TYPOS = [
    (SB, 'dtype = "int"', 'dtype = "flaot"', "dtype", 'dtype "flaot" is not one of float, float32'),
    (SB, 'dtype = "int"', 'dtyp = "int"', "dtyp", "is not a check key"),
    (SB, 'dtype = "int"', 'dtype = ["int"]', "dtype", '["int"] is not one of float, float32'),  # was a TypeError
    (FF, 'compare = ["globals"]', 'compare = ["retrun"]', "compare", '"retrun" is not one of return, globals, attrs'),
    (FF, 'read_globals = ["w1", "w2", "w3"]\ncompare', "compare", "compare", '"globals" needs read_globals'),
    (DL, 'read_attrs = ["W", "b"]\ncompare', "compare", "compare", '"attrs" needs read_attrs'),
    (SB, 'gen = "randn"', 'gen = "randm"', "let.a.gen", '"randm" is not a generator'),
    (SB, "scale = 3 }", "sacle = 3 }", "let.a.sacle", 'is not read by generator "randn"'),
    (SB, "shape = [10, 7]", "shape = [10, -7]", "let.a.shape", "is not a list of positive integers"),
    (SB, "shape = [10, 7]", 'shape = [10, "7"]', "let.a.shape", "is not a list of positive integers"),
    (SB, 'gen = "labels", n = 25, classes = 10 }', 'gen = "labels", n = 25 }', "let.lbl", 'generator "labels" needs classes'),
    (SB, 'n = 25, classes = 10 }', 'n = 0, classes = 10 }', "let.lbl.n", "is not a positive integer"),
    (SB, "fraction = 0.3", "fraction = 3", "let.a.fraction", "between 0 and 1"),
    (DL, 'labels = "label", classes = 6, layout = "rows"', 'labels = "label", classes = 6, layout = "row"', "let.codes.layout", '"row" is not one of columns, rows'),
    (DL, 'labels = "label", classes = 6', 'labels = "lable", classes = 6', "let.codes.labels", '"lable" is not an input made before it'),
    (SB, 'dtype = "uint8" }', 'dtype = "uint9" }', "let.x.dtype", '"uint9" is not a numpy dtype'),
    (SB, 'function = "init_shallow", args', 'function = "init_shalow", args', "let.net.function", '"init_shalow" is not a function of the reference module'),
    (SB, "rtol = 1e-6", "rtol = -1e-6", "rtol", "is not a non-negative number"),
    (SB, "atol = 1e-6", 'atol = "1e-6"', "atol", "is not a non-negative number"),
    (SB, "points = 2", "points = -2", "points", "is not a non-negative number"),
    (SB, 'function = "softmax"\n', 'function = "softmax"\nseed = 1.5\n', "seed", "is not an integer seed"),
    (DL, "call_seed = 5", 'call_seed = "5"', "call_seed", "is not an integer seed"),
    (DL, "repeat = 2", "repeat = 0", "repeat", "is not a positive integer"),
    (SB, 'function = "softmax"\n', 'function = "softmax"\ntimeout = 0\n', "timeout", "is not a positive number"),
    (SB, 'function = "softmaxp"', 'function = "softmaxq"', "function", '"softmaxq" is not declared under [functions]'),
    (DL, 'accept = ["softmax-handout-no-shift"]', 'accept = ["softmax-handout-no-shfit"]', "accept", "is not an accepted variant of softmax"),
    (FF, 'reference = "ref_read_idx"', 'reference = "ref_read_idxx"', "reference", '"ref_read_idxx" is neither in reference.ffnn_pure_numpy nor in bank.py'),
    (FF, 'function = "weights_look_right"', 'function = "weights_look_rihgt"', "partial.function", "is not a function in bank.py"),
    (FF, "points = 1 }", "pionts = 1 }", "partial.pionts", "is not a partial-credit key"),
    (SB, 'args = ["a", "e"]', 'args = ["a", "ee"]', "args[1]", '"ee" is not a name in let (names: a, e)'),
    (MLP, 'params = ["W", "b", "V", "c"] }', 'params = ["W", "b", "V", "cc"] }', "kwargs.params[3]", '"cc" is not a name in let'),
    (FF, 'w3 = "w3" }', 'w3 = "w4" }', "globals.w3", '"w4" is not a name in let'),
    (SB, 'function = "softmax"\n', 'function = "softmax"\ninit = [3]\n', "init", "is only for a Class.method check"),
    (DL, 'draws.W_h = { law = "bounded", bound = 1 }', 'draws.W_h = { law = "bounded", bond = 1 }', "draws.W_h.bond", 'is not read by law "bounded"'),
    (FF, 'draws.return = { law = "normal"', 'draws.return = { law = "normla"', "draws.return", "needs law = one of normal, uniform, zeros, bounded"),
    (MLP, 'draws.c = { law = "zeros" }', 'draws.cc = { law = "zeros" }', "draws.cc", "is not read back"),
    (SB, 'draws.b2 = { law = "normal", std = 0.09090909090909091 }', 'draws.b2 = { law = "normal", std = -1 }', "draws.b2", "needs a positive std"),
]


@pytest.mark.parametrize("assignment, old, new, key, says", CHECK_TYPOS, ids=[f"{c[0]}:{c[3]}:{c[4][:24]}" for c in CHECK_TYPOS])
def test_a_typo_in_a_check_key_is_one_line_naming_file_check_and_key(tmp_path, assignment, old, new, key, says):
    folder = with_typo(tmp_path, assignment, old, new)
    with pytest.raises(SpecError) as caught:
        load_spec(folder)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{folder / 'spec.toml'}: check "), message
    assert re.match(r'.*spec\.toml: check \d+ \("[^"]+"\): ', message), message
    assert f"): {key} " in message, message
    assert says in message, message


SPEC_TYPOS = [
    (SB, 'helpers = ["softmax"]', 'helpers = ["sofmax"]', "[functions.softmaxp]: helpers", '"sofmax" is not declared under [functions]'),
    (SB, 'params = ["a", "e"]', 'parms = ["a", "e"]', "[functions.softmaxp]: parms", "is not a function key"),
    (SB, "identify = [", "identfy = [", "identfy", "is not a spec key"),
    (MLP, 'data_files = ["handout_files/mlp_data.py"]', 'data_files = ["handout_files/mlp_dat.py"]', "data_files", "is not a file next to the spec"),
]


@pytest.mark.parametrize("assignment, old, new, key, says", SPEC_TYPOS, ids=[c[3] for c in SPEC_TYPOS])
def test_a_typo_in_a_spec_or_function_key_is_one_line(tmp_path, assignment, old, new, key, says):
    folder = with_typo(tmp_path, assignment, old, new)
    with pytest.raises(SpecError) as caught:
        load_spec(folder)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{folder / 'spec.toml'}: {key} "), message
    assert says in message, message


def test_a_string_that_is_not_a_python_name_stays_a_literal(tmp_path):
    # read_idx's argument is a file name: resolve() passes it on as text, and so must the check.
    spec = load_spec(copy_assignment(tmp_path, FF))
    assert any(check.args == ("tiny-images.idx3-ubyte",) for check in spec.checks)


def test_names_in_accept_and_reference_are_not_checked_when_the_bank_cannot_load(tmp_path):
    folder = with_typo(tmp_path, FF, 'reference = "ref_read_idx"', 'reference = "ref_in_a_broken_bank"')
    (folder / "bank.py").write_text("raise ImportError('not in this kit')\n", encoding="utf-8")
    spec_path = folder / "spec.toml"  # a new id: banks are cached by assignment id
    spec_path.write_text(spec_path.read_text(encoding="utf-8").replace(f'id = "{FF}"', 'id = "broken-kit"'), encoding="utf-8")
    spec = load_spec(folder)
    assert any(check.reference == "ref_in_a_broken_bank" for check in spec.checks)


def test_generator_arguments_are_read_from_the_generators_themselves():
    keys = generator_keys()
    required, optional = keys["randn"]
    assert required == {"shape"} and {"scale", "loc", "dtype", "as_list", "as_tuple"} <= optional
    assert keys["copy"][0] == {"of"} and "index" in keys["copy"][1]  # `"index" in spec` guards it
    assert keys["ref"][0] == {"function"} and {"args", "seed"} <= keys["ref"][1]


# ------------------------------------------------------------------ every key declared once (grader/checks/speckeys.py)

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_field_of_a_check_or_function_is_a_declared_key():
    """A field added without key() would be read from no spec, checked by nothing and documented nowhere."""
    for cls, keys, not_keys in ((Check, CHECK_FIELDS, set()), (Function, FUNCTION_FIELDS, {"name"})):
        names = [f.name for f in dataclasses.fields(cls)]
        assert [n for n in names if n not in not_keys] == list(keys), f"{cls.__name__}: a field that is not a key()"
        for name, declared in keys.items():
            assert declared.doc and declared.kind.name, f"{cls.__name__}.{name}: no doc or kind"
    assert list(CHECK_KEYS) == list(CHECK_FIELDS) and list(FUNCTION_DOCS) == list(FUNCTION_FIELDS)


def test_the_readme_tables_of_keys_are_the_declarations():
    """The docs come from the declarations: regenerate with
    python -c 'from grader.checks.speckeys import markdown; print(markdown())' and paste it into the README."""
    assert speckeys.markdown() in README.read_text(encoding="utf-8"), "README's tables of spec keys differ from grader/checks/speckeys.py"


def wrong_value(declared) -> object:
    """A value of the wrong kind for a key: a bool, or a string where a bool is asked."""
    return "yes" if declared.kind is FLAG else True


def with_appended(tmp_path: Path, text: str) -> Path:
    folder = copy_assignment(tmp_path, SB)
    path = folder / "spec.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    return folder


CHECKED_CHECK_KEYS = [name for name, declared in CHECK_FIELDS.items() if declared.kind.test]
CHECKED_FUNCTION_KEYS = [name for name, declared in FUNCTION_FIELDS.items() if declared.kind.test]


@pytest.mark.parametrize("key", CHECKED_CHECK_KEYS)
def test_a_check_key_is_validated_by_its_declared_kind(tmp_path, key):
    declared = CHECK_FIELDS[key]
    table = {"name": '"extra"', "function": '"relu"', "points": "1", key: '"yes"' if declared.kind is FLAG else "true"}
    folder = with_appended(tmp_path, "[[check]]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()))
    with pytest.raises(SpecError) as caught:
        load_spec(folder)
    assert str(caught.value).endswith(f": {key} {declared.kind.problem_with(wrong_value(declared))}"), str(caught.value)


@pytest.mark.parametrize("key", CHECKED_FUNCTION_KEYS)
def test_a_function_key_is_validated_by_its_declared_kind(tmp_path, key):
    declared = FUNCTION_FIELDS[key]
    value = '"yes"' if declared.kind is FLAG else "true"
    folder = with_appended(tmp_path, f"[functions.extra]\n{key} = {value}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(folder)
    assert str(caught.value).endswith(f"[functions.extra]: {key} {declared.kind.problem_with(wrong_value(declared))}"), str(caught.value)


def test_a_check_that_leaves_keys_out_gets_the_declared_defaults(tmp_path):
    spec = load_spec(with_appended(tmp_path, '[[check]]\nname = "bare"\nfunction = "relu"\npoints = 1\n'))
    bare = spec.checks[-1]
    for name, declared in CHECK_FIELDS.items():
        if declared.default is not NO_DEFAULT:
            assert getattr(bare, name) == declared.default, name
    assert bare.seed == len(spec.checks) - 1  # the check's position
    assert (spec.version, spec.handout != "", spec.data_files) == ("1", True, SPEC_KEYS["data_files"].default)


# Every default grading uses, written out once more on purpose: a change to any of them must be a
# decision (this test goes red), never a side effect of an edit elsewhere (issue 21 item 2).
PINNED_CHECK = {"let": {}, "args": (), "kwargs": {}, "init": (), "attrs": {}, "globals": {}, "read_globals": (), "read_attrs": (),
                "compare": ("return",), "call_seed": None, "repeat": 1, "draws": {}, "rtol": 1e-06, "atol": 1e-08, "dtype": "float",
                "timeout": None, "accept": (), "partial": {}, "reference": None, "ref_args": None, "note": "",
                "visibility": "visible", "optional": False}
PINNED_FUNCTION = {"helpers": (), "params": (), "returns": (), "given": False, "description": "", "open_return": (), "variants": (),
                   "rename_credit": 1.0, "globals": (), "per_sample": (), "takes_results_of": ()}
PINNED_TOP = {"version": "1", "identify": (), "manual_review": (), "data_files": (), "meanings": {}, "handout": "", "functions": {}, "check": []}
PINNED_LIMITS = {"cell_timeout": 60.0, "notebook_timeout": 600.0, "call_timeout": 30.0, "memory_bytes": 2 * 1024**3, "output_chars": 20_000,
                 "file_bytes": 256 * 1024**2, "scratch_bytes": 512 * 1024**2, "processes": 64, "message_bytes": 64 * 1024**2,
                 "helper_calls": 2000, "helper_seconds": 10.0}
PINNED_MANUAL = {"points": 0.0, "find": (), "rubric": (), "curve": ""}


def test_every_default_grading_uses_is_pinned():
    from grader.checks.rubric import DEFAULTS as MANUAL_DEFAULTS
    from grader.run.sandbox import Limits

    declared = lambda table: {k: v.default for k, v in table.items() if v.default is not NO_DEFAULT}  # noqa: E731
    assert declared(CHECK_FIELDS) == PINNED_CHECK
    assert declared(FUNCTION_FIELDS) == PINNED_FUNCTION
    assert declared(SPEC_KEYS) == PINNED_TOP
    assert {f.name: f.default for f in dataclasses.fields(Limits)} == PINNED_LIMITS
    assert MANUAL_DEFAULTS == PINNED_MANUAL
    check = Check(name="c", function="f", points=1.0, seed=0)  # and what a parsed check really gets
    assert {k: getattr(check, k) for k in PINNED_CHECK} == PINNED_CHECK
