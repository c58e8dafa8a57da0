"""Parameters by meaning (issue 11, item 3): a student's own signature bound to what a check provides.

A graded function written with parameters of its own (`back_propagation(forward_res, y)`,
`weight_updates(back_res, lr)`, `forward_pass(x, w1, w2, w3)`, `train(number_epoch, learning_rate)`)
can still be called on a check's inputs, each parameter bound from what the grader knows:

- the check's inputs, by the spec's parameter names or by words that mean them (`lr`, `alpha`, `eta`
  for learning_rate; `target`, `expected_output` for y; `num_epochs`, `nbEpoch` for epochs...);
- the globals the check sets (w1, w2, w3), passed as those very objects, so an in-place update shows;
- the results of the student's own function that produces them (spec `takes_results_of`:
  forward_pass(x) for backpropagation): whole, one of their items, or a part found by value (z1, a3);
- the check's remaining inputs packed into one container (`back_res` holding dw1, dw2, dw3);
- module-level data the function reads instead of taking it (`x_train_prepro` for x_train).

Names only propose; behaviour decides: scoring keeps a binding only when the call then passes.
This module is pure (no calls): the recipes and the payload they make.
"""
from __future__ import annotations

import ast
import itertools
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.notebook.definitions import free_names

# Words that mean a spec parameter (one token of the student's name, or the whole name without "_").
SYNONYMS: dict[str, frozenset[str]] = {
    "x": frozenset({"input", "inputs", "inp", "vec", "vector", "image", "images", "sample", "samples", "a0", "features"}),
    "y": frozenset({"target", "targets", "label", "labels", "expected", "output", "outputs", "truth", "ytrue", "t"}),
    "learning_rate": frozenset({"lr", "learningrate", "alpha", "eta", "rate", "lam", "learning", "stepsize"}),
    "epochs": frozenset({"epoch", "epochs", "nepochs", "numepochs", "iterations", "iters", "niter"}),
    "batch_size": frozenset({"batch", "batchsize", "bs", "minibatch"}),
}
EXACT, TOKENS, SYNONYM = 3, 2, 1


def tokens(name: str) -> list[str]:
    """'nbEpoch' -> ['nb', 'epoch']; 'x_train_prepro' -> ['x', 'train', 'prepro']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in spaced.lower().split("_") if t]


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


def meaning_score(name: str, wanted: str, synonyms: bool = True, meanings: dict[str, tuple[str, ...]] | None = None) -> int:
    """How surely a student's name stands for a spec name: EXACT, TOKENS, SYNONYM or 0.
    `meanings`: the spec's own words for its parameters (spec key `meanings`), besides SYNONYMS."""
    mine, want = _norm(name), _norm(wanted)
    if mine == want or (mine.endswith("s") and mine[:-1] == want):
        return EXACT
    words = tokens(name)
    wanted_words = tokens(wanted)
    if len(wanted_words) > 1 and all(w in words for w in wanted_words):
        return TOKENS
    if synonyms and (mine in SYNONYMS.get(wanted, ()) or any(w in SYNONYMS.get(wanted, ()) for w in words)):
        return SYNONYM
    if synonyms and meanings and mine in {_norm(w) for w in meanings.get(wanted, ())}:
        return SYNONYM
    return 0


@dataclass(frozen=True)
class Source:
    """Where one parameter's value comes from."""

    kind: str  # "input" | "global" | "result" | "item" | "part" | "pack" | "neutral" | "dict" | "sizes" | "rate"
    name: str = ""  # spec input, global, or producing function
    index: int = -1  # "item": which item of the result; "part": unused
    label: str = ""  # "part": which of the producer's returns
    names: tuple[str, ...] = ()  # "pack": the inputs packed; "dict": the input each key holds
    keys: tuple[str, ...] = ()  # "dict" and "sizes": the keys the function reads from this parameter

    def words(self, shown: dict[str, str]) -> str:
        """The source in words; `shown` maps a producer to the student's call of it."""
        if self.kind == "input":
            return self.name
        if self.kind == "global":
            return f"the global {self.name}"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {n}" for k, n in zip(self.keys, self.names)) + "}"
        if self.kind == "sizes":
            return "{" + ", ".join(f"{k!r}: {_SIZE_WORDS[_size_of(k)]}" for k in self.keys) + "}"
        if self.kind == "rate":
            return f"{self.label} (a step of 1: what it returns, taken from the parameters it was given, is the gradient)"
        if self.kind == "neutral":
            return f"{self.label} (any value: the check asks for what does not depend on it)"
        call = shown.get(self.name, f"{self.name}(...)")
        if self.kind == "result":
            return f"the results of your {call}"
        if self.kind == "item":
            return f"item {self.index} of the results of your {call}"
        if self.kind == "part":
            return f"{self.label} from the results of your {call}"
        return f"({', '.join(self.names)})"


