"""Progress of a batch on the terminal, and the one-screen summary at the end.

On a TTY, `Progress` redraws one line (bar, count, rate, ETA) with a carriage return;
anywhere else (CI logs, a pipe) it prints one plain line per notebook:

    [3/40] alice.ipynb 41.5/50 (2.1 s)
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from typing import Callable, Mapping, Sequence, TextIO

from grader.result import Result

FAILED_TO_RUN = ("crashed", "invalid", "timeout")


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts finished notebooks; call `advance` once per notebook, `close` at the end."""

    def __init__(self, total: int, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self._clock = clock
        self._start = clock()
        self._width = width
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        self._drawn = False

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        return shutil.get_terminal_size((80, 24)).columns

    def rate(self) -> float:
        elapsed = self._clock() - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, label: str) -> str:
        """The TTY line: bar, count, rate, ETA and the last notebook, cut to the terminal width."""
        columns = max(self._columns() - 1, 20)  # never touch the last column: some terminals wrap
        fraction = self.done / self.total if self.total else 1.0
        bar_width = 20
        filled = int(bar_width * fraction)
        bar = "#" * filled + "-" * (bar_width - filled)
        rate = self.rate()
        remaining = self.total - self.done
        eta = _clock_text(remaining / rate) if rate > 0 else "?"
        text = f"[{bar}] {self.done}/{self.total}  {rate:.2f} nb/s  ETA {eta}  {label}"
        return text[:columns].ljust(columns)

    def advance(self, label: str, score: str | None = None, seconds: float | None = None) -> None:
        """One more notebook finished: `label` names it, `score` is e.g. '41.5/50'."""
        self.done += 1
        if self.tty:
            self.stream.write("\r" + self.line(label))
            self._drawn = True
        else:
            text = f"[{self.done}/{self.total}] {label}"
            if score is not None:
                text += f" {score}"
            if seconds is not None:
                text += f" ({seconds:.1f} s)"
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the TTY line so what follows starts on a fresh line."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _points(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def summary_text(results: Sequence[Result], outdir: str | os.PathLike[str], wall_seconds: float,
                 durations: Mapping[str, float], graded: int | None = None) -> str:
    """The end-of-batch summary: counts, scores, the slowest notebooks, where the output is.

    `results` is the class as the overview shows it (this run's and those kept from earlier runs), so
    the terminal and the overview never disagree; `graded` says how many of them this run graded."""
    outdir = os.fspath(outdir)
    failed = [r for r in results if r.execution.status in FAILED_TO_RUN]
    graded = len(results) if graded is None else graded
    kept = len(results) - graded
    lines = [f"Graded {graded} notebook{'s' if graded != 1 else ''} in {wall_seconds:.1f} s."
             + (f" The class below is {len(results)}, with {kept} kept from earlier runs (as in the overview)." if kept > 0 else "")]
    if failed:
        names = ", ".join(f"{r.submission} ({r.execution.status})" for r in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        lines.append(f"Failed to run: {len(failed)}: {names}{more}")
    else:
        lines.append("Failed to run: 0")
    attention = [r for r in results if r.attention]
    if attention:
        names = ", ".join(f"{r.submission} ({', '.join(dict.fromkeys(a.reason for a in r.attention))})" for r in attention[:5])
        more = f" and {len(attention) - 5} more" if len(attention) > 5 else ""
        lines.append(f"Need a person: {len(attention)}: {names}{more} (see the overview)")
    else:
        lines.append("Need a person: 0")
    if results:
        scores = [r.score for r in results]
        maxima = {r.max_score for r in results}
        out_of = f" / {_points(maxima.pop())}" if len(maxima) == 1 else ""
        lines.append(f"Mean score {_points(statistics.fmean(scores))}{out_of}, "
                     f"median {_points(statistics.median(scores))}{out_of}")
    slowest = sorted(durations.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    if slowest:
        lines.append("Slowest: " + ", ".join(f"{name} ({seconds:.1f} s)" for name, seconds in slowest))
    lines.append(f"Reports: {os.path.join(outdir, '')}")
    lines.append(f"Overview: {os.path.join(outdir, 'index.html')}")
    return "\n".join(lines) + "\n"
