"""A minimal JSON-over-WebSocket acknowledging server, for the load generator's own tests.

Every text frame that is a JSON object is answered at once with
``{"type": <reply>, "id": <its id>, "status": "ok"}``; a message whose ``type`` is
``"fail"`` gets ``{"type": "error", "code": "failed", "id": …}``, one whose ``type`` is
``"ignore"`` no reply at all. ``--delay-ms`` holds every reply back (an asyncio timer, the
connection goes on reading). It is the ceiling the generator is measured against
(bench/bench_load_generator.py) and the real server of utest/test_load_generator.py.

    python -m LoadGenerator.echo_server --port 0      # prints "listening on ws://…"

With ``--cert`` and ``--key`` it serves ``wss://`` (``--client-ca``: clients must present a
certificate of that CA); with ``--token-env NAME`` a handshake without
``Authorization: Bearer <the value of $NAME>`` is refused with HTTP 401.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


def make_handler(reply: str, delay_s: float) -> Callable[[ServerConnection], Awaitable[None]]:
    async def handler(ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for text in ws:
                try:
                    message = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(message, dict) or message.get("type") == "ignore":
                    continue
                if message.get("type") == "fail":
                    answer = {"type": "error", "code": "failed", "id": message.get("id")}
                else:
                    answer = {"type": reply, "id": message.get("id"), "status": "ok"}
                out = json.dumps(answer, separators=(",", ":"))
                if delay_s:
                    loop.call_later(delay_s, _later, ws, out)
                else:
                    await ws.send(out)
        except ConnectionClosed:
            pass

    return handler


_DELAYED: set[asyncio.Task[None]] = set()


def _later(ws: ServerConnection, text: str) -> None:
    task = asyncio.ensure_future(_send_quietly(ws, text))
    _DELAYED.add(task)
    task.add_done_callback(_DELAYED.discard)


async def _send_quietly(ws: ServerConnection, text: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(text)


def require_token(token: str | None) -> Callable[[ServerConnection, Request], Response | None]:
    """A handshake check: 401 unless the request carries ``Authorization: Bearer token``."""
    def check(connection: ServerConnection, request: Request) -> Response | None:
        if token is None or request.headers.get("Authorization") == f"Bearer {token}":
            return None
        body = b"a valid bearer token is required\n"
        return Response(401, HTTPStatus(401).phrase,
                        Headers({"Content-Type": "text/plain", "Content-Length": str(len(body)),
                                 "WWW-Authenticate": "Bearer"}), body)

    return check


def server_context(cert: str | None, key: str | None,
                   client_ca: str | None) -> ssl.SSLContext | None:
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve_forever(host: str, port: int, reply: str, delay_s: float,
                        context: ssl.SSLContext | None = None,
                        token: str | None = None) -> None:
    async with serve(make_handler(reply, delay_s), host, port, compression=None,
                     max_size=None, ping_interval=None, ssl=context,
                     process_request=require_token(token)) as server:
        bound = server.sockets[0].getsockname()[1]
        scheme = "wss" if context is not None else "ws"
        print(f"listening on {scheme}://{host}:{bound}", flush=True)
        await asyncio.get_running_loop().create_future()


def spawn(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Starts this server in a process of its own with ``args`` (the options of ``main``);
    returns the process and its URL once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "LoadGenerator.echo_server", *args],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # "listening on ws://…": the server is ready
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the echo server did not start: {line!r}")
    return process, line.split()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m LoadGenerator.echo_server",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", default="metrics_received",
                        help="type of the reply (default: metrics_received)")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--cert", help="PEM certificate chain: serve wss://")
    parser.add_argument("--key", help="PEM private key of --cert")
    parser.add_argument("--client-ca", help="PEM CA: clients must present a certificate of it")
    parser.add_argument("--token-env", metavar="NAME",
                        help="environment variable holding the bearer token to require")
    args = parser.parse_args(argv)
    token = os.environ[args.token_env] if args.token_env else None
    context = server_context(args.cert, args.key, args.client_ca)
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve_forever(args.host, args.port, args.reply, args.delay_ms / 1000,
                                 context, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
