"""Prometheus series of protocol.md section 9, in one registry per application."""

from __future__ import annotations

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

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
