"""The worker's end of the grader's channel: the private file descriptors, one framed message each way.

Staged beside worker.py (a sibling, standard library and numpy only). The descriptors are
duplicated from stdin/stdout by take_channel() before any student code runs; the framing
is wire.py's, the same the grader's channel.py reads.
"""
from __future__ import annotations

import os

import wire

# Set by take_channel(): the grader's private channel, taken before any student code runs.
PROTOCOL_IN = None
PROTOCOL_OUT = None


def take_channel() -> None:
    """Keep private copies of fds 0 and 1, which the grader's pipes are, before they are redirected."""
    global PROTOCOL_IN, PROTOCOL_OUT
    PROTOCOL_IN = os.fdopen(os.dup(0), "rb")
    PROTOCOL_OUT = os.fdopen(os.dup(1), "wb")


def send(message: dict, arrays: dict | None = None) -> None:
    """One framed message: a JSON line, then the raw bytes of each array (wire.pack)."""
    PROTOCOL_OUT.write(wire.pack(message, arrays or {}))
    PROTOCOL_OUT.flush()


def receive():
    """The grader's next message and its arrays, or (None, {}) when the grader is gone."""
    line = PROTOCOL_IN.readline()
    if not line:
        return None, {}
    message = wire.parse_header(line)
    slots = wire.layout(message, None)  # the grader's own message: no size limit on what it sends
    return message, wire.unpack(slots, PROTOCOL_IN.read(sum(n for _, _, _, n in slots)))
