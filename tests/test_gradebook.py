"""The SQLite gradebook: runs kept forever, one current grade per submission, crash-safe."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from grader.outputs.gradebook import Gradebook, GradebookError
from grader.result import Result, result_from_dict

RESULTS_DIR = Path(__file__).parent / "resources" / "results"


def load(name: str) -> Result:
    return result_from_dict(json.loads((RESULTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture
def book(tmp_path):
    with Gradebook(tmp_path / "grades.db") as gradebook:
        yield gradebook


def test_record_then_read_back_equal(book):
    result = load("partial")
    book.record(result)
    assert book.current_results() == [result]
    assert book.current_results("shallow-backprop") == [result]
    assert book.current_results("other") == []
    assert book.assignments() == ["shallow-backprop"]


def test_results_with_nan_in_details_survive(book):
    result = load("hostile")  # its diff_grid holds a NaN
    book.record(result)
    (back,) = book.current_results()
    assert back.to_json() == result.to_json()


def test_current_results_sorted_by_submission(book):
    names = ["partial", "full_marks", "timeout", "crashed", "missing_functions"]
    for name in names:
        book.record(load(name))
    subs = [r.submission for r in book.current_results()]
    assert subs == sorted(subs) and len(subs) == len(names)


def test_regrade_replaces_current_and_keeps_history(book):
    first = load("partial")
    second = dataclasses.replace(first, score=50.0, content_hash="9" * 64, graded_at="2024-03-02T00:00:00+00:00")
    book.record(first)
    book.record(second)
    assert book.current_results() == [second]
    assert book.history(first.assignment, first.submission) == [first, second]
    assert book.history(first.assignment, "nobody") == []


def test_same_submission_in_two_assignments_are_separate(book):
    a = load("partial")
    b = dataclasses.replace(a, assignment="ffnn-pure-numpy", score=1.0)
    book.record(a)
    book.record(b)
    assert book.current_results("shallow-backprop") == [a]
    assert book.current_results("ffnn-pure-numpy") == [b]
    assert book.assignments() == ["ffnn-pure-numpy", "shallow-backprop"]


@pytest.mark.parametrize("content_hash, spec_version, expected", [
    ("b" * 64, "1", True),  # same bytes, same spec: skip
    ("x" * 64, "1", False),  # resubmitted
    ("b" * 64, "2", False),  # spec changed
])
def test_is_current(book, content_hash, spec_version, expected):
    book.record(load("partial"))  # content_hash "b" * 64, spec "1"
    assert book.is_current("shallow-backprop", "bob", content_hash, spec_version) is expected


def test_is_current_false_when_never_graded_or_hash_unknown(book):
    assert not book.is_current("shallow-backprop", "bob", "b" * 64, "1")
    book.record(dataclasses.replace(load("partial"), content_hash=""))
    assert not book.is_current("shallow-backprop", "bob", "", "1")


def test_is_current_follows_the_latest_run(book):
    first = load("partial")
    book.record(first)
    book.record(dataclasses.replace(first, content_hash="c" * 64))
    assert not book.is_current("shallow-backprop", "bob", "b" * 64, "1")
    assert book.is_current("shallow-backprop", "bob", "c" * 64, "1")


def test_survives_reopening(tmp_path):
    path = tmp_path / "grades.db"
    with Gradebook(path) as book:
        book.record(load("partial"))
        book.record(load("full_marks"))
    with Gradebook(path) as book:
        assert [r.submission for r in book.current_results()] == ["alice", "bob"]
        assert book.is_current("shallow-backprop", "alice", "a" * 64, "1")


def test_wal_mode_is_on(book, tmp_path):
    assert book.journal_mode() == "wal"
    with sqlite3.connect(tmp_path / "grades.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class _FailOnCurrent:
    """A connection whose second statement of `record` (pointing `current` at the run) fails."""

    def __init__(self, db):
        self._db = db

    def execute(self, sql, *args):
        if sql.startswith("INSERT INTO current"):
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


def test_failed_write_leaves_previous_state(book):
    result = load("partial")
    book.record(result)
    real = book._db
    book._db = _FailOnCurrent(real)
    with pytest.raises(sqlite3.OperationalError):
        book.record(dataclasses.replace(result, score=1.0, content_hash="z" * 64))
    book._db = real
    assert book.current_results() == [result]
    assert len(book.history("shallow-backprop", "bob")) == 1, "the run insert was rolled back too"


def test_killed_writer_leaves_consistent_db(tmp_path):
    """A process killed inside a transaction: the reopened gradebook shows only committed runs."""
    path = tmp_path / "grades.db"
    with Gradebook(path) as book:
        book.record(load("partial"))
    script = textwrap.dedent(f"""
        import os, sys, json
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from grader.outputs.gradebook import Gradebook
        from grader.result import result_from_dict
        import dataclasses
        book = Gradebook({str(path)!r})
        r = result_from_dict(json.load(open({str(RESULTS_DIR / 'partial.json')!r})))
        book._db.execute("BEGIN IMMEDIATE")
        book._db.execute("INSERT INTO runs (assignment, submission, graded_at, score, max_score, result_json)"
                         " VALUES ('shallow-backprop', 'bob', 'now', 0, 50, '{{}}')")
        os._exit(9)  # killed mid-transaction: no COMMIT, no cleanup
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == 9
    with Gradebook(path) as book:
        assert len(book.history("shallow-backprop", "bob")) == 1
        assert book.current_results() == [load("partial")]


def test_threads_can_hand_results_to_one_gradebook(book):
    base = load("partial")
    results = [dataclasses.replace(base, submission=f"s{k:02d}") for k in range(20)]
    threads = [threading.Thread(target=book.record, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.submission for r in book.current_results()] == [f"s{k:02d}" for k in range(20)]


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "grades.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(GradebookError, match="grades.db"):
        Gradebook(path)
