"""Sending every kind of frame, and receiving by template, JSONPath, regex, type and count."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from assertionengine import AssertionOperator
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    SHORT,
    ZERO,
    connect,
    context,
    kw,
    server_url_fixture,
    sync,
    wslib_fixture,
)

from WebSocketLibrary import WebSocketLibrary

GT = AssertionOperator[">"]
EQ = AssertionOperator["=="]
CONTAINS = AssertionOperator["contains"]

UPDATE_SCHEMA = {
    "type": "object",
    "required": ["type", "seq"],
    "properties": {"type": {"const": "update"}, "seq": {"type": "integer", "minimum": 0}},
}


# -- sending -------------------------------------------------------------------------------

def test_send_binary_is_echoed_as_a_binary_frame(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_binary", b"\x00\x01\xff")

    assert kw(wslib, "wait_for_message", type="binary") == b"\x00\x01\xff"


def test_send_bytes_sends_broken_json_in_a_text_frame(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_bytes", b'{"type": "ping"')

    assert kw(wslib, "wait_for_message", regex=r"^\{\"type\": \"ping\"$") == '{"type": "ping"'


def test_send_bytes_with_invalid_utf8_makes_the_server_close_with_1007(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_bytes", b"\xff\xfe", frame_type="text")

    assert kw(wslib, "connection_should_be_closed", 1007, timeout=timedelta(seconds=5)) == 1007


def test_send_bytes_rejects_an_unknown_frame_type(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(ValueError, match="frame_type must be text or binary"):
        kw(wslib, "send_bytes", b"x", frame_type="ping")


def test_a_10_mb_text_frame_goes_out_and_comes_back_whole(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)

    assert kw(wslib, "send_frame_of_size", "10 MB", fill="ab") == 10_000_000
    echoed = kw(wslib, "wait_for_message", regex="^abab", timeout=timedelta(seconds=20))
    assert len(echoed) == 10_000_000


def test_send_frame_of_size_binary(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_frame_of_size", "1 KiB", frame_type="binary", fill="\x07")

    assert kw(wslib, "wait_for_message", type="binary") == b"\x07" * 1024


def test_send_at_rate_sends_on_schedule_with_sequence_numbers(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)

    report = kw(wslib, "send_at_rate", {"type": "load"}, 100, timedelta(seconds=0.2),
                sequence_field="seq")

    assert report["sent"] == report["planned"] == 20
    assert 0.18 <= report["elapsed_s"] < 2
    assert report["lag_max_ms"] >= report["lag_p99_ms"] >= 0
    got = kw(wslib, "wait_for_messages", 20, {"type": "load"})
    assert [message["seq"] for message in got] == list(range(20))


def test_send_at_rate_as_plain_text(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_at_rate", "tick", 50, timedelta(seconds=0.1), as_json=False)

    assert kw(wslib, "wait_for_messages", 5, regex="^tick$") == ["tick"] * 5


def test_sending_on_a_closed_connection_fails(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "close_connection")

    with pytest.raises(AssertionError, match=r"Cannot send on .*: the connection is closed "
                                             r"\(close code 1000\)"):
        kw(wslib, "send_text", "late")


# -- receiving -----------------------------------------------------------------------------

def test_wait_for_message_with_a_jsonpath_and_an_operator(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 5})

    got = kw(wslib, "wait_for_message", path="$.seq", assertion_operator=GT,
             assertion_expected="2")

    assert got == {"type": "update", "seq": 3}
    assert kw(wslib, "wait_for_message_where", "$.seq", EQ, "1") == {"type": "update", "seq": 1}


def test_wait_for_message_where_on_nested_lists(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"items": [{"id": 1}, {"id": 42}]})

    assert kw(wslib, "wait_for_message_where", "$.items[*].id", CONTAINS, "42") == {
        "items": [{"id": 1}, {"id": 42}]}


def test_a_path_alone_must_exist(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"a": 1})
    kw(wslib, "send_json", {"b": {"c": None}})

    assert kw(wslib, "wait_for_message", path="$.b.c") == {"b": {"c": None}}


def test_wait_for_message_with_a_regex_matches_non_json_text(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_text", "ERROR 42: disk full")

    assert kw(wslib, "wait_for_message", regex=r"^ERROR \d+") == "ERROR 42: disk full"


def test_wait_for_message_by_type(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_text", "plain")
    kw(wslib, "send_binary", b"\x01")
    kw(wslib, "send_json", {"n": 1})

    assert kw(wslib, "wait_for_message", type="binary") == b"\x01"
    assert kw(wslib, "wait_for_message", type="text") == "plain"
    assert kw(wslib, "wait_for_message", type="any") == {"n": 1}


def test_wait_for_messages_returns_n_in_order_and_consumes_them(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 6})

    got = kw(wslib, "wait_for_messages", 5, {"type": "update"})

    assert [m["seq"] for m in got] == [0, 1, 2, 3, 4]
    sync(wslib)
    assert kw(wslib, "get_buffered_messages") == [{"type": "update", "seq": 5}]


def test_wait_for_messages_fails_saying_how_many_arrived_and_consumes_nothing(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 3})
    sync(wslib)

    with pytest.raises(AssertionError, match=r"^Only 3 of 5 messages matching "
                                             r'\{"type": "update"\} arrived within 0\.3 s'):
        kw(wslib, "wait_for_messages", 5, {"type": "update"}, timeout=SHORT)
    assert len(kw(wslib, "get_buffered_messages", {"type": "update"})) == 3


def test_message_should_not_arrive_passes_on_silence(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    started = time.monotonic()

    kw(wslib, "message_should_not_arrive", {"type": "alert"}, within=timedelta(seconds=0.2))

    assert time.monotonic() - started >= 0.2


def test_message_should_not_arrive_fails_when_one_arrives_in_time(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "later", "delay_ms": 50, "message": {"type": "alert"}})

    with pytest.raises(AssertionError, match=r'^A message matching \{"type": "alert"\} '
                                             r"arrived after [\d.]+ ms on ws://"):
        kw(wslib, "message_should_not_arrive", {"type": "alert"}, within=timedelta(seconds=5))
    assert kw(wslib, "get_buffered_messages", {"type": "alert"}) == [{"type": "alert"}]


def test_message_should_not_arrive_fails_on_a_buffered_match_unless_ignored(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"type": "alert"})
    sync(wslib)

    with pytest.raises(AssertionError, match="was already buffered"):
        kw(wslib, "message_should_not_arrive", {"type": "alert"}, within=ZERO)
    kw(wslib, "message_should_not_arrive", {"type": "alert"}, within=timedelta(seconds=0.05),
       ignore_buffered=True)


def test_get_buffered_messages_with_criteria(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_text", "text")
    kw(wslib, "send_binary", b"\x02")
    kw(wslib, "send_json", {"n": 1})
    sync(wslib)

    everything = kw(wslib, "get_buffered_messages")
    assert everything[:3] == ["text", b"\x02", {"n": 1}]
    assert kw(wslib, "get_buffered_messages", type="binary") == [b"\x02"]
    assert kw(wslib, "get_buffered_messages", path="$.n") == [{"n": 1}]


def test_failure_message_explains_every_kind_of_frame(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_text", "plain")
    kw(wslib, "send_binary", b"\x01\x02")
    kw(wslib, "send_json", {"seq": 1})
    sync(wslib)

    with pytest.raises(AssertionError) as raised:
        kw(wslib, "wait_for_message", path="$.seq", assertion_operator=GT,
           assertion_expected="5", timeout=ZERO)

    text = str(raised.value)
    assert text.startswith("No message matching $.seq > '5' within 0 s on ws://")
    assert "Buffered: 3 frame(s); received in all: 5:" in text
    assert "plain  <- not JSON (text)" in text
    assert "<2 bytes binary: 01 02>  <- not JSON (binary)" in text
    assert """{"seq":1}  <- $.seq '1' (int) should be greater than '5' (int)""" in text


def test_regex_failure_names_the_pattern(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_text", "hello")
    sync(wslib)

    with pytest.raises(AssertionError, match=r"hello  <- text does not match /\^bye/"):
        kw(wslib, "wait_for_message", regex="^bye", timeout=ZERO)


def test_wait_for_message_where_fails_with_the_operator_reason(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"status": "degraded"})
    sync(wslib)

    with pytest.raises(AssertionError, match=r"'degraded' \(str\) should be 'ok' \(str\)"):
        kw(wslib, "wait_for_message_where", "$.status", EQ, "ok", timeout=ZERO)


# -- values and schemas --------------------------------------------------------------------

def test_get_json_value_returns_and_asserts(wslib: WebSocketLibrary) -> None:
    message = {"version": 3, "session": {"id": "abc"}}

    assert kw(wslib, "get_json_value", message, "$.session.id") == "abc"
    assert kw(wslib, "get_json_value", '{"n": 2}', "$.n", GT, "1") == 2
    with pytest.raises(AssertionError, match=r"\$.version '3' \(int\) should be less than"):
        kw(wslib, "get_json_value", message, "$.version", AssertionOperator["<"], "2")
    with pytest.raises(ValueError, match=r"JSONPath \$.missing selects nothing"):
        kw(wslib, "get_json_value", message, "$.missing")


def test_message_should_match_schema_passes_and_fails_listing_errors(
        wslib: WebSocketLibrary, tmp_path: Path) -> None:
    schema_file = tmp_path / "update.json"
    schema_file.write_text('{"type": "object", "required": ["type", "seq"], '
                           '"properties": {"seq": {"type": "integer"}}}')

    kw(wslib, "message_should_match_schema", {"type": "update", "seq": 1}, str(schema_file))
    kw(wslib, "message_should_match_schema", '{"type": "update", "seq": 2}', UPDATE_SCHEMA)
    with pytest.raises(AssertionError) as raised:
        kw(wslib, "message_should_match_schema", {"type": "other", "seq": -1}, UPDATE_SCHEMA)
    assert str(raised.value).splitlines() == [
        "The message does not match the schema (2 error(s)):",
        "  $.seq: -1 is less than the minimum of 0",
        "  $.type: 'update' was expected",
    ]


def test_an_invalid_schema_is_refused(wslib: WebSocketLibrary) -> None:
    with pytest.raises(ValueError, match="Invalid JSON Schema"):
        kw(wslib, "message_should_match_schema", {}, {"type": 12})
    with pytest.raises(ValueError, match="does not exist"):
        kw(wslib, "message_should_match_schema", {}, "no/such/schema.json")


def test_buffered_messages_should_match_schema(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "burst", "count": 3})
    kw(wslib, "wait_for_messages", 3, {"type": "update"}, timeout=timedelta(seconds=5))
    kw(wslib, "send_json", {"cmd": "burst", "count": 3})
    sync(wslib)

    assert kw(wslib, "buffered_messages_should_match_schema", UPDATE_SCHEMA,
              {"type": "update"}) == 3
    kw(wslib, "send_json", {"type": "update", "seq": "x"})
    sync(wslib)
    with pytest.raises(AssertionError, match=r"(?s)^1 of 4 message\(s\) do not match.*"
                                             r"\$.seq: 'x' is not of type 'integer'"):
        kw(wslib, "buffered_messages_should_match_schema", UPDATE_SCHEMA, {"type": "update"})
    with pytest.raises(AssertionError, match=r"Only 0 buffered message\(s\) matching "
                                             r'\{"type": "nothing"\}'):
        kw(wslib, "buffered_messages_should_match_schema", UPDATE_SCHEMA, {"type": "nothing"})
    assert context(wslib).connection(None).buffer.snapshot()  # nothing consumed
