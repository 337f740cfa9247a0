"""Batch scoring: chunks scored in parallel, Parquet parts that record the model, resuming after a crash."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lathe
from lathe import backends, batch
from lathe.batch import BATCH_FILE, score
from lathe.errors import BundleNotFoundError, InvalidParameterError, SchemaMismatchError, SourceNotFoundError
from lathe.registry import Registry
from lathe.testing import mixed_table
from lathe.workflows import fingerprint


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved bundle: binary, with an id column."""
    folder = tmp_path_factory.mktemp("bundle") / "late"
    lathe.train(mixed_table(200), target="target", trials=1, verbose=False).save(folder)
    return folder


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _expected(bundle: Path, sources: list[Path]) -> pd.DataFrame:
    """What ``lathe predict`` gives for each source whole, one after the other."""
    return pd.concat([lathe.predict(bundle, source) for source in sources], ignore_index=True)


def _parts(out: Path) -> dict[str, tuple[int, int]]:
    """Each part's name, and its inode and modification time: a part written again changes them."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.glob("part-*.parquet"))}


def _check_complete(out: Path, expected: pd.DataFrame) -> None:
    scored = pd.read_parquet(out)  # the parts in name order; _batch.json is skipped (it starts with "_")
    pd.testing.assert_frame_equal(scored, expected)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no partial file left
    record = json.loads((out / BATCH_FILE).read_text())
    assert (record["rows"], record["parts"]) == (len(expected), len(_parts(out)))
    assert record["finished"] is not None


def test_files_are_scored_in_parallel_chunks_and_the_parts_together_equal_predict(
    tmp_path: Path, bundle_folder: Path
) -> None:
    sources = [
        _write(mixed_table(1100, seed=1), tmp_path / "2014-01.parquet"),
        _write(mixed_table(900, seed=2), tmp_path / "2014-02.parquet"),
        _write(mixed_table(700, seed=3), tmp_path / "2014-03.csv"),
    ]

    result = score(bundle_folder, sources, tmp_path / "scored", chunk_rows=250, workers=2)

    assert (result.rows, result.parts, result.skipped) == (2700, 5 + 4 + 3, 0)
    assert result.model == str(bundle_folder)
    names = list(_parts(tmp_path / "scored"))
    assert names[:6] == [*(f"part-00000-{k:06d}.parquet" for k in range(5)), "part-00001-000000.parquet"]
    assert [pq.read_metadata(tmp_path / "scored" / n).num_rows for n in names[:5]] == [250, 250, 250, 250, 100]
    _check_complete(tmp_path / "scored", _expected(bundle_folder, sources))


def test_a_registry_version_is_recorded_in_every_part(tmp_path: Path, bundle_folder: Path) -> None:
    source = _write(mixed_table(450, seed=4), tmp_path / "rows.parquet")
    registry = Registry(tmp_path / "registry")
    registry.add(bundle_folder, "late")
    version = registry.add(bundle_folder, "late")
    registry.promote("late", 2, "production")

    result = score("late", [source], tmp_path / "scored", chunk_rows=200, workers=1, registry=tmp_path / "registry")

    assert result.model == "late version 2"
    for k, path in enumerate(sorted((tmp_path / "scored").glob("part-*.parquet"))):
        recorded = {key.decode(): value.decode() for key, value in pq.read_schema(path).metadata.items()}
        assert recorded["lathe.model_name"] == "late"
        assert recorded["lathe.model_version"] == "2"
        assert recorded["lathe.manifest_sha256"] == version.manifest_sha256
        assert recorded["lathe.source"] == str(source.resolve())
        assert recorded["lathe.first_row"] == str(200 * k)
    assert json.loads((tmp_path / "scored" / BATCH_FILE).read_text())["model_version"] == 2
    _check_complete(tmp_path / "scored", _expected(bundle_folder, [source]))


_SLOW_BATCH = """
import sys, time
import lathe.bundle

