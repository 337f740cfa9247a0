"""The report: every section and chart per task, escaped, self-contained, rendered by Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import ViewportSize, sync_playwright
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score

import lathe
from lathe.report import bootstrap_interval, holdout_evaluation, render_report
from lathe.report._curves import roc_curve
from lathe.report._svg import nice_ticks, tick_label
from lathe.testing import mixed_table

CHARTS = {
    "binary": {"leaderboard", "progress", "roc", "confusion", "importance"},
    "multiclass": {"leaderboard", "progress", "roc", "confusion", "importance"},
    "regression": {"leaderboard", "progress", "scatter", "residuals", "importance"},
}


def _evaluation(task: str, rows: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    classes = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"]}.get(task)
    if classes:
        proba = rng.dirichlet(np.ones(len(classes)), rows)
        truth = [classes[i] for i in rng.integers(0, len(classes), rows)]
        return holdout_evaluation(task, truth, [classes[i] for i in proba.argmax(axis=1)], proba, classes)
    actual = rng.normal(size=rows)
    return holdout_evaluation(task, actual, actual + rng.normal(0, 0.3, rows))


def _data(task: str) -> dict[str, Any]:
    return {
        "title": f"target — {task}",
        "task": task,
        "target": "target",
        "created": "2026-11-25T00:00:00+00:00",
        "source": "data.parquet",
        "lathe_version": "0.1.0",
        "metric": "roc_auc",
        "data": {
            "rows": 1000, "train_rows": 800, "holdout_rows": 200,
            "columns": [
                {"name": "<script>alert(1)</script>", "semantic_type": "numeric", "missing_share": 0.1,
                 "distinct": 50, "used": True, "reason": None},
                {"name": "customer_id", "semantic_type": "identifier", "missing_share": 0.0, "distinct": 1000,
                 "used": False, "reason": "identifier: unique per row"},
            ],
        },
        "leaderboard": [
            {"rank": 1, "learner": "lightgbm", "cv_score": 0.91, "cv_std": 0.01, "fit_seconds": 1.0,
             "elapsed_seconds": 3.0, "params": {"num_leaves": 31}},
            {"rank": 2, "learner": "linear", "cv_score": 0.88, "cv_std": 0.02, "fit_seconds": 0.1,
             "elapsed_seconds": 1.0, "params": {"C": 1.0}},
        ],
        "greater_is_better": True,
        "holdout": {"roc_auc": 0.9, "log_loss": 0.3},
        "interval": {"low": 0.88, "high": 0.92, "level": 0.95, "resamples": 200, "drawn": 200, "rows": 200},
        "baseline": {"name": "class prior", "described": "gives every row the training share of each class",
                     "holdout": {"roc_auc": 0.5, "log_loss": 0.69}},
        "evaluation": _evaluation(task),
        "importance": [{"column": "amount", "importance": 0.7}, {"column": "plan", "importance": 0.3}],
        "features": [
            {"column": "amount", "transform": "number", "features": ["amount", "amount__missing"]},
            {"column": "plan", "transform": "category", "features": [f"plan={k}" for k in range(9)]},
        ],
        "dropped": [{"feature": "plan__other", "reason": "constant: the same value in every training row"}],
        "leakage": [{"column": "outcome", "finding": "predicts target almost perfectly", "fate": "left out"}],
        "notes": ["a note"],
    }  # fmt: skip


def _charts(html: str) -> set[str]:
    return set(re.findall(r'data-chart="(\w+)"', html))


@pytest.mark.parametrize("task", sorted(CHARTS))
def test_every_chart_of_the_task_is_there(task: str) -> None:
    html = render_report(_data(task))
    assert _charts(html) == CHARTS[task]
    assert html.count("<svg") == len(CHARTS[task])


def test_the_features_section_says_what_came_from_what_what_was_dropped_and_the_leaks() -> None:
    html = render_report(_data("binary"))
    section = html[html.index("<h2>Features</h2>") :]

    assert "amount, amount__missing" in section
    assert "plan=0, plan=1, plan=2, plan=3, plan=4, plan=5, ... 3 more" in section
    assert "Dropped as redundant" in section
    assert "<td>plan__other</td><td>constant: the same value in every training row</td>" in section
    assert "Suspected label leaks" in section
    assert "predicts target almost perfectly" in section


def test_text_is_escaped() -> None:
    html = render_report(_data("binary"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_nothing_is_fetched_from_elsewhere() -> None:
    html = render_report(_data("binary"))
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<link" not in html
    assert "<script" not in html


def test_missing_optional_parts_do_not_break_it() -> None:
    data = _data("regression")
    del data["notes"]
    data["importance"] = []
    html = render_report(data)
    assert "No importance available" in html


@pytest.mark.parametrize(
    ("positive", "scores", "auc"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], 0.0),
        ([0, 1, 0, 1], [0.1, 0.4, 0.45, 0.8], 0.75),
        ([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5),
    ],
)
def test_roc_auc(positive: list[int], scores: list[float], auc: float) -> None:
    assert roc_curve(np.array(positive, dtype=bool), np.array(scores))[2] == pytest.approx(auc)


def test_a_perfect_model_shows_auc_one() -> None:
    data = _data("binary")
    truth = ["no", "yes"] * 50
    proba = np.array([[0.8, 0.2] if t == "no" else [0.3, 0.7] for t in truth])
    data["evaluation"] = holdout_evaluation("binary", truth, truth, proba, ["no", "yes"])
    html = render_report(data)
    assert "yes (AUC 1.0000)" in html
    assert ">50</text>" in html  # the confusion matrix's diagonal


def test_classes_missing_from_the_holdout_or_unknown_do_not_break_it() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), 200)
    truth = [["a", "b"][i] for i in rng.integers(0, 2, 200)]  # no c
    predicted = [["a", "b", "c"][i] for i in proba.argmax(axis=1)]
    predicted[0] = "unseen"
    data = _data("multiclass")
    data["evaluation"] = holdout_evaluation("multiclass", truth, predicted, proba, ["a", "b", "c"])
    html = render_report(data)
    assert _charts(html) == CHARTS["multiclass"]
    assert "c (AUC" not in html
    assert "a (AUC" in html
    assert ">unseen</text>" in html


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-0.92, 1.13, [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]),
        (0.0, 3.0, [0.0, 1.0, 2.0, 3.0]),
        (5.0, 5.0, [5.0, 5.2, 5.4, 5.6, 5.8, 6.0]),
    ],
)
def test_ticks_are_round(low: float, high: float, ticks: list[float]) -> None:
    assert nice_ticks(low, high, integer=high == 3.0) == ticks


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [(0.4, 0.2, "0.4"), (-0.0, 0.5, "0.0"), (1500.0, 500.0, "1,500"), (300000.0, 100000.0, "300k"), (2e6, 1e6, "2M")],
)
def test_tick_labels(value: float, step: float, label: str) -> None:
    assert tick_label(value, step) == label


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREEN: ViewportSize = {"width": 1280, "height": 800}


def _open_in_chromium(chromium: str, page_file: Path) -> tuple[list[str], list[list[float]], str]:
    """Console errors, the size of every chart, and the page's text with every fold opened."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_file.as_uri())
        boxes = page.eval_on_selector_all(
            "figure.chart svg",
            "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        page.eval_on_selector_all("details", "folds => folds.forEach(d => { d.open = true; })")
        text = page.inner_text("body")
        page.screenshot(path=str(page_file.with_suffix(".png")), full_page=True)
        browser.close()
    assert page_file.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return errors, boxes, text


@pytest.mark.parametrize("task", sorted(CHARTS))
def test_renders_in_chromium(tmp_path: Path, chromium_path: str, task: str) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(render_report(_data(task)))
    errors, boxes, text = _open_in_chromium(chromium_path, page_file)
    assert errors == []
    assert len(boxes) == len(CHARTS[task])
    assert all(width > 100 and height > 50 for width, height in boxes)
    assert "lightgbm" in text
    assert "linear" in text


@pytest.fixture(scope="module")
def trained_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a binary model trained on ``mixed_table`` (a 400-row table) in three trials."""
    folder = tmp_path_factory.mktemp("trained")
    lathe.train(mixed_table(400, "binary"), target="target", budget=None, trials=3, verbose=False, out=folder / "model")
    return folder / "model" / "report.html"


def test_a_trained_bundles_report_renders(tmp_path: Path, chromium_path: str, trained_report: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_bytes(trained_report.read_bytes())
    errors, boxes, text = _open_in_chromium(chromium_path, page_file)
    assert errors == []
    assert len(boxes) == len(CHARTS["binary"]) + 1 + 4  # permutation, and partial dependence of 4 columns
    assert all(width > 100 and height > 50 for width, height in boxes)
    assert "customer_id" in text
    assert "identifier" in text
    assert "signup__month_sin" in text  # the features section


SUMMARY = ("score", "winner", "baseline", "columns")


def test_the_first_screen_gives_the_answer(tmp_path: Path, chromium_path: str, trained_report: Path) -> None:
    """At 1280 x 800 the score with its interval, the winner, the baseline and the top columns show
    without scrolling; the long tables are folded in <details>."""
    html = trained_report.read_text()
    holdout = _holdout_table(html)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        page = browser.new_page(viewport=SCREEN)
        page.goto(trained_report.as_uri())
        page.screenshot(path=str(tmp_path / "first-screen.png"))  # the viewport only: what a reader sees first
        tiles = {name: page.locator(f"#summary-{name}") for name in SUMMARY}
        boxes = {name: tile.bounding_box() for name, tile in tiles.items()}
        texts = {name: tile.inner_text() for name, tile in tiles.items()}
        warnings = page.locator("#summary-warnings").bounding_box()
        folded = page.eval_on_selector_all(
            "table", "tables => tables.map(t => [t.closest('details')?.dataset.table ?? null, t.checkVisibility()])"
        )
        browser.close()
    assert (tmp_path / "first-screen.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name, box in boxes.items():
        assert box is not None, name
        assert box["width"] > 150, name
        assert box["y"] >= 0, name
        assert box["y"] + box["height"] <= SCREEN["height"], name
    assert warnings is not None
    assert warnings["y"] < SCREEN["height"]

    score = texts["score"]
    assert "Holdout roc_auc" in score
    assert f"{holdout['roc_auc'][0]:.4f}" in score
    assert re.search(r"95% interval \d\.\d{4} to \d\.\d{4}", score)
    assert texts["winner"].splitlines()[1] in {"linear", "lightgbm", "xgboost", "catboost", "blend"}
    assert "class prior" in texts["baseline"]
    assert "0.5000" in texts["baseline"]  # a constant score ranks nothing: ROC AUC one half
    assert texts["columns"].count("%") == 5  # five raw columns with their share
    assert "amount" in texts["columns"]

    assert sorted(name for name, _ in folded if name) == ["columns", "dropped", "features", "leaderboard"]
    assert not any(visible for name, visible in folded if name)  # folded: not drawn until opened
    assert [visible for name, visible in folded if not name] == [True]  # the holdout metrics; no leak here


def _holdout_table(html: str) -> dict[str, list[float]]:
    """The holdout table's rows: metric to its numbers (model, then the baseline)."""
    body = html[html.index("<h2>On the holdout</h2>") :]
    body = body[: body.index("</table>")]
    rows = re.findall(r"<tr[^>]*><td>(\w+)</td>(.*?)</tr>", body)
    return {name: [float(v) for v in re.findall(r'<td class="num">(-?\d+\.\d+)</td>', cells)] for name, cells in rows}


def test_the_trained_reports_figures_agree_with_its_table(trained_report: Path) -> None:
    html = trained_report.read_text()
    holdout_rows = int(re.search(r"on the (\d+) rows the search never saw", html)[1])  # type: ignore[index]
    auc = re.findall(r"yes \(AUC (\d\.\d{4})\)", html)
    assert auc == [f"{_holdout_table(html)['roc_auc'][0]:.4f}"]
    cells = re.findall(r"actual \w+, predicted \w+: (\d+)</title>", html)
    assert len(cells) == 4
    assert sum(int(c) for c in cells) == holdout_rows
    assert f"All {holdout_rows:,} holdout rows" in html


def test_curves_and_matrices_count_every_holdout_row() -> None:
    """The table's ROC AUC (scikit-learn's) is the chart's, however many rows the holdout has."""
    rng = np.random.default_rng(3)
    rows = 12_000
    truth = rng.integers(0, 2, rows)
    positive = np.clip(0.3 * truth + rng.normal(0.35, 0.2, rows), 0, 1)
    proba = np.c_[1 - positive, positive]
    labels = np.array(["no", "yes"])
    evaluation = holdout_evaluation("binary", labels[truth], labels[proba.argmax(axis=1)], proba, ["no", "yes"])
    assert evaluation["rows"] == rows
    assert sum(map(sum, evaluation["confusion"]["counts"])) == rows
    assert evaluation["roc"][0]["auc"] == pytest.approx(roc_auc_score(truth, positive), abs=1e-12)
    assert len(evaluation["roc"][0]["fpr"]) <= 400  # only the points drawn are thinned

    data = _data("binary") | {"evaluation": evaluation}
    html = render_report(data)
    assert f"yes (AUC {roc_auc_score(truth, positive):.4f})" in html
    assert "All 12,000 holdout rows by actual class" in html


def test_a_sampled_scatter_says_so_and_the_residuals_count_every_row() -> None:
    rng = np.random.default_rng(4)
    truth = rng.normal(size=12_000)
    evaluation = holdout_evaluation("regression", truth, truth + rng.normal(0, 0.3, 12_000), points=5000)
    assert len(evaluation["points"]["actual"]) == 5000
    assert sum(evaluation["residuals"]["counts"]) == 12_000
    html = render_report(_data("regression") | {"evaluation": evaluation})
    assert "One point for each of a random 5,000 of the 12,000 holdout rows" in html
    assert "The errors of all 12,000 holdout rows" in html


def test_every_candidate_is_a_point_on_the_score_over_time_chart() -> None:
    data = _data("binary")
    data["leaderboard"] = [
        {"rank": rank, "learner": "lightgbm", "cv_score": 0.95 - 0.01 * rank, "cv_std": 0.01, "fit_seconds": 1.0,
         "elapsed_seconds": float(second), "params": {}}
        for rank, second in zip(range(1, 8), [9, 2, 5, 1, 7, 3, 4], strict=True)
    ]  # fmt: skip
    html = render_report(data)
    chart = html[html.index('data-chart="progress"') :]
    chart = chart[: chart.index("</svg>")]
    dots = chart[chart.index('<g data-series="each candidate">') :]
    dots = dots[: dots.index("</g>")]
    tips = re.findall(r"<circle [^>]*><title>#(\d) lightgbm: (\d\.\d{4}) at", dots)
    assert sorted(rank for rank, _ in tips) == [str(r) for r in range(1, 8)]
    assert {score for _, score in tips} == {f"{0.95 - 0.01 * r:.4f}" for r in range(1, 8)}
    assert chart.count("<polyline") == 1  # the best so far


def test_the_summary_gives_the_answer_before_anything_else() -> None:
    html = render_report(_data("binary"))
    first = html.index('id="summary"')
    assert first < html.index("<h2>")
    assert "0.9000" in html[first:]
    assert "0.8800 to 0.9200" in html[first:]
    assert "Beats the class prior" in html
    assert "+0.4000" in html
    assert "Best linear candidate: 0.8800 cross-validated (winner 0.9100)" in html
    assert html.index("<li>a note</li>") < html.index("<h2>On the holdout</h2>")


def test_a_loss_is_compared_with_the_baseline_as_a_share() -> None:
    data = _data("multiclass") | {"metric": "log_loss", "greater_is_better": False}
    html = render_report(data)
    assert "Holdout log_loss (lower is better)" in html
    assert "56.5% lower" in html  # 0.3 against 0.69

    data["baseline"]["holdout"]["log_loss"] = 0.2
    assert "50.0% higher" in render_report(data)
    assert "Does not beat the class prior" in render_report(data)


def test_without_a_holdout_the_summary_quotes_the_cross_validated_score() -> None:
    data = _data("binary") | {"holdout": {}, "interval": None, "baseline": None, "evaluation": {}}
    html = render_report(data)
    assert "Cross-validated roc_auc" in html
    assert "No rows were held out" in html


def test_the_bootstrap_interval_holds_the_score_and_narrows_with_rows() -> None:
    rng = np.random.default_rng(5)

    def interval(rows: int) -> dict[str, Any]:
        truth = rng.integers(0, 2, rows)
        score = np.clip(0.3 * truth + rng.normal(0.35, 0.2, rows), 0, 1)
        found = bootstrap_interval(lambda picked: float(roc_auc_score(truth[picked], score[picked])), rows)
        assert found is not None
        assert found["low"] < roc_auc_score(truth, score) < found["high"]
        return found

    small, large = interval(500), interval(50_000)  # the large one resamples 5,000 rows, the spread scaled
    assert large["drawn"] == 5000
    assert large["rows"] == 50_000
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 5


def test_no_interval_where_the_metric_cannot_be_resampled() -> None:
    one_class = np.zeros(40, dtype=int)
    assert bootstrap_interval(lambda picked: float(roc_auc_score(one_class[picked], one_class[picked])), 1) is None
    with pytest.warns(UndefinedMetricWarning, match="Only one class"):  # and is nan
        roc_auc_score(one_class, one_class)
    assert bootstrap_interval(lambda picked: float(roc_auc_score(one_class[picked], one_class[picked])), 40) is None
