"""At least once on real brokers: a scorer killed with SIGKILL part way loses nothing once restarted;
SIGTERM drains; poison messages go to the dead-letter stream with their reasons."""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

import httpx

from tests.stream.conftest import Broker, RedisBroker, Scorer, rows, until

# The issue asks for 100,000; 20,000 keeps the suite short on two cores (LATHE_STREAM_KILL_MESSAGES raises it).
KILL_MESSAGES = int(os.environ.get("LATHE_STREAM_KILL_MESSAGES", "20000"))
BATCH, IN_FLIGHT = 100, 2
HELD = (2 * IN_FLIGHT + 3) * BATCH  # the most a scorer holds unacknowledged


def _restart_options(broker: Broker) -> dict[str, str]:
    """The first scorer's options, and the second's: on Redis another consumer (another host, as it were),
    which must claim the dead one's pending entries with XAUTOCLAIM; on NATS the same durable consumer."""
    if isinstance(broker, RedisBroker):
        return {"consumer": "second", "claim_idle": "1"}
    return {"ack_wait": "2"}


def test_a_scorer_killed_part_way_loses_no_message(broker: Broker, bundle_folder: Path, tmp_path: Path) -> None:
    ids = broker.publish(rows(KILL_MESSAGES))
    flags = ["--sink", broker.sink(), "--batch-size", str(BATCH), "--in-flight", str(IN_FLIGHT)]
    first_options = {} if isinstance(broker, RedisBroker) else {"ack_wait": "2"}
    first = Scorer(tmp_path / "first.log", str(bundle_folder), "--source", broker.source(**first_options), *flags)
    first.wait_started()
    until(lambda: broker.count() >= KILL_MESSAGES // 5, 120, "a fifth scored before the kill")
    first.kill()
    killed_at = broker.count()
    assert killed_at < KILL_MESSAGES, "the scorer finished before it was killed: raise LATHE_STREAM_KILL_MESSAGES"

    second = Scorer(tmp_path / "second.log", str(bundle_folder), "--source", broker.source(**_restart_options(broker)),
                    *flags)  # fmt: skip
    second.wait_started()
    until(lambda: broker.count() >= KILL_MESSAGES and broker.unacknowledged() == 0, 180, "every message scored")
    assert second.stop() == 0, second.output()

    outputs = Counter(output["message_id"] for output in broker.read())
    duplicates = sum(outputs.values()) - len(outputs)
    print(f"{type(broker).__name__}: killed at {killed_at:,} of {KILL_MESSAGES:,} outputs; {duplicates} duplicates")
    assert set(outputs) == set(ids)  # every input has an output, and no output is of anything else
    assert duplicates <= HELD + BATCH  # what the dead scorer held, at most (and what it was writing)
    assert broker.unacknowledged() == 0


def test_sigterm_drains_without_losing_or_duplicating(broker: Broker, bundle_folder: Path, tmp_path: Path) -> None:
    ids = broker.publish(rows(5000, seed=3))
    arguments = [str(bundle_folder), "--source", broker.source(), "--sink", broker.sink(), "--batch-size", "50"]
    first = Scorer(tmp_path / "first.log", *arguments)
    first.wait_started()
    until(lambda: broker.count() >= 500, 60, "500 scored")
    assert first.stop() == 0, first.output()
    assert "stopped:" in first.output()
    # Everything read was written once and acknowledged; the rest is left unread for the next scorer.
    assert broker.unacknowledged() == 0
    read = broker.delivered()
    assert 500 <= read < len(ids)
    assert sorted(output["message_id"] for output in broker.read()) == sorted(ids[:read])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_poison_messages_go_to_dead_letters_with_reasons(broker: Broker, bundle_folder: Path, tmp_path: Path) -> None:
    good = rows(200, seed=5)
    poison = {
        b"not json at all": "not JSON",
        b"[1, 2, 3]": "not an object",
        b'{"customer_id": 1, "amount": 3.5}': "the message lacks 4 input column(s) the model needs",
        good[0].replace(b'"amount": ', b'"amount": "lots", "was": '): "column 'amount' must hold number values",
        b"\xff\xfe binary": "not JSON",
    }
    published = broker.publish(good[:100] + list(poison) + good[100:])
    port = _free_port()
    scorer = Scorer(
        tmp_path / "scorer.log", str(bundle_folder), "--source", broker.source(), "--sink", broker.sink(),
        "--dead-letter", broker.sink("dead"), "--metrics-port", str(port), "--explain", "2",
    )  # fmt: skip
    scorer.wait_started()
    until(lambda: broker.count() + broker.count("dead") >= len(published), 60, "every message scored or dead")
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert scorer.stop() == 0, scorer.output()

    outputs, dead = broker.read(), broker.read("dead")
    assert len(outputs) == len(good)
    assert all(len(o["reasons"].split("; ")) == 2 and set(o["contributions"]) >= {"amount", "plan"} for o in outputs)
    expected = dict(zip(published[100:105], poison.items(), strict=True))
    assert sorted(d["message_id"] for d in dead) == sorted(expected)
    for letter in dead:
        body, reason = expected[letter["message_id"]]
        assert reason in letter["reason"]
        assert letter.get("message", "").encode() == body or letter.get("message_hex") == body.hex()
    assert f"lathe_stream_dead_letters_total {len(poison)}.0" in metrics
    assert f"lathe_stream_messages_scored_total {len(good)}.0" in metrics
