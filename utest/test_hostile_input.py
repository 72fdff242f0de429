"""The reference system against hostile input (protocol.md sections 2 and 9), over real
sockets and a real TimescaleDB: JSON at its edges, malformed handshakes, rate-limited ids,
a client that stops reading, and handshake failures in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import Peer, RunningSystem
from dashboards.handshakes import HandshakeLog
from LoadGenerator.slowconsumer import SMALL_WINDOW, run_slow_consumer
from LoadGenerator.wsconn import WsConnection, open_connection

HUGE = "9" * 5000
NO_RATE_LIMIT = {"RATE_LIMIT_PER_S": "10000", "RATE_LIMIT_BURST": "10000"}


@pytest.mark.parametrize("text", [
    '{"type": "ping", "timestamp": NaN}',
    '{"type": "ping", "timestamp": Infinity}',
    '{"type": "metric_update", "metric": "pain", "value": -Infinity}',
])
def test_nan_and_infinity_are_invalid_json(system: RunningSystem, text: str) -> None:
    with Peer(system.url("pulse")) as peer:
        peer.send(text)
        assert peer.next("error")["code"] == "invalid_json"
        assert peer.request({"type": "ping", "timestamp": 1}, "pong")["timestamp"] == 1


@pytest.mark.parametrize("text", [
    '{"type": "ping", "timestamp": 1e309, "id": "x"}',
    '{"type": "ping", "timestamp": ' + HUGE + ', "id": "x"}',
    '{"type": "metric_update", "metric": "pain", "value": ' + HUGE + ', "id": "x"}',
    '{"type": "metrics", "data": {"pain": 0.3}, "timestamp": ' + HUGE + ', "id": "x"}',
    '{"type": "resume", "session_id": "s", "last_seq": ' + HUGE + ', "id": "x"}',
])
def test_numbers_out_of_range_are_validation_errors_with_the_id(system: RunningSystem,
                                                               text: str) -> None:
    with Peer(system.url("pulse")) as peer:
        peer.send(text)
        error = peer.next("error")
        assert (error["code"], error["id"]) == ("validation_error", "x")


def test_an_out_of_range_id_is_a_validation_error(system: RunningSystem) -> None:
    with Peer(system.url("pulse")) as peer:
        peer.send('{"type": "ping", "timestamp": 1, "id": ' + HUGE + "}")
        error = peer.next("error")
        assert error["code"] == "validation_error" and "id" not in error


def test_no_frame_the_server_sends_holds_nan_or_infinity(system: RunningSystem) -> None:
    with connect(system.url("pulse")) as ws:
        ws.send('{"type": "ping", "timestamp": 1e308, "id": 1}')
        for _ in range(5):
            text = ws.recv(timeout=5)
            frame = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} sent"))
            if frame.get("id") == 1:
                break
        assert frame["type"] == "pong" and frame["timestamp"] == 1e308


@pytest.mark.parametrize("field", [
    '"id": "\\ud800"', '"source": "\\ud800"', '"metric": "\\udfff"', '"type": "\\ud800"',
])
def test_a_lone_surrogate_never_breaks_the_reply(system: RunningSystem, field: str) -> None:
    base = {"type": "metric_update", "metric": "pain", "value": 0.3, "id": "k"}
    text = json.dumps(base)[:-1] + ", " + field + "}"  # the later key wins in JSON objects
    with connect(system.url("pulse")) as ws:  # a frame that is not UTF-8 would fail recv
        ws.recv(timeout=5)
        ws.send(text)
        while (reply := json.loads(ws.recv(timeout=5)))["type"] in ("heartbeat",):
            pass
        ws.send('{"type": "ping", "timestamp": 5}')
        while (pong := json.loads(ws.recv(timeout=5)))["type"] != "pong":
            pass
    assert reply["type"] in ("metrics_received", "error")
    assert pong["timestamp"] == 5


def test_a_metric_with_a_lone_surrogate_id_is_acked_and_reaches_the_engine(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system()
    with Peer(system.url("pulse")) as peer:
        peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
        peer.send('{"type":"metric_update","metric":"pain","value":0.99,"source":"x",'
                  '"id":"\\ud800"}')
        ack = peer.next("metrics_received")
        alert = peer.next("slo_alert")["alert"]
    assert ack["id"] == "\ud800"
    assert (alert["metric"], alert["priority"]) == ("pain", "P0")
    with psycopg2.connect(system.app.config.database_url) as db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics WHERE source = 'x'")
        assert cursor.fetchone() == (1,)


@pytest.mark.parametrize("tokens", [{}, {"AUTH_TOKENS": "p1:producer",
                                         "ALLOWED_ORIGINS": "https://ok.example"}])
@pytest.mark.parametrize("header", ["Origin", "Authorization"])
def test_a_repeated_origin_or_authorization_header_is_refused_with_400(
        make_system: Callable[..., RunningSystem], tokens: dict[str, str],
        header: str) -> None:
    system = make_system(tokens)
    value = "https://ok.example" if header == "Origin" else "Bearer p1"
    with pytest.raises(InvalidStatus) as raised:
        connect(system.url("pulse"), additional_headers=[(header, value), (header, value)])
    assert raised.value.response.status_code == 400


def test_rate_limited_errors_carry_the_id_of_their_message(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"RATE_LIMIT_PER_S": "5", "RATE_LIMIT_BURST": "5"})
    with Peer(system.url("pulse")) as peer:
        for n in range(20):
            peer.send({"type": "ping", "timestamp": n, "id": n})
        answers = [json.loads(peer.ws.recv(timeout=5)) for _ in range(20)]
    limited = [a for a in answers if a.get("code") == "rate_limited"]
    assert limited
    assert sorted(a["id"] for a in answers) == list(range(20))


def test_a_client_that_stops_reading_is_closed_with_1008_and_not_buffered(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system({"MAX_MESSAGE_BYTES": "16384", **NO_RATE_LIMIT})  # no rate 1008
    result = run_slow_consumer(system.url("pulse"), '{"type":"ping","id":"{id}"}',
                               rate=2000, unread_bytes=4 * 16384 + 64 * 1024,
                               max_seconds=15, id_digits=64)
    assert (result["ended"], result["close_code"]) == ("close frame", 1008)
    assert result["replies_read"] < result["sent"]


@contextmanager
def never_reading_client(system: RunningSystem, pings: int) -> Iterator[WsConnection]:
    """A client with a small receive window that sends ``pings`` pings (64-digit ids, so
    the pongs add up) and will never read a byte; closed on exit."""
    conn = open_connection(system.url("pulse"), socket_options=SMALL_WINDOW)
    try:
        for number in range(pings):
            conn.send_text(b'{"type":"ping","id":"%064d"}' % number)
        deadline = time.monotonic() + 10
        while conn.backlog and time.monotonic() < deadline:
            conn.write()
            time.sleep(0.01)
        assert not conn.backlog, "the server stopped reading the pings"
        yield conn
    finally:
        conn.close()


def wait_until_gone(system: RunningSystem, within_s: float) -> float:
    """Seconds until Pulse holds no connection; fails after ``within_s``."""
    start = time.monotonic()
    while system.app.clients["pulse"]:
        assert time.monotonic() - start < within_s, "the connection is still held"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_client_that_never_reads_is_closed_with_1008_and_then_aborted(
        make_system: Callable[..., RunningSystem]) -> None:
    # The close frame waits behind everything unsent: only an abort can end the connection.
    system = make_system({"MAX_MESSAGE_BYTES": "16384", **NO_RATE_LIMIT})
    system.app.UNREAD_CLOSE_TIMEOUT_S = 0.5
    with never_reading_client(system, 3000):  # ~400 KB of pongs for a bound of 64 KiB
        assert wait_until_gone(system, 10) < 10


def test_keepalive_closes_a_client_whose_writes_are_stuck_below_the_unsent_bound(
        make_system: Callable[..., RunningSystem]) -> None:
    # ~200 KB of pongs: the transport holds more than its 64 KiB high-water mark, so a
    # ping waiting for it to drain would wait forever; the bound (4 MiB) is not reached.
    system = make_system(NO_RATE_LIMIT)
    system.app.KEEPALIVE_S = 0.5
    system.app.CLOSE_TIMEOUT_S = 0.5
    with never_reading_client(system, 1500):
        assert wait_until_gone(system, 10) < 10


def test_shutdown_does_not_wait_for_a_client_that_never_reads(
        make_system: Callable[..., RunningSystem]) -> None:
    system = make_system(NO_RATE_LIMIT)
    system.app.CLOSE_TIMEOUT_S = 0.5
    with never_reading_client(system, 1500):
        stopped = asyncio.run_coroutine_threadsafe(system.app.stop(), system.loop)
        stopped.result(timeout=15)


def test_dropped_handshakes_log_one_warning_line_each_at_a_bounded_rate(
        system: RunningSystem, caplog: pytest.LogCaptureFixture) -> None:
    port = system.app.ports["pulse"]
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\n")  # and gone before the request ends
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                "opening handshake failed" in r.getMessage() for r in caplog.records):
            time.sleep(0.05)  # polling for the log line, not synchronisation
    failures = [r for r in caplog.records if "opening handshake failed" in r.getMessage()]
    assert failures
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in failures)
    assert len(failures) <= 15  # a burst of 10, then one a second


def test_the_handshake_log_says_how_many_lines_it_left_out() -> None:
    now = [0.0]
    logger = logging.getLogger("test.handshakes")
    handshake_log = HandshakeLog(logger, per_s=1, burst=2, clock=lambda: now[0])
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for _ in range(5):
            handshake_log.refused("pulse", 401, "unknown bearer token\n")
        now[0] = 1.0
        handshake_log.refused("pulse", 401, "unknown bearer token\n")
    finally:
        logger.removeHandler(handler)
    assert records[:2] == ["handshake refused: HTTP 401, unknown bearer token"] * 2
    assert records[2:] == ["handshake refused: HTTP 401, unknown bearer token "
                           "(3 more not logged)"]
