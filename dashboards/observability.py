"""Prometheus series of protocol.md section 9, in one registry per application."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Observability:
    """Owns the registry so tests can run several applications in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections_active = Gauge(
            "dashboard_connections_active", "Open WebSocket connections",
            ["dashboard"], registry=self.registry)
        self.messages_received = Counter(
            "dashboard_messages_received", "Client messages received",
            ["dashboard", "type"], registry=self.registry)
        self.messages_sent = Counter(
            "dashboard_messages_sent", "Server messages sent",
            ["dashboard", "type"], registry=self.registry)
        self.errors = Counter(
            "dashboard_errors", "Error replies sent", ["dashboard", "code"],
            registry=self.registry)
        self.ack_latency = Histogram(
            "dashboard_ack_latency_seconds", "From a metrics message's arrival to its ack",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry)

        self.metric_value = Gauge(
            "slo_metric_value", "Current value of each SLO metric", ["metric"],
            registry=self.registry)
        self.alerts = Counter(
            "slo_alerts", "SLO alerts opened or escalated", ["metric", "priority"],
            registry=self.registry)
        self.voice_active = Gauge(
            "voice_active", "1 while a voice is active", ["voice"], registry=self.registry)
        self.notifications = Counter(
            "alert_notifications", "Alert notification attempts", ["channel", "outcome"],
            registry=self.registry)

    def preset(self, dashboards: Iterable[str], metrics: Iterable[str], voices: Iterable[str],
               channels: Iterable[str], outcomes: Iterable[str]) -> None:
        """Create every labelled series at zero, so a scrape sees them before first use."""
        metrics = list(metrics)
        for dashboard in dashboards:
            self.connections_active.labels(dashboard).set(0)
        for metric in metrics:
            for priority in ("P0", "P1", "P2"):
                self.alerts.labels(metric, priority)
        for voice in voices:
            self.voice_active.labels(voice).set(0)
        for channel in channels:
            for outcome in outcomes:
                self.notifications.labels(channel, outcome)

    @functools.cache  # noqa: B019 - one Observability per app, label children never change
    def sent(self, dashboard: str, kind: str) -> Counter:
        return self.messages_sent.labels(dashboard, kind)

    @functools.cache  # noqa: B019
    def received(self, dashboard: str, kind: str) -> Counter:
        return self.messages_received.labels(dashboard, kind)

    @functools.cache  # noqa: B019
    def value(self, metric: str) -> Gauge:
        return self.metric_value.labels(metric)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