predict = lathe.bundle.Bundle.predict


def slow(self, frame):
    time.sleep(0.2)
    return predict(self, frame)


lathe.bundle.Bundle.predict = slow  # so that the run is surely killed half way
from lathe.batch import score

score(sys.argv[1], [sys.argv[2]], sys.argv[3], chunk_rows=50, workers=1)
"""


def test_a_killed_run_resumes_without_writing_the_finished_parts_again(tmp_path: Path, bundle_folder: Path) -> None:
    source = _write(mixed_table(2000, seed=5), tmp_path / "rows.parquet")
    out = tmp_path / "scored"
    command = [sys.executable, "-c", _SLOW_BATCH, str(bundle_folder), str(source), str(out)]
    run = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(out.glob("part-*.parquet"))) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    _, errors = run.communicate()
    assert run.returncode == -signal.SIGKILL, errors.decode()
    before = _parts(out)
    assert 3 <= len(before) < 40

    result = score(bundle_folder, [source], out, chunk_rows=50, workers=1)

    assert (result.skipped, result.parts, result.rows) == (len(before), 40 - len(before), 2000 - 50 * len(before))
    assert {name: stat for name, stat in _parts(out).items() if name in before} == before
    _check_complete(out, _expected(bundle_folder, [source]))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_that_fails_on_bad_rows_keeps_its_parts_and_resumes_once_they_are_fixed(
    tmp_path: Path, bundle_folder: Path, workers: int
) -> None:
    rows = mixed_table(1000, seed=6)
    rows["amount"] = rows["amount"].map(lambda x: "" if pd.isna(x) else f"{x:.3f}")  # numbers written as text
    rows.loc[650, "amount"] = "twelve"
    source = _write(rows, tmp_path / "rows.parquet")
    out = tmp_path / "scored"

    with pytest.raises(
        SchemaMismatchError, match=r"rows 600 to 799, numbered from 0 below: column 'amount' must hold number"
    ):
        score(bundle_folder, [source], out, chunk_rows=200, workers=workers)
    before = _parts(out)  # in parallel, the chunk after the bad one may have been written too
    assert set(before) - {"part-00000-000004.parquet"} == {f"part-00000-{k:06d}.parquet" for k in range(3)}
    assert json.loads((out / BATCH_FILE).read_text())["finished"] is None

    rows.loc[650, "amount"] = "12"
    _write(rows, source)
    result = score(bundle_folder, [source], out, chunk_rows=200, workers=workers)

    assert (result.skipped, result.parts) == (len(before), 5 - len(before))
    assert {name: _parts(out)[name] for name in before} == before
    _check_complete(out, _expected(bundle_folder, [source]))


def test_a_rerun_that_is_not_the_same_run_is_refused(tmp_path: Path, bundle_folder: Path) -> None:
    rows = mixed_table(300, seed=7)
    first, second = _write(rows, tmp_path / "a.parquet"), _write(rows, tmp_path / "b.parquet")
    out = tmp_path / "scored"
    score(bundle_folder, [first], out, chunk_rows=100, workers=1)
    before = _parts(out)

    with pytest.raises(InvalidParameterError, match=r"chunk size \(--chunk-rows\): 100 then, 50 now.*another --out"):
        score(bundle_folder, [first], out, chunk_rows=50, workers=1)
    with pytest.raises(InvalidParameterError, match=r"the sources: \[.*a\.parquet\] then, \[.*b\.parquet\] now"):
        score(bundle_folder, [second], out, chunk_rows=100, workers=1)
    other = tmp_path / "other-model"
    lathe.train(mixed_table(100, seed=8), target="target", trials=1, verbose=False).save(other)
    with pytest.raises(InvalidParameterError, match=r"the model: .*late .*then, .*other-model .*now"):
        score(other, [first], out, chunk_rows=100, workers=1)
    rows.loc[10, "plan"] = "pro" if rows.loc[10, "plan"] != "pro" else "basic"
    _write(rows, first)
    with pytest.raises(InvalidParameterError, match=r"not the rows that part-00000-000000\.parquet was scored from"):
        score(bundle_folder, [first], out, chunk_rows=100, workers=1)
    assert _parts(out) == before


class _Uneven:
    """An Ibis table's stand-in whose engine hands out batches of any size it likes."""

    def __init__(self, frame: pd.DataFrame, sizes: list[int]) -> None:
        self.table, self.sizes = pa.Table.from_pandas(frame, preserve_index=False), sizes

    def to_pyarrow_batches(self, chunk_size: int) -> Iterator[pa.RecordBatch]:
        start = 0
        for size in self.sizes:
            yield from self.table.slice(start, size).to_batches()
            start += size


