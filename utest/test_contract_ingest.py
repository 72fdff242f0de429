"""Ingest: validation, ack after commit, the stored rows, outages (real DB, real sockets)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

import psycopg2
import pytest

from conftest import Peer, RunningSystem
from EmbeddedStack.pgcluster import PgCluster


def rows(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def dsn_of(system: RunningSystem) -> str:
    return system.app.config.database_url


def test_scenario_2_2_metrics_are_acked_and_stored(make_system: Callable[..., RunningSystem]):
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        ack = peer.request({"type": "metrics", "id": "m1", "data": {
            "clarity": 0.8, "chaos": 0.4, "trust": 0.7, "pain": 0.3}}, "metrics_received")
    assert ack["status"] == "ok" and ack["accepted"] == 4 and ack["id"] == "m1"
    assert isinstance(ack["timestamp"], int)
    stored = rows(dsn_of(system), "SELECT metric_name, value, source FROM metrics ORDER BY 1")
    assert stored == [("chaos", 0.4, "websocket"), ("clarity", 0.8, "websocket"),
                      ("pain", 0.3, "websocket"), ("trust", 0.7, "websocket")]


def test_every_ack_means_committed_rows(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system()
    peers = [Peer(system.url("pulse")) for _ in range(5)]
    for n in range(40):
        for i, peer in enumerate(peers):
            peer.send({"type": "metrics_batch", "id": n, "source": f"p{i}", "records": [
                {"metric": "trust", "value": 0.7}, {"metric": "pain", "value": 0.3}]})
    acked = sum(peer.next("metrics_received", id=n)["accepted"]
                for peer in peers for n in range(40))
    for peer in peers:
        peer.close()
    assert acked == 400
    assert rows(dsn_of(system), "SELECT count(*) FROM metrics")[0][0] == 400


@pytest.mark.parametrize("message", [
    {"type": "metrics", "data": {"clarity": 0.8, "chaos": 1.5}},
    {"type": "metrics", "data": {"clarity": 0.8, "chaos": True}},
    {"type": "metrics", "data": {"clarity": "0.8"}},
    {"type": "metrics", "data": {}},
    {"type": "metrics", "data": {"clarity": 0.8}, "source": "x'; DROP TABLE metrics;--"},
    {"type": "metrics", "data": {"clarity": 0.8}, "source": "<script>alert(1)</script>"},
    {"type": "metric_update", "metric": "clarity<img>", "value": 0.5},
    {"type": "metrics_batch", "records": [{"metric": "pain", "value": 0.3},
                                          {"metric": "pain", "value": -0.1}]},
    {"type": "metrics_batch", "records": []},
])
def test_an_invalid_message_is_rejected_whole_and_nothing_is_stored(
        make_system: Callable[..., RunningSystem], message: dict[str, object]) -> None:
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        error = peer.request({**message, "id": "bad"}, "error")
    assert error["code"] == "validation_error" and error["id"] == "bad"
    assert rows(dsn_of(system), "SELECT count(*) FROM metrics")[0][0] == 0


def test_nan_and_infinity_are_rejected(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        for literal in ("NaN", "Infinity", "-Infinity"):  # not JSON (RFC 8259)
            peer.send('{"type":"metric_update","metric":"pain","value":' + literal + '}')
            assert peer.next("error")["code"] == "invalid_json"
    assert rows(dsn_of(system), "SELECT count(*) FROM metrics")[0][0] == 0


def test_outage_gives_errors_and_503_then_recovers(
        make_system: Callable[..., RunningSystem], cluster: PgCluster) -> None:
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        assert peer.request({"type": "metric_update", "metric": "pain", "value": 0.3},
                            "metrics_received")["accepted"] == 1
        cluster.pause()
        try:
            error = peer.request({"type": "metric_update", "id": 7, "metric": "pain",
                                  "value": 0.31}, "error", timeout=20)
            assert error["code"] == "internal_error" and error["id"] == 7
            assert "not stored" in error["message"] or "nothing was stored" in error["message"]
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(system.http("pulse", "/healthz"), timeout=10)
            assert raised.value.code == 503
            assert json.loads(raised.value.read())["database"] == "down"
            raised.value.close()
        finally:
            cluster.resume()
        ack = peer.request({"type": "metric_update", "metric": "pain", "value": 0.32},
                           "metrics_received", timeout=20)
        assert ack["accepted"] == 1
    values = [r[0] for r in rows(dsn_of(system), "SELECT value FROM metrics ORDER BY timestamp")]
    assert values == [0.3, 0.32]  # the unacknowledged record was not stored


def test_viewer_may_subscribe_but_not_send(make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"AUTH_TOKENS": "v1:viewer,p1:producer"})
    viewer = Peer(system.url("pulse"), additional_headers={"Authorization": "Bearer v1"})
    with viewer:
        assert viewer.request({"type": "subscribe", "channels": ["pain"]},
                              "subscribed")["status"] == "ok"
        error = viewer.request({"type": "metric_update", "metric": "pain", "value": 0.3,
                                "id": 1}, "error")
        assert error["code"] == "forbidden" and error["id"] == 1
        assert viewer.request({"type": "ack_alert", "alert_id": "x"}, "error")["code"] == \
            "forbidden"
    with Peer(system.url("pulse") + "/?token=p1") as producer:
        assert producer.request({"type": "metric_update", "metric": "pain", "value": 0.3},
                                "metrics_received")["accepted"] == 1
