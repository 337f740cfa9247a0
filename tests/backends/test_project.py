"""Project files: a PostgreSQL table joined with a CSV trains and predicts; same-database joins run there."""

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
from lathe.backends import open_table, read_project, to_frame
from lathe.errors import ColumnNotFoundError, InvalidParameterError, ProjectError

PLANS = pd.DataFrame({"plan_id": [1, 2, 3, 4], "price": [5.0, 15.0, 30.0, 60.0], "tier": ["a", "b", "b", "c"]})


def _customers(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    plan = rng.integers(1, 5, rows)
    calls = rng.poisson(2, rows)
    price = PLANS.set_index("plan_id").loc[plan, "price"].to_numpy()
    score = price / 30 + calls / 2 + rng.normal(0, 0.4, rows)
    churned = np.where(score > np.median(score), "yes", "no")
    return pd.DataFrame({"customer_id": np.arange(rows) + 100, "plan_id": plan, "calls": calls, "churned": churned})


@pytest.fixture
def postgres(postgres_uri: str) -> Iterator[str]:
    """PostgreSQL holding ``lathe_customers`` and ``lathe_plans``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        connection = ibis.connect(postgres_uri)
    connection.create_table("lathe_customers", pa.Table.from_pandas(_customers()), overwrite=True)
    connection.create_table("lathe_plans", pa.Table.from_pandas(PLANS), overwrite=True)
    yield postgres_uri
    for name in ("lathe_customers", "lathe_plans"):
        connection.drop_table(name, force=True)
    connection.disconnect()


def _project(folder: Path, customers: str, plans: str, extra: str = "") -> Path:
    path = folder / "project.toml"
    path.write_text(f"""
[sources.customers]
{customers}
[sources.plans]
{plans}
[[relationships]]
parent = "customers"
child = "plans"
on = ["plan_id"]
{extra}
[target]
table = "customers"
column = "churned"
""")
    return path


def test_a_postgresql_table_joined_with_a_csv_trains_and_predicts(postgres: str, tmp_path: Path) -> None:
    PLANS.to_csv(tmp_path / "plans.csv", index=False)
    project = _project(tmp_path, f'uri = "{postgres}"\ntable = "lathe_customers"', 'uri = "plans.csv"')

    bundle = lathe.train(project, trials=2, verbose=False)
    scored = bundle.predict(to_frame(open_table(project)[1]))

    assert bundle.manifest["target"] == "churned"
    assert {"plans_price", "plans_tier", "calls", "plan_id"} <= {c["name"] for c in bundle.manifest["inputs"]}
    assert scored["customer_id"].tolist() == _customers()["customer_id"].tolist()
    assert bundle.manifest["metrics"]["holdout"]["roc_auc"] > 0.8


def test_the_cli_trains_and_predicts_from_a_project_file(postgres: str, tmp_path: Path) -> None:
    from lathe.cli import main

    PLANS.to_csv(tmp_path / "plans.csv", index=False)
    project = _project(tmp_path, f'uri = "{postgres}"\ntable = "lathe_customers"', 'uri = "plans.csv"')

    assert main(["train", str(project), "--trials", "1", "--out", str(tmp_path / "model")]) == 0
    assert main(["predict", str(tmp_path / "model"), str(project), "--out", str(tmp_path / "scored.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 400


def test_when_every_source_is_in_one_database_the_join_runs_there(postgres: str, tmp_path: Path) -> None:
    project = _project(
        tmp_path, f'uri = "{postgres}"\ntable = "lathe_customers"', f'uri = "{postgres}"\ntable = "lathe_plans"'
    )

    where, rows = open_table(str(project))
    sql = str(ibis.to_sql(rows))
    frame = to_frame(rows)

    assert "joined in postgresql://" in where
    assert ibis.get_backend(rows).name == "postgres"
    assert "LEFT OUTER JOIN" in sql.upper()
    assert '"lathe_plans"' in sql
    expected = _customers().merge(PLANS.add_prefix("plans_").rename(columns={"plans_plan_id": "plan_id"}), on="plan_id")
    assert frame["plans_price"].tolist() == expected["plans_price"].tolist()


def test_files_join_in_the_embedded_engine_in_the_parents_order(tmp_path: Path) -> None:
    customers = _customers()
    customers.to_parquet(tmp_path / "customers.parquet")
    PLANS.iloc[:3].to_csv(tmp_path / "plans.csv", index=False)  # plan 4 has no row: its columns stay missing
    project = _project(tmp_path, 'uri = "customers.parquet"', 'uri = "plans.csv"')

    where, rows = open_table(str(project))
    frame = to_frame(rows)

    assert "joined in the embedded DuckDB" in where
    assert frame["customer_id"].tolist() == customers["customer_id"].tolist()
    assert frame.loc[customers["plan_id"].to_numpy() == 4, "plans_price"].isna().all()
    assert list(frame.columns) == ["customer_id", "plan_id", "calls", "churned", "plans_price", "plans_tier"]


def test_source_names_are_quoted_not_pasted_into_sql(tmp_path: Path) -> None:
    _customers().to_parquet(tmp_path / "customers.parquet")
    PLANS.to_csv(tmp_path / "plans.csv", index=False)
    text = _project(tmp_path, 'uri = "customers.parquet"', 'uri = "plans.csv"').read_text()
    odd = 'pl"ans; drop table x; --'
    (tmp_path / "project.toml").write_text(
        text.replace("[sources.plans]", f"[sources.'{odd}']").replace('child = "plans"', f"child = '{odd}'")
    )

    frame = to_frame(open_table(str(tmp_path / "project.toml"))[1])

    assert f"{odd}_price" in frame.columns


def test_join_key_mistakes_are_named(tmp_path: Path) -> None:
    _customers().to_parquet(tmp_path / "customers.parquet")
    PLANS.rename(columns={"plan_id": "plan"}).to_csv(tmp_path / "plans.csv", index=False)
    project = _project(tmp_path, 'uri = "customers.parquet"', 'uri = "plans.csv"')
    with pytest.raises(ProjectError, match=r"join key of plans: 'plan_id' is not in the table\. Did you mean 'plan'"):
        open_table(str(project))

    PLANS.assign(plan_id=PLANS["plan_id"].map("p{}".format)).to_csv(tmp_path / "plans.csv", index=False)
    with pytest.raises(ProjectError, match="join key plan_id is int64 in customers but string in plans"):
        open_table(str(project))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources", "not valid TOML"),
        ('[target]\ntable = "x"\ncolumn = "y"', "needs a \\[sources\\] table"),
        (
            '[sources.a]\nuri = "a.csv"\n[target]\ntable = "b"\ncolumn = "y"',
            "table must name one of the sources \\(a\\)",
        ),
        ('[sources.a]\npath = "a.csv"\n[target]\ntable = "a"\ncolumn = "y"', "needs uri = a file"),
        (
            '[sources.a]\nuri = "a.csv"\n[sources.b]\nuri = "b.csv"\n[[relationships]]\nparent = "a"\nchild = "b"\n'
            '[target]\ntable = "a"\ncolumn = "y"',
            "relationship 1: on must list the key column",
        ),
        (
            '[sources.a]\nuri = "a.csv"\n[sources.b]\nuri = "b.csv"\n[[relationships]]\nparent = "b"\nchild = "a"\n'
            'on = "k"\n[target]\ntable = "a"\ncolumn = "y"',
            "the target table a cannot be a child",
        ),
    ],
)
def test_project_file_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "p.toml").write_text(text)

    with pytest.raises(ProjectError, match=message):
        read_project(tmp_path / "p.toml")


def test_a_target_given_besides_the_projects_must_agree(tmp_path: Path) -> None:
    project = _project(tmp_path, 'uri = "customers.parquet"', 'uri = "plans.csv"')

    with pytest.raises(InvalidParameterError, match="declares the target 'churned'"):
        lathe.train(project, target="calls", trials=1)
    with pytest.raises(InvalidParameterError, match="leave out --table and --query"):
        open_table(str(project), table="x")


def test_rows_to_score_need_no_target_and_training_names_a_missing_one(tmp_path: Path) -> None:
    _customers().to_parquet(tmp_path / "customers.parquet")
    PLANS.to_csv(tmp_path / "plans.csv", index=False)
    bundle = lathe.train(_project(tmp_path, 'uri = "customers.parquet"', 'uri = "plans.csv"'), trials=1, verbose=False)
    _customers().drop(columns="churned").head(5).to_parquet(tmp_path / "new.parquet")
    scoring = _project(tmp_path, 'uri = "new.parquet"', 'uri = "plans.csv"')

    scored = bundle.predict(to_frame(open_table(str(scoring))[1]))

    assert len(scored) == 5
    with pytest.raises(ColumnNotFoundError, match="'churned' is not in the table"):
        lathe.train(scoring, trials=1, verbose=False)
