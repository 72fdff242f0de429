"""WebSocketLibrary used from Python against a real, plain ``websockets`` echo server.

The server sends {"type": "hello"} on connect, echoes every text frame, and on the text
"close-me" closes with code 4001. Echoes come back in order, so waiting for the echo of a
marker proves everything sent before it has been answered and buffered: that is the only
synchronisation used here, no sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from test_websocket_library_support import context, kw, sync
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.connection import Connection

SHORT = timedelta(seconds=0.3)
ZERO = timedelta(0)
HELLO = {"type": "hello"}
CLOSE_CODE = 4001


async def echo(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(json.dumps(HELLO))
        async for message in ws:
            if message == "close-me":
                await ws.close(CLOSE_CODE, "asked to close")
                return
            if isinstance(message, str):
                await ws.send(message)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """ws:// URL of an echo server running on its own loop in a thread."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            async with serve(echo, "127.0.0.1", 0) as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
                ready.set()
                await stop.wait()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "echo server did not start"
    yield f"ws://127.0.0.1:{holder['port']}"
    holder["loop"].call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


@pytest.fixture
def lib() -> Iterator[WebSocketLibrary]:
    library = WebSocketLibrary(timeout=timedelta(seconds=5))
    yield library
    library.run_keyword("close_all_connections", [])


# -- connecting ----------------------------------------------------------------------------

def test_connect_returns_the_latency_and_registers_the_alias(
        lib: WebSocketLibrary, url: str) -> None:
    latency = kw(lib, "connect", url, alias="pulse")

    assert isinstance(latency, float)
    assert latency > 0
    assert kw(lib, "get_connect_latency", "pulse") == latency
    assert kw(lib, "get_connect_latency") == latency  # the new connection is current
    kw(lib, "connection_should_be_open", "pulse")
    assert context(lib).connection("pulse").url == url


# -- receiving -----------------------------------------------------------------------------

