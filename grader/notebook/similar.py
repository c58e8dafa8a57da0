"""Pairs of submissions in a class whose graded functions are near-identical, without comparing every pair.

Each submission is its graded functions' fingerprints (grader/fingerprint.py: names normalised) as
tokens. Comparing every pair with difflib is quadratic in the class and slow per pair (30 notebooks:
30 s; 5,000: days), so:

1. a MinHash signature per submission (128 hashes of its 3-token shingles) estimates the Jaccard
   similarity of every pair at once, in numpy;
2. only pairs whose estimate reaches ``CANDIDATE_JACCARD`` (far below what a 0.9 ratio implies:
   the estimate's standard error is about 0.04) are compared token by token with difflib, and
   reported when that ratio reaches the threshold.

The filter is a heuristic: a pair whose differences are spread evenly through the code (a change
every two or three tokens, which no longer reads as a copy) can fall below the candidate bar.
"""
from __future__ import annotations

import difflib
import re
import zlib

import numpy as np

SHINGLE = 3  # short: an edit every few tokens still leaves most shingles shared
HASHES = 128
CANDIDATE_JACCARD = 0.3
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(code: str) -> list[str]:
    return _TOKEN.findall(code)


def signature(words: list[str], seeds: np.ndarray) -> np.ndarray:
    """MinHash of the token shingles: for each of HASHES seeded hash functions, the least hash over shingles."""
    shingles = {zlib.crc32(" ".join(words[i:i + SHINGLE]).encode()) for i in range(max(1, len(words) - SHINGLE + 1))}
    values = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    return _mix(values[None, :] ^ seeds[:, None]).min(axis=1)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (uint64 arithmetic wraps): a different, well-spread order of the shingles per seed."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def similar_pairs(fingerprints: dict[str, str], threshold: float = 0.9) -> list[tuple[str, str, float]]:
    """(a, b, token ratio) for every pair at or above ``threshold``, most similar first."""
    names = sorted(fingerprints)
    if len(names) < 2:
        return []
    words = {name: tokens(fingerprints[name]) for name in names}
    rng = np.random.default_rng(20261130)  # fixed: the same class always gives the same pairs
    seeds = rng.integers(0, np.iinfo(np.uint64).max, HASHES, dtype=np.uint64, endpoint=True)
    signatures = np.stack([signature(words[name], seeds) for name in names])
    pairs = []
    for i, a in enumerate(names[:-1]):
        estimate = (signatures[i + 1:] == signatures[i]).mean(axis=1)
        for offset in np.flatnonzero(estimate >= CANDIDATE_JACCARD):
            b = names[i + 1 + offset]
            matcher = difflib.SequenceMatcher(None, words[a], words[b], autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            score = matcher.ratio()
            if score >= threshold:
                pairs.append((a, b, round(score, 3)))
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))
