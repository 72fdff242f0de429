"""The application: three dashboards in one process, one shared state, one database."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import PROTOCOL_VERSION
from .closing import close_without_waiting, keepalive
from .config import DASHBOARDS, Config, ConfigError
from .db import Database
from .engine import Engine, Outgoing, cooldowns
from .handshakes import HandshakeLog
from .http import is_upgrade, json_response, text_response
from .hub import Hub, Session, encode
from .limits import (
    AbuseDetector,
    TokenBucket,
    origin_allowed,
    parse_origins,
    parse_tokens,
    request_token,
)
from .messages import ProtocolError, error_frame, now_ms, parse_frame, peek_id, reply
from .notify import build_notifier
from .observability import Observability
from .slo import METRICS, TARGETS
from .store import EventStore, load_state, ms_to_dt
from .validation import (
    CHANNELS,
    CLIENT_TYPES,
    AckAlert,
    ChannelRequest,
    Ingest,
    Ping,
    Resume,
    validate,
)
from .voices import VOICES
from .writer import MetricWriter, StorageUnavailable, to_row

log = logging.getLogger(__name__)
Handler = Callable[["Application", "Client", Any, dict[str, Any]], Awaitable[None]]
RETRY_AFTER_S = 5


@dataclass(eq=False)
class Client:
    """One open WebSocket connection and its per-connection state."""

    ws: ServerConnection
    dashboard: str
    session: Session
    role: str | None
    bucket: TokenBucket
    abuse: AbuseDetector = field(default_factory=AbuseDetector)
    heartbeat_seq: int = 0
    update_seq: int = 0
    overflowed: bool = False  # closing: it left too much unread (nothing more is written)

    @property
    def channels(self) -> set[str]:
        return self.session.channels


class Application:
    """Serves Pulse, Seams and Voices; ``start`` binds, ``stop`` shuts down gracefully."""

    KEEPALIVE_S = 20.0  # section 3: a ping every 20 s, a pong due within 20 s
    CLOSE_TIMEOUT_S = 5.0  # a closing handshake not completed by then: the connection is aborted
    # The 1008 of a client that stopped reading waits behind all it left unread: a client
    # that reads again within this still gets it; memory stays bounded meanwhile.
    UNREAD_CLOSE_TIMEOUT_S = 30.0

    def __init__(self, config: Config) -> None:
        self.config = config
        try:
            self.tokens = parse_tokens(config.auth_tokens)
            self.alert_cooldowns = cooldowns(config.alert_cooldown_s)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.origins = parse_origins(config.allowed_origins)
        # wss:// and https:// on every port when TLS_CERT_FILE is set; unreadable or
        # mismatched files are a ConfigError here, before anything starts.
        self.ssl_context = config.ssl_context()
        self.db = Database(config.database_url)
        self.writer = MetricWriter(config.database_url)
        self.store = EventStore(config.database_url)
        self.hub = Hub(DASHBOARDS, config.session_ttl_s)
        self.obs = Observability()
        self.obs.preset(DASHBOARDS, METRICS, [v.id for v in VOICES], ("slack", "email"),
                        ("sent", "failed"))
        self.engine = Engine(TARGETS, self.alert_cooldowns, config.voice_cooldown_s)
        self.notifier = build_notifier(config, self.obs)
        self.clients: dict[str, set[Client]] = {name: set() for name in DASHBOARDS}
        self.ports: dict[str, int] = {}
        self._servers: dict[str, Server] = {}
        self._roles: weakref.WeakKeyDictionary[ServerConnection, str | None] = (
            weakref.WeakKeyDictionary())
        self._tasks: list[asyncio.Task[None]] = []
        self._ingest_lock = asyncio.Lock()
        # Section 2: past this much unsent to one connection, it is closed with 1008.
        self._unsent_limit = 4 * config.max_message_bytes
        self._closers: set[asyncio.Task[None]] = set()
        self.handshakes = HandshakeLog(log)
        self._closing = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        websockets_log = logging.getLogger("websockets.server")
        if self.handshakes not in websockets_log.filters:
            websockets_log.addFilter(self.handshakes)
        await self.db.open()
        values, seqs = await load_state(self.db.pool)
        self.engine = Engine({**TARGETS, **values}, self.alert_cooldowns,
                             self.config.voice_cooldown_s)
        self.hub.seq.update({d: s for d, s in seqs.items() if d in self.hub.seq})
        for metric, value in self.engine.values.items():
            self.obs.metric_value.labels(metric).set(value)
        self.writer.start()
        self.store.start()
        await self.notifier.start()
        for name, port in self.config.ports.items():
            server = await serve(
                functools.partial(self._handle, dashboard=name),
                self.config.dashboards_host, port,
                process_request=functools.partial(self._http, name),
                compression=None, max_size=self.config.max_message_bytes,
                ping_interval=None, close_timeout=self.CLOSE_TIMEOUT_S,  # keepalive: _handle
                ssl=self.ssl_context)
            self._servers[name] = server
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._tasks.append(asyncio.create_task(self._metrics_updates(), name="updates"))
        log.info("serving", extra={"ports": self.ports, "restored_values": values,
                                   "restored_seq": seqs, "tls": self.config.tls,
                                   "client_certificates": bool(self.config.tls_client_ca_file)})

    async def stop(self) -> None:
        """Stop accepting, commit what was received, close connections with 1001."""
        for server in self._servers.values():
            server.close(close_connections=False)
        for task in self._tasks:
            task.cancel()
        # Frames read from now on are dropped unanswered (never acked, so never owed);
        # those already being stored are committed and acked before the connections close.
        self._closing = True
        try:
            async with asyncio.timeout(30):
                await self._idle.wait()
        except TimeoutError:
            log.error("in-flight messages did not finish within 30 s")
        await self.writer.flush_and_stop()
        await asyncio.gather(*(
            close_without_waiting(connection, 1001, "server shutting down", self.CLOSE_TIMEOUT_S)
            for server in self._servers.values() for connection in list(server.connections)))
        for server in self._servers.values():
            await server.wait_closed()
        await self.notifier.stop()
        await self.store.flush_and_stop()
        await self.db.close()
        logging.getLogger("websockets.server").removeFilter(self.handshakes)
        log.info("stopped")

    # -- HTTP and handshake -----------------------------------------------------------------

    async def _http(self, dashboard: str, connection: ServerConnection,
                    request: Request) -> Response | None:
        if not is_upgrade(request.headers):
            return await self._plain_http(dashboard, request)
        for name in ("Origin", "Authorization"):  # which one would count is anyone's guess
            if len(request.headers.get_all(name)) > 1:
                return self._refuse(dashboard, 400, f"the {name} header is repeated\n")
        origin = request.headers.get("Origin")
        if not origin_allowed(self.origins, origin):
            return self._refuse(dashboard, 403, f"origin {origin} is not allowed\n")
        role = None
        if self.tokens:
            token = request_token(request.path, request.headers)
            role = self.tokens.get(token) if token else None
            if role is None:
                reason = "unknown bearer token" if token else "a bearer token is required"
                return self._refuse(dashboard, 401, f"{reason}\n",
                                    {"WWW-Authenticate": 'Bearer realm="dashboards"'})
        if len(self.clients[dashboard]) >= self.config.max_connections:
            return self._refuse(dashboard, 503, "too many connections; retry later\n",
                                {"Retry-After": str(RETRY_AFTER_S)})
        self._roles[connection] = role
        return None

    def _refuse(self, dashboard: str, status: int, reason: str,
                headers: dict[str, str] | None = None) -> Response:
        self.handshakes.refused(dashboard, status, reason)
        return text_response(status, reason, extra=headers)

    async def _plain_http(self, dashboard: str, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            healthy = await self.db.healthy()
            return json_response(200 if healthy else 503, {
                "status": "ok" if healthy else "degraded", "dashboard": dashboard,
                "database": "ok" if healthy else "down"})
        if path == "/metrics":
            for name in DASHBOARDS:
                self.obs.connections_active.labels(name).set(len(self.clients[name]))
            return text_response(200, self.obs.exposition().decode(),
                                 "text/plain; version=0.0.4; charset=utf-8")
        return text_response(404, "not found: use a WebSocket upgrade, /healthz or /metrics\n")

    # -- connections ------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection, dashboard: str) -> None:
        session = self.hub.open_session(secrets.token_urlsafe(16), dashboard)
        client = Client(ws, dashboard, session, self._roles.pop(ws, None),
                        TokenBucket(self.config.rate_limit_per_s, self.config.rate_limit_burst))
        self.clients[dashboard].add(client)
        heartbeats = asyncio.create_task(self._heartbeats(client))
        pings = asyncio.create_task(keepalive(ws, self.KEEPALIVE_S, self.KEEPALIVE_S,
                                              self.CLOSE_TIMEOUT_S))
        try:
            self._write(client, {
                "type": "welcome", "dashboard": dashboard, "session_id": session.session_id,
                "protocol_version": PROTOCOL_VERSION,
                "heartbeat_interval_ms": self.config.heartbeat_interval_ms,
                "server_time": now_ms()})
            async for frame in ws:
                if self._closing:
                    continue
                if self._rate_limited(client, frame):
                    if client.abuse.record():
                        await close_without_waiting(ws, 1008, "rate limit exceeded "
                                                    "persistently", self.CLOSE_TIMEOUT_S)
                        break
                    continue
                await self._dispatch(client, frame)
        except ConnectionClosed:
            pass
        finally:
            heartbeats.cancel()
            pings.cancel()
            self.clients[dashboard].discard(client)
            self.hub.close_session(session)

    def _write(self, client: Client, frame: dict[str, Any]) -> None:
        self._send_text(client, encode(frame))
        self.obs.sent(client.dashboard, frame["type"]).inc()

    def _send_text(self, client: Client, text: str) -> None:
        # Synchronous write: replies, heartbeats and events reach the socket in the order
        # they were produced, never interleaved by awaits.
        if client.overflowed:
            return
        broadcast([client.ws], text)
        self._check_unsent(client)

    def _check_unsent(self, client: Client) -> None:
        """Closes ``client`` with 1008 once more than 4 × MAX_MESSAGE_BYTES wait to be sent
        to it (a client that stopped reading), instead of buffering without bound."""
        transport = client.ws.transport
        if (client.overflowed or transport is None
                or transport.get_write_buffer_size() <= self._unsent_limit):
            return
        client.overflowed = True
        log.warning("closing a connection that leaves too much unread",
                    extra={"dashboard": client.dashboard,
                           "unsent_bytes": transport.get_write_buffer_size()})
        closer = asyncio.create_task(close_without_waiting(
            client.ws, 1008, "too much unread data", self.UNREAD_CLOSE_TIMEOUT_S))
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)

    def _rate_limited(self, client: Client, frame: str | bytes) -> bool:
        wait_s = client.bucket.take()
        if not wait_s:
            return False
        self._error(client, ProtocolError("rate_limited", "too many messages; slow down",
                                          peek_id(frame)),
                    retry_after_ms=math.ceil(wait_s * 1000))
        return True

    def _error(self, client: Client, error: ProtocolError, **extra: Any) -> None:
        self.obs.errors.labels(client.dashboard, error.code).inc()
        self._write(client, error_frame(error, **extra))

    async def _heartbeats(self, client: Client) -> None:
        interval = self.config.heartbeat_interval_ms / 1000
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval  # a fixed schedule: delays never accumulate into drift
            await asyncio.sleep(max(0.0, due - loop.time()))
            client.heartbeat_seq += 1
            self._write(client, {"type": "heartbeat", "timestamp": now_ms(),
                                 "seq": client.heartbeat_seq})

    async def _metrics_updates(self) -> None:
        interval = self.config.update_interval_ms / 1000
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            values = self.engine.values
            stamp = now_ms()
            for client in list(self.clients["pulse"]):
                metrics = [m for m in METRICS if m in client.channels]
                if metrics:
                    client.update_seq += 1
                    self._write(client, {"type": "metrics_update",
                                         "data": {m: values[m] for m in metrics},
                                         "timestamp": stamp, "seq": client.update_seq})

    # -- messages ---------------------------------------------------------------------------

    async def _dispatch(self, client: Client, frame: str | bytes) -> None:
        self._inflight += 1
        self._idle.clear()
        try:
            await self._process(client, frame)
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    async def _process(self, client: Client, frame: str | bytes) -> None:
        message: dict[str, Any] = {}
        try:
            message = parse_frame(frame)
            # Only known types become label values: a client must not mint new series.
            kind = message["type"] if message["type"] in CLIENT_TYPES else "unknown"
            self.obs.received(client.dashboard, kind).inc()
            request = validate(message, client.dashboard, now_ms())
            handler = self._handlers[type(request).__name__]
            await handler(self, client, request, message)
        except ProtocolError as error:
            self._error(client, error)
        except Exception:  # one bad message must not take the connection down
            log.exception("internal error handling a message")
            self._error(client, ProtocolError("internal_error", "internal error",
                                              message.get("id")))

    def _require_producer(self, client: Client, message: dict[str, Any]) -> None:
        if self.tokens and client.role != "producer":
            raise ProtocolError("forbidden", f"role {client.role} may not send "
                                f"{message['type']}", message.get("id"))

    async def _on_ping(self, client: Client, request: Ping, message: dict[str, Any]) -> None:
        self._write(client, reply(message, {"type": "pong", "timestamp": request.timestamp,
                                            "server_time": now_ms()}))

    async def _on_ingest(self, client: Client, request: Ingest,
                         message: dict[str, Any]) -> None:
        self._require_producer(client, message)
        received = time.perf_counter()
        stamp = now_ms()
        rows = [to_row(r.timestamp_ms or stamp, r.metric, r.value, request.source)
                for r in request.records]
        try:
            await self.writer.store(rows)
        except StorageUnavailable as error:
            raise ProtocolError("internal_error", f"{error}; nothing was stored, send again",
                                message.get("id")) from None
        self.obs.ack_latency.observe(time.perf_counter() - received)
        self._write(client, reply(message, {"type": "metrics_received", "status": "ok",
                                            "accepted": len(rows), "timestamp": now_ms()}))
        async with self._ingest_lock:
            events = self.engine.ingest(((r.metric, r.value) for r in request.records), stamp)
            for metric in {r.metric for r in request.records}:
                self.obs.value(metric).set(self.engine.values[metric])
            self._publish_all(events)
            for event in events:
                if event.alert is not None:
                    self.notifier.on_alert(event.alert, stamp)

    async def _on_subscribe(self, client: Client, request: ChannelRequest,
                            message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            client.channels.update(request.channels)
            self._write(client, reply(message, {"type": "subscribed",
                                                "channels": self._ordered(client),
                                                "status": "ok"}))
        else:
            client.channels.difference_update(request.channels)
            self._write(client, reply(message, {"type": "unsubscribed",
                                                "channels": list(request.channels),
                                                "remaining": self._ordered(client),
                                                "status": "ok"}))

    async def _on_resume(self, client: Client, request: Resume,
                         message: dict[str, Any]) -> None:
        old = self.hub.take_over(request.session_id, client.dashboard)
        if old is None:
            raise ProtocolError("unknown_session", "no resumable session with that id on "
                                "this dashboard (unknown or expired)", message.get("id"))
        client.channels.update(old.channels)
        events = self.hub.replay(client.dashboard, client.channels, request.last_seq)
        self._write(client, reply(message, {"type": "resumed",
                                            "session_id": client.session.session_id,
                                            "channels": self._ordered(client),
                                            "replayed": len(events), "status": "ok"}))
        for event in events:  # no await in between: nothing can overtake the replay
            self._send_text(client, event.text)
            self.obs.messages_sent.labels(client.dashboard, event.kind).inc()

    async def _on_ack_alert(self, client: Client, request: AckAlert,
                            message: dict[str, Any]) -> None:
        self._require_producer(client, message)
        if not self.engine.slo.acknowledge(request.alert_id):
            raise ProtocolError("validation_error", f"alert_id: no open alert "
                                f"{request.alert_id!r}", message.get("id"))
        stamp = now_ms()
        self.store.add("alert_ack", request.alert_id, ms_to_dt(stamp))
        self.notifier.on_acknowledged(request.alert_id, stamp)
        self._write(client, reply(message, {"type": "alert_acknowledged",
                                            "alert_id": request.alert_id, "status": "ok"}))

    _handlers: ClassVar[dict[str, Handler]] = {
        "Ping": _on_ping, "Ingest": _on_ingest, "ChannelRequest": _on_subscribe,
        "Resume": _on_resume, "AckAlert": _on_ack_alert}

    @staticmethod
    def _ordered(client: Client) -> list[str]:
        return [c for c in CHANNELS[client.dashboard] if c in client.channels]

    # -- events -----------------------------------------------------------------------------

    def _publish_all(self, events: list[Outgoing]) -> None:
        for dashboard in ("pulse", "seams", "voices"):
            mine = [e for e in events if dashboard in e.dashboards]
            if not mine:
                continue
            sent = self.hub.publish_many(dashboard, [(e.channel, e.frame) for e in mine],
                                         self.clients[dashboard])
            for client in list(self.clients[dashboard]):
                self._check_unsent(client)
            for event, (seq, text) in zip(mine, sent, strict=True):
                frame = event.frame
                self.obs.sent(dashboard, frame["type"]).inc(
                    sum(1 for c in self.clients[dashboard] if event.channel in c.channels))
                self.store.add_event(dashboard, seq, frame["type"], event.channel, text,
                                     frame.get("timestamp") or frame["alert"]["timestamp"])
        for event in events:
            self._store_domain(event)

    def _store_domain(self, event: Outgoing) -> None:
        frame = event.frame
        kind = frame["type"]
        if kind == "slo_alert":
            alert = frame["alert"]
            self.store.add("alert_open", alert["id"], alert["metric"], alert["priority"],
                           alert["level"], alert["value"], alert["threshold"], alert["bound"],
                           bool(event.alert and event.alert.notify),
                           ms_to_dt(alert["timestamp"]))
            self.obs.alerts.labels(alert["metric"], alert["priority"]).inc()
        elif kind == "alert_resolved":
            self.store.add("alert_resolve", frame["alert_id"], ms_to_dt(frame["timestamp"]),
                           frame["value"])
        elif kind == "recovery_action":
            self.store.add("recovery", ms_to_dt(frame["timestamp"]), frame["action"],
                           frame["trigger"], frame["metric"], frame["value"])
        elif kind.startswith("voice_"):
            self.store.add("voice", ms_to_dt(frame["timestamp"]), frame["voice"],
                           kind.removeprefix("voice_"), frame["trigger"], frame["reason"],
                           frame["intensity"])
            self.obs.voice_active.labels(frame["voice"]).set(
                1 if kind == "voice_activation" else 0)
        elif kind == "seam":
            self.store.add("seam", ms_to_dt(frame["timestamp"]), frame["from"], frame["to"],
                           frame["seam_type"], frame["intensity"])

