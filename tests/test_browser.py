"""Reports in a real browser: headless Chromium renders them, logs no errors, sorts the table.

Screenshots are kept under tmp_path and copied to /tmp/screens/ for a person to look at.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from grader.outputs.overview import write_overview
from grader.outputs.report import write_report
from grader.result import Attention, Result, result_from_dict

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
RESULTS_DIR = Path(__file__).parent / "resources" / "results"
SCREENS = Path("/tmp/screens")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver (Debian chromium, chromium-driver)"),
]


def load(name: str) -> Result:
    return result_from_dict(json.loads((RESULTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def with_attention(result: Result) -> Result:
    """erin was written outside the released notebook, mallory %loads the solution: two rows that need a person."""
    if result.submission == "erin":
        return replace(result, attention=(
            Attention("off-template", "no graded function is defined under the handout's names; found under other names: soft"),
            Attention("renamed", "accepted under another name: softmaxp as `soft`")))
    if result.submission.startswith("mallory"):
        return replace(result, attention=(Attention("solution-loaded", "cell 3: %load <script>alert(1)</script> ran its code"),))
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A batch's output: one report per fixture result and index.html linking them."""
    root = tmp_path_factory.mktemp("site")
    results = [with_attention(load(p.stem)) for p in sorted(RESULTS_DIR.glob("*.json"))]
    links = {}
    for k, result in enumerate(results):
        name = f"reports/{k:02d}.html"
        write_report(result, root / name)
        links[result.submission] = name
    write_overview(results, links, "shallow-backprop: class overview", root / "index.html",
                   similar_pairs=[("bob", "erin", 0.93), ("alice", "dave", 0.71)])
    return root, links, results


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def open_page(driver, path: Path) -> list[dict]:
    driver.get(path.as_uri())
    driver.get_log("browser")  # nothing from a previous page counts
    driver.get(path.as_uri())
    return driver.get_log("browser")


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    """Full-page PNG (window grown to the page height), kept in tmp_path and /tmp/screens."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height + 120, 600), 8000))
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path))
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENS / path.name)
    driver.set_window_size(1200, 900)
    return path


def distinct_colours(png: Path, max_rows: int = 700) -> int:
    """Distinct colours in the top of a PNG, decoded with the stdlib only (8-bit RGB/RGBA)."""
    import struct
    import zlib

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type = header[:4]
    assert depth == 8 and colour_type in (2, 6), "Chromium writes 8-bit RGB(A)"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    prev = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(min(height, max_rows)):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        if y % 4 == 0:  # a sample of rows is plenty
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
        prev = line
    return len(colours)


def severe(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e.get("level") == "SEVERE"]


def test_partial_report_renders(driver, site, tmp_path):
    root, links, _ = site
    logs = open_page(driver, root / links["bob"])
    assert severe(logs) == []
    body = driver.find_element("tag name", "body").text
    assert "30 / 50" in body and "softmaxp" in body and "transposed" in body
    assert "W2 -= gamma * relup_(a1, e)" in body
    svgs = driver.find_elements("css selector", "figure > svg")
    assert len(svgs) == 3 and all(s.size["width"] > 50 and s.size["height"] > 40 for s in svgs)
    fill = driver.find_element("css selector", ".bar > span")
    bar = driver.find_element("css selector", ".bar")
    assert fill.size["width"] == pytest.approx(0.6 * bar.size["width"], abs=3)
    png = screenshot(driver, tmp_path, "report_partial")
    assert distinct_colours(png) > 30


@pytest.mark.parametrize("name", sorted(p.stem for p in RESULTS_DIR.glob("*.json")))
def test_every_report_renders_without_console_errors(driver, site, tmp_path, name):
    root, links, _ = site
    result = load(name)
    assert severe(open_page(driver, root / links[result.submission])) == []
    body = driver.find_element("tag name", "body").text
    assert f"{result.score:g} / {result.max_score:g}" in body
    png = screenshot(driver, tmp_path, f"report_{name}")
    assert distinct_colours(png) > 20


def test_hostile_report_runs_no_script(driver, site, tmp_path):
    root, links, results = site
    hostile = next(r for r in results if r.submission.startswith("mallory"))
    logs = open_page(driver, root / links[hostile.submission])
    assert severe(logs) == []
    assert driver.execute_script("return document.scripts.length") == 0
    assert driver.find_elements("css selector", "img") == []
    assert "<script>alert(1)</script>" in driver.find_element("tag name", "h1").text
    screenshot(driver, tmp_path, "report_hostile")


def test_overview_renders_and_sorts(driver, site, tmp_path):
    root, links, results = site
    logs = open_page(driver, root / "index.html")
    assert severe(logs) == [], "the sorting script must satisfy the page's CSP"
    body = driver.find_element("tag name", "body").text
    assert "Score distribution" in body and "Similar submissions" in body
    assert "2 submissions need a person" in body
    need = {r.submission for r in results if r.attention}
    assert len(need) == 2
    group = driver.find_elements("css selector", "#attention-list tbody tr")
    assert {row.get_attribute("data-submission") for row in group} == need
    assert all(row.is_displayed() for row in group)
    box = driver.find_element("css selector", "section.attention")
    assert box.location["y"] < driver.find_element("id", "h-dist").location["y"], "the group is above the charts"
    marked = driver.find_elements("css selector", "#students tr.needs-person")
    assert {row.get_attribute("data-submission") for row in marked} == need
    png = screenshot(driver, tmp_path, "overview")
    assert distinct_colours(png) > 30

    def column(index: int) -> list[str]:
        cells = driver.find_elements("css selector", f"#students tbody tr td:nth-child({index})")
        return [c.text for c in cells]

    def scores() -> list[float]:
        return [float(t.split("/")[0]) for t in column(2)]

    assert column(1) == sorted(r.submission for r in results)
    score_button = driver.find_element("css selector", "#students thead th:nth-child(2) button")
    score_button.click()
    assert scores() == sorted(r.score for r in results)
    header = driver.find_element("css selector", "#students thead th:nth-child(2)")
    assert header.get_attribute("aria-sort") == "ascending"
    score_button.click()
    assert scores() == sorted((r.score for r in results), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    driver.find_element("css selector", "#students thead th:nth-child(1) button").click()
    assert column(1) == sorted((r.submission for r in results), key=str.lower)
    screenshot(driver, tmp_path, "overview_sorted")
    # the attention column sorts like the rest: twice -> most reasons first
    attention_button = driver.find_element("css selector", "#students thead th:nth-child(8) button")
    attention_button.click()
    attention_button.click()
    assert column(1)[:2] == ["erin", next(s for s in need if s != "erin")]
    # the filter is CSS only: tick the box, only the rows that need a person stay visible
    rows = driver.find_elements("css selector", "#students tbody tr")
    assert all(row.is_displayed() for row in rows)
    driver.find_element("css selector", "label[for=only-attention]").click()
    assert {row.get_attribute("data-submission") for row in rows if row.is_displayed()} == need
    screenshot(driver, tmp_path, "overview_attention_only")
    driver.find_element("css selector", "label[for=only-attention]").click()
    assert all(row.is_displayed() for row in rows)
    assert severe(driver.get_log("browser")) == []


def test_overview_links_open_reports(driver, site):
    root, links, _ = site
    open_page(driver, root / "index.html")
    driver.find_element("link text", "alice").click()
    assert driver.current_url.endswith(links["alice"])
    assert "50 / 50" in driver.find_element("tag name", "body").text


def test_a_report_leads_with_where_the_points_went(driver, site, tmp_path):
    """The first screen (1200 x 900) holds the score and every lost check's reason: a student reads the fix
    before any table; the checks that passed fold away."""
    root, links, results = site
    result = next(r for r in results if r.submission == "bob")  # partial.json: 5 checks lost in 5 functions
    open_page(driver, root / links[result.submission])
    driver.set_window_size(1200, 900)
    rows = driver.execute_script(
        "return [...document.querySelectorAll('ol.lost > li')].map(li => ({function: li.dataset.function,"
        " bottom: li.getBoundingClientRect().bottom + window.scrollY, why: li.querySelector('.why').textContent}))")
    lost = [t for t in result.tests if t.status != "passed" and t.max_score > t.score]
    assert len(rows) == len(lost) >= 2 and len({r["function"] for r in rows}) >= 2
    viewport = driver.execute_script("return window.innerHeight")
    for row in rows[:2]:
        assert row["bottom"] <= viewport and row["why"].strip() and row["why"].strip() != "no feedback", row
    details = driver.find_element("css selector", "#tests details")
    assert details.get_attribute("open") is None  # the table of every check is folded
    screenshot(driver, tmp_path, "report-first-screen")
