"""WebSocketLibrary over wss://: CA bundles, unverified connections, client certificates,
readable TLS failures, secret URLs and tokens kept out of the log, and the timing keywords.

The servers are the library's test server (websocketlibrary/atest/servers/python_ws_server.py)
served by websockets with TLS contexts made from a throwaway trustme CA.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from assertionengine import AssertionOperator
from robot.api.types import Secret
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    connect,
    context,
    kw,
    server_module,
    server_url_fixture,
    sync,
    wslib_fixture,
)
from tls_support import (  # noqa: F401  (fixtures)
    ROBOT_LOGGER,
    LoopServer,
    TlsFiles,
    other_ca_fixture,
    robot_log_fixture,
    robot_messages,
    start_ws_server,
    tls_files_fixture,
)

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.frames import Frame

LONG = timedelta(seconds=30)  # a TLS failure must not wait for it
FAST = {"initial_delay": timedelta(milliseconds=10), "max_delay": timedelta(milliseconds=50)}


def tls_server(tls_files: TlsFiles, client_ca: str | None = None) -> LoopServer:
    return start_ws_server(server_module.handler, tls_files.server_context(client_ca),
                           process_request=server_module.check_request)


@pytest.fixture(scope="module", name="wss")
def wss_fixture(tls_files: TlsFiles) -> Iterator[str]:
    server = tls_server(tls_files)
    yield f"wss://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module", name="mtls")
def mtls_fixture(tls_files: TlsFiles) -> Iterator[str]:
    """A server that requires a client certificate of the test CA."""
    server = tls_server(tls_files, client_ca=tls_files.ca_bundle)
    yield f"wss://127.0.0.1:{server.port}"
    server.stop()


def refused(lib: WebSocketLibrary, url: str | Secret, **options: object) -> str:
    """The failure message of a Connect that must fail, and check that it failed at once."""
    began = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        kw(lib, "connect", url, timeout=LONG, **options)
    assert time.monotonic() - began < LONG.total_seconds() / 2, "did not fail at once"
    return str(raised.value)


# -- trust ------------------------------------------------------------------------------------

def test_wss_with_the_ca_bundle_connects(wslib: WebSocketLibrary, wss: str,
                                         tls_files: TlsFiles) -> None:
    welcome = connect(wslib, wss, ca_bundle=tls_files.ca_bundle)
    assert welcome["server"] == "python"
    kw(wslib, "send_json", {"type": "echo", "n": 1})
    assert kw(wslib, "wait_for_message", {"type": "echo"}) == {"type": "echo", "n": 1}


def test_wss_without_the_ca_fails_at_once_saying_what_did_not_verify(
        wslib: WebSocketLibrary, wss: str) -> None:
    message = refused(wslib, wss)
    assert message.startswith(f"The certificate of {wss} did not verify against the system "
                              f"CAs: "), message
    assert not context(wslib).connections()


def test_a_ca_bundle_of_another_ca_is_named_in_the_failure(
        wslib: WebSocketLibrary, wss: str, other_ca: TlsFiles) -> None:
    message = refused(wslib, wss, ca_bundle=other_ca.ca_bundle)
    assert f"did not verify against {other_ca.ca_bundle}: " in message


def test_verify_off_connects_and_warns_naming_the_url(
        wslib: WebSocketLibrary, wss: str, robot_log: pytest.LogCaptureFixture) -> None:
    connect(wslib, f"{wss}/?token=hidden-value", verify=False)
    warnings = robot_messages(robot_log, logging.WARNING)
    assert warnings == [f"TLS certificate verification is OFF for {wss}/?token=***: any "
                        f"server is trusted. Use it only for a self-signed test setup."]
    assert "hidden-value" not in "\n".join(robot_messages(robot_log))


def test_a_missing_ca_bundle_file_is_named(wslib: WebSocketLibrary, wss: str) -> None:
    with pytest.raises(ValueError, match=r"ca_bundle: no such file: /nowhere/ca\.pem"):
        kw(wslib, "connect", wss, ca_bundle="/nowhere/ca.pem")


def test_a_server_without_tls_fails_at_once(wslib: WebSocketLibrary, server_url: str,
                                            tls_files: TlsFiles) -> None:
    url = server_url.replace("ws://", "wss://")
    message = refused(wslib, url, ca_bundle=tls_files.ca_bundle)
    assert url in message
    assert "TLS" in message and "timed out" not in message, message


# -- client certificates ----------------------------------------------------------------------

def test_a_server_that_requires_a_client_certificate_refuses_a_client_without_one(
        wslib: WebSocketLibrary, mtls: str, tls_files: TlsFiles) -> None:
    message = refused(wslib, mtls, ca_bundle=tls_files.ca_bundle)
    assert message.startswith(f"{mtls} "), message
    assert "requires a client certificate and none was given (client_cert, client_key)" in \
        message


def test_a_client_certificate_of_the_servers_ca_is_accepted(
        wslib: WebSocketLibrary, mtls: str, tls_files: TlsFiles) -> None:
    welcome = connect(wslib, mtls, ca_bundle=tls_files.ca_bundle,
                      client_cert=tls_files.client_cert, client_key=tls_files.client_key)
    assert welcome["type"] == "welcome"


def test_a_client_certificate_of_another_ca_is_refused_and_named(
        wslib: WebSocketLibrary, mtls: str, tls_files: TlsFiles, other_ca: TlsFiles) -> None:
    message = refused(wslib, mtls, ca_bundle=tls_files.ca_bundle,
                      client_cert=other_ca.client_cert, client_key=other_ca.client_key)
    assert f"did not accept the client certificate {other_ca.client_cert}" in message


def test_reconnection_reuses_the_tls_options(wslib: WebSocketLibrary, mtls: str,
                                             tls_files: TlsFiles) -> None:
    connect(wslib, mtls, ca_bundle=tls_files.ca_bundle, client_cert=tls_files.client_cert,
            client_key=tls_files.client_key)
    kw(wslib, "enable_auto_reconnect", **FAST)
    kw(wslib, "send_json", {"cmd": "drop"})
    kw(wslib, "wait_for_reconnection", timeout=timedelta(seconds=10))
    assert kw(wslib, "wait_for_message", {"type": "welcome"})["server"] == "python"
    kw(wslib, "connection_should_be_open")


def test_a_refusal_over_tls_is_returned(wslib: WebSocketLibrary, wss: str,
                                        tls_files: TlsFiles) -> None:
    response = kw(wslib, "connect_should_be_refused", f"{wss}/refuse/503", status=503,
                  ca_bundle=tls_files.ca_bundle)
    assert response["headers"]["retry-after"] == "5"
    with pytest.raises(AssertionError, match="did not verify against the system CAs"):
        kw(wslib, "connect_should_be_refused", f"{wss}/refuse/503")


# -- secrets ----------------------------------------------------------------------------------

def test_a_secret_url_is_what_is_connected_to(wslib: WebSocketLibrary, wss: str,
                                              tls_files: TlsFiles) -> None:
    connect(wslib, Secret(f"{wss}/path?token=url-secret&session=s-1"),
            ca_bundle=tls_files.ca_bundle)
    kw(wslib, "send_json", {"cmd": "headers"})
    seen = kw(wslib, "wait_for_message", {"type": "headers"})
    assert seen["path"] == "/path?token=url-secret&session=s-1"


def test_a_secret_url_is_never_shown(
        wslib: WebSocketLibrary, wss: str, tls_files: TlsFiles,
        robot_log: pytest.LogCaptureFixture) -> None:
    secret = "url-secret-4711"
    connect(wslib, Secret(f"{wss}/path?token={secret}&session=s-1"), alias="hidden",
            ca_bundle=tls_files.ca_bundle)
    info = kw(wslib, "get_connection_info", "hidden")
    assert info["url"] == f"{wss}/path?token=***&session=***"
    with pytest.raises(AssertionError) as raised:
        kw(wslib, "wait_for_message", {"type": "never"}, timeout=timedelta(0))
    assert f"{wss}/path?token=***&session=***" in str(raised.value)
    kw(wslib, "close_connection")
    with pytest.raises(AssertionError) as closed:
        kw(wslib, "send_json", {"type": "late"})
    everything = "\n".join([*robot_messages(robot_log), str(raised.value), str(closed.value),
                            context(wslib).connection("hidden").describe()])
    assert secret not in everything and "s-1" not in everything
    assert "token=***" in everything


def test_a_secret_url_stays_hidden_when_its_tls_fails(wslib: WebSocketLibrary,
                                                     wss: str) -> None:
    message = refused(wslib, Secret(f"{wss}/?token=tls-fail-secret"))
    assert "tls-fail-secret" not in message
    assert f"{wss}/?token=***" in message


def test_the_token_reaches_the_server_and_not_the_log(
        wslib: WebSocketLibrary, wss: str, tls_files: TlsFiles,
        robot_log: pytest.LogCaptureFixture) -> None:
    connect(wslib, f"{wss}/auth", token=Secret(server_module.TOKEN),
            ca_bundle=tls_files.ca_bundle)
    kw(wslib, "send_json", {"cmd": "headers"})
    seen = kw(wslib, "wait_for_message", {"type": "headers"})
    assert seen["headers"]["authorization"] == f"Bearer {server_module.TOKEN}"
    # The server's echo of the headers is received data, logged as it is; nothing else
    # may show the token.
    shown = [m for m in robot_messages(robot_log) if '"type": "headers"' not in m]
    assert len(shown) >= 2
    assert server_module.TOKEN not in "\n".join(shown)


def test_a_token_and_an_authorization_header_are_refused_together(
        wslib: WebSocketLibrary, server_url: str) -> None:
    with pytest.raises(ValueError, match="Both a token and an Authorization header"):
        kw(wslib, "connect", f"{server_url}/auth", token="t",
           headers={"Authorization": f"Bearer {server_module.TOKEN}"})
    with pytest.raises(ValueError, match="Both a token and an Authorization header"):
        kw(wslib, "connect_should_be_refused", f"{server_url}/auth", token="t",
           headers={"authorization": "Basic x"})


# -- timing -----------------------------------------------------------------------------------

def test_connection_info_has_the_times_of_open_handshake_and_close(
        wslib: WebSocketLibrary, server_url: str) -> None:
    before = time.perf_counter()
    connect(wslib, server_url)
    info = kw(wslib, "get_connection_info")
    assert before <= info["opened_at"] <= info["handshake_done_at"] <= time.perf_counter()
    assert info["handshake_done_at"] - info["opened_at"] == pytest.approx(
        info["connect_latency_ms"] / 1000, abs=1e-6)
    assert info["closed_at"] is None

    kw(wslib, "send_json", {"cmd": "close", "code": 4000})
    kw(wslib, "connection_should_be_closed", 4000, timeout=timedelta(seconds=5))
    closed = kw(wslib, "get_connection_info")["closed_at"]
    assert info["handshake_done_at"] < closed <= time.perf_counter()


def test_closed_at_is_cleared_by_a_reconnection(wslib: WebSocketLibrary,
                                                server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "enable_auto_reconnect", **FAST)
    kw(wslib, "send_json", {"cmd": "drop"})
    kw(wslib, "wait_for_reconnection", timeout=timedelta(seconds=10))
    assert kw(wslib, "get_connection_info")["closed_at"] is None


def test_last_message_arrival_is_when_the_returned_frame_arrived(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, alias="timed")
    sent = time.perf_counter()
    kw(wslib, "send_json", {"type": "first"})
    kw(wslib, "send_json", {"type": "second"})
    sync(wslib)  # both echoes are buffered: their arrival is before the wait
    waited = time.perf_counter()
    assert kw(wslib, "wait_for_message", {"type": "second"}) == {"type": "second"}
    second = kw(wslib, "get_last_message_arrival")
    assert sent < second < waited
    frames = context(wslib).connection("timed").buffer.snapshot()
    first_frame = next(f for f in frames if f.data == {"type": "first"})
    first = kw(wslib, "wait_for_message_where", "$.type", AssertionOperator["=="], "first")
    assert first == {"type": "first"}
    assert kw(wslib, "get_last_message_arrival", "timed") == first_frame.arrived_ns / 1e9
    assert first_frame.arrived_ns / 1e9 <= second


def test_last_message_arrival_after_several_is_the_last_ones(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    seen: list[Frame] = []
    context(wslib).connection(None).add_observer(lambda frame: seen.append(frame) or False)
    kw(wslib, "send_json", {"cmd": "burst", "count": 3})
    updates = kw(wslib, "wait_for_messages", 3, {"type": "update"})
    assert updates[-1] == {"type": "update", "seq": 2}
    last = next(f for f in seen if f.data == updates[-1])
    assert kw(wslib, "get_last_message_arrival") == last.arrived_ns / 1e9


def test_last_message_arrival_fails_before_any_wait(wslib: WebSocketLibrary,
                                                    server_url: str) -> None:
    kw(wslib, "connect", server_url, alias="fresh")
    with pytest.raises(AssertionError, match="No wait has returned a message on 'fresh'"):
        kw(wslib, "get_last_message_arrival")
