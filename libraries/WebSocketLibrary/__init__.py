"""WebSocketLibrary: a Robot Framework library for JSON-over-WebSocket APIs.

Connections are read in the background, so frames arriving between keywords are kept in
a per-connection buffer until a wait consumes them.
"""

from __future__ import annotations

from datetime import timedelta

from robotlibcore import DynamicCore

from .context import LibraryContext
from .keywords import ConnectionKeywords, MessageKeywords

__version__ = "0.1.0"


class WebSocketLibrary(DynamicCore):
    """Test any JSON-over-WebSocket API: connect, send, wait for matching messages, measure.

    = Connections =
    `Connect` opens a connection and makes it current; give an ``alias`` to address several.
    Every keyword takes ``alias=`` to pick one; without it the current connection is used.

    = Receiving =
    A background reader keeps every received frame in a bounded buffer with its arrival
    time. `Wait For Message` consumes the first buffered frame matching a partial JSON
    template, so a frame that arrived before the keyword was called is still found.

    = Timing =
    All durations use monotonic clocks. `Connect` returns the handshake latency and
    `Measure Round Trip` the time from send to the arrival of the matching reply.

    Example:
    | ***** Settings *****
    | Library    WebSocketLibrary    timeout=5s
    |
    | ***** Test Cases *****
    | Ping
    |     Connect    ws://localhost:3001
    |     Send Json    {"type": "ping", "timestamp": 1}
    |     Wait For Message    {"type": "pong", "timestamp": 1}    timeout=200ms
    |     [Teardown]    Close All Connections
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__

    def __init__(self, timeout: timedelta = timedelta(seconds=5), buffer_limit: int = 10_000):
        """``timeout`` is the default for waits and handshakes; ``buffer_limit`` caps each
        connection's buffer (the oldest frames are dropped, and counted, past it)."""
        ctx = LibraryContext(timeout, buffer_limit)
        super().__init__([ConnectionKeywords(ctx), MessageKeywords(ctx)])
