"""The student's side: runs notebook cells in an IPython shell and answers probe calls.

This file is copied into the sandbox with its sibling modules (sandbox.SANDBOX_MODULES) and
run there as a script, so it imports nothing from the project package: only the standard
library, numpy, IPython and those siblings, by their plain names:

    wire.py            the value format and framing, the same the grader speaks (grader.run.wire)
    worker_channel.py  the private file descriptors to the grader: send, receive
    worker_shell.py    the IPython shell, cells under a timer, capped output
    worker_calls.py    probe calls into the student's code, the stand-ins for a retry's helpers
    worker_shims.py    the machine's differences: data paths, convenience imports
    privilege.py       the one checked privilege drop

It speaks to the grader over two private file descriptors (duplicated from stdin/stdout at
start-up, before any student code runs); the student's own prints go to a capped capture
instead. Values cross the boundary as a JSON tree followed by the raw bytes of its arrays:
nothing is ever pickled, and nothing goes through a file.
"""
from __future__ import annotations

import os
import signal
import sys
import traceback

# Module-level names shadow the builtins: a notebook that patches builtins.isinstance
# or builtins.len cannot break the grader's side of this process.
from builtins import BaseException, hasattr, int  # noqa: A004

from worker_calls import do_call, record_definitions
from worker_channel import receive, send, take_channel
from worker_shell import CappedStream, error_text, make_shell, on_timer, run_cell, traceback_tail
from worker_shims import install_convenience_shims, serve_data_everywhere

# The staged siblings: once loaded they leave sys.modules, so a notebook's own wire.py is its own.
SIBLINGS = ("wire", "worker_channel", "worker_shell", "worker_calls", "worker_shims", "privilege")


def redirect_process_output() -> None:
    """Point fds 0-2 away from the protocol: stdin empty, C-level output discarded."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def drop_privileges() -> None:
    """Started as root inside bubblewrap: become the unprivileged uid before anything else runs."""
    target = os.environ.pop("GRADER_DROP_TO", "")
    if not target:
        return
    import privilege  # staged beside this script; every step checked, a failure ends the worker

    privilege.drop_to(int(target))


def warm_state():
    """What a warm process (zygote.py) prepares once, before it forks: the shell and its capped streams."""
    import numpy  # noqa: F401

    limit = int(os.environ.get("GRADER_OUTPUT_LIMIT", "20000"))
    stdout, stderr = CappedStream("<stdout>", limit), CappedStream("<stderr>", limit)
    return make_shell(os.getcwd()), stdout, stderr


def main(warm=None) -> None:
    """Serve the grader. `warm`: the state a warm process made (privileges already dropped by it)."""
    if warm is None:
        drop_privileges()
    take_channel()
    workdir = os.getcwd()
    try:  # before stderr goes away: a broken interpreter says why, to the grader
        import numpy  # noqa: F401
        import IPython  # noqa: F401
    except BaseException as exc:
        traceback.print_exc()
        send({"op": "fatal", "error": error_text(exc)})
        os._exit(1)
    redirect_process_output()
    signal.signal(signal.SIGALRM, on_timer)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes fail instead of killing us
    sys.path[:] = [p for p in sys.path if p not in ("", os.path.dirname(os.path.abspath(__file__)))]
    for name in SIBLINGS:
        sys.modules.pop(name, None)
    sys.path.insert(0, workdir)
    install_convenience_shims()
    if warm is not None:
        shell, stdout, stderr = warm
        sys.stdout, sys.stderr = stdout, stderr
    else:
        limit = int(os.environ.get("GRADER_OUTPUT_LIMIT", "20000"))
        stdout, stderr = CappedStream("<stdout>", limit), CappedStream("<stderr>", limit)
        sys.stdout, sys.stderr = stdout, stderr
        try:
            shell = make_shell(workdir)
        except BaseException as exc:
            send({"op": "fatal", "error": error_text(exc), "traceback": traceback_tail(exc)})
            os._exit(1)
    serve_data_everywhere(workdir, shell)
    send({"op": "ready", "pid": os.getpid(), "uid": os.getuid()})
    while True:
        message, arrays = receive()
        if message is None or message["op"] == "quit":
            break
        out = None
        if message["op"] == "run":
            reply = run_cell(shell, message, stdout, stderr)
            record_definitions(shell, message.get("index"))
        elif message["op"] == "call":
            reply, out = do_call(shell, message, arrays, stdout, stderr)
        else:
            reply = {"op": "error", "error": f"unknown op {message['op']!r}"}
        send(reply, out)
    os._exit(0)


if __name__ == "__main__":
    main()
