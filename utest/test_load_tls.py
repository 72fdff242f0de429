"""LoadGenerator over wss:// with a bearer token, against the package's echo server run with
TLS (in a process of its own): every message delivered in threads and in worker processes,
refusals and TLS failures ending the run at once, the token kept out of config, result and
log, the command line's options, and the connection's reads of TLS records."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from robot.api.types import Secret
from tls_support import (  # noqa: F401  (fixtures)
    TlsFiles,
    robot_log_fixture,
    robot_messages,
    tls_files_fixture,
)

from LoadGenerator import LoadGenerator
from LoadGenerator.config import LoadConfig
from LoadGenerator.report import text_summary
from LoadGenerator.runner import run_load
from LoadGenerator.wsconn import READ_TIME_TLS, RECV_BYTES, TlsError, open_connection

TOKEN = "load-token-0815"
METRICS = '{"type":"metrics","id":{id},"data":{"pain":0.3}}'
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LONG_RUN_S = 30.0  # a run that must fail before its schedule does
DRAIN_S = 30.0  # replies are waited for this long: a loaded machine may be slow to echo


def start_echo(tls_files: TlsFiles, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "LoadGenerator.echo_server", "--cert", tls_files.server_cert,
         "--key", tls_files.server_key, "--token-env", "ECHO_TOKEN", *args],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "ECHO_TOKEN": TOKEN})
    assert process.stdout is not None
    line = process.stdout.readline()  # "listening on wss://…": the server is ready
    assert line.startswith("listening on wss://"), line
    return process, line.split()[-1]


@pytest.fixture(scope="module", name="echo")
def echo_fixture(tls_files: TlsFiles) -> Iterator[str]:
    process, url = start_echo(tls_files)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module", name="mtls_echo")
def mtls_echo_fixture(tls_files: TlsFiles) -> Iterator[str]:
    process, url = start_echo(tls_files, "--client-ca", tls_files.ca_bundle)
    yield url
    process.terminate()
    process.wait(10)


def config(url: str, **overrides: Any) -> LoadConfig:
    options: dict[str, Any] = {"connections": 2, "rate": 20.0, "duration": 1.0,
                               "message": METRICS, "reply_type": "metrics_received",
                               "processes": 0, "drain_timeout": DRAIN_S}
    options.update(overrides)
    return LoadConfig(url=url, **options)


def fails_at_once(cfg: LoadConfig) -> str:
    began = time.monotonic()
    with pytest.raises(RuntimeError) as raised:
        run_load(cfg)
    assert time.monotonic() - began < LONG_RUN_S / 2, "the run did not stop at once"
    return str(raised.value)


# -- delivery over TLS ------------------------------------------------------------------------

def test_every_message_is_delivered_over_wss_with_the_token(echo: str,
                                                           tls_files: TlsFiles) -> None:
    # The server refuses a handshake without the token: delivery proves it was sent.
    cfg = config(echo, token=TOKEN, ca_bundle=tls_files.ca_bundle)
    result = run_load(cfg)
    assert result["expected"] == 40
    assert result["sent"] == result["acknowledged"] == 40
    assert result["lost"] == result["errored"] == result["connect_failures"] == 0
    assert result["connections_open"] == 2
    # No kernel receive time through TLS: the figures say so, reply by reply.
    assert result["replies_timed_at_read"] == 40
    assert result["timed_at_read_reasons"] == {READ_TIME_TLS: 40}
    assert "read time, not the kernel's receive time, for 40 of 40 replies (TLS: 40)" in \
        text_summary(result)
    assert TOKEN not in json.dumps(result)


def test_worker_processes_build_their_own_tls_context(echo: str, tls_files: TlsFiles) -> None:
    result = run_load(config(echo, token=TOKEN, ca_bundle=tls_files.ca_bundle, processes=2))
    assert result["workers"] == 2
    assert result["acknowledged"] == result["expected"] == 40


def test_a_client_certificate_is_presented_by_every_connection(
        mtls_echo: str, tls_files: TlsFiles) -> None:
    result = run_load(config(mtls_echo, token=TOKEN, ca_bundle=tls_files.ca_bundle,
                             client_cert=tls_files.client_cert,
                             client_key=tls_files.client_key))
    assert result["acknowledged"] == result["expected"] == 40


# -- failures that end the run at once --------------------------------------------------------

def test_a_401_fails_the_run_at_once(echo: str, tls_files: TlsFiles) -> None:
    message = fails_at_once(config(echo, ca_bundle=tls_files.ca_bundle, duration=LONG_RUN_S))
    assert message == (f"the load run load failed: {echo} refused the WebSocket handshake "
                       f"with HTTP 401 Unauthorized: a valid bearer token is required")


def test_a_wrong_token_fails_every_worker_with_one_message(echo: str,
                                                          tls_files: TlsFiles) -> None:
    message = fails_at_once(config(echo, ca_bundle=tls_files.ca_bundle, token="wrong",
                                   processes=2, duration=LONG_RUN_S))
    assert "HTTP 401 Unauthorized" in message
    assert "wrong" not in message


def test_a_certificate_that_does_not_verify_fails_the_run_at_once(echo: str) -> None:
    message = fails_at_once(config(echo, token=TOKEN, duration=LONG_RUN_S))
    assert message.startswith(f"the load run load failed: The certificate of {echo} did not "
                              f"verify against the system CAs: "), message


def test_a_missing_client_certificate_fails_the_run_at_once(mtls_echo: str,
                                                           tls_files: TlsFiles) -> None:
    message = fails_at_once(config(mtls_echo, token=TOKEN, ca_bundle=tls_files.ca_bundle,
                                   duration=LONG_RUN_S))
    assert f"{mtls_echo} most likely requires a client certificate and none was given" in \
        message


def test_unreachable_servers_are_still_counted_not_fatal() -> None:
    result = run_load(config("wss://127.0.0.1:9", connect_timeout=2.0, duration=0.2))
    assert result["connect_failures"] == 2


# -- the configuration never shows the token --------------------------------------------------

def test_the_config_hides_the_token_and_secrets_of_the_url(tls_files: TlsFiles) -> None:
    cfg = LoadConfig(url="wss://127.0.0.1:1/?token=in-url", token="cfg-token",
                     headers={"X-A": "1"}, ca_bundle=tls_files.ca_bundle)
    shown = repr(cfg) + json.dumps(cfg.to_dict())
    assert "cfg-token" not in shown and "in-url" not in shown
    assert cfg.to_dict()["token"] == "***"
    assert cfg.handshake_headers() == {"X-A": "1", "Authorization": "Bearer cfg-token"}
    with_header = LoadConfig(url="wss://127.0.0.1:1", headers={"Authorization": "Basic x"})
    assert "Basic x" not in repr(with_header)


def test_a_token_and_an_authorization_header_are_refused() -> None:
    with pytest.raises(ValueError, match="Both a token and an Authorization header"):
        LoadConfig(url="wss://127.0.0.1:1", token="t", headers={"authorization": "Bearer u"})


def test_missing_tls_files_are_refused_before_any_worker_starts() -> None:
    with pytest.raises(ValueError, match=r"client_cert: no such file: /nowhere/c\.pem"):
        LoadConfig(url="wss://127.0.0.1:1", client_cert="/nowhere/c.pem")


# -- the keywords -----------------------------------------------------------------------------

def test_run_load_keyword_takes_a_secret_token_and_warns_when_unverified(
        echo: str, robot_log: pytest.LogCaptureFixture) -> None:
    library = LoadGenerator()
    result = library.run_load(Secret(f"{echo}/?key=url-key"), connections=2, rate=20,
                              duration=1, message=METRICS, reply_type="metrics_received",
                              processes=0, charts=False, token=Secret(TOKEN), verify=False)
    assert result["acknowledged"] == 40
    assert result["url"] == f"{echo}/?key=***"
    assert robot_messages(robot_log, logging.WARNING) == [
        f"TLS certificate verification is OFF for {echo}/?key=***: any server is trusted. "
        f"Use it only for a self-signed test setup."]
    logged = "\n".join(robot_messages(robot_log))
    assert TOKEN not in logged and "url-key" not in logged


# -- the command line -------------------------------------------------------------------------

def cli(*args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOAD_TOKEN": token} if token else dict(os.environ)
    return subprocess.run([sys.executable, "-m", "LoadGenerator", *args, "-c", "2", "-r", "20",
                           "-d", "1", "-p", "0", "--message", METRICS,
                           "--reply-type", "metrics_received"],
                          capture_output=True, text=True, env=env, check=False, timeout=60)


def test_the_command_line_reads_the_token_from_the_environment(
        mtls_echo: str, tls_files: TlsFiles) -> None:
    run = cli(mtls_echo, "--token-env", "LOAD_TOKEN", "--ca-bundle", tls_files.ca_bundle,
              "--client-cert", tls_files.client_cert, "--client-key", tls_files.client_key,
              "--header", "X-Run:cli")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["acknowledged"] == 40
    assert TOKEN not in run.stdout + run.stderr


def test_the_command_line_fails_with_the_reason(echo: str, tls_files: TlsFiles) -> None:
    refused = cli(echo, "--ca-bundle", tls_files.ca_bundle)
    assert refused.returncode == 2
    assert "refused the WebSocket handshake with HTTP 401" in refused.stderr
    unset = cli(echo, "--token-env", "NO_SUCH_VARIABLE_HERE", token=None)
    assert unset.returncode == 2
    assert "NO_SUCH_VARIABLE_HERE" in unset.stderr
    insecure = cli(echo, "--token-env", "LOAD_TOKEN", "--insecure")
    assert insecure.returncode == 0, insecure.stderr
    assert f"TLS certificate verification is OFF for {echo}" in insecure.stderr


# -- reading TLS records ----------------------------------------------------------------------

class TlsRawServer:
    """Accepts one TLS client, answers its WebSocket handshake, then writes what it is
    given, each write one TLS record."""

    def __init__(self, tls_files: TlsFiles) -> None:
        self.context = tls_files.server_context()
        self.context.num_tickets = 0  # nothing but our records after the handshake
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.peer: ssl.SSLSocket | None = None
        self.ready = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.listener.getsockname()[1]}/"

    def serve(self) -> None:
        raw, _ = self.listener.accept()
        peer = self.context.wrap_socket(raw, server_side=True)
        request = b""
        while b"\r\n\r\n" not in request:
            request += peer.recv(4096)
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        peer.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.peer = peer
        self.ready.set()

    def close(self) -> None:
        self.listener.close()
        if self.peer is not None:
            self.peer.close()


def kernel_bytes(sock: socket.socket) -> int:
    """Bytes the kernel holds for ``sock`` that nobody has read yet."""
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD,
                                              b"\0\0\0\0"))[0])


def test_one_read_delivers_every_tls_record_there_is(tls_files: TlsFiles) -> None:
    server = TlsRawServer(tls_files)
    conn = open_connection(server.url, timeout=5, context=tls_files.client_context())
    try:
        assert server.ready.wait(5) and server.peer is not None
        assert conn.tls and not conn.stamped
        count = 20
        frames = [bytes((0x81, 9)) + f"reply-{n:03d}".encode() for n in range(count)]
        for data in frames:
            server.peer.sendall(data)  # one record each
        # TLS 1.3 record: 5 bytes of header, the inner content type and a 16-byte tag.
        expected = sum(len(data) + 22 for data in frames)
        deadline = time.monotonic() + 5
        while kernel_bytes(conn.sock) < expected:
            assert time.monotonic() < deadline, "the records did not arrive"
            select.select([], [], [], 0.01)  # polling a condition, not synchronisation
        texts: list[bytes] = []
        buffer = memoryview(bytearray(RECV_BYTES))
        alive = conn.read(buffer, lambda data, _: texts.append(data), time.monotonic_ns,
                          time.time_ns() - time.monotonic_ns())
        assert alive
        assert texts == [f"reply-{n:03d}".encode() for n in range(count)]  # not one per read
        assert conn.read_time_reason == READ_TIME_TLS
        assert conn.sock.pending() == 0 and kernel_bytes(conn.sock) == 0
    finally:
        conn.close()
        server.close()


def test_open_connection_names_a_tls_failure(echo: str) -> None:
    with pytest.raises(TlsError, match=f"the certificate of {echo} did not verify"):
        open_connection(echo, timeout=5)


def test_a_secret_url_stays_hidden_when_the_run_fails(echo: str) -> None:
    with pytest.raises(RuntimeError) as raised:
        LoadGenerator().run_load(Secret(f"{echo}/?session=s-4711"), connections=2, rate=10,
                                 duration=LONG_RUN_S, processes=0, token=TOKEN, charts=False)
    assert f"The certificate of {echo}/?session=*** did not verify" in str(raised.value)
    assert "s-4711" not in str(raised.value)


def artillery_installed() -> bool:
    from LoadGenerator.artillery import find_artillery

    try:
        find_artillery()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(not artillery_installed(), reason="Artillery is not installed "
                    "(scripts/setup installs it into artillery/node_modules)")
def test_artillery_carries_the_token_and_the_client_certificate(
        mtls_echo: str, tls_files: TlsFiles, tmp_path: Any, repo_root: Any) -> None:
    from LoadGenerator.artillery import run_artillery
    from WebSocketLibrary.tlsoptions import TlsOptions

    tls = TlsOptions(tls_files.ca_bundle, tls_files.client_cert, tls_files.client_key)
    result = run_artillery(repo_root / "artillery" / "scenario-9.1.yml", target=mtls_echo,
                           variables={"messages": 2}, output=tmp_path / "report.json",
                           timeout=120, token=TOKEN, tls=tls)
    # The echo server refuses a handshake without the token or the client certificate.
    assert result["vusers_failed"] == 0
    assert result["messages_sent"] == 200
    without = run_artillery(repo_root / "artillery" / "scenario-9.1.yml", target=mtls_echo,
                            variables={"messages": 2}, output=tmp_path / "refused.json",
                            timeout=120, tls=tls)
    assert without["vusers_failed"] == 100
    assert TOKEN not in (tmp_path / "report.json").read_text()
    assert TOKEN not in (tmp_path / "report.log").read_text()
