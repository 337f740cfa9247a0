"""NATS JetStream: a durable pull consumer, each message acknowledged after its output was published
and acknowledged by the server.

``nats://HOST:PORT/SUBJECT?durable=NAME&ack-wait=SECONDS``: the stream holding SUBJECT is found,
or created (named after the subject) if none does; the durable consumer is created if new, with
``ack-wait`` seconds (default 30) before the server delivers an unacknowledged message again, as
it does for the messages of a scorer that died. Outputs are published to the sink's subject with
JetStream's publish, which waits for the server's acknowledgement.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from lathe.errors import InvalidParameterError, SourceUnreachableError, first_line
from lathe.stream._broker import Address, Message, parse_address

ACK_WAIT = 30.0
MAX_ACK_PENDING = 20_000  # more than a scorer ever holds: the bound is lathe's --in-flight


@asynccontextmanager
async def _translated(where: str) -> AsyncIterator[None]:
    """A NATS client error as ``SourceUnreachableError`` naming the subject (its password scrubbed)."""
    try:
        yield
    except (TimeoutError, NatsError, OSError) as exc:
        raise SourceUnreachableError(f"{where}: NATS failed ({first_line(exc)}); is the server up?") from None


async def _connect(address: Address) -> Any:
    async with _translated(address.where):
        return await nats.connect(
            servers=[address.server], connect_timeout=5, max_reconnect_attempts=5, error_cb=_quiet
        )


async def _quiet(exc: Exception) -> None:
    """Connection errors surface as failed calls, with the subject named; the client says nothing itself."""
    del exc


def _subject(address: Address) -> str:
    subject = address.path.strip("/")
    if not subject:
        raise ValueError  # refused by the caller with the URI's shape
    return subject


async def _stream_for(js: Any, subject: str) -> str:
    """The JetStream stream holding ``subject``; one named after it is created if none does."""
    try:
        name: str = await js.find_stream_name_by_subject(subject)
    except NotFoundError:
        name = re.sub(r"[^A-Za-z0-9_-]", "_", subject)
        await js.add_stream(name=name, subjects=[subject])
    return name


class NatsSource:
    """A durable pull consumer of one subject."""

    def __init__(self, address: Address, connection: Any, subscription: Any, stream: str) -> None:
        self.where, self.connection, self.subscription, self.stream = address.where, connection, subscription, stream

    async def read(self, count: int, wait: float) -> list[Message]:
        async with _translated(self.where):
            try:
                got = await self.subscription.fetch(count, timeout=wait)
            except TimeoutError:  # no message came (nats-py raises its own or asyncio's): no error, if connected
                if not self.connection.is_connected:
                    raise
                return []
        return [Message(str(m.metadata.sequence.stream), m.data, m) for m in got]

    async def ack(self, messages: Sequence[Message]) -> None:
        async with _translated(self.where):
            for message in messages:
                await message.handle.ack()

    async def waiting(self) -> int | None:
        async with _translated(self.where):
            info = await self.subscription.consumer_info()
        return int(info.num_pending)

    async def close(self) -> None:
        if self.connection.is_connected:
            await self.connection.flush()  # the last acknowledgements reach the server
        await self.connection.close()


class NatsSink:
    """Publishes to one subject through JetStream, waiting for each acknowledgement."""

    def __init__(self, address: Address, connection: Any, subject: str) -> None:
        self.where, self.connection, self.subject = address.where, connection, subject
        self.js = connection.jetstream()

    async def write(self, bodies: Sequence[bytes]) -> None:
        async with _translated(self.where):
            await asyncio.gather(*(self.js.publish(self.subject, body) for body in bodies))

    async def close(self) -> None:
        await self.connection.close()


def _address(uri: str, known: tuple[str, ...]) -> tuple[Address, str]:
    address = parse_address(uri, known)
    try:
        return address, _subject(address)
    except ValueError:
        raise InvalidParameterError(
            f"{address.where}: name the subject as the URI's path, as in nats://HOST:PORT/SUBJECT"
        ) from None


async def open_source(uri: str) -> NatsSource:
    """A durable pull consumer of the subject ``uri`` names; the stream and consumer created if new."""
    address, subject = _address(uri, ("durable", "ack-wait"))
    durable, ack_wait = address.option("durable", "lathe"), address.number("ack-wait", ACK_WAIT)
    connection = await _connect(address)
    config = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait,
        max_ack_pending=MAX_ACK_PENDING,
    )  # fmt: skip
    async with _translated(address.where):
        js = connection.jetstream()
        stream = await _stream_for(js, subject)
        subscription = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
    return NatsSource(address, connection, subscription, stream)


async def open_sink(uri: str) -> NatsSink:
    """A JetStream publisher to the subject ``uri`` names; its stream created if none holds it."""
    address, subject = _address(uri, ())
    connection = await _connect(address)
    async with _translated(address.where):
        await _stream_for(connection.jetstream(), subject)
    return NatsSink(address, connection, subject)
