"""Real brokers and a real `lathe stream` process, for the stream tests.

``broker`` runs a test on Redis Streams and on NATS JetStream: fresh streams (subjects) per test,
a way to publish rows and to read back what the scorer wrote. ``Scorer`` is `lathe stream` as a
child process (this checkout's code: ``python -m lathe.cli`` with the inherited ``PYTHONPATH``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import nats
import pytest
import redis

import lathe
from lathe.testing import mixed_table


@pytest.fixture(scope="package")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved binary classifier (``customer_id`` is its id column)."""
    folder = tmp_path_factory.mktemp("stream") / "late"
    lathe.train(mixed_table(300), target="target", trials=1, verbose=False).save(folder)
    return folder


def rows(count: int, seed: int = 7) -> list[bytes]:
    """``count`` input rows as JSON messages, each with its own ``customer_id``."""
    table = mixed_table(count, seed=seed).drop(columns="target")
    table["signup"] = table["signup"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    return [json.dumps(record).encode() for record in records]


class RedisBroker:
    """Three fresh Redis streams: in, out and dead letters."""

    def __init__(self, uri: str) -> None:
        self.uri, self.client = uri, redis.Redis.from_url(uri)
        self.name = f"lathe-test-{uuid.uuid4().hex[:8]}"
        self.keys = {kind: f"{self.name}-{kind}" for kind in ("in", "out", "dead")}

    def source(self, **options: str) -> str:
        query = "&".join(f"{k.replace('_', '-')}={v}" for k, v in {"group": "scorer", **options}.items())
        return f"{self.uri}?stream={self.keys['in']}&{query}"

    def sink(self, kind: str = "out") -> str:
        return f"{self.uri}?stream={self.keys[kind]}"

    def publish(self, bodies: Sequence[bytes]) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(bodies), 2000):
            pipe = self.client.pipeline(transaction=False)
            for body in bodies[start : start + 2000]:
                pipe.xadd(self.keys["in"], {"data": body})
            ids += [i.decode() for i in pipe.execute()]
        return ids

    def count(self, kind: str = "out") -> int:
        return int(self.client.xlen(self.keys[kind]))

    def read(self, kind: str = "out") -> list[dict[str, Any]]:
        return [json.loads(fields[b"data"]) for _, fields in self.client.xrange(self.keys[kind])]

    def unacknowledged(self) -> int:
        return int(self.client.xpending(self.keys["in"], "scorer")["pending"])

    def delivered(self) -> int:
        """How many entries the group has read, each once (its ``entries-read``)."""
        (group,) = self.client.xinfo_groups(self.keys["in"])
        return int(group["entries-read"])

    def close(self) -> None:
        self.client.delete(*self.keys.values())
        self.client.close()


class NatsBroker:
    """Three fresh JetStream subjects: in, out and dead letters (their streams made by the scorer or here)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.name = f"lathe_test_{uuid.uuid4().hex[:8]}"
        self.keys = {kind: f"{self.name}.{kind}" for kind in ("in", "out", "dead")}

    def source(self, **options: str) -> str:
        query = "&".join(f"{k.replace('_', '-')}={v}" for k, v in {"durable": "scorer", **options}.items())
        return f"{self.uri}/{self.keys['in']}?{query}"

    def sink(self, kind: str = "out") -> str:
        return f"{self.uri}/{self.keys[kind]}"

    def _run(self, work: Callable[[Any], Any]) -> Any:
        async def connected() -> Any:
            connection = await nats.connect(self.uri)
            try:
                return await work(connection.jetstream())
            finally:
                await connection.close()

        return asyncio.run(connected())

    def publish(self, bodies: Sequence[bytes]) -> list[str]:
        async def publish(js: Any) -> list[str]:
            await _stream(js, self.keys["in"])
            ids: list[str] = []
            for start in range(0, len(bodies), 1000):
                acks = await asyncio.gather(*(js.publish(self.keys["in"], b) for b in bodies[start : start + 1000]))
                ids += [str(ack.seq) for ack in acks]
            return ids

        result: list[str] = self._run(publish)
        return result

    def count(self, kind: str = "out") -> int:
        async def count(js: Any) -> int:
            try:
                return int((await js.stream_info(_name(self.keys[kind]))).state.messages)
            except nats.js.errors.NotFoundError:
                return 0

        result: int = self._run(count)
        return result

    def read(self, kind: str = "out") -> list[dict[str, Any]]:
        async def read(js: Any) -> list[dict[str, Any]]:
            total = int((await js.stream_info(_name(self.keys[kind]))).state.messages)
            config = nats.js.api.ConsumerConfig(ack_policy=nats.js.api.AckPolicy.NONE)
            subscription = await js.pull_subscribe(self.keys[kind], stream=_name(self.keys[kind]), config=config)
            got: list[dict[str, Any]] = []
            while len(got) < total:
                got += [json.loads(m.data) for m in await subscription.fetch(min(5000, total - len(got)), timeout=5)]
            return got

        result: list[dict[str, Any]] = self._run(read)
        return result

    def unacknowledged(self) -> int:
        async def pending(js: Any) -> int:
            return int((await js.consumer_info(_name(self.keys["in"]), "scorer")).num_ack_pending)

        result: int = self._run(pending)
        return result

    def delivered(self) -> int:
        """How many messages the durable consumer has been given, each once (nothing redelivered)."""

        async def delivered(js: Any) -> int:
            info = await js.consumer_info(_name(self.keys["in"]), "scorer")
            assert info.num_redelivered == 0
            return int(info.delivered.stream_seq)

        result: int = self._run(delivered)
        return result

    def close(self) -> None:
        async def delete(js: Any) -> None:
            for subject in self.keys.values():
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(_name(subject))

        self._run(delete)


def _name(subject: str) -> str:
    return subject.replace(".", "_")


async def _stream(js: Any, subject: str) -> None:
    with contextlib.suppress(nats.js.errors.BadRequestError):  # it exists
        await js.add_stream(name=_name(subject), subjects=[subject])


Broker = RedisBroker | NatsBroker


@pytest.fixture(params=["redis", "nats"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Fresh streams on Redis, then on NATS JetStream."""
    uri = request.getfixturevalue(f"{request.param}_uri")
    made: Broker = RedisBroker(uri) if request.param == "redis" else NatsBroker(uri)
    yield made
    made.close()


@pytest.fixture
def redis_broker(redis_uri: str) -> Iterator[RedisBroker]:
    """Fresh streams on Redis."""
    made = RedisBroker(redis_uri)
    yield made
    made.close()


class Scorer:
    """`lathe stream ARGUMENTS` running; its status lines go to ``log``."""

    def __init__(self, log: Path, *arguments: str) -> None:
        self.log = log
        command = [sys.executable, "-m", "lathe.cli", "stream", *arguments]
        env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def output(self) -> str:
        return self.log.read_text()

    def wait_started(self, timeout: float = 60) -> None:
        until(lambda: "lathe scoring " in self.output() or self.process.poll() is not None, timeout)
        assert self.process.poll() is None, f"lathe stream exited with {self.process.returncode}: {self.output()}"

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no drain, no goodbye
        self.process.wait()


def until(condition: Callable[[], bool], timeout: float, what: str = "") -> None:
    """Wait (polling every 50 ms) until ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)
