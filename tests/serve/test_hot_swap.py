"""A server following the registry swaps production versions under steady load without failing a request."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pandas as pd
import pytest

import lathe
from lathe.registry import Registry
from lathe.testing import mixed_table
from tests.serve.conftest import running

CLIENTS = 4


def _train(folder: Path, seed: int, drop: tuple[str, ...] = ()) -> Path:
    table = mixed_table(300, seed=seed).drop(columns=list(drop))
    lathe.train(table, target="target", trials=1, verbose=False).save(folder)
    return folder


def _wait_for(client: httpx.Client, version: int) -> None:
    deadline = time.monotonic() + 30
    while client.get("/model").json()["model"]["version"] != version:
        assert time.monotonic() < deadline, f"version {version} was not swapped in within 30 s"
        time.sleep(0.05)


def test_promotion_and_rollback_under_load_fail_no_request(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    registry.add(_train(tmp_path / "one", seed=0), "late")
    registry.add(_train(tmp_path / "two", seed=1), "late")
    registry.promote("late", 1, "production")
    row = mixed_table(5, seed=9).drop(columns="target").head(1)
    row["signup"] = row["signup"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    body = {"rows": row.astype(object).where(row.notna(), None).to_dict("records")}
    expected = {n: registry.load("late", n).predict(pd.DataFrame(body["rows"]))["probability_yes"][0] for n in (1, 2)}
    assert expected[1] != expected[2]
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
                if answer.status_code != 200:
                    answers.append((answer.status_code, None, None))
                    continue
                got = answer.json()
                answers.append((200, got["model"]["version"], got["predictions"][0]["probability_yes"]))

    with running("late", "--registry", str(tmp_path / "registry"), "--poll", "0.2") as url:
        clients = [threading.Thread(target=load, args=(url,)) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        with httpx.Client(base_url=url, timeout=10) as watcher:
            time.sleep(1)
            registry.promote("late", 2, "production")
            _wait_for(watcher, 2)
            time.sleep(1)
            registry.rollback("late")
            _wait_for(watcher, 1)
            time.sleep(1)
            stop.set()
            for client in clients:
                client.join()
            swaps = watcher.get("/metrics").text

    statuses = Counter(status for status, _, _ in answers)
    versions = Counter(version for _, version, _ in answers)
    assert failures == []
    assert len(answers) > 100  # steady load throughout
    assert statuses == {200: len(answers)}
    assert versions[1] > 0
    assert versions[2] > 0
    assert all(probability == pytest.approx(expected[version]) for _, version, probability in answers)
    assert answers[-1][1] == 1
    assert "lathe_model_swaps 2.0" in swaps


def test_a_version_with_other_inputs_waits_for_a_restart(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    registry.add(_train(tmp_path / "one", seed=0), "late", stage="production")
    registry.add(_train(tmp_path / "fewer", seed=0, drop=("note",)), "late")

    with running("late", "--registry", str(tmp_path / "registry"), "--poll", "0.2") as url:
        registry.promote("late", 2, "production")
        deadline = time.monotonic() + 30
        while not (summary := httpx.get(f"{url}/model").json())["waiting"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    assert summary["model"]["version"] == 1
    assert "late version 2 takes other inputs than late version 1" in summary["waiting"]
