"""Drift of tables against a trained bundle's reference, on real engines: a planted shift is
found in the right columns, an unshifted sample raises no alarm (10k and 1M rows), and
DuckDB, PostgreSQL and SQLite give the same figures."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pytest
from playwright.sync_api import ViewportSize, sync_playwright

from lathe import workflows
from lathe.backends import open_table, to_frame
from lathe.bundle import load_bundle
from lathe.cli import main
from lathe.errors import BundleError
from lathe.testing import mixed_table

BASE = """
SELECT amount, plan, score, opened, flag,
       CASE WHEN amount + 8 * (plan = 'pro')::INT + 3 * random() > 58 THEN 'yes' ELSE 'no' END AS target
FROM (
    SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) * 10 + 50 {amount_shift} AS amount,
           CASE WHEN random() < {new_level} THEN 'enterprise'
                ELSE (['basic', 'basic', 'plus', 'pro'])[1 + floor(random() * 4)::INT] END AS plan,
           CASE WHEN random() < {missing} THEN NULL ELSE random() * 100 END AS score,
           TIMESTAMP '2024-01-01' + to_seconds((random() * 86400 * 365)::BIGINT) AS opened,
           random() < 0.3 AS flag
    FROM range({rows})
)
"""


def generate(con: duckdb.DuckDBPyConnection, name: str, rows: int, shifted: bool = False) -> None:
    """A table of ``rows`` generated inside DuckDB; ``shifted``: the mean of amount moved by half
    a standard deviation, a new level of plan in 10 % of the rows, a third of score missing."""
    sql = BASE.format(
        rows=rows, amount_shift="+ 5" if shifted else "", new_level=0.1 if shifted else 0.0,
        missing=0.33 if shifted else 0.05,
    )  # fmt: skip
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A DuckDB file of the tables below, and a bundle trained on its 5,000-row ``train``."""
    folder = tmp_path_factory.mktemp("monitor")
    path = folder / "data.duckdb"
    con = duckdb.connect(str(path))
    con.execute("SELECT setseed(0.25)")
    generate(con, "train", 5000)
    generate(con, "fresh", 10_000)
    generate(con, "moved", 10_000, shifted=True)
    con.execute(f"COPY train TO '{folder / 'train.parquet'}' (FORMAT parquet)")
    con.close()
    workflows.train(folder / "train.parquet", "target", trials=1, budget=None, verbose=False, out=folder / "model")
    return path, folder / "model"


def test_reference_is_in_the_bundle(data: tuple[Path, Path]) -> None:
    reference = load_bundle(data[1]).manifest["monitoring"]
    assert {b["name"] for b in reference["columns"]} == {"amount", "plan", "score", "opened", "flag"}
    assert [b["name"] for b in reference["predictions"]] == ["prediction", "probability_yes"]
    assert reference["chunks"]["columns"] == 20
    assert set(reference["thresholds"]["columns"]["amount"]) == {"psi", "js", "wasserstein", "missing", "unseen"}
    assert sum(reference["importance"].values()) == pytest.approx(1.0)


def test_unshifted_rows_raise_no_alarm(data: tuple[Path, Path], tmp_path: Path) -> None:
    report = workflows.monitor(data[1], f"duckdb:///{data[0]}", table="fresh", out=tmp_path / "drift.html")
    assert report.drifted == [], report.verdict
    assert report.rows == 10_000
    written = json.loads((tmp_path / "drift.json").read_text())
    assert written["drift"] is False
    assert (tmp_path / "drift.html").read_text().startswith("<!DOCTYPE html>")


def test_a_planted_shift_is_found_in_the_right_columns(data: tuple[Path, Path]) -> None:
    report = workflows.monitor(data[1], f"duckdb:///{data[0]}", table="moved", out=None)
    past = {c["column"]: set(c["past"]) for c in report.columns if c["past"]}
    assert set(past) == {"amount", "plan", "score"}, report.verdict
    assert {"psi", "js", "wasserstein"} <= past["amount"]
    assert "unseen" in past["plan"]
    assert "missing" in past["score"]
    assert report.overall["past"]


