"""Limits and protection (protocol.md section 9) and /metrics, over real sockets."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import Peer, RunningSystem


def test_oversized_frame_closes_with_1009(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"MAX_MESSAGE_BYTES": "4096"})
    with Peer(system.url("pulse"), max_size=None) as peer:
        peer.send("x" * 5000)
        with pytest.raises(ConnectionClosed):
            while True:
                peer.ws.recv(timeout=5)
        assert peer.ws.close_code == 1009


def test_rate_limit_answers_rate_limited_then_recovers(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"RATE_LIMIT_PER_S": "5", "RATE_LIMIT_BURST": "10"})
    with Peer(system.url("pulse")) as peer:
        for n in range(30):
            peer.send({"type": "ping", "timestamp": n, "id": n})
        pongs = errors = 0
        while pongs + errors < 30:
            frame = json.loads(peer.ws.recv(timeout=5))
            if frame["type"] == "pong":
                pongs += 1
            elif frame["type"] == "error":
                assert frame["code"] == "rate_limited" and frame["retry_after_ms"] > 0
                errors += 1
        assert 10 <= pongs <= 12 and errors == 30 - pongs


def test_sustained_abuse_closes_with_1008(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"RATE_LIMIT_PER_S": "1", "RATE_LIMIT_BURST": "1"})
    with Peer(system.url("pulse")) as peer:
        # Far more than 1000 excess messages, so even a slow, loaded server sees over 1000
        # rejections inside one 10 s window.
        with pytest.raises(ConnectionClosed):
            for _ in range(3000):
                peer.send('{"type":"ping"}')
            while True:
                peer.ws.recv(timeout=20)
        assert peer.ws.close_code == 1008


def test_connection_limit_refuses_with_503_and_retry_after(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"MAX_CONNECTIONS": "3"})
    peers = [Peer(system.url("voices")) for _ in range(3)]
    with pytest.raises(InvalidStatus) as raised:
        connect(system.url("voices"))
    assert raised.value.response.status_code == 503
    assert int(raised.value.response.headers["Retry-After"]) > 0
    assert peers[0].request({"type": "ping", "timestamp": 1}, "pong")["timestamp"] == 1
    with Peer(system.url("pulse")) as other:  # the limit is per dashboard
        assert other.welcome["dashboard"] == "pulse"
    peers.pop().close()
    with Peer(system.url("voices")) as again:
        assert again.welcome["dashboard"] == "voices"
    for peer in peers:
        peer.close()


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 401),
    ({"Authorization": "Bearer p1", "Origin": "https://evil.example"}, 403),
])
def test_handshake_refusals(make_system: Callable[..., RunningSystem],
                            headers: dict[str, str], status: int) -> None:
    system = make_system({"AUTH_TOKENS": "p1:producer",
                          "ALLOWED_ORIGINS": "https://dash.example"})
    with pytest.raises(InvalidStatus) as raised:
        connect(system.url("pulse"), additional_headers=headers)
    assert raised.value.response.status_code == status
    with Peer(system.url("pulse"), additional_headers={
            "Authorization": "Bearer p1", "Origin": "https://dash.example"}) as ok:
        assert ok.welcome["type"] == "welcome"


def test_metrics_endpoint_has_the_contract_series(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        peer.request({"type": "metric_update", "metric": "pain", "value": 0.75},
                     "metrics_received")
        peer.send("nope")
        peer.next("error")
        with urllib.request.urlopen(system.http("seams", "/metrics"), timeout=5) as answer:
            text = answer.read().decode()
    for series in ('dashboard_connections_active{dashboard="pulse"} 1.0',
                   'dashboard_messages_received_total{dashboard="pulse",type="metric_update"}',
                   'dashboard_messages_sent_total{dashboard="pulse",type="metrics_received"}',
                   'dashboard_errors_total{code="invalid_json",dashboard="pulse"} 1.0',
                   "dashboard_ack_latency_seconds_bucket",
                   'slo_metric_value{metric="pain"} 0.75',
                   'slo_alerts_total{metric="pain",priority="P0"} 1.0',
                   'voice_active{voice="kain"} 0.0',
                   'alert_notifications_total{channel="slack",outcome="sent"} 0.0'):
        assert series in text, series
