"""Monitoring from the prediction log, on real engines: drift per window (a planted shift in the
right week), labels joined with missing and late ones, the confidence-based estimate within its
stated error, and bad input refused in one line with nothing written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from playwright.sync_api import ViewportSize, sync_playwright

from lathe import workflows
from lathe.bundle import Bundle, load_bundle
from lathe.cli import main
from lathe.log import Log, checksum

START = datetime(2026, 3, 2)  # a Monday
WEEK_ROWS = 1500


def rows(n: int, rng: np.random.Generator, shift: float = 0.0, first_id: int = 0) -> pd.DataFrame:
    """``n`` rows of the model's inputs and a target drawn from a logistic rule; ``shift`` moves amount's mean."""
    amount = rng.normal(50 + shift, 10, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    score = rng.uniform(0, 100, n)
    chance = 1 / (1 + np.exp(-((amount - 50) / 6 + 1.5 * (plan == "pro") - 0.3)))
    target = np.where(rng.random(n) < chance, "yes", "no")
    return pd.DataFrame({"flight_id": np.arange(first_id, first_id + n), "amount": amount, "plan": plan,
                         "score": score, "target": target})  # fmt: skip


def logged(bundle: Bundle, frame: pd.DataFrame, start: datetime, version: int | None = 1) -> pd.DataFrame:
    """``frame``'s rows as the prediction log holds them: scored, spread over a week from ``start``."""
    scored = bundle.predict(frame)
    seconds = np.linspace(0, 7 * 86400 - 1, len(frame))
    out = pd.DataFrame({
        "logged_at": [start + timedelta(seconds=float(s)) for s in seconds],
        "model": "late", "version": version, "model_checksum": checksum(bundle),
        "flight_id": frame["flight_id"].to_numpy(),
    })  # fmt: skip
    for column in ("amount", "plan", "score"):
        out[column] = frame[column].to_numpy()
    return pd.concat([out, scored.drop(columns=[c for c in scored.columns if c == "flight_id"])], axis=1)


def write_log(path: Path, frame: pd.DataFrame, table: str = "lathe_predictions") -> None:
    con = duckdb.connect(str(path))
    con.register("frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")
    con.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    """A bundle trained on 4,000 rows; a log of four weeks, amount moved in the third; its labels."""
    folder = tmp_path_factory.mktemp("log")
    rng = np.random.default_rng(7)
    rows(4000, rng, first_id=10**6).to_parquet(folder / "train.parquet")
    workflows.train(folder / "train.parquet", "target", trials=1, budget=None, verbose=False, out=folder / "model")
    bundle = load_bundle(folder / "model")
    weeks = [rows(WEEK_ROWS, rng, shift=8.0 if week == 2 else 0.0, first_id=week * WEEK_ROWS) for week in range(4)]
    log = pd.concat([logged(bundle, w, START + timedelta(weeks=i)) for i, w in enumerate(weeks)], ignore_index=True)
    write_log(folder / "log.duckdb", log)
    truth = pd.concat(weeks, ignore_index=True)[["flight_id", "target"]]
    return folder / "model", folder / "log.duckdb", log, truth


def labels_of(truth: pd.DataFrame) -> pd.DataFrame:
    """Labels as they come: a tenth missing in the first weeks, a few in the third, none yet in the
    fourth (late), and 50 for rows the log never held."""
    week = truth["flight_id"] // WEEK_ROWS
    keep = np.random.default_rng(1).random(len(truth)) < np.select([week < 2, week == 2], [0.9, 0.05], 0.0)
    stray = pd.DataFrame({"flight_id": np.arange(10**7, 10**7 + 50), "target": "no"})
    return pd.concat([truth[keep], stray], ignore_index=True)


def test_a_planted_shift_is_flagged_in_its_week(setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame]) -> None:
    report = workflows.monitor_log(setup[0], f"duckdb:///{setup[1]}", out=None)
    assert [w["label"] for w in report.windows] == [f"week of 2026-03-{d:02d}" for d in (2, 9, 16, 23)]
    assert [w["rows"] for w in report.windows] == [WEEK_ROWS] * 4
    assert report.drifted == ["week of 2026-03-16"], report.verdict
    moved = report.windows[2]
    assert "amount" in moved["drifted"]
    assert {"plan", "score"}.isdisjoint(moved["drifted"])
    assert "prediction" in moved["drifted"] or "probability_yes" in moved["drifted"]
    assert report.total["rows"] == 4 * WEEK_ROWS


def test_the_same_figures_from_the_log_as_from_the_table(setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame]) -> None:
    """A window's input figures are those of ``--current`` on the same rows."""
    window = workflows.monitor_log(setup[0], str(setup[1]), out=None).windows[2]
    week = setup[2].iloc[2 * WEEK_ROWS : 3 * WEEK_ROWS]
    table = workflows.monitor(setup[0], week[["amount", "plan", "score"]], out=None)
    for column in table.columns:
        [entry] = [c for c in window["columns"] if c["column"] == column["column"]]
        assert entry["measures"] == pytest.approx(column["measures"]), column["column"]


