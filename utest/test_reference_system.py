"""The reference system over real sockets and a real TimescaleDB."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from websockets.sync.client import connect

from conftest import RunningSystem


def receive(ws, wanted: str, timeout: float = 5.0) -> dict:
    """Next message of type ``wanted``; other types (heartbeats) are skipped."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == wanted:
            return message


@pytest.mark.parametrize("dashboard", ["pulse", "seams", "voices"])
def test_welcome_names_the_dashboard(system: RunningSystem, dashboard: str) -> None:
    with connect(system.url(dashboard)) as ws:
        welcome = json.loads(ws.recv(timeout=5))
    assert welcome["type"] == "welcome"
    assert welcome["dashboard"] == dashboard
    assert welcome["protocol_version"] == "1.0"
    assert welcome["heartbeat_interval_ms"] == 100
    assert isinstance(welcome["session_id"], str) and welcome["session_id"]
    assert isinstance(welcome["server_time"], int)


def test_ping_is_answered_with_pong_echoing_timestamp_and_id(system: RunningSystem) -> None:
    with connect(system.url("pulse")) as ws:
        ws.send(json.dumps({"type": "ping", "timestamp": 1640995200000, "id": "p1"}))
        pong = receive(ws, "pong")
    assert pong["timestamp"] == 1640995200000
    assert pong["id"] == "p1"
    assert isinstance(pong["server_time"], int)


def test_heartbeats_count_per_connection_from_one(system: RunningSystem) -> None:
    with connect(system.url("voices")) as ws:
        seqs = [receive(ws, "heartbeat")["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]


@pytest.mark.parametrize(("frame", "code"), [
    ("not json", "invalid_json"),
    ("", "invalid_json"),
    ("{incomplete json", "invalid_json"),
    ("null", "invalid_message"),
    ("42", "invalid_message"),
    ("[]", "invalid_message"),
    ('{"no_type": 1}', "invalid_message"),
    ('{"type": "teleport", "id": 9}', "unknown_type"),
])
def test_bad_frames_get_the_contract_error_and_the_connection_stays(
        system: RunningSystem, frame: str, code: str) -> None:
    with connect(system.url("pulse")) as ws:
        ws.send(frame)
        error = receive(ws, "error")
        assert error["code"] == code
        assert error["message"]
        ws.send(json.dumps({"type": "ping", "timestamp": 1}))
        assert receive(ws, "pong")["timestamp"] == 1


def test_unknown_type_echoes_the_id(system: RunningSystem) -> None:
    with connect(system.url("seams")) as ws:
        ws.send(json.dumps({"type": "teleport", "id": 9}))
        assert receive(ws, "error")["id"] == 9


def test_binary_frame_is_invalid_message(system: RunningSystem) -> None:
    with connect(system.url("pulse")) as ws:
        ws.send(b"\x00\x01")
        assert receive(ws, "error")["code"] == "invalid_message"


def test_healthz_reports_the_dashboard_and_database(system: RunningSystem) -> None:
    with urllib.request.urlopen(system.http("seams", "/healthz"), timeout=5) as answer:
        body = json.loads(answer.read())
    assert answer.status == 200
    assert body == {"status": "ok", "dashboard": "seams", "database": "ok"}


def test_metrics_exposes_prometheus_series(system: RunningSystem) -> None:
    with (connect(system.url("pulse")),
          urllib.request.urlopen(system.http("pulse", "/metrics"), timeout=5) as answer):
        text = answer.read().decode()
    assert 'dashboard_connections_active{dashboard="pulse"}' in text


def test_unknown_http_path_is_404(system: RunningSystem) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(system.http("pulse", "/nope"), timeout=5)
    raised.value.close()  # an unclosed error keeps the socket, delaying server shutdown
    assert raised.value.code == 404
