"""Scoring a broker's stream of rows: ``lathe stream``.

``stream`` reads rows as JSON messages from Redis Streams (a consumer group) or NATS JetStream (a
durable pull consumer), scores them in micro-batches with a bundle or a registered model (followed
and hot-swapped as ``lathe serve`` does), writes one output per message to another stream, and
acknowledges a message only once its output is acknowledged: at least once. A message that cannot
be scored goes to a dead-letter stream with the reason.

>>> stream("late", "nats://127.0.0.1:4222/flights?durable=scorer", "nats://127.0.0.1:4222/scored")  # doctest: +SKIP
"""

from __future__ import annotations

from lathe.stream._broker import BROKERS, Message, Sink, Source, open_sink, open_source
from lathe.stream._metrics import Metrics
from lathe.stream._run import Options, pipeline, stream

__all__ = [
    "BROKERS",
    "Message",
    "Metrics",
    "Options",
    "Sink",
    "Source",
    "open_sink",
    "open_source",
    "pipeline",
    "stream",
]
