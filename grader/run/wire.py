"""The one value format both sides of the sandbox speak: a JSON tree plus named numpy arrays.

A message is one JSON line followed by the raw bytes of its arrays:

    {"op": "result", ..., "tree": {...}, "arrays": [{"k": "a0", "dtype": "<f8", "shape": [10, 3]}], "nbytes": 240}\n
    <240 bytes: each array's C-ordered data, in the order listed>

A value is a tree of {"t": kind, ...} nodes (none, bool, int, float, str, tuple, list, dict,
array by key, object by type name); nothing is ever pickled. Standard library and numpy only:
this file is staged beside worker.py and imported there as the sibling `wire`, while the
grader imports it as grader.run.wire. numpy is imported inside the functions, so a worker
whose numpy is broken can still say so over the channel.
"""
from __future__ import annotations

import json
import re
from typing import Any

# Module-level names shadow the builtins: inside the sandbox a notebook that patches
# builtins.isinstance or builtins.len cannot change how values are encoded.
from builtins import (  # noqa: A004
    BaseException, ValueError, abs, bool, dict, float, int, isinstance, len, list, repr, str, tuple, type,
)

MAX_HEADER = 8 * 1024**2
MAX_DIMS = 32
MAX_DEPTH = 12
MAX_ITEMS = 100_000
DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f(2|4|8|16)|c(8|16|32))$")


class Malformed(ValueError):
    """What came over is not a well-formed message or value within the limits."""