@dataclass(frozen=True)
class Recipe:
    """A whole binding: every parameter's source, and module data set before the call."""

    binds: tuple[tuple[str, Source], ...]
    data: tuple[tuple[str, str], ...] = ()  # (module global the function reads, spec input it is given)

    def steps(self) -> bool:
        """The function was given a learning rate of 1: it returns updated parameters, not gradients."""
        return any(s.kind == "rate" for _, s in self.binds)

    def uses_results(self) -> bool:
        return any(s.kind in ("result", "item", "part") for _, s in self.binds)

    def describe(self, function: str, shown: dict[str, str]) -> str:
        inner = ", ".join(f"{p}={s.words(shown)}" for p, s in self.binds)
        data = "; ".join(f"its module-level {g} set to the check's {s}" for g, s in self.data)
        return f"{function}({inner})" + (f", with {data}" if data else "")


@dataclass(frozen=True)
class Signature:
    """A student's definition as binding needs it: plain parameters, which have defaults, module names it reads."""

    params: tuple[str, ...]
    required: frozenset[str]
    reads: tuple[str, ...]
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (parameter, the constant keys the body reads from it: params['w'])


def signature(source: str, params: tuple[str, ...]) -> Signature:
    """The definition's parameters with their defaults, and the free names its body reads."""
    plain = tuple(p for p in params if p != "self" and not p.startswith("*"))
    try:
        node = ast.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, ValueError, IndexError, RecursionError):
        return Signature(plain, frozenset(plain), ())
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return Signature(plain, frozenset(plain), ())
    positional = [a.arg for a in node.args.posonlyargs + node.args.args]
    with_default = set(positional[len(positional) - len(node.args.defaults):]) if node.args.defaults else set()
    with_default |= {a.arg for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None}
    keys = {p: [] for p in plain}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id in keys \
                and isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str) and sub.slice.value not in keys[sub.value.id]:
            keys[sub.value.id].append(sub.slice.value)
    return Signature(plain, frozenset(p for p in plain if p not in with_default), free_names(source, params),
                     tuple((p, tuple(k)) for p, k in keys.items() if k))


# A sizes table's key -> what it counts: the inputs, the hidden units, the classes.
_SIZE_WORDS = {"in": "the number of inputs", "hidden": "the number of hidden units", "out": "the number of classes"}


def _size_of(key: str) -> str | None:
    """What a sizes table's key counts ('n_inputs', 'num_hidden', 'output_size'), or None for a key that is no count."""
    words = tokens(key)
    if not any(w in ("n", "num", "nb", "size", "sizes", "dim", "count", "units") for w in words) and not key.lower().startswith("n"):
        return None
    if any(w in ("hidden", "hid", "h") for w in words):
        return "hidden"
    if any(w in ("in", "inputs", "input", "features", "x") for w in words):
        return "in"
    if any(w in ("out", "outputs", "output", "classes", "class", "y") for w in words):
        return "out"
    return None


def _tables(sig: Signature, choices: dict[str, Source], meanings: dict[str, tuple[str, ...]] | None) -> dict[str, Source]:
    """Parameters the body reads as a table: of the check's inputs (params['w'] is W) or of the network's sizes."""
    fixed: dict[str, Source] = {}
    inputs = [n for n, s in choices.items() if s.kind == "input"]
    for param, keys in sig.keys:
        held = []
        for key in keys:
            best = max(((meaning_score(key, name, meanings=meanings), name) for name in inputs if name not in held), default=(0, ""))
            held.append(best[1] if best[0] else "")
        if all(held):
            fixed[param] = Source("dict", param, names=tuple(held), keys=keys)
        elif all(_size_of(k) for k in keys) and {"b", "c"} <= set(inputs):
            fixed[param] = Source("sizes", param, keys=keys)
    return fixed


