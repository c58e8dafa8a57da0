"""Manual review: rubric parsing, the manual_scores table, safe answers, the review server over HTTP."""
from __future__ import annotations

import csv
import dataclasses
import http.client
import json
import sqlite3
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grader.outputs import exports
from grader.outputs.answers import read_answers, sanitize
from grader.outputs.gradebook import Gradebook, ManualConflict
from grader.outputs.manual import manual_grades
from grader.outputs.review import ReviewApp, ReviewError, make_server, open_app
from grader.checks.rubric import RubricError, parse_manual_review
from grader.checks.spec import load_spec

from review_class import make_class

SPEC = "shallow-backprop"


# ---------------------------------------------------------------- rubric as data

def test_plain_string_items_still_parse_with_ids_and_no_points():
    items = parse_manual_review(["Q8: show that ...", "Task 13: the error", "free text"], "spec")
    assert [i.id for i in items] == ["q8", "task-13", "item-3"]
    assert [i.points for i in items] == [0.0, 0.0, 0.0]
    assert items[0].label == "Q8" and items[2].label == "item-3"


def test_table_items_carry_points_rubric_and_find():
    (item,) = parse_manual_review([{"id": "q8", "text": "Q8: derive", "points": 2, "find": "Q8-10",
                                    "rubric": [{"points": 2, "text": "all"}, {"points": 0, "text": "none"}]}], "spec")
    assert item.points == 2 and item.find == ("Q8-10",) and [l.points for l in item.rubric] == [2, 0]


@pytest.mark.parametrize("raw, fragment", [
    ([{"text": "x", "points": -1}], "points"),
    ([{"text": "x", "points": 1, "rubric": [{"points": 3}]}], "more than"),
    ([{"text": "x", "colour": 1}], "unknown key"),
    ([{"points": 1}], "text"),
    ([{"text": "x", "find": "("}], "regex"),
    (["Q1: a", "Q1: b"], "same id" if False else "id"),
])
def test_bad_items_are_refused_with_the_reason(raw, fragment):
    with pytest.raises(RubricError, match=fragment):
        parse_manual_review(raw, "spec")


def test_specs_know_their_manual_maximum_and_keep_texts_for_the_result():
    spec = load_spec(SPEC)
    assert spec.manual_max == 15 and spec.manual_review == tuple(i.text for i in spec.manual_items)
    assert all(isinstance(t, str) for t in load_spec("ffnn-pure-numpy").manual_review)


# ---------------------------------------------------------------- the gradebook

