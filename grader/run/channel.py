"""The grader's end of the pipe to a student's process: framed messages, checked before they are believed.

A message is one JSON line followed by the raw bytes of its arrays:

    {"op": "result", ..., "tree": {...}, "arrays": [{"k": "a0", "dtype": "<f8", "shape": [10, 3]}], "nbytes": 240}\n
    <240 bytes: each array's C-ordered data, in the order listed>

Everything from the student's side is hostile data. Before a byte of array data is
read, the header is checked: a bounded line, JSON, dtypes from a short list of plain
numeric kinds (no object, no structured, no pickles), shapes of non-negative ints,
sizes that add up to the stated total, the total under the limit. Reads and writes
never wait past a deadline, so a process that stops reading or writing cannot hang
the grader. Nothing is ever read from or written to a file.
"""
from __future__ import annotations

import json
import os
import re
import select
import time
from typing import Any

import numpy as np

MAX_HEADER = 8 * 1024**2
MAX_DIMS = 32
MAX_DEPTH = 12
MAX_ITEMS = 100_000
DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f(2|4|8|16)|c(8|16|32))$")


class ChannelClosed(Exception):
    """The other end closed the pipe (the process exited)."""


class ChannelTimeout(Exception):
    """No complete message before the deadline."""


class ChannelGarbage(Exception):
    """What came over the pipe is not a well-formed message within the limits."""


def pack(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """One message as bytes: the JSON line, then each array's data."""
    meta, parts = [], []
    for key, array in arrays.items():
        array = np.ascontiguousarray(array)
        meta.append({"k": key, "dtype": array.dtype.str, "shape": list(array.shape)})
        parts.append(array.tobytes())
    header = dict(header, arrays=meta, nbytes=sum(len(p) for p in parts))
    return json.dumps(header).encode() + b"\n" + b"".join(parts)


class Channel:
    """Framed, deadline-bounded messages over a pair of pipe file descriptors."""

    def __init__(self, read_fd: int, write_fd: int, max_bytes: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        os.set_blocking(write_fd, False)

    # ------------------------------------------------------------ writing

    def send(self, header: dict, arrays: dict[str, np.ndarray] | None, deadline: float) -> None:
        data = memoryview(pack(header, arrays or {}))
        while data:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise ChannelTimeout("the notebook's process stopped reading")
            _, ready, _ = select.select([], [self.write_fd], [], remaining)
            if not ready:
                continue
            try:
                written = os.write(self.write_fd, data[:1 << 16])
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise ChannelClosed() from None
            data = data[written:]

    # ------------------------------------------------------------ reading

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise ChannelTimeout()
        ready, _, _ = select.select([self.read_fd], [], [], remaining)
        if not ready:
            return
        chunk = os.read(self.read_fd, 1 << 20)
        if not chunk:
            raise ChannelClosed()
        self.buffer += chunk

    def receive(self, deadline: float) -> tuple[dict, dict[str, np.ndarray]]:
        """The next message, checked; raises ChannelTimeout, ChannelClosed or ChannelGarbage."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_HEADER:
                raise ChannelGarbage(f"a message header longer than {MAX_HEADER >> 20} MB")
            self._fill(deadline)
        end = self.buffer.index(b"\n")
        if end > MAX_HEADER:
            raise ChannelGarbage(f"a message header longer than {MAX_HEADER >> 20} MB")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            raise ChannelGarbage("a message that is not JSON") from None
        if not isinstance(header, dict) or not isinstance(header.get("op"), str):
            raise ChannelGarbage("a message without an operation")
        layout = self._layout(header)
        total = sum(n for _, _, _, n in layout)
        while len(self.buffer) < total:
            self._fill(deadline)
        arrays: dict[str, np.ndarray] = {}
        offset = 0
        for key, dtype, shape, nbytes in layout:
            arrays[key] = np.frombuffer(bytes(self.buffer[offset: offset + nbytes]), dtype=dtype).reshape(shape)
            offset += nbytes
        del self.buffer[:total]
        return header, arrays

    def _layout(self, header: dict) -> list[tuple[str, np.dtype, tuple[int, ...], int]]:
        meta = header.get("arrays", [])
        if not isinstance(meta, list) or len(meta) > MAX_ITEMS:
            raise ChannelGarbage("a malformed array list")
        layout, total = [], 0
        for item in meta:
            if not isinstance(item, dict):
                raise ChannelGarbage("a malformed array entry")
            key, dtype, shape = item.get("k"), item.get("dtype"), item.get("shape")
            if not isinstance(key, str) or not isinstance(dtype, str) or not DTYPE.match(dtype):
                raise ChannelGarbage(f"an array of a type the grader does not accept ({str(dtype)[:40]})")
            if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                    or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= self.max_bytes for n in shape)):
                raise ChannelGarbage("an array with a malformed shape")
            dt = np.dtype(dtype)
            count = 1
            for n in shape:
                count *= n
            nbytes = count * dt.itemsize
            total += nbytes
            if total > self.max_bytes:
                raise ChannelGarbage(f"more than {self.max_bytes >> 20} MB of array data in one message")
            layout.append((key, dt, tuple(shape), nbytes))
        if header.get("nbytes", 0) != total:
            raise ChannelGarbage("array sizes that do not add up")
        return layout


# ------------------------------------------------------------------ value trees


def decode_tree(tree: Any, arrays: dict[str, np.ndarray], depth: int = 0, budget: list[int] | None = None) -> Any:
    """Rebuild a value from the student's side, trusting nothing: bounded depth and size, known kinds only."""
    from grader.run.worker import Opaque

    budget = budget if budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0 or not isinstance(tree, dict):
        raise ChannelGarbage("a value nested too deep, too large or malformed")
    kind = tree.get("t")
    if kind == "array":
        key = tree.get("k")
        if not isinstance(key, str) or key not in arrays:
            raise ChannelGarbage("a value naming an array that was not sent")
        return np.array(arrays[key])  # a writable copy, detached from the message
    if kind in ("float", "int", "bool", "str"):
        value = tree.get("v")
        expected = {"float": (float, int), "int": (int,), "bool": (bool,), "str": (str,)}[kind]
        if not isinstance(value, expected) or (kind == "str" and len(value) > 10_000):
            raise ChannelGarbage(f"a malformed {kind}")
        return float(value) if kind == "float" else value
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = tree.get("items")
        if not isinstance(items, list):
            raise ChannelGarbage("a malformed sequence")
        values = [decode_tree(item, arrays, depth + 1, budget) for item in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "dict":
        items = tree.get("items")
        if not isinstance(items, dict):
            raise ChannelGarbage("a malformed mapping")
        return {str(k)[:200]: decode_tree(v, arrays, depth + 1, budget) for k, v in items.items()}
    if kind == "object":
        return Opaque(str(tree.get("type", "object"))[:100], str(tree.get("repr", ""))[:200])
    raise ChannelGarbage(f"an unknown kind of value ({str(kind)[:40]})")