def _assign(params: tuple[str, ...], choices: dict[str, Source], labels: dict[str, Source],
            meanings: dict[str, tuple[str, ...]] | None = None) -> dict[str, Source]:
    """Each parameter's surest meaning among the check's inputs and globals (each used once), or a producer's part."""
    scored = []
    for p in params:
        for wanted, source in choices.items():
            score = meaning_score(p, wanted, meanings=meanings)
            if score:
                scored.append((-score, params.index(p), wanted, p, source))
        for label, source in labels.items():
            if meaning_score(p, label, synonyms=False) == EXACT:
                scored.append((-EXACT, params.index(p), label, p, source))
    fixed: dict[str, Source] = {}
    used: set[str] = set()
    for _, _, wanted, p, source in sorted(scored, key=lambda s: s[:2]):
        if p not in fixed and wanted not in used:
            fixed[p] = source
            used.add(wanted)
    return fixed


def recipes(sig: Signature, inputs: list[str], global_names: list[str], producers: dict[str, tuple[int, tuple[str, ...]]],
            data_names: list[str], limit: int = 24, meanings: dict[str, tuple[str, ...]] | None = None,
            returns_gradients: bool = False) -> list[Recipe]:
    """Bindings worth one call each, surest first: `inputs` are the check's inputs under the spec's names,
    `producers` maps a producing function to (how many items its result has, the returns found in it)."""
    choices = {name: Source("input", name) for name in inputs}
    choices.update({name: Source("global", name) for name in global_names if name not in choices})
    labels = {label: Source("part", producer, label=label) for producer, (_, found) in producers.items() for label in found}
    tables = _tables(sig, choices, meanings)
    if returns_gradients and "learning_rate" not in inputs:  # an SGD step that returns the updated parameters
        rate = next((p for p in sig.params if p not in tables and meaning_score(p, "learning_rate")), None)
        if rate is not None:
            tables[rate] = Source("rate", "learning_rate", label="1")
    fixed = dict(_assign(tuple(p for p in sig.params if p not in tables), choices, labels, meanings), **tables)
    if not any(s.kind in ("input", "global", "dict") for s in fixed.values()):
        return []  # no word of the signature means anything the check provides: nothing to go on
    open_params = [p for p in sig.params if p not in fixed and p in sig.required]
    if len(open_params) > 3:
        return []
    consumed = {s.name for s in fixed.values() if s.kind in ("input", "global")} | {n for s in fixed.values() if s.kind == "dict" for n in s.names}
    free = [name for name in inputs if name not in consumed]
    candidates = [Source("input", name) for name in free]
    for producer, (items, _) in producers.items():
        candidates.append(Source("result", producer))
        candidates += [Source("item", producer, index=k) for k in range(items)]
    if len(free) >= 2:
        candidates.append(Source("pack", names=tuple(free)))
    for p in open_params:  # a forward that also computes the loss takes the target: any class will do
        if "target" not in inputs and meaning_score(p, "target", meanings=meanings):
            candidates.append(Source("neutral", "target", label="0"))
            break
    found = []
    for combo in itertools.permutations(candidates, len(open_params)):
        binds = dict(fixed, **dict(zip(open_params, combo)))
        taken = {n for s in binds.values() for n in ((s.name,) if s.kind == "input" else s.names)}
        data = _data_globals([n for n in inputs if n not in taken], sig.reads, data_names)
        recipe = Recipe(tuple((p, binds[p]) for p in sig.params if p in binds), data)
        if recipe not in found:
            found.append(recipe)
        if len(found) >= limit:
            break
    return found


def _data_globals(unbound: list[str], reads: tuple[str, ...], data_names: list[str]) -> tuple[tuple[str, str], ...]:
    """Module-level names the function reads that stand for the check's unbound inputs (x_train_prepro for x_train)."""
    pairs = []
    used: set[str] = set()
    for name in unbound:
        best = max(((meaning_score(g, name, synonyms=False), g) for g in reads if g in data_names and g not in used), default=(0, ""))
        if best[0] >= TOKENS:
            pairs.append((best[1], name))
            used.add(best[1])
    return tuple(pairs)


