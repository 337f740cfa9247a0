"""``--log`` on ``lathe serve`` and ``lathe stream`` (Redis), each a real process, and a log that
survives the process being killed (SIGKILL) mid-way: readable, holding a prefix of whole batches."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from lathe.cli import main
from lathe.testing import mixed_table
from tests.log.conftest import logged
from tests.serve.conftest import LATHE, _free_port, _wait_ready, running
from tests.stream.conftest import RedisBroker, Scorer, rows, until


def _request_rows(count: int) -> list[dict[str, object]]:
    table = mixed_table(count, "binary", seed=5).drop(columns="target")
    table["signup"] = table["signup"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return list(table.astype(object).where(table.notna(), None).to_dict("records"))


def test_serve_logs_each_row_predicted_and_explained(tmp_path: Path, bundle_folder: Path) -> None:
    log, sent = tmp_path / "log.duckdb", _request_rows(30)
    with running(str(bundle_folder), "--log", str(log), "--log-table", "served") as url:
        answers = [httpx.post(f"{url}/predict", json={"rows": sent[i : i + 10]}).json() for i in (0, 10)]
        httpx.post(f"{url}/explain", json={"rows": sent[20:]}).raise_for_status()
    frame = logged(str(log), "served")  # the server has stopped: the last rows were written at its close
    assert frame["customer_id"].tolist() == [str(row["customer_id"]) for row in sent]
    predicted = [p["prediction"] for answer in answers for p in answer["predictions"]]
    assert frame["prediction"].head(20).tolist() == predicted
    assert set(frame["model"]) == {"late"}


def test_stream_logs_each_row_it_scores(tmp_path: Path, bundle_folder: Path, redis_uri: str) -> None:
    broker = RedisBroker(redis_uri)
    log = tmp_path / "log.duckdb"
    try:
        broker.publish([*rows(40), b"not json"])
        scorer = Scorer(tmp_path / "stream.log", str(bundle_folder), "--source", broker.source(),
                        "--sink", broker.sink(), "--log", str(log))  # fmt: skip
        scorer.wait_started()
        until(lambda: broker.count() == 40, 60, "40 outputs")
        assert scorer.stop() == 0
        frame = logged(str(log))
        assert sorted(frame["customer_id"].astype(int)) == sorted(o["customer_id"] for o in broker.read())
    finally:
        broker.close()


def _whole_prefix(ids: list[int]) -> None:
    assert ids == list(range(len(ids))), "the log holds the first rows scored, in order, none missing"


def _rows_logged(log: Path) -> int:
    """The rows in the log so far (none while it is not yet made or a writer holds it)."""
    try:
        return len(logged(str(log)))
    except Exception:
        return 0


def test_a_killed_server_leaves_a_readable_log_of_whole_batches(tmp_path: Path, bundle_folder: Path) -> None:
    log, port = tmp_path / "log.duckdb", _free_port()
    command = [LATHE, "serve", str(bundle_folder), "--port", str(port), "--log", str(log)]
    sent = _request_rows(1)[0]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        stop, answered = threading.Event(), [0]

        def load() -> None:
            with httpx.Client(base_url=url) as client, contextlib.suppress(httpx.TransportError):  # the kill
                while not stop.is_set():
                    client.post("/predict", json={"rows": [{**sent, "customer_id": answered[0]}]}).raise_for_status()
                    answered[0] += 1

        loader = threading.Thread(target=load)
        loader.start()
        until(lambda: answered[0] > 200 and _rows_logged(log) > 0, 60, "rows logged")
        time.sleep(0.5)  # another batch pending
        server.kill()
        server.wait()
        stop.set()
        loader.join()
    frame = logged(str(log))
    assert 0 < len(frame) < answered[0] + 1
    _whole_prefix(frame["customer_id"].astype(int).tolist())


def test_a_killed_batch_leaves_a_readable_log_of_whole_parts(tmp_path: Path, bundle_folder: Path) -> None:
    source, log = tmp_path / "rows.parquet", tmp_path / "log.duckdb"
    table = mixed_table(40_000, "binary", seed=2).drop(columns="target")
    table["customer_id"] = range(len(table))
    table.to_parquet(source)
    command = [LATHE, "batch", str(bundle_folder), str(source), "--out", str(tmp_path / "out"), "--workers", "1",
               "--chunk-rows", "500", "--log", str(log)]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as batch:
        parts = tmp_path / "out"
        until(lambda: len(list(parts.glob("part-*.parquet"))) >= 6 if parts.exists() else False, 120, "parts")
        batch.kill()
        batch.wait()
    frame = logged(str(log))
    assert len(frame) % 500 == 0, "whole parts only"
    assert len(frame) <= 500 * len(list(parts.glob("part-*.parquet")))
    _whole_prefix(frame["customer_id"].astype(int).tolist())


@pytest.mark.parametrize("uri", ["nope://x", "/proc/no/such/folder/log.duckdb"])
def test_serve_and_stream_refuse_a_bad_log_before_they_start(
    bundle_folder: Path, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = ["stream", str(bundle_folder), "--source", "redis://127.0.0.1:1/0?stream=s&group=g", "--sink",
              "redis://127.0.0.1:1/0?stream=o"]  # fmt: skip
    for arguments in (["serve", str(bundle_folder), "--port", "1"], stream):
        assert main([*arguments, "--log", uri]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1, error
        assert "log" in error
