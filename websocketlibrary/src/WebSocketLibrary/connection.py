"""One logical client connection: its socket on the loop thread, the background reader that
fills its buffer, frame observers, and automatic reconnection when a policy is set."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidMessage

from .frames import Frame, FrameBuffer, preview
from .reconnect import Reconnection, ReconnectPolicy
from .runtime import LoopThread
from .tlsoptions import TlsOptions, describe_tls_error, find_tls_error, is_secure, redact_url

# An observer sees every frame on the loop thread before it is buffered; returning True
# claims the frame (it is not buffered).
Observer = Callable[[Frame], bool]
HISTORY_LENGTH = 20
OPENING_FRAMES = 5  # kept per session: welcomes carry what a resume needs


class NotOpenError(AssertionError):
    """A send on a connection that is not open."""


class TlsHandshakeError(ConnectionError):
    """The TLS of a ``wss://`` connection failed; the message says what was expected and
    what happened, naming the URL (redacted)."""


class _HandshakeTrace:
    """Whether the transport was made: for a TLS transport, asyncio makes it only once the
    TLS handshake has completed. Tells "the server refused our TLS" from "the server
    closed the connection after accepting TLS" (a TLS 1.3 server refusing a client
    certificate, as the client sees it)."""

    def __init__(self) -> None:
        self.made = False
        trace = self

        class TracedConnection(ClientConnection):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                trace.made = True
                super().connection_made(transport)

        self.factory = TracedConnection


_ENDED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, EOFError)


class Connection:
    """A WebSocket client connection whose frames are read in the background.

    ``url`` is the URL connected to (and reconnected to); ``self.url`` is its redacted form
    (``log_url`` when given), the only one that messages and logs show.
    """

    def __init__(self, runtime: LoopThread, url: str, buffer_limit: int = 10_000,
                 alias: str | None = None, log_url: str | None = None,
                 tls: TlsOptions | None = None) -> None:
        self.url = log_url if log_url is not None else redact_url(url)
        self._target = url
        self.tls = tls
        self._trace = _HandshakeTrace()  # made here: not inside the measured connect
        self.alias = alias
        self.buffer = FrameBuffer(buffer_limit)
        self.connect_latency_ms: float | None = None
        # perf_counter() seconds: the start of the TCP connect, the end of the opening
        # handshake (both of `Connect`) and when the reader saw the connection end.
        self.opened_at: float | None = None
        self.handshake_done_at: float | None = None
        self.closed_at: float | None = None
        self.last_returned: list[Frame] = []  # the frames a wait keyword returned last
        self.scope_ended: str | None = None  # "test"/"suite" that closed it when it ended
        self.state = "new"  # new → open → (reconnecting → open)* → closed
        self.observers: list[Observer] = []
        # Called with every frame just before it is sent (Send keywords and send_async).
        self.send_observers: list[Callable[[str | bytes], None]] = []
        # Frames received and not yet written to the traffic log (None: the log is off).
        self.traffic: deque[Frame] | None = None
        self.policy: ReconnectPolicy | None = None
        self.reconnections: list[Reconnection] = []
        self.reconnect_error: str | None = None
        self.subprotocol: str | None = None
        self._history: deque[tuple[float, str, str | bytes]] = deque(maxlen=HISTORY_LENGTH)
        self._history_lock = threading.Lock()
        self._opening: list[str | bytes] = []
        self._runtime = runtime
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closing = False
        self._open_timeout = 10.0
        self._options: dict[str, Any] = {}
        self._close_code: int | None = None
        self._close_reason: str | None = None

    # -- loop thread ---------------------------------------------------------------------

    async def _handshake(self) -> ClientConnection:
        trace = self._trace
        trace.made = False
        try:
            return await connect(self._target, open_timeout=self._open_timeout,
                                 compression=None, proxy=None,
                                 create_connection=trace.factory, **self._options)
        except Exception as error:
            if not is_secure(self._target):
                raise
            after_tls = trace.made and isinstance(error, InvalidMessage) and isinstance(
                error.__cause__, EOFError)
            if find_tls_error(error) is not None or after_tls or (
                    not trace.made and isinstance(error, _ENDED)):
                raise TlsHandshakeError(describe_tls_error(
                    self.url, error, self.tls, after_handshake=after_tls)) from None
            raise

    async def _open(self) -> None:
        started = time.perf_counter_ns()
        self.opened_at = started / 1e9
        ws = await self._handshake()
        done = time.perf_counter_ns()
        self.handshake_done_at = done / 1e9
        self.connect_latency_ms = (done - started) / 1e6
        self._attach(ws)

    def _attach(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._opening = []
        self.subprotocol = ws.subprotocol
        self.closed_at = None
        self.state = "open"
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: ClientConnection) -> None:
        buffer, observers = self.buffer, self.observers
        try:
            async for raw in ws:
                frame = buffer.decode(raw, time.perf_counter_ns())
                self._remember("<<", raw)
                if self.traffic is not None:
                    self.traffic.append(frame)
                if len(self._opening) < OPENING_FRAMES:
                    self._opening.append(raw)
                claimed = False
                for observer in tuple(observers):
                    claimed = observer(frame) or claimed
                if not claimed:
                    buffer.add(frame)
        except ConnectionClosed:
            pass
        finally:
            self.closed_at = time.perf_counter()
            self._close_code, self._close_reason = close_status(ws)
            self._lost()

    def _lost(self) -> None:
        if self._closing or self.policy is None:
            self.state = "closed"
            self.buffer.mark_closed()
            return
        self.state = "reconnecting"
        self.buffer.notify()
        self._reconnecting = asyncio.create_task(self._reconnect(self.policy))

    async def _reconnect(self, policy: ReconnectPolicy) -> None:
        lost_ns = time.perf_counter_ns()
        attempt = 0
        while not self._closing:
            attempt += 1
            if policy.max_attempts and attempt > policy.max_attempts:
                break
            await asyncio.sleep(policy.delay(attempt))
            try:
                ws = await self._handshake()
            except Exception as error:  # refused, unreachable, timed out: try again
                self.reconnect_error = f"attempt {attempt}: {error or type(error).__name__}"
                continue
            messages, resumed = policy.restore_messages()
            try:
                for message in messages:
                    await ws.send(message)
                    self._remember(">>", message)
            except ConnectionClosed as error:
                self.reconnect_error = f"attempt {attempt}: lost while restoring: {error}"
                continue
            self.reconnections.append(Reconnection(lost_ns, time.perf_counter_ns(), attempt,
                                                   self._close_code, resumed))
            self._attach(ws)
            self.buffer.notify()
            return
        self.state = "closed"
        self.buffer.mark_closed()

    async def _send(self, payload: str | bytes, text: bool | None) -> int:
        ws = self._ws
        if ws is None or self.state != "open":
            raise NotOpenError(f"Cannot send on {self.describe()}: the connection is "
                                   f"{self.state}{self._close_text()}.")
        for observer in tuple(self.send_observers):
            observer(payload)
        sent_ns = time.perf_counter_ns()
        await ws.send(payload, text=text)
        self._remember(">>", payload)
        return sent_ns

    async def send_async(self, payload: str | bytes, text: bool | None = None) -> int:
        """Send from the loop thread; returns ``perf_counter_ns()`` from just before."""
        return await self._send(payload, text)

    async def _close(self, code: int, reason: str) -> None:
        self._closing = True
        if self._reconnecting is not None and not self._reconnecting.done():
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self._ws is not None:
            await self._ws.close(code, reason)
        if self._reader is not None:
            await self._reader
        self.state = "closed"
        self.buffer.mark_closed()

    async def _abort(self) -> None:
        if self._ws is None or self._ws.transport is None:
            raise NotOpenError(f"{self.describe()} has no open transport to abort.")
        self._ws.transport.abort()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._reader)

    async def _ping(self) -> float:
        if self._ws is None or self.state != "open":
            raise NotOpenError(f"Cannot ping {self.describe()}: the connection is {self.state}.")
        waiter = await self._ws.ping()
        return float(await waiter) * 1000

    # -- keyword threads -----------------------------------------------------------------

    def open(self, timeout: float, **options: Any) -> float:
        """Connect (handshake included) and return the connect latency in milliseconds."""
        self._open_timeout, self._options = timeout, options
        self._runtime.run(self._open(), timeout + 1)
        assert self.connect_latency_ms is not None
        return self.connect_latency_ms

    def send(self, payload: str | bytes, timeout: float = 10.0, text: bool | None = None) -> int:
        """Send one frame; return ``perf_counter_ns()`` taken just before handing it over."""
        return self._runtime.run(self._send(payload, text), timeout)

    def close(self, code: int = 1000, reason: str = "", timeout: float = 10.0) -> None:
        self._runtime.run(self._close(code, reason), timeout)

    def abort(self, timeout: float = 10.0) -> None:
        """Drop the TCP connection without a closing handshake (an artificial network break)."""
        self._runtime.run(self._abort(), timeout)

    def ping(self, timeout: float) -> float:
        return self._runtime.run(self._ping(), timeout)

    def call(self, coro: Any, timeout: float | None) -> Any:
        """Run a coroutine of this connection's helpers on the loop thread."""
        return self._runtime.run(coro, timeout)

    def add_observer(self, observer: Observer) -> None:
        self._runtime.call_soon(self.observers.append, observer)

    def remove_observer(self, observer: Observer) -> None:
        def remove() -> None:
            if observer in self.observers:
                self.observers.remove(observer)
        self._runtime.call_soon(remove)

    def set_policy(self, policy: ReconnectPolicy | None) -> None:
        def install() -> None:
            old = self.policy
            if old is not None and old.resume is not None:
                with contextlib.suppress(ValueError):
                    self.observers.remove(old.resume.observe)
            self.policy = policy
            if policy is not None and policy.resume is not None:
                for frame in self.received_history():  # e.g. a welcome already consumed
                    policy.resume.observe(frame)
                self.observers.append(policy.resume.observe)
        self._runtime.run(_call(install), 5)

    def wait_closed(self, timeout: float) -> bool:
        return self.buffer.wait_until(lambda: self.state == "closed", timeout)

    def wait_open(self, timeout: float) -> bool:
        return self.buffer.wait_until(lambda: self.state in ("open", "closed"), timeout) and (
            self.state == "open")

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def close_code(self) -> int | None:
        if self.state == "open":
            return None
        return self._close_code

    @property
    def close_reason(self) -> str | None:
        return None if self.state == "open" else self._close_reason

    def _close_text(self) -> str:
        code = self._close_code
        return "" if code is None else f" (close code {code})"

    def _remember(self, direction: str, payload: str | bytes) -> None:
        with self._history_lock:
            self._history.append((time.time(), direction, payload))

    def received_history(self) -> list[Frame]:
        """The first frames of the current session and the recently received ones."""
        with self._history_lock:
            entries = list(self._history)
        raws = list(self._opening) + [payload for _, direction, payload in entries
                                      if direction == "<<"]
        return [Frame.decode(0, raw, 0) for raw in raws]

    def history(self, limit: int = 300) -> list[str]:
        """The recent frames, oldest first, as ``HH:MM:SS.mmm << text`` lines."""
        with self._history_lock:
            entries = list(self._history)
        lines = []
        for stamp, direction, payload in entries:
            clock = time.strftime("%H:%M:%S", time.localtime(stamp))
            lines.append(f"{clock}.{int(stamp % 1 * 1000):03d} {direction} "
                         f"{preview(payload, limit)}")
        return lines

    def describe(self) -> str:
        name = f"'{self.alias}' ({self.url})" if self.alias else self.url
        return name


def close_status(ws: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason; when we failed the connection (e.g. 1009 for a frame over
    the size limit) without the server answering, the code we sent rather than 1006."""
    received, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
    if received is None and sent is not None:
        return int(sent.code), sent.reason
    # websockets gives a CloseCode enum for known codes: a plain number reads better in logs.
    return (None if ws.close_code is None else int(ws.close_code)), ws.close_reason


async def _call(function: Callable[[], None]) -> None:
    function()
