"""The gradebook: every grading run ever made, and which run is the current grade.

SQLite (stdlib) in WAL mode: readers never block the writer, and each `record` is
one transaction, so a process killed mid-write leaves the previous state intact.
One process writes; worker processes hand their `Result`s to it (the connection may
also be shared between threads of that process: calls are serialised by a lock).

    runs     every run: id, assignment, spec_version, submission, content_hash,
             graded_at, score, max_score, result_json (the full Result JSON)
    current  (assignment, submission) -> run_id of the grade that counts
    manual_scores  every manual entry (points and comment for one item of one submission),
             with who and when; the current one is the latest per (assignment, submission, item).
             Regrading the automatic part never touches it. NULL points = cleared.

Schema 1 -> 2 added manual_scores; opening a schema-1 file adds the table and keeps the rest.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from grader.result import Result, result_from_dict

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment   TEXT NOT NULL,
    spec_version TEXT NOT NULL DEFAULT '',
    submission   TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    graded_at    TEXT NOT NULL,
    score        REAL NOT NULL,
    max_score    REAL NOT NULL,
    result_json  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_submission ON runs (assignment, submission, id);
CREATE TABLE IF NOT EXISTS current (
    assignment TEXT NOT NULL,
    submission TEXT NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    PRIMARY KEY (assignment, submission)
);
CREATE TABLE IF NOT EXISTS manual_scores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment TEXT NOT NULL,
    submission TEXT NOT NULL,
    item       TEXT NOT NULL,
    points     REAL,
    comment    TEXT NOT NULL DEFAULT '',
    who        TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS manual_by_item ON manual_scores (assignment, submission, item, id);
"""


class GradebookError(Exception):
    """The database file cannot be used as a gradebook."""


class ManualConflict(Exception):
    """Someone else changed the item since the page showing it was loaded."""

    def __init__(self, latest: "ManualEntry") -> None:
        super().__init__(f"{latest.item} was changed by {latest.who} at {latest.at}")
        self.latest = latest


@dataclass(frozen=True)
class ManualEntry:
    id: int
    assignment: str
    submission: str
    item: str
    points: float | None  # None: cleared, back to unreviewed
    comment: str
    who: str
    at: str


_MANUAL_COLUMNS = "id, assignment, submission, item, points, comment, who, at"


