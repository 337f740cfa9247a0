"""``lathe retrain``: a challenger against the registry's champion, on real engines and a real server.

A planted concept change (the target's relation to an input flips) promotes the challenger, and a
server following the registry swaps to it under load without failing a request; unchanged data
does not promote; bad input is one line, exit 2, and nothing registered or written.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import ViewportSize, sync_playwright

import lathe
from lathe.cli import main
from lathe.registry import Registry
from lathe.retrain import retrain, warm_starts
from tests.serve.conftest import running

ROWS = 400
CLIENTS = 4
SCREEN: ViewportSize = {"width": 1280, "height": 800}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def rows(seed: int, flipped: bool = False, start: str = "2024-01-01") -> pd.DataFrame:
    """Hourly rows where ``late`` follows 2 x1 + x2 (with noise); ``flipped``: -2 x1 + x2, a concept change."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=ROWS), rng.normal(size=ROWS)
    signal = (-2.0 if flipped else 2.0) * x1 + x2 + rng.normal(scale=0.5, size=ROWS)
    when = pd.date_range(start, periods=ROWS, freq="h")
    return pd.DataFrame({"x1": x1, "x2": x2, "when": when, "late": np.where(signal > 0, "yes", "no")})


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose model ``late`` has one version, in production, trained with a time column."""
    folder = tmp_path_factory.mktemp("retrain")
    lathe.train(rows(0), target="late", time="when", trials=2, verbose=False).save(folder / "bundle")
    Registry(folder / "registry").add(folder / "bundle", "late", stage="production")
    return folder


@pytest.fixture
def registry(champion: Path, tmp_path: Path) -> Path:
    """A copy of the champion's registry, for one test to change."""
    return Path(shutil.copytree(champion / "registry", tmp_path / "registry"))


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def test_a_concept_change_promotes_the_challenger(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    data, out = write(rows(1, flipped=True, start="2024-02-01"), tmp_path / "new.parquet"), tmp_path / "retrain.html"
    args = ["retrain", "late", "--data", str(data), "--trials", "2", "--registry", str(registry), "--out", str(out)]
    assert main(args) == 1
    said = capsys.readouterr().out
    assert said.startswith("PROMOTED: late version 2 is in production, over version 1")
    catalog = Registry(registry)
    assert [(v.number, v.stage, v.parent) for v in catalog.versions("late")] == [
        (1, "archived", None), (2, "production", 1),
    ]  # fmt: skip
    figures = json.loads(out.with_suffix(".json").read_text())
    assert figures["promoted"] and figures["interval"]["low"] > 0
    assert figures["scores"]["champion"]["value"] < 0.5 < figures["scores"]["challenger"]["value"]  # roc_auc
    assert figures["holdout"]["chosen"] == "the latest 20% of the new rows by when"
    assert figures["holdout"]["rows"] == ROWS // 5
    manifest = catalog.load("late", 2).manifest
    lineage = manifest["retrain"]
    assert lineage["parent"]["version"] == 1
    assert lineage["data"]["fingerprint"] == manifest["data"]["fingerprint"]
    assert lineage["data"]["source"] == manifest["data"]["source"] == str(data)
    assert lineage["holdout"]["fingerprint"].startswith("sha256:")
    assert lineage["comparison"]["gain"] == pytest.approx(figures["gain"])
    # The comparison's held-out rows are those the challenger's own training kept back.
    assert manifest["metrics"]["holdout"] == pytest.approx(figures["scores"]["challenger"]["metrics"])


def test_unchanged_data_keeps_the_champion(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "retrain.html"
    result = retrain("late", rows(2, start="2024-02-01"), trials=2, registry=registry, out=out, verbose=False)
    assert not result.promoted
    assert result.verdict.startswith("KEPT: late version 1 stays; challenger version 2 is in staging")
    assert result.interval is not None and result.interval["low"] <= 0
    catalog = Registry(registry)
    assert [(v.number, v.stage, v.parent) for v in catalog.versions("late")] == [
        (1, "production", None), (2, "staging", 1),
    ]  # fmt: skip
    champion, challenger = catalog.load("late", 1), catalog.load("late", 2)
    starts = warm_starts(champion.leaderboard)
    tried = [(c.family, c.params) for c in sorted(challenger.leaderboard.candidates, key=lambda c: c.number)]
    assert tried[: len(starts)] == starts[:2]  # the search began from the champion's winners
    assert result.search["budget_seconds"] is None  # --trials alone: no clock


def test_a_served_model_swaps_to_the_promoted_challenger_under_load(registry: Path) -> None:
    new = rows(3, flipped=True, start="2024-02-01")
    body = {"rows": [{"x1": 1.5, "x2": 0.2, "when": "2024-03-01T00:00:00"}]}
    champion = Registry(registry).load("late", 1).predict(pd.DataFrame(body["rows"]))["probability_yes"][0]
    answers: list[tuple[int, int | None, float | None]] = []
    failures: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                try:
                    answer = client.post("/predict", json=body)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                got = answer.json() if answer.status_code == 200 else None
                answers.append(
                    (answer.status_code, got and got["model"]["version"], got and got["predictions"][0]["probability_yes"])
                )  # fmt: skip

    with running("late", "--registry", str(registry), "--poll", "0.2") as url:
        clients = [threading.Thread(target=load, args=(url,)) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            result = retrain("late", new, trials=2, registry=registry, out=None, verbose=False)
            deadline = time.monotonic() + 30
            while not answers or answers[-1][1] != 2:
                assert time.monotonic() < deadline, "the promoted challenger was not swapped in within 30 s"
                time.sleep(0.05)
            time.sleep(0.5)
        finally:
            stop.set()
            for client in clients:
                client.join()

    assert result.promoted
    challenger = Registry(registry).load("late", 2).predict(pd.DataFrame(body["rows"]))["probability_yes"][0]
    assert champion > 0.5 > challenger  # x1 = 1.5: late before the change, not after
    assert failures == []
    assert Counter(status for status, _, _ in answers) == {200: len(answers)}
    versions = Counter(version for _, version, _ in answers)
    assert versions[1] > 0 and versions[2] > 0
    expected = {1: champion, 2: challenger}
    assert all(p == pytest.approx(expected[v]) for _, v, p in answers if v is not None)


@pytest.mark.parametrize(
    ("model", "change", "message"),
    [
        ("late", lambda f: f.drop(columns="x1"), "the champion's input column 'x1' is not in the table"),
        ("late", lambda f: f.drop(columns="late"), "target 'late' is not in the table"),
        ("early", lambda f: f, "no model named 'early' in the registry"),
        ("BUNDLE", lambda f: f, "is a bundle folder, not a registered model; register it first"),
        ("late", lambda f: f.assign(late="maybe"), "are not the champion's (no, yes)"),
    ],
    ids=["missing-input", "missing-target", "unknown-name", "bundle-folder", "other-classes"],
)
def test_bad_input_is_one_line_exit_2_and_nothing_registered(
    registry: Path, champion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, change: object,
    message: str,
) -> None:  # fmt: skip
    assert callable(change)
    data = write(change(rows(4)), tmp_path / "new.parquet")
    out = tmp_path / "page" / "retrain.html"
    model = str(champion / "bundle") if model == "BUNDLE" else model
    args = ["retrain", model, "--data", str(data), "--trials", "1", "--registry", str(registry), "--out", str(out)]
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], lines
    assert set(lines) - set(errors) <= {"lathe reading the new rows"}, lines  # failed before any training
    assert [v.number for v in Registry(registry).versions("late")] == [1]
    assert not out.parent.exists()


def test_the_page_gives_the_verdict_first_and_draws_the_gain(
    registry: Path, tmp_path: Path, chromium_path: str
) -> None:  # fmt: skip
    out = tmp_path / "retrain.html"
    result = retrain("late", rows(5, start="2024-02-01"), trials=1, registry=registry, out=out, verbose=False)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        page = browser.new_page(viewport=SCREEN)
        page.on("request", lambda request: requested.append(request.url))
        page.goto(out.as_uri())
        verdict = page.locator("[data-verdict]")
        box, said = verdict.bounding_box(), verdict.inner_text()
        charts = page.eval_on_selector_all("figure.chart svg", "svgs => svgs.map(s => s.getBBox().width)")
        names = page.eval_on_selector_all("figure.chart", "figures => figures.map(f => f.dataset.chart)")
        browser.close()
    assert said == result.verdict
    assert box is not None and box["y"] + box["height"] <= SCREEN["height"]
    assert names == ["gain", "models"]
    assert all(width > 100 for width in charts)
    assert requested == [out.as_uri()]