def test_wait_for_message_with_a_partial_dict_template(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    message = {"type": "update", "id": 3, "payload": {"a": 1, "b": [1, 2]}}
    kw(lib, "send_json", message)

    got = kw(lib, "wait_for_message", {"type": "update", "payload": {"a": 1}})

    assert got == message


def test_wait_for_message_with_a_json_string_template(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)

    assert kw(lib, "wait_for_message", '{"type": "hello"}') == HELLO


def test_wait_for_message_without_a_template_takes_the_next_json_message(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "send_text", "not json")
    sync(lib)

    assert kw(lib, "wait_for_message") == HELLO
    with pytest.raises(AssertionError, match="No message matching any JSON message"):
        kw(lib, "wait_for_message", timeout=ZERO)
    assert kw(lib, "get_buffered_messages") == ["not json"]


def test_frames_arriving_between_keywords_are_buffered(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    for n in (1, 2, 3):
        kw(lib, "send_json", {"type": "item", "n": n})
    kw(lib, "wait_for_message", {"n": 3})  # echoes arrive in order: 1 and 2 are in by now

    # found without waiting at all: they arrived before these keywords were called
    assert kw(lib, "wait_for_message", {"n": 2}, timeout=ZERO) == {"type": "item", "n": 2}
    assert kw(lib, "wait_for_message", {"n": 1}, timeout=ZERO) == {"type": "item", "n": 1}
    assert kw(lib, "wait_for_message", HELLO, timeout=ZERO) == HELLO


def test_a_consumed_message_is_not_matched_again(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    assert kw(lib, "wait_for_message", HELLO) == HELLO

    with pytest.raises(AssertionError, match="No message matching"):
        kw(lib, "wait_for_message", HELLO, timeout=SHORT)


def test_get_buffered_messages_and_clear_message_buffer(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "wait_for_message", HELLO)
    kw(lib, "send_json", {"n": 1})
    kw(lib, "send_json", {"n": 2})
    sync(lib)

    assert kw(lib, "get_buffered_messages") == [{"n": 1}, {"n": 2}]
    assert kw(lib, "get_buffered_messages") == [{"n": 1}, {"n": 2}]  # looking consumes nothing
    assert kw(lib, "clear_message_buffer") == 2
    assert kw(lib, "get_buffered_messages") == []
    assert kw(lib, "clear_message_buffer") == 0


# -- sending -------------------------------------------------------------------------------

def test_send_text_sends_arbitrary_text_verbatim(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "send_text", "{incomplete json")
    kw(lib, "send_text", '  {"spaced": 1}\n')
    sync(lib)

    assert kw(lib, "get_buffered_messages") == [HELLO, "{incomplete json", {"spaced": 1}]
    raws = [frame.raw for frame in context(lib).connection(None).buffer.snapshot()]
    assert raws == ['{"type": "hello"}', "{incomplete json", '  {"spaced": 1}\n']


def test_send_json_sends_compact_json_from_a_dict_or_a_string(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "wait_for_message", HELLO)
    kw(lib, "send_json", {"a": 1, "b": [True, None]})
    kw(lib, "send_json", '{"c":  "x y"}')
    sync(lib)

    raws = [frame.raw for frame in context(lib).connection(None).buffer.snapshot()]
    assert raws == ['{"a":1,"b":[true,null]}', '{"c":"x y"}']


def test_send_json_with_invalid_json_points_to_send_text(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "wait_for_message", HELLO)

    with pytest.raises(ValueError, match="'Send Text'") as raised:
        kw(lib, "send_json", "{incomplete json")
    assert "{incomplete json" in str(raised.value)

    sync(lib)
    assert kw(lib, "get_buffered_messages") == []  # nothing was sent


# -- timing --------------------------------------------------------------------------------

def test_measure_round_trip_is_positive_and_within_the_wall_time(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "wait_for_message", HELLO)

    started = time.perf_counter_ns()
    rtt = kw(lib, "measure_round_trip", {"type": "ping", "id": 7}, '{"type": "ping", "id": 7}')
    wall_ms = (time.perf_counter_ns() - started) / 1e6

    assert isinstance(rtt, float)
    assert 0 < rtt < wall_ms
    assert kw(lib, "get_buffered_messages") == []  # the reply was consumed


def test_measure_round_trip_ignores_a_matching_reply_buffered_before_the_send(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "wait_for_message", HELLO)
    ping = {"type": "ping", "id": 8}
    kw(lib, "send_json", ping)
    sync(lib)
    assert kw(lib, "get_buffered_messages") == [ping]  # a stale reply

    started = time.perf_counter_ns()
    rtt = kw(lib, "measure_round_trip", ping, ping)
    wall_ms = (time.perf_counter_ns() - started) / 1e6

    assert 0 < rtt < wall_ms
    assert kw(lib, "get_buffered_messages") == [ping]  # the stale one is still there


# -- several connections -------------------------------------------------------------------

def test_switch_connection_between_two_aliases(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url, alias="a")
    kw(lib, "connect", url, alias="b")  # now current

    kw(lib, "send_json", {"via": "b"})
    assert kw(lib, "wait_for_message", {"via": "b"}, alias="b") == {"via": "b"}

    kw(lib, "switch_connection", "a")
    kw(lib, "send_json", {"via": "a"})
    assert kw(lib, "wait_for_message", {"via": "a"}) == {"via": "a"}
    assert context(lib).connection(None) is context(lib).connection("a")

    sync(lib, alias="b")
    assert kw(lib, "get_buffered_messages", alias="b") == [HELLO]
    assert kw(lib, "get_buffered_messages", alias="a") == [HELLO]


@pytest.mark.parametrize(("keyword", "args"), [
    ("switch_connection", ["voices"]),
    ("wait_for_message", [None, None, None, None, None, None, None, "voices"]),
    ("send_json", [{"type": "ping"}, "voices"]),
    ("connection_should_be_open", ["voices"]),
])
def test_an_unknown_alias_fails_listing_the_known_aliases(
        lib: WebSocketLibrary, url: str, keyword: str, args: list[Any]) -> None:
    kw(lib, "connect", url, alias="pulse")
    kw(lib, "connect", url, alias="seams")

    with pytest.raises(RuntimeError, match=r"No WebSocket connection with alias 'voices'\. "
                                           r"Known aliases: pulse, seams\."):
        lib.run_keyword(keyword, args)


def test_without_a_connection_keywords_ask_for_connect(lib: WebSocketLibrary) -> None:
    with pytest.raises(RuntimeError, match="Use 'Connect' first"):
        kw(lib, "send_json", {"type": "ping"})


def test_close_all_connections_closes_everything(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url, alias="a")
    kw(lib, "connect", url, alias="b")
    connections = [context(lib).connection(alias) for alias in ("a", "b")]

    kw(lib, "close_all_connections")

    for connection in connections:
        assert not connection.is_open
        assert connection.close_code == 1000
    with pytest.raises(RuntimeError, match="No open WebSocket connection"):
        kw(lib, "connection_should_be_open")
    with pytest.raises(RuntimeError, match="Known aliases: none"):
        kw(lib, "connection_should_be_open", "a")
    kw(lib, "close_all_connections")  # a second time is harmless


def test_close_connection_sends_the_given_code(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url, alias="a")
    connection: Connection = context(lib).connection("a")

    kw(lib, "close_connection", code=4000, reason="done", alias="a")

    assert not connection.is_open
    assert connection.close_code == 4000
    with pytest.raises(AssertionError, match=r"is closed \(close code 4000\)"):
        kw(lib, "connection_should_be_open", "a")


# -- keywords that must fail ---------------------------------------------------------------

def test_wait_for_message_timeout_shows_what_did_arrive(lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "send_json", {"type": "other", "n": 1})
    sync(lib)

    started = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        kw(lib, "wait_for_message", {"type": "pong", "n": 1}, timeout=SHORT)
    elapsed = time.monotonic() - started

    text = str(raised.value)
    assert f'No message matching {{"type": "pong", "n": 1}} within 0.3 s on {url}.' in text
    assert """{"type": "hello"}  <- $.type: expected 'pong', got 'hello'""" in text
    assert """{"type":"other","n":1}  <- $.type: expected 'pong', got 'other'""" in text
    assert "Last frames on this connection:" in text
    assert '<< {"type": "hello"}' in text
    assert '>> {"type":"other","n":1}' in text
    assert "The connection closed" not in text
    assert SHORT.total_seconds() <= elapsed < SHORT.total_seconds() + 1
    # the failed wait consumed nothing
    assert kw(lib, "get_buffered_messages") == [HELLO, {"type": "other", "n": 1}]


def test_connection_should_be_open_fails_after_the_server_closed(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)
    kw(lib, "send_json", {"type": "last words"})
    kw(lib, "send_text", "close-me")

    # the close ends the wait at once, well before its timeout
    started = time.monotonic()
    with pytest.raises(AssertionError, match=rf'^No message matching {{"type": "never"}} before '
                                             rf"the connection closed \(code {CLOSE_CODE}\) on"):
        kw(lib, "wait_for_message", {"type": "never"}, timeout=timedelta(seconds=5))
    assert time.monotonic() - started < 4

    with pytest.raises(AssertionError,
                       match=rf"^Connection to {url} is closed \(close code {CLOSE_CODE}\)\.$"):
        kw(lib, "connection_should_be_open")
    # what arrived before the close can still be waited for
    assert kw(lib, "wait_for_message", {"type": "last words"}, timeout=ZERO) == {
        "type": "last words"}


def test_connect_to_a_port_with_nothing_listening_fails(lib: WebSocketLibrary) -> None:
    with socket.socket() as blocker:  # bound, never listening: the port refuses connections
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        with pytest.raises(AssertionError,
                           match=rf"^Cannot connect to 'nowhere' \(ws://127\.0\.0\.1:{port}\): "):
            kw(lib, "connect", f"ws://127.0.0.1:{port}", alias="nowhere", timeout=SHORT)

    with pytest.raises(RuntimeError, match="Known aliases: none"):  # nothing was registered
        kw(lib, "connection_should_be_open", "nowhere")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers the WebSocket handshake."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


def test_connect_to_a_server_that_never_answers_times_out(
        lib: WebSocketLibrary, silent_port: int) -> None:
    with pytest.raises(AssertionError, match=rf"^Connecting to ws://127\.0\.0\.1:{silent_port} "
                                             r"timed out after 0\.2 s: no completed WebSocket "
                                             r"handshake in that time\.$"):
        kw(lib, "connect", f"ws://127.0.0.1:{silent_port}", timeout=timedelta(seconds=0.2))


def test_connect_handshake_timeout_is_reported_on_time(
        lib: WebSocketLibrary, silent_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match="timed out"):
        kw(lib, "connect", f"ws://127.0.0.1:{silent_port}", timeout=timedelta(seconds=0.2))
    assert time.monotonic() - started < 0.2 + 0.5


def test_measure_round_trip_fails_without_a_matching_reply(
        lib: WebSocketLibrary, url: str) -> None:
    kw(lib, "connect", url)

    started = time.monotonic()
    with pytest.raises(AssertionError,
                       match=r'^No message matching \{"type": "pong"\} within 0\.3 s') as raised:
        kw(lib, "measure_round_trip", {"type": "ping", "id": 1}, {"type": "pong"}, timeout=SHORT)
    elapsed = time.monotonic() - started

    assert '>> {"type":"ping","id":1}' in str(raised.value)
    assert SHORT.total_seconds() <= elapsed < SHORT.total_seconds() + 1
