"""Broker URIs: what a user may write, and the one-line errors for what they may not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lathe.cli import main
from lathe.errors import InvalidParameterError
from lathe.stream import open_source
from lathe.stream._broker import parse_address
from tests.stream.conftest import RedisBroker, rows


def test_an_address_keeps_the_connection_and_lathe_s_options() -> None:
    address = parse_address("redis://:secret@127.0.0.1:6379/2?stream=flights&group=scorer", ("stream", "group"))
    assert address.server == "redis://:secret@127.0.0.1:6379"
    assert address.path == "/2"
    assert address.options == {"stream": "flights", "group": "scorer"}
    assert address.where == "redis://:***@127.0.0.1:6379/2?stream=flights&group=scorer"


def test_a_misspelt_option_is_refused_with_the_closest() -> None:
    with pytest.raises(InvalidParameterError, match=r"'grop' is not an option here\. Did you mean 'group'\?"):
        parse_address("redis://127.0.0.1:6379/0?stream=flights&grop=scorer", ("stream", "group"))


def test_an_unknown_broker_names_those_there_are() -> None:
    with pytest.raises(InvalidParameterError, match=r"one of redis://, nats://"):
        parse_address("kafka://127.0.0.1:9092/flights", ())


def test_an_unreachable_broker_is_one_line_and_exit_2(bundle_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "redis://:pw@127.0.0.1:1/0?stream=flights&group=scorer"
    status = main(["stream", str(bundle_folder), "--source", source, "--sink", "redis://127.0.0.1:1/0?stream=out"])
    error = capsys.readouterr().err
    assert status == 2
    assert "redis://:***@127.0.0.1:1/0?stream=flights&group=scorer: Redis failed" in error
    assert "pw" not in error
    assert "Traceback" not in error


def test_a_redis_consumer_restarted_reads_its_own_pending_entries_first(redis_broker: RedisBroker) -> None:
    ids = redis_broker.publish(rows(30))

    async def read_twice() -> tuple[list[str], list[str]]:
        first = await open_source(redis_broker.source(consumer="one"))
        held = [m.id for m in await first.read(10, 0.1)]  # read, never acknowledged: the consumer dies
        await first.close()
        again = await open_source(redis_broker.source(consumer="one"))
        reread = [m.id for m in await again.read(20, 0.1)]
        await again.ack([m for m in await again.read(20, 0.1)])
        await again.close()
        return held, reread

    held, reread = asyncio.run(read_twice())
    assert held == ids[:10]
    assert reread == ids[:10]  # its pending entries again, before anything new