def trivial(recipe: Recipe, spec_params: tuple[str, ...], sig: Signature, n_args: int) -> bool:
    """The call the first pass already made: inputs only, each by its position or under its own name."""
    if recipe.data or any(s.kind != "input" for _, s in recipe.binds):
        return False
    positional = spec_params[:n_args]
    for param, source in recipe.binds:
        at = sig.params.index(param)
        if _norm(param) != _norm(source.name) and not (at < len(positional) and positional[at] == source.name):
            return False
    return True


def payload_for(recipe: Recipe, known: dict[str, Any], results: dict[str, Any], parts: dict[str, dict[str, Any]],
                globals_: dict[str, Any]) -> tuple[dict, dict[str, str]]:
    """The payload (every parameter by keyword) and the parameters that take a global itself."""
    kwargs: dict[str, Any] = {}
    by_reference: dict[str, str] = {}
    for param, source in recipe.binds:
        if source.kind == "input":
            kwargs[param] = known[source.name]
        elif source.kind == "global":
            by_reference[param] = source.name
        elif source.kind == "result":
            kwargs[param] = results[source.name]
        elif source.kind == "item":
            kwargs[param] = results[source.name][source.index]
        elif source.kind == "part":
            kwargs[param] = parts[source.name][source.label]
        elif source.kind == "neutral":
            kwargs[param] = 0
        elif source.kind == "rate":
            kwargs[param] = 1.0
        elif source.kind == "dict":
            kwargs[param] = {k: known[n] for k, n in zip(source.keys, source.names)}
        elif source.kind == "sizes":
            counts = {"in": len(known["W"]), "hidden": len(known["b"]), "out": len(known["c"])}
            kwargs[param] = {k: counts[_size_of(k)] for k in source.keys}
        else:
            kwargs[param] = tuple(known[n] for n in source.names)
    data = dict(globals_, **{g: known[s] for g, s in recipe.data})
    return {"args": [], "kwargs": kwargs, "globals": data}, by_reference


def label_parts(value: Any, reference: Any, labels: tuple[str, ...], rtol: float = 1e-6, atol: float = 1e-8) -> dict[str, Any]:
    """The student's own values for the producer's named returns, found by value (a (1, n) row counts as (n,))."""
    from grader.scoring.attempts import leaves

    if not isinstance(reference, (tuple, list)):
        return {}
    found: dict[str, Any] = {}
    mine = [leaf for _, leaf in leaves(value) if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fiu"]
    for label, ref in zip(labels, reference):
        ref = np.asarray(ref)
        for leaf in mine:
            if leaf.size == ref.size and np.allclose(np.squeeze(leaf), np.squeeze(ref), rtol=rtol, atol=atol):
                found[label] = leaf
                break
    return found


def plain_value(value: Any, depth: int = 0) -> bool:
    """Only arrays, numbers, None and containers of them can be sent back into the student's process."""
    if depth > 6:
        return False
    if isinstance(value, (tuple, list)):
        return all(plain_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_value(v, depth + 1) for k, v in value.items())
    return value is None or isinstance(value, (np.ndarray, int, float, bool, str))


def gradients_from_step(value: Any, given: list[Any]) -> Any:
    """What an SGD step with rate 1 returns, as gradients: each returned array that has the shape of a parameter it
    was given (in order, each parameter once) becomes that parameter minus it; the rest stays as it was."""
    from grader.scoring.attempts import leaves

    arrays = [np.asarray(g, dtype=float) for g in given if isinstance(g, (np.ndarray, list))]
    used: set[int] = set()

    def convert(leaf: Any) -> Any:
        try:
            mine = np.asarray(leaf, dtype=float)
        except (TypeError, ValueError):
            return leaf
        for k, param in enumerate(arrays):
            if k not in used and param.shape == mine.shape and mine.size > 0:
                used.add(k)
                return param - mine
        return leaf

    if isinstance(value, dict):
        return {k: convert(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)) and len(list(leaves(value))) == len(value):
        return type(value)(convert(v) for v in value)
    return convert(value)
