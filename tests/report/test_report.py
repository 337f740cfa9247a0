"""The report: every section and chart per task, escaped, self-contained, rendered by Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

import lathe
from lathe.report import render_report
from lathe.report._curves import roc_curve
from lathe.report._svg import nice_ticks, tick_label

CHARTS = {
    "binary": {"leaderboard", "progress", "roc", "confusion", "importance"},
    "multiclass": {"leaderboard", "progress", "roc", "confusion", "importance"},
    "regression": {"leaderboard", "progress", "scatter", "residuals", "importance"},
}


def _data(task: str) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    rows = 200
    classes = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"]}.get(task)
    if classes:
        proba = rng.dirichlet(np.ones(len(classes)), rows)
        evaluation = {
            "classes": classes,
            "y_true": [classes[i] for i in rng.integers(0, len(classes), rows)],
            "y_pred": [classes[i] for i in proba.argmax(axis=1)],
            "proba": proba.tolist(),
        }
    else:
        truth = rng.normal(size=rows)
        evaluation = {"classes": None, "y_true": truth.tolist(), "y_pred": (truth + rng.normal(0, 0.3, rows)).tolist()}
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
        "holdout": {"roc_auc": 0.9},
        "evaluation": evaluation,
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
    data["evaluation"] = {
        "classes": ["no", "yes"],
        "y_true": truth,
        "y_pred": truth,
        "proba": [[0.8, 0.2] if t == "no" else [0.3, 0.7] for t in truth],
    }
    html = render_report(data)
    assert "yes (AUC 1.000)" in html
    assert ">50</text>" in html  # the confusion matrix's diagonal


def test_classes_missing_from_the_holdout_or_unknown_do_not_break_it() -> None:
    data = _data("multiclass")
    evaluation = data["evaluation"]
    evaluation["y_true"] = ["a" if t == "c" else t for t in evaluation["y_true"]]
    evaluation["y_pred"][0] = "unseen"
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


def _open_in_chromium(chromium: str, page_file: Path) -> tuple[list[str], list[list[float]], str]:
    """Console errors, the size of every chart, and the page's text."""
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_file.as_uri())
        boxes = page.eval_on_selector_all(
            "figure.chart svg",
            "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); return [r.width, r.height]; })",
        )
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


def test_a_trained_bundles_report_renders(tmp_path: Path, chromium_path: str, parquet_file: Path) -> None:
    lathe.train(parquet_file, target="target", budget=None, trials=3, verbose=False, out=tmp_path / "model")
    errors, boxes, text = _open_in_chromium(chromium_path, tmp_path / "model" / "report.html")
    assert errors == []
    assert len(boxes) == len(CHARTS["binary"]) + 1 + 4  # permutation, and partial dependence of 4 columns
    assert all(width > 100 and height > 50 for width, height in boxes)
    assert "customer_id" in text
    assert "identifier" in text
    assert "signup__month_sin" in text  # the features section
