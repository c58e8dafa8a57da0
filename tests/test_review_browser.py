"""`grader review` in real headless Chromium: the token, the keyboard flow, saves kept across
reloads, exports and regrades, and a hostile answer that must neither run nor fetch.

Screenshots of the review page and the report (handouts 000 and 004, with the reference curves) go to /tmp/h8-shots/.
"""
from __future__ import annotations

import csv
import dataclasses
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grader.outputs.review import make_server, open_app, url_of
from review_class import make_class

from test_browser import CHROMEDRIVER, CHROMIUM, driver, severe  # noqa: F401 (the shared Chromium fixture)

SHOTS = Path("/tmp/h8-shots")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Chromium and chromedriver"),
]


class Tracker(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        Tracker.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tracker():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def serve(outdir, who="tom"):
    app = open_app(outdir, who=who)
    server = make_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server


def shot(driver, name: str) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height + 120, 700), 6000))
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1200, 900)
    return path


def type_keys(driver, keys: str) -> None:
    driver.switch_to.active_element.send_keys(keys)


def test_review_flow_in_chromium(driver, tracker, tmp_path):  # noqa: F811
    from grader.outputs.files import write_class_outputs, write_outputs
    from grader.cli import main
    from grader.outputs.gradebook import Gradebook

    results = make_class(tmp_path, "shallow-backprop", ["ada", "ben", "cleo"], hostile="ben", hostile_port=tracker)
    app, server = serve(tmp_path)
    base = url_of(server, app).split("?")[0]
    try:
        driver.get(base)
        assert "Forbidden" in driver.find_element("tag name", "body").text
        driver.get_log("browser")  # the 403 itself is logged; nothing after it may be
        driver.get(url_of(server, app))
        assert "0 of 3 students reviewed" in driver.find_element("id", "progress").text
        assert "token" not in driver.current_url  # dropped from the address bar once the cookie is set

        # ada: seven items, the points typed and Enter after each; a comment on Q8 first.
        started = time.perf_counter()
        driver.get(base + "s/ada")
        load_seconds = time.perf_counter() - started
        assert severe(driver.get_log("browser")) == []
        assert driver.switch_to.active_element.get_attribute("id") == "points-q1-q3"
        type_keys(driver, "2\n")
        driver.find_element("id", "comment-q8").send_keys("Quotient rule, clear.")
        driver.find_element("id", "points-q8").click()
        keys = 0
        for points in ["2", "1", "3", "1", "2", "3"]:
            type_keys(driver, points + "\n")
            keys += len(points) + 1
        time.sleep(0.5)
        assert driver.current_url.endswith("/s/ben"), "Enter on the last item saves and opens the next student"

        # ben: the hostile answer ran nothing and fetched nothing.
        assert driver.execute_script("return window.__pwned === undefined")
        assert Tracker.hits == []
        assert driver.execute_script("return document.querySelectorAll('iframe, object, embed').length") == 0
        for points in ["1", "0", "0", "1", "0", "1", "1"]:
            type_keys(driver, points + "\n")
        time.sleep(0.5)
        assert driver.current_url.endswith("/s/cleo")
        assert "2 of 3 students reviewed" in driver.find_element("id", "progress").text

        # reload: kept.
        driver.get(base + "s/ada")
        assert driver.find_element("id", "points-q10").get_attribute("value") == "3"
        assert driver.find_element("id", "comment-q8").get_attribute("value") == "Quotient rule, clear."
        shot(driver, "review-000")
        assert driver.find_elements("css selector", "#item-q18-q21 figure.refcurve polyline")
        driver.get(base + "report/ada")
        assert "Quotient rule, clear." in driver.find_element("tag name", "body").text
        driver.execute_script("document.getElementById('notebook').open = true")
        shot(driver, "report-000")

        # export: totals.
        assert main(["export", "-o", str(tmp_path)]) == 0
        rows = {r["submission"]: r for r in csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8-sig"))}
        assert (rows["ada"]["manual"], rows["ada"]["total"], rows["ada"]["unreviewed"]) == ("14", "44", "")
        assert rows["cleo"]["manual"] == "0" and rows["cleo"]["unreviewed"].startswith("Q1-Q3")

        # regrade the automatic part: the manual part stays, on the page and in the report.
        with Gradebook(tmp_path / "gradebook.sqlite") as book:
            regraded = dataclasses.replace(results[0], score=47.0, graded_at="later")
            book.record(regraded)
        write_outputs(regraded, tmp_path)
        write_class_outputs([regraded, *results[1:]], tmp_path, app.spec)
        driver.get(base + "s/ada")
        assert driver.find_element("id", "points-q10").get_attribute("value") == "3"
        assert "automatic 47 / 50" in driver.find_element("tag name", "header").text
        assert "Quotient rule, clear." in (tmp_path / "reports" / "ada.html").read_text()
        rows = {r["submission"]: r for r in csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8-sig"))}
        assert rows["ada"]["total"] == "61"
        print(f"\nreview page load {load_seconds * 1000:.0f} ms; ada: {keys + 2 + 1} keys, 2 clicks (one comment)")
    finally:
        server.shutdown()
        server.server_close()
        app.book.close()


def test_review_and_report_of_004_in_chromium(driver, tracker, tmp_path):  # noqa: F811
    make_class(tmp_path, "mlp-scalar-to-tensor", ["fatou", "gus"])
    app, server = serve(tmp_path)
    base = url_of(server, app).split("?")[0]
    try:
        driver.get(url_of(server, app))
        driver.get_log("browser")
        driver.get(base + "s/fatou")
        assert severe(driver.get_log("browser")) == []
        for points in ["4", "1", "1", "2", "2"]:
            type_keys(driver, points + "\n")
        driver.find_element("id", "comment-q7-1").send_keys("The gap between the curves is discussed well.")
        driver.find_element("id", "points-q7-1").click()
        type_keys(driver, "3\n")
        images = driver.find_elements("css selector", "#item-q7-1 img.plot")
        assert images and images[0].size["width"] > 100, "the student's learning curve is shown"
        reference = driver.find_elements("css selector", "#item-q7-1 figure.refcurve svg")
        assert reference and reference[0].size["width"] > 250, "the reference's curve is drawn beside it"
        assert reference[0].location["x"] > images[0].location["x"] + images[0].size["width"] - 1, "beside, not below"
        assert driver.find_elements("css selector", "#item-q7-3 figure.refcurve polyline")
        driver.find_element("id", "save-stay").click()
        time.sleep(0.3)
        shot(driver, "review-004")
        driver.get(base + "report/fatou")
        assert "The gap between the curves" in driver.find_element("tag name", "body").text
        shot(driver, "report-004")
    finally:
        server.shutdown()
        server.server_close()
        app.book.close()
