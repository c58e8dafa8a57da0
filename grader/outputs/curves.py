"""Reference curves: what the reference's training looks like, drawn beside the student's own plot.

Where a handout asks for training curves or a sweep, a manual item names a curve (`curve = "..."`
in the spec). The grader computes it with the reference modules on the data the class was graded
on, with the handout's hyper-parameters but fewer images or epochs so that it takes seconds; the
figure says what was cut. A TA then sees at a glance whether the student's curve has the right
shape and level.

Curves are cached on disk, one JSON file per (curve, data source, digest of the reference code
and of the parameters), under the grader's cache folder (`GRADER_CACHE`, else
~/.cache/nn-grader, as the embedded data): a class of 300 computes each one once. A file lock
keeps two processes (or the review server's threads) from computing the same curve twice.
`GRADER_CURVES=0` turns the computation off (the report then says so).

This module is the cache and what the pages ask for (`curves_for`, `warm`); the computations are
in curve_runs.py, the data and its JSON in curve_data.py, the drawing (`figure`, inline SVG) in
curve_figure.py.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from grader.outputs import curve_data, curve_runs
from grader.outputs.curve_data import Curve, CurveError, from_json, to_json
from grader.outputs.curve_figure import figure
from grader.outputs.curve_runs import CURVES, quiet_and_contained

VERSION = "1"  # bump when the JSON layout or a computation changes in a way the digest misses


def cache_dir() -> Path:
    """The folder of the cached curves, under the grader's cache (GRADER_CACHE)."""
    from reference.data import _cache_root

    return _cache_root() / "curves"


def _file_digest(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reference_digest(name: str) -> str:
    """Digest of what the curve depends on: the reference module, the data layer, its computation."""
    import importlib

    definition = CURVES[name]
    module = importlib.import_module(definition.reference)
    h = hashlib.sha256(VERSION.encode())
    for path in (module.__file__, Path(__file__).resolve().parents[2] / "reference" / "data.py"):
        h.update(_file_digest(path).encode())
    for part in (curve_runs, curve_data):  # any change to the computations or to the file layout
        h.update(_file_digest(part.__file__).encode())
    h.update(json.dumps(definition.params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def source_key(source: str | None) -> str:
    """'embedded', 'fashion', or a short digest of a data folder's path and files."""
    from reference.data import resolve_data_dir

    source = source or os.environ.get("GRADER_DATA") or "embedded"
    if source in ("embedded", "embedded-mnist", "fashion"):
        return source
    folder = resolve_data_dir(source)
    h = hashlib.sha256(str(folder.resolve()).encode())
    for entry in sorted(folder.iterdir()):
        if entry.is_file():
            stat = entry.stat()
            h.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return "folder-" + h.hexdigest()[:16]


def cache_path(name: str, source: str | None = None) -> Path:
    """The cache file of curve `name` on `source`: its name changes with the data and the code."""
    return cache_dir() / f"{name}--{source_key(source)}--{reference_digest(name)}.json"


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_MEMORY: dict[Path, Curve] = {}


@contextlib.contextmanager
def _locked(path: Path):
    """This thread alone among the process's threads, and this process alone, computes `path`."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(path, threading.Lock())
    with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a+") as handle:
            try:
                import fcntl
                fcntl.flock(handle, fcntl.LOCK_EX)
            except (ImportError, OSError):  # pragma: no cover - no flock: the threads' lock still holds
                pass
            yield


def _read(path: Path) -> Curve | None:
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: compute again


def reference_curve(name: str, source: str | None = None) -> Curve:
    """The curve `name` on `source` (None: GRADER_DATA, else embedded), from the cache or computed now."""
    if name not in CURVES:
        raise CurveError(f"no reference curve called {name!r} (known: {', '.join(CURVES)})")
    source = source or os.environ.get("GRADER_DATA") or "embedded"
    try:
        path = cache_path(name, source)
    except (OSError, ValueError) as exc:
        raise CurveError(f"the data {source!r} cannot be read here ({exc})") from None
    if path in _MEMORY:
        return _MEMORY[path]
    curve = _read(path)
    if curve is None:
        with _locked(path):
            curve = _read(path)  # another process may have written it while this one waited
            if curve is None:
                began = time.perf_counter()
                try:
                    with quiet_and_contained():
                        computed = CURVES[name].compute(source)
                except CurveError:
                    raise
                except Exception as exc:  # data missing, a reference bug: say so, never break a report
                    raise CurveError(f"{name}: the reference could not compute it ({type(exc).__name__}: {exc})") from None
                computed = Curve(computed.name, computed.title, computed.panels, computed.note, computed.source,
                                 round(time.perf_counter() - began, 2))
                tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
                tmp.write_text(json.dumps(to_json(computed), allow_nan=False), encoding="utf-8")
                os.replace(tmp, path)
                curve = computed
    _MEMORY[path] = curve
    return curve


def enabled() -> bool:
    """False when GRADER_CURVES turns the computation off."""
    return os.environ.get("GRADER_CURVES", "1").strip().lower() not in ("0", "off", "no", "false")


@dataclass(frozen=True)
class Shown:
    """What a page shows for an item's curve: the figure, or why there is none."""

    figure: dict[str, Any] | None
    message: str = ""


def curves_for(items: Sequence[Any], source: str | None) -> dict[str, Shown]:
    """item id -> the figure of its curve, for the items that name one. Never raises."""
    out: dict[str, Shown] = {}
    for item in items:
        name = getattr(item, "curve", "")
        if not name:
            continue
        if not enabled():
            out[item.id] = Shown(None, "The reference curve is not computed here (GRADER_CURVES=0).")
            continue
        try:
            out[item.id] = Shown(figure(reference_curve(name, source)))
        except CurveError as exc:
            out[item.id] = Shown(None, f"No reference curve: {exc}.")
    return out


def warm(items: Sequence[Any], source: str | None) -> threading.Thread | None:
    """Compute the items' curves in a background thread (the review server's first page then finds them)."""
    names = [item.curve for item in items if getattr(item, "curve", "") in CURVES]
    if not names or not enabled():
        return None

    def run() -> None:
        for name in names:
            try:
                reference_curve(name, source)
            except CurveError:
                pass  # the page will say why

    thread = threading.Thread(target=run, name="grader-curves", daemon=True)
    thread.start()
    return thread


def source_of(result: Any) -> str:
    """The data a result was graded on (its grading options), for the curve on the same data."""
    grading = getattr(result, "grading", None) or {}
    return str(grading.get("data") or os.environ.get("GRADER_DATA") or "embedded")
