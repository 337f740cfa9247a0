"""Stream scoring speed: `lathe stream` against each broker's own ceiling, on Redis Streams and NATS JetStream.

The demo model (build/demo/models/late, made as `make demo` makes it when missing), its score rows
as JSON messages. For each broker, two consumers run as processes of their own: `lathe stream`
(batch size 100) and the ceiling, an echo loop in the same client library that reads 100 messages,
parses each, writes it back out with its id and acknowledges, with no model. Each is measured twice:

* messages per second end to end: the consumer is paused (SIGSTOP), a backlog of ``--messages`` is
  published, and the consumer resumed; the rate is the backlog over the time from resuming to its
  last output read back;
* latency at a fixed rate, half of lathe's maximum: each message's time from its publish call to
  its output arriving at a subscriber, p50 and p99, over ``--seconds``.

Prints a table and writes it to bench/RESULTS.md (section "stream"). Usage:
python bench/stream.py [--messages 20000] [--seconds 5] [--brokers redis,nats]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import nats
import numpy as np
import pandas as pd
import redis.asyncio as aioredis

from _results import DEMO, demo_bundle, record
from lathe.backends import close, open_table, to_frame

REDIS, NATS = (
    os.environ.get("LATHE_REDIS_URI", "redis://127.0.0.1:6379/0"),
    os.environ.get("LATHE_NATS_URI", "nats://127.0.0.1:4222"),
)
BATCH = 100


def _messages(count: int) -> list[bytes]:
    """The demo's score rows as JSON, repeated to ``count``."""
    rows = open_table(str(DEMO / "score.toml"))[1]
    frame = to_frame(rows.limit(2000)).astype(object)
    close(rows)
    records = [
        {k: None if pd.isna(v) else v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    bodies = [json.dumps(r, default=str).encode() for r in records]
    return [bodies[i % len(bodies)] for i in range(count)]


class Redis:
    """Fresh in/out streams on Redis, with the publishing and reading-back a run needs."""

    def __init__(self) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:6]}"
        self.source = f"{REDIS}?stream={self.name}-in&group=bench"
        self.sink = f"{REDIS}?stream={self.name}-out"

    async def open(self) -> None:
        # The watcher's blocking reads on a client of their own, apart from the publisher's pipelines.
        self.client, self.watching = aioredis.Redis.from_url(REDIS), aioredis.Redis.from_url(REDIS)
        self.closing = False  # ends the watcher: a cancelled blocking read was seen to go on reading
        await self.client.xgroup_create(f"{self.name}-in", "bench", id="0", mkstream=True)

    async def publish(self, bodies: list[bytes]) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for body in bodies:
            pipe.xadd(f"{self.name}-in", {"data": body})
        return [i.decode() for i in await pipe.execute()]

    async def outputs(self, seen: Callable[[str], None]) -> None:
        last = b"0"
        while not self.closing:
            answer = await self.watching.xread({f"{self.name}-out": last}, count=1000, block=100)
            for _, entries in answer:
                for entry_id, fields in entries:
                    seen(json.loads(fields[b"data"])["message_id"])
                    last = entry_id

    async def close(self) -> None:
        await self.client.delete(f"{self.name}-in", f"{self.name}-out")
        await self.client.aclose()
        await self.watching.aclose()


class Nats:
    """Fresh in/out subjects (and streams) on NATS JetStream."""

    def __init__(self) -> None:
        self.name = f"bench_{uuid.uuid4().hex[:6]}"
        self.source = f"{NATS}/{self.name}.in?durable=bench"
        self.sink = f"{NATS}/{self.name}.out"

    async def open(self) -> None:
        self.connection = await nats.connect(NATS)
        self.js = self.connection.jetstream()
        for kind in ("in", "out"):
            await self.js.add_stream(name=f"{self.name}_{kind}", subjects=[f"{self.name}.{kind}"])

    async def publish(self, bodies: list[bytes]) -> list[str]:
        acks = await asyncio.gather(*(self.js.publish(f"{self.name}.in", body) for body in bodies))
        return [str(ack.seq) for ack in acks]

    async def outputs(self, seen: Callable[[str], None]) -> None:
        async def arrived(message: Any) -> None:
            seen(json.loads(message.data)["message_id"])

        await self.connection.subscribe(f"{self.name}.out", cb=arrived)
        await asyncio.Event().wait()

    async def close(self) -> None:
        for kind in ("in", "out"):
            await self.js.delete_stream(f"{self.name}_{kind}")
        await self.connection.close()


Broker = Redis | Nats
BROKERS: dict[str, type[Broker]] = {"redis": Redis, "nats": Nats}


async def echo(kind: str, source: str, sink: str) -> None:
    """The ceiling: read 100, parse, write each back with its id, acknowledge; no model."""
    if kind == "redis":
        client = aioredis.Redis.from_url(REDIS)
        stream, out = source.split("stream=")[1].split("&")[0], sink.split("stream=")[1]
        while True:
            answer = await client.xreadgroup("bench", "echo", {stream: ">"}, count=BATCH, block=500)
            if not answer:
                continue
            entries = answer[0][1]
            pipe = client.pipeline(transaction=False)
            for entry_id, fields in entries:
                row = json.loads(fields[b"data"])
                pipe.xadd(out, {"data": json.dumps({**row, "message_id": entry_id.decode()})})
            await pipe.execute()
            await client.xack(stream, "bench", *[entry_id for entry_id, _ in entries])
    connection = await nats.connect(NATS)
    js = connection.jetstream()
    subject, out = source.split("/")[-1].split("?")[0], sink.split("/")[-1]
    subscription = await js.pull_subscribe(subject, durable="bench")
    while True:
        try:
            got = await subscription.fetch(BATCH, timeout=0.5)
        except TimeoutError:
            continue
        bodies = [json.dumps({**json.loads(m.data), "message_id": str(m.metadata.sequence.stream)}) for m in got]
        await asyncio.gather(*(js.publish(out, body.encode()) for body in bodies))
        for message in got:
            await message.ack()


