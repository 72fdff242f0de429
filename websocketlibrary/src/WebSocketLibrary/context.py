"""State shared by the keyword components: the loop thread, the connection cache, the
connections each running test or suite opened, and how frames are written to the log."""

from __future__ import annotations

import html
import json
from collections import deque
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.utils import ConnectionCache

from . import jsontext
from .connection import Connection
from .frames import preview
from .kinds import TrafficLog, traffic_log
from .runtime import LoopThread

LOG_PREVIEW_CHARS = 500
TRAFFIC_KEPT = 100_000  # frames per connection between two keywords; older ones are counted


class LibraryContext:
    def __init__(self, default_timeout: timedelta, buffer_limit: int,
                 log_limit: int = LOG_PREVIEW_CHARS) -> None:
        self.runtime = LoopThread()
        self.cache = ConnectionCache("No open WebSocket connection.")
        self.aliases: list[str] = []  # for messages: ConnectionCache keeps its own private
        self.default_timeout = default_timeout
        self.buffer_limit = buffer_limit
        self.log_limit = log_limit
        self.scopes: list[list[Connection]] = []  # one list per running suite/test
        self.last_used: Connection | None = None
        self.traffic_log = TrafficLog.NONE

    def connection(self, alias: str | None) -> Connection:
        """The connection named ``alias`` (or index), or the current one."""
        if alias is None:
            if not self.cache.current:
                raise RuntimeError("No open WebSocket connection. Use 'Connect' first.")
            connection = self.cache.current
            if connection.scope_ended is not None:
                raise RuntimeError(
                    f"No WebSocket connection is open here: the current one, "
                    f"{connection.describe()}, was closed when the {connection.scope_ended} "
                    f"that opened it ended. Use 'Connect' first.")
        else:
            try:
                connection = self.cache.get_connection(alias)
            except RuntimeError:
                known = ", ".join(self.aliases) or "none"
                raise RuntimeError(f"No WebSocket connection with alias {alias!r}. "
                                   f"Known aliases: {known}.") from None
        self.last_used = connection
        return connection

    def forget_all(self) -> None:
        """Forgets every connection (after they were closed)."""
        self.cache.empty_cache()
        self.aliases.clear()

    def register(self, connection: Connection, alias: str | None) -> None:
        if self.traffic_log is not TrafficLog.NONE:
            connection.traffic = deque(maxlen=TRAFFIC_KEPT)
        self.cache.register(connection, alias)
        if alias is not None:
            self.aliases.append(alias)
        if self.scopes:
            self.scopes[-1].append(connection)
        self.last_used = connection

    def connections(self) -> list[Connection]:
        return [c for c in self.cache if isinstance(c, Connection)]

    def set_traffic_log(self, level: TrafficLog | str) -> TrafficLog:
        level = traffic_log(level)
        previous, self.traffic_log = self.traffic_log, level
        for connection in self.connections():
            if level is TrafficLog.NONE:
                connection.traffic = None
            elif connection.traffic is None:
                connection.traffic = deque(maxlen=TRAFFIC_KEPT)
        return previous

    def log_traffic(self) -> None:
        """Writes the frames received since the last call, every connection's, to the log
        (the reader thread cannot: Robot Framework's log takes messages from its own)."""
        if self.traffic_log is TrafficLog.NONE:
            return
        write = logger.debug if self.traffic_log is TrafficLog.DEBUG else logger.info
        for connection in self.connections():
            traffic = connection.traffic
            while traffic:
                frame = traffic.popleft()
                write(f"<< {connection.describe()} [#{frame.index}] "
                      f"{preview(frame.raw, self.log_limit)}")

    def seconds(self, timeout: timedelta | None) -> float:
        return (timeout if timeout is not None else self.default_timeout).total_seconds()

    def log_frame(self, direction: str, payload: str | bytes, text: bool | None = None) -> None:
        """Logs a frame; ``text=True`` marks bytes sent unchecked in a text frame."""
        if isinstance(payload, bytes) and text:
            shown = preview(payload.decode("utf-8", errors="backslashreplace"), self.log_limit)
            logger.info(f"{direction} <text frame of {len(payload)} bytes, sent unchecked> "
                        f"{shown}")
            return
        logger.info(f"{direction} {preview(payload, self.log_limit)}")

    def log_recent_frames(self, connection: Connection) -> None:
        lines = connection.history(self.log_limit)
        body = "\n".join(lines) if lines else "(no frames sent or received)"
        logger.info(f"Last frames on {html.escape(connection.describe())} "
                    f"(state {connection.state}):<pre>{html.escape(body)}</pre>", html=True)


def as_json_value(value: Any, what: str = "A message") -> Any:
    """A message to send, given as a JSON string or as a Robot dict/list; ``what`` names it
    in the error."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as error:
            raise ValueError(f"{what} is not valid JSON: {value!r} ({error}).") from None
    return value


def as_template(value: Any) -> Any:
    """A template or a value to inspect, given as a JSON string or as a Robot dict/list,
    decoded as received frames are (see ``jsontext``)."""
    if isinstance(value, str):
        try:
            return jsontext.decode(value)
        except ValueError as error:
            raise ValueError(f"Not valid JSON: {value!r} ({error}).") from None
    return value


def compact_json(value: Any, what: str = "A message") -> str:
    return json.dumps(as_json_value(value, what), separators=(",", ":"))


def recent_traffic(connection: Connection, limit: int = 300) -> str:
    lines = connection.history(limit)
    if not lines:
        return "No frames were sent or received on this connection."
    return "Last frames on this connection:\n" + "\n".join(f"  {line}" for line in lines)
