"""Reference curves: computed with the reference, cached on disk, drawn as inline SVG beside the answer;
and the rubrics of 002 and 003 find their answer cells."""
from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from grader.outputs import curve_figure, curves
from grader.outputs.answers import handout_lines, map_items, read_answers
from grader.outputs.report import render_report
from grader.outputs.review import ReviewApp
from grader.checks.spec import load_spec

from review_class import make_class


def _cache_at(folder: Path, mp: pytest.MonkeyPatch) -> Path:
    """A cache of its own: the embedded data linked in, the curves computed afresh."""
    from reference.data import embedded_dir

    data = embedded_dir()  # built (or found) in the real cache before it is redirected
    folder.mkdir(parents=True)
    (folder / data.name).symlink_to(data)
    mp.setenv("GRADER_CACHE", str(folder))
    mp.delenv("GRADER_DATA", raising=False)
    mp.setenv("GRADER_CURVES", "1")
    curves._MEMORY.clear()
    return folder / "curves"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Shared by the tests that only read curves: each is computed once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        yield _cache_at(tmp_path_factory.mktemp("curves") / "cache", mp)
    curves._MEMORY.clear()


@pytest.fixture()
def fresh(tmp_path, cache):
    with pytest.MonkeyPatch.context() as mp:
        yield _cache_at(tmp_path / "cache", mp)
    curves._MEMORY.clear()


def test_curve_is_computed_once_then_read_from_the_cache(fresh):
    cache = fresh
    began = time.perf_counter()
    first = curves.reference_curve("shallow-training-error")
    cold = time.perf_counter() - began
    files = list(cache.glob("shallow-training-error--embedded--*.json"))
    assert len(files) == 1 and not first.cached and first.seconds > 0
    curves._MEMORY.clear()  # as another process would: only the file
    began = time.perf_counter()
    second = curves.reference_curve("shallow-training-error")
    warm = time.perf_counter() - began
    assert second.cached and warm < 0.2 < cold
    assert [p.series for p in second.panels] == [p.series for p in first.panels]
    print(f"\nshallow-training-error: cold {cold:.2f} s, cached {warm * 1000:.1f} ms")


def test_the_training_error_falls_and_minibatch_does_better(cache):
    curve = curves.reference_curve("shallow-training-error")
    full, mini = curve.panels
    train, test = (s.y for s in full.series)
    assert train[0] > 80 and test[0] > 80  # untrained: about chance, 90%
    assert train[-1] < 35 and test[-1] < 35 and train[-1] < train[0] / 3
    assert mini.series[1].y[-1] < full.series[1].y[-1] + 5  # the handout's point, on the embedded data too
    assert "1000 of the 7505 training images" in curve.note  # what was cut is said


def test_the_cache_key_follows_the_reference_code_and_the_data(cache, monkeypatch):
    path = curves.cache_path("ffnn-epoch-error")
    assert path.name.startswith("ffnn-epoch-error--embedded--")
    assert curves.cache_path("ffnn-epoch-error", "fashion").name.split("--")[1] == "fashion"
    monkeypatch.setattr(curves, "_file_digest", lambda p: "changed" + str(p))
    assert curves.cache_path("ffnn-epoch-error") != path


@pytest.mark.parametrize("module", ["curve_runs.py", "curve_data.py"])
def test_the_cache_key_follows_the_computations_and_the_file_layout(cache, monkeypatch, module):
    """The computations and the JSON layout live beside curves.py: a change to either is a new cache file."""
    path = curves.cache_path("ffnn-epoch-error")
    real = curves._file_digest
    monkeypatch.setattr(curves, "_file_digest", lambda p: "changed" if Path(p).name == module else real(p))
    assert curves.cache_path("ffnn-epoch-error") != path


def test_a_damaged_cache_file_is_computed_again(fresh):
    cache = fresh
    curves.reference_curve("shallow-training-error")
    (path,) = cache.glob("shallow-training-error--*.json")
    path.write_text("{not json", encoding="utf-8")
    curves._MEMORY.clear()
    curve = curves.reference_curve("shallow-training-error")
    assert not curve.cached and json.loads(path.read_text())["name"] == "shallow-training-error"


