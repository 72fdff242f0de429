"""State shared by the keyword components: the loop thread and the connection cache."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.utils import ConnectionCache

from .connection import Connection
from .runtime import LoopThread

LOG_PREVIEW_CHARS = 500


class LibraryContext:
    def __init__(self, default_timeout: timedelta, buffer_limit: int) -> None:
        self.runtime = LoopThread()
        self.cache = ConnectionCache("No open WebSocket connection.")
        self.default_timeout = default_timeout
        self.buffer_limit = buffer_limit

    def connection(self, alias: str | None) -> Connection:
        """The connection named ``alias`` (or index), or the current one."""
        if alias is None:
            if not self.cache.current:
                raise RuntimeError("No open WebSocket connection. Use 'Connect' first.")
            return self.cache.current
        try:
            return self.cache.get_connection(alias)
        except RuntimeError:
            known = ", ".join(self.cache._aliases) or "none"
            raise RuntimeError(f"No WebSocket connection with alias {alias!r}. "
                               f"Known aliases: {known}.") from None

    def seconds(self, timeout: timedelta | None) -> float:
        return (timeout if timeout is not None else self.default_timeout).total_seconds()


def as_json_value(value: Any) -> Any:
    """Accept a template or message given as a JSON string or as a Robot dict/list."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as error:
            raise ValueError(f"Not valid JSON: {value!r} ({error}). "
                             f"Use 'Send Text' to send arbitrary text.") from None
    return value


def preview(text: str, limit: int = LOG_PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars in all)"


def log_frame(direction: str, text: str) -> None:
    logger.info(f"{direction} {preview(text)}")


def recent_traffic(connection: Connection) -> str:
    lines = list(connection.history)
    if not lines:
        return "No frames were sent or received on this connection."
    return "Last frames on this connection:\n" + "\n".join(f"  {line}" for line in lines)