class Opaque:
    """A returned object that is not plain data: only its type name and a short repr cross over."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


# ---------------------------------------------------------------- values


def encode(value: Any, arrays: dict, depth: int = 0) -> dict:
    """A JSON value tree for `value`, putting arrays into `arrays`; unknown objects by type name."""
    import numpy as np

    if depth > 6:
        return {"t": "object", "type": type(value).__name__, "repr": "(nested too deep)"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)) and abs(int(value)) < 2**53:
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(value)
        return {"t": "array", "k": key}
    if isinstance(value, (tuple, list)) and len(value) <= 10000:
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "items": [encode(item, arrays, depth + 1) for item in value]}
    if isinstance(value, dict) and len(value) <= 1000 and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k: encode(v, arrays, depth + 1) for k, v in value.items()}}
    if isinstance(value, str):
        return {"t": "str", "v": value[:2000]}
    try:
        text = repr(value)[:200]
    except BaseException:
        text = "(repr failed)"
    return {"t": "object", "type": type(value).__name__, "repr": text}


def encode_exact(value: Any, arrays: dict) -> dict:
    """The same tree for a value that must come back bit for bit (a check pack's inputs and expectations):
    numpy scalars keep their dtype (kind "scalar"), ints of any size, nothing cut short; a value that
    cannot be written so raises Malformed instead of becoming an object's name."""
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            raise Malformed(f"cannot write a {array.dtype} array exactly")
        key = f"a{len(arrays)}"
        arrays[key] = np.array(array, order="C")  # not ascontiguousarray: that makes a 0-d value 1-d
        return {"t": "array" if isinstance(value, np.ndarray) else "scalar", "k": key}
    if value is None or isinstance(value, (bool, str)):
        return {"t": "none"} if value is None else {"t": type(value).__name__, "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": value}
    if isinstance(value, float):  # strict JSON holds no NaN or infinity: those go by name
        return {"t": "float", "v": value if value - value == 0 else repr(value)}
    if isinstance(value, (tuple, list)):
        return {"t": type(value).__name__, "items": [encode_exact(item, arrays) for item in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k: encode_exact(v, arrays) for k, v in value.items()}}
    raise Malformed(f"cannot write a {type(value).__name__} exactly")


def decode(tree: Any, arrays: dict, max_items: int | None = MAX_ITEMS) -> Any:
    """Rebuild a value, trusting nothing: known kinds only, bounded depth and (unless None) item count."""
    return _decode(tree, arrays, 0, [max_items if max_items is not None else float("inf")])


def _decode(tree: Any, arrays: dict, depth: int, budget: list) -> Any:
    import numpy as np

    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0 or not isinstance(tree, dict):
        raise Malformed("a value nested too deep, too large or malformed")
    kind = tree.get("t")
    if kind in ("array", "scalar"):
        key = tree.get("k")
        if not isinstance(key, str) or key not in arrays:
            raise Malformed("a value naming an array that was not sent")
        array = np.array(arrays[key])  # a writable copy, detached from the message
        return array[()] if kind == "scalar" else array
    if kind in ("float", "int", "bool", "str"):
        value = tree.get("v")
        if kind == "float" and value in ("nan", "inf", "-inf"):  # written by name by encode_exact
            return float(value)
        expected = {"float": (float, int), "int": (int,), "bool": (bool,), "str": (str,)}[kind]
        if not isinstance(value, expected) or (kind == "str" and len(value) > 10_000):
            raise Malformed(f"a malformed {kind}")
        return float(value) if kind == "float" else value
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = tree.get("items")
        if not isinstance(items, list):
            raise Malformed("a malformed sequence")
        values = [_decode(item, arrays, depth + 1, budget) for item in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "dict":
        items = tree.get("items")
        if not isinstance(items, dict):
            raise Malformed("a malformed mapping")
        return {str(k)[:200]: _decode(v, arrays, depth + 1, budget) for k, v in items.items()}
    if kind == "object":
        return Opaque(str(tree.get("type", "object"))[:100], str(tree.get("repr", ""))[:200])
    raise Malformed(f"an unknown kind of value ({str(kind)[:40]})")


# ---------------------------------------------------------------- framing


def pack(header: dict, arrays: dict) -> bytes:
    """One message as bytes: the JSON line, then each array's data."""
    meta, parts = [], []
    if arrays:
        import numpy as np
    for key, array in arrays.items():
        array = np.ascontiguousarray(array)
        meta.append({"k": key, "dtype": array.dtype.str, "shape": list(array.shape)})
        parts.append(array.tobytes())
    header = dict(header, arrays=meta, nbytes=sum(len(p) for p in parts))
    return json.dumps(header).encode() + b"\n" + b"".join(parts)


def parse_header(line: bytes) -> dict:
    """A message's JSON line, which must name an operation."""
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise Malformed("a message that is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise Malformed("a message without an operation")
    return header


def layout(header: dict, max_bytes: int | None) -> list[tuple[str, Any, tuple[int, ...], int]]:
    """(key, dtype, shape, bytes) of each array the header announces, checked before a byte is read."""
    import numpy as np

    limit = max_bytes if max_bytes is not None else float("inf")
    meta = header.get("arrays", [])
    if not isinstance(meta, list) or len(meta) > MAX_ITEMS:
        raise Malformed("a malformed array list")
    found, total = [], 0
    for item in meta:
        if not isinstance(item, dict):
            raise Malformed("a malformed array entry")
        key, dtype, shape = item.get("k"), item.get("dtype"), item.get("shape")
        if not isinstance(key, str) or not isinstance(dtype, str) or not DTYPE.match(dtype):
            raise Malformed(f"an array of a type the grader does not accept ({str(dtype)[:40]})")
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= limit for n in shape)):
            raise Malformed("an array with a malformed shape")
        dt = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dt.itemsize
        total += nbytes
        if total > limit:
            raise Malformed(f"more than {max_bytes >> 20} MB of array data in one message")
        found.append((key, dt, tuple(shape), nbytes))
    if header.get("nbytes", 0) != total:
        raise Malformed("array sizes that do not add up")
    return found


def unpack(slots: list[tuple[str, Any, tuple[int, ...], int]], data: bytes) -> dict:
    """The arrays of a message from its data bytes (read-only views; decode copies what it keeps)."""
    import numpy as np

    arrays, offset, view = {}, 0, memoryview(data)
    for key, dtype, shape, nbytes in slots:
        arrays[key] = np.frombuffer(view[offset: offset + nbytes], dtype=dtype).reshape(shape)
        offset += nbytes
    return arrays
