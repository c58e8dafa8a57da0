"""The notebook's shell inside the sandbox: cells run with IPython semantics, under a timer, output capped.

Staged beside worker.py (a sibling module; standard library and IPython only). Magics that
would leave the sandbox (`!cmd`, %pip) are answered with a line instead of being run.
"""
from __future__ import annotations

import io
import os
import signal
import time
import traceback

# Module-level names shadow the builtins: a notebook that patches builtins.isinstance
# or builtins.len cannot break the grader's side of this process.
from builtins import (  # noqa: A004
    BaseException, bool, dict, float, int, isinstance, len, list, max, min, open, print, str, type,
)


class GradingTimeout(BaseException):
    """Raised by the interval timer when a cell or call runs past its limit."""


class CappedStream(io.TextIOBase):
    """A text stream that keeps the first `limit` characters per cell and counts the rest."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n... [{self.dropped} more characters of output dropped]"
        self.reset()
        return out


def on_timer(signum, frame):
    raise GradingTimeout()


def start_timer(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))


def stop_timer() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


# ---------------------------------------------------------------- the shell


def make_shell(workdir: str):
    """An IPython shell with notebook-like magics that cannot leave the sandbox."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.text import SList

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history file, no saving thread (a warm process forks this shell)
    shell = InteractiveShell.instance(colors="NoColor", config=config)
    # The grader formats errors itself (error_text, traceback_tail); IPython's coloured traceback
    # of a deep recursion alone takes seconds.
    shell.showtraceback = lambda *args, **kwargs: None

    def no_shell(cmd):
        print(f"[grader] shell command not run while grading: !{cmd}")
        return 0

    shell.system = no_shell
    shell.system_raw = no_shell
    shell.system_piped = no_shell
    shell.getoutput = lambda cmd, split=True, depth=0: SList()

    def matplotlib_magic(line):  # inline or notebook: figures are drawn off-screen
        import matplotlib

        matplotlib.use("Agg", force=True)

    def load_magic(line):
        path = line.split()[-1] if line.split() else ""
        if not path or not os.path.isfile(path):
            raise FileNotFoundError(f"%load: no file {path!r} in the grading folder")
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
        outcome = shell.run_cell(source, store_history=False)
        if outcome.error_in_exec is not None:
            raise outcome.error_in_exec
        if outcome.error_before_exec is not None:
            raise outcome.error_before_exec

    shell.register_magic_function(matplotlib_magic, "line", "matplotlib")
    shell.register_magic_function(load_magic, "line", "load")
    for name in ("pip", "conda"):
        shell.register_magic_function(lambda line, _n=name: print(f"[grader] %{_n} is not run while grading"), "line", name)

    # MPLBACKEND=Agg is set in the environment, so pyplot needs no import here (it is slow).
    return shell


def error_text(exc: BaseException) -> str:
    if isinstance(exc, GradingTimeout):
        return "timeout"
    name = type(exc).__name__
    message = str(exc).strip().splitlines()
    return f"{name}: {message[0][:300]}" if message else name


def _harness_folders() -> tuple[str, ...]:
    """Folders whose frames are the grader's machinery, not the student's code: IPython and this one."""
    import IPython

    return (os.path.dirname(IPython.__file__) + os.sep, os.path.dirname(os.path.abspath(__file__)) + os.sep)


def _student_frames(te: traceback.TracebackException, harness: tuple[str, ...], seen: set) -> None:
    """Drop the harness's frames and shorten library paths, in this exception and those it chains to."""
    if id(te) in seen:
        return
    seen.add(id(te))
    kept = []
    for frame in te.stack:
        if frame.filename.startswith(harness):
            continue
        for marker in ("site-packages" + os.sep, "lib" + os.sep + "python"):
            if marker in frame.filename:  # a library's frame: its path inside the install, not the machine's
                frame.filename = "..." + os.sep + frame.filename[frame.filename.index(marker):]
                break
        kept.append(frame)
    te.stack = traceback.StackSummary.from_list(kept)
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _student_frames(chained, harness, seen)


def traceback_tail(exc: BaseException, lines: int = 12) -> str:
    """The last lines of a traceback that shows the student's code and the libraries it called, never
    the grader's own files or where Python is installed on the grading machine."""
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        _student_frames(te, _harness_folders(), set())
        text = "".join(te.format())
    except BaseException:  # an exception whose formatting fails: its name is enough
        text = error_text(exc)
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail)


def run_cell(shell, message, stdout: CappedStream, stderr: CappedStream) -> dict:
    started = time.perf_counter()
    start_timer(message["timeout"])
    error = None
    try:
        outcome = shell.run_cell(message["source"], store_history=True, silent=False)
        error = outcome.error_before_exec or outcome.error_in_exec
    except GradingTimeout as exc:
        error = exc
    except BaseException as exc:  # SystemExit and friends raised past IPython
        error = exc
    finally:
        stop_timer()
    reply = {"op": "cell", "index": message["index"], "seconds": time.perf_counter() - started}
    if error is None:
        reply["status"] = "ok"
    else:
        reply["status"] = "timeout" if isinstance(error, GradingTimeout) else "error"
        reply["error"] = error_text(error)
        reply["traceback"] = traceback_tail(error)
    reply["stdout"] = stdout.take()[:4000]
    reply["stderr"] = stderr.take()[:4000]
    return reply

