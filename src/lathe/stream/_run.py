"""``stream``: read messages from a broker, score them in micro-batches, write the outputs, then acknowledge.

Three tasks joined by two bounded queues::

    reader ─► [in_flight batches] ─► scorer ─► [in_flight batches] ─► writer (outputs, dead letters, ack)

The reader closes a batch at ``batch_size`` messages or ``max_wait_ms`` after its first, whichever
comes first. A full queue stops the reader, so a slow sink slows reading (backpressure) and at most
``(2 * in_flight + 3) * batch_size`` messages are held. A message is acknowledged only once its
output (or dead letter) has been acknowledged by the broker: at least once. SIGTERM or Ctrl-C stops
the reader; what was read is scored, written and acknowledged before the command exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lathe import _display
from lathe._following import Holder, followed
from lathe.errors import InvalidParameterError, LatheError
from lathe.log import TABLE, Log
from lathe.stream._broker import Message, Sink, Source, open_sink, open_source
from lathe.stream._metrics import Metrics
from lathe.stream._score import Scored, score

BATCH_SIZE = 100
MAX_WAIT_MS = 5.0
IN_FLIGHT = 2
STATUS_EVERY = 10.0
LOOK = 0.5  # seconds a reader waits for a first message before it looks at the stop flag again
CANCEL_WAIT = 5.0


@dataclass(frozen=True)
class Options:
    """How to batch and explain: see ``stream``."""

    batch_size: int = BATCH_SIZE
    max_wait_ms: float = MAX_WAIT_MS
    in_flight: int = IN_FLIGHT
    explain: int = 0
    status_every: float = STATUS_EVERY

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.in_flight < 1 or self.max_wait_ms < 0 or self.explain < 0:
            raise InvalidParameterError(
                f"--batch-size ({self.batch_size}) and --in-flight ({self.in_flight}) must be at least 1, "
                f"--max-wait-ms ({self.max_wait_ms}) and --explain ({self.explain}) at least 0"
            )
        if not self.status_every > 0:
            raise InvalidParameterError(f"the status interval must be positive, not {self.status_every}")


def stream(
    model: str | Path,
    source: str,
    sink: str,
    *,
    dead_letter: str | None = None,
    options: Options | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    registry: str | Path | None = None,
    store: str | Path | None = None,
    poll: float = 2.0,
    log: str | None = None,
    log_table: str = TABLE,
) -> Metrics:
    """Score the messages of ``source`` with ``model`` into ``sink`` until SIGTERM or Ctrl-C; return the counts.

    ``model`` is a bundle folder, NAME (its production version, followed and swapped as it
    changes, polled every ``poll`` seconds) or NAME:N. ``source``, ``sink`` and ``dead_letter``
    are broker URIs (``redis://...?stream=S&group=G``, ``nats://HOST:PORT/SUBJECT?durable=D``).
    A message that cannot be scored goes to ``dead_letter`` with the reason; without one it is
    acknowledged and its reason printed. ``log``: a prediction log (``duckdb:///FILE`` or
    ``postgresql://...``; see ``lathe.log``) that every row scored is appended to, in its table
    ``log_table`` (a message delivered again is logged again).

    >>> stream("late", "redis://127.0.0.1:6379/0?stream=flights&group=scorer",
    ...        "redis://127.0.0.1:6379/0?stream=scored")  # doctest: +SKIP
    """
    options = options or Options()
    if not poll > 0:
        raise InvalidParameterError(f"--poll must be positive, not {poll}")
    holder = followed(model, registry, store, poll, Log(log, log_table) if log is not None else None)
    try:
        metrics = Metrics(holder)
        if metrics_port is not None:
            metrics.serve(metrics_host, metrics_port)
        asyncio.run(_connected(holder, source, sink, dead_letter, options, metrics))
    finally:
        holder.close()
    return metrics


async def _connected(
    holder: Holder, source_uri: str, sink_uri: str, dead_uri: str | None, options: Options, metrics: Metrics
) -> None:
    source = await open_source(source_uri)
    sink = await open_sink(sink_uri)
    dead = await open_sink(dead_uri) if dead_uri else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, _stopping, stop)
    _display.status(f"scoring {source.where} into {sink.where} with {holder.current.label}")
    try:
        await pipeline(source, sink, dead, holder, options, metrics, stop)
    finally:
        for broker in (sink, dead, source):  # the source last: its acknowledgements are flushed
            if broker is not None:
                await broker.close()
    _display.status(f"stopped: {metrics.scored:,} scored, {metrics.dead:,} dead letters, every one acknowledged")


def _stopping(stop: asyncio.Event) -> None:
    if not stop.is_set():
        _display.status("stopping: scoring, writing and acknowledging what was read")
        stop.set()


async def pipeline(
    source: Source, sink: Sink, dead: Sink | None, holder: Holder, options: Options, metrics: Metrics,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    """Read, score and write until ``stop`` is set, then finish what was read; the brokers stay open."""
    read: asyncio.Queue[tuple[float, list[Message]] | None] = asyncio.Queue(options.in_flight)
    done: asyncio.Queue[tuple[float, Scored] | None] = asyncio.Queue(options.in_flight)
    workers = [
        _reader(source, read, options, stop),
        _scorer(read, done, holder, options.explain, source.where),
        _writer(done, source, sink, dead, metrics),
    ]
    await _together(workers, _reporter(source, holder, metrics, options.status_every))


async def _together(workers: list[Coroutine[Any, Any, None]], beside: Coroutine[Any, Any, None]) -> None:
    """Run ``workers`` to their end and ``beside`` while they run; the first failure cancels the rest.

    Ended ones are waited for a few seconds at most: a client library may swallow a cancellation
    and go on, and that must not keep the command from exiting with the failure.
    """
    tasks = [asyncio.create_task(w) for w in workers]
    extra = asyncio.create_task(beside)
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in [*tasks, extra]:
            task.cancel()
        await asyncio.wait([*tasks, extra], timeout=CANCEL_WAIT)


async def _reader(
    source: Source, queue: asyncio.Queue[tuple[float, list[Message]] | None], options: Options, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        batch = await _batch(source, options, stop)
        if batch:
            await queue.put((time.monotonic(), batch))  # waits while the queue is full: backpressure
    await queue.put(None)


async def _batch(source: Source, options: Options, stop: asyncio.Event) -> list[Message]:
    """Up to ``batch_size`` messages, or fewer once ``max_wait_ms`` have passed since the first came."""
    got = await source.read(options.batch_size, LOOK)
    deadline = time.monotonic() + options.max_wait_ms / 1000
    while got and len(got) < options.batch_size and not stop.is_set():
        left = deadline - time.monotonic()
        if left < 0.001:
            break
        more = await source.read(options.batch_size - len(got), left)
        if not more:
            break
        got += more
    return got


async def _scorer(
    inbox: asyncio.Queue[tuple[float, list[Message]] | None], outbox: asyncio.Queue[tuple[float, Scored] | None],
    holder: Holder, explain: int, where: str,
) -> None:  # fmt: skip
    while (item := await inbox.get()) is not None:
        started, messages = item
        # One model per batch, read once: a swap falls between batches, never inside one.
        model = holder.current
        scored = await asyncio.to_thread(score, messages, model, explain, where)
        if scored.rows:
            holder.logged(model, scored.answers, scored.rows)
        await outbox.put((started, scored))
    await outbox.put(None)


async def _writer(
    inbox: asyncio.Queue[tuple[float, Scored] | None], source: Source, sink: Sink, dead: Sink | None,
    metrics: Metrics,
) -> None:  # fmt: skip
    while (item := await inbox.get()) is not None:
        started, scored = item
        writes = [sink.write(scored.outputs)] if scored.outputs else []
        if scored.dead and dead is not None:
            writes.append(dead.write(scored.dead))
        await asyncio.gather(*writes)
        if scored.dead and dead is None:
            _unscorable(scored)
        await source.ack(scored.messages)
        metrics.batch(len(scored.outputs), len(scored.dead), time.monotonic() - started)


def _unscorable(scored: Scored) -> None:
    for reason in scored.reasons:  # the reason only: a message's values stay out of the log
        _display.warning(f"a message could not be scored and there is no --dead-letter to keep it: {reason}")


async def _reporter(source: Source, holder: Holder, metrics: Metrics, every: float) -> None:
    """A status line every ``every`` seconds: messages per second, lag, dead letters, the model."""
    before, then = 0, time.monotonic()
    while True:
        await asyncio.sleep(every)
        try:
            metrics.waiting = await source.waiting()
        except LatheError:
            metrics.waiting = None
        now, count = time.monotonic(), metrics.scored + metrics.dead
        waiting = "?" if metrics.waiting is None else f"{metrics.waiting:,}"
        _display.status(
            f"{(count - before) / (now - then):,.0f} messages/s, {waiting} waiting, {metrics.scored:,} scored, "
            f"{metrics.dead:,} dead letters ({holder.current.label})"
        )
        before, then = count, now
