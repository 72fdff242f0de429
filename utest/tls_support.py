"""Fixtures and servers shared by the TLS tests (this module holds no tests).

Certificates come from EmbeddedStack.testca (trustme): a CA with a server certificate for
127.0.0.1 and localhost and a client certificate, and a second, unrelated CA whose client
certificate no server here trusts. The servers are real: websockets servers with an
``ssl.SSLContext``, and a threaded HTTPS server that requires a bearer token.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from EmbeddedStack.testca import write_test_ca

HTTP_TOKEN = "http-secret-token"
EXPOSITION = """# HELP jobs_total Jobs done
# TYPE jobs_total counter
jobs_total{queue="a"} 3.0
"""
ROBOT_LOGGER = "RobotFramework"  # robot.api.logger's messages outside of a Robot run


@dataclass(frozen=True)
class TlsFiles:
    ca_bundle: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str

    @classmethod
    def make(cls, directory: Path) -> TlsFiles:
        return cls(**write_test_ca(directory))

    def server_context(self, client_ca: str | None = None) -> ssl.SSLContext:
        """A server context with this CA's server certificate; with ``client_ca``,
        clients must present a certificate of that CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        if client_ca is not None:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, with_certificate: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_bundle)
        if with_certificate:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


@pytest.fixture(scope="session", name="tls_files")
def tls_files_fixture() -> Iterator[TlsFiles]:
    with tempfile.TemporaryDirectory(prefix="utest-tls-") as directory:
        yield TlsFiles.make(Path(directory))


@pytest.fixture(scope="session", name="other_ca")
def other_ca_fixture() -> Iterator[TlsFiles]:
    """An unrelated CA: its client certificate is trusted by no server of the tests."""
    with tempfile.TemporaryDirectory(prefix="utest-tls-other-") as directory:
        yield TlsFiles.make(Path(directory))


@pytest.fixture(name="robot_log")
def robot_log_fixture(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog, catching every level of robot.api.logger's messages: outside of a Robot
    run they go to Python's logging, under the name RobotFramework."""
    caplog.set_level(1, logger=ROBOT_LOGGER)
    return caplog


def robot_messages(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == ROBOT_LOGGER and (level is None or r.levelno == level)]


# -- a websockets server with TLS, on its own loop in a thread ------------------------------

@dataclass
class LoopServer:
    port: int
    stop: Callable[[], None]


def start_ws_server(handler: Any, context: ssl.SSLContext | None,
                    **options: Any) -> LoopServer:
    """``handler`` served by websockets with ``context`` on a free loopback port."""
    from websockets.asyncio.server import serve

    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            async with serve(handler, "127.0.0.1", 0, ssl=context, compression=None,
                             **options) as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
                ready.set()
                await stop.wait()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the TLS test server did not start"

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)

    return LoopServer(holder["port"], stop)


# -- an HTTPS server that requires a bearer token ----------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    server: _HttpsServer

    def do_GET(self) -> None:
        self.server.seen.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != f"Bearer {HTTP_TOKEN}":
            self._answer(401, b"a bearer token is required\n", "text/plain")
        elif self.path == "/metrics":
            self._answer(200, EXPOSITION.encode(), "text/plain; version=0.0.4")
        elif self.path == "/healthz":
            self._answer(200, json.dumps({"status": "ok"}).encode(), "application/json")
        else:
            self._answer(404, b"not found\n", "text/plain")

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.seen: list[str | None] = []

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        # The handshake happens in the request's thread, not in the accepting one.
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a refused TLS handshake is what some tests want


@dataclass
class HttpsServer:
    server: _HttpsServer

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    @property
    def ws_base(self) -> str:
        return f"wss://127.0.0.1:{self.server.server_address[1]}"

    @property
    def seen(self) -> list[str | None]:
        return self.server.seen


def start_https_server(context: ssl.SSLContext) -> tuple[HttpsServer, Callable[[], None]]:
    server = _HttpsServer(context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(10)

    return HttpsServer(server), stop
