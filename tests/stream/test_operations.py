"""Operating a stream: a registry promotion swaps the model between batches; a slow sink slows the reader."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

import pandas as pd
import pytest

import lathe
from lathe._following import Holder, served
from lathe.registry import Registry
from lathe.stream import Metrics, Options, Sink, open_sink, open_source, pipeline
from lathe.testing import mixed_table
from tests.stream.conftest import RedisBroker, Scorer, rows, until


def _train(folder: Path, seed: int) -> Path:
    lathe.train(mixed_table(300, seed=seed), target="target", trials=1, verbose=False).save(folder)
    return folder


def test_a_promotion_switches_version_at_one_point(redis_broker: RedisBroker, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    registry.add(_train(tmp_path / "one", seed=0), "late", stage="production")
    registry.add(_train(tmp_path / "two", seed=1), "late")
    row = rows(1, seed=9)[0]
    expected = {
        n: registry.load("late", n).predict(pd.DataFrame([json.loads(row)]))["probability_yes"][0] for n in (1, 2)
    }
    assert expected[1] != expected[2]
    stop = threading.Event()

    def publish() -> None:
        while not stop.is_set():
            redis_broker.publish([row] * 5)
            time.sleep(0.005)

    scorer = Scorer(
        tmp_path / "scorer.log", "late", "--registry", str(tmp_path / "registry"), "--poll", "0.2",
        "--status-every", "0.5",
        "--source", redis_broker.source(), "--sink", redis_broker.sink(), "--dead-letter", redis_broker.sink("dead"),
    )  # fmt: skip
    scorer.wait_started()
    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        until(lambda: redis_broker.count() > 200, 30, "outputs of version 1")
        registry.promote("late", 2, "production")
        until(lambda: "now scoring with late version 2" in scorer.output(), 30, "version 2 swapped in")
        time.sleep(0.5)
    finally:
        stop.set()
        publisher.join()
    until(lambda: redis_broker.count() >= redis_broker.client.xlen(redis_broker.keys["in"]), 30, "all scored")
    assert scorer.stop() == 0, scorer.output()

    outputs = redis_broker.read()
    versions = [version for version, _ in groupby(o["model"]["version"] for o in outputs)]
    assert versions == [1, 2]  # one switch, never back
    assert redis_broker.count("dead") == 0
    assert all(o["probability_yes"] == pytest.approx(expected[o["model"]["version"]]) for o in outputs)
    assert re.search(r"lathe [\d,]+ messages/s, [\d,]+ waiting, [\d,]+ scored, 0 dead letters \(late version 2\)",
                     scorer.output())  # fmt: skip


class SlowSink:
    """A real sink that takes ``delay`` seconds more per write, counting how many wrote."""

    def __init__(self, sink: Sink, delay: float) -> None:
        self.sink, self.delay, self.where, self.writes = sink, delay, sink.where, 0

    async def write(self, bodies: Sequence[bytes]) -> None:
        await asyncio.sleep(self.delay)
        await self.sink.write(bodies)
        self.writes += 1

    async def close(self) -> None:
        await self.sink.close()


def test_a_slow_sink_makes_the_reader_wait(redis_broker: RedisBroker, bundle_folder: Path) -> None:
    total, options = 3000, Options(batch_size=20, max_wait_ms=5, in_flight=2)
    redis_broker.publish(rows(total, seed=11))
    held, waiting = [], []

    async def run() -> None:
        source = await open_source(redis_broker.source())
        sink = SlowSink(await open_sink(redis_broker.sink()), delay=0.05)
        stop, holder = asyncio.Event(), Holder(served(bundle_folder))
        scoring = asyncio.create_task(pipeline(source, sink, None, holder, options, Metrics(holder), stop))
        for _ in range(20):
            await asyncio.sleep(0.1)
            held.append(redis_broker.unacknowledged())
            waiting.append(await source.waiting())
        stop.set()
        await scoring
        await source.close()
        await sink.close()

    asyncio.run(run())
    bound = (2 * options.in_flight + 3) * options.batch_size
    assert max(held) <= bound  # what is read but not yet written stays bounded
    assert min(w or 0 for w in waiting) > total // 2  # the reader waited for the sink: most is still unread
    assert redis_broker.unacknowledged() == 0
    assert redis_broker.count() == redis_broker.delivered()  # what was read was written, once