def test_003_error_falls_epoch_by_epoch(cache):
    curve = curves.reference_curve("ffnn-epoch-error")
    errors = curve.panels[0].series[0].y
    assert errors[0] > 0.8 and errors[-1] < errors[0] - 0.3
    assert "8 epochs instead of 30" in curve.note


def test_004_curves_are_sane_and_share_the_runs(cache):
    learning = curves.reference_curve("mlp-learning-curves")
    sweep = curves.reference_curve("mlp-lr-sweep")
    train = next(s for s in learning.panels[0].series if s.label == "training loss").y
    assert train[-1] < train[0] < 2.5
    final = {s.label.split()[1]: s.y[-1] for s in sweep.panels[0].series}
    assert list(final) == ["0.001", "0.003", "0.01", "0.03"]
    assert final["0.03"] < final["0.01"] < final["0.001"]  # within 5 epochs, the larger rate learns faster


def test_unknown_curves_and_missing_data_are_said_not_raised(cache, tmp_path):
    item = dataclasses.make_dataclass("Item", ["id", "curve"])
    shown = curves.curves_for([item("a", "no-such-curve"), item("b", "ffnn-epoch-error"), item("c", "")],
                              str(tmp_path / "nowhere"))
    assert set(shown) == {"a", "b"} and shown["a"].figure is None and "no-such-curve" in shown["a"].message
    assert shown["b"].figure is None and "cannot be read" in shown["b"].message


def test_the_figure_is_inline_svg_within_its_box(cache):
    fig = curves.figure(curves.reference_curve("shallow-training-error"))
    for panel in fig["panels"]:
        for line in panel["lines"]:
            for point in line["points"].split():
                x, y = map(float, point.split(","))
                assert 0 <= x <= fig["width"] and 0 <= y <= fig["height"]
    assert curve_figure.nice_ticks(0, 93, 6) == [0, 20, 40, 60, 80, 100] and curve_figure.nice_ticks(0, 2.3, 6) == [0, 0.5, 1, 1.5, 2, 2.5]


@pytest.mark.parametrize("assignment, item", [("shallow-backprop", "q18-q21"), ("mlp-scalar-to-tensor", "q7-3"),
                                              ("ffnn-pure-numpy", "task-15")])
def test_report_and_review_page_draw_the_curve_beside_the_answer(cache, tmp_path, assignment, item):
    (result,) = make_class(tmp_path, assignment, ["ada"])
    spec = load_spec(assignment)
    answers = read_answers(result.notebook, spec.manual_items, spec.folder)
    app = ReviewApp(tmp_path, spec, "tom", write_files=False)
    try:
        pages = {"report": render_report(result, None, answers), "review": app.student_page("ada")}
    finally:
        app.book.close()
    for name, page in pages.items():
        article = re.search(rf'<article class="item" id="item-{item}".*?</article>', page, re.S).group(0)
        assert '<div class="with-curve">' in article and "<svg" in article and "<polyline" in article, name
        assert 'class="plot"' in article, f"{name}: the student's own plot sits in the same item"
        assert page.count('<figure class="refcurve">') == sum(bool(i.curve) for i in spec.manual_items), name
        svg = "".join(re.findall(r"<svg.*?</svg>", page, re.S))
        assert not re.search(r"<script|href=|xlink|<image|<foreignObject|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", svg, re.I)
    assert "<script" not in pages["report"]  # the report has no script at all; the review page one, pinned by hash
    assert len(re.findall(r"<script", pages["review"])) == 1