def test_labels_with_missing_and_late_ones(setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame]) -> None:
    report = workflows.monitor_log(
        setup[0], f"duckdb:///{setup[1]}", labels=labels_of(setup[3]), id_column="flight_id", out=None
    )
    assert report.performance is not None
    windows = report.performance["windows"]
    labelled = [w["labelled"] for w in windows]
    assert 0.85 * WEEK_ROWS < labelled[0] < 0.95 * WEEK_ROWS
    assert 0 < labelled[2] < 0.1 * WEEK_ROWS
    assert labelled[3] == 0
    assert [w["unlabelled"] for w in windows] == [WEEK_ROWS - n for n in labelled]
    assert windows[0]["realised"]["rows"] == labelled[0]
    assert set(windows[0]["realised"]["metrics"]) == set(load_bundle(setup[0]).manifest["metrics"]["holdout"])
    interval = windows[0]["realised"]["interval"]
    assert interval["low"] < windows[0]["realised"]["metrics"]["roc_auc"] < interval["high"]
    assert windows[3]["realised"] is None
    assert windows[3]["estimated"] is not None
    assert report.performance["awaiting"] == ["week of 2026-03-23"]
    assert report.worse == []


def test_a_concept_change_makes_its_week_worse_than_the_holdout(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame],
) -> None:  # fmt: skip
    """The second week's labels turned over for a third of its rows: its ROC AUC falls below the
    holdout's past both their noise, while the estimate, which sees no labels, does not move."""
    truth = setup[3].copy()
    second = (truth["flight_id"] // WEEK_ROWS == 1) & (np.random.default_rng(2).random(len(truth)) < 0.35)
    truth.loc[second, "target"] = np.where(truth.loc[second, "target"] == "yes", "no", "yes")
    report = workflows.monitor_log(setup[0], str(setup[1]), labels=truth, id_column="flight_id", out=None)
    assert report.worse == ["week of 2026-03-09"], report.verdict
    assert "roc_auc WORSE than the holdout's" in report.verdict
    assert report.performance is not None
    window = report.performance["windows"][1]
    assert window["realised"]["metrics"]["roc_auc"] < window["estimated"]["low"]


def test_the_estimate_is_within_its_error_of_the_realised_metric(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame],
) -> None:  # fmt: skip
    """On unshifted weeks with every label, the realised ROC AUC lies inside the CBPE estimate's interval."""
    report = workflows.monitor_log(setup[0], f"duckdb:///{setup[1]}", labels=setup[3], id_column="flight_id", out=None)
    assert report.performance is not None
    for week in (0, 1, 3):
        window = report.performance["windows"][week]
        realised, estimated = window["realised"]["metrics"]["roc_auc"], window["estimated"]
        assert estimated["low"] <= realised <= estimated["high"], (window["label"], realised, estimated)
        assert estimated["high"] - estimated["low"] < 0.1


def test_postgres_log_gives_the_same_windows_and_metrics(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame], postgres_uri: str
) -> None:  # fmt: skip
    pg = ibis.connect(postgres_uri)
    pg.create_table("lathe_log_test", pa.Table.from_pandas(setup[2], preserve_index=False), overwrite=True)
    pg.disconnect()
    labels = labels_of(setup[3])
    there = workflows.monitor_log(
        setup[0], postgres_uri, log_table="lathe_log_test", labels=labels, id_column="flight_id", out=None
    )
    here = workflows.monitor_log(setup[0], f"duckdb:///{setup[1]}", labels=labels, id_column="flight_id", out=None)
    assert there.drifted == here.drifted == ["week of 2026-03-16"]
    for a, b in zip(there.windows, here.windows, strict=True):
        assert a["overall"]["score"] == pytest.approx(b["overall"]["score"], rel=1e-9)
    assert there.performance is not None
    assert here.performance is not None
    for a, b in zip(there.performance["windows"], here.performance["windows"], strict=True):
        assert a["labelled"] == b["labelled"]
        assert (a["realised"] or {}).get("metrics") == pytest.approx((b["realised"] or {}).get("metrics"))


