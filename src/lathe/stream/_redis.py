"""Redis Streams: a consumer group read with XREADGROUP, acknowledged with XACK, and the entries a
dead consumer left pending claimed back with XAUTOCLAIM.

``redis://HOST:PORT/DB?stream=NAME&group=GROUP&consumer=NAME&claim-idle=SECONDS``: the group is
created (from the stream's first entry) if it does not exist; the consumer defaults to the host's
name, so a scorer restarted on the same host first re-reads its own pending entries; entries
pending at any consumer for ``claim-idle`` seconds (default 30) are claimed back. An entry's body
is its ``data`` field (JSON text); outputs are written the same way.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from lathe.errors import SourceUnreachableError, first_line
from lathe.stream._broker import Address, Message, parse_address

FIELD = b"data"
CLAIM_IDLE = 30.0


@asynccontextmanager
async def _translated(where: str) -> AsyncIterator[None]:
    """A Redis client error as ``SourceUnreachableError`` naming the stream (its password scrubbed)."""
    try:
        yield
    except RedisError as exc:
        raise SourceUnreachableError(f"{where}: Redis failed ({first_line(exc)}); is the server up?") from None


def _client(address: Address) -> Any:
    db = address.path.strip("/") or "0"
    return aioredis.Redis.from_url(f"{address.server}/{db}", socket_connect_timeout=5)


class RedisSource:
    """A consumer in a consumer group of one stream."""

    def __init__(self, address: Address) -> None:
        self.where = address.where
        self.client = _client(address)
        self.stream, self.group = address.option("stream"), address.option("group", "lathe")
        self.consumer = address.option("consumer", socket.gethostname())
        self.claim_idle_ms = int(1000 * address.number("claim-idle", CLAIM_IDLE))
        self._own_pending: bytes | None = b"0"  # re-read this consumer's pending entries first, after this id
        self._claim_cursor, self._next_claim = b"0-0", 0.0

    async def start(self) -> None:
        async with _translated(self.where):
            try:
                await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def read(self, count: int, wait: float) -> list[Message]:
        async with _translated(self.where):
            if self._own_pending is not None:
                entries = await self._read(self._own_pending, count, None)
                if entries:
                    self._own_pending = entries[-1].id.encode()
                    return entries
                self._own_pending = None
            if time.monotonic() >= self._next_claim and (claimed := await self._claim(count)):
                return claimed
            return await self._read(b">", count, max(1, int(wait * 1000)))

    async def _read(self, after: bytes, count: int, block: int | None) -> list[Message]:
        answer = await self.client.xreadgroup(self.group, self.consumer, {self.stream: after}, count, block)
        return _messages(answer[0][1]) if answer else []

    async def _claim(self, count: int) -> list[Message]:
        """Entries pending at any consumer for longer than ``claim-idle``, taken over by this one."""
        cursor, entries, *_ = await self.client.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, self._claim_cursor, count
        )
        self._claim_cursor = cursor
        if cursor in (b"0-0", "0-0"):  # a full pass: look again when an entry could have become idle
            self._next_claim = time.monotonic() + self.claim_idle_ms / 2000
        return _messages(entries)

    async def ack(self, messages: Sequence[Message]) -> None:
        async with _translated(self.where):
            await self.client.xack(self.stream, self.group, *[m.id for m in messages])

    async def waiting(self) -> int | None:
        async with _translated(self.where):
            groups = await self.client.xinfo_groups(self.stream)
        for group in groups:
            if _text(group["name"]) == self.group:
                lag = group.get("lag")
                return None if lag is None else int(lag)
        return None

    async def close(self) -> None:
        await self.client.aclose()


class RedisSink:
    """Appends to one stream with XADD, a pipeline of them per batch."""

    def __init__(self, address: Address) -> None:
        self.where = address.where
        self.client = _client(address)
        self.stream = address.option("stream")

    async def write(self, bodies: Sequence[bytes]) -> None:
        async with _translated(self.where):
            pipe = self.client.pipeline(transaction=False)
            for body in bodies:
                pipe.xadd(self.stream, {FIELD: body})
            await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()


def _messages(entries: list[Any]) -> list[Message]:
    out = []
    for entry_id, fields in entries:
        if fields is None:  # deleted from the stream while pending
            out.append(Message(_text(entry_id), b"", problem="the entry was deleted from the stream"))
        elif FIELD in fields:
            out.append(Message(_text(entry_id), fields[FIELD]))
        else:
            names = ", ".join(_text(f) for f in fields)
            out.append(Message(_text(entry_id), b"", problem=f"the entry has no 'data' field (it has {names})"))
    return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def open_source(uri: str) -> RedisSource:
    """A consumer of the stream ``uri`` names; its group created if new."""
    source = RedisSource(parse_address(uri, ("stream", "group", "consumer", "claim-idle")))
    await source.start()
    return source


async def open_sink(uri: str) -> RedisSink:
    """A writer to the stream ``uri`` names (created by its first entry)."""
    sink = RedisSink(parse_address(uri, ("stream",)))
    async with _translated(sink.where):
        await sink.client.ping()
    return sink
