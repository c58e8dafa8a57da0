"""The grader's end of the pipe to a student's process: framed messages, checked before they are believed.

The format (a JSON line, then the raw bytes of its arrays) is wire.py's, shared with the
worker. Everything from the student's side is hostile data. Before a byte of array data is
read, the header is checked (wire.layout): a bounded line, JSON, dtypes from a short list of
plain numeric kinds (no object, no structured, no pickles), shapes of non-negative ints,
sizes that add up to the stated total, the total under the limit. Reads and writes
never wait past a deadline, so a process that stops reading or writing cannot hang
the grader. Nothing is ever read from or written to a file.
"""
from __future__ import annotations

import os
import select
import time
from typing import Any

import numpy as np

from grader.run import wire
from grader.run.wire import MAX_HEADER, pack

# What the student's side sent is not a well-formed message within the limits (wire.Malformed).
ChannelGarbage = wire.Malformed


class ChannelClosed(Exception):
    """The other end closed the pipe (the process exited)."""


class ChannelTimeout(Exception):
    """No complete message before the deadline."""


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
        header = wire.parse_header(line)
        layout = wire.layout(header, self.max_bytes)
        total = sum(n for _, _, _, n in layout)
        while len(self.buffer) < total:
            self._fill(deadline)
        arrays = wire.unpack(layout, bytes(self.buffer[:total]))
        del self.buffer[:total]
        return header, arrays


# ------------------------------------------------------------------ value trees


def decode_tree(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild a value from the student's side, trusting nothing: bounded depth and size, known kinds only."""
    return wire.decode(tree, arrays)
