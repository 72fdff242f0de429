"""The plain `websockets` test server of the WebSocketLibrary acceptance and unit tests.

It speaks the small protocol of atest/servers/PROTOCOL.md (the Node `ws` server speaks it
too): a welcome with a session id, echo of every frame, and commands that make the server
close, drop the connection, send heartbeats, bursts or delayed messages, or report the
handshake it saw. Run as a script it listens on a free loopback port and prints
``LISTENING <port>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

TOKEN = "secret-token"
SUBPROTOCOLS = ["chat.v1", "chat.v2"]
MAX_SIZE = 32 * 1024 * 1024


def refuse(status: int, headers: dict[str, str]) -> Response:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Refused"
    body = f"refused: {status}\n".encode()
    all_headers = Headers({"Content-Type": "text/plain", "Content-Length": str(len(body)),
                           **headers})
    return Response(status, reason, all_headers, body)


def check_request(connection: ServerConnection, request: Request) -> Response | None:
    path = request.path.split("?")[0]
    if path.startswith("/refuse/"):
        return refuse(int(path.rsplit("/", 1)[1]), {"Retry-After": "5"})
    if path == "/auth" and request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return refuse(401, {"WWW-Authenticate": "Bearer"})
    return None


def select_subprotocol(connection: ServerConnection,
                       offered: Sequence[Subprotocol]) -> Subprotocol | None:
    return next((protocol for protocol in offered if protocol in SUBPROTOCOLS), None)


async def command(ws: ServerConnection, message: dict[str, Any]) -> None:
    cmd = message["cmd"]
    if cmd == "close":
        await ws.close(int(message.get("code", 1000)), str(message.get("reason", "")))
    elif cmd == "drop":
        assert ws.transport is not None
        ws.transport.abort()
    elif cmd == "heartbeat":
        interval = float(message.get("interval_ms", 100)) / 1000
        for seq in range(int(message.get("count", 10))):
            await asyncio.sleep(interval)
            await ws.send(json.dumps({"type": "heartbeat", "seq": seq}))
    elif cmd == "burst":
        for seq in range(int(message.get("count", 10))):
            await ws.send(json.dumps({"type": message.get("type", "update"), "seq": seq}))
    elif cmd == "later":
        await asyncio.sleep(float(message.get("delay_ms", 100)) / 1000)
        await ws.send(json.dumps(message.get("message", {"type": "later"})))
    elif cmd == "headers":
        request = ws.request
        assert request is not None
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        await ws.send(json.dumps({"type": "headers", "headers": headers,
                                  "subprotocol": ws.subprotocol, "path": request.path}))
    else:
        await ws.send(json.dumps({"type": "error", "error": f"unknown cmd {cmd}"}))


async def handler(ws: ServerConnection) -> None:
    tasks: set[asyncio.Task[None]] = set()
    with contextlib.suppress(ConnectionClosed):
        await ws.send(json.dumps({"type": "welcome", "server": "python",
                                  "session_id": secrets.token_hex(6)}))
        async for frame in ws:
            message = None
            if isinstance(frame, str) and frame.startswith('{"cmd"'):
                with contextlib.suppress(ValueError):
                    message = json.loads(frame)
            if isinstance(message, dict) and "cmd" in message:
                task = asyncio.create_task(command(ws, message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                await ws.send(frame)
    for task in tasks:
        task.cancel()


@contextlib.asynccontextmanager
async def running(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[Server]:
    async with serve(handler, host, port, process_request=check_request,
                     select_subprotocol=select_subprotocol, max_size=MAX_SIZE,
                     compression=None) as server:
        yield server


async def main() -> None:
    async with running() as server:
        print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
        stop = asyncio.get_running_loop().create_future()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