def test_one_million_rows_generated_in_duckdb(data: tuple[Path, Path], tmp_path: Path) -> None:
    path = tmp_path / "big.duckdb"
    con = duckdb.connect(str(path))
    generate(con, "fresh", 1_000_000)
    generate(con, "moved", 1_000_000, shifted=True)
    con.close()
    fresh = workflows.monitor(data[1], f"duckdb:///{path}", table="fresh", out=None)
    assert fresh.rows == 1_000_000
    assert fresh.drifted == [], fresh.verdict
    moved = workflows.monitor(data[1], f"duckdb:///{path}", table="moved", out=None)
    assert {c["column"] for c in moved.columns if c["past"]} == {"amount", "plan", "score"}


def _figures(report: workflows.DriftReport) -> dict[str, list[float]]:
    return {c["column"]: [c["measures"][k] or 0.0 for k in ("psi", "js", "wasserstein", "missing", "unseen")]
            for c in report.columns}  # fmt: skip


def test_duckdb_postgres_and_sqlite_give_the_same_figures(
    data: tuple[Path, Path], tmp_path: Path, postgres_uri: str
) -> None:  # fmt: skip
    frame = to_frame(open_table(f"duckdb:///{data[0]}", "moved")[1])
    frame["opened"] = frame["opened"].astype("datetime64[us]")
    with sqlite3.connect(tmp_path / "moved.db") as lite:
        frame.assign(opened=frame["opened"].astype(str)).to_sql(
            "moved", lite, index=False, dtype={"opened": "TIMESTAMP", "flag": "BOOLEAN"}
        )
    pg = ibis.connect(postgres_uri)
    pg.create_table("lathe_monitor_moved", pa.Table.from_pandas(frame, preserve_index=False), overwrite=True)
    pg.disconnect()
    base = _figures(workflows.monitor(data[1], f"duckdb:///{data[0]}", table="moved", out=None))
    lite_figures = _figures(workflows.monitor(data[1], f"sqlite:///{tmp_path / 'moved.db'}", table="moved", out=None))
    pg_figures = _figures(workflows.monitor(data[1], postgres_uri, table="lathe_monitor_moved", out=None))
    for name, values in base.items():
        assert lite_figures[name] == pytest.approx(values, rel=1e-9, abs=1e-12), name
        assert pg_figures[name] == pytest.approx(values, rel=1e-9, abs=1e-12), name


