"""The check pack: what the student kit needs to judge the public checks, and nothing else.

For each visible check: its inputs, the reference's observation on them, the
tolerances and dtype policy, points, feedback texts, and for each accepted
variant and banked mistake its id, its text and what it observes on those same
inputs. No code goes in: no reference, no bank source, no solution; hidden and
after-due checks are left out entirely (only their number and points are said).

On disk: `<id>.checks.json` (the manifest) and `<id>.checks.npz` (every array,
read back with allow_pickle=False).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grader.pipeline import grade
from grader.kit.kitpack import PACK_FORMAT
from grader.run.wire import Malformed, encode_exact
from grader.checks.spec import Check, Spec


def _observation(candidate) -> Any:
    try:
        return candidate.observe()
    except Exception:
        return None  # a variant that cannot run on these inputs explains nothing, here as in the grader


def check_record(spec: Spec, check: Check, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    probe = grade.build_probe(spec, check)
    candidates = []
    for candidate in grade.candidates(spec, probe):
        observed = _observation(candidate)
        try:
            tree = None if observed is None else encode_exact(observed, arrays)
        except Malformed:
            tree = None  # not plain data: it could not match a student's plain answer anyway
        candidates.append({"id": candidate.id, "kind": candidate.kind, "text": candidate.text, "observation": tree})
    return {
        "name": check.name,
        "function": check.function,
        "points": check.points,
        "compare": list(check.compare),
        "rtol": check.rtol,
        "atol": check.atol,
        "dtype": check.dtype,
        "call": probe.call,
        "call_text": grade.describe_call(check, probe.payload),
        "note": check.note,
        "partial_points": float(check.partial.get("points", 0.0)) if check.partial else 0.0,
        "inputs": encode_exact(probe.payload, arrays),
        "expected": encode_exact(probe.expected, arrays),
        "candidates": candidates,
        "draws": check.draws,
    }


def build_pack(spec: Spec) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and the arrays of a spec's visible checks."""
    arrays: dict[str, np.ndarray] = {}
    visible = [c for c in spec.checks if c.visible]
    withheld = [c for c in spec.checks if not c.visible]
    manifest = {
        "format": PACK_FORMAT,
        "assignment": spec.id,
        "title": spec.title,
        "spec_version": spec.digest,
        "functions": {
            fn.name: {"params": list(fn.params), "helpers": list(fn.helpers), "returns": list(fn.returns), "given": fn.given}
            for fn in spec.functions
        },
        "checks": [check_record(spec, check, arrays) for check in visible],
        "withheld": {"count": len(withheld), "points": float(sum(c.points for c in withheld))},
    }
    return manifest, arrays


def write_pack(spec: Spec, dest: Path) -> list[Path]:
    """Write `<id>.checks.json` and `<id>.checks.npz` into dest."""
    manifest, arrays = build_pack(spec)
    json_path = dest / f"{spec.id}.checks.json"
    npz_path = dest / f"{spec.id}.checks.npz"
    manifest["arrays"] = npz_path.name
    np.savez_compressed(npz_path, **arrays)
    json_path.write_text(json.dumps(manifest, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return [json_path, npz_path]