def test_reports_say_when_curves_are_off(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CURVES", "0")
    (result,) = make_class(tmp_path, "shallow-backprop", ["ada"])
    page = render_report(result)
    assert "GRADER_CURVES=0" in page and "<polyline" not in page


# ---------------------------------------------------------------- rubrics of 002 and 003

@pytest.mark.parametrize("assignment", ["digits-logreg-mlp", "ffnn-pure-numpy"])
def test_rubric_items_have_points_levels_and_find_their_cells(assignment):
    spec = load_spec(assignment)
    assert len(spec.manual_items) >= 6 and spec.manual_max > 10
    nb = nbformat.read(str(spec.folder / "solution.ipynb"), as_version=4)
    mapping = map_items(nb, spec.manual_items, handout_lines(spec.folder))
    for item in spec.manual_items:
        assert item.points > 0 and item.rubric and item.rubric[0].points == item.points and item.rubric[-1].points == 0
        assert mapping[item.id], f"{item.id}: no cell found"
        first = nb.cells[mapping[item.id][0]]
        assert first.cell_type == "markdown"


def test_answers_sit_with_their_question_in_002_and_003():
    spec = load_spec("ffnn-pure-numpy")
    nb = nbformat.read(str(spec.folder / "solution.ipynb"), as_version=4)
    mapping = map_items(nb, spec.manual_items, handout_lines(spec.folder))
    text = {key: " ".join(nb.cells[i].source for i in idx) for key, idx in mapping.items()}
    assert "About 0.9" in text["task-13"]  # the written answer opens the next cell: still Task 13's
    assert "def train(" in text["task-15"] and "Tasks 17 and 18" in text["task-18"]
    assert spec.manual_items[[i.id for i in spec.manual_items].index("task-15")].curve == "ffnn-epoch-error"
    spec = load_spec("digits-logreg-mlp")
    nb = nbformat.read(str(spec.folder / "solution.ipynb"), as_version=4)
    mapping = map_items(nb, spec.manual_items, handout_lines(spec.folder))
    text = {key: " ".join(nb.cells[i].source for i in idx) for key, idx in mapping.items()}
    assert "The worst cases are mostly" in text["worst"] and "MLPClassifier" in text["library"]
    assert "over-fits" in text["library"] and "velocity" in text["momentum"].lower()


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) if kind == "md" else nbformat.v4.new_code_cell(s) for kind, s in cells]
    return nb


def test_find_patterns_match_the_original_handouts_headings():
    """Notebooks made from the original handouts (seeds 002 and 003), not this project's notebook."""
    original_003 = _notebook([
        ("md", "**Question 1** *What are the shapes of the four computed ndarrays?*"), ("md", "They are (60000, 28, 28)..."),
        ("md", "**Task 2** *Inspect the contents of the data*"), ("code", "plt.imshow(x_train[0])"),
        ("md", "**Question 2** *Analyze the equations in terms of array shapes*"), ("md", "(784,) . (784, 128)"),
        ("md", "**Question 3** *Analyze the equations in terms of array shapes*"), ("md", "e3 is (10,)"),
        ("md", "**Task 8** *Define a function `forward_pass`*"), ("code", "def forward_pass(x): ..."),
        ("md", "**Task 10** *Define a function `backpropagation`*"), ("code", "def backpropagation(x, y): ..."),
        ("md", "**Task 13** Apply your evaluation function on the test data"), ("code", "compute_error(x, y)"),
        ("md", "**Task 15** Call your `train` function"), ("code", "train(...)"),
        ("md", "**Task 17** Modify you `train` function"), ("code", "train_batch(...)"),
        ("md", "**Task 18** *Introduce a new parameter defining the batch size*"), ("code", "for bs in (1, 32): ..."),
    ])
    original_002 = _notebook([
        ("md", "### c) Exercises\n\n#### Look at worst prediction errors\n\n- Use numpy to find test samples"), ("code", "worst = ..."),
        ("md", "#### Hyper parameters settings\n\n- Experiment with different hyper parameters"), ("code", "lr = 1"),
        ("md", "#### Mini-batches\n\n- implement the support for a second hidden layer"), ("code", "batch = 32"),
        ("md", "#### Momentum\n\n- Bonus: Implement momentum"), ("code", "v = 0"),
        ("md", "#### Back to Keras\n\n- Implement the same network architecture with Keras"), ("code", "from keras import ..."),
    ])
    for assignment, nb in (("ffnn-pure-numpy", original_003), ("digits-logreg-mlp", original_002)):
        spec = load_spec(assignment)
        mapping = map_items(nb, spec.manual_items, frozenset())  # no handout lines: the question-heading fallback
        for item in spec.manual_items:
            assert mapping[item.id], f"{assignment} {item.id}: nothing found in a notebook from the original handout"
    spec = load_spec("digits-logreg-mlp")
    mapping = map_items(original_002, spec.manual_items, frozenset())
    assert mapping["worst"][0] == 0 and mapping["library"][0] == 8