def test_cli_exit_codes_and_bad_input(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    uri, out = f"duckdb:///{data[0]}", tmp_path / "drift.html"
    assert main(["monitor", str(data[1]), "--current", uri, "--table", "fresh", "--out", str(out)]) == 0
    assert "no drift" in capsys.readouterr().out
    assert main(["monitor", str(data[1]), "--current", uri, "--table", "moved", "--out", str(out)]) == 1
    assert "DRIFT" in capsys.readouterr().out
    names = ("amount", "plan", "score", "prediction", "probability_yes")
    loose = ["--threshold", "overall=9"]
    for item in (f"{c}:{m}=99" for c in names for m in ("psi", "js", "wasserstein", "missing", "unseen")):
        loose += ["--threshold", item]
    assert main(["monitor", str(data[1]), "--current", uri, "--table", "moved", "--out", str(out), *loose]) == 0
    con = duckdb.connect(str(tmp_path / "bad.duckdb"))
    con.execute(f"ATTACH '{data[0]}' AS src (READ_ONLY)")
    con.execute("CREATE TABLE lacking AS SELECT amount, plan, opened, flag FROM src.fresh")
    con.execute("CREATE TABLE empty AS SELECT * FROM src.fresh LIMIT 0")
    con.close()
    bad = f"duckdb:///{tmp_path / 'bad.duckdb'}"
    for table, message in (("lacking", "lacks the column 'score'"), ("empty", "holds no rows")):
        fresh_out = tmp_path / table / "drift.html"
        capsys.readouterr()
        assert main(["monitor", str(data[1]), "--current", bad, "--table", table, "--out", str(fresh_out)]) == 2
        captured = capsys.readouterr()
        printed = (captured.out + captured.err).strip()
        assert message in printed, printed
        assert len(printed.splitlines()) == 1, printed
        assert not fresh_out.parent.exists()
    assert main(["monitor", str(data[1]), "--current", uri, "--table", "fresh", "--threshold", "amont=1"]) == 2
    assert "Did you mean 'amount'" in capsys.readouterr().err
    (tmp_path / "folder.html").mkdir()
    for wrong, message in (("drift.txt", "must end in .html"), ("folder.html", "is a folder")):
        args = ["monitor", str(data[1]), "--current", uri, "--table", "fresh", "--out", str(tmp_path / wrong)]
        assert main(args) == 2
        assert message in capsys.readouterr().err


SCREEN: ViewportSize = {"width": 1280, "height": 800}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_the_drift_page_gives_the_verdict_on_the_first_screen(
    data: tuple[Path, Path], tmp_path: Path, chromium_path: str
) -> None:  # fmt: skip
    """At 1280 x 800 the verdict and the column that matters most show without scrolling, and every
    chart is drawn (the page fetches nothing)."""
    out = tmp_path / "drift.html"
    report = workflows.monitor(data[1], f"duckdb:///{data[0]}", table="moved", out=out)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        page = browser.new_page(viewport=SCREEN)
        page.on("request", lambda request: requested.append(request.url))
        page.goto(out.as_uri())
        verdict = page.locator("[data-verdict]")
        box, said = verdict.bounding_box(), verdict.inner_text()
        first = page.locator("section table tbody tr").first
        first_box, first_text = first.bounding_box(), first.inner_text()
        charts = page.eval_on_selector_all("figure.chart svg", "svgs => svgs.map(s => s.getBBox().width)")
        browser.close()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= SCREEN["height"]
    assert said.startswith("DRIFT")
    assert said == report.verdict
    assert first_box is not None
    assert first_box["y"] + first_box["height"] <= SCREEN["height"]
    assert first_text.split()[0] == max(report.columns, key=lambda c: c["impact"])["column"]
    assert len(charts) == len(report.columns) + len(report.predictions)
    assert all(width > 100 for width in charts)
    assert requested == [out.as_uri()]


def test_a_bundle_without_a_reference_says_to_train_again(data: tuple[Path, Path]) -> None:
    bundle = load_bundle(data[1])
    old = type(bundle)(
        **{**bundle.__dict__, "manifest": {k: v for k, v in bundle.manifest.items() if k != "monitoring"}}
    )
    with pytest.raises(BundleError, match="train it again with this version of lathe"):
        workflows.monitor(old, f"duckdb:///{data[0]}", table="fresh", out=None)


def test_personal_columns_get_no_bins_even_when_kept() -> None:
    table = mixed_table(400, "binary")
    rng = np.random.default_rng(3)
    honest = np.where(table["target"] == "yes", "north.example.com", "south.example.com")
    domain = np.where(
        rng.random(len(table)) < 0.75, honest, rng.choice(["north.example.com", "south.example.com"], len(table))
    )
    table["email"] = [f"person{i % 5}@{d}" for i, d in enumerate(domain)]
    bundle = workflows.train(table, "target", trials=1, budget=None, verbose=False, keep_pii=True)
    reference = bundle.manifest["monitoring"]
    assert "email" in [c["name"] for c in bundle.manifest["inputs"]]
    assert "email" not in [b["name"] for b in reference["columns"]]
    assert reference["skipped"][0]["column"] == "email"
    assert "personal data" in reference["skipped"][0]["reason"]
    assert "example.com" not in json.dumps(reference)
