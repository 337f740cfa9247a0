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
from typing import Any

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
CLIENTS = 2
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
    lathe.train(rows(0), target="late", time="when", trials=1, verbose=False).save(folder / "bundle")
    Registry(folder / "registry").add(folder / "bundle", "late", stage="production")
    return folder


@pytest.fixture
def registry(champion: Path, tmp_path: Path) -> Path:
    """A copy of the champion's registry, for one test to change."""
    return Path(shutil.copytree(champion / "registry", tmp_path / "registry"))


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def test_a_concept_change_promotes_the_challenger_and_the_server_swaps_to_it_under_load(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], chromium_path: str
) -> None:  # fmt: skip
    data, out = write(rows(1, flipped=True, start="2024-02-01"), tmp_path / "new.parquet"), tmp_path / "retrain.html"
    args = ["retrain", "late", "--data", str(data), "--trials", "1", "--registry", str(registry), "--out", str(out)]
    body = {"rows": [{"x1": 1.5, "x2": 0.2, "when": "2024-03-01T00:00:00"}]}
    with running("late", "--registry", str(registry), "--poll", "0.2") as url, Load(url, body) as load:
        assert main(args) == 1
        load.wait_for(version=2)

    said = capsys.readouterr().out
    assert said.startswith("PROMOTED: late version 2 is in production, over version 1")
    assert page_verdict(out, chromium_path) == said.strip()
    catalog = Registry(registry)
    assert [(v.number, v.stage, v.parent) for v in catalog.versions("late")] == [
        (1, "archived", None), (2, "production", 1),
    ]  # fmt: skip
    figures = json.loads(out.with_suffix(".json").read_text())
    assert figures["promoted"]
    assert figures["interval"]["low"] > 0
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
    # The server answered every request, first with the champion and then with the challenger.
    expected = {n: catalog.load("late", n).predict(pd.DataFrame(body["rows"]))["probability_yes"][0] for n in (1, 2)}
    assert expected[1] > 0.5 > expected[2]  # x1 = 1.5: late before the change, not after
    assert load.failures == []
    assert Counter(status for status, _, _ in load.answers) == {200: len(load.answers)}
    versions = Counter(version for _, version, _ in load.answers)
    assert versions[1] > 0
    assert versions[2] > 0
    assert all(p == pytest.approx(expected[v]) for _, v, p in load.answers if v is not None)


class Load:
    """``CLIENTS`` threads posting ``body`` to the server at ``url`` until the block ends; each
    answer's status, model version and probability are kept, and each failed request."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self.url, self.body = url, body
        self.answers: list[tuple[int, int | None, float | None]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.clients = [threading.Thread(target=self.post) for _ in range(CLIENTS)]

    def __enter__(self) -> Load:
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for client in self.clients:
            client.join()

    def post(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                time.sleep(0.002)  # steady load that leaves the retraining beside it a share of the cores
                try:
                    answer = client.post("/predict", json=self.body)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                got = answer.json() if answer.status_code == 200 else None
                version, probability = (
                    (got["model"]["version"], got["predictions"][0]["probability_yes"]) if got else (None, None)
                )
                self.answers.append((answer.status_code, version, probability))

    def wait_for(self, version: int) -> None:
        """Until the server answers with ``version``, then half a second more."""
        deadline = time.monotonic() + 30
        while not self.answers or self.answers[-1][1] != version:
            assert time.monotonic() < deadline, f"version {version} was not swapped in within 30 s"
            time.sleep(0.05)
        time.sleep(0.5)


def test_unchanged_data_keeps_the_champion(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "retrain.html"
    result = retrain("late", rows(2, start="2024-02-01"), trials=1, registry=registry, out=out, verbose=False)
    assert not result.promoted
    assert result.verdict.startswith("KEPT: late version 1 stays; challenger version 2 is in staging")
    assert result.interval is not None
    assert result.interval["low"] <= 0
    catalog = Registry(registry)
    assert [(v.number, v.stage, v.parent) for v in catalog.versions("late")] == [
        (1, "production", None), (2, "staging", 1),
    ]  # fmt: skip
    champion, challenger = catalog.load("late", 1), catalog.load("late", 2)
    starts = warm_starts(champion.leaderboard)
    tried = [(c.family, c.params) for c in sorted(challenger.leaderboard.candidates, key=lambda c: c.number)]
    assert starts[0] in [(c.family, c.params) for c in champion.leaderboard.candidates]
    assert tried[0] == starts[0]  # the search began from the champion's winner
    assert result.search["budget_seconds"] is None  # --trials alone: no clock


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
    assert len(errors) == 1, lines
    assert message in errors[0], lines
    assert set(lines) - set(errors) <= {"lathe reading the new rows"}, lines  # failed before any training
    assert [v.number for v in Registry(registry).versions("late")] == [1]
    assert not out.parent.exists()


def page_verdict(out: Path, chromium_path: str) -> str:
    """The verdict on the page at ``out``, checked to show on the first screen at 1280 x 800 above
    the two charts (the gain's interval, the models' metrics), all drawn, nothing fetched."""
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
    assert box is not None
    assert box["y"] + box["height"] <= SCREEN["height"]
    assert names == ["gain", "models"]
    assert all(width > 100 for width in charts)
    assert requested == [out.as_uri()]
    return said
