"""Run the reference on inputs the student chose, in a forked child under time and memory limits.

During a "one bug costs once" retry the student's function calls a stand-in for
its broken helper, and the reference answers on whatever arguments the student
passes: an iteration count of 10**12, arrays of any size. That must cost the
grader nothing it cannot bound, so the call runs in a fork of the grader
process with a CPU limit, an address-space limit and a wall-clock deadline; a
failure there is the retry failing, never the grader dying.
"""
from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import time
from typing import Any, Callable

import numpy as np

from grader.run.channel import Channel, ChannelClosed, ChannelGarbage, ChannelTimeout, decode_tree
from grader.run.wire import encode, pack

MEMORY_HEADROOM = 1024**3  # what the answer may allocate beyond what the grader already maps


class ReferenceFailed(Exception):
    """The reference could not answer within its limits (or raised on these inputs)."""


def _address_space() -> int:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def call_limited(fn: Callable[..., Any], args: list, kwargs: dict, seconds: float, max_bytes: int) -> Any:
    """fn(*args, **kwargs) in a child process; its value (plain data only) comes back over a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: never returns
        os.close(read_fd)
        code = 0
        try:
            limit = _address_space() + MEMORY_HEADROOM
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            cpu = max(1, int(seconds + 1))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                value = fn(*args, **kwargs)
            arrays: dict = {}
            header = {"op": "answer", "tree": encode(value, arrays)}
        except BaseException as exc:  # noqa: BLE001 - everything becomes the answer's error
            header, arrays = {"op": "error", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}, {}
            code = 1
        try:
            data = memoryview(pack(header, arrays))
            while data:
                data = data[os.write(write_fd, data):]
        except BaseException:
            code = 2
        os._exit(code)
    os.close(write_fd)
    channel = Channel(read_fd, os.open(os.devnull, os.O_WRONLY), max_bytes)
    try:
        header, arrays = channel.receive(time.perf_counter() + seconds)
    except ChannelTimeout:
        raise ReferenceFailed(f"the reference did not answer within {seconds:g} s on these inputs") from None
    except (ChannelClosed, ChannelGarbage):
        raise ReferenceFailed("the reference ran out of memory or time on these inputs") from None
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(read_fd)
        os.close(channel.write_fd)
    if header.get("op") == "error":
        raise ReferenceFailed(f"the reference raised {header.get('error')}")
    return decode_tree(header.get("tree"), arrays)
