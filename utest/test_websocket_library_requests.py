"""Send Request, arrival times, the traffic log and the messages that name what happened,
against the library's own echo server (a reply by id is the echo of the request)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import timedelta

import pytest
from assertionengine import AssertionOperator
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    connect,
    kw,
    server_url_fixture,
    wslib_fixture,
)
from tls_support import robot_log_fixture, robot_messages  # noqa: F401  (fixtures)

from WebSocketLibrary import WebSocketLibrary

# -- Send Request --------------------------------------------------------------------------

def test_a_request_gets_a_uuid_and_returns_the_echoed_reply_and_its_round_trip(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    reply, ms = kw(wslib, "send_request", {"method": "sum", "params": [1, 2]},
                   {"method": "sum"})
    assert reply["method"] == "sum"
    assert uuid.UUID(reply["id"]).version == 4
    assert 0 < ms < 5000


def test_counter_ids_count_up_and_an_id_in_the_message_is_kept(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    first, _ = kw(wslib, "send_request", {"op": "a"}, id_format="counter")
    second, _ = kw(wslib, "send_request", {"op": "b"}, id_format="counter")
    assert (first["id"], second["id"]) == (1, 2)
    given, _ = kw(wslib, "send_request", {"op": "c", "request_id": "mine"},
                  id_field="request_id")
    assert given == {"op": "c", "request_id": "mine"}
    explicit, _ = kw(wslib, "send_request", {"op": "d"}, request_id=42)
    assert explicit["id"] == 42


def test_a_reply_that_does_not_match_fails_at_once_saying_why(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, alias="rpc")
    started = time.monotonic()
    with pytest.raises(AssertionError, match=(
            r"^The reply to request id=7 on 'rpc' \(ws://[^)]+\) does not match "
            r"\$\.result == '3': \$\.result: missing\n"
            r'  reply: \{"method":"sum","id":7\}$')):
        kw(wslib, "send_request", {"method": "sum"}, path="$.result",
           assertion_operator=AssertionOperator["=="], assertion_expected="3", request_id=7,
           timeout=timedelta(seconds=5), alias="rpc")
    assert time.monotonic() - started < 4  # no wait for the timeout


def test_a_request_without_a_reply_fails_naming_the_request_and_what_arrived(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, alias="rpc")
    # A command: the server answers later and without the id, so no reply carries it.
    with pytest.raises(AssertionError) as raised:
        kw(wslib, "send_request", {"cmd": "later", "delay_ms": 20}, request_id="r-1",
           timeout=timedelta(milliseconds=300), alias="rpc")
    text = str(raised.value)
    assert re.match(r"^No reply to request id='r-1' within 0\.3 s on 'rpc' \(ws://", text)
    assert "<- $.id: missing" in text  # the later answer is listed, and why it is not it


def test_a_request_must_be_a_json_object(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(ValueError, match=r"A request must be a JSON object to carry its id "
                                         r"in 'id'; got \[1\]\."):
        kw(wslib, "send_request", "[1]")
    with pytest.raises(ValueError, match=r"^A request is not valid JSON: '\{oops'"):
        kw(wslib, "send_request", "{oops")


# -- arrival times -------------------------------------------------------------------------

def test_arrival_times_of_the_last_wait_are_in_order_after_the_handshake(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 3, "type": "tick"})
    kw(wslib, "wait_for_messages", 3, {"type": "tick"})
    times = kw(wslib, "get_last_arrival_times")
    assert [t["since_previous_ms"] >= 0 for t in times] == [True] * 3
    assert times[0]["since_previous_ms"] == 0
    assert all(t["since_handshake_ms"] > 0 for t in times)
    assert [t["arrived"] for t in times] == sorted(t["arrived"] for t in times)
    assert kw(wslib, "get_last_message_arrival") == times[-1]["arrived"]


def test_arrival_times_before_any_wait_fail(wslib: WebSocketLibrary, server_url: str) -> None:
    kw(wslib, "connect", server_url, alias="fresh")
    with pytest.raises(AssertionError, match=r"^No wait has returned a message on 'fresh' "):
        kw(wslib, "get_last_arrival_times")


# -- what the log says ---------------------------------------------------------------------

def test_the_traffic_log_shows_frames_no_wait_returned(
        wslib: WebSocketLibrary, server_url: str,
        robot_log: pytest.LogCaptureFixture) -> None:
    kw(wslib, "set_traffic_log", "debug")
    connect(wslib, server_url, alias="t")
    kw(wslib, "send_json", {"cmd": "burst", "count": 2, "type": "unwaited"}, alias="t")
    kw(wslib, "wait_for_message", {"type": "unwaited", "seq": 1}, alias="t")
    debug = robot_messages(robot_log, logging.DEBUG)
    assert any(m.startswith("<< 't' (") and '"type": "unwaited", "seq": 0' in m
               for m in debug), debug
    assert kw(wslib, "set_traffic_log", "none") == "debug"


def test_without_the_traffic_log_unwaited_frames_are_not_logged(
        wslib: WebSocketLibrary, server_url: str,
        robot_log: pytest.LogCaptureFixture) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 2, "type": "unwaited"})
    kw(wslib, "wait_for_message", {"type": "unwaited", "seq": 1})
    assert not [m for m in robot_messages(robot_log) if '"seq": 0' in m]


def test_a_passing_negative_wait_says_what_it_watched(
        wslib: WebSocketLibrary, server_url: str,
        robot_log: pytest.LogCaptureFixture) -> None:
    connect(wslib, server_url, alias="quiet")
    kw(wslib, "message_should_not_arrive", {"type": "alarm"},
       within=timedelta(milliseconds=100), alias="quiet")
    info = robot_messages(robot_log, logging.INFO)
    assert any(re.match(r'^No message matching \{"type": "alarm"\} arrived on \'quiet\' '
                        r"\(ws://[^)]+\) in 0\.1 s; 0 other frame\(s\) buffered\.$", m)
               for m in info), info


def test_bytes_sent_in_a_text_frame_are_logged_as_text(
        wslib: WebSocketLibrary, server_url: str,
        robot_log: pytest.LogCaptureFixture) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_bytes", b'{"type": "ping"')
    info = robot_messages(robot_log, logging.INFO)
    assert '>> <text frame of 15 bytes, sent unchecked> {"type": "ping"' in info


def test_invalid_json_to_send_points_to_send_text_and_a_bad_template_does_not(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(ValueError, match=r"^The message \(use 'Send Text' for text that is "
                                         r"not JSON\) is not valid JSON: '\{oops'"):
        kw(wslib, "send_json", "{oops")
    with pytest.raises(ValueError) as raised:
        kw(wslib, "wait_for_message", "{oops", timeout=timedelta(milliseconds=10))
    assert "Send Text" not in str(raised.value)


def test_failures_name_the_alias_of_the_connection(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, alias="first")
    connect(wslib, server_url, alias="second")
    with pytest.raises(AssertionError, match=r"^No message matching \{\"type\": \"x\"\} within "
                                             r"0\.05 s on 'second' \(ws://"):
        kw(wslib, "wait_for_message", {"type": "x"}, timeout=timedelta(milliseconds=50),
           alias="second")


def test_counted_frames_are_not_called_too_early(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 2, "type": "few"})
    with pytest.raises(AssertionError) as raised:
        kw(wslib, "wait_for_messages", 3, {"type": "few"},
           timeout=timedelta(milliseconds=200))
    text = str(raised.value)
    assert text.startswith('Only 2 of 3 messages matching {"type": "few"} arrived within 0.2 s')
    assert "matches (counted)" in text
    assert "too early" not in text