def test_manual_entries_keep_history_and_latest_wins(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        first = book.record_manual(SPEC, "ada", "q8", 1, "half", "tom")
        book.record_manual(SPEC, "ada", "q8", 2, "fixed", "ann", expect=first.id)
        current = book.manual_current(SPEC)
        assert current[("ada", "q8")].points == 2 and current[("ada", "q8")].who == "ann"
        assert [e.who for e in book.manual_history(SPEC, "ada")] == ["tom", "ann"]
        with pytest.raises(ManualConflict) as conflict:
            book.record_manual(SPEC, "ada", "q8", 0, "", "tom", expect=first.id)
        assert conflict.value.latest.who == "ann"


def test_two_processes_worth_of_connections_write_safely(tmp_path):
    path = tmp_path / "g.sqlite"
    Gradebook(path).close()

    def write(who):
        with Gradebook(path) as book:
            for k in range(20):
                book.record_manual(SPEC, f"s{k}", "q8", 1, "", who)

    threads = [threading.Thread(target=write, args=(w,)) for w in ("a", "b")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with Gradebook(path) as book:
        assert len(book.manual_current(SPEC)) == 20
        assert len(book.manual_history(SPEC, "s3")) == 2


def test_a_schema_1_gradebook_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, assignment TEXT NOT NULL, spec_version TEXT NOT NULL DEFAULT '',
            submission TEXT NOT NULL, content_hash TEXT NOT NULL DEFAULT '', graded_at TEXT NOT NULL, score REAL NOT NULL,
            max_score REAL NOT NULL, result_json TEXT NOT NULL);
        CREATE TABLE current (assignment TEXT NOT NULL, submission TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES runs (id),
            PRIMARY KEY (assignment, submission));
        PRAGMA user_version=1;""")
    result = json.loads((Path(__file__).parent / "resources" / "results" / "partial.json").read_text())
    db.execute("INSERT INTO runs (assignment, submission, graded_at, score, max_score, result_json) VALUES (?, ?, ?, ?, ?, ?)",
               (result["assignment"], result["submission"], "t", result["score"], result["max_score"], json.dumps(result)))
    db.execute("INSERT INTO current VALUES (?, ?, 1)", (result["assignment"], result["submission"]))
    db.commit()
    db.close()
    with Gradebook(path) as book:
        assert [r.submission for r in book.current_results()] == [result["submission"]]
        book.record_manual(SPEC, result["submission"], "q8", 2, "", "tom")
        assert book._db.execute("PRAGMA user_version").fetchone()[0] == 2


# ---------------------------------------------------------------- answers, safely

def test_sanitiser_strips_everything_that_runs_or_fetches():
    dirty = ('<p onclick="x()">a<script>alert(1)</script><img src=x onerror=alert(1)>'
             '<img src="https://evil.example/a.png"><img src="//evil.example/b.png"><a href="javascript:alert(1)">j</a>'
             '<a href="https://evil.example">l</a><iframe src="https://evil.example"></iframe><object data="x"></object>'
             '<embed src="x"><style>body{display:none}</style><svg onload="alert(1)"></svg><form action="/x"><input></form>'
             '<img src="data:image/png;base64,iVBORw0KGgo=" alt="ok"><a href="#q8">here</a></p>')
    clean = sanitize(dirty)
    for bad in ("script", "onerror", "onclick", "evil.example", "javascript:", "iframe", "object", "embed",
                "style", "svg", "<form", "<input", "src=\"x\""):
        assert bad not in clean.lower(), bad
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in clean and 'href="#q8"' in clean


def test_items_map_to_the_cells_after_their_question(tmp_path):
    make_class(tmp_path, SPEC, ["ada"], hostile="ada")
    spec = load_spec(SPEC)
    answers = read_answers(tmp_path / "submissions" / "ada" / "notebook.ipynb", spec.manual_items, spec.folder)
    assert [c.index for c in answers.for_item("q8")] == [12, 13]
    assert [c.index for c in answers.for_item("q18-q21")] == [28, 29, 30, 31, 34, 35]
    html = "".join(c.html for c in answers.cells)
    assert "data:image/png;base64," in html and "<script" not in html and "127.0.0.1" not in html
    assert "onerror" not in html and "__pwned = 4" not in html


def test_a_missing_notebook_is_said_not_raised(tmp_path):
    answers = read_answers(tmp_path / "gone.ipynb", load_spec(SPEC).manual_items, None)
    assert answers.cells == () and "not here" in answers.error


# ---------------------------------------------------------------- the server over HTTP

@pytest.fixture
def served(tmp_path):
    make_class(tmp_path, SPEC, ["ada", "ben", "cleo"], hostile="ben")
    app = open_app(tmp_path, who="tom")
    server = make_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_address[1], tmp_path
    server.shutdown()
    server.server_close()
    app.book.close()


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode("utf-8")


def cookie(app, port):
    return {"Cookie": f"grader_review_{port}={app.token}"}


def test_without_the_token_everything_is_refused(served):
    app, port, _ = served
    for path in ("/", "/s/ada", "/nb/ada", "/report/ada", "/?token=wrong"):
        assert request(port, "GET", path)[0] == 403
    assert request(port, "GET", "/", headers={"Host": "evil.example", **cookie(app, port)})[0] == 403
    body = urllib.parse.urlencode({"points-q8": "2"})
    assert request(port, "POST", "/s/ada", body, {"Content-Type": "application/x-www-form-urlencoded", **cookie(app, port)})[0] == 403


def test_the_token_sets_a_cookie_and_pages_carry_a_strict_csp(served):
    app, port, _ = served
    status, headers, _ = request(port, "GET", f"/?token={app.token}")
    assert status == 303 and app.token in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    status, headers, body = request(port, "GET", "/s/ben", headers=cookie(app, port))
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert "__pwned = 1" not in body and "onerror" not in body and f"127.0.0.1:9" not in body
    assert "0 of 3 students reviewed" in body


def save(app, port, student, values, go="next"):
    status, _, page = request(port, "GET", f"/s/{student}", headers=cookie(app, port))
    form = {"token": app.token, "go": go}
    for item in app.spec.manual_items:
        entry = app.book.manual_current(app.spec.id).get((student, item.id))
        form[f"seen-{item.id}"] = str(entry.id if entry else 0)
        form[f"was-points-{item.id}"] = "" if not entry or entry.points is None else f"{entry.points:g}"
        form[f"was-comment-{item.id}"] = entry.comment if entry else ""
        form[f"points-{item.id}"] = form[f"was-points-{item.id}"]
        form[f"comment-{item.id}"] = form[f"was-comment-{item.id}"]
    form.update(values)
    return request(port, "POST", f"/s/{student}", urllib.parse.urlencode(form),
                   {"Content-Type": "application/x-www-form-urlencoded", **cookie(app, port)})


def test_saving_records_points_and_moves_to_the_next_student(served):
    app, port, outdir = served
    status, headers, _ = save(app, port, "ada", {"points-q8": "2", "comment-q8": "clear derivation"})
    assert status == 303 and headers["Location"] == "/s/ben"
    (entry,) = app.book.manual_history(SPEC, "ada")
    assert (entry.item, entry.points, entry.comment, entry.who) == ("q8", 2.0, "clear derivation", "tom")
    report = (outdir / "reports" / "ada.html").read_text()
    assert "clear derivation" in report
    rows = list(csv.reader((outdir / "grades.csv").open(encoding="utf-8-sig")))
    header, ada = rows[0], rows[1]
    assert ada[header.index("manual")] == "2" and ada[header.index("total")] == "32"
    assert "Q8" not in ada[header.index("unreviewed")] and "Q9" in ada[header.index("unreviewed")]


def test_out_of_range_points_are_refused_and_nothing_is_saved(served):
    app, port, _ = served
    status, _, body = save(app, port, "ada", {"points-q8": "7"})
    assert status == 409 and "between 0 and 2" in body
    assert app.book.manual_history(SPEC, "ada") == []


def test_a_second_ta_cannot_silently_overwrite_the_first(served):
    app, port, _ = served
    stale = app.book.manual_current(SPEC).get(("ada", "q8"))
    app.book.record_manual(SPEC, "ada", "q8", 1, "from ann", "ann")
    form = {"token": app.token, "go": "stay", "seen-q8": str(stale.id if stale else 0), "was-points-q8": "",
            "was-comment-q8": "", "points-q8": "2", "comment-q8": ""}
    status, _, body = request(port, "POST", "/s/ada", urllib.parse.urlencode(form),
                              {"Content-Type": "application/x-www-form-urlencoded", **cookie(app, port)})
    assert status == 409 and "ann saved 1" in body
    assert app.book.manual_current(SPEC)[("ada", "q8")].who == "ann"


def test_progress_counts_students_with_every_item_graded(served):
    app, port, _ = served
    save(app, port, "cleo", {f"points-{item.id}": "1" for item in app.spec.manual_items})
    _, _, body = request(port, "GET", "/", headers=cookie(app, port))
    assert "1 of 3 students reviewed" in body


def test_open_app_refuses_a_folder_without_a_gradebook(tmp_path):
    with pytest.raises(ReviewError, match="no gradebook"):
        open_app(tmp_path)


# ---------------------------------------------------------------- exports and regrades

def test_exports_carry_totals_and_a_regrade_keeps_manual_points(tmp_path):
    from grader.outputs.files import write_class_outputs, write_outputs

    results = make_class(tmp_path, SPEC, ["ada", "ben"])
    spec = load_spec(SPEC)
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        for item in spec.manual_items:
            book.record_manual(SPEC, "ada", item.id, item.points, "fine", "tom")
        regraded = dataclasses.replace(results[0], score=40.0, graded_at="later")
        book.record(regraded)
        assert book.manual_current(SPEC)[("ada", "q8")].points == 2
    write_outputs(regraded, tmp_path)
    write_class_outputs([regraded, results[1]], tmp_path, spec)
    rows = {r["submission"]: r for r in csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8-sig"))}
    assert (rows["ada"]["score"], rows["ada"]["manual"], rows["ada"]["total"], rows["ada"]["total_max"]) == ("40", "15", "55", "65")
    assert rows["ada"]["unreviewed"] == "" and rows["ben"]["unreviewed"].startswith("Q1-Q3 Q8")
    canvas = list(csv.reader((tmp_path / "canvas.csv").open(encoding="utf-8")))
    assert canvas[1][-1] == "63" and canvas[2][-1] == "55"
    gradescope = json.loads((tmp_path / "gradescope" / "ada" / "results.json").read_text())
    assert gradescope["score"] == 55 and gradescope["extra_data"]["manual"]["unreviewed"] == []
    assert any(t["name"].startswith("Read by a person: Q8") and t["score"] == 2 for t in gradescope["tests"])
    assert "fine" in (tmp_path / "reports" / "ada.html").read_text()


def test_without_manual_items_the_exports_are_unchanged(tmp_path):
    results = make_class(tmp_path, SPEC, ["ada"])
    plain = exports.grades_rows(results)
    assert "manual" not in plain[0]
    grades = manual_grades(tmp_path, load_spec(SPEC), ["ada"])
    assert exports.grades_rows(results, manual=grades)[0][-6:-1] == exports.MANUAL_COLUMNS