def test_chunks_line_up_whatever_the_sizes_of_the_engines_batches() -> None:
    frame = mixed_table(23, seed=12)

    chunks = list(backends.chunks(_Uneven(frame, [3, 7, 0, 1, 9, 3]), 5, "uneven"))

    assert [(first, chunk.num_rows) for first, chunk in chunks] == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 3)]
    pd.testing.assert_frame_equal(pd.concat([c.to_pandas() for _, c in chunks], ignore_index=True), frame)
    sent = pa.ipc.open_stream(batch._to_ipc(chunks[1][1])).read_all()  # as a worker gets it: the same digest
    assert fingerprint(sent.to_pandas()) == fingerprint(chunks[1][1].to_pandas()) == fingerprint(frame[5:10])


def test_a_folder_that_is_not_a_batch_run_is_never_written_into(tmp_path: Path, bundle_folder: Path) -> None:
    source = _write(mixed_table(100, seed=9), tmp_path / "rows.parquet")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")

    with pytest.raises(InvalidParameterError, match="not a lathe batch run; choose another --out"):
        score(bundle_folder, [source], out, workers=1)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_bad_arguments_fail_before_anything_is_written(tmp_path: Path, bundle_folder: Path) -> None:
    source = _write(mixed_table(100, seed=10), tmp_path / "rows.parquet")
    with pytest.raises(SourceNotFoundError, match=r"missing\.parquet: no such file"):
        score(bundle_folder, [source, tmp_path / "missing.parquet"], tmp_path / "out")
    with pytest.raises(InvalidParameterError, match="chunk_rows must be"):
        score(bundle_folder, [source], tmp_path / "out", chunk_rows=0)
    with pytest.raises(BundleNotFoundError, match="no registry at"):
        score("nosuchmodel", [source], tmp_path / "out", registry=tmp_path / "nowhere")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def postgres_table(postgres_uri: str) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """A table of rows to score in the local PostgreSQL."""
    rows = mixed_table(600, seed=11)
    connection = ibis.connect(postgres_uri)
    connection.create_table("lathe_batch_rows", pa.Table.from_pandas(rows), overwrite=True)
    yield postgres_uri, "lathe_batch_rows", rows
    connection.drop_table("lathe_batch_rows", force=True)
    connection.disconnect()


def test_a_postgresql_table_is_scored_in_chunks(
    tmp_path: Path, bundle_folder: Path, postgres_table: tuple[str, str, pd.DataFrame]
) -> None:
    uri, table, _ = postgres_table

    result = score(bundle_folder, [uri], tmp_path / "scored", table=table, chunk_rows=250, workers=1)

    assert (result.rows, result.parts) == (600, 3)
    metadata = pq.read_schema(tmp_path / "scored" / "part-00000-000002.parquet").metadata
    assert metadata[b"lathe.table"] == table.encode()
    assert metadata[b"lathe.first_row"] == b"500"
    assert json.loads((tmp_path / "scored" / BATCH_FILE).read_text())["table"] == table
    _check_complete(tmp_path / "scored", lathe.predict(bundle_folder, uri, table=table))
