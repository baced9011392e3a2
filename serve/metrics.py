"""What `GET /metrics` serves, in Prometheus text format (one registry per running service)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from connectors.http import THROTTLED
from engine.sync.report import RunReport


class Metrics:
    """The service's counters, gauges and the change-to-synced latency histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("joist_events_received", "Webhook events accepted", ["system"], registry=r)
        self.rejected = Counter(
            "joist_events_rejected", "Webhook deliveries refused (signature, shape)", ["system"], registry=r
        )
        self.duplicates = Counter(
            "joist_events_duplicate", "Webhook events already in the inbox", ["system"], registry=r
        )
        self.inbox_depth = Gauge("joist_inbox_depth", "Events waiting to be synced", registry=r)
        self.latency = Histogram(
            "joist_sync_latency_seconds",
            "From an event's arrival to its record's sync committed",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.records = Counter("joist_records", "Records handled by syncs, by action", ["action"], registry=r)
        self.runs = Counter("joist_runs", "Syncs run by the service, by kind", ["kind"], registry=r)
        self.run_failures = Counter("joist_run_failures", "Syncs that stopped on an error", ["kind"], registry=r)
        self.last_poll = Gauge(
            "joist_last_poll_timestamp", "When the last polling sync finished (Unix time)", registry=r
        )
        r.register(_Throttled())

    def count(self, report: RunReport, kind: str) -> None:
        """Add one finished sync's per-action counts."""
        self.runs.labels(kind).inc()
        for action, n in report.totals().items():
            if n:
                self.records.labels(action).inc(n)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Throttled(Collector):
    """429 answers the connectors of this process received, by host."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("joist_throttled_responses", "429 answers from Procore or QBO", labels=["host"])
        for host, n in sorted(THROTTLED.snapshot().items()):
            family.add_metric([host], n)
        yield family