def _consumer(kind: str, broker: Broker, model: str | None) -> subprocess.Popen[bytes]:
    if model is None:
        command = [sys.executable, __file__, "--echo", kind, broker.source, broker.sink]
    else:
        command = [sys.executable, "-m", "lathe.cli", "stream", model, "--source", broker.source, "--sink", broker.sink,
                   "--batch-size", str(BATCH), "--status-every", "3600"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _measure(kind: str, model: str | None, bodies: list[bytes], rate: float | None, seconds: float) -> Any:
    """Messages per second of a paused backlog (``rate`` None), or latencies in seconds at ``rate``."""
    broker = BROKERS[kind]()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _tasks)
    await broker.open()
    consumer = _consumer(kind, broker, model)
    arrived: dict[str, float] = {}
    watcher = asyncio.create_task(broker.outputs(lambda i: arrived.setdefault(i, time.perf_counter())))
    try:
        warm = await broker.publish(bodies[:BATCH])  # the consumer is up once these come back
        await _arrival(consumer, arrived, len(warm))
        arrived.clear()
        if rate is None:
            return await _backlog(broker, consumer, bodies, arrived)
        return await _steady(broker, consumer, bodies, arrived, rate, seconds)
    finally:
        if isinstance(broker, Redis):
            broker.closing = True
        else:
            watcher.cancel()
        await asyncio.wait([watcher], timeout=5)
        consumer.send_signal(signal.SIGCONT)
        consumer.terminate()
        try:
            consumer.wait(30)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait()
        await broker.close()


def _tasks() -> None:
    """On SIGUSR1: where each task waits (a run that seems stuck)."""
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)


async def _arrival(consumer: subprocess.Popen[bytes], arrived: dict[str, float], count: int) -> None:
    """Wait until ``count`` outputs have arrived; fail if the consumer dies or two minutes pass."""
    deadline = time.monotonic() + 120
    while len(arrived) < count:
        if consumer.poll() is not None:
            raise RuntimeError(f"the consumer exited: {consumer.stderr.read().decode() if consumer.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(arrived)} of {count} outputs after two minutes")
        await asyncio.sleep(0.01)


async def _backlog(broker: Broker, consumer: subprocess.Popen[bytes], bodies: list[bytes], arrived: dict) -> float:
    consumer.send_signal(signal.SIGSTOP)
    for start in range(0, len(bodies), 2000):
        await asyncio.wait_for(broker.publish(bodies[start : start + 2000]), 60)
    resumed = time.perf_counter()
    consumer.send_signal(signal.SIGCONT)
    await _arrival(consumer, arrived, len(bodies))
    return len(bodies) / (max(arrived.values()) - resumed)


async def _steady(
    broker: Broker, consumer: subprocess.Popen[bytes], bodies: list[bytes], arrived: dict, rate: float, seconds: float
) -> np.ndarray:
    sent: dict[str, float] = {}
    started, count = time.perf_counter(), int(rate * seconds)
    done = 0
    while done < count:
        due = min(count, int((time.perf_counter() - started) * rate) + 1)
        if due > done:
            at = time.perf_counter()
            for i in await broker.publish(bodies[done:due]):
                sent[i] = at
            done = due
        await asyncio.sleep(0.001)
    await _arrival(consumer, arrived, len(sent))
    return np.array([arrived[i] - sent[i] for i in sent])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--brokers", default="redis,nats")
    parser.add_argument("--echo", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        asyncio.run(echo(*args.echo))
        return
    model = str(demo_bundle())
    bodies = _messages(args.messages)
    lines = [
        f"## stream: the demo model, batch size 100, {args.messages:,} messages per backlog, "
        f"{args.seconds:.0f} s at a fixed rate, 2 cores",
        "",
        "| broker | ceiling msg/s (no model) | lathe msg/s | lathe ÷ ceiling | offered msg/s | "
        "lathe p50 ms | lathe p99 ms | no-model p50 ms | no-model p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in args.brokers.split(","):
        print(f"{kind}: measuring", file=sys.stderr, flush=True)
        ceiling = asyncio.run(_measure(kind, None, bodies, None, 0))
        print(f"{kind}: ceiling {ceiling:,.0f} msg/s", file=sys.stderr, flush=True)
        lathe_rate = asyncio.run(_measure(kind, model, bodies, None, 0))
        print(f"{kind}: lathe {lathe_rate:,.0f} msg/s", file=sys.stderr, flush=True)
        offered = round(lathe_rate / 2, -1)
        ours = asyncio.run(_measure(kind, model, bodies, offered, args.seconds)) * 1000
        theirs = asyncio.run(_measure(kind, None, bodies, offered, args.seconds)) * 1000
        lines.append(
            f"| {kind} | {ceiling:,.0f} | {lathe_rate:,.0f} | {lathe_rate / ceiling:.0%} | {offered:,.0f} | "
            f"{np.percentile(ours, 50):.1f} | {np.percentile(ours, 99):.1f} | "
            f"{np.percentile(theirs, 50):.1f} | {np.percentile(theirs, 99):.1f} |"
        )
        print(lines[-1], flush=True)
    lines += ["", "Aim: lathe ≥ 50% of the ceiling at batch size 100, p99 < 50 ms at half its maximum rate.", ""]
    section = "\n".join(lines)
    print(section)
    record(section)


if __name__ == "__main__":
    main()
