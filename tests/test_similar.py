"""Similar pairs in a class: found like difflib finds them, without comparing every pair."""
from __future__ import annotations

import difflib

import numpy as np

from grader.notebook import similar


def program(rng: np.random.Generator, lines: int = 60) -> str:
    """A made-up function body: distinct programs share their vocabulary but not their sequences."""
    names = [f"v{i}" for i in range(40)] + ["np.dot", "np.exp", "np.sum", "np.maximum", "np.log", "np.mean"]
    out = ["def f(v0, v1):"]
    for _ in range(lines):
        a, b, c = rng.choice(names, 3)
        out.append(f"    {a} = {b}({c}, {rng.integers(0, 9)}) + {rng.choice(names)} * {rng.integers(0, 99)}")
    return "\n".join(out)


def test_copies_and_near_copies_are_found_with_difflib_s_ratio():
    rng = np.random.default_rng(1)
    base = program(rng)
    edited = base.replace(" + ", " - ", 3)  # three small edits
    other = program(rng)
    pairs = similar.similar_pairs({"alice": base, "bob": base, "carol": edited, "dave": other})
    found = {(a, b): s for a, b, s in pairs}
    assert found[("alice", "bob")] == 1.0
    expected = difflib.SequenceMatcher(None, similar.tokens(base), similar.tokens(edited), autojunk=False).ratio()
    assert found[("alice", "carol")] == round(expected, 3) and expected >= 0.9
    assert not any("dave" in pair[:2] for pair in pairs)


def test_a_large_class_of_different_work_is_not_compared_pair_by_pair(monkeypatch):
    """300 different programs: 44,850 pairs, of which MinHash lets only a handful reach difflib."""
    rng = np.random.default_rng(2)
    fingerprints = {f"s{i:03d}": program(rng) for i in range(300)}
    fingerprints["s999"] = fingerprints["s123"]  # one copy among them
    compared = []
    real = difflib.SequenceMatcher

    def counting(*args, **kwargs):
        compared.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(similar.difflib, "SequenceMatcher", counting)
    pairs = similar.similar_pairs(fingerprints)
    assert pairs == [("s123", "s999", 1.0)]
    assert len(compared) < 100, len(compared)
