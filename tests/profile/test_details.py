"""The detailed profile and its page: histograms, top values, issues, duplicate rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import sync_playwright

from lathe.backends import read_frame
from lathe.cli import main
from lathe.profile import Profile, profile_in_detail


@pytest.fixture
def detailed(table: pd.DataFrame) -> Profile:
    doubled = pd.concat([table, table.head(7)], ignore_index=True)
    return profile_in_detail(read_frame(doubled))


def test_histograms_count_every_present_value(detailed: Profile) -> None:
    amount = detailed.column("amount")
    assert len(amount.histogram) == 20
    assert sum(n for _, _, n in amount.histogram) == amount.present
    assert amount.histogram[0][0] == amount.minimum
    assert amount.histogram[-1][1] == pytest.approx(amount.maximum)


def test_quartiles_are_exact(detailed: Profile, table: pd.DataFrame) -> None:
    amounts = pd.concat([table, table.head(7)])["amount"]
    assert detailed.column("amount").quantiles == pytest.approx([amounts.quantile(q) for q in (0.25, 0.5, 0.75)])
    assert detailed.column("plan").quantiles == ()


def test_top_values_are_counted_most_frequent_first(detailed: Profile, table: pd.DataFrame) -> None:
    expected = pd.concat([table, table.head(7)])["plan"].value_counts()
    assert detailed.column("plan").top == tuple((str(k), int(v)) for k, v in expected.items())


def test_issues_and_duplicate_rows(detailed: Profile) -> None:
    assert detailed.duplicate_rows == 7
    assert detailed.column("country").issues == ("constant",)
    assert detailed.column("unused").issues == ("all missing",)
    assert detailed.column("customer_id").issues == ()  # duplicated rows: no longer unique
    assert Profile.from_dict(detailed.to_dict()) == detailed


def test_almost_constant_and_mostly_missing() -> None:
    frame = pd.DataFrame({"flag": ["a"] * 99 + ["b"], "sparse": [1.0, 2.0] * 15 + [None] * 70})
    profile = profile_in_detail(read_frame(frame))
    assert profile.column("flag").issues == ("almost constant (99.0% one value)",)
    assert profile.column("sparse").issues == ("mostly missing (70%)",)


def test_profile_command_writes_a_page_that_renders(tmp_path: Path, csv_file: Path, chromium_path: str) -> None:
    page = tmp_path / "profile.html"
    assert main(["profile", str(csv_file), "--out", str(page)]) == 0
    html = page.read_text()
    assert "Issues" in html
    assert "country</b>: constant" in html
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        view = browser.new_page()
        view.goto(page.as_uri())
        sizes = view.eval_on_selector_all(
            "figure.chart svg",
            "nodes => nodes.map(n => n.getBoundingClientRect().width * n.getBoundingClientRect().height)",
        )
        browser.close()
    assert len(sizes) == 4  # amount's histogram; plan, active and target's top values
    assert all(size > 0 for size in sizes)


def test_checks_that_read_the_content() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    x[0] = 50.0
    frame = pd.DataFrame({
        "zip": [f"{1000 + i % 50}" for i in range(200)],
        "mixed": [str(i) if i % 3 else f"v{i}" for i in range(200)],
        "day": [f"2024-01-{1 + i % 28:02d}" for i in range(200)],
        "x": x,
        "x_again": x,
        "plan": ["Basic", "basic", "pro", "Pro "] * 50,
    })  # fmt: skip
    issues = {c.name: c.issues for c in profile_in_detail(read_frame(frame)).columns}
    assert issues["zip"] == ("numbers stored as text",)
    assert issues["mixed"] == ("identifier-like: unique per row", "mixed types: 66% of the values are numbers")
    assert issues["day"] == ("dates stored as text",)
    assert issues["x"] == ("1 outlier (beyond 4 standard deviations)",)
    assert issues["x_again"] == ("1 outlier (beyond 4 standard deviations)", "duplicate of column x")
    assert issues["plan"] == ("2 values differ from another only in case or spaces (read as one)",)
