"""HTML reports and the class overview: well-formed, complete, escaped, and true to the results."""
from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import replace
from io import StringIO
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.outputs.diffchart import diff_chart
from grader.outputs.overview import overview_stats, render_overview, write_overview
from grader.outputs.report import function_summaries, render_report, write_report
from grader.outputs.progress import summary_text
from grader.result import Attention, Result, result_from_dict
from grader.outputs.summary import print_summary

RESULTS_DIR = Path(__file__).parent / "resources" / "results"
FIXTURES = sorted(p.stem for p in RESULTS_DIR.glob("*.json"))
HOSTILE = "<script>alert(1)</script>"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_SELF_CLOSING = {"rect", "line", "circle", "path", "polyline", "polygon", "stop", "ellipse"}


def load(name: str) -> Result:
    return result_from_dict(json.loads((RESULTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def all_results() -> list[Result]:
    return [load(name) for name in FIXTURES]


class StrictHTML(HTMLParser):
    """Fails on markup a browser would silently repair: every non-void element closed, in order.

    Also: no end tag for a void element, no duplicate attribute, unique ids, one doctype.
    Collects text per element id and data-* attributes so tests can read values back.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.doctype = 0
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> dict[str, str | None]:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"duplicate attribute in <{tag}> at line {self.getpos()[0]}")
        result = dict(attrs)
        if "id" in result:
            if result["id"] in self.ids:
                self.errors.append(f"duplicate id {result['id']!r}")
            self.ids.add(str(result["id"]))
        self.elements.append((tag, result))
        return result

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html":
            self.doctype += 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag == "script":
            self._in_script = True
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID and tag not in SVG_SELF_CLOSING:
            self.errors.append(f"<{tag}/> self-closed at line {self.getpos()[0]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag in VOID:
            self.errors.append(f"end tag for void <{tag}> at line {self.getpos()[0]}")
            return
        if not self.stack:
            self.errors.append(f"stray </{tag}> at line {self.getpos()[0]}")
            return
        open_tag, line = self.stack.pop()
        if open_tag != tag:
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} closes <{open_tag}> from line {line}")

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)

    def finish(self) -> "StrictHTML":
        self.close()
        if self.stack:
            self.errors.append("unclosed: " + ", ".join(f"<{t}> (line {n})" for t, n in self.stack))
        if self.doctype != 1:
            self.errors.append("missing <!DOCTYPE html>")
        return self

    def body_text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, str | None]]:
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [a for t, a in self.elements
                if (tag is None or t == tag) and all(a.get(k) == v for k, v in want.items())]


def parse(html: str) -> StrictHTML:
    checker = StrictHTML()
    checker.feed(html)
    return checker.finish()


# ---------------------------------------------------------------- the checker itself has teeth

@pytest.mark.parametrize("broken", [
    "<!DOCTYPE html><html><body><div><p>text</div></body></html>",  # crossed tags
    "<!DOCTYPE html><html><body><table><tr><td>x</tr></table></body></html>",  # unclosed td
    "<!DOCTYPE html><html><body><p>x</p></p></body></html>",  # stray end tag
    "<!DOCTYPE html><html><body><br></br></body></html>",  # end tag for a void element
    "<!DOCTYPE html><html><body><a id='x'></a><b id='x'></b></body></html>",  # duplicate id
    "<html><body></body></html>",  # no doctype
    "<!DOCTYPE html><html><body><div>",  # unclosed at the end
])
def test_checker_rejects_broken_markup(broken):
    assert parse(broken).errors


# ---------------------------------------------------------------- one report per fixture

@pytest.mark.parametrize("name", FIXTURES)
def test_report_is_well_formed_html(name):
    checker = parse(render_report(load(name)))
    assert checker.errors == []


@pytest.mark.parametrize("name", FIXTURES)
def test_report_is_self_contained(name):
    html = render_report(load(name))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no external resource"
    assert "<script" not in html, "a report needs no JavaScript"
    csp = parse(html).find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"]
    assert "default-src 'none'" in csp and "script-src 'none'" in csp


@pytest.mark.parametrize("name", FIXTURES)
def test_report_shows_score_and_every_function(name):
    result = load(name)
    checker = parse(render_report(result))
    text = checker.body_text()
    big = checker.find("span", **{"class": "big"})[0]
    assert float(big["data-score"]) == result.score
    assert float(big["data-max-score"]) == result.max_score
    assert re.search(rf"\b{re.escape(f'{result.score:g}')} / {result.max_score:g}\b", text)
    for test in result.tests:
        assert test.function in text
        assert test.name in text


@pytest.mark.parametrize("name", FIXTURES)
def test_report_shows_diagnoses_failing_cells_flags_and_manual_items(name):
    result = load(name)
    text = parse(render_report(result)).body_text()
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    for test in result.tests:
        if test.diagnosis:
            assert squash(test.diagnosis) in text
        if test.status != "passed":
            assert squash(test.output) in text
    for cell in result.execution.cells:
        if cell.status != "ok":
            assert f"Cell {cell.index}" in text
            assert squash(cell.source) in text
            assert squash(cell.traceback) in text
    for flag in result.integrity:
        assert squash(flag.flag) in text and squash(flag.detail) in text
    for item in result.manual_review:
        assert squash(item) in text
    if result.manual_review:
        assert "To be read by a person" in text
    assert result.execution.isolation in text
    assert result.execution.status in text


def test_partial_report_shows_failure_details_and_charts():
    result = load("partial")
    html = render_report(result)
    text = parse(html).body_text()
    assert "softmaxp(a, e) with a: float64 (10, 7), e: float64 (10, 7)" in text
    assert "expected float32, received float64" in text
    assert "max |error| 0.4182" in text
    assert "worst at (6, 1)" in text
    assert "Your update_shallow calls your softmaxp" in text
    assert "() (a scalar)" in text
    # one heatmap (10 x 7 = 70 cells) per matrix grid, and a bar chart for the vector grid
    assert html.count("<svg") >= 3 * 2  # figure + legend per chart
    assert html.count("<title>[") == 70 + 70 + 10


def test_report_summarises_functions_with_several_tests():
    by_name = {s.function: s for s in function_summaries(load("partial"))}
    update = by_name["update_shallow"]
    assert (update.passed, update.total, update.score, update.max_score, update.status) == (1, 2, 3.0, 9.0, "partial")
    assert by_name["softmaxp"].status == "failed"
    assert by_name["relu"].status == "passed"
    missing = {s.function: s for s in function_summaries(load("missing_functions"))}
    assert missing["softmaxp"].status == "missing"


def test_hostile_strings_are_escaped():
    html = render_report(load("hostile"))
    assert "<script" not in html
    assert "<img" not in html
    assert "onload=" not in html.replace("onload=&#34;", "")  # only as escaped text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    checker = parse(html)
    assert checker.errors == []
    assert HOSTILE in checker.body_text()  # shown to the reader as text
    assert not checker.find("img") and not checker.find("script")


@pytest.mark.parametrize("grid, kind, n", [
    ([[0.0, 0.5], [1.0, 0.25]], "matrix", 4),
    ([[0.1] * 40] * 30, "matrix", 24 * 24),  # clipped to 24 x 24
    ([0.0, 0.3, 1.0], "vector", 3),
    ([[float("nan"), "junk", 2.0]], "matrix", 3),
])
def test_diff_chart_geometry(grid, kind, n):
    chart = diff_chart(grid)
    assert chart is not None and chart.kind == kind and len(chart.cells) == n
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c.fill) for c in chart.cells)


@pytest.mark.parametrize("grid", [None, [], "<svg>", [[]], 3])
def test_diff_chart_ignores_unusable_grids(grid):
    assert diff_chart(grid) is None


def test_write_report_writes_the_rendered_page(tmp_path):
    result = load("partial")
    write_report(result, tmp_path / "sub" / "bob.html")
    assert (tmp_path / "sub" / "bob.html").read_text(encoding="utf-8") == render_report(result)


# ---------------------------------------------------------------- the overview

def overview_html(**kwargs) -> str:
    results = all_results()
    links = {r.submission: f"reports/{r.submission}.html" for r in results}
    return render_overview(results, links, "shallow-backprop: overview", **kwargs)


def test_overview_is_well_formed_and_escaped():
    html = overview_html(similar_pairs=[("bob", "erin", 0.93)])
    checker = parse(html)
    assert checker.errors == []
    assert len(checker.find("script")) == 1  # our sorting snippet only
    assert "alert(1)" not in "".join(checker.scripts)
    assert HOSTILE in checker.body_text()


def test_overview_statistics_agree_with_results():
    results = all_results()
    stats = overview_stats(results)
    scores = [r.score for r in results]
    assert stats.count == len(results)
    assert stats.mean_score == pytest.approx(statistics.fmean(scores))
    assert stats.median_score == pytest.approx(statistics.median(scores))
    assert stats.failed_to_run == sum(r.execution.status in ("crashed", "invalid", "timeout") for r in results)
    assert sum(stats.histogram) == len(results)
    assert stats.histogram[9] == sum(r.score / r.max_score >= 0.9 for r in results)


def test_overview_page_numbers_agree_with_results():
    results = all_results()
    checker = parse(overview_html())
    scores = [r.score for r in results]
    mean = checker.find("dd", id="mean")[0]
    assert float(mean["data-value"]) == pytest.approx(statistics.fmean(scores), abs=1e-4)
    assert float(checker.find("dd", id="median")[0]["data-value"]) == pytest.approx(statistics.median(scores))
    # diagnoses: submissions per (function, diagnosis)
    expected = Counter()
    for r in results:
        expected.update({(t.function, t.diagnosis) for t in r.tests if t.diagnosis and t.status != "passed"})
    shown = {(a["data-function"], a["data-diagnosis"]): int(a["data-count"])
             for a in checker.find("tr", **{"class": "diagnosis"})}
    assert shown == dict(expected)
    assert f"1 of {len(results)}" in checker.body_text()
    # pass rates per check
    passed, total = Counter(), Counter()
    for r in results:
        for t in r.tests:
            total[(t.function, t.name)] += 1
            passed[(t.function, t.name)] += t.status == "passed"
    rows = checker.find("tr", **{"class": "check"})
    assert len(rows) == len(total)
    for a in rows:
        key = (a["data-function"], a["data-check"])
        assert (int(a["data-passed"]), int(a["data-total"])) == (passed[key], total[key])
    # histogram bins add up
    assert sum(int(a["data-count"]) for a in checker.find("g", **{"class": "bin"})) == len(results)


def test_overview_links_every_student_safely():
    results = all_results()
    checker = parse(overview_html())
    hrefs = [a["href"] for a in checker.find("a") if a.get("href")]
    assert "reports/alice.html" in hrefs
    assert all(":" not in h for h in hrefs), "no link may carry a scheme"
    rows = [a for t, a in checker.elements if t == "tr" and "data-submission" in a]
    assert sorted(a["data-submission"] for a in rows) == sorted(r.submission for r in results)


def test_overview_link_cannot_become_a_javascript_url():
    result = load("full_marks")
    html = render_overview([result], {"alice": "javascript:alert(1)"}, "t")
    assert 'href="javascript%3Aalert%281%29"' in html


def test_overview_lists_similar_pairs_most_similar_first():
    checker = parse(overview_html(similar_pairs=[("alice", "dave", 0.71), ("bob", "erin", 0.93)]))
    text = checker.body_text()
    assert "Similar submissions" in text
    assert text.index("0.93") < text.index("0.71")
    assert "Similar submissions" not in parse(overview_html()).body_text()


def test_overview_of_nothing_still_renders():
    checker = parse(render_overview([], {}, "empty"))
    assert checker.errors == []
    assert "No submissions." in checker.body_text()


def test_write_overview(tmp_path):
    results = all_results()
    write_overview(results, {}, "t", tmp_path / "index.html", similar_pairs=[("a", "b", 0.5)])
    assert parse((tmp_path / "index.html").read_text(encoding="utf-8")).errors == []


# ---------------------------------------------------------------- submissions a person should read (issue 11 item 4)

OFF_TEMPLATE = Attention("off-template", "no graded function is defined under the handout's names, and none was found "
                                         "under another name: it was written outside the released notebook")
RENAMED = Attention("renamed", "accepted under another name: relu as `my_relu`")
HOSTILE_DETAIL = Attention("solution-loaded", f"cell 3: %load {HOSTILE} ran its code")


def attention_results() -> list[Result]:
    """The fixtures, with erin written off-template (two reasons) and mallory loading the solution."""
    out = []
    for r in all_results():
        if r.submission == "erin":
            r = replace(r, attention=(OFF_TEMPLATE, RENAMED, Attention("renamed", "softmaxp as `soft`")))
        elif r.submission.startswith("mallory"):
            r = replace(r, attention=(HOSTILE_DETAIL,))
        out.append(r)
    return out


def test_overview_groups_the_submissions_that_need_a_person():
    results = attention_results()
    links = {r.submission: f"reports/{r.submission}.html" for r in results}
    html = render_overview(results, links, "t")
    checker = parse(html)
    assert checker.errors == []
    assert html.count("<script") == 1, "the hostile detail never reaches the page as markup"
    text = checker.body_text()
    assert "2 submissions need a person" in text
    assert text.index("2 submissions need a person") < text.index("Score distribution"), "the group comes first"
    group = {a["data-submission"]: a["data-reasons"] for a in checker.find("tr", **{"class": "attention-entry"})}
    mallory = next(r.submission for r in results if r.submission.startswith("mallory"))
    assert group == {"erin": "off-template renamed", mallory: "solution-loaded"}  # a reason once, however often found
    assert "written outside the released notebook" in text and "a function found under another name" in text
    assert "loads the handout's solution" in text
    hrefs = [a["href"] for a in checker.find("a") if a.get("href")]
    assert "reports/erin.html" in hrefs and hrefs.count("reports/erin.html") == 2  # in the group and in the table
    assert checker.find("dd", id="need-person") and "#attention" in hrefs
    # the students table marks those rows, and the marker column sorts by the number of reasons
    marked = {a["data-submission"]: a["data-attention"] for a in checker.find("tr", **{"class": "needs-person"})}
    assert marked == group
    counts = sorted(int(a["data-value"]) for a in checker.find("td", **{"class": "reasons"}) if "data-value" in a)
    assert counts == [0, 0, 0, 0, 1, 2]
    assert checker.find("input", id="only-attention", type="checkbox"), "a filter that needs no script"
    assert len(checker.find("script")) == 1
    assert overview_stats(results).need_person == 2


def test_overview_with_one_submission_needing_a_person_says_so_in_the_singular():
    result = replace(load("partial"), attention=(RENAMED,))
    text = parse(render_overview([result, load("full_marks")], {}, "t")).body_text()
    assert "1 submission needs a person" in text and "no report" in text


def test_overview_without_attention_shows_no_group():
    checker = parse(overview_html())
    text = checker.body_text()
    assert "need a person" not in text.replace("Need a person", "")
    assert not checker.find("section", id="attention")
    assert not checker.find("tr", **{"class": "needs-person"}) and not checker.find("input")
    assert checker.find("dd", id="need-person")
    assert overview_stats(all_results()).need_person == 0


def test_report_shows_the_attention_box_near_the_top():
    result = replace(load("partial"), attention=(OFF_TEMPLATE, RENAMED, HOSTILE_DETAIL))
    html = render_report(result)
    checker = parse(html)
    assert checker.errors == []
    assert "<script" not in html
    text = checker.body_text()
    assert "A person should look at this submission because:" in text
    assert text.index("A person should look") < text.index("Functions") < text.index("Tests")
    for entry in result.attention:
        assert entry.detail in text and f"({entry.reason})" in text
    assert "written outside the released notebook" in text
    assert [a["data-reason"] for a in checker.find("li") if "data-reason" in a] == ["off-template", "renamed", "solution-loaded"]


@pytest.mark.parametrize("name", FIXTURES)
def test_report_without_attention_shows_no_box(name):
    html = render_report(load(name))
    assert "A person should look" not in html and 'class="attention"' not in html


def test_student_summary_prints_no_attention():
    result = replace(load("missing_functions"), attention=(OFF_TEMPLATE, RENAMED))
    assert result.for_students().attention == ()
    instructor, student = StringIO(), StringIO()
    print_summary(result, stream=instructor)
    print_summary(result, stream=student, student=True)
    shown = instructor.getvalue()
    assert "A person should look at this submission because:" in shown
    assert "written outside the released notebook (off-template)" in shown and "relu as `my_relu`" in shown
    assert shown.index("A person should look") < shown.index("relu"), "above the functions, where the zeros are"
    hidden = student.getvalue()
    assert "person should look" not in hidden and "off-template" not in hidden and "my_relu" not in hidden
    plain = StringIO()
    print_summary(load("missing_functions"), stream=plain)
    assert "person should look" not in plain.getvalue()


def test_batch_summary_says_how_many_need_a_person():
    text = summary_text(attention_results(), "out", 1.0, {})
    line = next(line for line in text.splitlines() if line.startswith("Need a person"))
    assert line.startswith("Need a person: 2: ") and "erin (off-template, renamed)" in line
    assert "Need a person: 0" in summary_text(all_results(), "out", 1.0, {})


def test_a_file_that_is_no_notebook_is_never_said_to_have_run_without_error(tmp_path):
    from grader.checks.spec import load_spec
    from grader.pipeline.grade import Grader

    result = Grader(load_spec("shallow-backprop")).invalid(tmp_path / "eve.ipynb", "not a notebook (invalid JSON at line 1)")
    text = re.sub(r"<[^>]+>", " ", render_report(result))
    assert "Every cell ran without error" not in text
    assert "could not be read as a notebook" in text
    ok = next(r for r in all_results() if r.execution.status == "ok" and not r.execution.cells)
    assert "Every cell ran without error" in render_report(ok)
