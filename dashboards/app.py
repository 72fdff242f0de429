"""The application: three dashboards in one process, one shared state, one database."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import PROTOCOL_VERSION
from .config import DASHBOARDS, Config
from .db import Database
from .http import is_upgrade, json_response, text_response
from .messages import ProtocolError, error_frame, now_ms, parse_frame, reply
from .observability import Observability

log = logging.getLogger(__name__)
Handler = Callable[["Application", "Client", dict[str, Any]], Awaitable[None]]


@dataclass(eq=False)
class Client:
    """One open WebSocket connection and its per-connection counters."""

    ws: ServerConnection
    dashboard: str
    session_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    heartbeat_seq: int = 0


class Application:
    """Serves Pulse, Seams and Voices; ``start`` binds, ``stop`` shuts down gracefully."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.database_url)
        self.obs = Observability()
        self.clients: dict[str, set[Client]] = {name: set() for name in DASHBOARDS}
        self.ports: dict[str, int] = {}
        self._servers: list[Server] = []

    async def start(self) -> None:
        await self.db.open()
        for name, port in self.config.ports.items():
            server = await serve(
                functools.partial(self._handle, dashboard=name),
                self.config.dashboards_host, port,
                process_request=functools.partial(self._http, name),
                compression=None,
                max_size=self.config.max_message_bytes,
                ping_interval=20, ping_timeout=20,
            )
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        log.info("serving %s", json.dumps(self.ports))

    async def stop(self) -> None:
        """Close every connection with 1001 (going away), then the database."""
        for server in self._servers:
            server.close(close_connections=True)
        for server in self._servers:
            await server.wait_closed()
        await self.db.close()
        log.info("stopped")

    # -- HTTP -------------------------------------------------------------------------------

    async def _http(self, dashboard: str, _connection: ServerConnection,
                    request: Request) -> Response | None:
        if is_upgrade(request.headers):
            return None
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            healthy = await self.db.healthy()
            return json_response(200 if healthy else 503, {
                "status": "ok" if healthy else "degraded", "dashboard": dashboard,
                "database": "ok" if healthy else "down"})
        if path == "/metrics":
            return text_response(200, self.obs.exposition().decode(),
                                 "text/plain; version=0.0.4; charset=utf-8")
        return text_response(404, "not found: use a WebSocket upgrade, /healthz or /metrics\n")

    # -- WebSocket --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection, dashboard: str) -> None:
        client = Client(ws, dashboard)
        self.clients[dashboard].add(client)
        self.obs.connections_active.labels(dashboard).inc()
        heartbeats = asyncio.create_task(self._heartbeats(client))
        try:
            await self._send(client, {
                "type": "welcome", "dashboard": dashboard, "session_id": client.session_id,
                "protocol_version": PROTOCOL_VERSION,
                "heartbeat_interval_ms": self.config.heartbeat_interval_ms,
                "server_time": now_ms()})
            async for frame in ws:
                await self._dispatch(client, frame)
        except ConnectionClosed:
            pass
        finally:
            heartbeats.cancel()
            self.clients[dashboard].discard(client)
            self.obs.connections_active.labels(dashboard).dec()

    async def _send(self, client: Client, frame: dict[str, Any]) -> None:
        await client.ws.send(json.dumps(frame, separators=(",", ":")))
        self.obs.messages_sent.labels(client.dashboard, frame["type"]).inc()

    async def _heartbeats(self, client: Client) -> None:
        interval = self.config.heartbeat_interval_ms / 1000
        loop = asyncio.get_running_loop()
        due = loop.time()
        try:
            while True:
                due += interval  # a fixed schedule: send delays never accumulate into drift
                await asyncio.sleep(max(0.0, due - loop.time()))
                client.heartbeat_seq += 1
                await self._send(client, {"type": "heartbeat", "timestamp": now_ms(),
                                          "seq": client.heartbeat_seq})
        except ConnectionClosed:
            pass

    async def _dispatch(self, client: Client, frame: str | bytes) -> None:
        try:
            message = parse_frame(frame)
            kind = message["type"]
            self.obs.messages_received.labels(client.dashboard, kind).inc()
            handler = self._handlers.get(kind)
            if handler is None:
                raise ProtocolError("unknown_type", f"unknown message type {kind!r}",
                                    message.get("id"))
            await handler(self, client, message)
        except ProtocolError as error:
            self.obs.errors.labels(client.dashboard, error.code).inc()
            await self._send(client, error_frame(error))

    async def _on_ping(self, client: Client, message: dict[str, Any]) -> None:
        await self._send(client, reply(message, {
            "type": "pong", "timestamp": message.get("timestamp"), "server_time": now_ms()}))

    _handlers: ClassVar[dict[str, Handler]] = {"ping": _on_ping}
