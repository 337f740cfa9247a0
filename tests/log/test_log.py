"""The prediction log in DuckDB: its columns, batches, personal data and refusals."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

import duckdb
import pytest

from lathe.backends import fetch, to_frame
from lathe.errors import InvalidParameterError, SchemaMismatchError, SourceAccessError
from lathe.log import Log, checksum, read
from lathe.testing import mixed_table, small_bundle
from tests.log.conftest import EMAILS, PHONES, logged, personal_table


@pytest.fixture(scope="module")
def bundle():  # type: ignore[no-untyped-def]
    return small_bundle("binary")


def test_rows_and_frames_are_logged_in_the_fixed_columns(tmp_path: Path, bundle) -> None:  # type: ignore[no-untyped-def]
    table = mixed_table(40, "binary")
    rows = table.drop(columns=["target"]).head(3).to_dict("records")
    with Log(str(tmp_path / "log.duckdb")).writer(bundle, "late", 3) as writer:
        writer.append(bundle.predict(table), table)
        writer.append(bundle.predict_rows(rows), rows)
    logged = read(str(tmp_path / "log.duckdb"))
    names = [*logged.columns]
    inputs = [c.name for c in bundle.plan.inputs if c.name != "customer_id"]
    assert names == ["logged_at", "model", "version", "model_checksum", "customer_id", *inputs,
                     "prediction", "probability_no", "probability_yes"]  # fmt: skip
    frame = to_frame(logged)
    assert len(frame) == 43
    assert set(frame["model"]) == {"late"}
    assert set(frame["version"]) == {3}
    assert set(frame["model_checksum"]) == {checksum(bundle)}
    expected = bundle.predict(table)
    assert frame["prediction"].head(40).tolist() == expected["prediction"].tolist()
    assert frame["probability_yes"].head(40).to_numpy() == pytest.approx(expected["probability_yes"].to_numpy())
    assert frame["customer_id"].tail(3).tolist() == [str(r["customer_id"]) for r in rows]
    assert frame["amount"].tail(3).tolist() == pytest.approx([r["amount"] for r in rows], nan_ok=True)


def test_a_regression_model_logs_a_number(tmp_path: Path) -> None:
    bundle = small_bundle("regression", rounds=5)
    table = mixed_table(20, "regression")
    with Log(f"duckdb:///{tmp_path / 'log.duckdb'}").writer(bundle, "price", None, batch_rows=7) as writer:
        writer.append(bundle.predict(table), table)
    frame = to_frame(read(f"duckdb:///{tmp_path / 'log.duckdb'}"))
    assert frame["prediction"].to_numpy() == pytest.approx(bundle.predict(table)["prediction"].to_numpy())
    assert frame["version"].isna().all()


def test_batches_are_written_every_n_rows_off_the_caller(tmp_path: Path, bundle) -> None:  # type: ignore[no-untyped-def]
    table = mixed_table(10, "binary")
    path = tmp_path / "log.duckdb"
    writer = Log(str(path)).writer(bundle, "late", 1, batch_rows=20, every=60)
    for _ in range(3):
        writer.append(bundle.predict(table), table)
    writer.flush()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lathe_predictions").fetchone() == (30,)
    writer.close()
    assert fetch(read(str(path)).count().as_table()).column(0).to_pylist() == [30]


def test_another_layout_an_unknown_scheme_and_an_unwritable_path_are_refused(tmp_path: Path, bundle) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "log.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE lathe_predictions (a INTEGER)")
    with pytest.raises(SchemaMismatchError, match="--log-table"):
        Log(str(path)).writer(bundle, "late", 1)
    with pytest.raises(InvalidParameterError, match="DuckDB file"):
        Log("mysql://root@127.0.0.1/test")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SourceAccessError, match="does not exist"):
        Log(str(blocker / "log.duckdb")).writer(bundle, "late", 1)
    assert not (blocker / "log.duckdb").exists()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lathe_predictions").fetchone() == (0,)


def test_the_checksum_is_the_saved_manifests(tmp_path: Path, bundle) -> None:  # type: ignore[no-untyped-def]
    from lathe.bundle import load_bundle, sha256

    folder = bundle.save(tmp_path / "model")
    assert checksum(load_bundle(folder)) == sha256(folder / "manifest.json")


def test_postgresql_holds_the_same_rows(tmp_path: Path, postgres_uri: str, bundle) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    name = f"lathe_log_test_{uuid.uuid4().hex[:8]}"
    table = mixed_table(30, "binary")
    try:
        with Log(postgres_uri, name).writer(bundle, "late", 2, batch_rows=8) as writer:
            writer.append(bundle.predict(table), table)
        with Log(str(tmp_path / "log.duckdb")).writer(bundle, "late", 2) as writer:
            writer.append(bundle.predict(table), table)
        frame, same = logged(postgres_uri, name), logged(str(tmp_path / "log.duckdb"))
        assert frame.drop(columns="logged_at").equals(same.drop(columns="logged_at"))
        with psycopg.connect(postgres_uri, autocommit=True) as con:
            con.execute(f"ALTER TABLE {name} ADD COLUMN extra text")
        with pytest.raises(SchemaMismatchError, match="--log-table"):
            Log(postgres_uri, name).writer(bundle, "late", 2)
    finally:
        with psycopg.connect(postgres_uri, autocommit=True) as con:
            con.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.parametrize("key", [None, "a secret"])
def test_personal_data_is_never_written_raw(tmp_path: Path, personal_folder: Path, key: str | None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from lathe.bundle import load_bundle

    if key:
        monkeypatch.setenv("LATHE_LOG_KEY", key)
    bundle, table = load_bundle(personal_folder), personal_table(40)
    assert bundle.ids == ["email"]
    assert "phone" in [c.name for c in bundle.plan.inputs]
    path = tmp_path / "log.duckdb"
    rows = table.drop(columns="target").head(5).to_dict("records")
    with Log(str(path)).writer(bundle, "pii", 1) as writer:
        writer.append(bundle.predict(table), table)
        writer.append(bundle.predict_rows(rows), rows)
    frame = logged(str(path))
    assert "phone" not in frame.columns
    if key:
        expected = [hmac.new(key.encode(), e.encode(), hashlib.sha256).hexdigest() for e in table["email"]]
        assert frame["email"].head(40).tolist() == expected
    else:
        assert "email" not in frame.columns
    data = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("log.duckdb*") if p != path)
    for value in [*EMAILS[:40], *PHONES]:
        assert value.encode() not in data
        assert value.encode("utf-16-le") not in data
    cells = set(frame.astype(str).to_numpy().ravel())
    assert not cells & {*EMAILS, *PHONES}
