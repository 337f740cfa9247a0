"""Prometheus metrics of a stream: messages scored, dead letters, batch time, lag and the model."""

from __future__ import annotations

from typing import Any

from lathe._following import Holder
from lathe.errors import InvalidParameterError, MissingDependencyError

# Batch time buckets from 1 ms: a batch of 100 rows scores in a few.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The stream's counts, kept always; served in Prometheus's text format by ``serve`` if asked."""

    def __init__(self, holder: Holder) -> None:
        self.holder = holder
        self.scored = self.dead = self.batches = 0
        self.waiting: int | None = None
        self._prometheus: Any = None

    def batch(self, scored: int, dead: int, seconds: float) -> None:
        """Count one batch written and acknowledged, ``seconds`` after it was read."""
        self.scored += scored
        self.dead += dead
        self.batches += 1
        if self._prometheus is not None:
            self._prometheus.observe(scored, dead, seconds)

    def serve(self, host: str, port: int) -> None:
        """Answer ``GET /metrics`` on ``host:port`` from a background thread."""
        try:
            import prometheus_client
        except ImportError:
            raise MissingDependencyError(
                "--metrics-port needs prometheus-client: pip install 'lathe[stream]'"
            ) from None
        self._prometheus = _Prometheus(prometheus_client, self)
        try:
            prometheus_client.start_http_server(port, host, registry=self._prometheus.registry)
        except OSError as exc:
            raise InvalidParameterError(f"--metrics-port {port}: cannot listen on {host}:{port} ({exc})") from None


class _Prometheus:
    def __init__(self, client: Any, metrics: Metrics) -> None:
        self.registry = registry = client.CollectorRegistry()
        self.scored = client.Counter("lathe_stream_messages_scored", "Messages scored and written.", registry=registry)
        self.dead = client.Counter("lathe_stream_dead_letters", "Messages that could not be scored.", registry=registry)
        self.seconds = client.Histogram(
            "lathe_stream_batch_seconds", "Time from reading a batch to acknowledging it.", buckets=BUCKETS,
            registry=registry,
        )  # fmt: skip
        gauges = {
            "lathe_stream_waiting": ("Messages the group has not read yet (lag).", lambda: metrics.waiting or 0),
            "lathe_model_version": (
                "Registry version of the model scoring (0 for a bundle folder).",
                lambda: metrics.holder.current.version or 0,
            ),
            "lathe_model_swaps": ("New production versions swapped in since the start.", lambda: metrics.holder.swaps),
        }
        for name, (text, read) in gauges.items():
            client.Gauge(name, text, registry=registry).set_function(read)

    def observe(self, scored: int, dead: int, seconds: float) -> None:
        self.scored.inc(scored)
        self.dead.inc(dead)
        self.seconds.observe(seconds)
