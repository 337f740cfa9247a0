"""Prometheus metrics of a server: requests, latency, errors, rows scored and the model served."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from lathe.serve._model import Holder

ROUTES = ("/predict", "/explain", "/model", "/health", "/ready", "/metrics", "/openapi.json", "/docs")
# Latency buckets from 250 µs: a one-row prediction answers in about a millisecond.
BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The server's metrics, in a registry of their own (one per app); the model's are read from
    ``holder`` when scraped."""

    def __init__(self, holder: Holder) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lathe_requests", "HTTP requests answered, by route and status.", ["route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "lathe_request_errors", "Requests answered with a 4xx or 5xx status, by route.", ["route"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "lathe_request_seconds", "Time to answer a request, by route.", ["route"], buckets=BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.rows = Counter("lathe_rows_scored", "Rows predicted or explained.", registry=self.registry)
        version = Gauge(
            "lathe_model_version", "Registry version of the model served (0 for a bundle folder).",
            registry=self.registry,
        )  # fmt: skip
        version.set_function(lambda: holder.current.version or 0)
        swaps = Gauge(
            "lathe_model_swaps", "New production versions swapped in since the start.", registry=self.registry
        )
        swaps.set_function(lambda: holder.swaps)

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one answered request; paths outside ``ROUTES`` are counted as ``other``."""
        route = path if path in ROUTES else "other"
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(route).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)