class Gradebook:
    """A gradebook stored in one SQLite file (created on first use)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly one method call.
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise GradebookError(f"{self.path}: cannot switch to WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: consistent after a crash
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise GradebookError(f"{self.path}: written by a newer grader (schema {version})")
            self._create_schema()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise GradebookError(f"{self.path}: not a usable gradebook ({exc})") from exc
        except BaseException:
            self._db.close()
            raise

    # ------------------------------------------------------------ plumbing

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    def _create_schema(self) -> None:
        with self._lock, self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def journal_mode(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    # ------------------------------------------------------------ writing

    def record(self, result: Result) -> None:
        """Store a run and make it the current grade of (assignment, submission); history is kept."""
        graded_at = result.graded_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
        payload = json.dumps(result.to_dict())
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (assignment, spec_version, submission, content_hash, graded_at,"
                " score, max_score, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.assignment, result.spec_version, result.submission, result.content_hash,
                 graded_at, float(result.score), float(result.max_score), payload))
            self._db.execute(
                "INSERT INTO current (assignment, submission, run_id) VALUES (?, ?, ?)"
                " ON CONFLICT (assignment, submission) DO UPDATE SET run_id = excluded.run_id",
                (result.assignment, result.submission, cursor.lastrowid))

    def record_manual(self, assignment: str, submission: str, item: str, points: float | None,
                      comment: str, who: str, expect: int | None = None) -> ManualEntry:
        """Add a manual entry (history is kept). With `expect` (the id of the entry the person saw,
        0 for none), refuse with ManualConflict when someone else wrote in between."""
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._transaction():
            row = self._db.execute(
                f"SELECT {_MANUAL_COLUMNS} FROM manual_scores WHERE assignment = ? AND submission = ? AND item = ?"
                " ORDER BY id DESC LIMIT 1", (assignment, submission, item)).fetchone()
            if expect is not None and (row[0] if row else 0) != expect:
                raise ManualConflict(ManualEntry(*row))
            cursor = self._db.execute(
                "INSERT INTO manual_scores (assignment, submission, item, points, comment, who, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment, submission, item, None if points is None else float(points), comment, who, at))
        return ManualEntry(cursor.lastrowid, assignment, submission, item,
                           None if points is None else float(points), comment, who, at)

    # ------------------------------------------------------------ reading

    def manual_current(self, assignment: str) -> dict[tuple[str, str], ManualEntry]:
        """(submission, item) -> the latest entry, for one assignment."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_MANUAL_COLUMNS} FROM manual_scores WHERE id IN (SELECT max(id) FROM manual_scores"
                " WHERE assignment = ? GROUP BY submission, item)", (assignment,)).fetchall()
        return {(row[2], row[3]): ManualEntry(*row) for row in rows}

    def manual_history(self, assignment: str, submission: str) -> list[ManualEntry]:
        """Every manual entry of one submission, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_MANUAL_COLUMNS} FROM manual_scores WHERE assignment = ? AND submission = ? ORDER BY id",
                (assignment, submission)).fetchall()
        return [ManualEntry(*row) for row in rows]

    def is_current(self, assignment: str, submission: str, content_hash: str, spec_version: str) -> bool:
        """True when the current grade was computed from these exact bytes under this spec.

        An empty content hash never matches: without it we cannot know the file is unchanged.
        """
        if not content_hash:
            return False
        with self._lock:
            row = self._db.execute(
                "SELECT r.content_hash, r.spec_version FROM current c JOIN runs r ON r.id = c.run_id"
                " WHERE c.assignment = ? AND c.submission = ?", (assignment, submission)).fetchone()
        return row is not None and row[0] == content_hash and row[1] == spec_version

    def why_regrade(self, assignment: str, submission: str, content_hash: str, spec_version: str,
                    grading: dict) -> str | None:
        """None when the current grade was computed from these bytes, spec, grader and options;
        otherwise why it must be graded (again): "" for a first grading, else a short reason."""
        with self._lock:
            row = self._db.execute(
                "SELECT r.content_hash, r.spec_version, r.result_json FROM current c JOIN runs r ON r.id = c.run_id"
                " WHERE c.assignment = ? AND c.submission = ?", (assignment, submission)).fetchone()
        if row is None:
            return ""
        if not content_hash or row[0] != content_hash:
            return "the notebook changed"
        if row[1] != spec_version:
            return "the spec changed"
        before = json.loads(row[2]).get("grading") or {}
        if before.get("grader") != grading.get("grader"):
            return f"the grader changed ({before.get('grader', 'unknown')} -> {grading.get('grader')})"
        changed = [f"{key} {before.get(key)} -> {grading.get(key)}" for key in sorted(set(before) | set(grading))
                   if before.get(key) != grading.get(key)]
        return f"options changed ({', '.join(changed)})" if changed else None

    def current_results(self, assignment: str | None = None) -> list[Result]:
        """The current grade of every submission (of one assignment, or all), sorted by submission."""
        query = ("SELECT r.result_json FROM current c JOIN runs r ON r.id = c.run_id"
                 + (" WHERE c.assignment = ?" if assignment is not None else "")
                 + " ORDER BY c.submission, c.assignment")
        with self._lock:
            rows = self._db.execute(query, () if assignment is None else (assignment,)).fetchall()
        return [result_from_dict(json.loads(row[0])) for row in rows]

    def history(self, assignment: str, submission: str) -> list[Result]:
        """Every run of one submission, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT result_json FROM runs WHERE assignment = ? AND submission = ? ORDER BY id",
                (assignment, submission)).fetchall()
        return [result_from_dict(json.loads(row[0])) for row in rows]

    def assignments(self) -> list[str]:
        """Assignments with at least one run, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT assignment FROM runs ORDER BY assignment").fetchall()
        return [row[0] for row in rows]

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
