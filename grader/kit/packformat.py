"""Values in a check pack: a JSON tree whose arrays live in an .npz (loaded with allow_pickle=False).

Pure (numpy only): the grader writes packs with `to_tree`, the student kit
reads them with `from_tree` (this file is vendored into the kit). Every value
comes back with its exact type and bits: Python numbers stay Python numbers,
numpy scalars and arrays keep their dtype, tuples stay tuples.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

PACK_FORMAT = 1


class PackFormatError(Exception):
    """A value cannot be written into a pack, or a pack's tree is malformed."""


def _float(value: float) -> Any:
    return value if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))


def to_tree(value: Any, arrays: dict[str, np.ndarray]) -> dict:
    """A JSON-safe tree for `value`; its arrays are added to `arrays` under fresh keys."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            raise PackFormatError(f"cannot pack a {array.dtype} array")
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(array)
        return {"t": "array" if isinstance(value, np.ndarray) else "scalar", "k": key}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": value}
    if isinstance(value, float):
        return {"t": "float", "v": _float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, (tuple, list)):
        return {"t": type(value).__name__, "items": [to_tree(item, arrays) for item in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k: to_tree(v, arrays) for k, v in value.items()}}
    raise PackFormatError(f"cannot pack a {type(value).__name__}")


def from_tree(tree: dict, arrays: Any) -> Any:
    """The value a tree describes; arrays are fresh copies, so a caller may change them freely."""
    kind = tree["t"]
    if kind == "none":
        return None
    if kind == "array":
        return np.array(arrays[tree["k"]])
    if kind == "scalar":
        return np.array(arrays[tree["k"]])[()]
    if kind in ("bool", "int", "str"):
        return tree["v"]
    if kind == "float":
        return float(tree["v"])
    if kind == "tuple":
        return tuple(from_tree(item, arrays) for item in tree["items"])
    if kind == "list":
        return [from_tree(item, arrays) for item in tree["items"]]
    if kind == "dict":
        return {k: from_tree(v, arrays) for k, v in tree["items"].items()}
    raise PackFormatError(f"unknown value kind {kind!r} in the pack")
