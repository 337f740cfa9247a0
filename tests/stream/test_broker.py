"""Broker URIs: what a user may write, and the one-line errors for what they may not."""

from __future__ import annotations

from pathlib import Path

import pytest

from lathe.cli import main
from lathe.errors import InvalidParameterError
from lathe.stream._broker import parse_address


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
