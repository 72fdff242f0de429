"""Connection options, refused handshakes, closing, aborting, reconnection and the listener."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from robot.api.types import Secret
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    SHORT,
    WELCOME,
    connect,
    context,
    kw,
    server_module,
    server_url_fixture,
    start_server,
    sync,
    wslib_fixture,
)

from WebSocketLibrary import WebSocketLibrary

FAST = {"initial_delay": timedelta(milliseconds=10), "max_delay": timedelta(milliseconds=50)}
LONG = timedelta(seconds=10)


# -- connecting ----------------------------------------------------------------------------

def test_headers_origin_subprotocol_and_token_reach_the_server(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, f"{server_url}/auth", headers={"X-Trace": "t-1"}, origin="http://qa.local",
            subprotocols=["chat.v2", "other"], token=Secret(server_module.TOKEN))
    kw(wslib, "send_json", {"cmd": "headers"})

    seen = kw(wslib, "wait_for_message", {"type": "headers"})

    assert seen["headers"]["x-trace"] == "t-1"
    assert seen["headers"]["origin"] == "http://qa.local"
    assert seen["headers"]["authorization"] == "Bearer secret-token"
    assert seen["subprotocol"] == "chat.v2"
    assert kw(wslib, "get_connection_info")["subprotocol"] == "chat.v2"


def test_a_plain_string_token_is_accepted_too(wslib: WebSocketLibrary, server_url: str) -> None:
    assert connect(wslib, f"{server_url}/auth", token=server_module.TOKEN)["type"] == "welcome"


def test_connect_fails_when_the_handshake_is_refused(
        wslib: WebSocketLibrary, server_url: str) -> None:
    with pytest.raises(AssertionError, match=r"/auth refused the WebSocket handshake: expected "
                                             r"HTTP 101 Switching Protocols, got HTTP 401 "
                                             r"Unauthorized \(refused: 401\)\.$"):
        kw(wslib, "connect", f"{server_url}/auth", token=Secret("wrong"))


def test_connect_should_be_refused_returns_status_and_headers(
        wslib: WebSocketLibrary, server_url: str) -> None:
    response = kw(wslib, "connect_should_be_refused", f"{server_url}/refuse/503", status=503,
                  response_headers={"Retry-After": "5"})

    assert response["status"] == 503
    assert response["reason"] == "Service Unavailable"
    assert response["headers"]["retry-after"] == "5"
    assert response["body"] == "refused: 503\n"
    unauthorized = kw(wslib, "connect_should_be_refused", f"{server_url}/auth", 401,
                      {"WWW-Authenticate": "*"})
    assert unauthorized["status"] == 401


@pytest.mark.parametrize(("path", "arguments", "error"), [
    ("/", {}, r"accepted the WebSocket handshake in [\d.]+ ms; expected a refusal\.$"),
    ("/", {"status": 503}, r"accepted .* expected a refusal with HTTP 503\.$"),
    ("/refuse/503", {"status": 429}, r"refused the handshake with HTTP 503, expected 429\.$"),
    ("/refuse/503", {"response_headers": {"X-Missing": "*"}},
     r"has no X-Missing header; it has: content-type, content-length, retry-after"),
    ("/refuse/503", {"response_headers": {"Retry-After": "60"}},
     r"has Retry-After: 5, expected 60\.$"),
])
def test_connect_should_be_refused_fails(wslib: WebSocketLibrary, server_url: str, path: str,
                                         arguments: dict[str, Any], error: str) -> None:
    with pytest.raises(AssertionError, match=error):
        kw(wslib, "connect_should_be_refused", f"{server_url}{path}", **arguments)
    assert context(wslib).connections() == []  # an accepted probe is not kept


def test_connect_should_be_refused_fails_when_nothing_listens(wslib: WebSocketLibrary) -> None:
    server = start_server()
    server.stop()
    with pytest.raises(AssertionError, match=r"^Cannot reach ws://127\.0\.0\.1:\d+/: "):
        kw(wslib, "connect_should_be_refused", f"{server.url}/")


def test_a_frame_over_max_message_size_closes_with_1009(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, max_message_size="1 kB")
    kw(wslib, "send_frame_of_size", 1001)

    assert kw(wslib, "connection_should_be_closed", 1009, timeout=LONG) == 1009
    assert kw(wslib, "get_connection_info")["state"] == "closed"


# -- closing -------------------------------------------------------------------------------

def test_connection_should_be_closed_waits_for_the_server_close(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "close", "code": 4001, "reason": "bye"})

    assert kw(wslib, "connection_should_be_closed", 4001, "bye", timeout=LONG) == 4001
    info = kw(wslib, "get_connection_info")
    assert (info["close_code"], info["close_reason"]) == (4001, "bye")


def test_connection_should_be_closed_fails_while_open(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(AssertionError, match=r"is still open after 0\.1 s\.$"):
        kw(wslib, "connection_should_be_closed", timeout=timedelta(seconds=0.1))


def test_connection_should_be_closed_fails_on_another_code_or_reason(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "close_connection", code=4000, reason="done")

    with pytest.raises(AssertionError, match=r"closed with code 4000 \('done'\), expected 1000"):
        kw(wslib, "connection_should_be_closed", 1000)
    with pytest.raises(AssertionError, match=r"closed with reason 'done', expected 'other'"):
        kw(wslib, "connection_should_be_closed", 4000, "other")


def test_abort_connection_breaks_without_a_close_frame(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "abort_connection")

    assert kw(wslib, "connection_should_be_closed", 1006) == 1006


def test_a_server_drop_is_seen_as_1006(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "send_json", {"cmd": "drop"})

    assert kw(wslib, "connection_should_be_closed", 1006, timeout=LONG) == 1006


def test_ping_returns_the_pong_time(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    assert 0 < kw(wslib, "ping") < 5000
    kw(wslib, "close_connection")
    with pytest.raises(AssertionError, match=r"Cannot ping .*: the connection is closed"):
        kw(wslib, "ping")


# -- reconnection --------------------------------------------------------------------------

def test_auto_reconnect_resubscribes_and_reports_recovery(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", resubscribe={"type": "subscribe", "topic": "a"}, **FAST)
    kw(wslib, "register_subscription", {"type": "subscribe", "topic": "b"})
    kw(wslib, "wait_for_message", {"topic": "b"})

    kw(wslib, "send_json", {"cmd": "drop"})
    recovery_ms = kw(wslib, "wait_for_reconnection", timeout=LONG)

    assert 0 < recovery_ms < 10_000
    kw(wslib, "connection_should_be_open")
    assert kw(wslib, "wait_for_messages", 2, path="$.topic") == [
        {"type": "subscribe", "topic": "a"}, {"type": "subscribe", "topic": "b"}]
    assert kw(wslib, "wait_for_message", {"type": "welcome"})["server"] == WELCOME["server"]
    [record] = kw(wslib, "get_reconnections")
    assert record["close_code"] == 1006
    assert repr(record["close_code"]) == "1006"  # a number in the log, not CloseCode.…
    assert record["resumed"] is False
    assert record["attempts"] >= 1


def test_auto_reconnect_resumes_with_the_session_id_of_the_welcome(
        wslib: WebSocketLibrary, server_url: str) -> None:
    welcome = connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", resubscribe={"type": "subscribe"},
       resume='{"type": "resume", "session_id": "{{$.session_id}}", "from": "{{$.seq}}"}',
       **FAST)
    kw(wslib, "send_json", {"cmd": "burst", "count": 3})
    kw(wslib, "wait_for_messages", 3, {"type": "update"})

    kw(wslib, "abort_connection")
    kw(wslib, "wait_for_reconnection", timeout=LONG)

    assert kw(wslib, "wait_for_message", {"type": "resume"}) == {
        "type": "resume", "session_id": welcome["session_id"], "from": 2}
    assert kw(wslib, "get_reconnections")[0]["resumed"] is True
    kw(wslib, "message_should_not_arrive", {"type": "subscribe"}, within=SHORT)


def test_an_abort_closes_for_good_without_auto_reconnect(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", **FAST)
    kw(wslib, "disable_auto_reconnect")
    kw(wslib, "abort_connection")

    kw(wslib, "connection_should_be_closed", 1006)
    with pytest.raises(AssertionError, match=r"did not reconnect within 0\.1 s \(state closed\)"):
        kw(wslib, "wait_for_reconnection", timeout=timedelta(seconds=0.1))


def test_reconnection_gives_up_after_max_attempts(wslib: WebSocketLibrary) -> None:
    server = start_server()
    connect(wslib, server.url)
    kw(wslib, "enable_auto_reconnect", max_attempts=2, **FAST)
    server.stop()  # closes the connection with 1001 and stops listening

    kw(wslib, "connection_should_be_closed", 1001, timeout=LONG)
    with pytest.raises(AssertionError, match=r"did not reconnect .* Last error: attempt 2: "):
        kw(wslib, "wait_for_reconnection", timeout=SHORT)


def test_a_connection_closed_by_us_does_not_reconnect(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", **FAST)
    kw(wslib, "close_connection")

    kw(wslib, "connection_should_be_closed", 1000)
    assert kw(wslib, "get_reconnections") == []


def test_register_subscription_needs_auto_reconnect(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(RuntimeError, match="Use 'Enable Auto Reconnect' before"):
        kw(wslib, "register_subscription", {"type": "subscribe"})


def test_waits_keep_waiting_across_a_reconnection(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", resubscribe='{"type": "again"}', **FAST)
    kw(wslib, "send_json", {"cmd": "drop"})

    assert kw(wslib, "wait_for_message", {"type": "again"}, timeout=LONG) == {"type": "again"}


# -- end of test / suite, and the log ------------------------------------------------------

def test_the_listener_closes_connections_opened_in_a_test(
        wslib: WebSocketLibrary, server_url: str) -> None:
    listener = wslib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, None)
    connect(wslib, server_url, alias="suite")
    listener.start_test(None, None)
    connect(wslib, server_url, alias="test")

    listener.end_test(None, None)

    kw(wslib, "connection_should_be_closed", 1000, alias="test")
    kw(wslib, "connection_should_be_open", "suite")
    listener.end_suite(None, None)
    kw(wslib, "connection_should_be_closed", 1000, alias="suite")


def test_close_at_end_false_keeps_connections(server_url: str) -> None:
    library = WebSocketLibrary(close_at_end=False)
    try:
        library.ROBOT_LIBRARY_LISTENER.start_test(None, None)
        connect(library, server_url)
        library.ROBOT_LIBRARY_LISTENER.end_test(None, None)
        kw(library, "connection_should_be_open")
    finally:
        kw(library, "close_all_connections")


def test_a_failing_keyword_logs_the_last_frames_of_its_connection(
        wslib: WebSocketLibrary, server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[tuple[str, bool]] = []
    monkeypatch.setattr("WebSocketLibrary.context.logger.info",
                        lambda message, html=False: logged.append((message, html)))
    connect(wslib, server_url, alias="traced")
    kw(wslib, "send_text", "x" * 1000)
    sync(wslib)
    logged.clear()

    with pytest.raises(AssertionError):
        kw(wslib, "wait_for_message", {"type": "never"}, timeout=timedelta(0))

    [(message, is_html)] = logged
    assert is_html
    assert message.startswith("Last frames on &#x27;traced&#x27; (ws://")
    assert "&lt;&lt; {&quot;type&quot;: &quot;welcome&quot;" in message
    assert f"&gt;&gt; {'x' * 500}… (1000 chars)" in message
    assert "&lt;&lt; {&quot;type&quot;:&quot;marker&quot;" in message


def test_sent_and_received_frames_are_logged_truncated(
        wslib: WebSocketLibrary, server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr("WebSocketLibrary.context.logger.info",
                        lambda message, html=False: logged.append(message))
    connect(wslib, server_url)
    kw(wslib, "send_text", "y" * 600)
    kw(wslib, "wait_for_message", regex="^y")

    assert logged[-2:] == [f">> {'y' * 500}… (600 chars)", f"<< {'y' * 500}… (600 chars)"]
