"""A child with several rows per key is aggregated per parent row, and never past the cut-off."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import lathe
from lathe.backends import open_table, to_frame
from lathe.errors import ProjectError

CUSTOMERS = pd.DataFrame({
    "customer_id": [1, 2, 3],
    "cut": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-01-01"]),
    "churned": ["yes", "no", "no"],
})  # fmt: skip
# Rows on both sides of each customer's cut-off: the ones after it (999, 777, "LATE") must never count.
CALLS = pd.DataFrame({
    "call_id": [10, 11, 12, 20, 21, 90],
    "customer_id": [1, 1, 1, 2, 2, 9],
    "at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01", "2024-01-15", "2024-05-01", "2024-01-01"]),
    "minutes": [10.0, 20.0, 999.0, 5.0, 777.0, 1.0],
    "topic": ["bill", "bill", "LATE", "tech", "LATE", "x"],
    "solved": [True, False, True, True, False, True],
})  # fmt: skip
# One level further down: notes on calls, each before or after the call it belongs to.
NOTES = pd.DataFrame({
    "call_id": [10, 10, 11, 20],
    "written": pd.to_datetime(["2023-12-31", "2024-01-02", "2024-01-20", "2024-01-10"]),
    "words": [3, 300, 7, 11],
})  # fmt: skip


def _project(folder: Path, cutoff: str | None, notes: bool = False, time: bool = True, uri: str = "") -> Path:
    sources = {"customers": CUSTOMERS, "calls": CALLS} | ({"notes": NOTES} if notes else {})
    text = ""
    for name, frame in sources.items():
        if uri:
            text += f'[sources.{name}]\nuri = "{uri}"\ntable = "lathe_{name}"\n'
        else:
            frame.to_parquet(folder / f"{name}.parquet")
            text += f'[sources.{name}]\nuri = "{name}.parquet"\n'
    text += '[[relationships]]\nparent = "customers"\nchild = "calls"\non = ["customer_id"]\n'
    text += 'time = "at"\n' if time else ""
    if notes:
        text += '[[relationships]]\nparent = "calls"\nchild = "notes"\non = ["call_id"]\ntime = "written"\n'
    text += '[target]\ntable = "customers"\ncolumn = "churned"\n' + (f'cutoff = "{cutoff}"\n' if cutoff else "")
    (folder / "project.toml").write_text(text)
    return folder / "project.toml"


def _read(project: Path) -> pd.DataFrame:
    return to_frame(open_table(str(project))[1]).set_index("customer_id")


def test_child_rows_after_the_cutoff_column_never_count(tmp_path: Path) -> None:
    frame = _read(_project(tmp_path, cutoff="cut"))

    assert frame["calls_count"].tolist() == [2, 1, 0]
    assert frame.loc[1, "calls_minutes_max"] == 20.0
    assert frame.loc[1, "calls_minutes_sum"] == 30.0
    assert frame.loc[2, "calls_minutes_mean"] == 5.0
    assert frame.loc[1, "calls_minutes_std"] == pytest.approx(np.std([10.0, 20.0], ddof=1))
    assert frame.loc[1, "calls_minutes_latest"] == 20.0
    assert frame.loc[1, "calls_topic_mode"] == "bill"
    assert frame.loc[1, "calls_topic_distinct"] == 1
    assert frame.loc[1, "calls_solved_share"] == 0.5
    assert frame.loc[1, "calls_days_since_first"] == 60.0
    assert frame.loc[1, "calls_days_since_last"] == 29.0
    assert frame.loc[3].filter(like="calls_minutes").isna().all()  # its cut-off is before every call
    assert "LATE" not in frame.to_string()
    assert "calls_customer_id_mean" not in frame.columns  # a join key is an id


def test_a_fixed_cutoff_time_applies_to_every_row(tmp_path: Path) -> None:
    frame = _read(_project(tmp_path, cutoff="2024-01-20"))

    assert frame["calls_count"].tolist() == [1, 1, 0]
    assert frame.loc[2, "calls_days_since_last"] == 5.0


def test_without_a_cutoff_every_child_row_counts(tmp_path: Path) -> None:
    frame = _read(_project(tmp_path, cutoff=None))

    assert frame["calls_count"].tolist() == [3, 2, 0]
    assert frame.loc[1, "calls_minutes_max"] == 999.0
    assert frame.loc[1, "calls_minutes_latest"] == 999.0  # the latest by time, not by position
    assert "calls_days_since_last" not in frame.columns


def test_depth_two_counts_grandchild_rows_before_the_child_row_only(tmp_path: Path) -> None:
    frame = _read(_project(tmp_path, cutoff="cut", notes=True))

    # Call 10 (2024-01-01) has one note before it (3 words; the one after it is left out), call 11 one
    # (7), call 20 one (11): customer 1's calls average 5 words of earlier notes.
    assert frame.loc[1, "calls_notes_words_sum_mean"] == 5.0
    assert frame.loc[1, "calls_notes_count_sum"] == 2
    assert frame.loc[2, "calls_notes_words_sum_max"] == 11.0
    assert "calls_call_id_mean" not in frame.columns  # the key of calls to notes: an id


def test_a_cutoff_needs_the_childs_time(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="calls has several rows per customer_id but no time"):
        open_table(str(_project(tmp_path, cutoff="cut", time=False)))
    with pytest.raises(ProjectError, match="is neither a column of customers nor a time"):
        open_table(str(_project(tmp_path, cutoff="when")))


# A lookup with a time: each customer's account manager, assigned at some date; one customer's
# assignment comes after its cut-off and must not be joined (customer 2: "Bo", 2024-04-01).
MANAGERS = pd.DataFrame({
    "customer_id": [1, 2, 3],
    "assigned": pd.to_datetime(["2024-01-01", "2024-04-01", "2023-06-01"]),
    "manager": ["Ann", "Bo", "Cy"],
})  # fmt: skip


def _lookup_project(folder: Path, cutoff: str | None, time: bool = True, uri: str = "") -> Path:
    sources = ""
    for name, frame in (("customers", CUSTOMERS), ("managers", MANAGERS)):
        if uri:
            sources += f'[sources.{name}]\nuri = "{uri}"\ntable = "lathe_{name}"\n'
        else:
            frame.to_parquet(folder / f"{name}.parquet")
            sources += f'[sources.{name}]\nuri = "{name}.parquet"\n'
    (folder / "project.toml").write_text(
        sources
        + '[[relationships]]\nparent = "customers"\nchild = "managers"\non = ["customer_id"]\n'
        + ('time = "assigned"\n' if time else "")
        + '[target]\ntable = "customers"\ncolumn = "churned"\n'
        + (f'cutoff = "{cutoff}"\n' if cutoff else "")
    )
    return folder / "project.toml"


def test_a_lookup_after_the_cutoff_is_not_joined(tmp_path: Path) -> None:
    frame = _read(_lookup_project(tmp_path, cutoff="cut"))
    assert frame["managers_manager"].fillna("-").tolist() == ["Ann", "-", "Cy"]
    assert frame.loc[1, "managers_assigned"] == pd.Timestamp("2024-01-01")
    assert pd.isna(frame.loc[2, "managers_assigned"])
    fixed = _read(_lookup_project(tmp_path, cutoff="2023-12-01"))
    assert fixed["managers_manager"].fillna("-").tolist() == ["-", "-", "Cy"]


def test_a_lookup_without_a_time_or_a_cutoff_is_joined_whatever_its_time(tmp_path: Path) -> None:
    for project in (_lookup_project(tmp_path, cutoff="cut", time=False), _lookup_project(tmp_path, cutoff=None)):
        assert _read(project)["managers_manager"].tolist() == ["Ann", "Bo", "Cy"]


@pytest.fixture
def postgres(postgres_uri: str) -> Iterator[str]:
    """PostgreSQL holding the four tables."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        connection = ibis.connect(postgres_uri)
    tables = {"customers": CUSTOMERS, "calls": CALLS, "notes": NOTES, "managers": MANAGERS}
    for name, frame in tables.items():
        connection.create_table(f"lathe_{name}", pa.Table.from_pandas(frame), overwrite=True)
    yield postgres_uri
    for name in tables:
        connection.drop_table(f"lathe_{name}", force=True)
    connection.disconnect()


