"""WebSocketLibrary: a Robot Framework library for JSON-over-WebSocket APIs.

Connections are read in the background, so frames arriving between keywords are kept in
a per-connection buffer until a wait consumes them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robotlibcore import DynamicCore

from .context import LibraryContext
from .keywords import (
    AsyncApiKeywords,
    ConnectionKeywords,
    FuzzingKeywords,
    HeartbeatKeywords,
    LatencyKeywords,
    LifecycleKeywords,
    ReceivingKeywords,
    ReconnectKeywords,
    RequestKeywords,
    SchemaKeywords,
    SendingKeywords,
)
from .kinds import TrafficLog
from .listener import ScopeListener
from .version import __version__


class WebSocketLibrary(DynamicCore):
    """Test any JSON-over-WebSocket API: connect, send, wait for matching messages, measure.

    = Connections =
    `Connect` opens a connection and makes it current; give an ``alias`` to address several.
    Every other keyword takes ``alias`` as its last argument to pick one (give it by name,
    ``alias=pulse``); without it the current connection is used.
    Bearer tokens (as ``Secret``), headers, subprotocols, Origin, open timeout and maximum
    message size are arguments of `Connect`; `Connect Should Be Refused` asserts a refused
    handshake (status, headers such as ``Retry-After``).

    ``wss://`` URLs use TLS. Both keywords take the same TLS arguments as the project's
    other libraries: ``ca_bundle`` (a PEM file of the CAs to trust; default: the system's),
    ``client_cert`` and ``client_key`` (a client certificate, for servers that require
    mutual TLS) and ``verify=False`` (any certificate is trusted, and a WARN says so: only
    for a self-signed test setup). A certificate that does not verify, a client
    certificate the server refuses and a server that does not speak TLS fail at once with
    a message naming the URL, what was expected and what happened.

    Credentials: ``token`` is sent as ``Authorization: Bearer <token>`` and never logged;
    together with an ``Authorization`` header of its own it is refused. A URL carrying a
    token (``?token=…``) can be given as a ``Secret``: it is used as it is, but logs,
    failure messages and `Get Connection Info` show its query values as ``***`` (in any URL
    the values of ``token``, ``access_token``, ``auth``, ``password``, ``key`` and
    ``api_key`` are hidden). Automatic reconnection reuses the URL, token and TLS options.

    Connections opened in a test are closed when the test ends, those opened in a suite
    setup when the suite ends (a listener does it; ``close_at_end=False`` turns it off).

    = Receiving =
    A background reader keeps every received frame in a bounded buffer with its arrival
    time (``buffer_limit`` frames per connection; past it the oldest are dropped and
    counted). `Wait For Message` consumes the first buffered frame matching a partial JSON
    template, a JSONPath with an assertion operator, a regular expression or a frame type,
    so a frame that arrived before the keyword was called is still found ("arm before
    trigger" is never needed). `Wait For Messages` waits for several, `Message Should Not
    Arrive` asserts silence, `Get Buffered Messages` and `Clear Message Buffer` inspect and
    reset the buffer. Failures list what did arrive and why it did not match.

    = Assertion operators =
    `Wait For Message Where` and `Get Json Value` take the operators of
    robotframework-assertion-engine, as Browser library's getters do: ``==``, ``!=``,
    ``<``, ``<=``, ``>``, ``>=``, ``contains``, ``not contains``, ``starts``, ``ends``,
    ``matches``, ``validate``.

    = Lifecycle =
    `Close Connection` with a code, `Abort Connection` (no closing handshake: a network
    break), `Connection Should Be Open` / `Connection Should Be Closed` (with a close code),
    and `Enable Auto Reconnect` (exponential backoff with jitter, re-subscribing or
    resuming a session) with `Wait For Reconnection` reporting the recovery time.

    = Timing =
    All durations use monotonic clocks. `Connect` returns the handshake latency,
    `Measure Round Trip` one request's round trip and `Measure Round Trips` the percentiles
    of many (HDR histogram, optionally on an open-loop schedule). Heartbeat monitors check
    a message's rhythm in the background while other keywords run. For timings of your own,
    `Get Connection Info` gives when the connection was opened, finished its handshake and
    ended, and `Get Last Message Arrival` when the frame a wait returned arrived, all in
    seconds of ``time.perf_counter()``.

    = AsyncAPI =
    `Load AsyncAPI` reads an AsyncAPI 3 document; `Message Should Match AsyncAPI` checks one
    message against a channel's or operation's messages, and `Validate Traffic With
    AsyncAPI` checks every frame of a connection until `Stop Validating Traffic`.

    = Logging =
    Sent frames and the frames waits return are logged at INFO, cut to ``log_limit``
    characters. When a keyword fails, the last frames of its connection are logged with
    their times. For the whole traffic, ``traffic_log=debug`` (an import argument) or
    `Set Traffic Log` logs every received frame, waited for or not, at the end of the
    keyword during which it arrived.

    Example:
    | ***** Settings *****
    | Library    WebSocketLibrary    timeout=5s
    |
    | ***** Test Cases *****
    | Ping
    |     Connect    ws://localhost:3001
    |     Send Json    {"type": "ping", "timestamp": 1}
    |     Wait For Message    {"type": "pong", "timestamp": 1}    timeout=200ms
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__

    def __init__(self, timeout: timedelta = timedelta(seconds=5), buffer_limit: int = 10_000,
                 log_limit: int = 500, close_at_end: bool = True,
                 traffic_log: TrafficLog = TrafficLog.NONE):
        """``timeout`` is the default for waits and handshakes; ``buffer_limit`` caps each
        connection's buffer (the oldest frames are dropped, and counted, past it);
        ``log_limit`` is how many characters of a frame the log shows; ``close_at_end``
        closes connections when the test or suite that opened them ends; ``traffic_log``
        (``none``, ``debug`` or ``info``) logs every received frame, see `Set Traffic Log`.

        Example:
        | Library    WebSocketLibrary    timeout=10s    traffic_log=debug
        """
        self._ctx = LibraryContext(timeout, buffer_limit, log_limit)
        self._ctx.set_traffic_log(traffic_log)
        receiving = ReceivingKeywords(self._ctx)
        super().__init__([
            ConnectionKeywords(self._ctx), LifecycleKeywords(self._ctx),
            SendingKeywords(self._ctx), receiving, SchemaKeywords(self._ctx),
            LatencyKeywords(self._ctx, receiving), RequestKeywords(self._ctx, receiving),
            ReconnectKeywords(self._ctx),
            HeartbeatKeywords(self._ctx), FuzzingKeywords(self._ctx),
            AsyncApiKeywords(self._ctx),
        ])
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self._ctx, close_at_end)

    def run_keyword(self, name: str, args: tuple | list, kwargs: dict | None = None) -> Any:
        self._ctx.last_used = None
        try:
            return super().run_keyword(name, args, kwargs)
        except Exception:
            if self._ctx.last_used is not None:
                self._ctx.log_recent_frames(self._ctx.last_used)
            raise
        finally:
            self._ctx.log_traffic()