def test_a_log_written_by_the_writer_is_monitored(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:  # fmt: skip
    """Rows scored and appended by ``lathe.log``'s ``Writer`` come back as one window of today, labelled."""
    bundle = load_bundle(setup[0])
    fresh = rows(2000, np.random.default_rng(11), first_id=10**5)
    inputs = fresh.drop(columns=["target"])
    with Log(str(tmp_path / "written.duckdb")).writer(bundle, "late", 1) as writer:
        writer.append(bundle.predict(inputs), inputs)
    report = workflows.monitor_log(
        bundle, str(tmp_path / "written.duckdb"), by="day", labels=fresh[["flight_id", "target"]],
        id_column="flight_id", out=None,
    )  # fmt: skip
    assert [w["rows"] for w in report.windows] == [2000]
    assert report.drifted == [], report.verdict
    assert report.performance is not None
    [window] = report.performance["windows"]
    assert window["labelled"] == 2000
    estimated = window["estimated"]
    assert estimated["low"] <= window["realised"]["metrics"]["roc_auc"] <= estimated["high"]


def _refused(args: list[str], message: str, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    printed = (captured.out + captured.err).strip()
    assert message in printed, printed
    assert len(printed.splitlines()) == 1, printed
    assert not out.parent.exists()


def test_cli_exit_codes_and_bad_input(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    model, log, frame, truth = setup
    out = tmp_path / "monitor.html"
    assert main(["monitor", str(model), "--log", str(log), "--by", "week", "--out", str(out)]) == 1
    assert "DRIFT in 1 of 4 week(s), first in week of 2026-03-16: amount" in capsys.readouterr().out
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["drifted"] == ["week of 2026-03-16"]
    assert len(data["windows"]) == 4
    quiet = tmp_path / "quiet.duckdb"
    write_log(quiet, frame[frame["logged_at"] < START + timedelta(weeks=2)])
    assert main(["monitor", str(model), "--log", f"duckdb:///{quiet}", "--by", "day", "--out", str(out)]) == 0
    assert "14 day(s)" in capsys.readouterr().out
    gap = tmp_path / "gap.duckdb"  # nothing logged in the second and third weeks: shown, not measured
    write_log(
        gap,
        frame[(frame["logged_at"] < START + timedelta(weeks=1)) | (frame["logged_at"] >= START + timedelta(weeks=3))],
    )
    assert main(["monitor", str(model), "--log", str(gap), "--out", str(out)]) == 0
    assert [w["rows"] for w in json.loads(out.with_suffix(".json").read_text())["windows"]] == [
        WEEK_ROWS,
        0,
        0,
        WEEK_ROWS,
    ]
    assert out.read_text().count("no rows logged") == 2
    other = frame.assign(model="churn", model_checksum="0" * 64)
    write_log(tmp_path / "other.duckdb", other)
    write_log(tmp_path / "both.duckdb", pd.concat([frame, other.assign(version=2)], ignore_index=True))
    assert main(["monitor", str(model), "--log", str(tmp_path / "both.duckdb"), "--out", str(out)]) == 1
    assert json.loads(out.with_suffix(".json").read_text())["total"]["rows"] == len(frame)
    assert "Left out: 6,000 rows of model churn version 2" in out.read_text()
    write_log(tmp_path / "lacking.duckdb", frame.drop(columns=["plan"]))
    write_log(tmp_path / "empty.duckdb", frame.head(0))
    labels = tmp_path / "labels.parquet"
    truth.assign(flight_id=truth["flight_id"] + 10**8).to_parquet(labels)
    base = ["monitor", str(model), "--log"]
    for args, message, name in (
        ([*base, str(tmp_path / "other.duckdb")], "holds rows of model 'churn' version 1", "other"),
        ([*base, str(tmp_path / "lacking.duckdb")], "lacks the column(s) plan", "lacking"),
        ([*base, str(tmp_path / "empty.duckdb")], "holds no rows", "empty"),
        ([*base, str(log), "--labels", str(labels), "--id", "flight_id"], "none of its ids matches", "unmatched"),
        ([*base, str(log), "--labels", str(labels), "--id", "flightid"], "Did you mean 'flight_id'", "misnamed"),
        ([*base, str(log), "--labels", str(labels)], "--labels needs --id", "no-id"),
        ([*base, str(tmp_path / "absent.duckdb")], "no prediction log here", "absent"),
        ([*base, "log.csv"], "a prediction log is a DuckDB file", "csv"),
    ):
        _refused(args, message, tmp_path / name / "monitor.html", capsys)


SCREEN: ViewportSize = {"width": 1280, "height": 800}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_the_log_page_leads_with_the_verdict_and_draws_every_chart(
    setup: tuple[Path, Path, pd.DataFrame, pd.DataFrame], tmp_path: Path, chromium_path: str
) -> None:  # fmt: skip
    out = tmp_path / "monitor.html"
    report = workflows.monitor_log(
        setup[0], f"duckdb:///{setup[1]}", labels=labels_of(setup[3]), id_column="flight_id", out=out
    )
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        page = browser.new_page(viewport=SCREEN)
        page.on("request", lambda request: requested.append(request.url))
        page.goto(out.as_uri())
        verdict = page.locator("[data-verdict]")
        box, said = verdict.bounding_box(), verdict.inner_text()
        first = page.locator("section table tbody tr").first.inner_text()
        names = page.eval_on_selector_all("figure.chart", "figures => figures.map(f => f.dataset.name || f.id)")
        widths = page.eval_on_selector_all("figure.chart svg", "svgs => svgs.map(s => s.getBBox().width)")
        browser.close()
    assert box is not None
    assert box["y"] + box["height"] <= SCREEN["height"]
    assert said == report.verdict
    assert first.split()[0] == "amount"  # the column that matters most leads
    assert len(widths) == 2 + 3 + len(report.total["columns"]) + len(report.total["predictions"]), names
    assert all(width > 100 for width in widths)
    assert requested == [out.as_uri()]