def test_aggregates_run_in_the_database_that_holds_the_tables(postgres: str, tmp_path: Path) -> None:
    project = _project(tmp_path, cutoff="cut", notes=True, uri=postgres)

    where, rows = open_table(str(project))
    frame = to_frame(rows).set_index("customer_id")
    expected = _read(_project(tmp_path, cutoff="cut", notes=True))

    assert "joined in postgresql" in where
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False, check_index_type=False)


def test_a_lookup_is_cut_off_in_the_database_that_holds_the_tables(postgres: str, tmp_path: Path) -> None:
    where, rows = open_table(str(_lookup_project(tmp_path, cutoff="cut", uri=postgres)))
    frame = to_frame(rows).set_index("customer_id").sort_index()

    assert "joined in postgresql" in where
    assert frame["managers_manager"].fillna("-").tolist() == ["Ann", "-", "Cy"]


def test_a_model_trains_on_the_aggregates(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"customer_id": range(300), "cut": pd.Timestamp("2024-06-01")})
    calls = pd.DataFrame({
        "customer_id": rng.integers(0, 300, 3000),
        "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 3000), unit="D"),
    })  # fmt: skip
    early = calls[calls["at"] < pd.Timestamp("2024-06-01")].groupby("customer_id").size()
    score = customers["customer_id"].map(early).fillna(0) + rng.normal(0, 2, 300)  # noisy: not a leak
    customers["churned"] = np.where(score > score.median(), "yes", "no")
    customers.to_parquet(tmp_path / "customers.parquet")
    calls.to_parquet(tmp_path / "calls.parquet")
    (tmp_path / "p.toml").write_text(
        '[sources.customers]\nuri = "customers.parquet"\n[sources.calls]\nuri = "calls.parquet"\n'
        '[[relationships]]\nparent = "customers"\nchild = "calls"\non = ["customer_id"]\ntime = "at"\n'
        '[target]\ntable = "customers"\ncolumn = "churned"\ncutoff = "cut"\n'
    )

    bundle = lathe.train(tmp_path / "p.toml", trials=2, verbose=False)

    assert "calls_count" in bundle.plan.feature_names
    assert bundle.manifest["metrics"]["holdout"]["roc_auc"] > 0.75
